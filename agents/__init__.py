"""Algorithms and the shared training backbone; nothing domain-specific lives here."""

from appliedrl.agents.base import Agent
from appliedrl.agents.config import AgentConfig, ConfigError
from appliedrl.agents.dqn import DQN, DQNConfig
from appliedrl.agents.evaluation import EvalResult, Policy, evaluate
from appliedrl.agents.ppo import A2C, PPO, A2CConfig, PPOConfig

AGENTS: dict[str, type[Agent]] = {cls.name: cls for cls in (PPO, A2C, DQN)}

__all__ = ["AGENTS", "A2C", "A2CConfig", "Agent", "AgentConfig", "ConfigError", "DQN", "DQNConfig", "EvalResult",
           "PPO", "PPOConfig", "Policy", "evaluate"]
