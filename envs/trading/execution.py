"""Almgren–Chriss optimal execution with time-varying liquidity: a single env and a native batched vector env.

Sell (or buy) `shares` over `steps` steps of length τ = horizon / steps. Trading n_k shares in step k fills at
S̃_k = S_{k−1} − d(ε + (η_k/τ) n_k) (d = +1 selling, −1 buying; no spread when n_k = 0); then the price moves
S_k = S_{k−1} + σ√τ ξ_k − d γ_k n_k. Impact (η_k, γ_k) = (η, γ) · m_k with a liquidity multiplier m_k: 1
(`constant`), an intraday U-shaped liquidity with a trend (`deterministic`), or a mean-reverting factor times a
two-state Markov regime (`stochastic`); m has mean 1, so (η, γ) are the average impacts. The shocks ξ and the
liquidity path are drawn at reset, independently of the actions: two policies reset with the same seed face the
same prices and liquidity (common random numbers). Every episode lasts exactly `steps` steps and terminates;
what is left before the last step is traded in it.

Observation (float32): [remaining time (N − k)/N, remaining inventory x_k / X, liquidity]. The liquidity entry is
the next step's m_{k+1} with `observe_liquidity=True`; by default it is latent and the entry is what the trader
learns from its own fills: m of its last step with a trade (1 before the first trade).
Action: the fraction of the remaining inventory to trade now; Discrete(`action_levels`) over the grid
(a / (levels − 1))², finer at the small fractions slow schedules use, or with `continuous=True` a Box(0, 1).

Reward with `reward="realized"`, marked to market: r_k = d [n_k (S̃_k − S_{k−1}) + x_k (S_k − S_{k−1})] − λ σ²τ x_k²,
divided by `reward_scale`, the Almgren–Chriss optimum's avoidable cost at the average liquidity, E[IS] + λ Var[IS]
− εX − ½γX², in dollars (so returns are O(1) on any instance). Summed over an episode (x_0 = X, x_N = 0):
Σ_k r_k · reward_scale = −IS − λ σ²τ Σ_k x_k², with the implementation shortfall IS = d (X S_0 − Σ_k n_k S̃_k);
for a static schedule its expectation is −(E[IS] + λ Var[IS]). The default `reward="denoised"` leaves out the
price-noise term d x_k σ√τ ξ_k: the policy sees nothing of ξ and x_k is fixed before ξ_k, so the term has mean
zero whatever the policy does and the expected return is unchanged, but a step's reward is no longer dominated by
noise (σ√τ X is about the whole optimum's cost in the classic case), which Q-learning needs.

At the end `info["episode_metrics"]` holds `implementation_shortfall`, `variance_proxy` (σ²τ Σ x_k²) and
`objective` (IS + λ · variance_proxy), in dollars, whatever the reward. The single env's info also gives each
step's `shares_traded`, `fill_price`, `price` (S_k) and `liquidity` (m_k).
"""

from __future__ import annotations

import dataclasses
import math
from numbers import Integral, Real
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from appliedrl.envs.autoreset import final_info
from appliedrl.envs.render import bar_frame

LIQUIDITY = ("constant", "deterministic", "stochastic")
SIDES = ("sell", "buy")
REWARDS = ("denoised", "realized")


def _number(name: str, value: Any, low: float, low_inclusive: bool = True, high: float = math.inf,
            high_inclusive: bool = False) -> float:
    """`value` as a float, or a ValueError naming it and its valid range."""
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value >= low if low_inclusive else value > low) and (value <= high if high_inclusive else value < high)
    if not ok:
        bounds = f"{'[' if low_inclusive else '('}{low:g}, {high:g}{']' if high_inclusive else ')'}"
        raise ValueError(f"{name}={value!r} is invalid: must be a finite number in {bounds}")
    return float(value)


def _integer(name: str, value: Any, low: int) -> int:
    if not isinstance(value, Integral) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name}={value!r} is invalid: must be an integer >= {low}")
    return int(value)


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name}={value!r} is invalid; valid choices: {', '.join(choices)}")
    return value


@dataclasses.dataclass(frozen=True)
class ExecutionParams:
    """The execution problem; defaults are Almgren & Chriss's classic case (σ = 12% a year on $50, per √day)."""

    shares: float = 1e6
    initial_price: float = 50.0
    volatility: float = 0.12 / math.sqrt(250) * 50
    spread_cost: float = 1 / 16
    temporary_impact: float = 2.5e-6
    permanent_impact: float = 2.5e-7
    risk_aversion: float = 1e-6
    horizon: float = 60.0
    steps: int = 60
    liquidity: str = "constant"
    side: str = "sell"
    liquidity_amplitude: float = 1.0  # deterministic: liquidity at the open and close is 1 + this times midday's
    liquidity_trend: float = -0.5  # deterministic: liquidity changes by the factor (1 + this) / (1 − this) over the day
    liquidity_persistence: float = 0.9  # stochastic: AR(1) coefficient of the log-liquidity factor per step
    liquidity_volatility: float = 0.3  # stochastic: stationary std of the log-liquidity factor
    regime_spread: float = 0.5  # stochastic: the two regimes multiply impact by 1 ∓ this
    regime_switch: float = 0.05  # stochastic: probability per step of switching regime

    def __post_init__(self) -> None:
        _number("shares", self.shares, 0, False)
        _number("initial_price", self.initial_price, 0, False)
        _number("volatility", self.volatility, 0)
        _number("spread_cost", self.spread_cost, 0)
        _number("temporary_impact", self.temporary_impact, 0, False)
        _number("permanent_impact", self.permanent_impact, 0)
        _number("risk_aversion", self.risk_aversion, 0)
        _number("horizon", self.horizon, 0, False)
        _integer("steps", self.steps, 1)
        _choice("liquidity", self.liquidity, LIQUIDITY)
        _choice("side", self.side, SIDES)
        _number("liquidity_amplitude", self.liquidity_amplitude, 0)
        _number("liquidity_trend", self.liquidity_trend, -1, False, 1)
        _number("liquidity_persistence", self.liquidity_persistence, 0, True, 1)
        _number("liquidity_volatility", self.liquidity_volatility, 0)
        _number("regime_spread", self.regime_spread, 0, True, 1)
        _number("regime_switch", self.regime_switch, 0, True, 1, True)
        if self.temporary_impact <= self.permanent_impact * self.tau / 2:
            raise ValueError(f"temporary_impact={self.temporary_impact!r} is invalid: must exceed permanent_impact "
                             f"* tau / 2 = {self.permanent_impact * self.tau / 2:g} (else trading faster is free)")

    @property
    def tau(self) -> float:
        return self.horizon / self.steps

    @property
    def direction(self) -> int:
        return 1 if self.side == "sell" else -1

    def liquidity_profile(self) -> np.ndarray:
        """The expected impact multipliers E[m_k], k = 1..N: the deterministic U-shape and trend, else ones."""
        if self.liquidity != "deterministic":
            return np.ones(self.steps)
        u = 2 * (np.arange(self.steps) + 0.5) / self.steps - 1  # mid-step time, in [−1, 1]
        impact = 1 / ((1 + self.liquidity_amplitude * u**2) * (1 + self.liquidity_trend * u))
        return impact / impact.mean()

    def liquidity_paths(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Impact multipliers m [n, steps] for n episodes."""
        if self.liquidity != "stochastic":
            return np.broadcast_to(self.liquidity_profile(), (n, self.steps)).copy()
        phi, s = self.liquidity_persistence, self.liquidity_volatility
        shocks = rng.standard_normal((n, self.steps))
        factor = np.empty((n, self.steps))
        factor[:, 0] = s * shocks[:, 0]
        for k in range(1, self.steps):
            factor[:, k] = phi * factor[:, k - 1] + s * math.sqrt(1 - phi**2) * shocks[:, k]
        switches = rng.random((n, self.steps)) < self.regime_switch
        switches[:, 0] = rng.random(n) < 0.5  # the symmetric chain's stationary start
        regime = np.cumsum(switches, axis=1) % 2
        return (1 + self.regime_spread * (2 * regime - 1)) * np.exp(factor - s**2 / 2)


def almgren_chriss_holdings(params: ExecutionParams) -> np.ndarray:
    """The AC optimum at the average liquidity: x_j = X sinh(κ(T − t_j)) / sinh(κT), j = 0..N, with
    cosh(κτ) = 1 + λσ²τ²/(2η̃) and η̃ = η − γτ/2 (κ = 0, λ = 0: TWAP)."""
    p = params
    eta_tilde = p.temporary_impact - p.permanent_impact * p.tau / 2
    kappa = math.acosh(1 + p.risk_aversion * p.volatility**2 * p.tau**2 / (2 * eta_tilde)) / p.tau
    remaining = p.horizon - p.tau * np.arange(p.steps + 1)
    if kappa == 0:
        return p.shares * remaining / p.horizon
    # sinh(a) / sinh(b) written with exponentials of a − b ≤ 0, which cannot overflow
    return p.shares * (np.exp(kappa * (remaining - p.horizon)) * -np.expm1(-2 * kappa * remaining)
                       / -np.expm1(-2 * kappa * p.horizon))


def schedule_cost(params: ExecutionParams, holdings: np.ndarray, multipliers: np.ndarray | None = None
                  ) -> tuple[float, float]:
    """(E[IS], Var[IS]) of a static schedule x_0..x_N from its trade list, under impact multipliers m_k
    (default: the expected ones): E = Σ ε|n_k| + (η m_k/τ) n_k² + n_k Σ_{j<k} γ m_j n_j, Var = σ²τ Σ x_k²."""
    p = params
    m = p.liquidity_profile() if multipliers is None else np.asarray(multipliers, float)
    x = np.asarray(holdings, float)
    n = x[:-1] - x[1:]
    permanent_before = np.concatenate([[0.0], np.cumsum(p.permanent_impact * m * n)[:-1]])
    expected = float(np.sum(p.spread_cost * np.abs(n) + p.temporary_impact * m / p.tau * n**2 + n * permanent_before))
    return expected, float(p.volatility**2 * p.tau * np.sum(x[1:] ** 2))


def action_grid(levels: int) -> np.ndarray:
    """The fractions of the remaining inventory the discrete actions trade: (a / (levels − 1))²."""
    return (np.arange(levels) / (levels - 1)) ** 2


class _Executions:
    """The batched episode state shared by the single and the vector env."""

    def __init__(self, params: ExecutionParams, n: int, observe_liquidity: bool, reward: str) -> None:
        self.p, self.n, self.observe_liquidity = params, n, observe_liquidity
        self.denoised = _choice("reward", reward, REWARDS) == "denoised"
        average = dataclasses.replace(params, liquidity="constant")
        expected, variance = schedule_cost(average, almgren_chriss_holdings(average))
        unavoidable = params.spread_cost * params.shares + params.permanent_impact * params.shares**2 / 2
        self.reward_scale = expected - unavoidable + params.risk_aversion * variance

    def reset(self, rng: np.random.Generator, rows: np.ndarray | None = None) -> None:
        p, n = self.p, self.n
        # fresh paths for every row, kept for the reset rows: all episodes end together, so how much of the
        # stream is drawn never depends on the actions (common random numbers in the vector env too)
        shocks, multipliers = rng.standard_normal((n, p.steps)), p.liquidity_paths(n, rng)
        if rows is None:
            self.shocks, self.multipliers = shocks, multipliers
            self.t, self.holdings = np.zeros(n, np.int64), np.full(n, p.shares)
            self.price, self.seen = np.full(n, p.initial_price), np.ones(n)
            self.shortfall, self.variance = np.zeros(n), np.zeros(n)
        else:
            self.shocks[rows], self.multipliers[rows] = shocks[rows], multipliers[rows]
            self.t[rows], self.holdings[rows], self.price[rows] = 0, p.shares, p.initial_price
            self.seen[rows], self.shortfall[rows], self.variance[rows] = 1.0, 0.0, 0.0

    def step(self, fractions: np.ndarray) -> np.ndarray:
        """Trade `fractions` of the remaining inventory (all of it in the last step); rewards in units."""
        p, d, rows = self.p, self.p.direction, np.arange(self.n)
        last = self.t == p.steps - 1
        trade = np.where(last, self.holdings, fractions * self.holdings)
        m, shock = self.multipliers[rows, self.t], self.shocks[rows, self.t]
        fill = self.price - d * (p.spread_cost * (trade > 0) + p.temporary_impact * m / p.tau * trade)
        noise = p.volatility * math.sqrt(p.tau) * shock
        new_price = self.price + noise - d * p.permanent_impact * m * trade
        holdings = np.where(last, 0.0, self.holdings - trade)
        risk = p.volatility**2 * p.tau * holdings**2
        reward = d * (trade * (fill - self.price) + holdings * (new_price - self.price)) - p.risk_aversion * risk
        if self.denoised:
            reward -= d * holdings * noise
        self.shortfall += d * trade * (p.initial_price - fill)
        self.variance += risk
        self.seen = np.where(trade > 0, m, self.seen)
        self.last_step = {"shares_traded": trade, "fill_price": fill, "price": new_price, "liquidity": m}
        self.holdings, self.price, self.t = holdings, new_price, self.t + 1
        return reward / self.reward_scale

    def observation(self) -> np.ndarray:
        p = self.p
        if self.observe_liquidity:
            liquidity = self.multipliers[np.arange(self.n), np.minimum(self.t, p.steps - 1)]
        else:
            liquidity = self.seen
        return np.stack([(p.steps - self.t) / p.steps, self.holdings / p.shares, liquidity], 1).astype(np.float32)

    def metrics(self) -> dict[str, np.ndarray]:
        """Per-episode results in dollars (meaningful at the end of an episode)."""
        return {"implementation_shortfall": self.shortfall.copy(), "variance_proxy": self.variance.copy(),
                "objective": self.shortfall + self.p.risk_aversion * self.variance}


def _spaces(action_levels: int, continuous: bool) -> tuple[spaces.Box, spaces.Space]:
    observation_space = spaces.Box(np.zeros(3, np.float32), np.array([1, 1, np.inf], np.float32), dtype=np.float32)
    if continuous:
        return observation_space, spaces.Box(0.0, 1.0, (1,), np.float32)
    return observation_space, spaces.Discrete(action_levels)


RENDER_MODES = ["ansi", "rgb_array"]


def _check_render_mode(render_mode: str | None, modes: list[str]) -> None:
    if render_mode is not None and render_mode not in modes:
        raise ValueError(f"render_mode={render_mode!r} is invalid; valid choices: {', '.join(['None', *modes])}")


class _ExecutionMixin:
    """Parameters, spaces and the action → fraction mapping shared by both envs."""

    def _setup(self, params: dict[str, Any], observe_liquidity: bool, action_levels: int, continuous: bool,
               reward: str, n: int) -> None:
        self.params = ExecutionParams(**params)
        self.continuous = bool(continuous)
        self.grid = None if continuous else action_grid(_integer("action_levels", action_levels, 2))
        self._episodes = _Executions(self.params, n, bool(observe_liquidity), reward)
        self.reward_scale = self._episodes.reward_scale

    def fractions(self, actions: Any, n: int) -> np.ndarray:
        """Fractions of the remaining inventory for `n` actions; a ValueError names an invalid one."""
        actions = np.asarray(actions)
        if self.continuous:
            fractions = actions.astype(np.float64).reshape(n)
            bad = ~((fractions >= 0) & (fractions <= 1))  # NaN fails both
            if bad.any():
                raise ValueError(f"action {fractions[bad][0]:g} is invalid: the fraction of the remaining inventory "
                                 f"to trade must be in [0, 1] (more than 1 trades more shares than are held)")
            return fractions
        indices = actions.reshape(n)
        if not np.issubdtype(indices.dtype, np.integer) or ((indices < 0) | (indices >= len(self.grid))).any():
            raise ValueError(f"actions {indices.tolist()!r} are invalid: must be integers in 0..{len(self.grid) - 1}")
        return self.grid[indices]

    def action_for(self, fractions: np.ndarray) -> np.ndarray:
        """The actions closest to trading `fractions` [B] of the remaining inventory (for the baselines)."""
        fractions = np.clip(np.asarray(fractions, np.float64), 0.0, 1.0)
        if self.continuous:
            return fractions[:, None].astype(np.float32)
        return np.abs(self.grid[None, :] - fractions[:, None]).argmin(1)


class OptimalExecutionEnv(_ExecutionMixin, gym.Env):
    """One execution episode per reset; keyword arguments are ExecutionParams' fields and the env options."""

    metadata = {"render_modes": RENDER_MODES, "render_fps": 10}

    def __init__(self, observe_liquidity: bool = False, action_levels: int = 31, continuous: bool = False,
                 reward: str = "denoised", render_mode: str | None = None, **params: Any) -> None:
        _check_render_mode(render_mode, RENDER_MODES)
        _check_params(params)
        self.render_mode = render_mode
        self._setup(params, observe_liquidity, action_levels, continuous, reward, 1)
        self.observation_space, self.action_space = _spaces(action_levels, continuous)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._episodes.reset(self.np_random)
        self._holdings = [self.params.shares]
        return self._episodes.observation()[0], {}

    def step(self, action):
        reward = self._episodes.step(self.fractions(action, 1))[0]
        self._holdings.append(float(self._episodes.holdings[0]))
        terminated = bool(self._episodes.t[0] >= self.params.steps)
        info: dict[str, Any] = {key: float(value[0]) for key, value in self._episodes.last_step.items()}
        if terminated:
            info["episode_metrics"] = {key: float(value[0]) for key, value in self._episodes.metrics().items()}
        return self._episodes.observation()[0], float(reward), terminated, False, info

    def render(self) -> str | np.ndarray | None:
        """ansi: the step, holdings, price and shortfall so far; rgb_array: the holdings after each step, as bars."""
        e, shares = self._episodes, self.params.shares
        if self.render_mode == "ansi":
            return (f"t={e.t[0]}/{self.params.steps} holdings={e.holdings[0]:,.0f}/{shares:,.0f} "
                    f"price={e.price[0]:.4f} shortfall={e.shortfall[0]:,.2f}")
        if self.render_mode == "rgb_array":
            return bar_frame([h / shares for h in self._holdings], self.params.steps + 1)
        return None


class OptimalExecutionVectorEnv(_ExecutionMixin, VectorEnv):
    """`num_envs` episodes stepped as one numpy batch; SAME_STEP autoreset (all episodes last `steps` steps)."""

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, num_envs: int, observe_liquidity: bool = False, action_levels: int = 31,
                 continuous: bool = False, reward: str = "denoised", render_mode: str | None = None,
                 **params: Any) -> None:
        _check_render_mode(render_mode, [])
        _check_params(params)
        self.num_envs, self.render_mode = _integer("num_envs", num_envs, 1), render_mode
        self._setup(params, observe_liquidity, action_levels, continuous, reward, num_envs)
        self.single_observation_space, self.single_action_space = _spaces(action_levels, continuous)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._episodes.reset(self.np_random)
        return self._episodes.observation(), {}

    def step(self, actions):
        rewards = self._episodes.step(self.fractions(actions, self.num_envs))
        terminated = self._episodes.t >= self.params.steps
        truncated = np.zeros(self.num_envs, bool)
        info: dict[str, Any] = {}
        if terminated.any():
            info = final_info(self._episodes.observation(), terminated, self._episodes.metrics())
            self._episodes.reset(self.np_random, np.flatnonzero(terminated))
        return self._episodes.observation(), rewards, terminated, truncated, info


def _check_params(params: dict[str, Any]) -> None:
    """Unknown keywords are a TypeError naming the valid ones."""
    valid = [field.name for field in dataclasses.fields(ExecutionParams)]
    unknown = sorted(set(params) - set(valid))
    if unknown:
        options = ["observe_liquidity", "action_levels", "continuous", "reward", "render_mode"]
        raise TypeError(f"unexpected keyword argument {unknown[0]!r} for appliedrl/OptimalExecution-v0; valid: "
                        f"{', '.join(valid + options)}")
