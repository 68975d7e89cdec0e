import numpy as np
import pytest

from appliedrl.domains.inventory import optima
from appliedrl.domains.inventory.optima import (LOST_SALES_TABLE, backlogged_optimal, lost_sales_optimal_cost,
                                                lost_sales_optimal_policy)


@pytest.mark.parametrize("lead_time, shortage_cost", sorted(LOST_SALES_TABLE))
def test_lost_sales_dp_reproduces_zipkin_table(lead_time, shortage_cost):
    # The published values are rounded to two decimals.
    expected = LOST_SALES_TABLE[lead_time, shortage_cost]
    assert lost_sales_optimal_cost(5.0, lead_time, shortage_cost) == pytest.approx(expected, abs=0.005)


@pytest.mark.parametrize("lead_time, shortage_cost", [(1, 39.0), (2, 4.0), (2, 39.0)])
def test_lost_sales_truncation_bounds_do_not_change_the_cost(lead_time, shortage_cost):
    wide, _ = optima._relative_value_iteration(5.0, lead_time, shortage_cost, 1.0, max_position=40, max_order=25)
    assert lost_sales_optimal_cost(5.0, lead_time, shortage_cost) == pytest.approx(wide, abs=1e-6)


def test_lost_sales_results_are_cached():
    lost_sales_optimal_cost(5.0, 2, 19.0)
    hits = optima._relative_value_iteration.cache_info().hits
    lost_sales_optimal_policy(5.0, 2, 19.0)
    assert optima._relative_value_iteration.cache_info().hits == hits + 1


def test_lost_sales_optimal_policy_simulated_forward_attains_the_dp_cost():
    mean, lead_time, shortage_cost, holding_cost = 5.0, 2, 9.0, 1.0
    policy = lost_sales_optimal_policy(mean, lead_time, shortage_cost, holding_cost)
    rng = np.random.default_rng(0)
    n_chains, warmup, periods = 500, 50, 2000
    on_hand = np.zeros(n_chains, dtype=int)
    pipeline = np.zeros((n_chains, lead_time - 1), dtype=int)  # outstanding orders, oldest first
    total_cost = np.zeros(n_chains)
    for t in range(warmup + periods):
        order = policy[(on_hand, *pipeline.T)]
        demand = rng.poisson(mean, n_chains)
        if t >= warmup:
            total_cost += holding_cost * np.maximum(on_hand - demand, 0) + shortage_cost * np.maximum(demand - on_hand, 0)
        pipeline = np.column_stack([pipeline, order])
        on_hand = np.maximum(on_hand - demand, 0) + pipeline[:, 0]
        pipeline = pipeline[:, 1:]
    chain_means = total_cost / periods
    std_error = chain_means.std(ddof=1) / np.sqrt(n_chains)
    assert std_error < 0.02
    assert abs(chain_means.mean() - lost_sales_optimal_cost(mean, lead_time, shortage_cost)) < 4 * std_error


def test_backlogged_closed_form():
    order_up_to, cost = backlogged_optimal(5.0, 1.6, 4, 9.0)
    assert cost == pytest.approx(6.279, abs=5e-4)
    assert order_up_to == pytest.approx(25 + 1.2816 * 1.6 * np.sqrt(5), abs=1e-3)
    assert backlogged_optimal(5.0, 1.6, 20, 39.0)[1] == pytest.approx(17.14, abs=5e-3)


@pytest.mark.parametrize("call, name", [
    (lambda: lost_sales_optimal_cost(-1.0, 1, 4.0), "demand_mean"),
    (lambda: lost_sales_optimal_cost(float("nan"), 1, 4.0), "demand_mean"),
    (lambda: lost_sales_optimal_cost(5.0, 0, 4.0), "lead_time"),
    (lambda: lost_sales_optimal_cost(5.0, 1.5, 4.0), "lead_time"),
    (lambda: lost_sales_optimal_cost(5.0, 8, 4.0), "lead_time"),
    (lambda: lost_sales_optimal_cost(5.0, 1, 0.0), "shortage_cost"),
    (lambda: lost_sales_optimal_policy(5.0, 1, 4.0, holding_cost=-1.0), "holding_cost"),
    (lambda: backlogged_optimal(5.0, 0.0, 4, 9.0), "demand_std"),
    (lambda: backlogged_optimal(5.0, 1.6, 0, 9.0), "lead_time"),
    (lambda: backlogged_optimal(5.0, 1.6, 4, float("inf")), "shortage_cost"),
])
def test_invalid_parameters_raise_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_pooled_bound_is_the_newsvendor_cost_of_the_pooled_demand_per_store():
    from scipy import stats

    from appliedrl.domains.inventory.hdpo_problem import InventoryHDPOProblem
    from appliedrl.envs.inventory import make_problem

    # one store: the backlogged optimum of an order covering the same periods (lead time + 1)
    assert optima.pooled_newsvendor_bound([5.0], [1.6], 0.5, 5, 9.0, 1.0) == pytest.approx(
        backlogged_optimal(5.0, 1.6, 4, 9.0)[1], rel=1e-12)
    # transshipment: the stores' demand pooled over centre lead time 3 + store lead time 2 + 1 = 6 periods, its
    # variance the sum of the covariance matrix (correlation 0.5 off the diagonal), shared among the 3 stores
    problem = make_problem("transshipment")
    assert problem.lead_times == (2, 2, 2, 3) and problem.demand_correlation == 0.5
    stds = np.array(problem.demand_stds)
    covariance = np.outer(stds, stds) * np.where(np.eye(3, dtype=bool), 1.0, 0.5)
    z = stats.norm.ppf(9 / 10)
    expected = 10 * np.sqrt(6 * covariance.sum()) * stats.norm.pdf(z) / 3
    assert InventoryHDPOProblem(problem).reference_costs()["lower_bound"] == pytest.approx(expected, rel=1e-9)
