"""Trading domain: market making (Cartea–Jaimungal–Penalva optimum, Avellaneda–Stoikov, fixed depth) with PPO."""

from appliedrl.domains.registry import Baseline, Domain, Metric, Setting
from appliedrl.domains.trading.market_making import baseline_factories

MARKET_MAKING = "appliedrl/MarketMaking-v0"

DOMAIN = Domain(
    "trading", "market making on a limit order book (Cartea–Jaimungal–Penalva model, LOBSTER replay) with PPO",
    baselines=tuple(Baseline(name, make, (MARKET_MAKING,), description=(make.__doc__ or "").split("\n")[0])
                    for name, make in baseline_factories().items()),
    settings=(Setting("market_making", MARKET_MAKING, {}),),
    agents=("ppo",),
    metric=Metric("mean_return"),
)
