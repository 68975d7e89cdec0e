"""Heuristic baselines for the particle worlds, acting from observations alone (so they run on mpe2's envs too).

Each has `act(obs [B, agents, max_obs_dim], deterministic) -> actions` in the env's format: move indices for
Discrete spaces, or a one-hot move in the first five entries of a Box action.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from scipy.optimize import linear_sum_assignment

from appliedrl.envs.particles.world import DAMPING, DEFAULT_ACCEL, DT

MOVES = np.array([[0.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [0.0, -1.0], [0.0, 1.0]])


def steer(target: np.ndarray, velocity: np.ndarray, accel: float = DEFAULT_ACCEL, lookahead: int = 2) -> np.ndarray:
    """The move (0-4) per row that brings a point at the origin closest to `target` [n, 2] after `lookahead`
    steps of mpe2's dynamics, the move held throughout (velocity [n, 2] is the current one)."""
    best_distance, best = np.full(len(target), np.inf), np.zeros(len(target), dtype=int)
    for move, direction in enumerate(MOVES):
        pos, vel = np.zeros_like(target), velocity.copy()
        for _ in range(lookahead):
            pos = pos + vel * DT
            vel = vel * (1 - DAMPING) + direction * accel * DT
        pos = pos + vel * DT  # where it is heading at the next step
        distance = np.linalg.norm(target - pos, axis=-1)
        better = distance < best_distance
        best_distance[better], best[better] = distance[better], move
    return best


class _ParticleHeuristic:
    """Shared plumbing: the env's spaces, and moves turned into env actions."""

    def __init__(self, envs: Any, seed: int = 0) -> None:
        self.agents, self.action_spaces = list(envs.agents), envs.action_spaces
        self.continuous = isinstance(next(iter(self.action_spaces.values())), spaces.Box)
        self.width = max(int(s.shape[0]) if isinstance(s, spaces.Box) else 1 for s in self.action_spaces.values())
        self.rng = np.random.default_rng(seed)

    @staticmethod
    def check_layout(envs: Any, expected: list[int], name: str) -> None:
        """The heuristics read the default (fully observed) layout: refuse the neighbour-limited ones."""
        if list(envs.obs_dims) != expected:
            raise ValueError(f"{name} reads the default, fully observed layout, which observations "
                             f"{list(envs.obs_dims)} wide per agent are not: leave num_agent_neighbors and "
                             f"num_landmark_neighbors unset")

    def moves_to_actions(self, moves: np.ndarray) -> torch.Tensor:
        """moves [B, agents] -> the env's action tensor."""
        if not self.continuous:
            return torch.as_tensor(moves, dtype=torch.long)
        actions = np.zeros((*moves.shape, self.width), np.float32)
        np.put_along_axis(actions, moves[..., None], 1.0, axis=-1)
        actions[..., 0] = 0.0  # "no move" is all zeros
        return torch.as_tensor(actions)


class RandomParticlePolicy(_ParticleHeuristic):
    """Uniformly random actions from every agent's space."""

    def act(self, obs: Any, deterministic: bool = True) -> torch.Tensor:
        batch = len(obs)
        if not self.continuous:
            limits = np.array([s.n for s in self.action_spaces.values()])
            return torch.as_tensor((self.rng.random((batch, len(limits))) * limits).astype(np.int64))
        actions = np.zeros((batch, len(self.agents), self.width), np.float32)
        for i, space in enumerate(self.action_spaces.values()):
            actions[:, i, : space.shape[0]] = self.rng.random((batch, space.shape[0]))
        return torch.as_tensor(actions)


class NoOpPolicy(_ParticleHeuristic):
    """Every agent does nothing (move 0, silent)."""

    def act(self, obs: Any, deterministic: bool = True) -> torch.Tensor:
        return self.moves_to_actions(np.zeros((len(obs), len(self.agents)), dtype=int))


class GreedySpread(_ParticleHeuristic):
    """simple_spread: each agent solves the agent-to-landmark assignment (Hungarian method, total distance) from
    its own observation and steers to its landmark with a two-step look-ahead."""

    def __init__(self, envs: Any, seed: int = 0) -> None:
        super().__init__(envs, seed)
        self.n = len(self.agents)
        self.check_layout(envs, [6 * self.n] * self.n, "greedy-spread")  # own 4, landmarks, others, their comm

    def act(self, obs: Any, deterministic: bool = True) -> torch.Tensor:
        obs = np.asarray(torch.as_tensor(obs).double().cpu())
        n = self.n
        moves = np.zeros((len(obs), n), dtype=int)
        for i in range(n):
            o = obs[:, i]
            landmarks = o[:, 4:4 + 2 * n].reshape(-1, n, 2)
            others = o[:, 4 + 2 * n:4 + 2 * n + 2 * (n - 1)].reshape(-1, n - 1, 2)
            agents = np.concatenate([others[:, :i], np.zeros((len(o), 1, 2)), others[:, i:]], 1)  # i's frame
            targets = np.zeros((len(o), 2))
            for b in range(len(o)):
                cost = np.linalg.norm(agents[b][:, None] - landmarks[b][None], axis=-1)
                rows, cols = linear_sum_assignment(cost)
                targets[b] = landmarks[b, cols[list(rows).index(i)]]
            moves[:, i] = steer(targets, o[:, 0:2])
        return self.moves_to_actions(moves)


class ChaseTag(_ParticleHeuristic):
    """simple_tag: predators chase the nearest prey; prey flee the nearest predator and stay inside the arena."""

    def __init__(self, envs: Any, seed: int = 0) -> None:
        super().__init__(envs, seed)
        self.n_adv = sum(a.startswith("adversary") for a in self.agents)
        self.n_good = len(self.agents) - self.n_adv
        # a predator sees: velocity, position, obstacles, the other agents, the prey's velocities
        self.n_obstacles = (envs.obs_dims[0] - 4 - 2 * (len(self.agents) - 1) - 2 * self.n_good) // 2
        seen = 4 + 2 * self.n_obstacles + 2 * (len(self.agents) - 1)  # then the velocities of the prey it sees
        self.check_layout(envs, [seen + 2 * self.n_good] * self.n_adv + [seen + 2 * (self.n_good - 1)] * self.n_good,
                          "chase-tag")

    def act(self, obs: Any, deterministic: bool = True) -> torch.Tensor:
        obs = np.asarray(torch.as_tensor(obs).double().cpu())
        n = self.n_good + self.n_adv
        moves = np.zeros((len(obs), n), dtype=int)
        start = 4 + 2 * self.n_obstacles
        for i in range(n):
            o = obs[:, i]
            others = o[:, start:start + 2 * (n - 1)].reshape(-1, n - 1, 2)
            other_ids = [j for j in range(n) if j != i]
            prey = others[:, [k for k, j in enumerate(other_ids) if j >= self.n_adv]]
            predators = others[:, [k for k, j in enumerate(other_ids) if j < self.n_adv]]
            if i < self.n_adv:
                nearest = prey[np.arange(len(o)), np.linalg.norm(prey, axis=-1).argmin(-1)]
                moves[:, i] = steer(nearest, o[:, 0:2], accel=3.0)
            else:
                moves[:, i] = self._flee(o[:, 2:4], o[:, 0:2], predators)
        return self.moves_to_actions(moves)

    @staticmethod
    def _flee(position: np.ndarray, velocity: np.ndarray, predators: np.ndarray) -> np.ndarray:
        """The move maximising the distance to the nearest predator after one step, minus a wall penalty."""
        scores = []
        for direction in MOVES:
            step = velocity * DT
            future = velocity * (1 - DAMPING) + direction * 4.0 * DT
            offset = step + future * DT
            distance = np.linalg.norm(predators - offset[:, None], axis=-1).min(-1)
            outside = np.clip(np.abs(position + offset) - 0.8, 0, None).sum(-1)
            scores.append(distance - 10 * outside)
        return np.argmax(np.stack(scores, -1), -1)


class CoverAdversary(_ParticleHeuristic):
    """simple_adversary: the good agents split over all landmarks (so the goal is covered but not revealed);
    the adversary heads for the nearest landmark."""

    def __init__(self, envs: Any, seed: int = 0) -> None:
        super().__init__(envs, seed)
        self.N = len(self.agents) - 1
        self.check_layout(envs, [4 * self.N] + [2 + 4 * self.N] * self.N, "cover-adversary")

    def act(self, obs: Any, deterministic: bool = True) -> torch.Tensor:
        obs = np.asarray(torch.as_tensor(obs).double().cpu())
        N, zero_vel = self.N, np.zeros((len(obs), 2))
        moves = np.zeros((len(obs), N + 1), dtype=int)
        landmarks = obs[:, 0, : 2 * N].reshape(-1, N, 2)
        moves[:, 0] = steer(landmarks[np.arange(len(obs)), np.linalg.norm(landmarks, axis=-1).argmin(-1)], zero_vel)
        for i in range(1, N + 1):
            o = obs[:, i]
            landmarks = o[:, 2:2 + 2 * N].reshape(-1, N, 2)
            others = o[:, 2 + 2 * N:2 + 2 * N + 2 * N].reshape(-1, N, 2)  # adversary first, then other good agents
            good = np.concatenate([others[:, 1:i], np.zeros((len(o), 1, 2)), others[:, i:]], 1)
            targets = np.zeros((len(o), 2))
            for b in range(len(o)):
                rows, cols = linear_sum_assignment(np.linalg.norm(good[b][:, None] - landmarks[b][None], axis=-1))
                targets[b] = landmarks[b, cols[list(rows).index(i - 1)]]
            moves[:, i] = steer(targets, zero_vel, lookahead=1)
        return self.moves_to_actions(moves)
