"""The `appliedrl` command: list what exists, train an agent, evaluate a run or a baseline, compare a domain's
agents with its baselines.

It parses, calls appliedrl.runner and prints. Bad input (unknown env, agent, config key, malformed value) prints
one line naming the valid choices and exits with code 2; an environment that produces NaN/inf stops training
with exit code 1 and keeps the last checkpoint.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from pathlib import Path
from typing import Any, NoReturn

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad command-line input; reported as one line with exit code 2."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    import appliedrl  # noqa: F401 - registers the environments
    from appliedrl.agents.config import ConfigError
    from appliedrl.agents.vec_env import NonFiniteError, UnknownEnvError
    from appliedrl.runner import RunError

    try:
        return args.func(args)
    except (UsageError, ConfigError, UnknownEnvError, RunError) as error:
        _fail(str(error))
    except NonFiniteError as error:
        print(f"appliedrl: error: {error}; the last checkpoint is kept", file=sys.stderr)
        return 1
    except KeyboardInterrupt as error:
        run_dir = getattr(error, "run_dir", None)  # set when the trainer saved a checkpoint on the way out
        hint = f"saved: continue with `appliedrl train --resume {run_dir}`" if run_dir else "not saved"
        print(f"appliedrl: interrupted; {hint}", file=sys.stderr)
        return 130


def _fail(message: str) -> NoReturn:
    print(f"appliedrl: error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


def _parser() -> argparse.ArgumentParser:
    from appliedrl.agents import AGENTS
    from appliedrl.runner import DEFAULT_BUDGETS

    parser = argparse.ArgumentParser(prog="appliedrl", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="environments by domain, agents and baselines; or one env in detail")
    listing.add_argument("env_id", nargs="?", help="show this env's kind, keywords, agents, baselines and settings")
    listing.set_defaults(func=cmd_list)

    train = commands.add_parser("train", help="train an agent on an environment")
    train.add_argument("env_id", nargs="?", help="a Gymnasium id, e.g. CartPole-v1, or one of `appliedrl list`")
    train.add_argument("--agent", choices=list(AGENTS), help="algorithm to train")
    units = {cls.unit: [n for n, other in AGENTS.items() if other.unit == cls.unit] for cls in AGENTS.values()}
    defaults = ", ".join(f"{DEFAULT_BUDGETS[unit]:,} {unit}" for unit in units)
    train.add_argument("--steps", type=int, help="the budget in the agent's unit: " + ", ".join(
        f"{unit} ({', '.join(names)})" for unit, names in units.items()) + f"; default: the recipe's, else {defaults}")
    train.add_argument("--seed", type=int, help="seeds the envs, networks and sampling (default 0)")
    train.add_argument("--out", help="run folder (default runs/<env>-<agent>-s<seed>)")
    train.add_argument("--config", help="YAML file of agent config keys")
    train.add_argument("--set", action="append", metavar="KEY=VALUE", help="override an agent config key")
    train.add_argument("--env-kw", action="append", metavar="KEY=VALUE", help="keyword argument for the env")
    train.add_argument("--resume", metavar="DIR", help="continue the interrupted run in DIR exactly")
    train.add_argument("--no-recipe", action="store_true", help="ignore the tuned recipe for this env")
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    train.set_defaults(func=cmd_train)

    evaluate = commands.add_parser("evaluate", help="evaluate a run folder or baseline:NAME")
    evaluate.add_argument("policy", help="a run folder (or saved agent file), or baseline:NAME")
    evaluate.add_argument("--env", help="env id (default: the run's env)")
    evaluate.add_argument("--env-kw", action="append", metavar="KEY=VALUE",
                          help="keyword argument for the env (default: the run's own, with its eval_env_kwargs over "
                               "them)")
    evaluate.add_argument("--episodes", type=int, default=20)
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--best", action="store_true", help="a run's best evaluated policy (RUN/best/) instead of "
                                                              "its final one (RUN/checkpoint/)")
    evaluate.add_argument("--stochastic", action="store_true", help="sample actions instead of the mode")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object on one line")
    evaluate.set_defaults(func=cmd_evaluate)

    from appliedrl.compare import BUDGETS

    compare = commands.add_parser("compare", help="train a domain's agents on its benchmark settings and compare them "
                                                  "with its baselines: statistics, plots and reports")
    compare.add_argument("domain", help="a domain with benchmark settings (see `appliedrl list`)")
    compare.add_argument("--agents", type=_names, help="comma-separated agents (default: each setting's)")
    compare.add_argument("--baselines", type=_names, help="comma-separated baselines (default: each setting's)")
    compare.add_argument("--settings", type=_names, help="comma-separated settings (default: all of the domain's)")
    compare.add_argument("--seeds", type=int, default=3, help="training seeds 0..N-1 per agent and setting (default 3)")
    compare.add_argument("--budget", choices=list(BUDGETS), default="small", help=", ".join(
        f"{b.name}: {b.fraction:g} of each recipe's training budget, {b.eval_episodes} evaluation episodes"
        for b in BUDGETS.values()) + " (default small)")
    compare.add_argument("--out", help="folder of the comparison (default reports/<domain>-<budget>); run again "
                                       "to resume")
    compare.add_argument("--workers", type=int, help="local processes running jobs (default: one per CPU)")
    compare.add_argument("--ray", metavar="auto|ADDRESS", help="run each job as a Ray task: auto starts a local "
                                                              "instance, an address joins a cluster")
    compare.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    compare.set_defaults(func=cmd_compare)

    chat = commands.add_parser("chat", aliases=["play"],
                               help="talk to or play against a policy in the terminal, taking the other side (e.g. "
                                    "`appliedrl chat restaurant`: you are the user, it is the system; "
                                    "`appliedrl play sanma`: you take a seat, it plays the others)")
    chat.add_argument("name", help="a chat a domain offers (see `appliedrl list`)")
    chat.add_argument("--policy", help="baseline:NAME or a run folder (default: the chat's, e.g. the handcrafted "
                                       "policy)")
    chat.add_argument("--env-kw", action="append", metavar="KEY=VALUE", help="keyword argument for the env (as "
                                                                             "the policy was trained on)")
    chat.add_argument("--seed", type=int, default=0)
    chat.set_defaults(func=cmd_chat)
    return parser


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def cmd_list(args: argparse.Namespace) -> int:
    from appliedrl.agents import AGENTS
    from appliedrl.domains.registry import baselines_for, domains
    from appliedrl.envs import env_specs

    if args.env_id:
        return _describe_env(args.env_id)
    for domain in domains().values():
        print(f"{domain.name}: {domain.description}")
        for env_id in domain.env_ids:
            spec = env_specs()[env_id]
            baselines = ", ".join(baselines_for(env_id))
            print(f"  {env_id:<40} {spec.kind:<8} baselines: {baselines}")
        for chat in domain.chats:
            print(f"  `appliedrl chat {chat.name}`: {chat.description}")
    print("  (any other registered Gymnasium id, e.g. CartPole-v1, HalfCheetah-v5: baselines: random)")
    print("agents:")
    for name, cls in AGENTS.items():
        summary = cls.__doc__.strip().splitlines()[0] if cls.__doc__ else ""
        kinds = f"{', '.join(cls.env_kinds)} envs" + (" whose domain builds it" if cls.built_by_domain else "")
        print(f"  {name:<10} trains {kinds}, budget in {cls.unit}: {summary}")
    print("`appliedrl list ENV_ID` shows an env's keywords, agents, baselines and benchmark settings")
    return 0


def _describe_env(env_id: str) -> int:
    from appliedrl.agents import AGENTS
    from appliedrl.domains.registry import baselines_for, domain_of, spec_of
    from appliedrl.runner import _check_env, trains_on

    spec = spec_of(env_id)
    if spec.kind == "single":
        _check_env(env_id)
    domain = domain_of(env_id)
    print(f"{env_id}: {spec.kind} env of the {domain.name} domain. {spec.description}".rstrip())
    if spec.kind != "parallel":
        import gymnasium as gym

        entry = gym.spec(env_id).entry_point
        target = entry if callable(entry) else spec.load(entry)
        parameters = inspect.signature(target).parameters.values()
        keywords = [f"{p.name}={p.default!r}" for p in parameters
                    if p.default is not inspect.Parameter.empty and p.name != "render_mode"]
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
            keywords.append(f"and the model's parameters (docs/{domain.name}.md)")
        print(f"  keywords (--env-kw): {', '.join(keywords) or '(none)'}")
    agents = [name for name, cls in AGENTS.items() if trains_on(cls, spec)]
    print(f"  agents: {', '.join(agents)}")
    print(f"  baselines: {', '.join(f'baseline:{name}' for name in baselines_for(env_id))}")
    for setting in domain.settings:
        if setting.env_id == env_id:
            kwargs = " ".join(f"--env-kw {k}={v}" for k, v in setting.env_kwargs.items())
            print(f"  setting {setting.name}: {kwargs or '(defaults)'}")
    metric = domain.metric_of(env_id)
    if metric.description:
        print(f"  headline metric {metric.name}: {metric.description}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from appliedrl.agents.config import parse_assignments
    from appliedrl.domains.recipes import recipe_for
    from appliedrl.runner import RunSpec, resume, run

    if args.resume:
        changed = [flag for flag, value in (("ENV_ID", args.env_id), ("--agent", args.agent), ("--seed", args.seed),
                                            ("--out", args.out), ("--config", args.config), ("--set", args.set),
                                            ("--env-kw", args.env_kw), ("--no-recipe", args.no_recipe or None))
                   if value is not None]
        if changed:
            raise UsageError(f"--resume continues a run with its saved settings; only --steps and --no-progress "
                             f"may be given with it, not {', '.join(changed)}")
        if args.steps is not None and args.steps < 1:
            raise UsageError("--steps must be >= 1")
        summary = resume(args.resume, args.steps, progress_bar=not args.no_progress)
        _print_summary(summary, args.resume)
        return 0
    if not args.env_id or not args.agent:
        raise UsageError("train needs ENV_ID and --agent (or --resume DIR)")
    if args.steps is not None and args.steps < 1:
        raise UsageError("--steps must be >= 1")
    if args.seed is not None and args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    spec = RunSpec(args.env_id, args.agent, 0 if args.seed is None else args.seed, args.steps,
                   parse_assignments(args.env_kw, "--env-kw"), parse_assignments(args.set), args.config,
                   not args.no_recipe, progress_bar=not args.no_progress)
    spec.run_dir = spec.default_run_dir() if args.out is None else Path(args.out)
    summary = run(spec)
    _print_summary(summary, spec.run_dir)
    recipe = recipe_for(spec.agent, spec.env_id) if spec.use_recipe else None
    if recipe:
        print(f"settings from the recipe {recipe.name} (--no-recipe to ignore it)")
    return 0


def _print_summary(summary: dict[str, Any], run_dir: Any) -> None:
    """The score with its direction, the domain's figures, and what the run cost."""
    direction = "higher" if summary["higher_is_better"] else "lower"
    lines = []
    if summary["score"] is not None:
        lines.append(f"{summary['score_name']} {_number(summary['score'])} ({direction} is better; best "
                     f"{_number(summary['best_score'])} at {summary['best_at']:,} {summary['unit']})")
    lines += [f"{key} {_number(value)}" for key, value in summary["extras"].items()]
    if "pretrain" in summary:
        record = summary["pretrain"]
        lines.append(f"pre-trained on {record['episodes']} episodes of {record['source']} (their mean return "
                     f"{_number(record['demonstrator_mean_return'])}) before the first step")
    lines.append(f"{summary['progress']:,} {summary['unit']} in {summary['wall_time_s']:.1f} s "
                 f"({_number(summary['per_second'])}/s), {summary['stopped']} -> {run_dir}")
    print("\n".join(lines))


def _number(value: Any) -> str:
    """Floats to four significant digits, without exponents below a million."""
    if not isinstance(value, float):
        return str(value)
    return f"{value:,.0f}" if 1e3 <= abs(value) < 1e6 else f"{value:.4g}"


def cmd_evaluate(args: argparse.Namespace) -> int:
    from appliedrl.agents.config import parse_assignments
    from appliedrl.domains.registry import domain_of
    from appliedrl.runner import evaluate

    if args.episodes < 1:
        raise UsageError("--episodes must be >= 1")
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    env_kwargs = parse_assignments(args.env_kw, "--env-kw") if args.env_kw else None
    evaluation = evaluate(args.policy, args.env, env_kwargs, args.episodes, args.seed, not args.stochastic,
                          args.best)
    report = evaluation.to_dict()
    if args.json:
        print(json.dumps(report))
        return 0
    what = "mean per-agent return" if evaluation.agents else "mean return"
    print(f"{args.policy} on {evaluation.env_id}: {what} {report['mean_return']:.2f} ± {report['std_return']:.2f} "
          f"(95% CI {report['ci95_low']:.2f} … {report['ci95_high']:.2f}) over {report['episodes']} episodes")
    print(f"  policy: {evaluation.source}")
    for key, value in evaluation.result.metrics.items():
        interval = (f" (95% CI {_number(report[f'{key}_ci95_low'])} … {_number(report[f'{key}_ci95_high'])})"
                    if f"{key}_ci95_low" in report else "")
        print(f"  {key}: {_number(value)}{interval}")
    for agent, value in report.get("agent_mean_returns", {}).items():
        print(f"  {agent}: {value:.3f}")
    metric = domain_of(evaluation.env_id).metric_of(evaluation.env_id)
    if metric.description:
        print(f"  ({metric.name}: {metric.description})")
    return 0


def _number(value: float) -> str:
    """Four significant digits, without an exponent for large numbers (scores, costs)."""
    return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def cmd_chat(args: argparse.Namespace) -> int:
    from appliedrl.agents.config import parse_assignments
    from appliedrl.domains.registry import domains
    from appliedrl.runner import load_policy

    chats = {chat.name: chat for domain in domains().values() for chat in domain.chats}
    if args.name not in chats:
        raise UsageError(f"unknown chat {args.name!r}; valid choices: {', '.join(sorted(chats))}")
    chat = chats[args.name]
    env_kwargs = parse_assignments(args.env_kw, "--env-kw") if args.env_kw else {}
    policy, source = load_policy(args.policy or chat.default_policy, chat.env_id, env_kwargs, args.seed)
    print(f"appliedrl chat {chat.name}: {chat.description}; the other side is {source}")
    chat.run(policy, env_kwargs, args.seed)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from appliedrl.compare import compare, plan
    from appliedrl.report import print_summary, write_report

    chosen = plan(args.domain, args.agents, args.baselines, args.settings, args.seeds, args.budget)
    out = Path(args.out or f"reports/{args.domain}-{args.budget}")
    try:
        results = compare(chosen, out, args.workers, args.ray, progress_bar=not args.no_progress)
    except KeyboardInterrupt:
        print(f"appliedrl: interrupted; the finished runs are kept in {out}: run the same command to resume",
              file=sys.stderr)
        return 130
    files = write_report(results, "appliedrl " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["compare"] else "")
    print_summary(results)
    failed = int((results.rows["status"] != "ok").sum()) if len(results.rows) else 0
    if failed:
        print(f"{failed} run{'s' if failed > 1 else ''} failed (errors in the report); run the command again to "
              f"retry {'them' if failed > 1 else 'it'}")
    print(f"report: {files['report.html']} (and report.md, plots, results.parquet in {out})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
