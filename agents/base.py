"""The contract every agent implements (`Algorithm`), and what the env-stepping agents share (`Agent`): env
stepping, seeding, `predict` with shape checks, save/load, checkpoints.

`trainer.train` runs any `Algorithm`: it alone owns the progress bar, Ctrl-C, logging, the evaluation and
checkpoint schedule, the best policy in RUN/best/, callbacks, early stopping and summary.json. An env-stepping
algorithm subclasses `Agent` and writes `build` (networks, optimizers), `iterate` (collect and update once),
`_predict` and its state hooks.
"""

from __future__ import annotations

import dataclasses
import pickle
import random
import warnings
from collections import deque
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium import spaces
from torch import nn
from gymnasium.utils import EzPickle
from gymnasium.vector import AsyncVectorEnv, SyncVectorEnv, VectorEnv

from appliedrl.agents.checkpoint import atomic_torch_save, load_file
from appliedrl.agents.config import AgentConfig, RunConfig, config_to_dict, make_loaded_config
from appliedrl.agents.networks import UnsupportedSpaceError, build_network, mask_size, observation_batch
from appliedrl.agents.normalize import ObservationNormalizer
from appliedrl.agents.evaluation import evaluate
from appliedrl.agents.ray_vec_env import RayVectorEnv
from appliedrl.agents.vec_env import (EpisodeTracker, VecStep, VecStepper, action_mask_from_info, check_finite,
                                      make_vec_env)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def check_observation_batch(obs: Any, shape: tuple[int, ...]) -> tuple[np.ndarray, bool]:
    """Return (batch, was_single) for observations of `shape`; raise a ValueError naming the expected shape."""
    array = np.asarray(obs, dtype=np.float32)
    shape = tuple(shape)
    if array.shape == shape:
        return array[None], True
    if array.ndim == len(shape) + 1 and array.shape[1:] == shape:
        return array, False
    raise ValueError(f"predict got an observation of shape {array.shape}; expected {shape} or (batch, {', '.join(map(str, shape))})")



def anneal_linearly(optimizers: list[torch.optim.Optimizer], initial: float, step: int, total_steps: int) -> None:
    """Set every optimizer's rate to `initial`, decayed linearly to 0 at `total_steps`."""
    fraction = max(0.0, 1.0 - step / max(total_steps, 1))
    for optimizer in optimizers:
        for group in optimizer.param_groups:
            group["lr"] = fraction * initial

class Algorithm:
    """The contract between an agent and the trainer.

    Progress counts the agent's own budget `unit`; `evaluate` returns metrics of which `score_key` is the score
    the trainer keeps the best policy by (`higher_is_better` says which way).
    """

    name: ClassVar[str]
    Config: ClassVar[type[RunConfig]]
    env_kinds: ClassVar[tuple[str, ...]]  # the env kinds it trains on (appliedrl.envs.spec.KINDS)
    # True: only a domain's agent builder can build it (HDPO's differentiable problem, MADDPG's batched worlds)
    built_by_domain: ClassVar[bool] = False
    unit: ClassVar[str] = "steps"
    # config keys counted in `unit` that belong to the schedule: a run shortened to a fraction of its recipe's
    # budget (compare's smoke and small budgets) scales them by the same fraction
    schedule_keys: ClassVar[tuple[str, ...]] = ()
    score_key: ClassVar[str] = "mean_return"
    higher_is_better: ClassVar[bool] = True
    config: RunConfig
    seed: int
    env_id: str | None
    env_kwargs: dict[str, Any]

    @property
    def progress(self) -> int:
        """Units of the budget done so far."""
        raise NotImplementedError

    def start(self, total: int) -> None:
        """Prepare for a run of `total` units (before a checkpoint, if any, is restored); reject a budget that
        cannot train."""
        raise NotImplementedError

    def iterate(self) -> dict[str, float]:
        """Collect experience and update once; return metrics to log."""
        raise NotImplementedError

    def evaluate(self, seed: int) -> dict[str, float]:
        """Evaluate the current policy; the result holds `score_key` (empty: nothing to evaluate on)."""
        raise NotImplementedError

    def stop_reason(self) -> str | None:
        """Why training should stop before the budget (early stopping), or None to go on."""
        return None

    def final_report(self) -> dict[str, Any]:
        """Domain figures for the summary once training ended (e.g. a test cost and its gap to the optimum)."""
        return {}

    def rollout_metrics(self) -> dict[str, float]:
        """Running statistics of training episodes, logged after each iteration."""
        return {}

    def checkpoint_state(self) -> dict[str, Any]:
        """Everything needed to continue training exactly."""
        raise NotImplementedError

    def load_checkpoint_state(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def save(self, path: str | Path) -> None:
        """Write the acting policy for `load`."""
        raise NotImplementedError

    @classmethod
    def load(cls, path: str | Path) -> "Algorithm":
        """An inference-only agent from a file written by `save` or a training checkpoint."""
        raise NotImplementedError

    def learn(self, total: int, **kwargs: Any) -> dict[str, Any]:
        """Train until `total` units; keyword arguments go to `trainer.train`."""
        from appliedrl.agents.trainer import train

        return train(self, total, **kwargs)

    def close(self) -> None:
        pass


class Agent(Algorithm):
    """Base class of the env-stepping agents; see the module docstring."""

    Config: ClassVar[type[AgentConfig]]
    env_kinds = ("single", "aec")
    supported_actions: ClassVar[tuple[type[spaces.Space], ...]] = (spaces.Discrete, spaces.MultiDiscrete, spaces.Box)

    def __init__(self, env: str | VectorEnv | None = None, config: AgentConfig | None = None, seed: int = 0,
                 env_kwargs: dict[str, Any] | None = None, *, observation_space: spaces.Space | None = None,
                 action_space: spaces.Space | None = None, env_id: str | None = None) -> None:
        self.config = config if config is not None else self.Config()
        if not isinstance(self.config, self.Config):
            raise TypeError(f"{self.name} needs a {self.Config.__name__}, got {type(self.config).__name__}")
        self.config.validate()
        self.seed, self.env_kwargs = seed, {**self.config.env_kwargs, **(env_kwargs or {})}
        self.env_id = env if isinstance(env, str) else env_id  # env_id: what a loaded agent was trained on
        self.config.apply_threads()
        seed_everything(seed)
        self.envs: VectorEnv | None = None
        if isinstance(env, str):
            self.envs = make_vec_env(env, self.config.n_envs, self.config.vectorization, self.env_kwargs,
                                     self.config.rollout_workers)
        elif env is not None:
            self.envs = env
            self.config = dataclasses.replace(self.config, n_envs=env.num_envs)
        if self.envs is not None:
            observation_space, action_space = self.envs.single_observation_space, self.envs.single_action_space
        if observation_space is None or action_space is None:
            raise ValueError("give an env, or both observation_space and action_space")
        if not isinstance(action_space, self.supported_actions):
            names = ", ".join(s.__name__ for s in self.supported_actions)
            raise UnsupportedSpaceError(f"{self.name} does not support action space {action_space}; supported: {names}")
        self.observation_space, self.action_space = observation_space, action_space
        self.mask_dim = mask_size(action_space)
        self.device = torch.device(self.config.device)
        self.obs_normalizer: ObservationNormalizer | None = None
        self.num_timesteps, self.total_timesteps = 0, 0
        # The agent's own random streams, so that two agents in one process do not disturb each other.
        self.rng = np.random.default_rng(seed)
        self.torch_rng = torch.Generator(self.device).manual_seed(seed)
        self.seed_actions(seed + 1)
        self.build()
        if self.envs is not None:
            self.n_envs = self.envs.num_envs
            self.episode_returns: deque[float] = deque(maxlen=100)
            self.episodes_finished = 0  # training episodes so far (the sample cost in episodes)
            self._reset_envs(seed)

    # --- hooks an algorithm writes -------------------------------------------------------------------------
    def build(self) -> None:
        """Create networks and optimizers from self.config, self.observation_space, self.action_space."""
        raise NotImplementedError

    def iterate(self) -> dict[str, float]:
        """Collect experience and update once; return metrics to log."""
        raise NotImplementedError

    def _predict(self, obs: torch.Tensor, mask: torch.Tensor | None, deterministic: bool) -> np.ndarray:
        """Env-ready actions for a batch of (normalised) observations."""
        raise NotImplementedError

    def policy_state(self) -> dict[str, Any]:
        raise NotImplementedError

    def load_policy_state(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def training_state(self) -> dict[str, Any]:
        """Optimizer, buffers and counters beyond the policy, for exact resumption."""
        return {}

    def load_training_state(self, state: dict[str, Any]) -> None:
        pass

    def make_network(self, out_dim: int) -> nn.Module:
        """The config's domain network with `out_dim` outputs, shaped by one instance of the agent's env."""
        import gymnasium as gym

        env = None
        if self.env_id is not None:
            probe = gym.make(self.env_id, **self.env_kwargs)
            env = probe.unwrapped
            probe.close()
        return build_network(self.config.network, self.observation_space, out_dim, env, self.config.network_kwargs)

    # --- environment stepping ------------------------------------------------------------------------------
    def _reset_envs(self, seed: int) -> np.ndarray:
        """Reset every env; `self.obs` holds the (normalised) first observations; returns them as they came."""
        self.stepper = VecStepper(self.envs, flatten=True)
        obs, info = self.stepper.reset(seed=seed)
        self.envs.action_space.seed(seed)
        check_finite(self.num_timesteps, observation=obs)
        self.obs = self.normalize(obs, update=True)
        self.mask = action_mask_from_info(info, self.n_envs)
        self.episodes = EpisodeTracker(self.n_envs)
        return obs

    def anneal_learning_rate(self, optimizer: torch.optim.Optimizer, initial: float) -> None:
        """Linear decay from `initial` to 0 over the run (the config's `anneal_lr`)."""
        anneal_linearly([optimizer], initial, self.num_timesteps, self.total_timesteps)

    def normalize(self, obs: np.ndarray, update: bool = False) -> np.ndarray:
        """Observations as flat float32 rows, normalised with `normalize_obs` (statistics updated with `update`)."""
        rows = np.asarray(obs, dtype=np.float32).reshape(len(obs), -1)
        return rows if self.obs_normalizer is None else self.obs_normalizer(rows, update=update)

    def env_step(self, actions: np.ndarray) -> VecStep:
        """Step all envs; count steps, check for NaN/inf, record finished episodes."""
        step = self.stepper.step(actions)
        self.num_timesteps += self.n_envs
        check_finite(self.num_timesteps, observation=step.obs, reward=step.rewards)
        if step.same_step and step.done.any():
            check_finite(self.num_timesteps, final_observation=step.last_obs(step.done))
        for episode_return, _ in self.episodes.update(step.rewards, step.done, step.valid):
            self.episode_returns.append(episode_return)
            self.episodes_finished += 1
        return step

    # --- inference -----------------------------------------------------------------------------------------
    def seed_actions(self, seed: int) -> None:
        """Restart the random streams of stochastic `predict` calls, which never draw on training's streams;
        `evaluate` does this with its seed, so an evaluation repeats and leaves training unchanged."""
        self.act_rng = np.random.default_rng(seed)
        self.act_torch_rng = torch.Generator(self.device).manual_seed(seed)

    def predict(self, obs: Any, mask: Any = None, deterministic: bool = True) -> np.ndarray:
        """Actions for one observation or a batch; `mask` flags the legal actions (True/1 = allowed)."""
        batch, single = observation_batch(obs, self.observation_space)
        mask_tensor = None
        if mask is not None:
            if not self.mask_dim:
                raise ValueError(f"action masks need a discrete action space, not {self.action_space}")
            mask_array = np.asarray(mask, dtype=bool).reshape(len(batch), -1)
            if mask_array.shape[1] != self.mask_dim:
                raise ValueError(f"action mask has {mask_array.shape[1]} entries per observation; expected {self.mask_dim}")
            mask_tensor = torch.as_tensor(mask_array, device=self.device)
        with torch.no_grad():
            actions = self._predict(torch.as_tensor(self.normalize(batch), device=self.device), mask_tensor,
                                    deterministic)
        return actions[0] if single else actions

    # --- persistence ---------------------------------------------------------------------------------------
    def _header(self) -> dict[str, Any]:
        return {"agent": self.name, "config": config_to_dict(self.config), "seed": self.seed,
                "env_id": self.env_id, "env_kwargs": self.env_kwargs,
                "observation_space": self.observation_space, "action_space": self.action_space,
                "policy": self.policy_state(),
                "obs_normalizer": None if self.obs_normalizer is None else self.obs_normalizer.stats.state_dict()}

    def save(self, path: str | Path) -> None:
        """Write the policy (weights, normalisation statistics, config, spaces) for `load` and `predict`."""
        atomic_torch_save(self._header(), Path(path))

    @classmethod
    def load(cls, path: str | Path) -> "Agent":
        """An inference-only agent from a file written by `save` or a training checkpoint."""
        data = load_file(Path(path))
        if data.get("agent") != cls.name:
            raise ValueError(f"{path} holds a {data.get('agent')!r} agent, not {cls.name!r}")
        agent = cls(None, make_loaded_config(cls.Config, data["config"]), data["seed"], data["env_kwargs"],
                    observation_space=data["observation_space"], action_space=data["action_space"],
                    env_id=data["env_id"])
        agent.load_saved_policy(data)
        return agent

    def load_saved_policy(self, data: dict[str, Any]) -> None:
        """Take the policy (weights, observation statistics) of a file written by `save` or a checkpoint."""
        self.load_policy_state(data["policy"])
        if data["obs_normalizer"] is not None:
            self.obs_normalizer.stats.load_state_dict(data["obs_normalizer"])

    def checkpoint_state(self) -> dict[str, Any]:
        """Everything needed to continue training exactly: policy, optimizer, buffers, RNGs, env state."""
        state = self._header()
        state.update(training=self.training_state(), num_timesteps=self.num_timesteps, obs=self.obs, mask=self.mask,
                     episodes=self.episodes, episode_returns=self.episode_returns,
                     episodes_finished=self.episodes_finished,
                     rng={"python": random.getstate(), "numpy": np.random.get_state(),
                          "torch": torch.get_rng_state(), "agent": self.rng.bit_generator.state,
                          "agent_torch": self.torch_rng.get_state()},
                     envs=self._pickled_envs())
        return state

    def load_checkpoint_state(self, state: dict[str, Any]) -> None:
        self.load_saved_policy(state)
        self.load_training_state(state["training"])
        self.num_timesteps = state["num_timesteps"]  # the budget is the trainer's (start)
        self.episodes_finished = state.get("episodes_finished", 0)  # absent from checkpoints before 2026-12-04
        random.setstate(state["rng"]["python"])
        np.random.set_state(state["rng"]["numpy"])
        torch.set_rng_state(state["rng"]["torch"])
        self.rng.bit_generator.state = state["rng"]["agent"]
        self.torch_rng.set_state(state["rng"]["agent_torch"])
        if state["envs"] is not None:
            self.envs.close()
            self.envs, self.stepper = pickle.loads(state["envs"])
            self.obs, self.mask = state["obs"], state["mask"]
            self.episodes, self.episode_returns = state["episodes"], state["episode_returns"]
        else:
            warnings.warn("the environment state could not be saved (async, ray or constructor-pickled envs); "
                          "resuming starts fresh episodes, so the run will not match an uninterrupted one")
            self.episode_returns = state["episode_returns"]
            self._reset_envs(self.seed + self.num_timesteps)

    def _pickled_envs(self) -> bytes | None:
        """The vector env (and stepper) pickled with full state, or None when that state cannot be captured."""
        if isinstance(self.envs, (AsyncVectorEnv, RayVectorEnv)):
            return None  # the envs live in subprocesses or Ray actors
        if isinstance(self.envs, SyncVectorEnv) and any(isinstance(e.unwrapped, EzPickle) for e in self.envs.envs):
            return None  # EzPickle envs (MuJoCo, Box2D) rebuild from constructor arguments, losing their state
        try:
            return pickle.dumps((self.envs, self.stepper))
        except Exception:  # noqa: BLE001 - any unpicklable env falls back to a fresh reset on resume
            return None

    # --- the trainer's contract ----------------------------------------------------------------------------
    @property
    def progress(self) -> int:
        return self.num_timesteps

    def start(self, total: int) -> None:
        if self.envs is None:
            raise ValueError("this agent was loaded for inference; create it with an env to train")
        self.total_timesteps = total

    def evaluate(self, seed: int) -> dict[str, float]:
        if self.env_id is None:  # built on a vector env object: no id to make evaluation envs from
            return {}
        env_kwargs = self.env_kwargs | self.config.eval_env_kwargs
        return evaluate(self, self.env_id, self.config.eval_episodes, seed, env_kwargs).to_dict(with_ci=False)

    def rollout_metrics(self) -> dict[str, float]:
        if not self.episode_returns:
            return {}
        return {"rollout/ep_return_mean": float(np.mean(self.episode_returns)),
                "rollout/episodes": float(self.episodes_finished)}

    def close(self) -> None:
        if self.envs is not None:
            self.envs.close()
