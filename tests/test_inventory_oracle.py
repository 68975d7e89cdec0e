import pytest
import torch

from appliedrl.domains.inventory.baselines import JustInTimeOracle, newsvendor_policy
from appliedrl.envs.inventory import InventorySimulator, InventoryState, make_problem


def one_store(on_hand: float, slots: int) -> InventoryState:
    return InventoryState(torch.tensor([[on_hand]]), torch.zeros(1, 1, slots))


def test_oracle_on_one_lost_sales_store_pays_only_the_shortages_the_start_forces():
    oracle = JustInTimeOracle(make_problem("one_store_lost", lead_time=2, shortage_cost=9, holding_cost=1))
    demand = torch.tensor([[3.0, 4.0, 5.0, 6.0, 2.0]])[..., None]
    # nothing on hand or on the way: periods 0 and 1 lose 3 + 4 units (9 each); from period 2 on, each order
    # lands exactly as demanded
    assert oracle.cost(demand, one_store(0.0, 1)).item() == pytest.approx(9 * 7 / 5)
    assert oracle.cost(demand, one_store(0.0, 1), ignore_periods=2).item() == 0.0
    assert oracle.cost(demand, one_store(0.0, 1), ignore_periods=1).item() == pytest.approx(9 * 4 / 4)


def test_oracle_on_one_backlogged_store_orders_the_backlog_back():
    oracle = JustInTimeOracle(make_problem("one_store_backlogged", lead_time=1, shortage_cost=9, holding_cost=1))
    demand = torch.tensor([[5.0, 3.0, 4.0]])[..., None]
    # period 0: 2 on hand, 3 backlogged (27); it orders 3 + 3 for period 1, then exactly 4 for period 2
    assert oracle.cost(demand, one_store(2.0, 0)).item() == pytest.approx(27 / 3)


@pytest.mark.parametrize("setting", ["serial", "one_warehouse", "transshipment"])
def test_oracle_costs_nothing_once_the_start_state_has_passed_through_the_network(setting):
    problem = make_problem(setting)
    simulator = InventorySimulator(problem)
    demand, start = problem.sample_demand(64, 60, seed=1), simulator.initial_state(64, seed=1)
    oracle = JustInTimeOracle(problem)
    assert oracle.cost(demand, start).mean() > 0.1  # the random start forces some cost
    assert oracle.cost(demand, start, ignore_periods=30).max() < 1e-3


def test_oracle_is_a_lower_reference_for_the_newsvendor_policy():
    problem = make_problem("one_store_lost")
    simulator = InventorySimulator(problem)
    demand, start = problem.sample_demand(256, 80, seed=2), simulator.initial_state(256, seed=2)
    with torch.no_grad():
        heuristic = simulator.rollout(newsvendor_policy(problem), demand, start, ignore_periods=20).mean()
    assert JustInTimeOracle(problem).cost(demand, start, ignore_periods=20).mean() < 0.01 < heuristic


@pytest.mark.parametrize("setting", ["one_warehouse", "transshipment"])
def test_oracle_cost_is_the_simulators_per_store_per_period_average_of_its_orders(setting):
    """Replaying the oracle's orders through InventorySimulator.rollout gives the same cost per scenario: the
    average over the periods after ignore_periods and over the stores (several here)."""
    problem = make_problem(setting)
    simulator = InventorySimulator(problem)
    demand, start = problem.sample_demand(16, 12, seed=3), simulator.initial_state(16, seed=3)
    oracle, recorded = JustInTimeOracle(problem), []
    orders = oracle.orders
    oracle.orders = lambda *args: recorded.append(orders(*args)) or recorded[-1]
    cost = oracle.cost(demand, start, ignore_periods=3)
    replay = iter(recorded)
    with torch.no_grad():
        expected = simulator.rollout(lambda obs: next(replay), demand, start, ignore_periods=3)
    assert problem.n_stores > 1 and len(recorded) == 12 and (cost > 0.1).all()
    torch.testing.assert_close(cost, expected)
