"""Optimal-execution baselines: static schedules (TWAP, Almgren–Chriss, the exact quadratic-program optimum)
followed through the observation, so they run in batches like a learned policy."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from appliedrl.agents.base import check_observation_batch
from appliedrl.envs.trading.execution import ExecutionParams, OptimalExecutionEnv, almgren_chriss_holdings


def twap_holdings(params: ExecutionParams) -> np.ndarray:
    """Sell at a constant rate: x_j = X (1 − j/N)."""
    return params.shares * (1 - np.arange(params.steps + 1) / params.steps)


def qp_holdings(params: ExecutionParams) -> np.ndarray:
    """The exact minimiser of E[IS] + λ Var[IS] under the expected impact multipliers m_k (time-varying for
    `deterministic` liquidity), from one linear solve in the free holdings x_1..x_{N−1}.

    With n = c + M y (c = X e_1, y the free holdings), E[IS] − εX = nᵀHn, H_kk = η m_k/τ, H_jk = γ m_min(j,k)/2,
    and Var = σ²τ yᵀy, so the optimum solves (MᵀHM + λσ²τ I) y = −MᵀHc. It must sell throughout (n_k ≥ 0),
    else the spread term is not εX and the env's action set cannot follow it.
    """
    p, N = params, params.steps
    m = p.liquidity_profile()
    later = np.arange(N)[:, None] > np.arange(N)[None, :]
    permanent = np.where(later, p.permanent_impact * m[None, :], 0.0)  # n_k γ_j n_j for j < k
    H = np.diag(p.temporary_impact * m / p.tau) + (permanent + permanent.T) / 2
    M = np.eye(N, N - 1, -1) - np.eye(N, N - 1)
    c = np.zeros(N)
    c[0] = p.shares
    system = M.T @ H @ M + p.risk_aversion * p.volatility**2 * p.tau * np.eye(N - 1)
    if N > 1 and np.linalg.eigvalsh(system).min() <= 0:
        raise ValueError("the execution quadratic program is not convex for these parameters (impact varies too fast)")
    holdings = np.concatenate([[p.shares], np.linalg.solve(system, -M.T @ H @ c) if N > 1 else [], [0.0]])
    if (np.diff(holdings) > 1e-9 * p.shares).any():
        raise ValueError("the execution quadratic program's optimum buys back shares; the env only trades one way")
    return holdings


class SchedulePolicy:
    """Follows a static holdings schedule x_0..x_N: at step k with inventory q it trades toward x_{k+1}, i.e. the
    fraction 1 − x_{k+1}/q of what is left (the grid point closest to it for discrete actions)."""

    def __init__(self, env: OptimalExecutionEnv, holdings: np.ndarray) -> None:
        self.env, self.holdings = env, np.asarray(holdings, float)
        self.observation_shape = env.observation_space.shape

    def predict(self, obs: Any, mask: Any = None, deterministic: bool = True) -> np.ndarray:
        batch, single = check_observation_batch(obs, self.observation_shape)
        steps = self.env.params.steps
        k = np.clip(np.rint((1 - batch[:, 0].astype(np.float64)) * steps).astype(int), 0, steps - 1)
        inventory = batch[:, 1].astype(np.float64) * self.env.params.shares
        target = self.holdings[k + 1]
        fractions = np.where(inventory > 0, 1 - target / np.maximum(inventory, 1e-300), 1.0)
        actions = self.env.action_for(fractions)
        return actions[0] if single else actions


def _schedule_baseline(holdings: Callable[[ExecutionParams], np.ndarray], doc: str) -> Callable[[Any, int], Any]:
    def make(env: OptimalExecutionEnv, seed: int) -> SchedulePolicy:
        return SchedulePolicy(env, holdings(env.params))

    make.__doc__ = doc
    return make


BASELINES: dict[str, Callable[[Any, int], Any]] = {
    "twap": _schedule_baseline(twap_holdings, "time-weighted: the same number of shares every step"),
    "almgren-chriss": _schedule_baseline(almgren_chriss_holdings,
                                         "Almgren–Chriss closed form at the average liquidity"),
    "qp-optimal": _schedule_baseline(qp_holdings,
                                     "exact mean-variance optimum for the expected (time-varying) impact"),
}
