"""Statistics of a comparison, after Agarwal et al. (2021), "Deep RL at the Edge of the Statistical Precipice".

The interquartile mean (IQM) of runs, and the probability that one method's run beats another's (the Mann-Whitney
U statistic over n·m), each with a 95% stratified percentile-bootstrap interval: scipy's `bootstrap` resamples
each task's (setting's) runs independently, which is the stratification. Scores are "higher is better": negate
a cost before calling.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

IQM_TRIM = 0.25  # the IQM drops the lowest and the highest quarter of the runs
RESAMPLES = 10_000
CONFIDENCE = 0.95


@dataclasses.dataclass(frozen=True)
class Estimate:
    """A point estimate with its bootstrap interval (NaN where a task has fewer than two runs to resample)."""

    value: float
    low: float
    high: float

    def format(self, digits: int = 4) -> str:
        if math.isnan(self.low):
            return f"{self.value:.{digits}g}"
        return f"{self.value:.{digits}g} [{self.low:.{digits}g}, {self.high:.{digits}g}]"


def iqm(scores: ArrayLike) -> float:
    """The interquartile mean: the mean of the middle half of the scores (scipy's trim_mean at 25%)."""
    return float(stats.trim_mean(np.asarray(scores, dtype=float), IQM_TRIM, axis=None))


def iqm_estimate(tasks: Sequence[ArrayLike], seed: int = 0) -> Estimate:
    """The IQM of the runs of all `tasks` (one array of run scores per task) with its stratified bootstrap CI."""
    samples = [np.asarray(task, dtype=float) for task in tasks]

    def statistic(*resampled: np.ndarray, axis: int = -1) -> np.ndarray:
        return stats.trim_mean(np.concatenate(resampled, axis=axis), IQM_TRIM, axis=axis)

    return _bootstrap(samples, statistic, iqm(np.concatenate(samples)), seed)


def probability_of_improvement(x_tasks: Sequence[ArrayLike], y_tasks: Sequence[ArrayLike],
                               seed: int = 0) -> Estimate:
    """P(X > Y): the chance that a run of X scores above a run of Y on the same task (ties count half), averaged
    over tasks, with a stratified bootstrap CI (X's and Y's runs of each task resampled independently)."""
    if len(x_tasks) != len(y_tasks):
        raise ValueError(f"X has {len(x_tasks)} tasks and Y {len(y_tasks)}; they must be scored on the same tasks")
    xs = [np.asarray(task, dtype=float) for task in x_tasks]
    ys = [np.asarray(task, dtype=float) for task in y_tasks]

    def statistic(*resampled: np.ndarray, axis: int = -1) -> np.ndarray:
        pairs = zip(resampled[:len(xs)], resampled[len(xs):])
        return np.mean([stats.mannwhitneyu(x, y, axis=axis).statistic / (x.shape[axis] * y.shape[axis])
                        for x, y in pairs], axis=0)

    point = float(statistic(*xs, *ys))
    return _bootstrap(xs + ys, statistic, point, seed)


def _bootstrap(samples: list[np.ndarray], statistic, point: float, seed: int) -> Estimate:
    if any(len(sample) == 0 for sample in samples):
        raise ValueError("every task needs at least one run")
    if any(len(sample) < 2 for sample in samples):
        return Estimate(point, math.nan, math.nan)
    result = stats.bootstrap(tuple(samples), statistic, n_resamples=RESAMPLES, confidence_level=CONFIDENCE,
                             method="percentile", paired=False, vectorized=True, rng=np.random.default_rng(seed))
    low, high = result.confidence_interval
    return Estimate(point, float(low), float(high))
