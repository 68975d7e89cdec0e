"""Inventory heuristics with closed-form levels, under the `predict` protocol (also usable as HDPO starting points).

- newsvendor / base_stock: order up to the p/(p+h) quantile of demand over lead time + 1 periods (Poisson or
  Normal); for one backlogged store this is the optimal order-up-to level S*.
- echelon_base_stock (serial): node k orders up to the p/(p+h) quantile of demand over the echelon lead time
  (the lead times of node k and every node below it, + 1 period); a heuristic, not Clark–Scarf's levels.
- constant: order the mean demand every period.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from appliedrl.agents.base import check_observation_batch
from appliedrl.agents.checkpoint import atomic_torch_save, load_file
from appliedrl.domains.inventory.policies import (BaseStockPolicy, ConstantOrderPolicy, EchelonBaseStockPolicy,
                                                  InventoryPolicy)
from appliedrl.envs.inventory import InventoryProblem


class ModulePolicy:
    """Any inventory policy module behind the `predict` / `save` / `load` protocol."""

    def __init__(self, module: InventoryPolicy) -> None:
        self.module = module.eval()

    def predict(self, obs: Any, mask: Any = None, deterministic: bool = True) -> np.ndarray:
        batch, single = check_observation_batch(obs, self.module.observation_shape)
        with torch.no_grad():
            actions = self.module(torch.as_tensor(batch)).numpy()
        return actions[0] if single else actions

    def save(self, path: str | Path) -> None:
        atomic_torch_save({"baseline": type(self.module).__name__, "module": self.module}, Path(path))

    @classmethod
    def load(cls, path: str | Path) -> "ModulePolicy":
        return cls(load_file(Path(path))["module"])


def newsvendor_level(problem: InventoryProblem, store: int, periods: int) -> float:
    """The p/(p+h) quantile of a store's demand summed over `periods` periods."""
    from scipy import stats  # imported here: scipy.stats is slow to import

    ratio = problem.shortage_costs[store] / (problem.shortage_costs[store] + problem.holding_costs[store])
    mean = problem.demand_means[store] * periods
    if problem.demand_distribution == "poisson":
        return float(stats.poisson.ppf(ratio, mean))
    return float(stats.norm.ppf(ratio, mean, problem.demand_stds[store] * np.sqrt(periods)))


def newsvendor_policy(problem: InventoryProblem) -> BaseStockPolicy:
    """Base-stock at every store with the newsvendor level over its lead time + 1 periods (single-echelon only)."""
    if problem.n_nodes != problem.n_stores:
        raise ValueError(f"the newsvendor baseline is for single-echelon settings, not {problem.setting}")
    levels = torch.tensor([newsvendor_level(problem, s, problem.lead_times[s] + 1) for s in range(problem.n_stores)])
    return BaseStockPolicy(problem, levels)


def echelon_policy(problem: InventoryProblem) -> EchelonBaseStockPolicy:
    echelon_lead = np.cumsum(problem.lead_times)
    levels = torch.tensor([newsvendor_level(problem, 0, int(lead) + 1) for lead in echelon_lead])
    return EchelonBaseStockPolicy(problem, levels)


def baseline_factories() -> dict[str, Any]:
    """name -> factory(env, seed) for appliedrl.domains.BASELINES."""
    def problem_of(env: Any) -> InventoryProblem:
        problem = getattr(env, "problem", None)
        if not isinstance(problem, InventoryProblem):
            raise ValueError("inventory baselines need an appliedrl/Inventory-v0 environment")
        return problem

    return {
        "newsvendor": lambda env, seed: ModulePolicy(newsvendor_policy(problem_of(env))),
        "echelon_base_stock": lambda env, seed: ModulePolicy(echelon_policy(problem_of(env))),
        "constant_order": lambda env, seed: ModulePolicy(ConstantOrderPolicy(problem_of(env))),
    }
