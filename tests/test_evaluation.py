"""Evaluation summaries are plain Python numbers (printable, JSON-ready) and agree with the episode arrays."""

import json

import gymnasium as gym
import numpy as np

import appliedrl  # noqa: F401
from appliedrl.agents.evaluation import EvalResult, MultiAgentEvalResult, evaluate
from appliedrl.domains import make_baseline


def _assert_plain(value) -> None:
    if isinstance(value, dict):
        for item in value.values():
            _assert_plain(item)
    else:
        assert type(value) in (float, int), f"{value!r} is a {type(value).__name__}"


def test_eval_result_to_dict_holds_plain_numbers_matching_the_episodes():
    env_kwargs = {"periods": 12, "ignore_periods": 2}
    policy = make_baseline("random", gym.make("appliedrl/Inventory-v0", **env_kwargs), seed=0)
    result = evaluate(policy, "appliedrl/Inventory-v0", episodes=5, seed=3, env_kwargs=env_kwargs)
    summary = result.to_dict()
    _assert_plain(summary)
    assert "np." not in repr(summary)
    json.dumps(summary)
    assert summary["mean_return"] == float(np.mean(result.returns))
    assert summary["episodes"] == 5 and summary["mean_length"] == 12.0
    assert summary["ci95_low"] < summary["mean_return"] < summary["ci95_high"]
    assert summary["average_cost"] == result.metrics["average_cost"]


def test_numpy_inputs_come_out_plain():
    returns = np.array([1.0, 2.0, 4.0])
    result = EvalResult(returns, np.array([3, 3, 3]), {"success_rate": np.float64(0.5)})
    assert result.to_dict()["success_rate"] == 0.5
    _assert_plain(result.to_dict())
    multi = MultiAgentEvalResult(returns, np.array([3, 3, 3]), {},
                                 agent_returns=np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 5.0]]))
    summary = multi.to_dict(["a", "b"])
    _assert_plain(summary)
    assert summary["agent_mean_returns"] == {"a": 2.0, "b": 8.0 / 3}
