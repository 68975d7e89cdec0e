"""Evaluate any policy (learned agent or heuristic baseline) over seeded episodes run in parallel.

Episodes are spread evenly over the parallel envs and each env runs a fixed quota, so short episodes are not
over-represented. Domain metrics come from the info of each episode's last step: `is_success` (Gymnasium's
convention) becomes `success_rate`, and an `episode_metrics` dict is averaged key by key.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Protocol

import numpy as np

from appliedrl.agents.vec_env import VecStep, VecStepper, action_mask_from_info, make_vec_env


class Policy(Protocol):
    """What evaluation needs; learned agents and the baselines of appliedrl.domains both implement it."""

    def predict(self, obs: Any, mask: Any = None, deterministic: bool = True) -> np.ndarray: ...


@dataclasses.dataclass(frozen=True)
class Estimate:
    """A statistic with its 95% confidence interval."""

    value: float
    low: float
    high: float


def wilson_interval(successes: int, trials: int, level: float = 0.95) -> Estimate:
    """The rate successes / trials with its Wilson score interval."""
    from scipy import stats

    interval = stats.binomtest(successes, trials).proportion_ci(level, method="wilson")
    return Estimate(successes / trials, float(interval.low), float(interval.high))


def t_interval(values: np.ndarray, level: float = 0.95) -> Estimate:
    """The mean of `values` with its Student-t interval."""
    from scipy import stats

    mean = float(np.mean(values))
    half = float(stats.t.ppf(0.5 + level / 2, len(values) - 1) * np.std(values, ddof=1) / math.sqrt(len(values)))
    return Estimate(mean, mean - half, mean + half)


def metric_interval(values: np.ndarray, level: float = 0.95) -> Estimate:
    """A domain metric's mean with its interval: Wilson's for a rate (values all 0 or 1), Student-t's otherwise."""
    if np.isin(values, (0.0, 1.0)).all():
        return wilson_interval(int(values.sum()), len(values), level)
    return t_interval(values, level)


@dataclasses.dataclass
class EvalResult:
    returns: np.ndarray
    lengths: np.ndarray
    metrics: dict[str, float]
    metric_values: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)  # per episode, for CIs

    @property
    def mean(self) -> float:
        return float(self.returns.mean())

    @property
    def std(self) -> float:
        return float(self.returns.std(ddof=1)) if len(self.returns) > 1 else 0.0

    def confidence_interval(self, level: float = 0.95) -> tuple[float, float]:
        """Student-t interval for the mean return."""
        n = len(self.returns)
        if n < 2:
            return (self.mean, self.mean)
        from scipy import stats

        half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * self.std / math.sqrt(n)
        return (self.mean - half, self.mean + half)

    def to_dict(self, with_ci: bool = True) -> dict[str, Any]:
        """Summary statistics as plain Python numbers; the CI needs scipy, which is slow to import, so training
        summaries skip it."""
        out = {"mean_return": self.mean, "std_return": self.std, "episodes": len(self.returns),
               "mean_length": float(self.lengths.mean()),
               **{key: float(value) for key, value in self.metrics.items()}}
        if with_ci:
            out["ci95_low"], out["ci95_high"] = self.confidence_interval()
            for key, values in self.metric_values.items():
                if len(values) > 1:
                    estimate = metric_interval(values)
                    out[f"{key}_ci95_low"], out[f"{key}_ci95_high"] = estimate.low, estimate.high
        return out


def evaluate(policy: Policy, env_id: str, episodes: int = 10, seed: int = 0, env_kwargs: dict | None = None,
             deterministic: bool = True, max_parallel: int = 32) -> EvalResult:
    """Run `episodes` episodes of `env_id` (seeded from `seed`) with `policy` and collect returns and metrics."""
    if episodes < 1:
        raise ValueError("episodes must be >= 1")
    n = min(episodes, max_parallel)
    quota = np.full(n, episodes // n) + (np.arange(n) < episodes % n)
    if hasattr(policy, "seed_actions"):  # stochastic actions: the same seed repeats the evaluation
        policy.seed_actions(seed)
    envs = make_vec_env(env_id, n, "auto", env_kwargs)
    stepper = VecStepper(envs)
    try:
        obs, info = stepper.reset(seed=seed)  # sub-env i gets seed + i (native vector envs: one stream)
        mask = action_mask_from_info(info, n)
        running = np.zeros(n)
        lengths = np.zeros(n, np.int64)
        done_count = np.zeros(n, np.int64)
        returns, episode_lengths, finals = [], [], []
        while (done_count < quota).any():
            step = stepper.step(policy.predict(obs, mask=mask, deterministic=deterministic))
            obs, mask = step.obs, action_mask_from_info(step.info, n)
            running += step.rewards * step.valid
            lengths += step.valid
            for i in np.flatnonzero(step.done & step.valid):
                if done_count[i] < quota[i]:
                    returns.append(running[i])
                    episode_lengths.append(lengths[i])
                    finals.append(_final_info(step, i))
                    done_count[i] += 1
                running[i], lengths[i] = 0.0, 0
    finally:
        envs.close()
    values = _domain_metric_values(finals)
    return EvalResult(np.array(returns), np.array(episode_lengths),
                      {key: float(v.mean()) for key, v in values.items()}, values)


def _final_info(step: VecStep, i: int) -> dict[str, Any]:
    """Info of env i's last step: `final_info` under SAME_STEP autoreset, the step's own info under NEXT_STEP."""
    return _env_slice(step.info.get("final_info", {}) if step.same_step else step.info, i)


def _env_slice(stacked: dict[str, Any], i: int) -> dict[str, Any]:
    """Env i's entries of a vector env's stacked info dict (nested dicts included)."""
    out = {}
    for key, value in stacked.items():
        present = stacked.get(f"_{key}")
        if key.startswith("_") or (present is not None and not present[i]):
            continue
        out[key] = _env_slice(value, i) if isinstance(value, dict) else value[i]
    return out


def _domain_metric_values(finals: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Each domain metric's value per episode (episodes without it are skipped)."""
    metrics: dict[str, list[float]] = {}
    for final in finals:
        if "is_success" in final:
            metrics.setdefault("success_rate", []).append(float(final["is_success"]))
        for key, value in (final.get("episode_metrics") or {}).items():
            metrics.setdefault(key, []).append(float(value))
    return {key: np.array(values) for key, values in metrics.items()}


class MultiAgentPolicy(Protocol):
    """What multi-agent evaluation needs: joint actions for observations [B, agents, max_obs_dim]."""

    def act(self, obs: Any, deterministic: bool = True) -> Any: ...


@dataclasses.dataclass
class MultiAgentEvalResult(EvalResult):
    """Per-episode returns of every agent, `agent_returns` [episodes, agents]; `returns` is their mean per episode."""

    agent_returns: np.ndarray = dataclasses.field(kw_only=True)

    def to_dict(self, agents: list[str] | None = None, with_ci: bool = True) -> dict[str, Any]:
        """As EvalResult's, with `mean_return` the mean per-agent episode return, plus each agent's mean."""
        out = super().to_dict(with_ci)
        names = agents or [str(i) for i in range(self.agent_returns.shape[1])]
        out["agent_mean_returns"] = {name: float(r) for name, r in zip(names, self.agent_returns.mean(0))}
        return out


def evaluate_multiagent(policy: MultiAgentPolicy, envs: Any, episodes: int = 100, seed: int = 0,
                        deterministic: bool = True) -> MultiAgentEvalResult:
    """Run `episodes` episodes on a batched multi-agent env (appliedrl.envs.multiagent interface).

    Each of the env's B copies contributes its first ceil(episodes / B) episodes, so short episodes are not
    over-represented; returns are summed per agent over each episode.
    """
    import torch

    quota = math.ceil(episodes / envs.num_envs)
    n_agents = len(envs.agents)
    if hasattr(policy, "seed_actions"):
        policy.seed_actions(seed)
    finished: list[list[np.ndarray]] = [[] for _ in range(envs.num_envs)]
    lengths: list[list[int]] = [[] for _ in range(envs.num_envs)]
    obs = envs.reset(seed=seed)
    running = np.zeros((envs.num_envs, n_agents))
    steps = np.zeros(envs.num_envs, dtype=int)
    while min(len(f) for f in finished) < quota:
        with torch.no_grad():
            actions = policy.act(obs, deterministic=deterministic)
        obs, rewards, terminated, truncated, _ = envs.step(actions)
        running += rewards.double().cpu().numpy()
        steps += 1
        done = (terminated | truncated).any(-1).cpu().numpy()
        for e in np.flatnonzero(done):
            if len(finished[e]) < quota:
                finished[e].append(running[e].copy())
                lengths[e].append(int(steps[e]))
            running[e], steps[e] = 0.0, 0
    agent_returns = np.array([r for per_env in finished for r in per_env][:episodes])
    episode_lengths = np.array([n for per_env in lengths for n in per_env][:episodes])
    return MultiAgentEvalResult(agent_returns.mean(1), episode_lengths, {}, agent_returns=agent_returns)
