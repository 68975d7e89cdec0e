"""Double DQN (van Hasselt et al. 2016): the online network picks the next action, the target network values it.

Optional dueling head (Q = V + A − mean A), n-step returns and prioritized replay; Huber loss; linear epsilon
schedule; hard or Polyak target updates. Action masks are respected both when acting and in the target's argmax.
Hyperparameter names and defaults follow Stable-Baselines3's DQN; one difference: with `tau` < 1 the Polyak
update follows every gradient step (as in CleanRL's and most Rainbow code), not every `target_update_interval`.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from torch import nn
from torch.nn import functional as F

from appliedrl.agents.base import Agent
from appliedrl.agents.buffers import ReplayBuffer
from appliedrl.agents.config import AgentConfig, ConfigError, _check, check_network
from appliedrl.agents.networks import MASKED_LOGIT, flat_dim, flatten_parameters, mlp
from appliedrl.agents.normalize import ObservationNormalizer
from appliedrl.agents.vec_env import action_mask_from_info


@dataclasses.dataclass
class DQNConfig(AgentConfig):
    learning_rate: float = 1e-4
    anneal_lr: bool = False  # linear decay to 0 over the run (steadies the final policy)
    buffer_size: int = 1_000_000
    learning_starts: int = 100  # env steps before the first update
    batch_size: int = 32
    tau: float = 1.0  # 1 = hard target copy every target_update_interval steps; < 1 = Polyak every update
    gamma: float = 0.99
    train_freq: int = 4  # vector-env steps between updates
    gradient_steps: int = 1  # updates per train_freq; -1 = one per env step collected
    target_update_interval: int = 10_000  # env steps
    exploration_fraction: float = 0.1
    exploration_initial_eps: float = 1.0
    exploration_final_eps: float = 0.05
    max_grad_norm: float = 10.0  # 0 = no clipping
    double_q: bool = True  # False: vanilla DQN target (max of the target network)
    dueling: bool = False
    n_step: int = 1
    prioritized: bool = False
    prioritized_alpha: float = 0.6
    prioritized_beta0: float = 0.4  # annealed linearly to 1 over the run
    normalize_obs: bool = False
    net_arch: list[int] = dataclasses.field(default_factory=lambda: [64, 64])
    activation: str = "relu"

    def validate(self) -> None:
        super().validate()
        _check(self.buffer_size >= self.batch_size >= 1, "need buffer_size >= batch_size >= 1")
        _check(0 < self.tau <= 1, "tau must be in (0, 1]")
        _check(self.train_freq >= 1 and self.target_update_interval >= 1, "train_freq and target_update_interval must be >= 1")
        _check(self.gradient_steps >= 1 or self.gradient_steps == -1, "gradient_steps must be >= 1 or -1")
        _check(self.n_step >= 1, "n_step must be >= 1")
        _check(0 <= self.exploration_fraction <= 1, "exploration_fraction must be in [0, 1]")
        _check(0 <= self.exploration_final_eps <= 1 and 0 <= self.exploration_initial_eps <= 1,
               "exploration_initial_eps and exploration_final_eps must be in [0, 1]")
        _check(0 <= self.gamma <= 1, "gamma must be in [0, 1]")
        _check(self.learning_rate > 0 and self.max_grad_norm >= 0, "learning_rate must be > 0, max_grad_norm >= 0")
        _check(0 <= self.prioritized_alpha and 0 <= self.prioritized_beta0 <= 1,
               "prioritized_alpha must be >= 0 and prioritized_beta0 in [0, 1]")
        check_network(self.net_arch, self.activation)
        _check(not self.dueling or len(self.net_arch) >= 1, "dueling needs at least one hidden layer in net_arch")
        _check(not (self.dueling and self.network), "dueling builds its head on the MLP; a network gives the Q-values")


class QNetwork(nn.Module):
    """MLP Q-values, with an optional dueling head."""

    def __init__(self, obs_dim: int, n_actions: int, config: DQNConfig) -> None:
        super().__init__()
        if config.dueling:
            self.body = mlp(obs_dim, config.net_arch[:-1], config.net_arch[-1], config.activation, 2**0.5)
            self.value = nn.Linear(config.net_arch[-1], 1)
            self.advantage = nn.Linear(config.net_arch[-1], n_actions)
        else:
            self.q = mlp(obs_dim, config.net_arch, n_actions, config.activation)
        self.dueling = config.dueling

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if not self.dueling:
            return self.q(obs)
        hidden = F.relu(self.body(obs))
        advantage = self.advantage(hidden)
        return self.value(hidden) + advantage - advantage.mean(-1, keepdim=True)


def masked(q: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    return q if mask is None else torch.where(mask, q, torch.as_tensor(MASKED_LOGIT, dtype=q.dtype))


class DQN(Agent):
    """Double DQN for Discrete actions (dueling head, n-step returns, prioritized replay optional; maskable)."""

    name = "dqn"
    Config = DQNConfig
    schedule_keys = ("learning_starts", "target_update_interval")
    supported_actions = (spaces.Discrete,)

    def build(self) -> None:
        cfg = self.config
        obs_dim, n_actions = flat_dim(self.observation_space), int(self.action_space.n)
        q_net = QNetwork(obs_dim, n_actions, cfg) if cfg.network is None else self.make_network(n_actions)
        self.q_net = q_net.to(self.device)
        self.q_target = copy.deepcopy(self.q_net).requires_grad_(False)
        self.flat_params = flatten_parameters(self.q_net)
        self.optimizer = torch.optim.Adam([self.flat_params], lr=cfg.learning_rate, fused=True)
        if cfg.normalize_obs:
            self.obs_normalizer = ObservationNormalizer((flat_dim(self.observation_space),))
        self.replay = ReplayBuffer(cfg.buffer_size, cfg.n_envs, (obs_dim,), self.mask_dim, cfg.gamma, cfg.n_step,
                                   cfg.prioritized, cfg.prioritized_alpha, self.seed)
        self.updates = 0

    def start(self, total: int) -> None:
        super().start(total)
        if total <= self.config.learning_starts:
            raise ConfigError(f"a budget of {total:,} steps ends before learning_starts={self.config.learning_starts:,}: "
                              f"no update would happen; give a larger budget or lower learning_starts")

    def exploration_rate(self) -> float:
        cfg = self.config
        span = cfg.exploration_fraction * max(self.total_timesteps, 1)
        progress = 1.0 if span == 0 else min(1.0, self.num_timesteps / span)
        return cfg.exploration_initial_eps + progress * (cfg.exploration_final_eps - cfg.exploration_initial_eps)

    def _predict(self, obs: torch.Tensor, mask: torch.Tensor | None, deterministic: bool) -> np.ndarray:
        greedy = masked(self.q_net(obs.flatten(1)), mask).argmax(-1).cpu().numpy() + int(self.action_space.start)
        if deterministic:
            return greedy
        explore = self.act_rng.random(len(greedy)) < self.config.exploration_final_eps
        random_actions = self._random_actions(None if mask is None else mask.cpu().numpy(), len(greedy), self.act_rng)
        return np.where(explore, random_actions, greedy)

    def _random_actions(self, mask: np.ndarray | None, n: int, rng: np.random.Generator) -> np.ndarray:
        """Uniform over the legal actions: the argmax of random scores that are zero where illegal."""
        scores = rng.random((n, int(self.action_space.n)))
        if mask is not None:
            scores = scores * mask
        return scores.argmax(-1) + int(self.action_space.start)

    def iterate(self) -> dict[str, float]:
        cfg = self.config
        before = self.num_timesteps
        if cfg.anneal_lr:
            self.anneal_learning_rate(self.optimizer, cfg.learning_rate)
        for _ in range(cfg.train_freq):
            self._step()
        metrics: dict[str, float] = {"train/epsilon": self.exploration_rate()}
        if self.num_timesteps >= cfg.learning_starts:
            steps = cfg.gradient_steps if cfg.gradient_steps > 0 else self.num_timesteps - before
            losses = [self._update() for _ in range(steps)]
            metrics["train/loss"] = float(np.mean(losses))
            metrics["train/n_updates"] = self.updates
        if cfg.tau == 1.0 and self.num_timesteps // cfg.target_update_interval > before // cfg.target_update_interval:
            self.q_target.load_state_dict(self.q_net.state_dict())
        return metrics

    def _reset_envs(self, seed: int) -> np.ndarray:
        self.raw_obs = super()._reset_envs(seed)
        return self.raw_obs

    def _step(self) -> None:
        obs = self.obs.reshape(self.n_envs, -1)
        with torch.no_grad():
            q = masked(self.q_net(torch.as_tensor(obs, device=self.device)),
                       None if self.mask is None else torch.as_tensor(self.mask, device=self.device))
        actions = q.argmax(-1).cpu().numpy()
        explore = self.rng.random(self.n_envs) < self.exploration_rate()
        if explore.any():
            actions = np.where(explore, self._random_actions(self.mask, self.n_envs, self.rng) - int(self.action_space.start), actions)
        step = self.env_step(actions + int(self.action_space.start))
        # the replay holds observations as they came; `_update` normalises them with the current statistics
        raw_obs = np.asarray(self.raw_obs, np.float32).reshape(self.n_envs, -1)
        real_next = np.asarray(step.last_obs(step.done), np.float32).reshape(self.n_envs, -1)
        next_masks = step.last_masks(self.n_envs)
        keep = step.valid
        self.replay.add(raw_obs[keep], actions[keep], step.rewards[keep], real_next[keep], step.terminated[keep],
                        step.truncated[keep], None if next_masks is None else next_masks[keep], np.flatnonzero(keep))
        self.raw_obs = step.obs
        self.obs = self.normalize(step.obs, update=True)
        self.mask = action_mask_from_info(step.info, self.n_envs)

    def _update(self) -> float:
        cfg = self.config
        beta = cfg.prioritized_beta0 + (1 - cfg.prioritized_beta0) * min(1.0, self.num_timesteps / max(self.total_timesteps, 1))
        batch = self.replay.sample(cfg.batch_size, beta)
        if self.obs_normalizer is not None:  # as Stable-Baselines3 does with VecNormalize
            for key in ("obs", "next_obs"):
                batch[key] = torch.as_tensor(self.normalize(batch[key].numpy()))
        batch = {key: value.to(self.device) for key, value in batch.items()}
        target = double_dqn_target(self.q_net, self.q_target, batch, cfg.double_q)
        q = self.q_net(batch["obs"]).gather(1, batch["actions"][:, None]).squeeze(1)
        loss = (batch["weights"] * F.smooth_l1_loss(q, target, reduction="none")).mean()
        grad = self.flat_params.grad
        grad.zero_()
        loss.backward()
        if cfg.max_grad_norm:  # global-norm clipping
            grad.mul_(torch.clamp(cfg.max_grad_norm / (grad.norm() + 1e-6), max=1.0))
        self.optimizer.step()
        if cfg.prioritized:
            self.replay.update_priorities(batch["indices"].cpu().numpy(), (q - target).detach().cpu().numpy())
        if cfg.tau < 1.0:
            with torch.no_grad():
                torch._foreach_lerp_(list(self.q_target.parameters()), list(self.q_net.parameters()), cfg.tau)
        self.updates += 1
        return loss.item()

    def policy_state(self) -> dict[str, Any]:
        return {"q_net": self.q_net.state_dict()}

    def load_policy_state(self, state: dict[str, Any]) -> None:
        self.q_net.load_state_dict(state["q_net"])

    def training_state(self) -> dict[str, Any]:
        return {"q_target": self.q_target.state_dict(), "optimizer": self.optimizer.state_dict(),
                "replay": self.replay.state_dict(), "updates": self.updates, "raw_obs": self.raw_obs}

    def load_training_state(self, state: dict[str, Any]) -> None:
        self.q_target.load_state_dict(state["q_target"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.replay.load_state_dict(state["replay"])
        self.updates, self.raw_obs = state["updates"], state["raw_obs"]


@torch.no_grad()
def double_dqn_target(q_net: nn.Module, q_target: nn.Module, batch: dict[str, torch.Tensor],
                      double_q: bool = True) -> torch.Tensor:
    """y = r + γ^k (1 − done) Q_target(s′, argmax_a Q_online(s′, a)), the argmax over legal actions of s′."""
    mask = batch.get("next_masks")
    target_q = masked(q_target(batch["next_obs"]), mask)
    if double_q:
        best = masked(q_net(batch["next_obs"]), mask).argmax(-1, keepdim=True)
        next_value = target_q.gather(1, best).squeeze(1)
    else:
        next_value = target_q.max(-1).values
    return batch["rewards"] + batch["discounts"] * (1 - batch["dones"]) * next_value
