"""Trading domain: optimal execution (Almgren–Chriss with time-varying liquidity) for Double DQN."""

from appliedrl.domains.registry import Baseline, Domain, Metric, Setting
from appliedrl.domains.trading.execution import BASELINES as EXECUTION_BASELINES

EXECUTION_ID = "appliedrl/OptimalExecution-v0"

DOMAIN = Domain(
    "trading", "optimal execution (Almgren–Chriss; Macrì & Lillo): Double DQN against closed-form schedules",
    baselines=tuple(Baseline(name, make, (EXECUTION_ID,), description=make.__doc__ or "")
                    for name, make in EXECUTION_BASELINES.items()),
    settings=(
        Setting("execution_constant", EXECUTION_ID, {}),
        Setting("execution_deterministic", EXECUTION_ID, {"liquidity": "deterministic"}),
        Setting("execution_stochastic", EXECUTION_ID, {"liquidity": "stochastic"}),
        Setting("execution_risk_neutral", EXECUTION_ID, {"risk_aversion": 0.0}),
    ),
    agents=("dqn",),
    metric=Metric("objective", higher_is_better=False),
)
