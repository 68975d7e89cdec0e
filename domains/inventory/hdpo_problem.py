"""The inventory simulator as HDPO's differentiable problem, and the known optimum of an instance."""

from __future__ import annotations

import dataclasses
import warnings

import torch
from torch import nn

from appliedrl.agents.base import seed_everything
from appliedrl.agents.hdpo import HDPO, HDPOConfig
from appliedrl.domains.inventory import optima
from appliedrl.domains.inventory.policies import make_policy
from appliedrl.envs.inventory import InventoryProblem, InventorySimulator, InventoryState, make_problem
from appliedrl.envs.inventory.env import problem_from_env_kwargs


@dataclasses.dataclass
class Scenarios:
    demand: torch.Tensor  # [n, periods, stores]
    on_hand: torch.Tensor  # [n, nodes]
    pipeline: torch.Tensor  # [n, nodes, slots]
    features: torch.Tensor | None = None  # [n, periods, F]: exogenous observations (real-data setting)


class InventoryHDPOProblem:
    """Scenarios are demand paths plus random starting states; cost is the simulator's average cost per period
    per store. Poisson-demand problems round orders to integers at test time, as the reference does."""

    def __init__(self, problem: InventoryProblem, device: str | torch.device = "cpu", compile: bool = False) -> None:
        self.problem, self.compile = problem, compile
        self.simulator = InventorySimulator(problem, device)
        self.device = torch.device(device)
        self.integer_actions = problem.demand_distribution == "poisson"

    def sample_scenarios(self, n: int, periods: int, seed: int) -> Scenarios:
        state = self.simulator.initial_state(n, seed)
        if self.problem.n_features:
            demand, features = self.problem.sample_windows(n, periods, seed)
            return Scenarios(demand.to(self.device), state.on_hand, state.pipeline, features.to(self.device))
        demand = self.problem.sample_demand(n, periods, seed).to(self.device)
        return Scenarios(demand, state.on_hand, state.pipeline)

    def subset(self, scenarios: Scenarios, index: torch.Tensor) -> Scenarios:
        index = index.to(self.device)
        features = None if scenarios.features is None else scenarios.features[index]
        return Scenarios(scenarios.demand[index], scenarios.on_hand[index], scenarios.pipeline[index], features)

    def cost(self, policy: nn.Module, scenarios: Scenarios, ignore_periods: int, test: bool = False) -> torch.Tensor:
        start = InventoryState(scenarios.on_hand, scenarios.pipeline)
        round_orders = test and self.integer_actions
        return self.simulator.rollout(policy, scenarios.demand, start, ignore_periods, round_orders, self.compile,
                                      scenarios.features)

    def reference_costs(self) -> dict[str, float]:
        costs = {}
        optimum = optimal_cost(self.problem)
        if optimum is not None:
            costs["optimal_cost"] = optimum
        p = self.problem
        one_penalty = len(set(p.shortage_costs)) == 1
        if p.setting == "transshipment" and one_penalty and p.shortage_costs[0] > 0 and p.holding_costs[0] > 0:
            costs["lower_bound"] = optima.pooled_newsvendor_bound(
                list(p.demand_means), list(p.demand_stds), p.demand_correlation,
                p.lead_times[-1] + p.lead_times[0] + 1, p.shortage_costs[0], p.holding_costs[0])
        return {name: cost for name, cost in costs.items() if cost > 0}  # a gap to a zero cost is undefined


CLIPPED_DEMAND_LIMIT = 1e-3  # the backlogged closed form ignores demand clipped at 0: report it below this mass


def optimal_cost(problem: InventoryProblem) -> float | None:
    """Known optimal average cost per period: dynamic programming for one lost-sales store (Poisson demand),
    the closed form for one backlogged store (Normal demand), the published Clark-Scarf values for the serial
    system with its default parameters; None where none is known or it does not apply (a warning says why)."""
    if problem.setting not in ("one_store_lost", "one_store_backlogged"):
        if problem.setting == "serial" and _is_default_serial(problem):
            return optima.SERIAL_TABLE.get((problem.lead_times[0], problem.shortage_costs[0]))
        return None
    mean, std, lead = problem.demand_means[0], problem.demand_stds[0], problem.lead_times[0]
    p, h = problem.shortage_costs[0], problem.holding_costs[0]
    if p <= 0 or h <= 0:
        return None  # nothing to trade off: the optimum costs 0
    if problem.setting == "one_store_lost":
        try:
            return optima.lost_sales_optimal_cost(mean, lead, p, h)
        except optima.TooLargeForDP as error:
            warnings.warn(f"no optimum reported for this instance: {error}", stacklevel=2)
            return None
    from scipy.stats import norm  # imported here: scipy.stats is slow to import

    clipped = norm.cdf(-mean / std) if std > 0 else 0.0
    if clipped > CLIPPED_DEMAND_LIMIT:
        warnings.warn(f"no optimum reported: the closed form ignores demand clipped at 0, which is {clipped:.2%} of "
                      f"Normal({mean:g}, {std:g}) here (reported up to {CLIPPED_DEMAND_LIMIT:.1%})", stacklevel=2)
        return None
    return optima.backlogged_optimal(mean, std, lead, p, h)[1] if std > 0 else None


def _is_default_serial(problem: InventoryProblem) -> bool:
    default = make_problem("serial", lead_time=problem.lead_times[0], shortage_cost=problem.shortage_costs[0])
    return problem == default


def make_hdpo_agent(env_id: str, env_kwargs: dict, config: HDPOConfig, seed: int) -> HDPO:
    """An HDPO agent for the instance `env_kwargs` describes (the keyword arguments of appliedrl/Inventory-v0)."""
    problem = problem_from_env_kwargs(**env_kwargs)  # HDPO sets its own horizons: the env's options go unused
    if problem.demand_series:
        first, end = problem.window_range()
        part = f"the {problem.split} part of the demand series" if problem.split else "the demand series"
        for split in ("train", "dev", "test"):
            if getattr(config, f"{split}_periods") > end - first:
                raise ValueError(f"{split}_periods={getattr(config, f'{split}_periods')} exceeds the {end - first} "
                                 f"periods {part} allows; lower it with --set {split}_periods=... "
                                 f"(and {split}_ignore_periods)")
    seed_everything(seed)  # the policy's initial weights come from the run's seed too
    policy = make_policy(config.policy, problem, config.net_arch, config.activation)
    return HDPO(InventoryHDPOProblem(problem, config.device, config.compile), policy, config, seed, env_id, env_kwargs)
