"""Gymnasium environments over the batched inventory simulator: a single env and a native vector env.

Observation: on-hand stock of every node, then every node's pipeline of outstanding shipments (slot k arrives
k + 1 periods from now), flat, float32. Action: order quantities per node, Box(0, max_order); with
`order_levels=k`, a grid of k evenly spaced quantities 0..max_order instead (Discrete(k) for one node, for DQN;
MultiDiscrete otherwise). Reward: minus the
period's cost per store. Episodes last `periods` periods and end by truncation (the problem has no terminal
state). At the end of an episode `info["episode_metrics"]["average_cost"]` holds the average cost per period per
store after the first `ignore_periods`, the figure the literature reports. `render_mode="rgb_array"` draws, per
node, its on-hand stock (blue) and its stock on the way (orange) as bars.
"""

from __future__ import annotations

import inspect
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from appliedrl.envs.autoreset import final_info
from appliedrl.envs.inventory.problem import InventoryProblem, is_integer, make_problem
from appliedrl.envs.inventory.simulator import InventorySimulator


ENV_OPTIONS = ("periods", "ignore_periods", "max_order", "order_levels", "problem_seed",
               "render_mode")  # not make_problem's
RENDER_MODES, RENDER_FPS = ["rgb_array"], 4  # frames per second: one period each
FRAME_HEIGHT, BAR_WIDTH = 96, 12  # pixels
BAR_COLOURS = (np.array([31, 119, 180], np.uint8), np.array([255, 127, 14], np.uint8))  # on hand, on the way


def problem_from_env_kwargs(setting: str = "one_store_lost", periods: int = 100, ignore_periods: int = 20,
                            max_order: float | None = None, order_levels: int = 0, problem_seed: int = 0,
                            **params: Any) -> InventoryProblem:
    """The problem the env's keyword arguments describe, after checking the env's own options (their ranges are
    checked where they are used) and that every other keyword is a `make_problem` parameter."""
    valid = [name for name in inspect.signature(make_problem).parameters if name != "seed"]
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise TypeError(f"unexpected keyword argument {unknown[0]!r} for appliedrl/Inventory-v0; valid: "
                         f"{', '.join(valid + list(ENV_OPTIONS))}")
    for name, value in (("periods", periods), ("ignore_periods", ignore_periods), ("order_levels", order_levels),
                        ("problem_seed", problem_seed)):
        if not is_integer(value):
            raise ValueError(f"{name}={value!r} is invalid: must be an integer")
    if problem_seed < 0:
        raise ValueError(f"problem_seed={problem_seed} is invalid: must be >= 0")
    if max_order is not None and (isinstance(max_order, bool) or not isinstance(max_order, (int, float, np.number))
                                  or not np.isfinite(max_order)):
        raise ValueError(f"max_order={max_order!r} is invalid: must be a finite number > 0")
    return make_problem(setting, seed=problem_seed, **params)


def _check_render_mode(render_mode: str | None) -> str | None:
    if render_mode is not None and render_mode not in RENDER_MODES:
        raise ValueError(f"render_mode={render_mode!r} is invalid; valid: None, {', '.join(RENDER_MODES)}")
    return render_mode


def _spaces(problem: InventoryProblem, max_order: float | None, order_levels: int) -> tuple[spaces.Box, spaces.Space, float]:
    if max_order is None:
        max_order = 4.0 * float(sum(problem.demand_means))
    if max_order <= 0:
        raise ValueError(f"max_order={max_order} is invalid: must be > 0")
    if order_levels == 1 or order_levels < 0:
        raise ValueError(f"order_levels={order_levels} is invalid: 0 (continuous orders) or >= 2 grid points")
    obs_dim = problem.n_nodes * max(problem.max_lead_time, 1) + problem.n_features
    observation_space = spaces.Box(-np.inf, np.inf, (obs_dim,), np.float32)
    if order_levels and problem.n_nodes == 1:
        action_space = spaces.Discrete(order_levels)
    elif order_levels:
        action_space = spaces.MultiDiscrete([order_levels] * problem.n_nodes)
    else:
        action_space = spaces.Box(0.0, max_order, (problem.n_nodes,), np.float32)
    return observation_space, action_space, max_order


def _orders(actions: Any, n: int, max_order: float, order_levels: int) -> np.ndarray:
    """Order quantities [n, nodes] from actions: clipped quantities, or grid indices scaled to 0..max_order."""
    actions = np.asarray(actions, np.float32).reshape(n, -1)
    if order_levels:
        return actions * np.float32(max_order / (order_levels - 1))
    return np.clip(actions, 0.0, max_order)


class _Episodes:
    """The batched episode state shared by the single and the vector env."""

    def __init__(self, problem: InventoryProblem, n: int, periods: int, ignore_periods: int) -> None:
        if periods < 1 or not 0 <= ignore_periods < periods:
            raise ValueError(f"need periods >= 1 and 0 <= ignore_periods < periods, got {periods}, {ignore_periods}")
        self.problem, self.n, self.periods, self.ignore = problem, n, periods, ignore_periods
        self.sim = InventorySimulator(problem)

    def reset(self, rng: np.random.Generator, rows: np.ndarray | None = None) -> None:
        fresh = self.sim.initial_state(self.n, int(rng.integers(2**31)))
        windows = self.problem.sample_windows(self.n, self.periods, rng) if self.problem.n_features else None
        if rows is None:
            self.state, self.t, self.costs = fresh, np.zeros(self.n, np.int64), np.zeros(self.n)
            self.windows = windows  # real data: this episode's demand and features, [n, periods, ...]
        else:
            self.state.on_hand[rows] = fresh.on_hand[rows]
            self.state.pipeline[rows] = fresh.pipeline[rows]
            self.t[rows], self.costs[rows] = 0, 0.0
            if windows is not None:
                for current, new in zip(self.windows, windows):
                    current[rows] = new[rows]

    def step(self, orders: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.windows is not None:
            demand = self.windows[0][np.arange(self.n), self.t]
        else:
            demand = self.problem.sample_demand(self.n, 1, rng)[:, 0]
        with torch.no_grad():
            self.state, cost = self.sim.step(self.state, torch.as_tensor(orders, dtype=torch.float32), demand)
        cost = cost.numpy().astype(np.float64) / self.problem.n_stores
        self.costs += np.where(self.t >= self.ignore, cost, 0.0)
        self.t += 1
        return cost

    def observation(self) -> np.ndarray:
        obs = self.state.observation()
        if self.windows is not None:  # an episode's last observation looks at the window's last features
            obs = torch.cat([obs, self.windows[1][np.arange(self.n), np.minimum(self.t, self.periods - 1)]], dim=1)
        return obs.numpy().astype(np.float32)

    def average_cost(self, i: int) -> float:
        return float(self.costs[i] / (self.periods - self.ignore))

    def frame(self, i: int, scale: float) -> np.ndarray:
        """Row i as an RGB image: per node a bar of on-hand stock and one of stock on the way, full height = scale
        (a backlog draws no bar)."""
        levels = zip(self.state.on_hand[i].tolist(), self.state.pipeline[i].sum(-1).tolist())
        image = np.full((FRAME_HEIGHT, BAR_WIDTH * 3 * self.problem.n_nodes, 3), 255, np.uint8)
        for node, bars in enumerate(levels):
            for k, (level, colour) in enumerate(zip(bars, BAR_COLOURS)):
                height = round(FRAME_HEIGHT * min(max(level, 0.0) / scale, 1.0))
                left = BAR_WIDTH * (3 * node + k)
                image[FRAME_HEIGHT - height:, left:left + BAR_WIDTH] = colour
        return image


class InventoryEnv(gym.Env):
    """One inventory network as a Gymnasium env; keyword arguments are those of `make_problem`."""

    metadata = {"render_modes": RENDER_MODES, "render_fps": RENDER_FPS}

    def __init__(self, setting: str = "one_store_lost", periods: int = 100, ignore_periods: int = 20,
                 max_order: float | None = None, order_levels: int = 0, problem_seed: int = 0,
                 render_mode: str | None = None, **params: Any) -> None:
        self.render_mode = _check_render_mode(render_mode)
        self.problem = problem_from_env_kwargs(setting, periods, ignore_periods, max_order, order_levels,
                                               problem_seed, **params)
        self.observation_space, self.action_space, self.max_order = _spaces(self.problem, max_order, order_levels)
        self.order_levels = order_levels
        self._episodes = _Episodes(self.problem, 1, periods, ignore_periods)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._episodes.reset(self.np_random)
        return self._episodes.observation()[0], {}

    def step(self, action):
        cost = self._episodes.step(_orders(action, 1, self.max_order, self.order_levels), self.np_random)[0]
        info: dict[str, Any] = {"cost": cost}
        truncated = bool(self._episodes.t[0] >= self._episodes.periods)
        if truncated:
            info["episode_metrics"] = {"average_cost": self._episodes.average_cost(0)}
        return self._episodes.observation()[0], -cost, False, truncated, info

    def render(self) -> np.ndarray | None:
        return None if self.render_mode is None else self._episodes.frame(0, 2.0 * self.max_order)


class InventoryVectorEnv(VectorEnv):
    """`num_envs` copies stepped as one batch by the simulator; SAME_STEP autoreset."""

    metadata = {"render_modes": RENDER_MODES, "render_fps": RENDER_FPS, "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, num_envs: int, setting: str = "one_store_lost", periods: int = 100, ignore_periods: int = 20,
                 max_order: float | None = None, order_levels: int = 0, problem_seed: int = 0,
                 render_mode: str | None = None, **params: Any) -> None:
        self.render_mode = _check_render_mode(render_mode)
        self.num_envs = num_envs
        self.problem = problem_from_env_kwargs(setting, periods, ignore_periods, max_order, order_levels,
                                               problem_seed, **params)
        self.single_observation_space, self.single_action_space, self.max_order = _spaces(
            self.problem, max_order, order_levels)
        self.order_levels = order_levels
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._episodes = _Episodes(self.problem, num_envs, periods, ignore_periods)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._episodes.reset(self.np_random)
        return self._episodes.observation(), {}

    def step(self, actions):
        cost = self._episodes.step(_orders(actions, self.num_envs, self.max_order, self.order_levels), self.np_random)
        truncated = self._episodes.t >= self._episodes.periods
        terminated = np.zeros(self.num_envs, bool)
        info: dict[str, Any] = {}
        if truncated.any():
            done = np.flatnonzero(truncated)
            costs = np.zeros(self.num_envs)
            costs[done] = [self._episodes.average_cost(i) for i in done]
            info = final_info(self._episodes.observation(), truncated, {"average_cost": costs})
            self._episodes.reset(self.np_random, done)
        return self._episodes.observation(), -cost, terminated, truncated, info

    def render(self) -> tuple[np.ndarray, ...] | None:
        if self.render_mode is None:
            return None
        return tuple(self._episodes.frame(i, 2.0 * self.max_order) for i in range(self.num_envs))
