"""HDPO learning-rate schedules: validation, plateau decay, cosine annealing."""

import pytest

from appliedrl.agents.config import ConfigError, make_config
from appliedrl.agents.hdpo import HDPO, HDPOConfig
from appliedrl.domains.inventory.hdpo_problem import InventoryHDPOProblem
from appliedrl.domains.inventory.policies import make_policy
from appliedrl.envs.inventory import make_problem

TINY = dict(batch_size=64, train_scenarios=128, train_periods=10, train_ignore_periods=2, dev_scenarios=64,
            dev_periods=10, dev_ignore_periods=2, test_scenarios=16, test_periods=10, test_ignore_periods=2,
            tensorboard=False)


def _agent(**overrides) -> HDPO:
    problem = make_problem("one_store_backlogged", lead_time=1)  # closed-form optimum: no DP at test
    config = make_config(HDPOConfig, TINY | overrides)
    return HDPO(InventoryHDPOProblem(problem), make_policy("base_stock", problem), config, seed=0)


@pytest.mark.parametrize("key,value,message", [
    ("lr_schedule", "step", "lr_schedule must be one of: constant, plateau, cosine"),
    ("lr_decay", 1.5, "lr_decay must be in"),
    ("lr_patience", 0, "lr_patience must be >= 1"),
    ("min_learning_rate", 0.0, "min_learning_rate must be > 0"),
])
def test_bad_schedule_values_are_rejected(key, value, message):
    with pytest.raises(ConfigError, match=message):
        make_config(HDPOConfig, {key: value})
    with pytest.raises(ConfigError, match="min_learning_rate must be <= learning_rate"):
        make_config(HDPOConfig, {"lr_schedule": "cosine", "learning_rate": 1e-4, "min_learning_rate": 1e-3})


def _logged_learning_rates(run_dir):
    """The learning rate of each epoch's row (the final evaluation adds a row of its own, without one)."""
    import csv

    with open(run_dir / "metrics.csv") as file:
        return [float(row["train/learning_rate"]) for row in csv.DictReader(file) if row["train/learning_rate"]]


def test_plateau_decays_after_patience_and_stops_at_the_floor():
    agent = _agent(learning_rate=0.1, lr_schedule="plateau", lr_patience=20, lr_decay=0.5, min_learning_rate=0.03)
    agent.epoch, agent.best_epoch = 19, 0
    agent._schedule_learning_rate()
    assert agent.optimizer.param_groups[0]["lr"] == 0.1  # not yet
    agent.epoch = 20
    agent._schedule_learning_rate()
    assert agent.optimizer.param_groups[0]["lr"] == pytest.approx(0.05)
    agent.epoch = 30
    agent._schedule_learning_rate()  # patience restarts at the decay
    assert agent.optimizer.param_groups[0]["lr"] == pytest.approx(0.05)
    agent.epoch, agent.best_epoch = 40, 35
    agent._schedule_learning_rate()  # and at a better dev cost: 40 - 35 < 20
    assert agent.optimizer.param_groups[0]["lr"] == pytest.approx(0.05)
    agent.epoch = 55
    agent._schedule_learning_rate()  # 0.025 is below the floor
    assert agent.optimizer.param_groups[0]["lr"] == pytest.approx(0.03)


def test_plateau_during_training_follows_the_dev_costs(tmp_path):
    """Dev costs by epoch 5, 4, 4, 4, 3, 3, 3, 3 with lr_patience 2: no better cost at epochs 3-4 (best at 2)
    decays after epoch 4; the better cost at 5 restarts the count, so the next decay is after epoch 7, down to the
    floor. Each epoch's row logs the rate as the epoch ended, before the dev evaluation after it decides a decay."""
    agent = _agent(learning_rate=0.1, lr_schedule="plateau", lr_patience=2, lr_decay=0.5, min_learning_rate=0.03,
                   eval_freq=1)
    dev_costs = {1: 5.0, 2: 4.0, 3: 4.0, 4: 4.0, 5: 3.0, 6: 3.0, 7: 3.0, 8: 3.0}
    agent._evaluate = lambda scenarios, ignore, test=False: 0.0 if test else dev_costs[agent.epoch]
    summary = agent.learn(8, run_dir=tmp_path, progress_bar=False)
    assert _logged_learning_rates(tmp_path) == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.03])
    assert agent.optimizer.param_groups[0]["lr"] == pytest.approx(0.03)
    assert agent.best_epoch == 5 and summary["best_at"] == 5 and summary["best_score"] == 3.0


def test_cosine_anneals_to_the_minimum_at_the_budget(tmp_path):
    """After epoch k of 3: 0.01 + 0.09 (1 + cos(pi k / 3)) / 2 = 0.0775, 0.0325, 0.01 (linear would be .07, .04)."""
    agent = _agent(learning_rate=0.1, lr_schedule="cosine", min_learning_rate=0.01, eval_freq=1)
    agent.learn(3, run_dir=tmp_path, progress_bar=False)
    assert agent.optimizer.param_groups[0]["lr"] == pytest.approx(0.01)
    assert _logged_learning_rates(tmp_path) == pytest.approx([0.0775, 0.0325, 0.01])
