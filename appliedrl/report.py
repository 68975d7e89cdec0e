"""A comparison's tables, plots and reports: the summary per setting (IQM with 95% stratified-bootstrap intervals,
probability of improvement over the best heuristic), learning curves, final metrics, the domain's picture, and
report.md / a self-contained report.html that show all of it."""

from __future__ import annotations

import base64
import datetime
import html
import math
import platform
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from appliedrl import runner
from appliedrl.compare import Job, Results, run_dir_of, test_seed
from appliedrl.domains.registry import Metric, Setting
from appliedrl.stats import Estimate, iqm_estimate, probability_of_improvement

AGENT_COLOR, BASELINE_COLOR = "tab:blue", "tab:gray"
WIDE_RANGE = 30.0


def metric_label(metric: Metric) -> str:
    return f"{metric.name} ({'higher' if metric.higher_is_better else 'lower'} is better)"


def summary_tables(results: Results) -> dict[str, pd.DataFrame]:
    """Per setting, one row per method: its runs, the IQM of the headline metric with its interval, and for agents
    the probability that a run beats one of the best heuristic (the baseline with the best IQM)."""
    tables = {}
    for setting in results.plan.settings:
        metric = results.plan.metric(setting)
        sign = 1.0 if metric.higher_is_better else -1.0
        rows = results.rows[results.rows["setting"] == setting.name] if len(results.rows) else results.rows
        scores, kinds, failed = {}, {}, {}
        for method, runs in rows.groupby("method", sort=False) if len(rows) else ():
            ok = runs[runs["status"] == "ok"]
            kinds[method], failed[method] = runs["kind"].iloc[0], len(runs) - len(ok)
            if len(ok) and metric.name in ok:
                scores[method] = ok[metric.name].to_numpy(dtype=float)
        estimates = {method: _flip(iqm_estimate([sign * values]), sign) for method, values in scores.items()}
        heuristics = [m for m in estimates if kinds[m] == "baseline"]
        best = max(heuristics, key=lambda m: sign * estimates[m].value) if heuristics else None
        table = []
        for method, kind in kinds.items():
            estimate = estimates.get(method)
            improvement = (probability_of_improvement([sign * scores[method]], [sign * scores[best]])
                           if kind == "agent" and best is not None and method in scores else None)
            table.append({"method": method, "kind": kind, "runs": len(scores.get(method, ())),
                          "failed": failed[method], "iqm": estimate.value if estimate else math.nan,
                          "ci_low": estimate.low if estimate else math.nan,
                          "ci_high": estimate.high if estimate else math.nan,
                          "p_improvement": improvement.value if improvement else math.nan,
                          "p_low": improvement.low if improvement else math.nan,
                          "p_high": improvement.high if improvement else math.nan,
                          "best_heuristic": best if kind == "agent" else ""})
        tables[setting.name] = pd.DataFrame(table)
    return tables


def _flip(estimate: Estimate, sign: float) -> Estimate:
    """An estimate of sign·x back in x's units (a cost's interval flips)."""
    if sign > 0:
        return estimate
    return Estimate(-estimate.value, -estimate.high, -estimate.low)


def display_table(table: pd.DataFrame, metric: Metric) -> pd.DataFrame:
    """The summary table as a reader sees it: formatted numbers, the metric's direction in its header."""
    def interval(value: float, low: float, high: float, digits: int) -> str:
        if math.isnan(value):
            return "—"
        return Estimate(value, low, high).format(digits)

    return pd.DataFrame({
        "method": table["method"], "kind": table["kind"],
        "runs": [f"{r}" + (f" ({f} failed)" if f else "") for r, f in zip(table["runs"], table["failed"])],
        f"{metric.name}: IQM [95% CI]": [interval(*v, 4) for v in
                                          zip(table["iqm"], table["ci_low"], table["ci_high"])],
        "P(better than the best heuristic) [95% CI]": [
            f"{interval(*v, 2)} vs {b}" if b else "" for *v, b in
            zip(table["p_improvement"], table["p_low"], table["p_high"], table["best_heuristic"])],
    })


def learning_curves(results: Results, tables: dict[str, pd.DataFrame]) -> Figure:
    """Per setting, each agent's evaluations during training (IQM over seeds with a 95% band), and the final IQM of
    each baseline as a line where the agents log the same metric."""
    settings = results.plan.settings
    figure = Figure(figsize=(6.2 * len(settings), 4.2), layout="constrained")
    axes = figure.subplots(1, len(settings), squeeze=False)[0]
    colors = _agent_colors(results)
    for ax, setting in zip(axes, settings):
        metric = results.plan.metric(setting)
        curves = results.curves[results.curves["setting"] == setting.name]
        budgets = _budgets(results, setting)
        for (method, name), points in curves.groupby(["method", "metric"], sort=False):
            by_step = [(step, values["value"].to_numpy()) for step, values in points.groupby("step")]
            steps = [100 * step / budgets[method] for step, _ in by_step]
            estimates = [iqm_estimate([values]) for _, values in by_step]
            label = method if name == metric.name else f"{method} ({name})"
            ax.plot(steps, [e.value for e in estimates], marker="o", ms=3, color=colors[method], label=label)
            ax.fill_between(steps, [e.low for e in estimates], [e.high for e in estimates], color=colors[method],
                            alpha=0.2, linewidth=0)
        units = _units(results, setting)
        lines = set(curves["metric"]) <= {metric.name}
        if lines:
            table = tables[setting.name]
            for value, names in table[table["kind"] == "baseline"].groupby("iqm")["method"]:
                ax.axhline(value, color=BASELINE_COLOR, linestyle="--", linewidth=0.8)
                ax.annotate(" = ".join(names), (1.0, value), xycoords=("axes fraction", "data"), fontsize=7,
                            ha="right", va="bottom", color="dimgray")
        ax.set_title(setting.name)
        ax.set_xlabel("% of training (" + ", ".join(
            f"{method}: {budget:,} {units[method]}" for method, budget in budgets.items()) + ")", fontsize=8)
        ax.set_ylabel(metric_label(metric))
        _log_scale_if_wide(ax, "y", [*curves["value"], *(tables[setting.name]["iqm"] if lines else [])])
        if len(curves):
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "no evaluations logged", transform=ax.transAxes, ha="center", color="dimgray")
    figure.suptitle(f"{results.plan.domain.name}: learning curves (IQM over seeds, 95% bootstrap band)")
    return figure


def final_metrics(results: Results, tables: dict[str, pd.DataFrame]) -> Figure:
    """Per setting, every method's final metric: each seed as a dot, the IQM with its 95% interval as a bar."""
    settings = results.plan.settings
    height = max(2.5, 0.45 * max((len(t) for t in tables.values()), default=1) + 1.2)
    figure = Figure(figsize=(5.6 * len(settings), height), layout="constrained")
    axes = figure.subplots(1, len(settings), squeeze=False)[0]
    for ax, setting in zip(axes, settings):
        metric = results.plan.metric(setting)
        table = tables[setting.name]
        rows = results.rows[(results.rows["setting"] == setting.name) & (results.rows["status"] == "ok")] \
            if len(results.rows) else results.rows
        for position, (_, entry) in enumerate(table.iterrows()):
            color = AGENT_COLOR if entry["kind"] == "agent" else BASELINE_COLOR
            if not math.isnan(entry["ci_low"]):
                ax.plot([entry["ci_low"], entry["ci_high"]], [position, position], color=color, linewidth=6,
                        alpha=0.35, solid_capstyle="butt")
            ax.plot([entry["iqm"]], [position], marker="|", ms=14, mew=2, color=color)
            seeds = rows[rows["method"] == entry["method"]]
            if metric.name in seeds:
                ax.plot(seeds[metric.name], [position] * len(seeds), "o", ms=3, color="black", alpha=0.6)
        _log_scale_if_wide(ax, "x", [*table["iqm"], *table["ci_low"], *table["ci_high"]])
        ax.set_yticks(range(len(table)), table["method"])
        ax.invert_yaxis()
        ax.set_title(setting.name)
        ax.set_xlabel(metric_label(metric))
        ax.grid(axis="x", alpha=0.3)
    figure.suptitle(f"{results.plan.domain.name}: final {'metric' if len(settings) == 1 else 'metrics'} "
                    f"(blue: agents, gray: baselines; dots: seeds)")
    return figure


def domain_picture(results: Results, setting: Setting) -> Figure | None:
    """The domain's natural picture of `setting`: each baseline and each agent's first finished run, playing the
    first evaluation episode; None when the domain registers no picture or no method finished."""
    draw = results.plan.domain.picture
    if draw is None:
        return None
    kwargs = setting.evaluation_kwargs
    policies: dict[str, Any] = {}
    rows = results.rows[(results.rows["setting"] == setting.name) & (results.rows["status"] == "ok")]
    for method, runs in rows.groupby("method", sort=False):
        first = runs.iloc[0]
        if first["kind"] == "agent":
            job = Job(setting, method, True, int(first["seed"]))
            policies[method] = runner.load_policy(str(run_dir_of(results.out, job)))[0]
        else:
            policies[method] = runner.load_policy(f"baseline:{method}", setting.env_id, kwargs, 0)[0]
    return draw(setting, policies, test_seed(0, results.plan.budget)) if policies else None


def write_report(results: Results, command: str = "") -> dict[str, Path]:
    """The tables, plots, report.md and report.html of a comparison, in its folder; returns the files."""
    out = results.out
    tables = summary_tables(results)
    files: dict[str, Path] = {}
    pd.concat([t.assign(setting=name) for name, t in tables.items()], ignore_index=True).to_csv(
        out / "summary.csv", index=False)
    files["summary"] = out / "summary.csv"
    figures = {"learning_curves": learning_curves(results, tables), "final_metrics": final_metrics(results, tables)}
    notes = []
    for setting in results.plan.settings:
        try:
            picture = domain_picture(results, setting)
        except Exception as error:  # noqa: BLE001 - a picture that fails leaves the report, with a note
            notes.append(f"the picture of {setting.name} failed: {type(error).__name__}: {error}")
            continue
        if picture is not None:
            figures[f"picture_{setting.name}"] = picture
    for name, figure in figures.items():
        files[name] = out / f"{name}.png"
        figure.savefig(files[name], dpi=110)
    sections = _sections(results, tables, notes)
    files["report.md"] = out / "report.md"
    files["report.md"].write_text(_markdown(results, sections, figures, command))
    files["report.html"] = out / "report.html"
    files["report.html"].write_text(_html(results, sections, figures, command))
    return files


def _sections(results: Results, tables: dict[str, pd.DataFrame], notes: list[str]) -> list[tuple[str, Any]]:
    """The report's content in order, as (kind, payload) pairs both writers render."""
    plan = results.plan
    sections: list[tuple[str, Any]] = []
    for setting in plan.settings:
        metric = plan.metric(setting)
        sections.append(("heading", f"Setting {setting.name}"))
        kwargs = ", ".join(f"{k}={v}" for k, v in setting.env_kwargs.items()) or "defaults"
        evaluation = (f"; evaluated with {', '.join(f'{k}={v}' for k, v in setting.eval_env_kwargs.items())}"
                      if setting.eval_env_kwargs else "")
        sections.append(("text", f"{setting.env_id} ({kwargs}{evaluation}). Headline metric: "
                                 f"{metric_label(metric)}" + (f" — {metric.description}" if metric.description
                                                              else "") + "."))
        sections.append(("table", display_table(tables[setting.name], metric)))
    failed = results.rows[results.rows["status"] != "ok"] if len(results.rows) else results.rows
    if len(failed):
        sections.append(("heading", "Failed runs"))
        sections.append(("table", failed[["setting", "method", "seed", "error"]].reset_index(drop=True)))
    for note in notes:
        sections.append(("text", note))
    return sections


def _intro(results: Results, command: str) -> list[str]:
    plan = results.plan
    return [
        f"Domain **{plan.domain.name}** — {plan.domain.description}.",
        f"Budget **{plan.budget.name}** ({plan.budget.fraction:g} × each run's training budget; "
        f"{plan.budget.eval_episodes} evaluation episodes per method and seed, the same episodes for every method), "
        f"{plan.seeds} seed{'s' if plan.seeds > 1 else ''}. Made {datetime.date.today().isoformat()} on "
        f"{platform.node() or 'this machine'} ({platform.machine()}, {platform.python_version()})"
        + (f" by `{command}`" if command else "") + ".",
        "IQM: interquartile mean over seeds (the mean of the middle half), with a 95% percentile bootstrap interval; "
        "P(agent > best heuristic): the chance that a run of the agent scores better than a run of the baseline "
        "with the best IQM (Mann–Whitney U / n·m), with its bootstrap interval (Agarwal et al., 2021). "
        "Agents are evaluated with their final policy.",
    ]


def _markdown(results: Results, sections: list[tuple[str, Any]], figures: dict[str, Figure], command: str) -> str:
    lines = [f"# Comparison: {results.plan.domain.name}", "", *[f"{p}\n" for p in _intro(results, command)]]
    for kind, payload in sections:
        if kind == "heading":
            lines += [f"## {payload}", ""]
        elif kind == "text":
            lines += [payload, ""]
        else:
            lines += [_markdown_table(payload), ""]
    lines += ["## Plots", ""] + [f"![{name}]({name}.png)\n" for name in figures]
    return "\n".join(lines)


def _markdown_table(table: pd.DataFrame) -> str:
    cells = [[str(c) for c in table.columns]] + [[str(v).replace("|", "\\|") for v in row]
                                                 for row in table.itertuples(index=False)]
    lines = ["| " + " | ".join(row) + " |" for row in cells]
    lines.insert(1, "|" + "---|" * len(table.columns))
    return "\n".join(lines)


def _html(results: Results, sections: list[tuple[str, Any]], figures: dict[str, Figure], command: str) -> str:
    def markdown_bold(text: str) -> str:
        parts = html.escape(text).split("**")
        text = "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))
        parts = text.split("`")
        return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))

    body = [f"<h1>Comparison: {html.escape(results.plan.domain.name)}</h1>"]
    body += [f"<p>{markdown_bold(p)}</p>" for p in _intro(results, command)]
    for kind, payload in sections:
        if kind == "heading":
            body.append(f"<h2>{html.escape(payload)}</h2>")
        elif kind == "text":
            body.append(f"<p>{html.escape(payload)}</p>")
        else:
            body.append(payload.to_html(index=False, border=0, classes="results"))
    body.append("<h2>Plots</h2>")
    for name, figure in figures.items():
        data = base64.b64encode((results.out / f"{name}.png").read_bytes()).decode()
        body.append(f'<figure><img alt="{name}" src="data:image/png;base64,{data}">'
                    f"<figcaption>{html.escape(name.replace('_', ' '))}</figcaption></figure>")
    style = ("body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}"
             "table.results{border-collapse:collapse;margin:1em 0}"
             "table.results th,table.results td{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}"
             "table.results th{background:#f3f3f3}img{max-width:100%}code{background:#f3f3f3;padding:1px 3px}"
             "figcaption{color:#666;font-size:90%}")
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Comparison: "
            f"{html.escape(results.plan.domain.name)}</title><style>{style}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def _agent_colors(results: Results) -> dict[str, Any]:
    from matplotlib import colormaps

    agents = sorted({m for m in results.rows["method"]} if len(results.rows) else [])
    palette = colormaps["tab10"]
    return {name: palette(i % 10) for i, name in enumerate(agents)}


def _agent_rows(results: Results, setting: Setting) -> pd.DataFrame:
    rows = results.rows
    return rows[(rows["setting"] == setting.name) & (rows["kind"] == "agent") & (rows["status"] == "ok")]


def _budgets(results: Results, setting: Setting) -> dict[str, int]:
    """How far each agent trained on the setting (its budget, or past it to the end of the last iteration)."""
    return {m: int(runs[["budget", "trained"]].to_numpy().max()) for m, runs in
            _agent_rows(results, setting).groupby("method")}


def _units(results: Results, setting: Setting) -> dict[str, str]:
    return {m: runs["unit"].iloc[0] for m, runs in _agent_rows(results, setting).groupby("method")}


def _log_scale_if_wide(ax: Any, axis: str, values: list[float]) -> None:
    """A log axis when positive values span more than WIDE_RANGE (a random policy's cost next to the optimum's)."""
    values = [v for v in values if not math.isnan(v)]
    if values and min(values) > 0 and max(values) / min(values) > WIDE_RANGE:
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")


def print_summary(results: Results, tables: dict[str, pd.DataFrame] | None = None) -> None:
    """The summary tables in the terminal (rich)."""
    from rich.console import Console
    from rich.table import Table

    tables = tables or summary_tables(results)
    console = Console()
    for setting in results.plan.settings:
        frame = display_table(tables[setting.name], results.plan.metric(setting))
        title = f"{results.plan.domain.name} / {setting.name}: {metric_label(results.plan.metric(setting))}"
        table = Table(title=title, title_justify="left")
        for column in frame.columns:
            table.add_column(column)
        for row in frame.itertuples(index=False):
            table.add_row(*map(str, row))
        console.print(table)

