"""Simulators and Gymnasium / PettingZoo environments, one subpackage per domain (no training code).

Each subpackage declares its environments in `specs.py` (see appliedrl.envs.spec).
"""

from __future__ import annotations

from appliedrl.envs.spec import KINDS, EnvSpec, env_specs, register_envs

__all__ = ["KINDS", "EnvSpec", "env_specs", "register_envs"]
