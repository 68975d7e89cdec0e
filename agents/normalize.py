"""Running observation normalisation and return-based reward scaling, saved with the agent's checkpoint."""

from __future__ import annotations

import numpy as np


class RunningMeanStd:
    """Mean and variance of a stream of batches (parallel Welford update)."""

    def __init__(self, shape: tuple[int, ...] = ()) -> None:
        self.mean = np.zeros(shape, np.float64)
        self.var = np.ones(shape, np.float64)
        self.count = 1e-4

    def update(self, batch: np.ndarray) -> None:
        batch_mean, batch_var, n = batch.mean(axis=0), batch.var(axis=0), batch.shape[0]
        delta = batch_mean - self.mean
        total = self.count + n
        self.mean = self.mean + delta * n / total
        self.var = (self.var * self.count + batch_var * n + delta**2 * self.count * n / total) / total
        self.count = total

    def state_dict(self) -> dict:
        return {"mean": self.mean.copy(), "var": self.var.copy(), "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        self.mean, self.var, self.count = state["mean"].copy(), state["var"].copy(), state["count"]


class ObservationNormalizer:
    """(obs - mean) / std clipped to ±clip; statistics update only while training."""

    def __init__(self, shape: tuple[int, ...], clip: float = 10.0, epsilon: float = 1e-8) -> None:
        self.stats = RunningMeanStd(shape)
        self.clip, self.epsilon = clip, epsilon

    def __call__(self, obs: np.ndarray, update: bool = False) -> np.ndarray:
        if update:
            self.stats.update(obs)
        normalized = (obs - self.stats.mean) / np.sqrt(self.stats.var + self.epsilon)
        return np.clip(normalized, -self.clip, self.clip).astype(np.float32)


class RewardScaler:
    """Divide rewards by the running std of the discounted return (as SB3's VecNormalize and CleanRL do)."""

    def __init__(self, n_envs: int, gamma: float, clip: float = 10.0, epsilon: float = 1e-8) -> None:
        self.stats = RunningMeanStd(())
        self.returns = np.zeros(n_envs, np.float64)
        self.gamma, self.clip, self.epsilon = gamma, clip, epsilon

    def __call__(self, rewards: np.ndarray, dones: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
        """Scaled rewards; `valid` False marks envs whose step only reset them (NEXT_STEP autoreset), which stay
        out of the statistics."""
        self.returns = self.returns * self.gamma + rewards
        counted = self.returns if valid is None else self.returns[valid]
        if counted.size:
            self.stats.update(counted)
        self.returns[dones] = 0.0
        return np.clip(rewards / np.sqrt(self.stats.var + self.epsilon), -self.clip, self.clip)

    def state_dict(self) -> dict:
        return {"stats": self.stats.state_dict(), "returns": self.returns.copy()}

    def load_state_dict(self, state: dict) -> None:
        self.stats.load_state_dict(state["stats"])
        self.returns = state["returns"].copy()
