"""The training loop every agent shares: iterate, evaluate, log, checkpoint, report progress, obey callbacks.

Evaluation uses a separate env with fixed seeds, so successive evaluations compare the same episodes and leave
the training envs' state untouched. Checkpoints are written atomically: an error (a NaN from the env) leaves the
last good one in place; Ctrl-C finishes the iteration, saves a checkpoint and stops (a second Ctrl-C at once).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from appliedrl.agents.base import Agent
from appliedrl.agents.checkpoint import (CHECKPOINT_FILE, DeferredInterrupt, atomic_torch_save, checkpoint_path,
                                         load_file)
from appliedrl.agents.evaluation import EvalResult, Policy, evaluate
from appliedrl.agents.logger import MetricsLogger
from appliedrl.agents.pretrain import pretrain_agent, read_pretrain_record

Callback = Callable[[Agent, dict[str, float]], "bool | None"]  # returning False stops training
EVAL_SEED_OFFSET = 1_000_000  # evaluation episodes never reuse training seeds


def save_checkpoint(agent: Agent, run_dir: Path, wall_time: float, best: dict[str, Any]) -> None:
    state = agent.checkpoint_state()
    state["trainer"] = {"wall_time": wall_time, "best": dict(best)}
    atomic_torch_save(state, checkpoint_path(run_dir))


def restore_checkpoint(agent: Agent, run_dir: Path) -> dict[str, Any]:
    """Load the run's checkpoint into `agent`; returns the trainer's own state (wall time, best evaluation)."""
    state = load_file(checkpoint_path(run_dir))
    agent.load_checkpoint_state(state)
    return state["trainer"]


def train(agent: Agent, total_timesteps: int, *, run_dir: str | Path | None = None,
          callbacks: Iterable[Callback] = (), eval_env: str | None = None, eval_env_kwargs: dict | None = None,
          progress_bar: bool = True, resume: bool = False, demonstrator: Policy | None = None) -> dict[str, Any]:
    """Train `agent` to `total_timesteps` env steps and return the summary (also written to run_dir);
    `demonstrator` is the policy the config's `pretrain_from` names, fitted before the first step."""
    if agent.envs is None:
        raise ValueError("this agent was loaded for inference; create it with an env to train")
    if total_timesteps < 1:
        raise ValueError("total_timesteps must be >= 1")
    config = agent.config
    run_dir = Path(run_dir) if run_dir is not None else None
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
    fresh = {"wall_time": 0.0, "best": {"mean": float("-inf"), "step": None}}
    restored = restore_checkpoint(agent, run_dir) if resume else fresh
    previous_wall = restored["wall_time"]
    agent.total_timesteps = total_timesteps
    eval_id = eval_env or agent.env_id
    eval_kwargs = agent.env_kwargs if eval_env_kwargs is None else eval_env_kwargs
    logger = MetricsLogger(run_dir, config.tensorboard, agent.num_timesteps if resume else None) if run_dir else None

    best = restored["best"]

    def run_eval() -> EvalResult | None:
        """Evaluate; keep the best policy so far in run_dir/best/ (SB3's EvalCallback best model)."""
        if eval_id is None:
            return None
        result = evaluate(agent, eval_id, config.eval_episodes, agent.seed + EVAL_SEED_OFFSET, eval_kwargs)
        if result.mean > best["mean"]:
            best.update(mean=result.mean, step=agent.num_timesteps)
            if run_dir is not None:
                agent.save(run_dir / "best" / CHECKPOINT_FILE)
        return result

    start, start_steps = time.perf_counter(), agent.num_timesteps
    eval_result: EvalResult | None = None
    last_eval = f"eval: {'-':>8}"
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[sps]:>7} sps"), TextColumn("{task.fields[eval]}"),
                        TimeRemainingColumn(), disable=not progress_bar)
    try:
        # pre-training from demonstrations (agents/pretrain.py): a fresh run fits, a resumed one has the fitted weights
        pretrained = read_pretrain_record(run_dir) if resume else pretrain_agent(agent, demonstrator, run_dir, logger)
        with progress, DeferredInterrupt() as interrupt:
            task = progress.add_task(f"{agent.name} {eval_id or ''}", total=total_timesteps,
                                     completed=agent.num_timesteps, sps="-", eval=last_eval)
            stop = False
            while agent.num_timesteps < total_timesteps and not stop:
                before = agent.num_timesteps
                metrics = agent.iterate()
                now = agent.num_timesteps
                elapsed = time.perf_counter() - start
                sps = (now - start_steps) / max(elapsed, 1e-9)
                if agent.episode_returns:
                    metrics["rollout/ep_return_mean"] = float(np.mean(agent.episode_returns))
                if _crossed(before, now, config.eval_freq) and now < total_timesteps:
                    eval_result = run_eval()
                    if eval_result is not None:
                        metrics["eval/mean_return"], metrics["eval/std_return"] = eval_result.mean, eval_result.std
                        last_eval = f"eval: {eval_result.mean:8.1f}"
                metrics["time/sps"] = sps
                if logger is not None:
                    logger.log(now, metrics)
                for callback in callbacks:
                    if callback(agent, metrics) is False:
                        stop = True
                if run_dir is not None and _crossed(before, now, config.checkpoint_freq) and now < total_timesteps:
                    save_checkpoint(agent, run_dir, previous_wall + elapsed, best)
                progress.update(task, completed=now, sps=f"{sps:,.0f}", eval=last_eval)
                interrupt.stop_if_requested(lambda: save_checkpoint(agent, run_dir, previous_wall + elapsed, best),
                                            run_dir)
            eval_result = run_eval()
            if eval_result is not None:
                progress.update(task, eval=f"eval: {eval_result.mean:8.1f}")
        wall = previous_wall + time.perf_counter() - start
        summary = _summary(agent, eval_result, wall)
        if best["step"] is not None:
            summary.update(best_eval_mean_return=best["mean"], best_eval_step=best["step"])
        if pretrained is not None:
            summary["pretrain"] = pretrained
        if run_dir is not None:
            save_checkpoint(agent, run_dir, wall, best)
            if eval_result is not None:
                logger.log(agent.num_timesteps, {"eval/mean_return": eval_result.mean,
                                                 "eval/std_return": eval_result.std})
            (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        return summary
    finally:
        if logger is not None:
            logger.close()


def _crossed(before: int, now: int, every: int) -> bool:
    """True when the step counter passed a multiple of `every` in this iteration (`every` 0 = never)."""
    return every > 0 and now // every > before // every


def _summary(agent: Agent, eval_result: EvalResult | None, wall: float) -> dict[str, Any]:
    summary: dict[str, Any] = {"agent": agent.name, "env_id": agent.env_id, "seed": agent.seed,
                               "steps": agent.num_timesteps, "wall_time_s": round(wall, 3),
                               "sps": round(agent.num_timesteps / max(wall, 1e-9), 1)}
    if eval_result is not None:
        summary.update({f"eval_{k}": v for k, v in eval_result.to_dict(with_ci=False).items()})
    return summary
