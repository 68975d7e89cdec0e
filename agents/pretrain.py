"""Pre-training from demonstrations: roll out any policy, fit an actor-critic agent to it, then train online.

`collect_demonstrations` records what a policy (a heuristic baseline or a trained run) does over seeded episodes;
`PPO.fit_demonstrations` fits the actor by (masked) cross-entropy or mean regression and the critic by Monte-Carlo
returns; `pretrain_agent` is the trainer's hook that does both at the start of a fresh run (`pretrain_from`) and
keeps the pre-trained policy in RUN/pretrained/ (evaluate it like RUN/best/).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from appliedrl.agents.base import Algorithm
from appliedrl.agents.checkpoint import CHECKPOINT_FILE
from appliedrl.agents.config import ConfigError
from appliedrl.agents.evaluation import Policy
from appliedrl.agents.logger import MetricsLogger
from appliedrl.agents.ppo import PPO
from appliedrl.agents.vec_env import VecStepper, action_mask_from_info, make_vec_env

DEMONSTRATION_SEED_OFFSET = 2_000_000  # demonstrations never reuse training or evaluation seeds
RECORD_FILE = "pretrain.json"
PRETRAINED_FOLDER = "pretrained"  # RUN/pretrained/agent.pt: the policy right after pre-training


@dataclasses.dataclass
class Demonstrations:
    """Transitions of whole episodes, stored episode after episode; `episode` gives each transition's episode.

    `returns` are the discounted returns-to-go, cut where the episode ended; for an episode that ended by
    truncation (a time limit) the cut tail is worth `tail_discount` × V(`final_obs` of its episode), which a
    critic fit can bootstrap (`tail_discount` is 0 where the episode terminated).
    """

    obs: np.ndarray  # [N, *obs_shape], as the env gave them
    actions: np.ndarray  # [N, ...], as the env takes them
    masks: np.ndarray | None  # [N, mask_dim] legal actions, or None when the env gives no masks
    rewards: np.ndarray  # [N]
    returns: np.ndarray  # [N]
    tail_discount: np.ndarray  # [N]
    episode: np.ndarray  # [N] episode index
    final_obs: np.ndarray  # [episodes, *obs_shape]: each episode's last observation
    episode_returns: np.ndarray  # [episodes], undiscounted
    episode_lengths: np.ndarray  # [episodes]
    gamma: float  # the discount of `returns`

    @property
    def mean_length(self) -> float:
        return float(self.episode_lengths.mean())

    def running_returns(self, gamma: float) -> np.ndarray:
        """Discounted sums of the rewards so far in each episode, R_t = γ R_{t-1} + r_t (what RewardScaler tracks)."""
        sums, running = np.empty(len(self.rewards)), 0.0
        for t, reward in enumerate(self.rewards):
            running = reward + (gamma * running if t and self.episode[t] == self.episode[t - 1] else 0.0)
            sums[t] = running
        return sums


def collect_demonstrations(policy: Policy, env_id: str, env_kwargs: dict | None, episodes: int, seed: int,
                           gamma: float, n_envs: int = 8) -> Demonstrations:
    """Run `episodes` seeded episodes of `env_id` with `policy` acting deterministically and record them.

    Episodes are spread evenly over the parallel envs, each running a fixed quota (as `evaluate` does), so short
    episodes are not over-represented; NEXT_STEP autoreset's reset steps are no transitions and are dropped.
    Returns-to-go stop where an episode ends, by termination or truncation alike (see `Demonstrations`).
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    n = min(episodes, n_envs)
    quota = np.full(n, episodes // n) + (np.arange(n) < episodes % n)
    envs = make_vec_env(env_id, n, "auto", env_kwargs)
    stepper = VecStepper(envs)
    running = [_Episode() for _ in range(n)]
    finished: list[_Episode] = []
    try:
        obs, info = stepper.reset(seed=seed)
        mask = action_mask_from_info(info, n)
        while (quota > 0).any():  # quota: episodes each env still has to record
            actions = np.asarray(policy.predict(obs, mask=mask, deterministic=True))
            step = stepper.step(actions)
            last = step.last_obs(step.done)
            for i in np.flatnonzero(step.valid & (quota > 0)):
                episode = running[i]
                episode.add(obs[i], actions[i], None if mask is None else mask[i], step.rewards[i])
                if step.done[i]:
                    episode.end(last[i], truncated=bool(step.truncated[i] and not step.terminated[i]))
                    finished.append(episode)
                    running[i] = _Episode()
                    quota[i] -= 1
            obs, mask = step.obs, action_mask_from_info(step.info, n)
    finally:
        envs.close()
    return _stack(finished, gamma)


class _Episode:
    """One episode being recorded (copies: a vector env may reuse its arrays)."""

    def __init__(self) -> None:
        self.obs, self.actions, self.masks, self.rewards = [], [], [], []
        self.final_obs: np.ndarray | None = None
        self.truncated = False

    def add(self, obs: np.ndarray, action: np.ndarray, mask: np.ndarray | None, reward: float) -> None:
        self.obs.append(np.array(obs))
        self.actions.append(np.array(action))
        self.masks.append(None if mask is None else np.array(mask))
        self.rewards.append(float(reward))

    def end(self, final_obs: np.ndarray, truncated: bool) -> None:
        self.final_obs, self.truncated = np.array(final_obs), truncated

    def returns_to_go(self, gamma: float) -> np.ndarray:
        """G_t = r_t + γ G_{t+1}, with G = 0 after the last step."""
        returns, g = np.empty(len(self.rewards)), 0.0
        for t in range(len(self.rewards) - 1, -1, -1):
            g = self.rewards[t] + gamma * g
            returns[t] = g
        return returns


def _stack(finished: list[_Episode], gamma: float) -> Demonstrations:
    lengths = np.array([len(e.rewards) for e in finished])
    masks = [m for e in finished for m in e.masks]
    # a truncated episode's step t is γ^(T - t) away from the value of its last observation
    tails = [gamma ** np.arange(len(e.rewards), 0, -1) * e.truncated for e in finished]
    return Demonstrations(
        obs=np.stack([o for e in finished for o in e.obs]), actions=np.stack([a for e in finished for a in e.actions]),
        masks=None if masks[0] is None else np.stack(masks),
        rewards=np.array([r for e in finished for r in e.rewards], np.float32),
        returns=np.concatenate([e.returns_to_go(gamma) for e in finished]).astype(np.float32),
        tail_discount=np.concatenate(tails).astype(np.float32),
        episode=np.repeat(np.arange(len(finished)), lengths), final_obs=np.stack([e.final_obs for e in finished]),
        episode_returns=np.array([sum(e.rewards) for e in finished]), episode_lengths=lengths, gamma=gamma)


def pretrain_agent(agent: Algorithm, demonstrator: Policy | None, run_dir: Path | None = None,
                   logger: MetricsLogger | None = None) -> dict[str, Any] | None:
    """The trainer's hook: when the config names `pretrain_from`, collect the demonstrator's episodes on the
    agent's env and fit the agent to them; returns the record for summary.json (also written to run_dir), or
    None when the config asks for no pre-training."""
    source = getattr(agent.config, "pretrain_from", None)
    if (source is None and demonstrator is None) or agent.progress > 0:
        return None  # nothing to imitate, or an agent that has trained (a second learn() call) goes on as it is
    if not isinstance(agent, PPO):
        raise ConfigError(f"pre-training from demonstrations supports ppo, a2c and reinforce, not {agent.name}")
    if source is None:
        raise ValueError("train() got a demonstrator but the config's pretrain_from is not set; set it to name "
                         "what is imitated (e.g. baseline:newsvendor or a run folder)")
    if demonstrator is None:
        raise ValueError(f"pretrain_from={source!r} is set but train() got no demonstrator; resolve it into a "
                         "policy and pass train(..., demonstrator=policy)")
    if agent.env_id is None:
        raise ValueError("pre-training collects demonstrations on the agent's env: create the agent from an env id")
    cfg = agent.config
    demos = collect_demonstrations(demonstrator, agent.env_id, agent.env_kwargs, cfg.pretrain_episodes,
                                   agent.seed + DEMONSTRATION_SEED_OFFSET, cfg.gamma, cfg.n_envs)
    fitted = agent.fit_demonstrations(demos, cfg.pretrain_epochs, cfg.pretrain_batch_size,
                                      cfg.pretrain_learning_rate)
    record = {"source": source, "episodes": len(demos.episode_returns), "transitions": len(demos.returns),
              "demonstrator_mean_return": float(demos.episode_returns.mean()),
              "demonstrator_mean_length": demos.mean_length, **fitted}
    if logger is not None:
        logger.log(agent.progress, {f"pretrain/{k}": v for k, v in record.items() if k != "source"})
    if run_dir is not None:
        (run_dir / RECORD_FILE).write_text(json.dumps(record, indent=2) + "\n")
        agent.save(run_dir / PRETRAINED_FOLDER / CHECKPOINT_FILE)  # the supervised stage, evaluable on its own
    return record


def read_pretrain_record(run_dir: Path | None) -> dict[str, Any] | None:
    """The record `pretrain_agent` wrote for this run, so a resumed run reports it without fitting again."""
    path = None if run_dir is None else run_dir / RECORD_FILE
    return json.loads(path.read_text()) if path is not None and path.is_file() else None
