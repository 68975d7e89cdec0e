"""Vector-environment construction and the step bookkeeping every collector shares.

Both of Gymnasium 1.x's autoreset modes are handled. SAME_STEP (used for the sync/async wrappers built here):
the step that ends an episode returns the next episode's first observation, the finished episode's last one sits
in `info["final_obs"]`. NEXT_STEP (the default of native vector envs such as CartPoleVectorEnv): the step after a
done only resets that env. `VecStep` hides the difference; bootstrapping from the true last observation on
truncation keeps a time limit from looking like a terminal state.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import multiprocessing
import signal
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv, VectorEnv

from appliedrl.agents.networks import flatten_observations


VECTORIZATIONS = ("auto", "sync", "async", "vector_entry_point", "ray")


class UnknownEnvError(ValueError):
    """An environment id Gymnasium does not know; the message lists close and registered choices."""


class NonFiniteError(RuntimeError):
    """An environment returned NaN or inf."""


def check_env_id(env_id: str) -> None:
    """Raise UnknownEnvError naming close matches when `env_id` is not registered with Gymnasium."""
    if ":" in env_id:  # "module:Env-v0" registers by importing the module inside gym.make
        return
    if env_id in gym.registry:
        return
    ours = sorted(k for k in gym.registry if k.startswith("appliedrl/"))
    close = difflib.get_close_matches(env_id, list(gym.registry), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    listing = f"; appliedrl environments: {', '.join(ours)}" if ours else ""
    raise UnknownEnvError(f"unknown environment {env_id!r}{hint}{listing} (any registered Gymnasium id works)")


def make_vec_env(env_id: str, n_envs: int, vectorization: str = "auto", env_kwargs: dict | None = None,
                 rollout_workers: int | None = None) -> VectorEnv:
    """`n_envs` copies of `env_id` as one vector env.

    "auto" uses the env's own batched implementation (its `vector_entry_point`) when it registers one, else
    "sync"; "sync" and "async" wrap single envs (async: one subprocess each) with SAME_STEP autoreset; "ray"
    splits the copies over `rollout_workers` Ray actors, each a "sync" vector env (ray_vec_env.RayVectorEnv).
    """
    check_env_id(env_id)
    route_mujoco_messages(env_id)
    env_kwargs = env_kwargs or {}
    if vectorization == "auto":
        spec = gym.spec(env_id) if ":" not in env_id else None
        vectorization = "vector_entry_point" if spec is not None and spec.vector_entry_point else "sync"
    if vectorization == "vector_entry_point":
        return gym.make_vec(env_id, n_envs, vectorization_mode="vector_entry_point", **env_kwargs)
    make_one = functools.partial(gym.make, env_id, **env_kwargs)
    if vectorization == "sync":
        return SyncVectorEnv([make_one] * n_envs, autoreset_mode=AutoresetMode.SAME_STEP)
    if vectorization == "async":
        make_in_worker = functools.partial(_make_ignoring_ctrl_c, env_id, env_kwargs)
        return AsyncVectorEnv([make_in_worker] * n_envs, autoreset_mode=AutoresetMode.SAME_STEP)
    if vectorization == "ray":
        from appliedrl.agents.ray_vec_env import RayVectorEnv  # it imports this module

        return RayVectorEnv(env_id, n_envs, env_kwargs, rollout_workers)
    raise ValueError(f"unknown vectorization {vectorization!r}; valid choices: {', '.join(VECTORIZATIONS)}")


def _make_ignoring_ctrl_c(env_id: str, env_kwargs: dict[str, Any]) -> gym.Env:
    """gym.make for an async worker: a terminal's Ctrl-C reaches the workers too, and the main process, not
    they, decides when to stop (it finishes the iteration, saves and closes them)."""
    if multiprocessing.parent_process() is not None:  # AsyncVectorEnv also calls this once in the main process
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    route_mujoco_messages(env_id)
    return gym.make(env_id, **env_kwargs)


def route_mujoco_messages(env_id: str) -> None:
    """For Gymnasium's MuJoCo envs, hand MuJoCo's warnings to Python's `warnings` module. MuJoCo's default handler
    prints each one for every model compiled (every env copy) and appends it to MUJOCO_LOG.TXT in the working
    folder; as Python warnings they show once per message, can be filtered, and leave no file behind."""
    spec = gym.spec(env_id) if ":" not in env_id else None
    if spec is None or not str(spec.entry_point).startswith("gymnasium.envs.mujoco"):
        return
    import mujoco

    mujoco.set_mju_user_warning(_warn_from_mujoco)


def _warn_from_mujoco(message: str) -> None:
    # A deprecation in a model file (Gymnasium's half_cheetah.xml sets `settotalmass`, deprecated since MuJoCo
    # 3.16) is for the file's authors, not for whoever trains on it: as a DeprecationWarning raised here, Python
    # shows it only when asked (-W default, pytest), as it does other libraries' deprecations.
    category = DeprecationWarning if "deprecated" in message else RuntimeWarning
    warnings.warn(f"MuJoCo: {message.strip()}", category)


def autoreset_mode(envs: VectorEnv) -> AutoresetMode:
    mode = envs.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
    if mode not in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
        raise ValueError(f"vector env uses autoreset mode {mode}; the collectors need NEXT_STEP or SAME_STEP")
    return mode


def action_mask_from_info(info: dict[str, Any], n_envs: int) -> np.ndarray | None:
    """The stacked `info["action_mask"]` as booleans, or None when the env gives no masks."""
    mask = info.get("action_mask")
    if mask is None:
        return None
    mask = np.asarray(mask, dtype=bool)
    present = info.get("_action_mask")
    if present is not None and not np.all(present):
        mask = mask.copy()
        mask[~present] = True
    return mask.reshape(n_envs, -1)


@dataclasses.dataclass
class VecStep:
    """One vector step, made uniform over both autoreset modes.

    `obs` is what to act on next. `valid[i]` is False for NEXT_STEP's reset step (the env ignored the action and
    only started a new episode): such rows are not transitions and collectors drop them. `last_obs` gives the true
    final observation of episodes that ended (for bootstrapping on truncation).
    """

    obs: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    info: dict[str, Any]
    valid: np.ndarray
    same_step: bool

    @property
    def done(self) -> np.ndarray:
        return self.terminated | self.truncated

    def last_obs(self, rows: np.ndarray) -> np.ndarray:
        """Observations after the step, with the final observation of the episode where `rows` ended."""
        if not self.same_step or not rows.any():
            return self.obs
        real = self.obs.copy()
        for i in np.flatnonzero(rows):
            real[i] = self.info["final_obs"][i]
        return real

    def last_masks(self, n_envs: int) -> np.ndarray | None:
        """Action masks of the states after the step (the final state where an episode ended)."""
        masks = action_mask_from_info(self.info, n_envs)
        done = self.done
        if masks is None or not self.same_step or not done.any() or "final_info" not in self.info:
            return masks
        final = action_mask_from_info(self.info["final_info"], n_envs)
        if final is not None:
            masks = masks.copy()
            masks[done] = final[done]
        return masks


class VecStepper:
    """Steps a vector env and reports `VecStep`s, tracking which envs are due for NEXT_STEP's reset step.

    With `flatten`, Dict observations (the batch's and the final ones) arrive as flat float32 rows, as the agents'
    buffers and networks take them (appliedrl.agents.networks); policies that read the structure get it as is.
    """

    def __init__(self, envs: VectorEnv, flatten: bool = False) -> None:
        self.envs = envs
        self.same_step = autoreset_mode(envs) == AutoresetMode.SAME_STEP
        self.pending_reset = np.zeros(envs.num_envs, bool)
        space = envs.single_observation_space
        self.dict_space = space if flatten and isinstance(space, spaces.Dict) else None

    def reset(self, seed: int | list[int] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        self.pending_reset[:] = False
        obs, info = self.envs.reset(seed=seed)
        return self._flat(obs), info

    def step(self, actions: np.ndarray) -> VecStep:
        obs, rewards, terminated, truncated, info = self.envs.step(actions)
        valid = ~self.pending_reset
        if not self.same_step:
            self.pending_reset = terminated | truncated
        if self.dict_space is not None and "final_obs" in info:
            info = {**info, "final_obs": np.array([None if o is None else self._flat(o, 1)[0] for o in info["final_obs"]],
                                                  dtype=object)}
        return VecStep(self._flat(obs), np.asarray(rewards, np.float32), np.asarray(terminated, bool),
                       np.asarray(truncated, bool), info, valid, self.same_step)

    def _flat(self, obs: Any, n: int | None = None) -> Any:
        if self.dict_space is None:
            return obs
        return flatten_observations(obs, self.dict_space, self.envs.num_envs if n is None else n)


def check_finite(step: int, **arrays: np.ndarray) -> None:
    for name, array in arrays.items():
        if not np.isfinite(array).all():
            bad = np.argwhere(~np.isfinite(np.asarray(array, dtype=np.float64)))[0]
            raise NonFiniteError(f"environment returned a non-finite {name} at step {step} (env index {bad[0]})")


class EpisodeTracker:
    """Running return and length per env; yields the finished episodes."""

    def __init__(self, n_envs: int) -> None:
        self.returns = np.zeros(n_envs)
        self.lengths = np.zeros(n_envs, np.int64)

    def update(self, rewards: np.ndarray, done: np.ndarray, valid: np.ndarray) -> list[tuple[float, int]]:
        self.returns += rewards * valid
        self.lengths += valid
        if not done.any():
            return []
        finished = [(float(self.returns[i]), int(self.lengths[i])) for i in np.flatnonzero(done)]
        self.returns[done] = 0.0
        self.lengths[done] = 0
        return finished
