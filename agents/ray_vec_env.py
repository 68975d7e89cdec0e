"""Rollouts on Ray actors: a vector env whose copies are split over Ray actors, each stepping its share as a
SyncVectorEnv, for simulators whose steps cost more than the round trip to another process or machine.

Copy i behaves as copy i of the "sync" vector env wherever it runs: `reset(seed=s)` seeds it with s + i and
autoreset is SAME_STEP, so a run with vectorization "ray" matches "sync" step for step.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import EnvSpec
from gymnasium.vector import VectorEnv
from gymnasium.vector.utils import batch_space, concatenate, create_empty_array, iterate

from appliedrl.agents.config import ConfigError
from appliedrl.agents.vec_env import make_vec_env

MISSING_RAY = "vectorization 'ray' needs Ray: pip install appliedrl[distributed]"


def _import_ray() -> Any:
    """The ray module, or a ConfigError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfigError(MISSING_RAY) from None
    return ray


class EnvShard:
    """What one Ray actor holds: `n_envs` copies of the env as a "sync" vector env."""

    def __init__(self, env_id: str, spec: EnvSpec | None, n_envs: int, env_kwargs: dict[str, Any]) -> None:
        if spec is not None:  # an env the driver registered at run time is unknown to a fresh worker
            gym.registry.setdefault(env_id, spec)
        self.envs = make_vec_env(env_id, n_envs, "sync", env_kwargs)

    def describe(self) -> tuple[gym.Space, gym.Space, dict[str, Any], str | None]:
        return (self.envs.single_observation_space, self.envs.single_action_space, self.envs.metadata,
                self.envs.render_mode)

    def reset(self, seeds: list[int | None], options: dict[str, Any] | None) -> tuple[Any, dict[str, Any]]:
        return self.envs.reset(seed=seeds, options=options)

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        return self.envs.step(actions)

    def call(self, name: str, args: tuple, kwargs: dict[str, Any]) -> tuple[Any, ...]:
        return self.envs.call(name, *args, **kwargs)

    def set_attr(self, name: str, values: list[Any]) -> None:
        self.envs.set_attr(name, values)


class RayVectorEnv(VectorEnv):
    """`n_envs` copies of `env_id` split as evenly as possible over `workers` Ray actors (None: one per CPU Ray
    offers, at most `n_envs`); each step goes to all actors at once and their results are joined in copy order."""

    def __init__(self, env_id: str, n_envs: int, env_kwargs: dict[str, Any] | None = None,
                 workers: int | None = None) -> None:
        ray = _import_ray()
        if not ray.is_initialized():
            # a local instance of our own, not whatever cluster this machine last started; RAY_ADDRESS still wins
            if "RAY_ADDRESS" in os.environ:
                ray.init()
            else:
                ray.init(address="local", include_dashboard=False)
        if workers is None:
            workers = min(n_envs, int(ray.cluster_resources().get("CPU", 1)))
        if not 1 <= workers <= n_envs:
            raise ConfigError(f"rollout_workers must be between 1 and n_envs={n_envs}, got {workers}")
        self._ray = ray
        self.num_envs = n_envs
        self.sizes = [len(share) for share in np.array_split(np.arange(n_envs), workers)]
        self.bounds = list(itertools.pairwise(np.cumsum([0, *self.sizes]).tolist()))
        spec = gym.spec(env_id) if ":" not in env_id else None
        # default actor resources (a CPU to be placed, none held): more actors than CPUs oversubscribe, never hang
        actor = ray.remote(EnvShard).options(scheduling_strategy="SPREAD")
        self.shards = [actor.remote(env_id, spec, size, env_kwargs or {}) for size in self.sizes]
        described = ray.get([shard.describe.remote() for shard in self.shards])
        self.single_observation_space, self.single_action_space, metadata, self.render_mode = described[0]
        self.metadata = dict(metadata)  # SAME_STEP autoreset, as the shards
        self.observation_space = batch_space(self.single_observation_space, n_envs)
        self.action_space = batch_space(self.single_action_space, n_envs)
        self._shard_observation_spaces = [batch_space(self.single_observation_space, size)
                                          for size in self.sizes]

    def reset(self, *, seed: int | list[int | None] | None = None,
              options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        """Reset every copy; an int seed s gives copy i the seed s + i, as SyncVectorEnv does."""
        if seed is None or isinstance(seed, int):
            seed = [None if seed is None else seed + i for i in range(self.num_envs)]
        if len(seed) != self.num_envs:
            raise ValueError(f"reset got {len(seed)} seeds for num_envs={self.num_envs}")
        results = self._ray.get([shard.reset.remote(seed[a:b], options)
                                 for shard, (a, b) in zip(self.shards, self.bounds)])
        observations, infos = zip(*results)
        return self._join_observations(observations), join_infos(infos, self.sizes)

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        per_env, space = list(iterate(self.action_space, actions)), self.single_action_space
        shares = [concatenate(space, per_env[a:b], create_empty_array(space, b - a)) for a, b in self.bounds]
        results = self._ray.get([shard.step.remote(share) for shard, share in zip(self.shards, shares)])
        observations, rewards, terminated, truncated, infos = zip(*results)
        return (self._join_observations(observations), np.concatenate(rewards), np.concatenate(terminated),
                np.concatenate(truncated), join_infos(infos, self.sizes))

    def call(self, name: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        """Call a method of (or read an attribute of) every copy, as SyncVectorEnv.call."""
        results = self._ray.get([shard.call.remote(name, args, kwargs) for shard in self.shards])
        return tuple(itertools.chain.from_iterable(results))

    def get_attr(self, name: str) -> tuple[Any, ...]:
        return self.call(name)

    def set_attr(self, name: str, values: list[Any] | tuple[Any, ...] | Any) -> None:
        """Set an attribute of every copy: one value each (a list or tuple) or the same value for all."""
        if not isinstance(values, (list, tuple)):
            values = [values] * self.num_envs
        if len(values) != self.num_envs:
            raise ValueError(f"set_attr got {len(values)} values for num_envs={self.num_envs}")
        self._ray.get([shard.set_attr.remote(name, list(values[a:b]))
                       for shard, (a, b) in zip(self.shards, self.bounds)])

    def render(self) -> tuple[Any, ...]:
        return self.call("render")

    def close_extras(self, **kwargs: Any) -> None:
        """End the actors once the calls already sent to them are done (the Ray instance stays up)."""
        if self._ray.is_initialized():
            for shard in self.shards:
                shard.__ray_terminate__.remote()

    def _join_observations(self, parts: tuple[Any, ...]) -> Any:
        space = self.single_observation_space
        rows = [row for shard_space, part in zip(self._shard_observation_spaces, parts)
                for row in iterate(shard_space, part)]
        return concatenate(space, rows, create_empty_array(space, self.num_envs))


def join_infos(parts: tuple[dict[str, Any], ...], sizes: list[int]) -> dict[str, Any]:
    """One vector info from the shards' (Gymnasium's `key` / `_key` convention): each key's arrays joined in copy
    order, nested dicts (`final_info`) joined alike, and copies whose shard lacks a key filled with what
    SyncVectorEnv leaves there (zeros, None for objects, False in the `_key` masks)."""
    joined: dict[str, Any] = {}
    for key in dict.fromkeys(itertools.chain.from_iterable(parts)):
        values = [part.get(key) for part in parts]
        example = next(value for value in values if value is not None)
        if isinstance(example, dict):
            joined[key] = join_infos(tuple(value or {} for value in values), sizes)
            continue
        filler = None if example.dtype == object else 0
        joined[key] = np.concatenate([value if value is not None
                                      else np.full((size, *example.shape[1:]), filler, example.dtype)
                                      for value, size in zip(values, sizes)])
    return joined
