"""Multi-agent environments as batches of tensors, by id: "particles/<scenario>" (our batched worlds) or
"mpe2/<scenario>" (mpe2 itself, any PettingZoo ParallelEnv, behind the same interface).

The interface, shared by `ParticleWorlds` and `ParallelEnvBatch`: `agents`, `num_envs`, `obs_dims`,
`action_spaces`, `reset(seed) -> obs [B, agents, max_obs_dim]` and `step(actions) -> obs, rewards [B, agents],
terminated, truncated, info` with autoreset and info["final_obs"].
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

import numpy as np
import torch
from gymnasium import spaces
from pettingzoo import ParallelEnv

from appliedrl.envs.particles import SCENARIOS, ParticleWorlds

NAMESPACES = ("particles", "mpe2")


class ParallelEnvBatch:
    """`num_envs` copies of a PettingZoo ParallelEnv stepped in turn, behind the batched tensor interface.

    The copies must keep all their agents until the episode ends for all of them (true of every MPE scenario).
    """

    def __init__(self, make_env: Callable[[], ParallelEnv], num_envs: int = 1, device: str = "cpu") -> None:
        self.envs = [make_env() for _ in range(num_envs)]
        first = self.envs[0]
        self.agents, self.num_envs, self.device = list(first.possible_agents), num_envs, torch.device(device)
        self.action_spaces = {a: first.action_space(a) for a in self.agents}
        self.obs_dims = [int(np.prod(first.observation_space(a).shape)) for a in self.agents]
        self.continuous_actions = isinstance(next(iter(self.action_spaces.values())), spaces.Box)
        self.action_dims = [int(s.shape[0]) if isinstance(s, spaces.Box) else 1 for s in self.action_spaces.values()]

    def _stack(self, observations: list[dict[str, np.ndarray]]) -> torch.Tensor:
        out = np.zeros((self.num_envs, len(self.agents), max(self.obs_dims)), np.float32)
        for e, obs in enumerate(observations):
            for i, agent in enumerate(self.agents):
                out[e, i, : self.obs_dims[i]] = np.ravel(obs[agent])
        return torch.as_tensor(out, device=self.device)

    def reset(self, seed: int | None = None) -> torch.Tensor:
        return self._stack([env.reset(seed=None if seed is None else seed + e)[0] for e, env in enumerate(self.envs)])

    def step(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, dict]:
        actions = actions.cpu().numpy()
        n = len(self.agents)
        observations, finals = [], []
        rewards = np.zeros((self.num_envs, n), np.float32)
        terminated, truncated = np.zeros((self.num_envs, n), bool), np.zeros((self.num_envs, n), bool)
        for e, env in enumerate(self.envs):
            step_actions = {a: (actions[e, i, : self.action_dims[i]] if self.continuous_actions else
                                int(actions[e, i])) for i, a in enumerate(self.agents)}
            obs, rew, term, trunc, _ = env.step(step_actions)
            if set(env.agents) not in (set(), set(self.agents)):
                raise NotImplementedError("ParallelEnvBatch needs environments whose agents all finish together")
            for i, a in enumerate(self.agents):
                rewards[e, i], terminated[e, i], truncated[e, i] = rew[a], term[a], trunc[a]
            finals.append(obs)
            observations.append(env.reset()[0] if not env.agents else obs)
        info: dict[str, Any] = {}
        if (terminated | truncated).any():
            info["final_obs"] = self._stack(finals)
        as_tensor = lambda x: torch.as_tensor(x, device=self.device)  # noqa: E731
        return self._stack(observations), as_tensor(rewards), as_tensor(terminated), as_tensor(truncated), info


def make_multiagent(env_id: str, num_envs: int = 1, device: str = "cpu", **kwargs: Any) -> ParticleWorlds | ParallelEnvBatch:
    """The batched multi-agent environment `env_id`: "particles/<scenario>" or "mpe2/<scenario>"."""
    namespace, _, name = env_id.partition("/")
    if namespace not in NAMESPACES or name not in SCENARIOS:
        raise ValueError(f"unknown multi-agent env {env_id!r}; valid: "
                         f"{', '.join(f'{ns}/{s}' for ns in NAMESPACES for s in SCENARIOS)}")
    if namespace == "particles":
        return ParticleWorlds(name, num_envs, device=device, **kwargs)
    try:
        module = importlib.import_module(f"mpe2.{name}")
    except ImportError:
        raise ValueError(f"{env_id} needs the mpe2 package: pip install mpe2") from None
    try:
        module.parallel_env(**kwargs)  # fail here, once, on a bad keyword
    except AssertionError as error:  # how mpe2 rejects a bad keyword value
        raise ValueError(f"{env_id} rejected {kwargs}: {error or 'a value is out of range'}") from None
    return ParallelEnvBatch(lambda: module.parallel_env(**kwargs), num_envs, device)


def is_multiagent(env_id: str) -> bool:
    return env_id.partition("/")[0] in NAMESPACES
