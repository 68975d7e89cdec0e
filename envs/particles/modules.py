"""The constructors each mpe2-named module exposes, so `from appliedrl.envs.particles import simple_spread_v3`
works where `from mpe2 import simple_spread_v3` did."""

from __future__ import annotations

from typing import Any, Callable

from pettingzoo import AECEnv
from pettingzoo.utils.conversions import parallel_to_aec

from appliedrl.envs.particles.env import ParticleParallelEnv, ParticleWorlds


def scenario_module(name: str) -> tuple[Callable[..., AECEnv], Callable[..., ParticleParallelEnv],
                                         Callable[..., ParticleWorlds]]:
    """(env, parallel_env, batched) constructors for scenario `name`, taking mpe2's keyword arguments."""

    def parallel_env(**kwargs: Any) -> ParticleParallelEnv:
        return ParticleParallelEnv(name, **kwargs)

    def env(**kwargs: Any) -> AECEnv:
        return parallel_to_aec(parallel_env(**kwargs))

    def batched(num_envs: int = 1, **kwargs: Any) -> ParticleWorlds:
        return ParticleWorlds(name, num_envs, **kwargs)

    return env, parallel_env, batched
