"""Known optimal long-run average costs of single-location inventory problems, to report a learned policy's gap.

Timing (the simulator's): at the start of period t the store sees its on-hand stock I_t, this period's arrival
included, and the outstanding orders q_{t-L+1}, ..., q_{t-1}; it orders q_t, which arrives at the start of period
t+L; demand d_t is served from I_t, and the period costs h (I_t - d_t)^+ + p (d_t - I_t)^+, i.e. holding and
shortage are charged on the stock left at the end of the period. Each order therefore covers L+1 periods of demand.
"""

from __future__ import annotations

from functools import lru_cache, reduce
import math

import numpy as np

# Zipkin (2008), "Old and new methods for lost-sales inventory systems", Poisson(5) demand, h = 1: (L, p) -> cost.
LOST_SALES_TABLE: dict[tuple[int, float], float] = {
    (1, 4.0): 4.04, (2, 4.0): 4.40, (3, 4.0): 4.60, (4, 4.0): 4.73,
    (1, 9.0): 5.44, (2, 9.0): 6.09, (3, 9.0): 6.53, (4, 9.0): 6.84,
    (1, 19.0): 6.68, (2, 19.0): 7.66, (3, 19.0): 8.36, (4, 19.0): 8.89,
    (1, 39.0): 7.84, (2, 39.0): 9.11, (3, 39.0): 10.04, (4, 39.0): 10.79,
}

# Serial system (store lead time L, then 3, 4, 2 upstream; holding 1, 0.5, 0.2, 0.1; Normal(5, 2) demand clipped
# at 0; backlog penalty p at the store): optimal echelon base-stock costs (Clark-Scarf) as published with the
# paper, (L, p) -> cost. Our own Clark-Scarf computation lands 0.01-0.03 above these (0.1-0.3%): gaps against
# them are slightly optimistic.
SERIAL_TABLE: dict[tuple[int, float], float] = {
    (1, 4.0): 6.89, (1, 9.0): 8.36, (1, 19.0): 9.59, (1, 39.0): 10.68,
    (2, 4.0): 7.59, (2, 9.0): 9.25, (2, 19.0): 10.65, (2, 39.0): 11.89,
    (3, 4.0): 8.20, (3, 9.0): 10.02, (3, 19.0): 11.57, (3, 39.0): 12.94,
    (4, 4.0): 8.75, (4, 9.0): 10.72, (4, 19.0): 12.40, (4, 39.0): 13.88,
}

MAX_STATE_ACTIONS = 10_000_000  # keeps one value-iteration sweep within a few hundred MB


class TooLargeForDP(ValueError):
    """The exact dynamic program of this instance has more than MAX_STATE_ACTIONS state-action pairs."""


def _check_positive(**params: float) -> None:
    for name, value in params.items():
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def _check_lead_time(lead_time: int) -> None:
    if isinstance(lead_time, bool) or int(lead_time) != lead_time or lead_time < 1:
        raise ValueError(f"lead_time must be an integer >= 1 (an order arrives L periods later), got {lead_time!r}")


def lost_sales_optimal_cost(demand_mean: float, lead_time: int, shortage_cost: float,
                            holding_cost: float = 1.0) -> float:
    """Optimal long-run average cost per period of the lost-sales system with Poisson demand, by exact DP."""
    return _lost_sales_dp(demand_mean, lead_time, shortage_cost, holding_cost)[0]


def lost_sales_optimal_policy(demand_mean: float, lead_time: int, shortage_cost: float,
                              holding_cost: float = 1.0) -> np.ndarray:
    """Optimal order quantity (read-only int array) indexed by [on_hand, *outstanding orders, oldest first].

    The table covers every state the optimal policy reaches from a state inside it (e.g. from all zeros)."""
    return _lost_sales_dp(demand_mean, lead_time, shortage_cost, holding_cost)[1]


def _lost_sales_dp(demand_mean: float, lead_time: int, shortage_cost: float,
                   holding_cost: float) -> tuple[float, np.ndarray]:
    _check_positive(demand_mean=demand_mean, shortage_cost=shortage_cost, holding_cost=holding_cost)
    _check_lead_time(lead_time)
    from scipy.stats import poisson  # imported here: scipy.stats is slow to import

    # Bounds: the inventory position after ordering stays at most the optimal backlog base-stock level, the
    # p/(p+h) quantile of L+1 periods of demand (Morton's 1969 bound on the lost-sales optimum), and an order at
    # most the 1 - 1e-4 quantile of one period's demand. Raising either leaves Zipkin's table unchanged.
    max_position = int(poisson.ppf(shortage_cost / (shortage_cost + holding_cost), (lead_time + 1) * demand_mean))
    max_order = min(int(poisson.ppf(1 - 1e-4, demand_mean)), max_position)
    n_state_actions = (max_position + 1) * (max_order + 1) ** lead_time
    if n_state_actions > MAX_STATE_ACTIONS:
        raise TooLargeForDP(f"lead_time={lead_time} with demand_mean={demand_mean} needs {n_state_actions:,} "
                         f"state-action pairs, over the exact DP's limit of {MAX_STATE_ACTIONS:,}")
    return _relative_value_iteration(float(demand_mean), int(lead_time), float(shortage_cost), float(holding_cost),
                                     max_position, max_order)


@lru_cache(maxsize=None)
def _relative_value_iteration(demand_mean: float, lead_time: int, shortage_cost: float, holding_cost: float,
                              max_position: int, max_order: int) -> tuple[float, np.ndarray]:
    """Average cost and optimal policy over states with on-hand <= max_position and orders <= max_order."""
    from scipy.stats import poisson  # imported here: scipy.stats is slow to import
    n, m = max_position + 1, max_order + 1
    on_hand = np.arange(n)
    # leftover[i, z] = P((i - d)^+ = z); demand beyond on-hand is lumped into z = 0, so demand is never truncated.
    leftover = poisson.pmf(on_hand[:, None] - on_hand[None, :], demand_mean)
    leftover[:, 0] = poisson.sf(on_hand - 1, demand_mean)
    expected_leftover = leftover @ on_hand
    period_cost = (holding_cost * expected_leftover
                   + shortage_cost * (demand_mean - on_hand + expected_leftover))

    # arrive[(i, a), y] = P((i - d)^+ + a = y): next on-hand from on-hand i and arriving order a. Only states
    # the optimal policy never reaches can exceed max_position; they are clipped to it.
    arrive = np.zeros((n, m, n))
    for a in range(m):
        arrive[:, a, a:] = leftover[:, :n - a]
        arrive[:, a, -1] += leftover[:, n - a:].sum(1)
    arrive = arrive.reshape(n * m, n)

    # Values are indexed by (on_hand, *pipeline); after ordering q the tuple (on_hand, *pipeline, q) moves to
    # (next on-hand, *pipeline[1:], q), so one matrix product over the first two axes gives E[next value].
    state_shape = (n,) + (m,) * (lead_time - 1)
    position = reduce(np.add.outer, [on_hand] + [np.arange(m)] * lead_time)
    over_bound = np.where(position > max_position, np.inf, 0.0)
    over_bound[..., 0] = 0.0
    period_cost = period_cost.reshape((n,) + (1,) * (lead_time - 1))
    values = np.zeros(state_shape)
    for _ in range(10_000):
        order_values = (arrive @ values.reshape(n, -1)).reshape(state_shape + (m,)) + over_bound
        updated = period_cost + order_values.min(-1)
        change = updated - values
        values = updated - updated.flat[0]
        # The average cost lies between the smallest and largest change (Odoni's bounds).
        low, high = change.min(), change.max()
        if high - low < 1e-7:
            policy = order_values.argmin(-1)
            policy.setflags(write=False)
            return float((low + high) / 2), policy
    raise RuntimeError("relative value iteration did not converge in 10,000 sweeps")


def backlogged_optimal(demand_mean: float, demand_std: float, lead_time: int, shortage_cost: float,
                       holding_cost: float = 1.0) -> tuple[float, float]:
    """Optimal order-up-to level S* and long-run average cost for Normal demand with backlogging (closed form).

    Newsvendor over the L+1 periods of demand an order covers; ignores the clipping of demand at 0, which is
    negligible when demand_mean is several demand_std (e.g. Normal(5, 1.6))."""
    from scipy.stats import norm  # imported here: scipy.stats is slow to import
    _check_positive(demand_mean=demand_mean, demand_std=demand_std, shortage_cost=shortage_cost,
                    holding_cost=holding_cost)
    _check_lead_time(lead_time)
    z = norm.ppf(shortage_cost / (shortage_cost + holding_cost))
    sigma = demand_std * math.sqrt(lead_time + 1)
    order_up_to = (lead_time + 1) * demand_mean + z * sigma
    return float(order_up_to), float((shortage_cost + holding_cost) * sigma * norm.pdf(z))


def pooled_newsvendor_bound(demand_means: list[float], demand_stds: list[float], correlation: float, periods: int,
                            shortage_cost: float, holding_cost: float) -> float:
    """Lower bound on the average cost per period per store of stores fed through a centre: one newsvendor facing
    the pooled Normal demand of all stores over `periods` periods (centre + store lead time + 1), as if stock
    could be moved between stores at no cost and no delay."""
    from scipy.stats import norm  # imported here: scipy.stats is slow to import

    stds = np.asarray(demand_stds, dtype=float)
    pooled_var = (np.sum(stds**2) + correlation * (np.sum(stds) ** 2 - np.sum(stds**2))) * periods
    z = norm.ppf(shortage_cost / (shortage_cost + holding_cost))
    return float((shortage_cost + holding_cost) * np.sqrt(pooled_var) * norm.pdf(z) / len(demand_means))

