"""Inventory-network instances: the settings of Alvo, Russo & Kanoria, their parameters, and demand scenarios.

A network is a tree. Nodes 0..n_stores-1 are stores facing demand; the remaining nodes are upstream locations
(warehouses) that hold stock and ship to the nodes they supply. The top node orders from an unlimited
external supplier. Every keyword argument overrides the setting's default; invalid values raise ValueError.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import torch

SETTINGS = ("one_store_lost", "one_store_backlogged", "serial", "one_warehouse", "transshipment", "real_data_store")
HISTORY = 8  # real-data setting: past periods of demand the policy sees
SERIAL_UPSTREAM_LEAD_TIMES = (3, 4, 2)
SERIAL_HOLDING_COSTS = (1.0, 0.5, 0.2, 0.1)
SPLITS = {"train": 0.6, "dev": 0.2, "test": 0.2}  # real-data setting: consecutive shares of the series, oldest first


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
    demand_series: tuple[float, ...] = ()  # "data" demand: the store's series, one value per period
    series_week: tuple[int, ...] = ()  # week of the year of each period of the series (calendar features)
    split: str | None = None  # "train", "dev" or "test": windows only from that part of the series; None: all of it
    demand_file: str = ""  # where the series came from (for error messages)

    def __post_init__(self) -> None:
        if not self.holds_stock:
            object.__setattr__(self, "holds_stock", (True,) * len(self.lead_times))

    @property
    def n_nodes(self) -> int:
        return len(self.lead_times)

    @property
    def max_lead_time(self) -> int:
        return max(self.lead_times)

    @property
    def n_features(self) -> int:
        """Exogenous features appended to observations: past demand and the calendar (real-data setting)."""
        return HISTORY + 2 if self.demand_distribution == "data" else 0

    def window_range(self) -> tuple[int, int]:
        """The periods [first, end) of the series that this problem's windows may cover (see `split_bounds`)."""
        return split_bounds(len(self.demand_series))[self.split or "all"]

    def sample_windows(self, n: int, periods: int, seed: int | np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Real-data scenarios: `n` random windows inside `window_range()`, demand [n, periods, 1] and per-period
        features [n, periods, HISTORY + 2] (the previous HISTORY demands / mean demand, then sin and cos of the
        week; the history of a dev or test window may reach back into the part before it, as in a backtest)."""
        series = np.asarray(self.demand_series, dtype=np.float32)
        first, end = self.window_range()
        if periods > end - first:
            part = f"the {self.split} part" if self.split else "the series"
            needed = needed_length(periods, self.split)
            raise ValueError(f"{self.demand_file}: periods={periods} is too long for {part} ({end - first} periods "
                             f"of {len(series)}); needs a series of at least {needed} periods")
        starts = np.random.default_rng(seed).integers(first, end - periods + 1, size=n)
        index = starts[:, None] + np.arange(periods)[None]
        demand = series[index][..., None]
        history = series[index[..., None] - np.arange(HISTORY, 0, -1)] / self.demand_means[0]
        angle = 2 * np.pi * np.asarray(self.series_week, dtype=np.float32)[index] / 52.18
        features = np.concatenate([history, np.sin(angle)[..., None], np.cos(angle)[..., None]], axis=-1)
        return torch.as_tensor(demand), torch.as_tensor(features, dtype=torch.float32)

    def sample_demand(self, n_scenarios: int, periods: int, seed: int | np.random.Generator) -> torch.Tensor:
        """Demand scenarios [n_scenarios, periods, n_stores] (float32), reproducible from `seed`."""
        if self.demand_distribution == "data":
            return self.sample_windows(n_scenarios, periods, seed)[0]
        rng = np.random.default_rng(seed)
        means = np.asarray(self.demand_means)
        if self.demand_distribution == "poisson":
            demand = rng.poisson(means, size=(n_scenarios, periods, self.n_stores))
        else:
            corr = np.full((self.n_stores, self.n_stores), self.demand_correlation)
            np.fill_diagonal(corr, 1.0)
            # correlated standard normals, then scaled: unlike the covariance's Cholesky factor, this allows std 0
            normals = rng.standard_normal((n_scenarios, periods, self.n_stores)) @ np.linalg.cholesky(corr).T
            demand = np.maximum(means + normals * np.asarray(self.demand_stds), 0.0)
        return torch.as_tensor(demand, dtype=torch.float32)


def split_bounds(length: int) -> dict[str, tuple[int, int]]:
    """Periods [first, end) of each part of a demand series of `length` periods: "train" the oldest 60%, "dev"
    the next 20%, "test" the newest 20% (disjoint and consecutive), "all" the whole series; the first HISTORY
    periods only serve as history."""
    train_end, dev_end = round(SPLITS["train"] * length), round((SPLITS["train"] + SPLITS["dev"]) * length)
    return {"train": (HISTORY, train_end), "dev": (train_end, dev_end), "test": (dev_end, length),
            "all": (HISTORY, length)}


def needed_length(periods: int, split: str | None) -> int:
    """The shortest series whose `split` part (None: the whole series) holds windows of `periods` periods."""
    length = periods + HISTORY
    while True:
        first, end = split_bounds(length)[split or "all"]
        if end - first >= periods:
            return length
        length += 1


def make_problem(setting: str = "one_store_lost", *, lead_time: int | None = None,
                 holding_cost: float | None = None, shortage_cost: float | None = None,
                 demand_mean: float | None = None, demand_std: float | None = None, n_stores: int | None = None,
                 demand_file: str | None = None, store: str | None = None, split: str | None = None,
                 seed: int = 0) -> InventoryProblem:
    """The instance of `setting` with any parameter overridden; `seed` draws the heterogeneous parameters
    (one_warehouse and transshipment stores, the real-data store's lead time and shortage cost). `split`
    (real_data_store) keeps windows inside the train, dev or test part of the series (`split_bounds`)."""
    if setting not in SETTINGS:
        raise ValueError(f"unknown setting {setting!r}; valid settings: {', '.join(SETTINGS)}")
    _check_optional("lead_time", lead_time, lambda v: is_integer(v) and v >= 1,
                    "must be an integer >= 1 (orders arrive at the start of a later period)")
    _check_optional("holding_cost", holding_cost, lambda v: math.isfinite(v) and v >= 0, "must be finite and >= 0")
    _check_optional("shortage_cost", shortage_cost, lambda v: math.isfinite(v) and v >= 0, "must be finite and >= 0")
    _check_optional("demand_mean", demand_mean, lambda v: math.isfinite(v) and v > 0, "must be finite and > 0")
    _check_optional("demand_std", demand_std, lambda v: math.isfinite(v) and v >= 0, "must be finite and >= 0")
    _check_optional("n_stores", n_stores, lambda v: is_integer(v) and v >= 1, "must be an integer >= 1")
    if setting != "real_data_store" and (demand_file is not None or store is not None or split is not None):
        raise ValueError(f"demand_file, store and split belong to setting real_data_store, not {setting}")
    if split is not None and split not in SPLITS:
        raise ValueError(f"split={split!r} is invalid; valid choices: {', '.join(SPLITS)} (or leave it out)")
    if setting in ("one_store_lost", "one_store_backlogged", "serial", "real_data_store") and n_stores not in (None, 1):
        raise ValueError(f"n_stores={n_stores} is invalid: setting {setting} has exactly one store")
    p = 9.0 if shortage_cost is None else float(shortage_cost)
    h = 1.0 if holding_cost is None else float(holding_cost)
    if setting == "one_store_lost" and demand_std is not None:
        raise ValueError("demand_std does not apply to one_store_lost: its demand is Poisson, with std sqrt(mean)")
    if setting in ("one_store_lost", "one_store_backlogged"):
        lost = setting == "one_store_lost"
        mean = 5.0 if demand_mean is None else float(demand_mean)
        std = math.sqrt(mean) if lost else 1.6 if demand_std is None else float(demand_std)
        return InventoryProblem(setting, 1, (4 if lead_time is None else int(lead_time),), (h,), (p,), (-1,), lost,
                                "poisson" if lost else "normal", (mean,), (std,))
    if setting == "serial":
        store_h = h if holding_cost is not None else SERIAL_HOLDING_COSTS[0]
        return InventoryProblem(
            setting, 1, (4 if lead_time is None else int(lead_time), *SERIAL_UPSTREAM_LEAD_TIMES),
            (store_h, *SERIAL_HOLDING_COSTS[1:]), (p,), (1, 2, 3, -1), False, "normal",
            (5.0 if demand_mean is None else float(demand_mean),), (2.0 if demand_std is None else float(demand_std),))
    if setting == "real_data_store":
        return _real_data_problem(demand_file, store, split, lead_time, holding_cost, shortage_cost, demand_mean,
                                  demand_std, seed)
    # one_warehouse and transshipment: heterogeneous stores drawn from the paper's ranges
    n = 3 if n_stores is None else int(n_stores)
    # every parameter is drawn, given or not, so overriding one leaves the others as they were
    rng = np.random.default_rng(seed)
    drawn_means, cvs = rng.uniform(2.5, 7.5, n), rng.uniform(0.25, 0.5, n)
    means = drawn_means if demand_mean is None else np.full(n, float(demand_mean))
    stds = means * cvs if demand_std is None else np.full(n, float(demand_std))
    if setting == "transshipment":
        # a centre that holds no stock ships everything that arrives to the stores the same period; backlog
        store_lead = np.full(n, 2 if lead_time is None else int(lead_time))
        return InventoryProblem(
            setting, n, (*map(int, store_lead), 3), (*([h] * n), 0.0), (p,) * n, (*([n] * n), -1), False,
            "normal", tuple(map(float, means)), tuple(map(float, stds)), 0.5, (*([True] * n), False))
    drawn_lead, drawn_h, drawn_p = rng.integers(2, 4, n), rng.uniform(0.7, 1.3, n), rng.uniform(6.3, 11.7, n)
    store_lead = drawn_lead if lead_time is None else np.full(n, int(lead_time))
    store_h = drawn_h if holding_cost is None else np.full(n, h)
    store_p = drawn_p if shortage_cost is None else np.full(n, p)
    return InventoryProblem(
        setting, n, (*map(int, store_lead), 3), (*map(float, store_h), 0.3), tuple(map(float, store_p)),
        (*([n] * n), -1), True, "normal", tuple(map(float, means)), tuple(map(float, stds)), 0.5)


def _real_data_problem(demand_file: str | None, store: str | None, split: str | None, lead_time: int | None,
                       holding_cost: float | None, shortage_cost: float | None, demand_mean: float | None,
                       demand_std: float | None, seed: int) -> InventoryProblem:
    """One lost-sales store facing a demand series from a file (default: the synthetic data set, store S00)."""
    from appliedrl.data import SYNTHETIC_DEMAND
    from appliedrl.envs.inventory.demand_data import load_demand

    if demand_mean is not None or demand_std is not None:
        raise ValueError("demand_mean and demand_std do not apply to real_data_store: demand comes from demand_file")
    path = SYNTHETIC_DEMAND if demand_file is None else demand_file
    frame = load_demand(path, store if store is not None or demand_file is not None else "S00")
    # every part needs a period beyond the history (one is enough without a split)
    needed = max(needed_length(1, part) for part in SPLITS) if split else needed_length(1, None) + 1
    if len(frame) < needed:
        purpose = " for a train/dev/test split" if split else ""
        raise ValueError(f"{path}: needs at least {needed} periods of demand{purpose}, found {len(frame)}")
    series = frame["demand"].to_numpy()
    rng = np.random.default_rng(seed)
    lead = int(rng.integers(4, 7)) if lead_time is None else int(lead_time)
    p = float(rng.uniform(6.3, 11.7)) if shortage_cost is None else float(shortage_cost)
    h = 1.0 if holding_cost is None else float(holding_cost)
    # with a split, the demand statistics (the policy's scale) come from the train part only: nothing leaks back
    fitted = series[: split_bounds(len(series))["train"][1]] if split else series
    mean = max(float(fitted.mean()), 1e-6)
    return InventoryProblem(
        "real_data_store", 1, (lead,), (h,), (p,), (-1,), True, "data", (mean,), (float(fitted.std()),),
        demand_series=tuple(map(float, series)),
        series_week=tuple(int(w) for w in frame["date"].dt.isocalendar().week), split=split, demand_file=str(path))


def is_integer(value: Any) -> bool:
    """An int or numpy integer, and not a bool (True would pass as 1)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_optional(name: str, value: Any, valid: Any, why: str) -> None:
    if value is None:
        return
    try:
        ok = bool(valid(value))
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"{name}={value!r} is invalid: {why}")
