import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

import appliedrl  # noqa: F401
from appliedrl.envs.inventory import make_problem
from appliedrl.envs.inventory.problem import split_bounds


@pytest.fixture
def counting_series(tmp_path):
    """A weekly demand file whose demand in period k is k, so window values tell which periods they cover."""
    path = tmp_path / "sales.csv"
    dates = [f"{d.date()}" for d in pd.date_range("2020-01-06", periods=100, freq="W-MON")]
    path.write_text("date,demand\n" + "".join(f"{day},{k}\n" for k, day in enumerate(dates)))
    return path


def test_temporal_split_windows_are_disjoint_train_oldest_test_newest(counting_series):
    bounds = split_bounds(100)
    # periods 0-7 only serve as history; then 60% / 20% / 20% of the 100, oldest first
    assert bounds == {"train": (8, 60), "dev": (60, 80), "test": (80, 100), "all": (8, 100)}
    periods = {}
    for split in ("train", "dev", "test"):
        problem = make_problem("real_data_store", demand_file=str(counting_series), split=split)
        demand, _ = problem.sample_windows(500, 10, seed=0)
        periods[split] = set(demand.flatten().int().tolist())
        first, end = bounds[split]
        assert periods[split] == set(range(first, end))  # every window inside its part, and the part all reached
        assert problem.demand_means == (29.5,)  # the scale comes from the train part (periods 0-59) only
    assert max(periods["train"]) < min(periods["dev"]) <= max(periods["dev"]) < min(periods["test"])
    whole = make_problem("real_data_store", demand_file=str(counting_series)).sample_windows(500, 10, seed=0)[0]
    assert set(whole.flatten().int().tolist()) == set(range(8, 100))  # no split: the whole series after the history


def test_temporal_split_errors_name_the_file_and_the_length_needed(counting_series, tmp_path):
    test_part = make_problem("real_data_store", demand_file=str(counting_series), split="test")
    with pytest.raises(ValueError, match=r"sales.csv: periods=30 is too long for the test part \(20 periods of 100\); "
                                         r"needs a series of at least 148 periods"):
        test_part.sample_windows(4, 30, seed=0)
    short = tmp_path / "short.csv"
    short.write_text("date,demand\n" + "".join(f"2024-01-{day:02d},3\n" for day in range(1, 13)))
    with pytest.raises(ValueError, match=r"short.csv: needs at least 15 periods of demand for a train/dev/test split"):
        make_problem("real_data_store", demand_file=str(short), split="train")
    with pytest.raises(ValueError, match="split='future' is invalid; valid choices: train, dev, test"):
        make_problem("real_data_store", split="future")


def test_env_evaluates_on_the_test_part_of_the_series(counting_series):
    """The env's episodes are windows of the test part: the demand history in the first observation (features
    scaled by the train part's mean, 29.5) ends just before a window start in 80..90 (10-period windows of 100)."""
    env = gym.make("appliedrl/Inventory-v0", setting="real_data_store", demand_file=str(counting_series), split="test",
                   periods=10, ignore_periods=2)
    starts = set()
    for seed in range(40):
        obs, _ = env.reset(seed=seed)
        history = np.rint(obs[-10:-2] * 29.5).astype(int)  # the last HISTORY + 2 entries: history, then the week
        start = int(history[-1]) + 1
        assert history.tolist() == list(range(start - 8, start)) and 80 <= start <= 90, history
        starts.add(start)
    assert len(starts) > 5
    for _ in range(10):
        *_, truncated, info = env.step(env.action_space.sample())
    assert truncated and info["episode_metrics"]["average_cost"] > 0
    bundled = gym.make("appliedrl/Inventory-v0", setting="real_data_store", split="test", periods=20, ignore_periods=5)
    bundled.reset(seed=0)
    for _ in range(20):
        *_, truncated, info = bundled.step(bundled.action_space.sample())
    assert truncated and info["episode_metrics"]["average_cost"] > 0
