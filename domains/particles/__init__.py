"""Particle worlds paired with agents: heuristic baselines and MADDPG's batched worlds."""

from appliedrl.domains.particles.baselines import (ChaseTag, CoverAdversary, GreedySpread, NoOpPolicy,
                                                   RandomParticlePolicy, steer)
from appliedrl.agents.maddpg import MADDPG, MADDPGConfig
from appliedrl.domains.particles.picture import particles_picture
from appliedrl.domains.registry import Baseline, Domain, Setting
from appliedrl.envs.multiagent import make_multiagent


def make_maddpg(env_id: str, env_kwargs: dict, config: MADDPGConfig, seed: int) -> MADDPG:
    """MADDPG on `config.n_envs` batched copies of the world, evaluated on up to 100 more."""
    envs = make_multiagent(env_id, config.n_envs, config.device, **env_kwargs)
    eval_envs = make_multiagent(env_id, min(config.eval_episodes, 100), config.device, **env_kwargs)
    return MADDPG(envs, config, seed, env_id, env_kwargs, eval_envs)


def _both(scenario: str) -> tuple[str, ...]:
    """Our batched world and mpe2's of one scenario."""
    return (f"particles/{scenario}", f"mpe2/{scenario}")


PARALLEL = ("parallel",)
DOMAIN = Domain(
    "particles", "multi-agent particle worlds (mpe2's twelve scenarios), MADDPG",
    baselines=(
        Baseline("random", RandomParticlePolicy, kinds=PARALLEL, description="uniformly random actions"),
        Baseline("noop", NoOpPolicy, kinds=PARALLEL, description="no movement"),
        Baseline("greedy-spread", GreedySpread, _both("simple_spread_v3"), PARALLEL,
                 "each agent steers to a landmark of an optimal assignment"),
        Baseline("chase-tag", ChaseTag, _both("simple_tag_v3"), PARALLEL, "predators chase, prey flees"),
        Baseline("cover-adversary", CoverAdversary, _both("simple_adversary_v3"), PARALLEL,
                 "good agents cover both landmarks, the adversary guesses"),
    ),
    agent_builders={"maddpg": make_maddpg},
    settings=(Setting("spread", "particles/simple_spread_v3"),
              Setting("speaker_listener", "particles/simple_speaker_listener_v4")),
    agents=("maddpg",),
    picture=particles_picture,
)

__all__ = ["DOMAIN", "steer"]
