"""Turn-based games: one learning seat of a PettingZoo AEC game as a Gymnasium env, self-play, seat-rotated matches.

`SingleSeatEnv` plays the learner's seat; the other seats are played by opponents drawn from a pool of policies
(anything with `predict(obs, mask=None, deterministic=True)`) and "self" slots, which play frozen snapshots of the
learner pushed in by the `SelfPlay` trainer callback. Episodes come in deals: a deal draws a game seed and the
opponents once and is played n_seats times, the learner taking seat 0, 1, ... in turn (a duplicate format), so
every evaluation over whole deals is seat-balanced. `evaluate_matches` reports win/draw/loss (or rank) rates with
95% confidence intervals.
"""

from __future__ import annotations

import collections
import dataclasses
import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence

import gymnasium as gym
import numpy as np
from gymnasium.utils import EzPickle
from pettingzoo import AECEnv

from appliedrl.agents.base import Agent
from appliedrl.agents.evaluation import Estimate, Policy, evaluate, t_interval, wilson_interval

SELF = "self"  # an opponent slot played by a frozen snapshot of the learner


def seat_spaces(game: AECEnv) -> tuple[gym.Space, gym.Space]:
    """The observation space (the game's observation["observation"]) and action space every seat shares."""
    seats = game.possible_agents
    observations = [game.observation_space(seat)["observation"] for seat in seats]
    actions = [game.action_space(seat) for seat in seats]
    if any(space != observations[0] for space in observations) or any(space != actions[0] for space in actions):
        raise ValueError("the single-seat view needs every seat of the game to share observation and action spaces")
    return observations[0], actions[0]


class SingleSeatEnv(gym.Env, EzPickle):
    """One learning seat of an AEC game against opponents drawn from a pool.

    `game(render_mode=...)` makes a fresh AEC env whose observations are dicts with "observation" and
    "action_mask". `opponents` lists policies and "self" slots; each deal draws one entry per other seat,
    uniformly. A "self" slot plays a snapshot drawn uniformly from the latest `pool_size` given to
    `add_snapshot`, or uniformly random legal moves until the first one arrives. Opponents sample their moves
    (`deterministic=False`). The reward of a step is the learner's reward since its previous move (AEC
    `_cumulative_rewards` semantics); the last step's info holds `episode_metrics`: win, draw, loss (the learner's
    episode return strictly above, tied with, below the best other seat), for 3+ seats its rank (1 = best; ties
    share the better rank) and rank_1, rank_2... indicators, and the game's own per-seat metrics (its final
    info's "episode_metrics" for the learner's seat, such as a card game's points). Pickling keeps only the
    constructor arguments (as Gymnasium's EzPickle envs do).
    """

    def __init__(self, game: Callable[..., AECEnv], opponents: Sequence[Policy | str], pool_size: int = 5,
                 render_mode: str | None = None) -> None:
        EzPickle.__init__(self, game, opponents, pool_size, render_mode)
        if not opponents:
            raise ValueError("opponents must name at least one policy or 'self'")
        bad = [o for o in opponents if (o != SELF if isinstance(o, str) else not hasattr(o, "predict"))]
        if bad:
            raise ValueError(f"opponents must be policies (with predict) or {SELF!r}; got {bad[0]!r}")
        if pool_size < 1:
            raise ValueError(f"pool_size must be >= 1, got {pool_size}")
        self.game = game(render_mode=render_mode)
        self.state = self.game.unwrapped  # turn, rewards and ends read here: PettingZoo's wrappers are slow to read through
        self.render_mode = render_mode
        self.metadata = {"render_modes": list(self.game.metadata.get("render_modes", [])),
                         "render_fps": self.game.metadata.get("render_fps")}
        self.observation_space, self.action_space = seat_spaces(self.game)
        self.seats = list(self.game.possible_agents)
        self.opponents = list(opponents)
        self.snapshots: collections.deque[Policy] = collections.deque(maxlen=pool_size)
        self.episode_index = 0

    def add_snapshot(self, policy: Policy) -> None:
        """Add a frozen copy of the learner to the "self" slots' pool (the oldest drops out past pool_size)."""
        self.snapshots.append(policy)

    def action_masks(self) -> np.ndarray:
        return self._mask.copy()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """Start the next seat of the current deal, or a new deal; a seed restarts the deals at seat 0."""
        super().reset(seed=seed)
        if seed is not None:
            self.episode_index = 0
            for policy in self.opponents:
                if hasattr(policy, "seed_actions"):  # stochastic opponents repeat with the seed
                    policy.seed_actions(seed)
        n = len(self.seats)
        if self.episode_index % n == 0:  # a new deal: its game seed and its n - 1 opponents
            self._deal_seed = int(self.np_random.integers(2**31))
            self._deal_players = [self._draw_player() for _ in range(n - 1)]
        seat = self.episode_index % n
        self.learner = self.seats[seat]
        self.episode_index += 1
        # The opponents keep their order of play after the learner, whichever seat the learner takes.
        self.players = {self.seats[(seat + k) % n]: player for k, player in enumerate(self._deal_players, 1)}
        self._start_game(options)
        while self._learner_done():  # the game ended before the learner's first move: this seat gets a new deal
            self._deal_seed = int(self.np_random.integers(2**31))
            self._start_game(options)
        obs, _, _ = self._observe()
        return obs, {"action_mask": self._mask.copy()}

    def _start_game(self, options: dict[str, Any] | None) -> None:
        self.game.reset(seed=self._deal_seed, options=options)
        self.returns = dict.fromkeys(self.seats, 0.0)
        self._pending = 0.0
        self._play_opponents()  # rewards of moves before the learner's first one come with its first step

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.game.step(action)
        self._collect_rewards()
        self._play_opponents()
        obs, terminated, truncated = self._observe()
        reward, self._pending = float(self._pending), 0.0
        info: dict[str, Any] = {"action_mask": self._mask.copy()}
        if terminated or truncated:
            info["episode_metrics"] = self._outcome()
        if self.render_mode == "human":
            self.render()
        return obs, reward, terminated, truncated, info

    def render(self) -> Any:
        return self.game.render()

    def close(self) -> None:
        self.game.close()

    def _play_opponents(self) -> None:
        """Let the other seats move until it is the learner's turn or the learner's episode is over."""
        game, state = self.game, self.state
        while not self._learner_done() and state.agent_selection != self.learner:
            seat = state.agent_selection
            if state.terminations[seat] or state.truncations[seat]:
                game.step(None)  # AEC: a finished seat steps out with None
            else:
                game.step(self._opponent_move(seat, game.observe(seat)))
            self._collect_rewards()

    def _opponent_move(self, seat: str, observation: dict[str, np.ndarray]) -> Any:
        mask = np.asarray(observation["action_mask"], dtype=bool)
        player = self.players[seat]
        if isinstance(player, str):  # a "self" slot before the first snapshot: a uniformly random legal move
            return int(self.np_random.choice(np.flatnonzero(mask)))
        return player.predict(observation["observation"], mask=mask, deterministic=False)

    def _draw_player(self) -> Policy | str:
        """A uniform draw from the pool; a "self" slot becomes a uniform draw from the snapshots (if any)."""
        entry = self.opponents[int(self.np_random.integers(len(self.opponents)))]
        if isinstance(entry, str) and self.snapshots:
            return self.snapshots[int(self.np_random.integers(len(self.snapshots)))]
        return entry

    def _collect_rewards(self) -> None:
        """Add the last game step's rewards to every seat's episode return and to the learner's pending reward."""
        for seat, reward in self.state.rewards.items():
            self.returns[seat] += reward
        self._pending += self.state.rewards.get(self.learner, 0.0)

    def _learner_done(self) -> bool:
        return self.state.terminations.get(self.learner, True) or self.state.truncations.get(self.learner, True)

    def _observe(self) -> tuple[np.ndarray, bool, bool]:
        """The learner's observation (its mask kept in self._mask), terminated, truncated."""
        observation = self.game.observe(self.learner)
        self._mask = np.asarray(observation["action_mask"], dtype=bool)
        terminated = bool(self.state.terminations.get(self.learner, True))
        truncated = bool(self.state.truncations.get(self.learner, True)) and not terminated
        return np.asarray(observation["observation"]), terminated, truncated

    def _outcome(self) -> dict[str, float]:
        mine = self.returns[self.learner]
        best_other = max(r for seat, r in self.returns.items() if seat != self.learner)
        outcome = {"win": float(mine > best_other), "draw": float(mine == best_other), "loss": float(mine < best_other)}
        if len(self.seats) > 2:
            rank = 1 + sum(r > mine for r in self.returns.values())
            outcome["rank"] = float(rank)
            outcome.update({f"rank_{k}": float(rank == k) for k in range(1, len(self.seats) + 1)})
        game_metrics = self.state.infos.get(self.learner, {}).get("episode_metrics", {})
        outcome.update({key: float(value) for key, value in game_metrics.items()})
        return outcome


def freeze(agent: Agent) -> Agent:
    """An inference-only copy of the agent's current policy: exactly what `save` then `load` gives."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "snapshot.pt"
        agent.save(path)
        return type(agent).load(path)


class SelfPlay:
    """Trainer callback: every `every` iterations, freeze the learner and add it to each sub-env's "self" pool.

    The envs must be `SingleSeatEnv`s (directly or through gym.make's wrappers) in a sync or async vector env.
    Iterations are counted from the callback's creation (a resumed run starts counting again).
    """

    def __init__(self, every: int) -> None:
        if every < 1:
            raise ValueError(f"SelfPlay needs every >= 1, got {every}")
        self.every = every
        self.iterations = 0

    def __call__(self, agent: Agent, metrics: dict[str, float]) -> None:
        self.iterations += 1
        if self.iterations % self.every == 0:
            agent.envs.call("add_snapshot", freeze(agent))


@dataclasses.dataclass(frozen=True)
class MatchResult:
    """Seat-rotated match statistics of one policy: rates of win/draw/loss (and rank_1.. for 3+ seats) with
    Wilson score intervals, the average rank with a Student-t interval (3+ seats), over `episodes` games."""

    episodes: int
    seats: int
    rates: dict[str, Estimate]
    average_rank: Estimate | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"episodes": self.episodes, "seats": self.seats}
        named = dict(self.rates, **({"average_rank": self.average_rank} if self.average_rank else {}))
        for name, estimate in named.items():
            out[name], out[f"{name}_ci95_low"], out[f"{name}_ci95_high"] = estimate.value, estimate.low, estimate.high
        return out


def deal_parallelism(deals: int, max_parallel: int = 32) -> int:
    """The most parallel envs (at most max_parallel) that each play a whole number of the deals."""
    return max(d for d in range(1, min(deals, max_parallel) + 1) if deals % d == 0)


def evaluate_matches(policy: Policy, opponents: Sequence[Policy | str], game: str, deals: int = 500,
                     seed: int = 0, deterministic: bool = True, max_parallel: int = 32,
                     **env_kwargs: Any) -> MatchResult:
    """Play `deals` deals of the registered single-seat game `game`, each once from every seat (deals x seats
    games), with `policy` against `opponents` (as SingleSeatEnv's pool); return its outcome rates with 95% CIs.

    Runs through `evaluate` with whole deals on each parallel env, so every deal is played from all seats.
    """
    if deals < 1:
        raise ValueError(f"deals must be >= 1, got {deals}")
    env_kwargs = dict(env_kwargs, opponents=list(opponents))
    probe = gym.make(game, **env_kwargs)
    seats = len(probe.unwrapped.seats)
    probe.close()
    parallel = deal_parallelism(deals, max_parallel)
    result = evaluate(policy, game, deals * seats, seed, env_kwargs, deterministic, parallel)
    outcomes = result.metric_values
    episodes = len(result.returns)
    rates = {name: wilson_interval(int(outcomes[name].sum()), episodes) for name in ("win", "draw", "loss")}
    if seats == 2:
        return MatchResult(episodes, seats, rates)
    ranks = outcomes["rank"]
    rates.update({f"rank_{k}": wilson_interval(int((ranks == k).sum()), episodes) for k in range(1, seats + 1)})
    return MatchResult(episodes, seats, rates, t_interval(ranks))
