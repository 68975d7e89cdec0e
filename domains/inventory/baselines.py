"""Inventory heuristics with closed-form levels, under the `predict` protocol (also usable as HDPO starting points).

- newsvendor / base_stock: order up to the p/(p+h) quantile of demand over lead time + 1 periods (Poisson or
  Normal); for one backlogged store this is the optimal order-up-to level S*.
- echelon_base_stock (serial): node k orders up to the p/(p+h) quantile of demand over the echelon lead time
  (the lead times of node k and every node below it, + 1 period); a heuristic, not Clark–Scarf's levels.
- constant: order the mean demand every period.
- just-in-time oracle: knows the future demand (a lower reference, not a policy); see `JustInTimeOracle`.
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
from appliedrl.envs.inventory import InventoryProblem, InventorySimulator, InventoryState


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
        raise ValueError(f"the newsvendor baseline is for single-echelon settings (one_store_lost, "
                         f"one_store_backlogged, real_data_store), not {problem.setting}")
    levels = torch.tensor([newsvendor_level(problem, s, problem.lead_times[s] + 1) for s in range(problem.n_stores)])
    return BaseStockPolicy(problem, levels)


def echelon_policy(problem: InventoryProblem) -> EchelonBaseStockPolicy:
    echelon_lead = np.cumsum(problem.lead_times)
    levels = torch.tensor([newsvendor_level(problem, 0, int(lead) + 1) for lead in echelon_lead])
    return EchelonBaseStockPolicy(problem, levels)


class JustInTimeOracle:
    """The just-in-time oracle: knows every future demand and orders so that stock reaches each store exactly in
    the period it is demanded. A lower reference for learned policies, not a policy (no policy sees the future).

    Store s orders max(d_s(t + L_s) − y_s, 0), y_s being its on-hand stock at the start of period t + L_s
    projected from its current stock and pipeline and the known demand in between (lost or backlogged). An
    upstream node u orders up to the demand its stores face until its order can reach them,
    max(Σ_s Σ_{k=0..Λ(u,s)} d_s(t + k) − echelon position_u, 0), where Λ(u, s) sums the lead times from u down to
    store s and the echelon position is the on-hand and in-transit stock of u and every node below it. Orders
    still pass through the simulator, so upstream stock and lead times bind: once the random starting stock has
    been used up, every store holds exactly its demand and upstream nodes ship everything the period it arrives,
    at zero cost; before that, the start state forces shortages (until the first orders arrive) or holding.
    """

    def __init__(self, problem: InventoryProblem, device: str | torch.device = "cpu") -> None:
        self.problem, self.device = problem, torch.device(device)
        n, stores = problem.n_nodes, problem.n_stores
        below = torch.eye(n, dtype=torch.float64)  # below[u, m] = 1 when node m is u or supplied, directly or not, by u
        reach = torch.zeros(n, stores, dtype=torch.long)  # Λ(u, s): periods from u's order to store s
        for m in range(n):
            node, periods = m, 0
            while node >= 0:
                periods += problem.lead_times[node]
                below[node, m] = 1.0
                if m < stores:
                    reach[node, m] = periods
                node = problem.supplier[node]
        self.below, self.reach = below.to(self.device), reach.to(self.device)
        self.store_lead = torch.tensor(problem.lead_times[:stores], device=self.device)
        self.store_index = torch.arange(stores, device=self.device)

    def cost(self, demand: torch.Tensor, state: InventoryState, ignore_periods: int = 0) -> torch.Tensor:
        """Average cost per period per store of each scenario [batch] over `demand` [batch, periods, stores] from
        `state`, leaving out the first `ignore_periods` (as `InventorySimulator.rollout`)."""
        batch, periods, stores = demand.shape
        if not 0 <= ignore_periods < periods:
            raise ValueError(f"ignore_periods={ignore_periods} must be in [0, {periods})")
        simulator = InventorySimulator(self.problem, self.device)
        # demand beyond the horizon is unknown: orders for it do not change the cost, so take it as 0
        padded = torch.cat([demand, demand.new_zeros(batch, int(self.reach.max()) + 1, stores)], dim=1).double()
        cumulative = torch.cat([padded.new_zeros(batch, 1, stores), padded.cumsum(1)], dim=1)
        total = torch.zeros(batch, dtype=torch.float64, device=self.device)
        with torch.no_grad():
            for t in range(periods):
                state, cost = simulator.step(state, self.orders(state, padded, cumulative, t), demand[:, t])
                if t >= ignore_periods:
                    total += cost
        return (total / ((periods - ignore_periods) * stores)).float()

    def orders(self, state: InventoryState, demand: torch.Tensor, cumulative: torch.Tensor, t: int) -> torch.Tensor:
        """Orders [batch, nodes] in period t, from the padded demand and its cumulative sums (leading zero)."""
        stores = self.problem.n_stores
        # upstream: order up to the demand until the order reaches each store, less the echelon position
        position = (state.on_hand + state.pipeline.sum(-1)).double() @ self.below.T
        ahead = cumulative[:, t + self.reach + 1, self.store_index] - cumulative[:, t, None, :]
        orders = (ahead * self.below[:, :stores]).sum(-1) - position
        # stores: the demand of the period the order lands in, less the stock projected to be on hand then
        stock = state.on_hand[:, :stores].double()
        for k in range(int(self.store_lead.max())):
            served = stock - demand[:, t + k]
            served = served.clamp(min=0.0) if self.problem.lost_sales else served
            arrival = state.pipeline[:, :stores, k].double() if k < state.pipeline.shape[-1] else 0.0
            stock = torch.where(k < self.store_lead, served + arrival, stock)
        orders[:, :stores] = demand[:, t + self.store_lead, self.store_index] - stock
        return orders.clamp(min=0.0).float()


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
