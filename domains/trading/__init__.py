"""Trading domain: optimal execution (Almgren–Chriss with time-varying liquidity) for Double DQN, and market
making (Cartea–Jaimungal–Penalva optimum, Avellaneda–Stoikov, fixed depth) for PPO."""

from typing import Any

from matplotlib.figure import Figure

from appliedrl.domains.registry import Baseline, Domain, Metric, Setting
from appliedrl.domains.trading.execution import BASELINES as EXECUTION_BASELINES
from appliedrl.domains.trading.market_making import baseline_factories
from appliedrl.domains.trading.picture import execution_picture, market_making_picture

EXECUTION_ID = "appliedrl/OptimalExecution-v0"
MARKET_MAKING = "appliedrl/MarketMaking-v0"
MARKET_MAKING_DESCRIPTIONS = {
    "cartea-jaimungal": "the optimal quotes of the CJP model (tridiagonal ODE system, matrix exponential)",
    "avellaneda-stoikov": "quotes around the reservation price with Avellaneda-Stoikov's spread (gamma 0.1)",
    "fixed-depth": "both quotes at depth 1/kappa (replay: the best quotes)",
    "random": "uniformly random depths or grid actions",
}


def trading_picture(setting: Setting, policies: dict[str, Any], seed: int) -> Figure:
    """Execution schedules against the Almgren–Chriss curve, or market makers' quotes against inventory."""
    draw = {EXECUTION_ID: execution_picture, MARKET_MAKING: market_making_picture}[setting.env_id]
    return draw(setting, policies, seed)


DOMAIN = Domain(
    "trading", "optimal execution (Almgren–Chriss; Macrì & Lillo) with Double DQN against closed-form schedules, "
    "and market making on a limit order book (CJP model, LOBSTER replay) with PPO",
    baselines=tuple(Baseline(name, make, (EXECUTION_ID,), description=make.__doc__ or "")
                    for name, make in EXECUTION_BASELINES.items())
    + tuple(Baseline(name, make, (MARKET_MAKING,), description=MARKET_MAKING_DESCRIPTIONS[name])
            for name, make in baseline_factories().items()),
    settings=(
        Setting("execution_constant", EXECUTION_ID, {}, agents=("dqn",)),
        Setting("execution_deterministic", EXECUTION_ID, {"liquidity": "deterministic"}, agents=("dqn",)),
        Setting("execution_stochastic", EXECUTION_ID, {"liquidity": "stochastic"}, agents=("dqn",)),
        Setting("execution_risk_neutral", EXECUTION_ID, {"risk_aversion": 0.0}, agents=("dqn",)),
        Setting("market_making", MARKET_MAKING, {}, agents=("ppo",)),
        Setting("market_making_replay", MARKET_MAKING,
                {"mode": "replay", "actions": "grid", "running_penalty": 0.0, "terminal_penalty": 0.0},
                agents=("ppo",), baselines=("fixed-depth", "random")),  # the others need the model's quotes
    ),
    agents=("dqn", "ppo"),
    metric=Metric("mean_return"),
    env_metrics={EXECUTION_ID: Metric(
        "objective", higher_is_better=False,
        description="implementation shortfall + risk aversion × variance proxy, in dollars; the return is "
                    "−objective / reward_scale (the Almgren–Chriss optimum's avoidable cost; in expectation "
                    "with the default denoised reward)")},
    picture=trading_picture,
)
