"""Trading domain: market making (Cartea–Jaimungal–Penalva optimum, Avellaneda–Stoikov, fixed depth) with PPO."""

from appliedrl.domains.registry import Baseline, Domain, Metric, Setting
from appliedrl.domains.trading.market_making import baseline_factories

MARKET_MAKING = "appliedrl/MarketMaking-v0"
DESCRIPTIONS = {
    "cartea-jaimungal": "the optimal quotes of the CJP model (tridiagonal ODE system, matrix exponential)",
    "avellaneda-stoikov": "quotes around the reservation price with Avellaneda-Stoikov's spread (gamma 0.1)",
    "fixed-depth": "both quotes at depth 1/kappa (replay: the best quotes)",
    "random": "uniformly random depths or grid actions",
}

DOMAIN = Domain(
    "trading", "market making on a limit order book (Cartea–Jaimungal–Penalva model, LOBSTER replay) with PPO",
    baselines=tuple(Baseline(name, make, (MARKET_MAKING,), description=DESCRIPTIONS[name])
                    for name, make in baseline_factories().items()),
    settings=(
        Setting("market_making", MARKET_MAKING, {}),
        Setting("market_making_replay", MARKET_MAKING,
                {"mode": "replay", "actions": "grid", "running_penalty": 0.0, "terminal_penalty": 0.0}),
    ),
    agents=("ppo",),
    metric=Metric("mean_return"),
)
