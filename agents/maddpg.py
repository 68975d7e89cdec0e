"""MADDPG, Multi-Agent Deep Deterministic Policy Gradient (Lowe et al., 2017).

Decentralised actors, one per agent, act on their own observation; each agent's critic is centralised: it sees
every agent's observation and action, which keeps the critic's target stationary while the other agents learn.
Discrete actions go through a Gumbel-softmax relaxation (straight-through optional); Box actions are
deterministic with Gaussian exploration noise. `centralized_critic=False` is independent DDPG, the paper's
baseline. Works on any batched multi-agent env (see appliedrl.envs.multiagent): `reset(seed) -> obs [B, agents,
D]`, `step(actions) -> obs, rewards [B, agents], terminated, truncated, info` with autoreset and info["final_obs"].
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces

from appliedrl.agents.base import Algorithm, anneal_linearly, seed_everything
from appliedrl.agents.buffers import TensorReplayBuffer
from appliedrl.agents.checkpoint import atomic_torch_save, load_file
from appliedrl.agents.config import ConfigError, RunConfig, _check, check_network, config_to_dict, make_loaded_config
from appliedrl.agents.evaluation import evaluate_multiagent
from appliedrl.agents.networks import MASKED_LOGIT, EnsembleMLP, UnsupportedSpaceError
from appliedrl.agents.vec_env import NonFiniteError


@dataclasses.dataclass
class MADDPGConfig(RunConfig):
    """Defaults of the original code: Adam 1e-2, gamma 0.95, batch 1024, 2 x 64 ReLU, an update every 100
    transitions; the budget unit is the transition (an environment step of one of the batched envs)."""

    n_envs: int = 64  # environments stepped together (batched worlds make many cheap; mpe2 copies step in turn)
    learning_rate: float = 1e-2
    anneal_lr: bool = False  # linear decay to 0 over the run (steadies the final policy)
    gamma: float = 0.95
    tau: float = 0.01  # Polyak averaging of the target networks
    batch_size: int = 1024
    buffer_size: int = 1_000_000
    learning_starts: int = 1024 * 25  # transitions before the first update
    train_freq: int = 100  # transitions between updates (each update trains every agent once)
    net_arch: list[int] = dataclasses.field(default_factory=lambda: [64, 64])
    activation: str = "relu"
    max_grad_norm: float = 0.5
    actor_regularization: float = 1e-3  # weight of mean(logits^2) in the actor loss, as the original
    gumbel_temperature: float = 1.0
    straight_through: bool = False  # hard one-hot samples with soft gradients instead of soft samples
    exploration_noise: float = 0.1  # Box actions: Gaussian noise std as a fraction of the action range
    centralized_critic: bool = True  # False: independent DDPG (each critic sees its own agent only)
    eval_freq: int = 50_000  # transitions between evaluations (they need eval_envs)
    eval_episodes: int = 100
    checkpoint_freq: int = 500_000

    def validate(self) -> None:
        super().validate()
        _check(self.n_envs >= 1, "n_envs must be >= 1")
        _check(self.learning_rate > 0, "learning_rate must be > 0")
        _check(0 <= self.gamma <= 1, "gamma must be in [0, 1]")
        _check(0 < self.tau <= 1, "tau must be in (0, 1]")
        _check(self.batch_size >= 1 and self.buffer_size >= self.batch_size, "need 1 <= batch_size <= buffer_size")
        _check(self.train_freq >= 1 and self.learning_starts >= 0, "train_freq >= 1 and learning_starts >= 0")
        check_network(self.net_arch, self.activation)
        _check(self.max_grad_norm >= 0 and self.gumbel_temperature > 0, "max_grad_norm >= 0, gumbel_temperature > 0")
        _check(self.eval_episodes >= 1, "eval_episodes must be >= 1")


class MADDPG(Algorithm):
    """Multi-agent DDPG with centralised critics (or independent DDPG); see the module docstring."""

    name = "maddpg"
    Config = MADDPGConfig
    schedule_keys = ("learning_starts",)
    env_kinds = ("parallel",)
    built_by_domain = True
    unit = "transitions"

    def __init__(self, envs: Any, config: MADDPGConfig | None = None, seed: int = 0, env_id: str | None = None,
                 env_kwargs: dict | None = None, eval_envs: Any = None, *, agents: list[str] | None = None,
                 obs_dims: list[int] | None = None, action_spaces: dict[str, spaces.Space] | None = None) -> None:
        self.config = config or MADDPGConfig()
        self.config.validate()
        self.config.apply_threads()
        seed_everything(seed)
        self.envs, self.eval_envs, self.seed = envs, eval_envs, seed
        self.env_id, self.env_kwargs = env_id, dict(env_kwargs or {})
        self.device = torch.device(self.config.device)
        if envs is not None:
            agents, obs_dims, action_spaces = envs.agents, envs.obs_dims, envs.action_spaces
        self.agents, self.obs_dims = list(agents), list(obs_dims)
        self.action_spaces = {a: action_spaces[a] for a in self.agents}
        for agent, space in self.action_spaces.items():
            if not isinstance(space, (spaces.Discrete, spaces.Box)) or (isinstance(space, spaces.Box)
                                                                         and len(space.shape) != 1):
                raise UnsupportedSpaceError(f"maddpg supports Discrete and 1-D Box actions; agent {agent} has {space}")
        self.discrete = isinstance(self.action_spaces[self.agents[0]], spaces.Discrete)
        if any(isinstance(s, spaces.Discrete) != self.discrete for s in self.action_spaces.values()):
            raise UnsupportedSpaceError("maddpg needs all agents' action spaces of one kind (all Discrete or all Box)")
        self.action_dims = [int(s.n) if self.discrete else int(s.shape[0]) for s in self.action_spaces.values()]
        self._build()
        self.num_steps, self.num_updates, self.last_update = 0, 0, 0
        self.torch_rng = torch.Generator(self.device).manual_seed(seed)
        self.seed_actions(seed + 1)

    # --- networks --------------------------------------------------------------------------------------------
    def _build(self) -> None:
        """One actor and one critic per agent, all agents' run together as an ensemble (same math, fewer calls)."""
        cfg, n = self.config, len(self.agents)
        obs_width, act_width = max(self.obs_dims), max(self.action_dims)
        critic_in = n * (obs_width + act_width) if cfg.centralized_critic else obs_width + act_width
        self.actors = EnsembleMLP(n, obs_width, cfg.net_arch, act_width, cfg.activation, out_gain=0.01).to(self.device)
        self.critics = EnsembleMLP(n, critic_in, cfg.net_arch, 1, cfg.activation).to(self.device)
        self.target_actors = _frozen_copy(self.actors)
        self.target_critics = _frozen_copy(self.critics)
        # Adam is elementwise: one optimizer over the ensemble equals one per agent
        self.actor_optimizer = torch.optim.Adam(self.actors.parameters(), lr=cfg.learning_rate)
        self.critic_optimizer = torch.optim.Adam(self.critics.parameters(), lr=cfg.learning_rate)
        # which padded action entries are real, per agent [agents, 1, act_width]
        self.action_valid = (torch.arange(act_width)[None] < torch.tensor(self.action_dims)[:, None])[:, None]
        self.action_valid = self.action_valid.to(self.device)
        if not self.discrete:
            low, high = torch.zeros(n, 1, act_width), torch.ones(n, 1, act_width)
            for i, space in enumerate(self.action_spaces.values()):
                low[i, 0, : space.shape[0]] = torch.as_tensor(space.low)
                high[i, 0, : space.shape[0]] = torch.as_tensor(space.high)
            self.action_low, self.action_range = low.to(self.device), (high - low).to(self.device)

    def _actions(self, actors: EnsembleMLP, obs: torch.Tensor, explore: bool,
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Every agent's action [agents, B, act_width] in the critic's encoding (relaxed one-hot or Box values,
        zero-padded) and the actors' raw outputs, for observations [B, agents, obs_width]."""
        generator = generator or self.torch_rng
        logits = actors(obs.transpose(0, 1))
        if self.discrete:
            logits = logits.masked_fill(~self.action_valid, MASKED_LOGIT)
            if not explore:
                return F.one_hot(logits.argmax(-1), logits.shape[-1]).float(), logits
            return _gumbel_softmax(logits, self.config.gumbel_temperature, self.config.straight_through,
                                   generator), logits
        action = torch.sigmoid(logits)
        if explore:
            noise = torch.randn(action.shape, generator=generator, device=self.device)
            action = (action + self.config.exploration_noise * noise).clamp(0, 1)
        return (self.action_low + self.action_range * action) * self.action_valid, logits

    def _critic_input(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Critic inputs [agents, B, in] from observations [B, agents, D] and actions [agents, B, K] (one set for
        all critics) or [agents, B, agents, K] (agent i's critic sees actions[i])."""
        n, batch = len(self.agents), obs.shape[0]
        if actions.ndim == 3:
            actions = actions.transpose(0, 1)[None].expand(n, -1, -1, -1)
        if self.config.centralized_critic:
            return torch.cat([obs.reshape(1, batch, -1).expand(n, -1, -1), actions.reshape(n, batch, -1)], -1)
        own = torch.arange(n, device=obs.device)
        return torch.cat([obs.transpose(0, 1), actions[own, :, own]], -1)

    @torch.no_grad()
    def seed_actions(self, seed: int) -> None:
        """Restart the random stream of stochastic `act` calls (never training's); evaluation does, with its seed."""
        self.act_rng = torch.Generator(self.device).manual_seed(seed)

    def act(self, obs: torch.Tensor, deterministic: bool = True) -> torch.Tensor:
        """Env-ready actions for observations [B, agents, max_obs_dim]: [B, agents] indices or [B, agents, K]."""
        obs = torch.as_tensor(obs, dtype=torch.float32, device=self.device)
        expected = (len(self.agents), max(self.obs_dims))
        if obs.ndim != 3 or tuple(obs.shape[1:]) != expected:
            raise ValueError(f"act expects observations of shape (batch, {expected[0]}, {expected[1]}), "
                             f"got {tuple(obs.shape)}")
        return self._to_env(self._actions(self.actors, obs, not deterministic, self.act_rng)[0])

    def _to_env(self, encoded: torch.Tensor) -> torch.Tensor:
        """[agents, B, K] encoded actions -> the env's [B, agents] indices or [B, agents, K] values."""
        return encoded.argmax(-1).T if self.discrete else encoded.transpose(0, 1)

    # --- the trainer's contract ----------------------------------------------------------------------------
    @property
    def progress(self) -> int:
        return self.num_steps

    def start(self, total: int) -> None:
        """Size the replay buffer for the run and start fresh episodes (a checkpoint may then replace them)."""
        if self.envs is None:
            raise ValueError("this agent was loaded for inference; create it with envs to train")
        cfg = self.config
        if cfg.eval_freq and self.eval_envs is None:
            raise ConfigError(f"eval_freq={cfg.eval_freq} needs eval_envs to evaluate on; give them or set eval_freq=0")
        first_update = max(cfg.learning_starts, cfg.train_freq)
        if total < first_update:
            raise ConfigError(f"a budget of {total:,} transitions ends before the first update at {first_update:,} "
                              f"(learning_starts={cfg.learning_starts:,}): give a larger budget or lower learning_starts")
        self.total = total
        n, obs_width, act_width = len(self.agents), max(self.obs_dims), max(self.action_dims)
        self.buffer = TensorReplayBuffer(min(cfg.buffer_size, max(total, cfg.batch_size)), {
            "obs": ((n, obs_width), torch.float32), "actions": ((n, act_width), torch.float32),
            "rewards": ((n,), torch.float32), "next_obs": ((n, obs_width), torch.float32),
            "terminated": ((), torch.bool)}, self.device)
        self.obs = self.envs.reset(seed=self.seed).to(self.device, torch.float32)
        self.episode_return = torch.zeros(self.envs.num_envs, len(self.agents), device=self.device)
        self.recent_returns: list[float] = []

    def iterate(self) -> dict[str, float]:
        """One step of every environment, then the updates due (one at every multiple of train_freq from
        learning_starts on, as the original's `t % 100 == 0` once the buffer holds 25,600)."""
        cfg, metrics = self.config, {}
        self._collect()
        if cfg.anneal_lr:
            anneal_linearly([self.actor_optimizer, self.critic_optimizer], cfg.learning_rate, self.num_steps,
                            self.total)
        while self.num_steps - self.last_update >= cfg.train_freq:
            self.last_update += cfg.train_freq
            if self.last_update >= cfg.learning_starts:
                metrics.update(self._update())
        return metrics

    def evaluate(self, seed: int) -> dict[str, Any]:
        """The greedy policy (each actor's most likely action) on the eval envs (empty without them)."""
        if self.eval_envs is None:
            return {}
        return evaluate_multiagent(self, self.eval_envs, self.config.eval_episodes, seed).to_dict(self.agents,
                                                                                                with_ci=False)

    def rollout_metrics(self) -> dict[str, float]:
        return {"rollout/ep_return_mean": float(np.mean(self.recent_returns))} if self.recent_returns else {}

    def _collect(self) -> None:
        """One step of every environment with exploring actions; transitions go to the replay buffer."""
        with torch.no_grad():
            encoded = self._actions(self.actors, self.obs, explore=True)[0]
        if self.discrete:  # the env takes the sampled index; the buffer keeps its one-hot
            encoded = F.one_hot(encoded.argmax(-1), encoded.shape[-1]).float()
        next_obs, rewards, terminated, truncated, info = self.envs.step(self._to_env(encoded))
        next_obs = next_obs.to(self.device, torch.float32)
        rewards = rewards.to(self.device, torch.float32)
        if not torch.isfinite(rewards).all() or not torch.isfinite(next_obs).all():
            raise NonFiniteError(f"the environment returned a non-finite reward or observation at step {self.num_steps}")
        final = info.get("final_obs", next_obs).to(self.device, torch.float32)
        done = (terminated | truncated).to(self.device).any(-1)
        self.buffer.add(obs=self.obs, actions=encoded.transpose(0, 1), rewards=rewards, next_obs=final,
                        terminated=terminated.to(self.device).any(-1))
        self.episode_return += rewards
        if done.any():
            self.recent_returns += self.episode_return[done].mean(-1).tolist()
            self.recent_returns = self.recent_returns[-100:]
            self.episode_return[done] = 0.0
        self.obs = next_obs
        self.num_steps += self.envs.num_envs

    def _update(self) -> dict[str, float]:
        """One gradient step of every agent's critic and actor, then the target networks.

        All agents learn from one shared minibatch (the original samples one per agent); agent i's critic and
        actor touch no other agent's parameters, so updating them all at once equals updating them in turn.
        """
        cfg, n = self.config, len(self.agents)
        batch = self.buffer.sample(cfg.batch_size, self.torch_rng)
        obs, actions, rewards, next_obs, terminated = (batch[k] for k in ("obs", "actions", "rewards", "next_obs",
                                                                          "terminated"))
        actions = actions.transpose(0, 1)  # [agents, B, K]
        with torch.no_grad():
            next_actions = self._actions(self.target_actors, next_obs, explore=self.discrete)[0]
            target_q = self.target_critics(self._critic_input(next_obs, next_actions)).squeeze(-1)  # [agents, B]
            target = rewards.T + cfg.gamma * (1 - terminated.float())[None] * target_q
        q = self.critics(self._critic_input(obs, actions)).squeeze(-1)
        critic_loss = (q - target).square().mean(-1)  # per agent
        _step(self.critic_optimizer, critic_loss.sum(), self.critics, cfg.max_grad_norm)

        self.critics.requires_grad_(False)  # the actor loss needs gradients through the critics, not for them
        own, logits = self._actions(self.actors, obs, explore=self.discrete)
        # agent i's critic sees the buffer's actions with agent i's own replaced by its current policy's
        replace = torch.eye(n, dtype=torch.bool, device=self.device)[:, None, :, None]
        joint = torch.where(replace, own.transpose(0, 1)[None], actions.transpose(0, 1)[None])
        valid_logits = logits.masked_fill(~self.action_valid, 0.0)  # padding entries carry no penalty
        actor_loss = -self.critics(self._critic_input(obs, joint)).squeeze(-1).mean(-1) \
            + cfg.actor_regularization * valid_logits.square().sum(-1).mean(-1) / torch.tensor(
                self.action_dims, device=self.device)
        _step(self.actor_optimizer, actor_loss.sum(), self.actors, cfg.max_grad_norm)
        self.critics.requires_grad_(True)
        with torch.no_grad():
            for net, target_net in ((self.actors, self.target_actors), (self.critics, self.target_critics)):
                for p, tp in zip(net.parameters(), target_net.parameters()):
                    tp.lerp_(p, cfg.tau)
        self.num_updates += 1
        return {"train/critic_loss": critic_loss.mean().item(), "train/actor_loss": actor_loss.mean().item()}

    # --- saving ---------------------------------------------------------------------------------------------
    def _header(self) -> dict[str, Any]:
        return {"agent": self.name, "config": config_to_dict(self.config), "seed": self.seed, "env_id": self.env_id,
                "env_kwargs": self.env_kwargs, "agents": self.agents, "obs_dims": self.obs_dims,
                "action_spaces": self.action_spaces, "actors": self.actors.state_dict()}

    def save(self, path: str | Path) -> None:
        """Write the actors (enough to act and evaluate) atomically."""
        atomic_torch_save(self._header(), Path(path))

    @classmethod
    def load(cls, path: str | Path) -> "MADDPG":
        """An acting-only MADDPG from a file written by `save` or a training checkpoint."""
        data = load_file(Path(path))
        if data.get("agent") != cls.name:
            raise ValueError(f"{path} holds a {data.get('agent')!r} agent, not {cls.name!r}")
        agent = cls(None, make_loaded_config(MADDPGConfig, data["config"]), data["seed"], data["env_id"], data["env_kwargs"],
                    agents=data["agents"], obs_dims=data["obs_dims"], action_spaces=data["action_spaces"])
        agent.actors.load_state_dict(data["actors"])
        return agent

    def checkpoint_state(self) -> dict[str, Any]:
        try:
            envs = pickle.dumps(self.envs)
        except Exception:  # noqa: BLE001 - e.g. mpe2's pygame surfaces: resume then starts fresh episodes
            envs = None
        nets = {k: getattr(self, k).state_dict() for k in ("critics", "target_actors", "target_critics")}
        optimizers = [self.actor_optimizer.state_dict(), self.critic_optimizer.state_dict()]
        return {**self._header(), **nets, "optimizers": optimizers, "buffer": self.buffer.state(), "envs": envs,
                "obs": self.obs, "episode_return": self.episode_return, "recent_returns": self.recent_returns,
                "counters": (self.num_steps, self.num_updates, self.last_update), "torch_rng": self.torch_rng.get_state(), "act_rng": self.act_rng.get_state(),
                "global_rng": torch.get_rng_state()}

    def load_checkpoint_state(self, state: dict[str, Any]) -> None:
        self.actors.load_state_dict(state["actors"])
        for key in ("critics", "target_actors", "target_critics"):
            getattr(self, key).load_state_dict(state[key])
        for optimizer, saved in zip((self.actor_optimizer, self.critic_optimizer), state["optimizers"]):
            optimizer.load_state_dict(saved)
        self.buffer.load(state["buffer"])
        self.num_steps, self.num_updates, self.last_update = state["counters"]
        self.recent_returns = state["recent_returns"]
        self.torch_rng.set_state(state["torch_rng"])
        self.act_rng.set_state(state["act_rng"])
        torch.set_rng_state(state["global_rng"])
        if state["envs"] is not None:
            self.envs = pickle.loads(state["envs"])
            self.obs, self.episode_return = state["obs"], state["episode_return"]
        else:
            warnings.warn("the environments could not be saved; resuming starts fresh episodes")
            self.obs = self.envs.reset(seed=self.seed + self.num_steps).to(self.device, torch.float32)
            self.episode_return = torch.zeros(self.envs.num_envs, len(self.agents), device=self.device)


def _gumbel_softmax(logits: torch.Tensor, temperature: float, hard: bool, generator: torch.Generator) -> torch.Tensor:
    """A relaxed one-hot sample of the categorical `logits` (hard: one-hot forward, soft gradients)."""
    uniform = torch.rand(logits.shape, generator=generator, device=logits.device).clamp_(1e-10, 1.0)
    soft = ((logits - torch.log(-torch.log(uniform))) / temperature).softmax(-1)
    if not hard:
        return soft
    one_hot = F.one_hot(soft.argmax(-1), logits.shape[-1]).to(soft.dtype)
    return one_hot + soft - soft.detach()


def _step(optimizer: torch.optim.Optimizer, loss: torch.Tensor, nets: EnsembleMLP, max_grad_norm: float) -> None:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if max_grad_norm:
        nets.clip_grad_norm_(max_grad_norm)
    optimizer.step()


def _frozen_copy(nets: EnsembleMLP) -> EnsembleMLP:
    target = copy.deepcopy(nets)
    target.requires_grad_(False)
    return target

