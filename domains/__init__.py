"""The pairing per domain: heuristic baselines, domain networks, tuned recipes, domain metrics.

Each domain package registers itself with a `DOMAIN` (see appliedrl.domains.registry).
"""

from __future__ import annotations

from typing import Any

from appliedrl.domains.baselines import RandomPolicy
from appliedrl.domains.recipes import recipe_for, recipe_layers
from appliedrl.domains.registry import Baseline, Chat, Domain, Metric, Setting, baselines_for, domain_of, domains


def make_baseline(name: str, env: Any, seed: int = 0) -> Any:
    """The baseline `name` for a Gymnasium env instance (made with gym.make, so it knows its id)."""
    env_id = env.unwrapped.spec.id
    fitting = baselines_for(env_id)
    if name not in fitting:
        raise ValueError(f"no baseline {name!r} for {env_id}; valid choices: {', '.join(fitting)}")
    return fitting[name].make(env.unwrapped, seed)


__all__ = ["Baseline", "Chat", "Domain", "Metric", "RandomPolicy", "Setting", "baselines_for", "domain_of", "domains",
           "make_baseline", "recipe_for", "recipe_layers"]
