"""Trading environments: market making on a model or a replayed limit-order book."""

from appliedrl.envs.trading.market_making import MarketMakingEnv, MarketMakingVectorEnv

__all__ = ["MarketMakingEnv", "MarketMakingVectorEnv"]
