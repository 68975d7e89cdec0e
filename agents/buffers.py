"""On-policy rollout storage with GAE; an off-policy replay buffer (n-step and prioritized optional); and a
replay of tensors of any shape on the training device (per-agent and continuous actions, for MADDPG).

The first two carry action masks: the rollout buffer the mask each action was taken under, the replay buffer the
mask of the next state, so a Double-DQN target only considers actions that are legal there.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
import torch


def compute_gae(rewards: np.ndarray, values: np.ndarray, dones: np.ndarray, last_values: np.ndarray,
                gamma: float, gae_lambda: float) -> tuple[np.ndarray, np.ndarray]:
    """Advantages and returns, arrays shaped [steps, envs]; dones[t] marks that step t ended its episode.

    A truncated step must already have γ·V(final observation) added to its reward (the collectors do this), so
    treating it as done here stays correct.
    """
    advantages = np.zeros_like(rewards)
    running = np.zeros_like(last_values)
    next_values = last_values
    for t in reversed(range(rewards.shape[0])):
        not_done = 1.0 - dones[t]
        delta = rewards[t] + gamma * next_values * not_done - values[t]
        running = delta + gamma * gae_lambda * not_done * running
        advantages[t] = running
        next_values = values[t]
    return advantages, advantages + values


class RolloutBuffer:
    """Fixed-size [n_steps, n_envs] storage for one PPO/A2C rollout."""

    def __init__(self, n_steps: int, n_envs: int, obs_shape: tuple[int, ...], action_dim: int, mask_dim: int) -> None:
        self.n_steps, self.n_envs = n_steps, n_envs
        self.obs = np.zeros((n_steps, n_envs, *obs_shape), np.float32)
        self.actions = np.zeros((n_steps, n_envs, action_dim), np.float32)
        self.log_probs = np.zeros((n_steps, n_envs), np.float32)
        self.rewards = np.zeros((n_steps, n_envs), np.float32)
        self.values = np.zeros((n_steps, n_envs), np.float32)
        self.dones = np.zeros((n_steps, n_envs), np.float32)
        self.valid = np.ones((n_steps, n_envs), bool)  # False: NEXT_STEP reset rows, which are not transitions
        self.masks = np.ones((n_steps, n_envs, mask_dim), bool) if mask_dim else None
        self.advantages = self.returns = None
        self.step = 0

    def add(self, obs, actions, log_probs, rewards, dones, valid, masks=None) -> None:
        """Store one vector step; an invalid row counts as done so no advantage flows through it."""
        t = self.step
        self.obs[t], self.actions[t], self.log_probs[t] = obs, actions, log_probs
        self.rewards[t], self.dones[t], self.valid[t] = rewards, dones | ~valid, valid
        if self.masks is not None and masks is not None:
            self.masks[t] = masks
        self.step += 1

    @property
    def full(self) -> bool:
        return self.step == self.n_steps

    def finish(self, last_values: np.ndarray, gamma: float, gae_lambda: float) -> None:
        self.advantages, self.returns = compute_gae(self.rewards, self.values, self.dones, last_values,
                                                    gamma, gae_lambda)
        self.step = 0

    def tensors(self, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        """The valid rows of the rollout, flattened to [rows, ...] tensors."""
        valid = self.valid.reshape(-1)
        data = {"obs": self.obs, "actions": self.actions, "log_probs": self.log_probs, "values": self.values,
                "advantages": self.advantages, "returns": self.returns}
        if self.masks is not None:
            data["masks"] = self.masks
        flat = {k: v.reshape(-1, *v.shape[2:]) for k, v in data.items()}
        if not valid.all():
            flat = {k: v[valid] for k, v in flat.items()}
        return {k: torch.as_tensor(v).to(device) for k, v in flat.items()}


class SumTree:
    """Binary tree of priorities over a power-of-two number of leaves; batched update and prefix-sum search."""

    def __init__(self, capacity: int) -> None:
        self.size = 1 << max(1, (capacity - 1).bit_length())
        self.tree = np.zeros(2 * self.size)

    @property
    def total(self) -> float:
        return float(self.tree[1])

    def update(self, indices: np.ndarray, priorities: np.ndarray) -> None:
        if len(indices) == 0:  # e.g. a vector step in which every env was resetting
            return
        nodes = np.asarray(indices) + self.size
        self.tree[nodes] = priorities
        nodes = np.unique(nodes // 2)
        while nodes[0] >= 1:
            self.tree[nodes] = self.tree[2 * nodes] + self.tree[2 * nodes + 1]
            if nodes[0] == 1:
                break
            nodes = np.unique(nodes // 2)

    def find(self, values: np.ndarray) -> np.ndarray:
        """Leaf index whose cumulative-priority interval contains each value."""
        nodes = np.ones(len(values), np.int64)
        values = values.copy()
        while nodes[0] < self.size:
            left = self.tree[2 * nodes]
            go_right = values > left
            values = np.where(go_right, values - left, values)
            nodes = 2 * nodes + go_right
        return nodes - self.size

    def leaves(self, indices: np.ndarray) -> np.ndarray:
        return self.tree[np.asarray(indices) + self.size]


class ReplayBuffer:
    """Circular transition storage for vector envs; `n_step` > 1 stores discounted n-step returns.

    A transition stores `discount` = γ^k for its k-step return and `done` only for termination, so truncated
    episodes bootstrap from their final observation.
    """

    def __init__(self, capacity: int, n_envs: int, obs_shape: tuple[int, ...], mask_dim: int, gamma: float,
                 n_step: int = 1, prioritized: bool = False, alpha: float = 0.6, seed: int = 0) -> None:
        self.capacity, self.n_envs, self.gamma, self.n_step = capacity, n_envs, gamma, n_step
        self.obs = np.zeros((capacity, *obs_shape), np.float32)
        self.next_obs = np.zeros((capacity, *obs_shape), np.float32)
        self.actions = np.zeros(capacity, np.int64)
        self.rewards = np.zeros(capacity, np.float32)
        self.dones = np.zeros(capacity, np.float32)
        self.discounts = np.zeros(capacity, np.float32)
        self.next_masks = np.ones((capacity, mask_dim), bool) if mask_dim else None
        self.pos, self.size = 0, 0
        self.pending = [deque() for _ in range(n_envs)]  # per env: (obs, action, reward) awaiting n rewards
        self.tree = SumTree(capacity) if prioritized else None
        self.alpha, self.max_priority = alpha, 1.0
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.size

    def add(self, obs, actions, rewards, next_obs, terminated, truncated, next_masks=None, env_ids=None) -> None:
        """Add one vector step (rows of envs `env_ids`, default all); `next_obs` holds true final observations."""
        if self.n_step == 1:
            self._store(obs, actions, rewards, next_obs, terminated, np.full(len(rewards), self.gamma), next_masks)
            return
        for row, env in enumerate(range(len(rewards)) if env_ids is None else env_ids):
            queue = self.pending[env]
            queue.append((obs[row], actions[row], rewards[row]))
            ended = terminated[row] or truncated[row]
            mask = None if next_masks is None else next_masks[row : row + 1]
            while queue and (len(queue) == self.n_step or ended):
                ret = sum(r * self.gamma**k for k, (_, _, r) in enumerate(queue))
                first_obs, first_action, _ = queue[0]
                self._store(first_obs[None], np.array([first_action]), np.array([ret]), next_obs[row : row + 1],
                            np.array([terminated[row]]), np.array([self.gamma ** len(queue)]), mask)
                queue.popleft()

    def _store(self, obs, actions, rewards, next_obs, dones, discounts, next_masks) -> None:
        idx = (self.pos + np.arange(len(rewards))) % self.capacity
        self.obs[idx], self.next_obs[idx], self.actions[idx] = obs, next_obs, actions
        self.rewards[idx], self.dones[idx], self.discounts[idx] = rewards, dones, discounts
        if self.next_masks is not None and next_masks is not None:
            self.next_masks[idx] = next_masks
        if self.tree is not None:
            self.tree.update(idx, np.full(len(idx), self.max_priority**self.alpha))
        self.pos = int((self.pos + len(rewards)) % self.capacity)
        self.size = min(self.size + len(rewards), self.capacity)

    def sample(self, batch_size: int, beta: float = 0.4) -> dict[str, torch.Tensor]:
        """A uniform (or prioritized, with importance weights) minibatch as tensors."""
        if self.tree is None:
            idx = self.rng.integers(0, self.size, batch_size)
            weights = np.ones(batch_size, np.float32)
        else:  # stratified: one draw in each of batch_size equal slices of the total priority
            bounds = (np.arange(batch_size) + self.rng.random(batch_size)) * (self.tree.total / batch_size)
            idx = np.minimum(self.tree.find(bounds), self.size - 1)
            probs = self.tree.leaves(idx) / self.tree.total
            weights = (self.size * probs) ** (-beta)
            weights = (weights / weights.max()).astype(np.float32)
        batch = {"obs": self.obs[idx], "actions": self.actions[idx], "rewards": self.rewards[idx],
                 "next_obs": self.next_obs[idx], "dones": self.dones[idx], "discounts": self.discounts[idx],
                 "weights": weights}
        if self.next_masks is not None:
            batch["next_masks"] = self.next_masks[idx]
        out = {k: torch.as_tensor(v) for k, v in batch.items()}
        out["indices"] = torch.as_tensor(idx)
        return out

    def update_priorities(self, indices: np.ndarray, td_errors: np.ndarray, epsilon: float = 1e-6) -> None:
        priorities = np.abs(td_errors) + epsilon
        self.max_priority = max(self.max_priority, float(priorities.max()))
        self.tree.update(indices, priorities**self.alpha)

    def state_dict(self) -> dict:
        return {k: v for k, v in vars(self).items()}

    def load_state_dict(self, state: dict) -> None:
        vars(self).update(state)


class TensorReplayBuffer:
    """A ring buffer of named transition fields, each a tensor of a fixed per-transition shape and dtype, kept on
    the training device (batched worlds add thousands of rows a step; sampling stays on the GPU)."""

    def __init__(self, capacity: int, fields: dict[str, tuple[tuple[int, ...], torch.dtype]],
                 device: torch.device) -> None:
        self.capacity, self.size, self.position = capacity, 0, 0
        self.data = {name: torch.zeros(capacity, *shape, dtype=dtype, device=device)
                     for name, (shape, dtype) in fields.items()}

    def add(self, **rows: torch.Tensor) -> None:
        """Append a batch of rows, one tensor per field, overwriting the oldest when full."""
        count = len(next(iter(rows.values())))
        index = (self.position + torch.arange(count, device=next(iter(self.data.values())).device)) % self.capacity
        for name, value in rows.items():
            self.data[name][index] = value
        self.position = (self.position + count) % self.capacity
        self.size = min(self.size + count, self.capacity)

    def sample(self, batch_size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        index = torch.randint(self.size, (batch_size,), generator=generator, device=generator.device)
        return {name: values[index] for name, values in self.data.items()}

    def state(self) -> dict[str, Any]:
        stored = {name: values[: self.size].clone() for name, values in self.data.items()}
        return {"capacity": self.capacity, "size": self.size, "position": self.position, **stored}

    def load(self, state: dict[str, Any]) -> None:
        """Restore a saved buffer; into one of another capacity (a longer resumed run) in chronological order."""
        order = torch.arange(state["size"])
        if state["capacity"] != self.capacity and state["size"] == state["capacity"]:
            order = (order + state["position"]) % state["size"]  # oldest first
        order = order[-self.capacity:]
        for name, values in self.data.items():
            values[: len(order)] = state[name][order].to(values.device)
        self.size = len(order)
        self.position = state["position"] if state["capacity"] == self.capacity else self.size % self.capacity
