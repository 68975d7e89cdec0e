"""Trading: Almgren–Chriss optimal execution with time-varying liquidity, and market making on a model or a
replayed limit-order book."""

from appliedrl.envs.trading.execution import (ExecutionParams, OptimalExecutionEnv, OptimalExecutionVectorEnv,
                                              almgren_chriss_holdings, schedule_cost)
from appliedrl.envs.trading.market_making import MarketMakingEnv, MarketMakingVectorEnv

__all__ = ["ExecutionParams", "MarketMakingEnv", "MarketMakingVectorEnv", "OptimalExecutionEnv",
           "OptimalExecutionVectorEnv", "almgren_chriss_holdings", "schedule_cost"]
