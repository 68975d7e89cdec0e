"""The comparison's statistics against hand-computed values: IQM, stratified bootstrap intervals, P(X > Y)."""

import math

import numpy as np
import pytest
from scipy import stats

from appliedrl.stats import Estimate, iqm, iqm_estimate, probability_of_improvement


def test_iqm_is_the_mean_of_the_middle_half():
    assert iqm([8, 1, 7, 2, 6, 3, 5, 4]) == 4.5  # drops 1, 2 and 7, 8
    assert iqm([0, 0, 1, 1, 1, 1]) == 0.75  # drops one 0 and one 1
    assert iqm([1, 2, 3]) == 2  # a quarter of 3 runs is no whole run: the mean


def test_the_bootstrap_is_stratified_by_task():
    # each task's runs are constant, so resampling within tasks cannot move the IQM; pooled resampling would
    estimate = iqm_estimate([[0, 0], [1, 1, 1, 1]])
    assert (estimate.value, estimate.low, estimate.high) == (0.75, 0.75, 0.75)


def test_the_interval_holds_the_percentiles_of_the_resampled_iqm():
    # one task of runs 0, 1, 2: the resampled mean is 0 or 2 with probability 1/27 each (> 2.5%), so the 95%
    # percentile interval is [0, 2]; with runs 0, 1, 2, 3, 4, 5, 6, 7 the IQM's interval lies strictly inside
    assert iqm_estimate([[0, 1, 2]]) == Estimate(1.0, 0.0, 2.0)
    wide = iqm_estimate([np.arange(8)])
    assert 0 < wide.low < 3.5 < wide.high < 7


def test_one_run_per_task_gives_no_interval():
    estimate = iqm_estimate([[3.0], [5.0, 7.0]])
    assert estimate.value == 5.0 and math.isnan(estimate.low) and math.isnan(estimate.high)
    assert estimate.format() == "5"


def test_probability_of_improvement_counts_wins_and_half_ties():
    # X = 3, 4 against Y = 1, 2, 3: 3 beats 1 and 2 and ties 3, 4 beats all three -> 5.5 / 6
    assert probability_of_improvement([[3, 4]], [[1, 2, 3]]).value == pytest.approx(5.5 / 6)
    assert stats.mannwhitneyu([3, 4], [1, 2, 3]).statistic / 6 == pytest.approx(5.5 / 6)
    # averaged over tasks: 1 on the first, 0 on the second
    assert probability_of_improvement([[5, 6], [0, 0]], [[1, 2], [1, 1]]).value == 0.5


def test_a_certain_improvement_has_a_degenerate_interval():
    estimate = probability_of_improvement([[5, 6, 7]], [[1, 2]])
    assert (estimate.value, estimate.low, estimate.high) == (1.0, 1.0, 1.0)


def test_same_seed_same_interval_and_bad_input():
    assert iqm_estimate([[1, 5, 2, 8]], seed=3) == iqm_estimate([[1, 5, 2, 8]], seed=3)
    with pytest.raises(ValueError, match="same tasks"):
        probability_of_improvement([[1, 2]], [[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="at least one run"):
        iqm_estimate([[1, 2], []])
