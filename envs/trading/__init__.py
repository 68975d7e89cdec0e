"""Trading: Almgren–Chriss optimal execution with time-varying liquidity."""

from appliedrl.envs.trading.execution import (ExecutionParams, OptimalExecutionEnv, OptimalExecutionVectorEnv,
                                              almgren_chriss_holdings, schedule_cost)

__all__ = ["ExecutionParams", "OptimalExecutionEnv", "OptimalExecutionVectorEnv", "almgren_chriss_holdings",
           "schedule_cost"]
