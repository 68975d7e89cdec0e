"""The generic baseline, uniformly random legal actions, under the same `predict` protocol as learned agents."""

from __future__ import annotations

from typing import Any

from pathlib import Path

import gymnasium as gym
import numpy as np

from appliedrl.agents.networks import observation_batch
from appliedrl.agents.checkpoint import atomic_torch_save, load_file


class RandomPolicy:
    """Uniformly random legal actions: the floor every learned agent must clear."""

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, seed: int = 0) -> None:
        self.observation_space, self.action_space, self.seed = observation_space, action_space, seed
        self.seed_actions(seed)

    def seed_actions(self, seed: int) -> None:
        """Restart the random stream (as `evaluate` and a seeded reset of a single-seat game do)."""
        self.rng = np.random.default_rng(seed)

    def predict(self, obs: Any, mask: Any = None, deterministic: bool = True) -> np.ndarray:
        batch, single = observation_batch(obs, self.observation_space)  # Box or Dict observations
        actions = self._sample(len(batch), mask)
        return actions[0] if single else actions

    def _sample(self, n: int, mask: Any) -> np.ndarray:
        space = self.action_space
        if isinstance(space, gym.spaces.Discrete):
            scores = self.rng.random((n, int(space.n)))
            if mask is not None:
                scores = scores * np.asarray(mask, dtype=bool).reshape(n, -1)
            return scores.argmax(-1) + int(space.start)
        if isinstance(space, gym.spaces.MultiDiscrete):
            offsets = np.concatenate([[0], np.cumsum(space.nvec)])
            scores = self.rng.random((n, int(space.nvec.sum())))
            if mask is not None:
                scores = scores * np.asarray(mask, dtype=bool).reshape(n, -1)
            return np.stack([scores[:, a:b].argmax(-1) for a, b in zip(offsets[:-1], offsets[1:])], -1) + space.start
        if isinstance(space, gym.spaces.Box):
            return self.rng.uniform(space.low, space.high, (n, *space.shape)).astype(space.dtype)
        raise TypeError(f"random baseline does not support action space {space}")

    def save(self, path: str | Path) -> None:
        atomic_torch_save({"baseline": "random", "observation_space": self.observation_space,
                           "action_space": self.action_space, "seed": self.seed}, Path(path))

    @classmethod
    def load(cls, path: str | Path) -> "RandomPolicy":
        data = load_file(Path(path))
        return cls(data["observation_space"], data["action_space"], data["seed"])
