"""`compare`: train a domain's agents on its benchmark settings for several seeds, evaluate them and the domain's
baselines on the same seeded episodes, and gather the results (appliedrl.report turns them into tables, plots and
reports).

Each (setting, method, seed) is a job: an agent trained then evaluated, or a baseline evaluated. A job writes its
row to OUT/rows/ when it ends, so the same command run again skips finished jobs and resumes an interrupted
training from its checkpoint. Jobs run in local processes, or as Ray tasks on a local instance or a cluster; a job
that raises is recorded as failed with its error and the others go on.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import io
import json
import math
import multiprocessing
import os
import queue as queue_module
import socket
import tarfile
import traceback
from pathlib import Path
from typing import Any, Iterator, Sequence
from urllib.parse import urlparse

import pandas as pd
import yaml

from appliedrl import runner
from appliedrl.agents import AGENTS
from appliedrl.agents.checkpoint import atomic_write_text, checkpoint_path
from appliedrl.agents.trainer import SUMMARY_FILE
from appliedrl.domains.registry import Domain, Metric, Setting, baselines_for, domains, spec_of
from appliedrl.runner import RunError, RunSpec

RECORD_FILE = "compare.yaml"
TEST_SEED = 2_000_000  # the evaluation episodes of seed s start at TEST_SEED + s·episodes: never a training seed
CURVE_POINTS = 10  # a run is evaluated at least this often during training, for its learning curve
PROGRESS_POLL_S = 0.25


@dataclasses.dataclass(frozen=True)
class Budget:
    """How much a comparison spends: a fraction of each run's training budget (its recipe's, else the agent's
    default) and the evaluation episodes of each (method, seed)."""

    name: str
    fraction: float
    eval_episodes: int


BUDGETS = {budget.name: budget for budget in (
    Budget("smoke", 0.01, 20), Budget("small", 0.1, 100), Budget("paper", 1.0, 1_000))}


@dataclasses.dataclass(frozen=True)
class Job:
    """One row of the results: `method` (an agent, trained, or a baseline) on `setting` with `seed`."""

    setting: Setting
    method: str
    is_agent: bool
    seed: int

    @property
    def key(self) -> str:
        return f"{self.setting.name}/{self.method}/s{self.seed}"

    def row(self, **values: Any) -> dict[str, Any]:
        """The job's row of the results: what ran, then `values`."""
        return {"setting": self.setting.name, "env_id": self.setting.env_id, "method": self.method,
                "kind": "agent" if self.is_agent else "baseline", "seed": self.seed, **values}


@dataclasses.dataclass
class Plan:
    """What a comparison runs: per setting, the agents to train and the baselines to evaluate, for `seeds` seeds."""

    domain: Domain
    settings: list[Setting]
    agents: dict[str, list[str]]  # setting name -> agents
    baselines: dict[str, list[str]]  # setting name -> baselines
    seeds: int
    budget: Budget

    @property
    def jobs(self) -> list[Job]:
        """Agents first (they take long), then baselines; seed by seed, so early rows already compare."""
        return [Job(setting, method, is_agent, seed) for seed in range(self.seeds)
                for is_agent, methods in ((True, self.agents), (False, self.baselines))
                for setting in self.settings for method in methods[setting.name]]

    def metric(self, setting: Setting) -> Metric:
        return self.domain.metric_of(setting.env_id)

    def record(self) -> dict[str, Any]:
        return {"domain": self.domain.name, "budget": self.budget.name}


def plan(domain: str, agents: Sequence[str] | None = None, baselines: Sequence[str] | None = None,
         settings: Sequence[str] | None = None, seeds: int = 3, budget: str = "small") -> Plan:
    """The comparison `appliedrl compare` runs; unknown names raise RunError listing the valid ones. Without a
    choice each setting compares the agents and baselines it declares (else its domain's agents that train on it,
    and every baseline that serves it)."""
    every = {name: d for name, d in domains().items() if d.settings}
    if domain not in every:
        raise RunError(f"unknown domain {domain!r}; valid choices: {', '.join(every)}")
    chosen = every[domain]
    if budget not in BUDGETS:
        raise RunError(f"unknown budget {budget!r}; valid choices: {', '.join(BUDGETS)}")
    if seeds < 1:
        raise RunError(f"seeds must be >= 1, got {seeds}")
    picked = _pick("setting", settings, {s.name: s for s in chosen.settings})
    default_agents = {s.name: _default_agents(chosen, s) for s in picked}
    default_baselines = {s.name: list(s.baselines or baselines_for(s.env_id)) for s in picked}
    if agents is None:
        agents_of = default_agents
    else:
        fitting = {s.name: [a for a, cls in AGENTS.items() if runner.trains_on(cls, spec_of(s.env_id))]
                   for s in picked}
        _check_names("agent", agents, sorted({a for names in fitting.values() for a in names}))
        agents_of = {name: [a for a in agents if a in fitting[name]] for name in fitting}
    if baselines is None:
        baselines_of = default_baselines
    else:
        _check_names("baseline", baselines, sorted({b for names in default_baselines.values() for b in names}))
        baselines_of = {name: [b for b in baselines if b in default_baselines[name]] for name in default_baselines}
    return Plan(chosen, picked, agents_of, baselines_of, seeds, BUDGETS[budget])


def _default_agents(domain: Domain, setting: Setting) -> list[str]:
    spec = spec_of(setting.env_id)
    names = setting.agents or domain.agents
    return [a for a in names if a in AGENTS and runner.trains_on(AGENTS[a], spec)]


def _pick(what: str, names: Sequence[str] | None, known: dict[str, Any]) -> list[Any]:
    if names is None:
        return list(known.values())
    _check_names(what, names, list(known))
    return [known[name] for name in names]


def _check_names(what: str, names: Sequence[str], valid: Sequence[str]) -> None:
    unknown = [name for name in names if name not in valid]
    if unknown:
        raise RunError(f"unknown {what} {unknown[0]!r} here; valid choices: {', '.join(valid)}")
    if not names:
        raise RunError(f"no {what}s given; valid choices: {', '.join(valid)}")


def test_seed(seed: int, budget: Budget) -> int:
    """The first evaluation seed of a (method, seed): every method faces the same episodes for the same seed."""
    return TEST_SEED + seed * budget.eval_episodes


def run_dir_of(out: Path, job: Job) -> Path:
    return out / "runs" / job.setting.name / f"{job.method}-s{job.seed}"


def row_path(out: Path, job: Job) -> Path:
    return out / "rows" / job.setting.name / f"{job.method}-s{job.seed}.json"


class ProgressReport:
    """A trainer callback that sends (job key, progress, total) to the comparison's progress display."""

    def __init__(self, messages: Any, key: str, total: int) -> None:
        self.messages, self.key, self.total = messages, key, total

    def __call__(self, agent: Any, metrics: dict[str, float]) -> None:
        self.messages.put((self.key, agent.progress, self.total))


def run_job(job: Job, budget: Budget, out: Path, metric: Metric, messages: Any = None) -> dict[str, Any]:
    """Train (agents) and evaluate one job; returns its row, with status "failed" and the error if it raised."""
    setting = job.setting
    row = job.row()
    try:
        if job.is_agent:
            run_dir = run_dir_of(out, job)
            summary = _train(job, budget, run_dir, messages)
            row.update(unit=summary["unit"], budget=summary["budget"], trained=summary["progress"],
                       train_seconds=summary["wall_time_s"],
                       curve=_curve(run_dir, metric.name, summary["score_name"]))
            policy = str(run_dir)
        else:
            policy = f"baseline:{job.method}"
        evaluation = runner.evaluate(policy, setting.env_id, setting.evaluation_kwargs, budget.eval_episodes,
                                     test_seed(job.seed, budget))
        row.update({k: v for k, v in evaluation.to_dict().items() if isinstance(v, (int, float))}, status="ok")
    except Exception as error:  # noqa: BLE001 - a crashing run is recorded and the others go on
        row.update(status="failed", error=f"{type(error).__name__}: {error}", traceback=traceback.format_exc())
    return row


def _train(job: Job, budget: Budget, run_dir: Path, messages: Any) -> dict[str, Any]:
    """The run's summary: read back when it finished before, else resumed from its checkpoint, else trained."""
    summary_file = run_dir / SUMMARY_FILE
    if summary_file.is_file():
        return json.loads(summary_file.read_text())
    spec = RunSpec(job.setting.env_id, job.method, job.seed, env_kwargs=dict(job.setting.env_kwargs),
                   run_dir=run_dir, progress_bar=False)
    cls, config, full_budget, _ = runner.resolve(spec)
    spec.budget = max(1, math.ceil(budget.fraction * full_budget))
    spec.overrides = {key: math.ceil(budget.fraction * getattr(config, key)) for key in cls.schedule_keys}
    curve_every = max(1, spec.budget // CURVE_POINTS)
    if not 0 < config.eval_freq <= curve_every:
        spec.overrides["eval_freq"] = curve_every
    callbacks = [ProgressReport(messages, job.key, spec.budget)] if messages is not None else []
    if checkpoint_path(run_dir).is_file():
        return runner.resume(run_dir, progress_bar=False, callbacks=callbacks)
    return runner.run(spec, callbacks)


def _curve(run_dir: Path, metric: str, score_name: str) -> dict[str, Any]:
    """The run's evaluations during training: the headline metric where the agent logs it, else its score."""
    log = run_dir / "metrics.csv"
    frame = pd.read_csv(log) if log.is_file() else pd.DataFrame()
    name = metric if f"eval/{metric}" in frame else score_name
    column = f"eval/{name}"
    if column not in frame:
        return {"metric": name, "steps": [], "values": []}
    points = frame[["step", column]].dropna()
    return {"metric": name, "steps": points["step"].astype(int).tolist(), "values": points[column].tolist()}


def run_job_remote(job: Job, budget: Budget, out: Path, metric: Metric, messages: Any) -> tuple[dict, bytes | None]:
    """run_job on a Ray worker; also returns the run folder as a tar archive, for a driver that cannot see the
    worker's disk (on a shared path the driver keeps its own copy)."""
    row = run_job(job, budget, out, metric, messages)
    run_dir = run_dir_of(out, job)
    if not job.is_agent or not run_dir.is_dir():
        return row, None
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(run_dir, arcname=".", filter=lambda info: None if "tensorboard" in info.name else info)
    return row, buffer.getvalue()


class LocalExecutor:
    """Jobs in a pool of local processes (spawned: each run gets a fresh interpreter, as on a cluster)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.manager = multiprocessing.get_context("spawn").Manager()
        self.messages = self.manager.Queue()

    def run(self, jobs: list[Job], budget: Budget, out: Path, plan: Plan) -> Iterator[tuple[Job, dict] | None]:
        """Each job with its row as it ends; None when none ended within the poll interval."""
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(self.workers, mp_context=context) as pool:
            pending = {pool.submit(run_job, job, budget, out, plan.metric(job.setting), self.messages): job
                       for job in jobs}
            while pending:
                done, _ = concurrent.futures.wait(pending, PROGRESS_POLL_S, concurrent.futures.FIRST_COMPLETED)
                if not done:
                    yield None
                for future in done:
                    job = pending.pop(future)
                    try:
                        yield job, future.result()
                    except Exception as error:  # noqa: BLE001 - the process running it died
                        yield job, _failed(job, error)

    def poll(self) -> list[tuple[str, int, int]]:
        return _drain(self.messages, queue_module.Empty)

    def close(self) -> None:
        self.manager.shutdown()


class RayExecutor:
    """Jobs as Ray tasks, one CPU each (and a GPU where the run's device is CUDA)."""

    def __init__(self, address: str) -> None:
        try:
            import ray
            from ray.util.queue import Empty, Queue
        except ImportError:
            raise RunError("--ray needs Ray: pip install 'appliedrl[distributed]'") from None
        self.ray, self.empty = ray, Empty
        self.started = not ray.is_initialized()
        if self.started:
            if address == "auto":
                ray.init(include_dashboard=False, logging_level="ERROR", log_to_driver=False)
            else:
                check_reachable(address)
                ray.init(address=address, logging_level="ERROR", log_to_driver=False)
        self.messages = Queue()

    def run(self, jobs: list[Job], budget: Budget, out: Path, plan: Plan) -> Iterator[tuple[Job, dict] | None]:
        """Each job with its row as it ends; None when none ended within the poll interval."""
        remote = self.ray.remote(run_job_remote)
        pending = {remote.options(num_cpus=1, num_gpus=_gpus(job)).remote(
            job, budget, out.resolve(), plan.metric(job.setting), self.messages): job for job in jobs}
        while pending:
            ready, _ = self.ray.wait(list(pending), num_returns=1, timeout=PROGRESS_POLL_S)
            if not ready:
                yield None
            for ref in ready:
                job = pending.pop(ref)
                try:
                    row, archive = self.ray.get(ref)
                except Exception as error:  # noqa: BLE001 - the worker died or the task could not run
                    yield job, _failed(job, error)
                    continue
                _unpack(archive, run_dir_of(out, job))
                yield job, row

    def poll(self) -> list[tuple[str, int, int]]:
        return _drain(self.messages, self.empty)

    def close(self) -> None:
        self.messages.shutdown()
        if self.started:
            self.ray.shutdown()


def _gpus(job: Job) -> int:
    if not job.is_agent:
        return 0
    _, config, _, _ = runner.resolve(RunSpec(job.setting.env_id, job.method, job.seed,
                                             env_kwargs=dict(job.setting.env_kwargs)))
    return 1 if str(config.device).startswith("cuda") else 0


def _unpack(archive: bytes | None, run_dir: Path) -> None:
    """A worker's run folder, where the driver does not already see it (no shared path)."""
    if archive is None or run_dir.is_dir():
        return
    run_dir.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        tar.extractall(run_dir, filter="data")


def check_reachable(address: str, timeout_s: float = 3.0) -> None:
    """Raise RunError unless a TCP connection to the Ray address (host:port or ray://host:port) opens."""
    parsed = urlparse(address if "://" in address else f"ray://{address}")
    if parsed.hostname is None or parsed.port is None:
        raise RunError(f"--ray {address!r} is not an address: give auto, HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((parsed.hostname, parsed.port), timeout_s).close()
    except OSError as error:
        raise RunError(f"cannot reach the Ray cluster at {address} ({error.strerror or error}); start one with "
                       f"`ray start --head` or use --ray auto for a local instance") from None


def _drain(messages: Any, empty: type[Exception]) -> list[tuple[str, int, int]]:
    drained = []
    while True:
        try:
            drained.append(messages.get_nowait())
        except empty:
            return drained


def _failed(job: Job, error: BaseException) -> dict[str, Any]:
    return job.row(status="failed", error=f"{type(error).__name__}: {error}")


def _check_record(out: Path, plan: Plan) -> None:
    """A folder holds one comparison: the same domain and budget when it is run again."""
    record_file = out / RECORD_FILE
    if record_file.is_file():
        record = yaml.safe_load(record_file.read_text())
        if record != plan.record():
            raise RunError(f"{out} holds the comparison {record}, not {plan.record()}; rerun that or choose "
                           f"another --out")
    else:
        atomic_write_text(yaml.safe_dump(plan.record(), sort_keys=False), record_file)


def finished_row(out: Path, job: Job) -> dict[str, Any] | None:
    """The saved row of a job that ran to the end (failed ones run again)."""
    path = row_path(out, job)
    if not path.is_file():
        return None
    row = json.loads(path.read_text())
    return row if row.get("status") == "ok" else None


@dataclasses.dataclass
class Results:
    """A comparison's rows (one per setting, method and seed) and learning curves (one row per evaluation)."""

    plan: Plan
    out: Path
    rows: pd.DataFrame
    curves: pd.DataFrame


def compare(plan: Plan, out: str | Path, workers: int | None = None, ray: str | None = None,
            progress_bar: bool = True) -> Results:
    """Run the jobs of `plan` not finished in `out`, locally on `workers` processes (default: one per CPU) or as
    Ray tasks (`ray`: "auto" for a local instance, or a cluster's address); returns every row of `out`."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise RunError(f"{out} is a file, not a folder for the comparison")
    if workers is not None and workers < 1:
        raise RunError(f"workers must be >= 1, got {workers}")
    executor = RayExecutor(ray) if ray else None  # an unreachable cluster fails before any work
    try:
        _check_record(out, plan)
        todo = [job for job in plan.jobs if finished_row(out, job) is None]
        if todo:
            executor = executor or LocalExecutor(workers or os.cpu_count() or 1)
            _execute(executor, todo, plan, out, progress_bar)
    finally:
        if executor is not None:
            executor.close()
    return load_results(plan, out)


def _execute(executor: Any, jobs: list[Job], plan: Plan, out: Path, progress_bar: bool) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        disable=not progress_bar)
    with progress:
        overall = progress.add_task(f"[bold]compare {plan.domain.name} ({plan.budget.name})", total=len(jobs))
        bars: dict[str, Any] = {}  # job key -> its bar, while it trains
        ended: set[str] = set()
        for finished in executor.run(jobs, plan.budget, out, plan):
            for key, done, total in executor.poll():
                if key in ended:
                    continue
                if key not in bars:
                    bars[key] = progress.add_task(f"  {key}", total=total)
                progress.update(bars[key], completed=done)
            if finished is None:
                continue
            job, row = finished
            atomic_write_text(json.dumps(row, indent=1) + "\n", row_path(out, job))
            ended.add(job.key)
            if job.key in bars:
                progress.remove_task(bars.pop(job.key))
            progress.advance(overall)
            if row["status"] != "ok":
                progress.console.print(f"[red]failed[/red] {job.key}: {row['error']}")


def load_results(plan: Plan, out: Path) -> Results:
    """The saved rows of the plan's jobs, also written as OUT/results.parquet and OUT/curves.parquet."""
    rows, curves = [], []
    for job in plan.jobs:
        path = row_path(out, job)
        if not path.is_file():
            continue
        row = json.loads(path.read_text())
        row.pop("traceback", None)
        curve = row.pop("curve", None) or {"metric": None, "steps": [], "values": []}
        rows.append(row)
        curves += [{"setting": job.setting.name, "method": job.method, "seed": job.seed, "metric": curve["metric"],
                    "step": step, "value": value} for step, value in zip(curve["steps"], curve["values"])]
    columns = ["setting", "method", "seed", "metric", "step", "value"]
    results = Results(plan, out, pd.DataFrame(rows), pd.DataFrame(curves, columns=columns))
    results.rows.to_parquet(out / "results.parquet", index=False)
    results.curves.to_parquet(out / "curves.parquet", index=False)
    return results
