"""Simulators and Gymnasium / PettingZoo environments, one subpackage per domain (no training code)."""

from __future__ import annotations

import gymnasium as gym

# (id, entry point, max_episode_steps, vector entry point) of every single-agent environment; the domain
# subpackages add theirs here as they land.
SINGLE_AGENT_ENVS: list[tuple[str, str, int | None, str | None]] = [
    ("appliedrl/Inventory-v0", "appliedrl.envs.inventory:InventoryEnv", None,
     "appliedrl.envs.inventory:InventoryVectorEnv"),
]


def register_envs() -> None:
    """Register the appliedrl/ namespace with Gymnasium; safe to call more than once."""
    for env_id, entry_point, max_steps, vector_entry_point in SINGLE_AGENT_ENVS:
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point, max_episode_steps=max_steps,
                         vector_entry_point=vector_entry_point)
