"""Small environments the tests drive the backbone with: action masks, MultiDiscrete masks, Dict observations,
NaN injection; and a domain network for the network hook."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from torch import nn


class MaskedChoiceEnv(gym.Env):
    """Pick the target action shown one-hot in the observation; half of the other actions are illegal each step.

    Taking an illegal action raises, so any test that trains on this env checks that masks are obeyed.
    """

    def __init__(self, n_actions: int = 4, episode_length: int = 5) -> None:
        self.n_actions, self.episode_length = n_actions, episode_length
        self.observation_space = spaces.Box(0.0, 1.0, (n_actions,), np.float32)
        self.action_space = spaces.Discrete(n_actions)

    def _draw(self) -> tuple[np.ndarray, dict]:
        self.target = int(self.np_random.integers(self.n_actions))
        self.mask = self.np_random.random(self.n_actions) < 0.5
        self.mask[self.target] = True
        obs = np.zeros(self.n_actions, np.float32)
        obs[self.target] = 1.0
        return obs, {"action_mask": self.mask.astype(np.int8)}

    def action_masks(self) -> np.ndarray:
        return self.mask.copy()

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._draw()

    def step(self, action):
        if not self.mask[int(action)]:
            raise ValueError(f"illegal action {action} under mask {self.mask}")
        reward = float(int(action) == self.target)
        self.t += 1
        obs, info = self._draw()
        terminated = self.t >= self.episode_length
        if terminated:
            info["is_success"] = reward > 0
            info["episode_metrics"] = {"hits": reward}
        return obs, reward, terminated, False, info


class MaskedPairEnv(gym.Env):
    """MultiDiscrete([3, 3]) version: each component has its own mask; illegal picks raise."""

    observation_space = spaces.Box(0.0, 1.0, (6,), np.float32)
    action_space = spaces.MultiDiscrete([3, 3])

    def _draw(self):
        self.mask = self.np_random.random(6) < 0.5
        self.mask[self.np_random.integers(3)] = True
        self.mask[3 + self.np_random.integers(3)] = True
        return self.mask.astype(np.float32), {"action_mask": self.mask.astype(np.int8)}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._draw()

    def step(self, action):
        a, b = int(action[0]), int(action[1])
        if not (self.mask[a] and self.mask[3 + b]):
            raise ValueError(f"illegal action {action} under mask {self.mask}")
        self.t += 1
        obs, info = self._draw()
        return obs, float(a + b), False, self.t >= 4, info


class NaNAfterEnv(gym.Env):
    """Returns a NaN observation at step `nan_at` of its first episode; otherwise a harmless random walk."""

    observation_space = spaces.Box(-np.inf, np.inf, (2,), np.float32)
    action_space = spaces.Discrete(2)

    def __init__(self, nan_at: int = 50) -> None:
        self.nan_at, self.total = nan_at, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self.t += 1
        self.total += 1
        obs = self.np_random.normal(size=2).astype(np.float32)
        if self.total == self.nan_at:
            obs[0] = np.nan
        return obs, 1.0, False, self.t >= 10, {}


class DictChoiceEnv(MaskedChoiceEnv):
    """MaskedChoiceEnv with a Dict observation: the one-hot target, a grid of distractor numbers and a step count.
    Registered with a time limit, so episodes end by truncation too."""

    def __init__(self, n_actions: int = 4, episode_length: int = 5) -> None:
        super().__init__(n_actions, episode_length)
        self.observation_space = spaces.Dict({
            "target": spaces.Box(0.0, 1.0, (n_actions,), np.float32),
            "noise": spaces.Box(-1.0, 1.0, (2, 3), np.float32),
            "step": spaces.Discrete(episode_length + 1),
        })

    def _draw(self) -> tuple[dict, dict]:
        target, info = super()._draw()
        noise = self.np_random.uniform(-1, 1, (2, 3)).astype(np.float32)
        return {"target": target, "noise": noise, "step": self.t}, info


class KeyedNetwork(nn.Module):
    """A domain network for the hook's tests: it reads the Dict observation by key (and checks the shapes)."""

    def __init__(self, observation_space: spaces.Dict, out_dim: int, env, hidden: int = 16) -> None:
        super().__init__()
        self.space, self.env_name = observation_space, type(env).__name__
        self.net = nn.Sequential(nn.Linear(observation_space["target"].shape[0], hidden), nn.Tanh(),
                                 nn.Linear(hidden, out_dim))

    def forward(self, obs: dict) -> torch.Tensor:
        batch = len(obs["target"])
        assert obs["noise"].shape == (batch, 2, 3) and obs["step"].shape == (batch,), {k: v.shape for k, v in obs.items()}
        return self.net(obs["target"])


def register() -> None:
    for env_id, entry, steps in (("tests/MaskedChoice-v0", MaskedChoiceEnv, None),
                                 ("tests/DictChoice-v0", DictChoiceEnv, 4),
                                 ("tests/MaskedPair-v0", MaskedPairEnv, None),
                                 ("tests/NaNAfter-v0", NaNAfterEnv, None)):
        if env_id not in gym.registry:
            gym.register(env_id, entry_point=entry, max_episode_steps=steps)
