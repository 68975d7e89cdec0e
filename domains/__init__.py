"""The pairing per domain: heuristic baselines, domain networks, tuned recipes, domain metrics."""

from appliedrl.domains.baselines import BASELINES, RandomPolicy, make_baseline
from appliedrl.domains.inventory.baselines import baseline_factories as _inventory_baselines
from appliedrl.domains.inventory.hdpo_problem import make_hdpo_agent as _inventory_hdpo
from appliedrl.domains.recipes import recipe_for

BASELINES.update(_inventory_baselines())

# env id -> builder(env_kwargs, HDPOConfig, seed, env_id) of an HDPO agent: the envs with a differentiable simulator
HDPO_BUILDERS = {"appliedrl/Inventory-v0": _inventory_hdpo}

__all__ = ["BASELINES", "HDPO_BUILDERS", "RandomPolicy", "make_baseline", "recipe_for"]
