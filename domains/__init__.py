"""The pairing per domain: heuristic baselines, domain networks, tuned recipes, domain metrics."""

from appliedrl.domains.baselines import BASELINES, RandomPolicy, make_baseline
from appliedrl.domains.recipes import recipe_for

__all__ = ["BASELINES", "RandomPolicy", "make_baseline", "recipe_for"]
