"""Inventory-network instances: the settings of Alvo, Russo & Kanoria, their parameters, and demand scenarios.

A network is a tree. Nodes 0..n_stores-1 are stores facing demand; the remaining nodes are upstream locations
(warehouses) that hold stock and ship to the nodes they supply. The top node orders from an unlimited
external supplier. Every keyword argument overrides the setting's default; invalid values raise ValueError.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

SETTINGS = ("one_store_lost", "one_store_backlogged", "serial", "one_warehouse", "transshipment")
SERIAL_UPSTREAM_LEAD_TIMES = (3, 4, 2)
SERIAL_HOLDING_COSTS = (1.0, 0.5, 0.2, 0.1)


@dataclasses.dataclass(frozen=True)
class InventoryProblem:
    """One instance. Per-node lists are ordered stores first, then upstream nodes (bottom to top)."""

    setting: str
    n_stores: int
    lead_times: tuple[int, ...]  # per node: periods from shipment to arrival
    holding_costs: tuple[float, ...]  # per node, per unit of on-hand stock per period
    shortage_costs: tuple[float, ...]  # per store, per unit of unmet demand
    supplier: tuple[int, ...]  # per node: index of the node shipping to it, -1 = external (unlimited)
    lost_sales: bool
    demand_distribution: str  # "poisson" or "normal" (normal demand is clipped at 0)
    demand_means: tuple[float, ...]  # per store
    demand_stds: tuple[float, ...]  # per store (normal only)
    demand_correlation: float = 0.0  # between stores (normal only)
    holds_stock: tuple[bool, ...] = ()  # per node; a node that holds none passes everything on (default: all hold)

    def __post_init__(self) -> None:
        if not self.holds_stock:
            object.__setattr__(self, "holds_stock", (True,) * len(self.lead_times))

    @property
    def n_nodes(self) -> int:
        return len(self.lead_times)

    @property
    def max_lead_time(self) -> int:
        return max(self.lead_times)

    def children(self, node: int) -> list[int]:
        return [n for n, s in enumerate(self.supplier) if s == node]

    def describe(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def sample_demand(self, n_scenarios: int, periods: int, seed: int | np.random.Generator) -> torch.Tensor:
        """Demand scenarios [n_scenarios, periods, n_stores] (float32), reproducible from `seed`."""
        rng = np.random.default_rng(seed)
        means = np.asarray(self.demand_means)
        if self.demand_distribution == "poisson":
            demand = rng.poisson(means, size=(n_scenarios, periods, self.n_stores))
        else:
            stds = np.asarray(self.demand_stds)
            corr = np.full((self.n_stores, self.n_stores), self.demand_correlation)
            np.fill_diagonal(corr, 1.0)
            cov = corr * np.outer(stds, stds)
            demand = rng.multivariate_normal(means, cov, size=(n_scenarios, periods), method="cholesky")
            demand = np.maximum(demand, 0.0)
        return torch.as_tensor(demand, dtype=torch.float32)


def make_problem(setting: str = "one_store_lost", *, lead_time: int | None = None,
                 holding_cost: float | None = None, shortage_cost: float | None = None,
                 demand_mean: float | None = None, demand_std: float | None = None, n_stores: int | None = None,
                 seed: int = 0) -> InventoryProblem:
    """The instance of `setting` with any parameter overridden; `seed` draws the one_warehouse store parameters."""
    if setting not in SETTINGS:
        raise ValueError(f"unknown setting {setting!r}; valid settings: {', '.join(SETTINGS)}")
    _check_optional("lead_time", lead_time, lambda v: isinstance(v, (int, np.integer)) and v >= 1,
                    "must be an integer >= 1 (orders arrive at the start of a later period)")
    _check_optional("holding_cost", holding_cost, lambda v: v >= 0, "must be >= 0")
    _check_optional("shortage_cost", shortage_cost, lambda v: v >= 0, "must be >= 0")
    _check_optional("demand_mean", demand_mean, lambda v: v > 0, "must be > 0")
    _check_optional("demand_std", demand_std, lambda v: v >= 0, "must be >= 0")
    _check_optional("n_stores", n_stores, lambda v: isinstance(v, (int, np.integer)) and v >= 1,
                    "must be an integer >= 1")
    if setting in ("one_store_lost", "one_store_backlogged", "serial") and n_stores not in (None, 1):
        raise ValueError(f"n_stores={n_stores} is invalid: setting {setting} has exactly one store")
    p = 9.0 if shortage_cost is None else float(shortage_cost)
    h = 1.0 if holding_cost is None else float(holding_cost)
    if setting in ("one_store_lost", "one_store_backlogged"):
        lost = setting == "one_store_lost"
        return InventoryProblem(
            setting, 1, (4 if lead_time is None else int(lead_time),), (h,), (p,), (-1,), lost,
            "poisson" if lost else "normal", (5.0 if demand_mean is None else float(demand_mean),),
            (1.6 if demand_std is None else float(demand_std),))
    if setting == "serial":
        store_h = h if holding_cost is not None else SERIAL_HOLDING_COSTS[0]
        return InventoryProblem(
            setting, 1, (4 if lead_time is None else int(lead_time), *SERIAL_UPSTREAM_LEAD_TIMES),
            (store_h, *SERIAL_HOLDING_COSTS[1:]), (p,), (1, 2, 3, -1), False, "normal",
            (5.0 if demand_mean is None else float(demand_mean),), (2.0 if demand_std is None else float(demand_std),))
    # one_warehouse and transshipment: heterogeneous stores drawn from the paper's ranges
    n = 3 if n_stores is None else int(n_stores)
    rng = np.random.default_rng(seed)
    means = rng.uniform(2.5, 7.5, n) if demand_mean is None else np.full(n, float(demand_mean))
    cvs = rng.uniform(0.25, 0.5, n)
    stds = means * cvs if demand_std is None else np.full(n, float(demand_std))
    if setting == "transshipment":
        # a centre that holds no stock ships everything that arrives to the stores the same period; backlog
        store_lead = np.full(n, 2 if lead_time is None else int(lead_time))
        return InventoryProblem(
            setting, n, (*map(int, store_lead), 3), (*([h] * n), 0.0), (p,) * n, (*([n] * n), -1), False,
            "normal", tuple(map(float, means)), tuple(map(float, stds)), 0.5, (*([True] * n), False))
    store_lead = rng.integers(2, 4, n) if lead_time is None else np.full(n, int(lead_time))
    store_h = rng.uniform(0.7, 1.3, n) if holding_cost is None else np.full(n, h)
    store_p = rng.uniform(6.3, 11.7, n) if shortage_cost is None else np.full(n, p)
    return InventoryProblem(
        setting, n, (*map(int, store_lead), 3), (*map(float, store_h), 0.3), tuple(map(float, store_p)),
        (*([n] * n), -1), True, "normal", tuple(map(float, means)), tuple(map(float, stds)), 0.5)


def _check_optional(name: str, value: Any, valid: Any, why: str) -> None:
    if value is None:
        return
    try:
        ok = bool(valid(value))
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"{name}={value!r} is invalid: {why}")
