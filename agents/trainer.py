"""The one training loop every agent runs: iterate, evaluate, log, checkpoint, report progress, obey callbacks.

The agent's side is `base.Algorithm`; everything around it lives here. Budgets, evaluation, checkpoint and log
frequencies count the agent's own unit (env steps, transitions, epochs). Evaluation uses seeds of its own, so
successive evaluations compare the same episodes and leave training untouched; the best policy by the agent's
score is kept in RUN/best/. Checkpoints are written atomically: an error (a NaN from the env) leaves the last good
one in place; Ctrl-C finishes the iteration, saves a checkpoint and stops (a second Ctrl-C at once).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from appliedrl.agents.base import Algorithm
from appliedrl.agents.checkpoint import (CHECKPOINT_FILE, DeferredInterrupt, atomic_torch_save, atomic_write_text,
                                         checkpoint_path, load_file)
from appliedrl.agents.evaluation import Policy
from appliedrl.agents.logger import MetricsLogger
from appliedrl.agents.pretrain import pretrain_agent, read_pretrain_record

Callback = Callable[[Algorithm, dict[str, float]], "bool | None"]  # returning False stops training
EVAL_SEED_OFFSET = 1_000_000  # evaluation episodes never reuse training seeds
SUMMARY_FILE = "summary.json"


class RunExistsError(ValueError):
    """The run folder already holds a run that this call would overwrite, or a finished one to resume."""


def save_checkpoint(agent: Algorithm, run_dir: Path, trainer_state: dict[str, Any]) -> None:
    state = agent.checkpoint_state()
    state["trainer"] = dict(trainer_state)
    atomic_torch_save(state, checkpoint_path(run_dir))


def restore_checkpoint(agent: Algorithm, run_dir: Path) -> dict[str, Any]:
    """Load the run's checkpoint into `agent`; returns the trainer's own state (wall time, best score)."""
    state = load_file(checkpoint_path(run_dir))
    agent.load_checkpoint_state(state)
    return state["trainer"]


def train(agent: Algorithm, total: int, *, run_dir: str | Path | None = None, callbacks: Iterable[Callback] = (),
          progress_bar: bool = True, resume: bool = False, demonstrator: Policy | None = None) -> dict[str, Any]:
    """Train `agent` for `total` units of its budget and return the summary (also written to run_dir).

    A run folder that already holds a run is continued only with `resume=True`; a finished run is continued
    only with a larger budget. `demonstrator` is the policy the config's `pretrain_from` names, fitted before
    the first step (agents/pretrain.py).
    """
    if total < 1:
        raise ValueError(f"the budget must be >= 1 {agent.unit}, got {total}")
    config = agent.config
    run_dir = Path(run_dir) if run_dir is not None else None
    if resume and run_dir is None:
        raise ValueError("resume needs the run_dir to resume from")
    if run_dir is not None:
        _check_run_dir(run_dir, resume, total, agent.unit)
        run_dir.mkdir(parents=True, exist_ok=True)
    agent.start(total)
    state = {"wall_time": 0.0, "best": {"score": None, "at": None}}
    if resume:
        state.update(restore_checkpoint(agent, run_dir))
    best = state["best"]
    logger = MetricsLogger(run_dir, config.tensorboard, agent.progress if resume else None) if run_dir else None
    seed = agent.seed + EVAL_SEED_OFFSET
    sign = 1 if agent.higher_is_better else -1

    def run_eval() -> dict[str, float]:
        """Evaluate; keep the best policy so far in run_dir/best/ (SB3's EvalCallback best model)."""
        result = agent.evaluate(seed)
        if result and (best["score"] is None or sign * result[agent.score_key] > sign * best["score"]):
            best.update(score=result[agent.score_key], at=agent.progress)
            if run_dir is not None:
                agent.save(run_dir / "best" / CHECKPOINT_FILE)
        return result

    start, start_progress = time.perf_counter(), agent.progress
    wall = lambda: state["wall_time"] + time.perf_counter() - start  # noqa: E731
    stop_reason, eval_result, evaluated_at = None, {}, None
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                        TextColumn("{task.completed:,.0f}/{task.total:,.0f} " + agent.unit),
                        TextColumn("{task.fields[rate]}"), TextColumn("{task.fields[eval]}"),
                        TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(), disable=not progress_bar)
    try:
        # a fresh run fits the demonstrations; a resumed one has the fitted weights
        pretrained = read_pretrain_record(run_dir) if resume else pretrain_agent(agent, demonstrator, run_dir, logger)
        with progress, DeferredInterrupt() as interrupt:
            task = progress.add_task(f"{agent.name} {agent.env_id or ''}", total=total, completed=agent.progress,
                                     rate="", eval=_eval_text(agent, best, None))
            while agent.progress < total and stop_reason is None:
                before = agent.progress
                metrics = agent.iterate()
                now = agent.progress
                metrics.update(agent.rollout_metrics())
                rate = (now - start_progress) / max(time.perf_counter() - start, 1e-9)
                if _crossed(before, now, config.eval_freq) and now < total:
                    eval_result, evaluated_at = run_eval(), now
                    metrics.update(_prefixed("eval", eval_result))
                    progress.update(task, eval=_eval_text(agent, best, eval_result))
                stop_reason = agent.stop_reason() or (_score_reached(agent, eval_result) if evaluated_at == now else None)
                metrics[f"time/{agent.unit}_per_second"], metrics["time/seconds"] = rate, wall()
                logged = _crossed(before, now, config.log_freq) or stop_reason or evaluated_at == now  # every eval
                if logger is not None and logged:
                    logger.log(now, metrics)
                for callback in callbacks:
                    if callback(agent, metrics) is False:
                        stop_reason = stop_reason or "a callback stopped training"
                if run_dir is not None and _crossed(before, now, config.checkpoint_freq) and now < total:
                    save_checkpoint(agent, run_dir, {**state, "wall_time": wall()})
                progress.update(task, completed=now, rate=f"{rate:,.{0 if rate >= 10 else 2}f} {agent.unit}/s")
                interrupt.stop_if_requested(lambda: save_checkpoint(agent, run_dir, {**state, "wall_time": wall()}),
                                            run_dir)
            final_evaluation = evaluated_at != agent.progress  # else the last iteration's evaluation is the final one
            if final_evaluation:
                eval_result = run_eval()
                progress.update(task, eval=_eval_text(agent, best, eval_result))
            if stop_reason is not None and progress_bar:
                progress.console.print(f"stopped at {agent.progress:,}/{total:,} {agent.unit}: {stop_reason}")
        state["wall_time"] = wall()
        if run_dir is not None:  # before final_report, which may load the best weights
            save_checkpoint(agent, run_dir, state)
            if final_evaluation and eval_result:
                logger.log(agent.progress, {**_prefixed("eval", eval_result), "time/seconds": state["wall_time"]})
        summary = _summary(agent, total, state, eval_result, stop_reason)
        summary["extras"] = agent.final_report()
        if pretrained is not None:
            summary["pretrain"] = pretrained
        if run_dir is not None:
            atomic_write_text(json.dumps(summary, indent=2) + "\n", run_dir / SUMMARY_FILE)
        return summary
    finally:
        if logger is not None:
            logger.close()


def _check_run_dir(run_dir: Path, resume: bool, total: int, unit: str) -> None:
    """Refuse to overwrite a run, to resume a missing one, and to resume a finished one without a larger budget."""
    if run_dir.exists() and not run_dir.is_dir():
        raise RunExistsError(f"{run_dir} is a file, not a folder for the run")
    has_run = checkpoint_path(run_dir).is_file()
    if not resume and has_run:
        raise RunExistsError(f"{run_dir} already holds a run; resume it or choose another folder")
    if resume and not has_run:
        raise RunExistsError(f"{run_dir} holds no checkpoint to resume (expected checkpoint/{CHECKPOINT_FILE})")
    if resume:
        summary = run_dir / SUMMARY_FILE
        finished = json.loads(summary.read_text()) if summary.is_file() else None
        if finished is not None and finished.get("progress", 0) >= total:
            raise RunExistsError(f"{run_dir} finished at {finished['progress']:,} {unit} "
                                 f"({finished.get('stopped', 'budget reached')}); give a budget above that to go on")


def _score_reached(agent: Algorithm, result: dict[str, Any]) -> str | None:
    """Why to stop when the evaluation `result` reaches the config's stop_score, else None."""
    target, score = agent.config.stop_score, result.get(agent.score_key)
    if target is None or score is None:
        return None
    reached = score >= target if agent.higher_is_better else score <= target
    return f"the evaluation's {agent.score_key} {score:g} reached stop_score {target:g}" if reached else None


def _crossed(before: int, now: int, every: int) -> bool:
    """True when the progress counter passed a multiple of `every` in this iteration (`every` 0 = never)."""
    return every > 0 and now // every > before // every


def _prefixed(prefix: str, metrics: dict[str, Any]) -> dict[str, float]:
    """The numeric entries of `metrics` as `prefix/key`, for logging."""
    return {f"{prefix}/{k}": float(v) for k, v in metrics.items() if isinstance(v, (int, float))}


def _eval_text(agent: Algorithm, best: dict[str, Any], result: dict[str, float] | None) -> str:
    if not result:
        return f"{agent.score_key}: -"
    text = f"{agent.score_key}: {result[agent.score_key]:.4g}"
    return f"{text} (best {best['score']:.4g})" if best["score"] is not None else text


def _summary(agent: Algorithm, total: int, state: dict[str, Any], eval_result: dict[str, float],
             stop_reason: str | None) -> dict[str, Any]:
    """The one summary schema: what ran, how far, how fast, and the score with its name and direction."""
    wall = state["wall_time"]
    summary: dict[str, Any] = {
        "agent": agent.name, "env_id": agent.env_id, "env_kwargs": agent.env_kwargs, "seed": agent.seed,
        "unit": agent.unit, "budget": total, "progress": agent.progress,
        "stopped": stop_reason or "budget reached", "wall_time_s": round(wall, 3),
        "per_second": round(agent.progress / max(wall, 1e-9), 1),
        "score_name": agent.score_key, "higher_is_better": agent.higher_is_better,
        "score": eval_result.get(agent.score_key),
        "best_score": state["best"]["score"], "best_at": state["best"]["at"], "eval": eval_result, "extras": {}}
    return summary
