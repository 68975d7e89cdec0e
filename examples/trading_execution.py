"""Train Double DQN to sell a block of shares (Almgren–Chriss with time-varying liquidity), then compare its cost
with TWAP and the Almgren–Chriss schedule on the same seeded price paths.

Run: `python examples/trading_execution.py` (under a minute; the recipe's full budget, 800,000 steps, is what
docs/trading.md reports). Add keywords to ENV_KWARGS for other instances, e.g. {"liquidity": "deterministic"}.
"""

import shutil
from pathlib import Path

from appliedrl.runner import RunSpec, evaluate, run

ENV_ID, ENV_KWARGS, STEPS, SEED, EPISODES = "appliedrl/OptimalExecution-v0", {}, 50_000, 0, 2_000
RUN_DIR = Path("runs/example-execution")

shutil.rmtree(RUN_DIR, ignore_errors=True)
summary = run(RunSpec(ENV_ID, "dqn", SEED, STEPS, ENV_KWARGS, run_dir=RUN_DIR))
print(f"{'policy':<26}{'E[IS] + λ·variance ($)':>24}{'mean return':>14}")
for policy in (str(RUN_DIR), "baseline:twap", "baseline:almgren-chriss"):
    result = evaluate(policy, ENV_ID, ENV_KWARGS, episodes=EPISODES, seed=SEED).result
    print(f"{policy:<26}{result.metrics['objective']:>24,.0f}{result.mean:>14.3f}")
