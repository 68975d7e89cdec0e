"""Market making as a Gymnasium env: quote a bid and an ask around the midprice, earn the spread, carry inventory.

Model mode (default) is the Cartea–Jaimungal–Penalva model: the midprice follows a Brownian motion (or OU, GBM,
Brownian with jumps); market buy and sell orders arrive as Poisson processes at rate `arrival_rate`; each one
fills a quote at depth δ with probability exp(−κδ), one unit per fill. Replay mode replays a LOBSTER limit-order
book (see lobster.py) with a queue-position fill model.

Action: bid and ask depths, Box(0, max_depth, (2,)); with `actions="grid"`, Discrete(17) as in Sadighian's DRLMM:
0 keeps the quotes, 1..15 are the (bid level, ask level) pairs of {0, 4, 9, 14}² without (0, 0), 16 flattens the
inventory with a market order (at mid ∓ `flatten_cost` in model mode, at the best opposite quote in replay).
Model-mode level ℓ quotes at depth (ℓ + 1)/(10κ), so level 9 is 1/κ; replay-mode level ℓ is ℓ ticks behind the
best quote.

Inventory bounds: fills that would take |q| past `max_inventory` do not happen, so a side at its bound stops
quoting until the inventory moves back; cash and inventory stay exact.

Rewards (`reward=`): "pnl" (default) is the change of the marked-to-market value minus φ q² Δt each step and
minus α q_T² at the end, so an episode's return is the CJP objective X_T + q_T S_T − α q_T² − φ Σ q² Δt;
"expected_pnl" is "pnl" with the step's value change (spread income plus inventory times the midprice move)
replaced by its expectation over the step's draws, given the state and the quotes (Rao–Blackwell): every
policy's expected return is the same objective, with a fraction of the variance. A replayed book draws nothing
within a step (the record decides the fills), so in replay mode it equals "pnl";
"trade_completion" is the realised profit of each closing fill relative to `completion_target`, clipped to ±1;
"dsr" is Moody's differential Sharpe ratio (η = 0.01) of the per-step value changes; "asymmetric" is the value
change with gains from inventory damped by half (Spooner et al.'s asymmetrically dampened PnL). Whatever the
reward, `info["episode_metrics"]` at the end holds the objective, the PnL, the final inventory and the fills. The
single env's info also gives each step's quotes, `bid_depth` and `ask_depth` (after clipping to `max_depth`; with
grid actions the quotes kept or set), and `quoting_inventory`, the inventory held while they were posted (after a
flatten).

The randomness of a step (midprice move, arrival counts, one uniform per arrival for the fill draw) is drawn
before the quotes are read and its amount does not depend on them, so two policies run with the same seed face
the same market (common random numbers).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from appliedrl.envs.autoreset import final_info
from appliedrl.envs.render import bar_frame

MODES = ("model", "replay")
MIDPRICES = ("brownian", "ou", "gbm", "jumps")
REWARDS = ("pnl", "expected_pnl", "trade_completion", "dsr", "asymmetric")
ACTIONS = ("depths", "grid")
GRID_LEVELS = (0, 4, 9, 14)
GRID_PAIRS = [(b, a) for b in GRID_LEVELS for a in GRID_LEVELS if (b, a) != (0, 0)]
NO_OP, FLATTEN = 0, len(GRID_PAIRS) + 1
DSR_RATE = 0.01
ASYMMETRIC_DAMPING = 0.5
TAIL_NEGLIGIBLE = 1e-15  # Poisson tail probabilities below this add nothing a float64 sum can hold


def _number(name: str, value: Any, low: float, strict: bool = False) -> float:
    """`value` as a finite float >= low (> low when strict), or a one-line ValueError naming it."""
    ok = isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and np.isfinite(value)
    if not ok or value < low or (strict and value == low):
        raise ValueError(f"{name}={value!r} is invalid: must be a finite number {'>' if strict else '>='} {low}")
    return float(value)


def _choice(name: str, value: Any, valid: tuple[str, ...]) -> str:
    if value not in valid:
        raise ValueError(f"{name}={value!r} is invalid; valid choices: {', '.join(valid)}")
    return value


def expected_fills(mean: np.ndarray, size: np.ndarray) -> np.ndarray:
    """E[min(N, size)] for N ~ Poisson(mean), elementwise: the expected units filled on a side offering `size`."""
    expected, pmf = np.zeros_like(mean), np.exp(-mean)
    cdf = pmf.copy()
    for k in range(int(size.max(initial=0))):
        tail = np.maximum(1.0 - cdf, 0.0)  # P(N > k)
        expected += np.where(k < size, tail, 0.0)
        if tail.max() < TAIL_NEGLIGIBLE:
            break
        pmf = pmf * mean / (k + 1)
        cdf += pmf
    return expected


class ModelMarket:
    """The batched CJP market: midprice paths, Poisson market orders and exponential fill probabilities."""

    def __init__(self, n: int, arrival_rate: float, fill_decay: float, volatility: float, horizon: float,
                 steps: int, midprice: str, initial_price: float, mean_reversion: float, jump_rate: float,
                 jump_size: float, flatten_cost: float) -> None:
        self.n, self.steps, self.dt = n, steps, horizon / steps
        self.arrival_rate, self.kappa, self.sigma = arrival_rate, fill_decay, volatility
        self.midprice, self.initial_price = midprice, initial_price
        self.mean_reversion, self.jump_rate, self.jump_size = mean_reversion, jump_rate, jump_size
        self.flatten_cost = flatten_cost
        self.mid = np.full(n, initial_price)
        self.initial_depth = 1.0 / fill_decay
        self.n_features = 1 if midprice == "ou" else 0  # the other models' optimal quotes do not depend on S

    def reset(self, rng: np.random.Generator, rows: np.ndarray) -> None:
        self.mid[rows] = self.initial_price

    def grid_depth(self, level: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return (level + 1) / (10 * self.kappa)

    def flatten_prices(self) -> tuple[np.ndarray, np.ndarray]:
        """Prices a market sell and a market buy execute at."""
        return self.mid - self.flatten_cost, self.mid + self.flatten_cost

    def quote_prices(self, bid_depth: np.ndarray, ask_depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.mid - bid_depth, self.mid + ask_depth

    def expected_step(self, bid_depth: np.ndarray, ask_depth: np.ndarray, bid_size: np.ndarray,
                      ask_size: np.ndarray, inventory: np.ndarray) -> np.ndarray:
        """The next step's expected change of the marked-to-market value, given the quotes and the state: the
        spread income of the expected fills plus the expected inventory times the midprice's drift."""
        mean_orders = self.arrival_rate * self.dt
        bought = expected_fills(mean_orders * np.exp(-self.kappa * bid_depth), bid_size)
        sold = expected_fills(mean_orders * np.exp(-self.kappa * ask_depth), ask_size)
        if self.midprice != "ou":  # Brownian, GBM and symmetric jumps are martingales
            return bought * bid_depth + sold * ask_depth
        drift = self.mean_reversion * (self.initial_price - self.mid) * self.dt
        return bought * bid_depth + sold * ask_depth + (inventory + bought - sold) * drift

    def step(self, bid_depth: np.ndarray, ask_depth: np.ndarray, bid_size: np.ndarray, ask_size: np.ndarray,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Units filled on each side (at most the sizes offered) during one step; then the midprice moves."""
        shocks = rng.standard_normal(self.n)
        arrivals = rng.poisson(self.arrival_rate * self.dt, (self.n, 2))  # sell orders hit bids, buys lift asks
        draws = rng.random(int(arrivals.sum()))
        jumps = rng.poisson(self.jump_rate * self.dt, self.n) if self.midprice == "jumps" else None
        jump_signs = rng.choice([-1.0, 1.0], self.n) if jumps is not None else None
        owner = np.repeat(np.arange(2 * self.n), arrivals.ravel())
        fill_probability = np.exp(-self.kappa * np.stack([bid_depth, ask_depth], 1)).ravel()
        fills = np.bincount(owner, draws < fill_probability[owner], 2 * self.n).reshape(self.n, 2)
        self._move(shocks, jumps, jump_signs)
        return np.minimum(fills[:, 0], bid_size), np.minimum(fills[:, 1], ask_size)

    def _move(self, shocks: np.ndarray, jumps: np.ndarray | None, jump_signs: np.ndarray | None) -> None:
        diffusion = self.sigma * np.sqrt(self.dt) * shocks
        if self.midprice == "gbm":  # volatility is relative here
            self.mid *= np.exp(diffusion - 0.5 * self.sigma**2 * self.dt)
        elif self.midprice == "ou":
            self.mid += self.mean_reversion * (self.initial_price - self.mid) * self.dt + diffusion
        else:
            self.mid += diffusion
            if jumps is not None:
                self.mid += self.jump_size * jumps * jump_signs

    def features(self, book: "Book") -> np.ndarray:
        """OU: the midprice's deviation from its mean in units of σ√T (the state its optimal quotes need)."""
        if not self.n_features:
            return np.zeros((self.n, 0))
        return ((self.mid - self.initial_price) / max(self.sigma * np.sqrt(self.dt * self.steps), 1e-12))[:, None]


class Book:
    """Batched accounts: cash, inventory, average entry price, penalties and the reward of each kind."""

    def __init__(self, n: int, reward: str, running_penalty: float, terminal_penalty: float, dt: float,
                 unit: float, completion_target: float) -> None:
        self.n, self.reward, self.phi, self.alpha, self.dt = n, reward, running_penalty, terminal_penalty, dt
        self.unit, self.completion_target = unit, completion_target  # unit: shares per inventory unit
        self.cash, self.q, self.entry = np.zeros(n), np.zeros(n), np.zeros(n)
        self.penalty, self.fills, self.value = np.zeros(n), np.zeros(n), np.zeros(n)
        self.dsr_a, self.dsr_b = np.zeros(n), np.zeros(n)

    def reset(self, rows: np.ndarray) -> None:
        for array in (self.cash, self.q, self.entry, self.penalty, self.fills, self.value, self.dsr_a, self.dsr_b):
            array[rows] = 0.0

    def trade(self, quantity: np.ndarray, price: np.ndarray) -> np.ndarray:
        """Buy `quantity` units (negative: sell) at `price`; returns the realised profit of the closed part (only
        trade completion needs it, and the average entry price behind it)."""
        realised = np.zeros(self.n)
        if self.reward == "trade_completion":
            closing = np.where(self.q * quantity < 0, np.minimum(np.abs(quantity), np.abs(self.q)), 0.0)
            realised = closing * (price - self.entry) * np.sign(self.q) * self.unit
            opened, kept = np.abs(quantity) - closing, np.abs(self.q) - closing  # a reversal keeps nothing
            total = kept + opened
            self.entry = np.where(total > 0, (self.entry * kept + price * opened) / np.where(total > 0, total, 1.0),
                                  0.0)
        self.cash -= quantity * price * self.unit
        self.q += quantity
        self.fills += np.abs(quantity)
        return realised

    def settle(self, mid: np.ndarray, q_before: np.ndarray, mid_before: np.ndarray, realised: np.ndarray,
               last: np.ndarray) -> np.ndarray:
        """Apply the step's penalties and return its reward."""
        value = self.cash + self.q * mid * self.unit
        change = value - self.value
        self.value = value
        running = self.phi * self.q**2 * self.dt
        terminal = np.where(last, self.alpha * self.q**2, 0.0)
        self.penalty += running + terminal
        if self.reward in ("pnl", "expected_pnl"):
            return change - running - terminal
        if self.reward == "trade_completion":
            return np.clip(realised / self.completion_target, -1.0, 1.0)
        if self.reward == "asymmetric":
            speculative = q_before * (mid - mid_before) * self.unit
            return change - ASYMMETRIC_DAMPING * np.maximum(speculative, 0.0)
        return self._differential_sharpe(change)

    def _differential_sharpe(self, r: np.ndarray) -> np.ndarray:
        """Moody & Saffell's differential Sharpe ratio with moving moments A, B at rate η."""
        da, db = r - self.dsr_a, r**2 - self.dsr_b
        variance = self.dsr_b - self.dsr_a**2
        dsr = np.where(variance > 1e-12, (self.dsr_b * da - 0.5 * self.dsr_a * db) / np.maximum(variance, 1e-12)**1.5,
                       0.0)
        self.dsr_a += DSR_RATE * da
        self.dsr_b += DSR_RATE * db
        return dsr

    def objective(self, i: int) -> float:
        return float(self.value[i] - self.penalty[i])


class _Episodes:
    """The batched episode state shared by the single and the vector env: a market, the accounts, the clock."""

    def __init__(self, n: int, arrival_rate: float = 10.0, fill_decay: float = 1.0, volatility: float = 0.1,
                 running_penalty: float = 0.5, terminal_penalty: float = 0.001, horizon: float | None = None,
                 steps: int = 100, max_inventory: int = 20, mode: str = "model", data: str | None = None,
                 reward: str = "pnl", actions: str = "depths", max_depth: float | None = None,
                 midprice: str = "brownian", initial_price: float = 100.0, mean_reversion: float = 1.0,
                 jump_rate: float = 1.0, jump_size: float = 0.1, flatten_cost: float | None = None,
                 completion_target: float | None = None, lot_size: int = 100) -> None:
        self.mode, self.reward = _choice("mode", mode, MODES), _choice("reward", reward, REWARDS)
        self.actions = _choice("actions", actions, ACTIONS)
        _choice("midprice", midprice, MIDPRICES)
        if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or steps < 1:
            raise ValueError(f"steps={steps!r} is invalid: must be an integer >= 1")
        if not isinstance(max_inventory, (int, np.integer)) or isinstance(max_inventory, bool) or max_inventory < 1:
            raise ValueError(f"max_inventory={max_inventory!r} is invalid: must be an integer >= 1")
        kappa = _number("fill_decay", fill_decay, 0.0, strict=True)
        phi = _number("running_penalty", running_penalty, 0.0)
        alpha = _number("terminal_penalty", terminal_penalty, 0.0)
        self.n, self.steps, self.max_inventory = n, int(steps), int(max_inventory)
        if mode == "model":
            horizon = _number("horizon", 1.0 if horizon is None else horizon, 0.0, strict=True)
            self.market = ModelMarket(
                n, _number("arrival_rate", arrival_rate, 0.0), kappa, _number("volatility", volatility, 0.0),
                horizon, self.steps, midprice, _number("initial_price", initial_price, 0.0, strict=True),
                _number("mean_reversion", mean_reversion, 0.0), _number("jump_rate", jump_rate, 0.0),
                _number("jump_size", jump_size, 0.0), _number("flatten_cost", flatten_cost, 0.0)
                if flatten_cost is not None else 0.5 / kappa)
            unit, default_target = 1.0, 1.0 / kappa
        else:
            from appliedrl.envs.trading.lobster import ReplayMarket

            horizon = _number("horizon", 100.0 if horizon is None else horizon, 0.0, strict=True)
            self.market = ReplayMarket(n, data, horizon, self.steps, _number("lot_size", lot_size, 0.0, strict=True))
            unit, default_target = float(lot_size), self.market.tick * lot_size
        self.horizon = horizon
        self.max_depth = (_number("max_depth", max_depth, 0.0, strict=True) if max_depth is not None
                          else 5.0 / kappa if mode == "model" else self.market.max_depth)
        target = default_target if completion_target is None else _number("completion_target", completion_target,
                                                                           0.0, strict=True)
        self.book = Book(n, reward, phi, alpha, horizon / self.steps, unit, target)
        self.t = np.zeros(n, np.int64)
        self.depths = np.full((n, 2), self.market.initial_depth)

    @property
    def observation_space(self) -> spaces.Box:
        return spaces.Box(-np.inf, np.inf, (2 + self.market.n_features,), np.float32)

    @property
    def action_space(self) -> spaces.Space:
        if self.actions == "grid":
            return spaces.Discrete(FLATTEN + 1)
        return spaces.Box(0.0, self.max_depth, (2,), np.float32)

    def reset(self, rng: np.random.Generator, rows: np.ndarray | None = None) -> None:
        rows = np.arange(self.n) if rows is None else rows
        self.market.reset(rng, rows)
        self.book.reset(rows)
        self.t[rows] = 0
        self.depths[rows] = self.market.initial_depth

    def observation(self) -> np.ndarray:
        own = np.stack([1.0 - self.t / self.steps, self.book.q / self.max_inventory], 1)
        return np.concatenate([own, self.market.features(self.book)], 1).astype(np.float32)

    def _quotes(self, actions: Any) -> tuple[np.ndarray, np.ndarray]:
        """Depths [n, 2] from the actions, and which envs flatten their inventory first."""
        flatten = np.zeros(self.n, bool)
        if self.actions == "grid":
            actions = np.asarray(actions, np.int64).reshape(self.n)
            if ((actions < 0) | (actions > FLATTEN)).any():
                bad = actions[(actions < 0) | (actions > FLATTEN)][0]
                raise ValueError(f"action {bad} is invalid: must be in 0..{FLATTEN}")
            pairs = (actions >= 1) & (actions < FLATTEN)
            levels = np.array(GRID_PAIRS)[np.clip(actions - 1, 0, len(GRID_PAIRS) - 1)]
            self.depths[pairs] = self.market.grid_depth(levels[pairs], np.flatnonzero(pairs))
            flatten = actions == FLATTEN
            return self.depths.copy(), flatten
        depths = np.asarray(actions, np.float64).reshape(self.n, 2)
        if not np.isfinite(depths).all() or (depths < 0).any():
            bad = depths[~np.isfinite(depths) | (depths < 0)][0]
            raise ValueError(f"quote depth {bad} is invalid: depths must be finite and >= 0")
        return np.minimum(depths, self.max_depth), flatten

    def step(self, actions: Any, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Advance every env one step; returns the rewards and which episodes ended."""
        depths, flatten = self._quotes(actions)
        book, market = self.book, self.market
        realised = np.zeros(self.n)
        if flatten.any():
            sell_price, buy_price = market.flatten_prices()
            quantity = np.where(flatten, -book.q, 0.0)
            realised += book.trade(quantity, np.where(quantity > 0, buy_price, sell_price))
        q_before, mid_before = book.q.copy(), market.mid.copy()
        self.quotes = {"bid_depth": depths[:, 0], "ask_depth": depths[:, 1], "quoting_inventory": q_before}
        bid_price, ask_price = market.quote_prices(depths[:, 0], depths[:, 1])
        sizes = self.max_inventory - book.q, self.max_inventory + book.q
        averaged = self.reward == "expected_pnl" and self.mode == "model"
        if averaged:
            expected_change = market.expected_step(depths[:, 0], depths[:, 1], *sizes, book.q)
        bought, sold = market.step(depths[:, 0], depths[:, 1], *sizes, rng)
        realised += book.trade(bought, bid_price)
        realised += book.trade(-sold, ask_price)
        self.t += 1
        last = self.t >= self.steps
        rewards = book.settle(market.mid, q_before, mid_before, realised, last)
        if averaged:  # swap the realised value change for its expectation
            rewards += expected_change - (bought * depths[:, 0] + sold * depths[:, 1]
                                          + book.q * (market.mid - mid_before))
        return rewards, last

    def metrics(self, i: int) -> dict[str, float]:
        return {"objective": self.book.objective(i), "pnl": float(self.book.value[i]),
                "final_inventory": float(self.book.q[i]), "fills": float(self.book.fills[i])}


class MarketMakingEnv(gym.Env):
    """One market maker; keyword arguments as the module docstring and `_Episodes` say."""

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 10}

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        if render_mode not in (None, "ansi", "rgb_array"):
            raise ValueError(f"render_mode={render_mode!r} is invalid; valid choices: None, ansi, rgb_array")
        self.render_mode = render_mode
        self._episodes = _Episodes(1, **kwargs)
        self.observation_space, self.action_space = self._episodes.observation_space, self._episodes.action_space

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._episodes.reset(self.np_random)
        self._inventory = [0.0]
        return self._episodes.observation()[0], {}

    def step(self, action):
        rewards, last = self._episodes.step(action, self.np_random)
        self._inventory.append(float(self._episodes.book.q[0]))
        info: dict[str, Any] = {key: float(value[0]) for key, value in self._episodes.quotes.items()}
        if last[0]:
            info["episode_metrics"] = self._episodes.metrics(0)
        return self._episodes.observation()[0], float(rewards[0]), bool(last[0]), False, info

    def render(self) -> str | np.ndarray | None:
        """ansi: the step, midprice and accounts; rgb_array: the inventory after each step (blue long, red short)."""
        e = self._episodes
        if self.render_mode == "rgb_array":
            return bar_frame([q / e.max_inventory for q in self._inventory], e.steps + 1, signed=True)
        if self.render_mode != "ansi":
            return None
        return (f"t={e.t[0]}/{e.steps} mid={e.market.mid[0]:.4f} q={e.book.q[0]:g} cash={e.book.cash[0]:.4f} "
                f"value={e.book.value[0]:.4f}")


class MarketMakingVectorEnv(VectorEnv):
    """`num_envs` market makers stepped as one numpy batch; SAME_STEP autoreset."""

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, num_envs: int, render_mode: str | None = None, **kwargs: Any) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode={render_mode!r} is invalid for the vector env; valid choices: None")
        self.num_envs, self.render_mode = num_envs, render_mode
        self._episodes = _Episodes(num_envs, **kwargs)
        self.single_observation_space = self._episodes.observation_space
        self.single_action_space = self._episodes.action_space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._episodes.reset(self.np_random)
        return self._episodes.observation(), {}

    def step(self, actions):
        rewards, last = self._episodes.step(actions, self.np_random)
        info: dict[str, Any] = {}
        if last.any():
            done = np.flatnonzero(last)
            metrics = {key: np.zeros(self.num_envs) for key in ("objective", "pnl", "final_inventory", "fills")}
            for i in done:
                for key, value in self._episodes.metrics(i).items():
                    metrics[key][i] = value
            info = final_info(self._episodes.observation(), last, metrics)
            self._episodes.reset(self.np_random, done)
        return self._episodes.observation(), rewards, last.copy(), np.zeros(self.num_envs, bool), info
