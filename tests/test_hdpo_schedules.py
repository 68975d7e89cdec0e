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
    agent.epoch = 40
    agent._schedule_learning_rate()
    assert agent.optimizer.param_groups[0]["lr"] == pytest.approx(0.03)


def test_cosine_anneals_to_the_minimum_at_max_epochs(tmp_path):
    agent = _agent(learning_rate=0.1, lr_schedule="cosine", min_learning_rate=0.01, max_epochs=4, eval_every=2)
    agent.learn(tmp_path, progress_bar=False)
    assert agent.optimizer.param_groups[0]["lr"] == pytest.approx(0.01)
    logged = (tmp_path / "metrics.csv").read_text()
    assert "train/learning_rate" in logged
