"""PPO against the market-making baselines on the same seeded episodes (the CJP objective, higher is better).

    python benchmarks/trading_market_making.py --seeds 0 1 2 3 4 --steps 2000000 --episodes 10000
    python benchmarks/trading_market_making.py --env-kw fill_decay=1.5 --env-kw volatility=0.2 --seeds 0
    python benchmarks/trading_market_making.py --env-kw mode=replay --env-kw actions=grid \
        --rewards pnl trade_completion dsr asymmetric --seeds 0 --steps 300000 --episodes 2000

PPO trains with the tuned recipe (domains/recipes/ppo.appliedrl__MarketMaking-v0.yaml) plus `--set` overrides
and its best evaluated policy (RUN/best, chosen on the trainer's own evaluation episodes) is benchmarked; every
policy is evaluated on the same `--episodes` episodes (common random numbers, seed `--eval-seed`), and
the table gives each one's mean objective with its 95% interval, its ratio to the first baseline (the
Cartea–Jaimungal optimum in model mode), the mean PnL per episode ("daily" return), its standard deviation and the
PnL per unit filled (per-trade return); with `--env-kw running_penalty=0 --env-kw terminal_penalty=0` the
objective is the PnL and its std the std of the daily returns. `--rewards` trains one PPO per reward function
(the paper's comparison).
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from datetime import date

import gymnasium as gym
import numpy as np

import appliedrl  # noqa: F401
from appliedrl.agents import PPO, evaluate
from appliedrl.agents.checkpoint import CHECKPOINT_FILE
from appliedrl.agents.config import parse_assignments
from appliedrl.agents.trainer import train
from appliedrl.domains.trading.market_making import baseline_factories
from appliedrl.runner import RunSpec, resolve

ENV_ID = "appliedrl/MarketMaking-v0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-kw", action="append", help="env keyword, e.g. --env-kw fill_decay=1.5")
    parser.add_argument("--set", action="append", help="PPO config override, e.g. --set learning_rate=1e-3")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0], help="PPO training seeds (none: baselines only)")
    parser.add_argument("--steps", type=int, help="PPO training steps per seed (default: the recipe's budget, 2M)")
    parser.add_argument("--episodes", type=int, default=10_000, help="evaluation episodes per policy")
    parser.add_argument("--eval-seed", type=int, default=12345)
    parser.add_argument("--rewards", nargs="*", help="train PPO with each of these rewards (default: --env-kw's, "
                                                     "else the recipe's)")
    args = parser.parse_args()
    env_kwargs = parse_assignments(args.env_kw, "--env-kw")
    _, config, budget, _ = resolve(RunSpec(ENV_ID, "ppo", env_kwargs=env_kwargs,
                                           overrides={"tensorboard": False} | parse_assignments(args.set)))
    steps = args.steps or budget
    print(f"# {date.today()} {platform.processor() or platform.machine()}, env_kwargs={env_kwargs}, "
          f"episodes={args.episodes}, eval seed={args.eval_seed}")

    eval_kwargs = env_kwargs | {"reward": "pnl"}  # every policy's returns are then its objective
    env = gym.make(ENV_ID, **env_kwargs).unwrapped
    rows = []
    for name, make in baseline_factories().items():
        if env.action_space.shape != (2,) and name not in ("fixed-depth", "random"):
            continue  # the CJP and AS quotes need depth actions
        result = evaluate(make(env, 0), ENV_ID, args.episodes, args.eval_seed, eval_kwargs, max_parallel=1000)
        rows.append((name, result, 0.0))
    for reward in args.rewards or [(config.env_kwargs | env_kwargs).get("reward", "pnl")]:
        kwargs = env_kwargs | {"reward": reward}  # over the recipe's env_kwargs
        for seed in args.seeds:
            start = time.perf_counter()
            agent = PPO(ENV_ID, config, seed, kwargs)
            with tempfile.TemporaryDirectory() as run_dir:
                summary = train(agent, steps, run_dir=run_dir, progress_bar=False)
                minutes = (time.perf_counter() - start) / 60
                final = evaluate(agent, ENV_ID, args.episodes, args.eval_seed, eval_kwargs, max_parallel=1000)
                best = PPO.load(f"{run_dir}/best/{CHECKPOINT_FILE}") if summary["best_at"] is not None else agent
            result = evaluate(best, ENV_ID, args.episodes, args.eval_seed, eval_kwargs, max_parallel=1000)
            rows.append((f"ppo {reward} seed {seed}", result, minutes))
            print(f"{rows[-1][0]}: {result.mean:.4f} (best, at {summary['best_at']} steps; the final policy after "
                  f"{steps} steps {final.mean:.4f}), {minutes:.1f} min", flush=True)

    reference = rows[0][1]
    print(f"\n| policy | mean objective | 95% CI | std | / {rows[0][0]} | paired difference [95% CI] | "
          f"PnL per episode | PnL per fill | train min |\n|---|---|---|---|---|---|---|---|---|")
    for name, result, minutes in rows:
        low, high = result.confidence_interval()
        pnl, fills = result.metrics["pnl"], result.metrics["fills"]
        # the same episodes in the same order (common random numbers): a paired difference
        difference = result.returns - reference.returns
        half = 1.96 * difference.std(ddof=1) / np.sqrt(len(difference))
        print(f"| {name} | {result.mean:.4f} | [{low:.4f}, {high:.4f}] | {result.std:.4f} | "
              f"{result.mean / reference.mean:.2%} | {difference.mean():+.4f} [{difference.mean() - half:+.4f}, "
              f"{difference.mean() + half:+.4f}] | {pnl:.4f} | {pnl / max(fills, 1e-12):.4f} | {minutes:.1f} |")


if __name__ == "__main__":
    main()
