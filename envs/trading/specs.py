"""The trading domain's environments."""

from appliedrl.envs.spec import EnvSpec

ENV_SPECS = [
    EnvSpec("appliedrl/OptimalExecution-v0", "single", "trading", "appliedrl.envs.trading:OptimalExecutionEnv",
            vector_entry_point="appliedrl.envs.trading:OptimalExecutionVectorEnv",
            description="Almgren–Chriss optimal execution, constant / deterministic / stochastic liquidity"),
    EnvSpec("appliedrl/MarketMaking-v0", "single", "trading", "appliedrl.envs.trading:MarketMakingEnv",
            vector_entry_point="appliedrl.envs.trading:MarketMakingVectorEnv",
            description="market making: Cartea-Jaimungal-Penalva model or a replayed LOBSTER book (mode=...)"),
]
