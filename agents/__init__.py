"""Algorithms and the shared training backbone; nothing domain-specific lives here."""

from appliedrl.agents.base import Agent
from appliedrl.agents.config import AgentConfig, ConfigError
from appliedrl.agents.dqn import DQN, DQNConfig
from appliedrl.agents.evaluation import EvalResult, Policy, evaluate
from appliedrl.agents.hdpo import HDPO, HDPOConfig
from appliedrl.agents.maddpg import MADDPG, MADDPGConfig
from appliedrl.agents.ppo import A2C, PPO, REINFORCE, A2CConfig, PPOConfig, REINFORCEConfig

# Env-stepping agents (Agent subclasses), HDPO (differentiates through a simulator instead) and MADDPG (trains
# on batched multi-agent envs).
AGENTS: dict[str, type[Agent] | type[HDPO] | type[MADDPG]] = {
    cls.name: cls for cls in (PPO, A2C, REINFORCE, DQN, HDPO, MADDPG)}

__all__ = ["AGENTS", "A2C", "A2CConfig", "Agent", "AgentConfig", "ConfigError", "DQN", "DQNConfig", "EvalResult",
           "HDPO", "HDPOConfig", "MADDPG", "MADDPGConfig", "PPO", "PPOConfig", "Policy", "REINFORCE", "REINFORCEConfig", "evaluate"]
