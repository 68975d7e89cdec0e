"""PPO (Schulman et al. 2017) with the details of "The 37 implementation details of PPO", and A2C and REINFORCE
as its one-epoch, unclipped special cases.

Discrete, MultiDiscrete (with action masks) and Box actions. Separate actor and critic MLPs, orthogonal init,
Adam eps 1e-5, linear learning-rate annealing, GAE, shuffled minibatch epochs, per-minibatch advantage
normalisation, clipped surrogate and (optional) clipped value loss, entropy bonus, global gradient clipping,
optional observation normalisation and return-based reward scaling, optional target-KL early stop.
Hyperparameter names and defaults follow Stable-Baselines3.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from appliedrl.agents.base import Agent
from appliedrl.agents.buffers import RolloutBuffer
from appliedrl.agents.config import AgentConfig, _check, check_network
from appliedrl.agents.networks import ActionDistribution, NumpyMLP, flat_dim, flatten_parameters, mlp
from appliedrl.agents.normalize import ObservationNormalizer, RewardScaler
from appliedrl.agents.vec_env import action_mask_from_info

if TYPE_CHECKING:
    from appliedrl.agents.pretrain import Demonstrations

FIT_CHUNK = 4096  # demonstrations per forward pass when fit_demonstrations reports its final fit

@dataclasses.dataclass
class PPOConfig(AgentConfig):
    learning_rate: float = 3e-4
    anneal_lr: bool = True  # linear decay to 0 over the run
    n_steps: int = 2048  # steps per env per rollout
    batch_size: int = 64  # minibatch size; 0 = the whole rollout
    n_epochs: int = 10
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_range: float | None = 0.2  # None: no clipping (A2C)
    clip_range_vf: float | None = None  # None: unclipped value loss
    normalize_advantage: bool = True
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5  # 0 = no clipping
    target_kl: float | None = None  # stop the epochs once approx_kl exceeds 1.5 × target_kl
    normalize_obs: bool = False
    normalize_reward: bool = False
    net_arch: list[int] = dataclasses.field(default_factory=lambda: [64, 64])
    activation: str = "tanh"
    ortho_init: bool = True
    log_std_init: float = 0.0
    optimizer: str = "adam"  # "adam" or "rmsprop" (A2C's)
    # env steps at the start during which only the critic learns: a policy loaded with init_from (or pre-trained)
    # is not moved by advantages from a critic that has not yet learnt this run's returns
    critic_warmup_steps: int = 0
    # pre-training from demonstrations (agents/pretrain.py); train() gets the policy `pretrain_from` names
    pretrain_from: str | None = None  # what is imitated, e.g. "baseline:newsvendor" or a run folder
    pretrain_episodes: int = 100
    pretrain_epochs: int = 20
    pretrain_batch_size: int = 256
    pretrain_learning_rate: float = 1e-3

    def validate(self) -> None:
        super().validate()
        _check(self.n_steps >= 1 and self.n_epochs >= 1, "n_steps and n_epochs must be >= 1")
        _check(self.batch_size >= 0, "batch_size must be >= 0 (0 = whole rollout)")
        _check(0 <= self.gamma <= 1 and 0 <= self.gae_lambda <= 1, "gamma and gae_lambda must be in [0, 1]")
        _check(self.learning_rate > 0, "learning_rate must be > 0")
        _check(self.optimizer in ("adam", "rmsprop"), "optimizer must be one of: adam, rmsprop")
        _check(self.critic_warmup_steps >= 0, "critic_warmup_steps must be >= 0")
        _check(self.clip_range is None or self.clip_range > 0, "clip_range must be > 0 (or null: no clipping)")
        _check(self.clip_range_vf is None or self.clip_range_vf > 0, "clip_range_vf must be > 0 (or null)")
        _check(self.target_kl is None or self.target_kl > 0, "target_kl must be > 0 (or null)")
        _check(self.max_grad_norm >= 0 and self.vf_coef >= 0, "max_grad_norm and vf_coef must be >= 0")
        check_network(self.net_arch, self.activation)
        _check(self.pretrain_from is None or self.pretrain_from.strip() != "",
               "pretrain_from must name what is imitated (e.g. baseline:newsvendor or a run folder), or be null")
        _check(self.pretrain_episodes >= 1 and self.pretrain_epochs >= 1 and self.pretrain_batch_size >= 1,
               "pretrain_episodes, pretrain_epochs and pretrain_batch_size must be >= 1")
        _check(self.pretrain_learning_rate > 0, "pretrain_learning_rate must be > 0")


@dataclasses.dataclass
class A2CConfig(PPOConfig):
    """SB3's A2C defaults: 5-step rollouts, one full-batch unclipped update, RMSprop."""

    learning_rate: float = 7e-4
    anneal_lr: bool = False
    n_steps: int = 5
    batch_size: int = 0
    n_epochs: int = 1
    gae_lambda: float = 1.0
    clip_range: float | None = None
    normalize_advantage: bool = False
    optimizer: str = "rmsprop"


@dataclasses.dataclass
class REINFORCEConfig(PPOConfig):
    """Monte-Carlo policy gradient with a learned value baseline: long rollouts, full returns (λ = 1), one
    unclipped full-batch step per rollout."""

    learning_rate: float = 1e-3
    anneal_lr: bool = False
    n_steps: int = 1000
    batch_size: int = 0
    n_epochs: int = 1
    gae_lambda: float = 1.0
    clip_range: float | None = None


class ActorCritic(nn.Module):
    """Separate actor and critic networks; a state-independent log-std for Box actions."""

    def __init__(self, actor: nn.Module, critic: nn.Module, dist: ActionDistribution, config: PPOConfig) -> None:
        super().__init__()
        self.actor, self.critic = actor, critic
        self.log_std = nn.Parameter(torch.full((dist.action_dim,), config.log_std_init)) if dist.kind == "gaussian" else None

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.critic(obs).squeeze(-1)


class PPO(Agent):
    """Proximal Policy Optimization for Discrete, MultiDiscrete (maskable) and Box actions."""

    name = "ppo"
    Config = PPOConfig

    def build(self) -> None:
        cfg = self.config
        self.dist = ActionDistribution(self.action_space)
        obs_dim, out_dim = flat_dim(self.observation_space), self.dist.actor_out_dim
        if cfg.network is None:
            actor = mlp(obs_dim, cfg.net_arch, out_dim, cfg.activation, 0.01, cfg.ortho_init)
            critic = mlp(obs_dim, cfg.net_arch, 1, cfg.activation, 1.0, cfg.ortho_init)
        else:
            actor, critic = self.make_network(out_dim), self.make_network(1)
        self.model = ActorCritic(actor, critic, self.dist, cfg).to(self.device)
        self.flat_params = flatten_parameters(self.model)
        if cfg.optimizer == "adam":
            self.optimizer = torch.optim.Adam([self.flat_params], lr=cfg.learning_rate, eps=1e-5, fused=True)
        else:
            self.optimizer = torch.optim.RMSprop([self.flat_params], lr=cfg.learning_rate, alpha=0.99, eps=1e-5)
        if cfg.normalize_obs:
            self.obs_normalizer = ObservationNormalizer((flat_dim(self.observation_space),))
        self.reward_scaler = RewardScaler(cfg.n_envs, cfg.gamma) if cfg.normalize_reward else None
        self.buffer = RolloutBuffer(cfg.n_steps, cfg.n_envs, (obs_dim,), self.dist.action_dim, self.mask_dim)

    def _predict(self, obs: torch.Tensor, mask: torch.Tensor | None, deterministic: bool) -> np.ndarray:
        out = self.model.actor(obs.flatten(1))
        actions, _ = self.dist.sample(out, self.model.log_std, mask, deterministic, self.act_torch_rng)
        return self.dist.to_env(actions.cpu().numpy(), self.action_space)

    def iterate(self) -> dict[str, float]:
        cfg = self.config
        if cfg.anneal_lr:
            self.anneal_learning_rate(self.optimizer, cfg.learning_rate)
        self._collect_rollout()
        return self._update()

    def _collect_rollout(self) -> None:
        cfg, buffer, model = self.config, self.buffer, self.model
        actor = NumpyMLP(model.actor) if cfg.network is None else self._torch_actor  # see NumpyMLP
        log_std = None if model.log_std is None else model.log_std.detach().cpu().numpy()
        with torch.no_grad():
            while not buffer.full:
                obs = self.obs.reshape(self.n_envs, -1)
                actions, log_probs = self.dist.sample_numpy(actor(obs), log_std, self.mask, self.rng)
                step = self.env_step(self.dist.to_env(actions, self.action_space))
                rewards, done = step.rewards, step.done
                if self.reward_scaler is not None:
                    rewards = self.reward_scaler(rewards, done, step.valid).astype(np.float32)
                cut = step.truncated & ~step.terminated & step.valid
                if cut.any():  # a time limit is not a terminal state: bootstrap from the last observation
                    last = self.normalize(step.last_obs(cut)[cut])
                    rewards[cut] += cfg.gamma * model.value(torch.as_tensor(last, device=self.device)).cpu().numpy()
                buffer.add(obs, actions, log_probs, rewards, done, step.valid, self.mask)
                self.obs = self.normalize(step.obs, update=True)
                self.mask = action_mask_from_info(step.info, self.n_envs)
            # Values for the whole rollout in one batched call; the critic has not changed during collection.
            values = model.value(torch.as_tensor(buffer.obs.reshape(-1, buffer.obs.shape[-1]), device=self.device))
            buffer.values[:] = values.cpu().numpy().reshape(buffer.values.shape)
            last_values = model.value(torch.as_tensor(self.obs.reshape(self.n_envs, -1), device=self.device))
        buffer.finish(last_values.cpu().numpy(), cfg.gamma, cfg.gae_lambda)

    def _torch_actor(self, obs: np.ndarray) -> np.ndarray:
        """The actor's outputs for observation rows, for domain networks (the MLP acts through NumpyMLP)."""
        return self.model.actor(torch.as_tensor(obs, device=self.device)).cpu().numpy()

    def _update(self) -> dict[str, float]:
        cfg, model = self.config, self.model
        data = self.buffer.tensors(self.device)
        n = data["obs"].shape[0]
        batch_size = cfg.batch_size or n
        clip, clip_vf = cfg.clip_range, cfg.clip_range_vf
        actor_learns = self.num_timesteps > cfg.critic_warmup_steps
        stats: list[torch.Tensor] = []
        kl_reached = False  # target_kl exceeded: no more minibatches in any epoch
        for _ in range(cfg.n_epochs):
            order = torch.randperm(n, device=self.device, generator=self.torch_rng)
            shuffled = {k: v[order] for k, v in data.items()}  # one gather per epoch, then contiguous slices
            for start in range(0, n, batch_size):
                batch = {k: v[start : start + batch_size] for k, v in shuffled.items()}
                log_prob, entropy = self.dist.log_prob_entropy(model.actor(batch["obs"]), model.log_std,
                                                               batch.get("masks"), batch["actions"])
                log_ratio = log_prob - batch["log_probs"]
                ratio = log_ratio.exp()
                with torch.no_grad():
                    approx_kl = ((ratio - 1) - log_ratio).mean()
                    clipfrac = ((ratio - 1).abs() > clip).float().mean() if clip is not None else torch.zeros(())
                if cfg.target_kl is not None and approx_kl.item() > 1.5 * cfg.target_kl:
                    kl_reached = True
                    break
                adv = batch["advantages"]
                if cfg.normalize_advantage and len(adv) > 1:
                    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                if clip is None:
                    policy_loss = -(adv * ratio).mean()
                else:
                    policy_loss = torch.max(-adv * ratio, -adv * ratio.clamp(1 - clip, 1 + clip)).mean()
                values, returns = model.value(batch["obs"]), batch["returns"]
                value_loss = (values - returns).pow(2)
                if clip_vf is not None:
                    old = batch["values"]
                    value_loss = torch.max(value_loss, (old + (values - old).clamp(-clip_vf, clip_vf) - returns).pow(2))
                value_loss = value_loss.mean()
                loss = cfg.vf_coef * value_loss
                if actor_learns:
                    loss = policy_loss + loss
                    if cfg.ent_coef:
                        loss = loss - cfg.ent_coef * entropy.mean()
                grad = self.flat_params.grad
                grad.zero_()
                loss.backward()
                if cfg.max_grad_norm:  # global-norm clipping as nn.utils.clip_grad_norm_; one flat tensor: two ops
                    grad.mul_(torch.clamp(cfg.max_grad_norm / (grad.norm() + 1e-6), max=1.0))
                self.optimizer.step()
                stats.append(torch.stack([policy_loss.detach(), value_loss.detach(), entropy.detach().mean(),
                                          approx_kl, clipfrac]))
            if kl_reached:
                break
        metrics = {}
        if stats:
            means = torch.stack(stats).mean(0).tolist()
            metrics = {f"train/{k}": v for k, v in zip(("policy_loss", "value_loss", "entropy", "approx_kl", "clipfrac"), means)}
        returns, values = data["returns"].cpu().numpy(), data["values"].cpu().numpy()
        metrics["train/explained_variance"] = float(1 - np.var(returns - values) / (np.var(returns) + 1e-8))
        metrics["train/learning_rate"] = self.optimizer.param_groups[0]["lr"]
        if model.log_std is not None:
            metrics["train/std"] = float(model.log_std.exp().mean().item())
        return metrics

    def fit_demonstrations(self, demos: Demonstrations, epochs: int, batch_size: int,
                           learning_rate: float) -> dict[str, float]:
        """Fit the actor to demonstrated actions ((masked) cross-entropy, or squared error of the Gaussian mean, the
        log-std left as configured so exploration is not collapsed) and the critic to the Monte-Carlo returns,
        with an Adam of its own: the online optimizer's state is left untouched. Returns the final losses."""
        model, device = self.model, self.device
        if demos.gamma != self.config.gamma:
            raise ValueError(f"the demonstrations' returns are discounted by {demos.gamma}; this agent's gamma is "
                             f"{self.config.gamma}: collect them with the agent's gamma")
        if self.obs_normalizer is not None:
            self.obs_normalizer.stats.update(demos.obs)
        scale = 1.0  # the critic learns returns in the units of the rewards it will be trained on
        if self.reward_scaler is not None:
            self.reward_scaler.stats.update(demos.running_returns(self.reward_scaler.gamma))
            scale = 1.0 / np.sqrt(self.reward_scaler.stats.var + self.reward_scaler.epsilon)

        def tensor(array: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(array, device=device)

        obs = tensor(self.normalize(demos.obs).reshape(len(demos.obs), -1))
        final_obs = tensor(self.normalize(demos.final_obs).reshape(len(demos.final_obs), -1))
        actions = tensor(self.dist.from_env(demos.actions, self.action_space))
        masks = None if demos.masks is None else tensor(demos.masks.astype(bool))
        returns, tail = tensor(demos.returns * np.float32(scale)), tensor(demos.tail_discount)
        episode = tensor(demos.episode)

        def losses(rows: torch.Tensor | slice) -> tuple[torch.Tensor, torch.Tensor]:
            out = model.actor(obs[rows])
            if self.dist.kind == "gaussian":
                actor_loss = (out - actions[rows]).pow(2).mean()
            else:
                mask = None if masks is None else masks[rows]
                log_prob, _ = self.dist.log_prob_entropy(out, None, mask, actions[rows])
                actor_loss = -log_prob.mean()
            with torch.no_grad():  # a truncated episode's tail is bootstrapped from the critic being fitted
                targets = returns[rows] + tail[rows] * model.value(final_obs[episode[rows]])
            return actor_loss, (model.value(obs[rows]) - targets).pow(2).mean()

        optimizer = torch.optim.Adam([*model.actor.parameters(), *model.critic.parameters()], lr=learning_rate,
                                     eps=1e-5)
        n = len(obs)
        for _ in range(epochs):
            order = torch.randperm(n, device=device, generator=self.torch_rng)
            for start in range(0, n, batch_size):
                actor_loss, critic_loss = losses(order[start : start + batch_size])
                self.flat_params.grad.zero_()  # the parameters' gradients are views of this one tensor
                (actor_loss + critic_loss).backward()
                optimizer.step()
        actor_loss, critic_loss, modes = 0.0, 0.0, []
        with torch.no_grad():  # the final fit, in chunks: a large demonstration set need not pass through at once
            for start in range(0, n, FIT_CHUNK):
                rows = slice(start, start + FIT_CHUNK)
                actor, critic = losses(rows)
                size = len(obs[rows])
                actor_loss, critic_loss = actor_loss + actor.item() * size / n, critic_loss + critic.item() * size / n
                mode, _ = self.dist.sample(model.actor(obs[rows]), model.log_std,
                                           None if masks is None else masks[rows], deterministic=True)
                modes.append(mode.cpu().numpy())
        metrics = {"actor_loss": actor_loss, "critic_loss": critic_loss}
        fitted = self.dist.to_env(np.concatenate(modes), self.action_space).reshape(len(demos.actions), -1)
        demonstrated = demos.actions.reshape(len(demos.actions), -1)
        if self.dist.kind == "gaussian":
            metrics["action_mse"] = float(np.mean((fitted - demonstrated) ** 2))
        else:
            metrics["agreement"] = float(np.mean((fitted == demonstrated).all(-1)))
        return metrics

    def policy_state(self) -> dict[str, Any]:
        return {"model": self.model.state_dict()}

    def load_policy_state(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])

    def training_state(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(),
                "reward_scaler": None if self.reward_scaler is None else self.reward_scaler.state_dict()}

    def load_training_state(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        if self.reward_scaler is not None:
            self.reward_scaler.load_state_dict(state["reward_scaler"])


class A2C(PPO):
    """Advantage actor-critic: PPO's one-epoch, unclipped, full-batch special case (SB3's A2C defaults)."""

    name = "a2c"
    Config = A2CConfig


class REINFORCE(PPO):
    """Monte-Carlo policy gradient with a learned baseline (a score-function method, for comparison with HDPO)."""

    name = "reinforce"
    Config = REINFORCEConfig
