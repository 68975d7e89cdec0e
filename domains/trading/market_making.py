"""Market-making baselines: the Cartea–Jaimungal–Penalva optimum, Avellaneda–Stoikov, fixed depth 1/κ, random.

Each reads the model's parameters from an unwrapped `MarketMakingEnv` and maps batched or single observations
(time left as a fraction of the horizon, inventory / max_inventory, ...) to bid and ask depths.
"""

from __future__ import annotations

from typing import Any, Callable

import gymnasium as gym
import numpy as np
import scipy.linalg

from appliedrl.agents.base import check_observation_batch
from appliedrl.domains.baselines import RandomPolicy
from appliedrl.envs.trading.market_making import NO_OP


def cjp_omega(arrival_rate: float, fill_decay: float, running_penalty: float, terminal_penalty: float,
              max_inventory: int, time_left: np.ndarray) -> np.ndarray:
    """ω(t) = exp(A (T − t)) z for each time left, [len(time_left), 2Q + 1] over q = −Q..Q (CJP, ch. 10.2)."""
    q = np.arange(-max_inventory, max_inventory + 1, dtype=np.float64)
    off = arrival_rate * np.exp(-1.0)
    a = np.diag(-running_penalty * fill_decay * q**2) + np.diag(np.full(len(q) - 1, off), 1) \
        + np.diag(np.full(len(q) - 1, off), -1)
    z = np.exp(-terminal_penalty * fill_decay * q**2)
    return np.stack([scipy.linalg.expm(a * tau) @ z for tau in np.atleast_1d(time_left)])


def cjp_value(arrival_rate: float, fill_decay: float, running_penalty: float, terminal_penalty: float,
              horizon: float, max_inventory: int, inventory: int = 0) -> float:
    """The optimal value h(0, q) = ln ω_q(0) / κ of the criterion without cash or midprice terms."""
    omega = cjp_omega(arrival_rate, fill_decay, running_penalty, terminal_penalty, max_inventory, np.array([horizon]))
    return float(np.log(omega[0, inventory + max_inventory]) / fill_decay)


def _model_episodes(env: gym.Env, name: str) -> Any:
    """The env's episode state, after checking that the model's quotes apply (model mode, depth actions)."""
    episodes = env.unwrapped._episodes
    if episodes.mode != "model" or episodes.actions != "depths":
        raise ValueError(f"the {name} baseline needs mode='model' and actions='depths'; valid choices for this env: "
                         f"fixed-depth, random")
    return episodes


class CarteaJaimungalPolicy:
    """The optimal depths δ_bid = 1/κ − h(t, q+1) + h(t, q), δ_ask = 1/κ − h(t, q−1) + h(t, q), tabulated on the
    env's decision times from the ODE solution; a side at the inventory bound quotes the largest depth."""

    def __init__(self, env: gym.Env, seed: int = 0) -> None:
        e = _model_episodes(env, "cartea-jaimungal")
        m = e.market
        self.observation_space, self.steps, self.max_inventory = env.observation_space, e.steps, e.max_inventory
        time_left = e.horizon * (1.0 - np.arange(e.steps) / e.steps)
        h = np.log(cjp_omega(m.arrival_rate, m.kappa, e.book.phi, e.book.alpha, e.max_inventory, time_left)) / m.kappa
        self.bid = np.full_like(h, e.max_depth)
        self.ask = np.full_like(h, e.max_depth)
        self.bid[:, :-1] = np.clip(1.0 / m.kappa - h[:, 1:] + h[:, :-1], 0.0, e.max_depth)
        self.ask[:, 1:] = np.clip(1.0 / m.kappa - h[:, :-1] + h[:, 1:], 0.0, e.max_depth)

    def predict(self, obs: Any, mask: Any = None, deterministic: bool = True) -> np.ndarray:
        batch, single = check_observation_batch(obs, self.observation_space.shape)
        t = np.clip(np.rint((1.0 - batch[:, 0]) * self.steps).astype(np.int64), 0, self.steps - 1)
        q = np.rint(batch[:, 1] * self.max_inventory).astype(np.int64) + self.max_inventory
        actions = np.stack([self.bid[t, q], self.ask[t, q]], 1).astype(np.float32)
        return actions[0] if single else actions


class AvellanedaStoikovPolicy:
    """Quotes around the reservation price r = s − qγσ²(T − t) with total spread γσ²(T − t) + (2/γ) ln(1 + γ/κ)."""

    def __init__(self, env: gym.Env, seed: int = 0, risk_aversion: float = 0.1) -> None:
        e = _model_episodes(env, "avellaneda-stoikov")
        self.observation_space, self.max_inventory, self.horizon = env.observation_space, e.max_inventory, e.horizon
        self.kappa, self.sigma, self.gamma, self.max_depth = e.market.kappa, e.market.sigma, risk_aversion, e.max_depth

    def predict(self, obs: Any, mask: Any = None, deterministic: bool = True) -> np.ndarray:
        batch, single = check_observation_batch(obs, self.observation_space.shape)
        time_left = batch[:, 0].astype(np.float64) * self.horizon
        q = batch[:, 1].astype(np.float64) * self.max_inventory
        half = avellaneda_stoikov_spread(self.gamma, self.sigma, self.kappa, time_left) / 2
        skew = q * self.gamma * self.sigma**2 * time_left  # s − r
        actions = np.clip(np.stack([half + skew, half - skew], 1), 0.0, self.max_depth).astype(np.float32)
        return actions[0] if single else actions


def avellaneda_stoikov_spread(gamma: float, sigma: float, kappa: float, time_left: np.ndarray | float) -> Any:
    """Avellaneda–Stoikov's total quoted spread γσ²(T − t) + (2/γ) ln(1 + γ/κ)."""
    return gamma * sigma**2 * time_left + 2.0 / gamma * np.log1p(gamma / kappa)


class FixedDepthPolicy:
    """Both quotes at depth 1/κ, the depth that maximises the expected spread earned per arrival (in replay mode
    half a tick: the best quotes when the spread is one tick). With grid actions: keep the initial quotes, which
    are these."""

    def __init__(self, env: gym.Env, seed: int = 0) -> None:
        self.observation_space, self.grid = env.observation_space, isinstance(env.action_space, gym.spaces.Discrete)
        self.depth = min(env.unwrapped._episodes.market.initial_depth, env.unwrapped._episodes.max_depth)

    def predict(self, obs: Any, mask: Any = None, deterministic: bool = True) -> np.ndarray:
        batch, single = check_observation_batch(obs, self.observation_space.shape)
        if self.grid:
            actions = np.full(len(batch), NO_OP, np.int64)
        else:
            actions = np.full((len(batch), 2), self.depth, np.float32)
        return actions[0] if single else actions


def baseline_factories() -> dict[str, Callable[[gym.Env, int], Any]]:
    """name -> make(env, seed) for the market-making baselines."""
    return {
        "cartea-jaimungal": CarteaJaimungalPolicy,
        "avellaneda-stoikov": AvellanedaStoikovPolicy,
        "fixed-depth": FixedDepthPolicy,
        "random": lambda env, seed: RandomPolicy(env.observation_space, env.action_space, seed),
    }
