"""Double DQN against the optimal-execution baselines on the same seeded episodes: the issue's targets.

    python benchmarks/trading_execution.py --seeds 5                                    # constant liquidity: AC
    python benchmarks/trading_execution.py --seeds 5 --env-kw liquidity=deterministic   # time-varying: the QP
    python benchmarks/trading_execution.py --seeds 5 --env-kw liquidity=stochastic      # latent: beat TWAP and AC
    python benchmarks/trading_execution.py --seeds 5 --env-kw risk_aversion=0           # recovers TWAP
    python benchmarks/trading_execution.py --speed                                      # env steps/s, 1 and 1,024 envs

Each training seed trains DQN with its recipe (domains/recipes, plus --set overrides) for --steps env steps; the
trained policy and every baseline then run the same --episodes evaluation episodes (common random numbers: the
same prices and liquidity), scored by the objective IS + λ σ²τ Σ x_k² in dollars (the realized reward, so each
episode's return is its objective). The schedule baselines run exactly (the Box variant of the env) and on the
discrete grid DQN uses. For each DQN seed the table gives the paired difference to the optimum (AC, the QP for
deterministic liquidity) and to TWAP and static AC, with 95% confidence intervals.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import date

import gymnasium as gym
import numpy as np
from scipy import stats

import appliedrl  # noqa: F401
from appliedrl.agents import DQN, evaluate
from appliedrl.agents.config import parse_assignments
from appliedrl.agents.trainer import train
from appliedrl.domains.registry import baselines_for
from appliedrl.envs.trading import schedule_cost
from appliedrl.runner import RunSpec, resolve

ENV_ID = "appliedrl/OptimalExecution-v0"
EVAL_SEED = 10_000_000  # evaluation episodes never reuse training seeds


def objectives(policy, episodes: int, env_kwargs: dict) -> np.ndarray:
    """Per-episode objective in dollars on the evaluation episodes."""
    env_kwargs = {**env_kwargs, "reward": "realized"}
    scale = gym.make(ENV_ID, **env_kwargs).unwrapped.reward_scale
    return -evaluate(policy, ENV_ID, episodes, EVAL_SEED, env_kwargs, max_parallel=1000).returns * scale


def paired(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Mean of a − b and the half-width of its 95% Student-t interval."""
    diff = a - b
    return float(diff.mean()), float(stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / np.sqrt(len(diff)))


def speed(env_kwargs: dict, seconds: float = 3.0) -> None:
    """Env steps per second of the native vector env at 1 and 1,024 envs, random grid actions."""
    for n in (1, 1024):
        envs = gym.make_vec(ENV_ID, n, vectorization_mode="vector_entry_point", **env_kwargs)
        envs.reset(seed=0)
        actions = np.random.default_rng(0).integers(0, envs.single_action_space.n, (1000, n))
        steps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            envs.step(actions[steps % 1000])
            steps += 1
        print(f"{n:>5} envs: {steps * n / (time.perf_counter() - start):>12,.0f} env steps/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-kw", action="append", metavar="KEY=VALUE", help="keyword argument for the env")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="DQN config override")
    parser.add_argument("--seeds", type=int, default=5, help="training seeds 0..seeds-1")
    parser.add_argument("--steps", type=int, help="training env steps (default: the recipe's budget, 800,000)")
    parser.add_argument("--episodes", type=int, default=10_000, help="evaluation episodes")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--speed", action="store_true", help="only measure env steps/s at 1 and 1,024 envs")
    args = parser.parse_args()
    env_kwargs = parse_assignments(args.env_kw, "--env-kw")
    if args.speed:
        return speed(env_kwargs)
    quiet = {"eval_freq": 0, "tensorboard": False}  # the benchmark evaluates at the end, on its own episodes
    _, config, budget, recipe = resolve(RunSpec(ENV_ID, "dqn", env_kwargs=env_kwargs,
                                                overrides=quiet | parse_assignments(args.set)))
    steps = args.steps or budget
    exact_kwargs = {**env_kwargs, "continuous": True}
    env = gym.make(ENV_ID, **env_kwargs).unwrapped
    exact_env = gym.make(ENV_ID, **exact_kwargs).unwrapped
    baselines = baselines_for(ENV_ID)
    optimum = "qp-optimal" if env.params.liquidity == "deterministic" else "almgren-chriss"

    scores: dict[str, np.ndarray] = {}
    for name in ("twap", "almgren-chriss", "qp-optimal"):
        scores[f"{name} (exact)"] = objectives(baselines[name].make(exact_env, 0), args.episodes, exact_kwargs)
        scores[f"{name} (grid)"] = objectives(baselines[name].make(env, 0), args.episodes, env_kwargs)
    scores["random"] = objectives(baselines["random"].make(env, 0), args.episodes, env_kwargs)
    train_seconds = []
    for seed in range(args.seeds):
        start = time.perf_counter()
        agent = DQN(ENV_ID, config, seed, env_kwargs)
        train(agent, steps, progress_bar=False)
        train_seconds.append(time.perf_counter() - start)
        scores[f"dqn seed {seed}"] = objectives(agent, args.episodes, env_kwargs)

    holdings = baselines[optimum].make(exact_env, 0).holdings
    expected, variance = schedule_cost(env.params, holdings)
    closed_form = expected + env.params.risk_aversion * variance
    print(f"env_kwargs={env_kwargs} steps={steps} episodes={args.episodes} recipe={recipe.name if recipe else None}")
    print(f"closed-form optimum ({optimum}, expected liquidity): {closed_form:,.0f}")
    reference = scores[f"{optimum} (exact)"]
    print(f"{'policy':<24}{'objective':>12}{'± 95%':>9}   {'vs ' + optimum + ' (paired, 95% CI)':<38}"
          f"{'vs twap':<38}{'vs static almgren-chriss':<38}")
    rows = {}
    for name, values in scores.items():
        half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
        row = {"objective": float(values.mean()), "ci95": float(half)}
        cells = []
        for other, key in ((reference, "vs_optimum"), (scores["twap (exact)"], "vs_twap"),
                           (scores["almgren-chriss (exact)"], "vs_almgren_chriss")):
            diff, diff_half = paired(values, other)
            row[key] = {"difference": diff, "ci95": diff_half, "relative": diff / float(other.mean())}
            cells.append(f"{100 * diff / other.mean():+7.2f}% [{diff - diff_half:+,.0f}, {diff + diff_half:+,.0f}]")
        rows[name] = row
        print(f"{name:<24}{values.mean():>12,.0f}{half:>9,.0f}   {cells[0]:<38}{cells[1]:<38}{cells[2]:<38}")
    print(f"training: {np.mean(train_seconds) if train_seconds else 0:.0f} s per seed on {platform.processor() or 'cpu'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"date": str(date.today()), "env_kwargs": env_kwargs, "steps": steps, "episodes": args.episodes,
                       "closed_form_optimum": closed_form, "train_seconds": train_seconds, "policies": rows}, f,
                      indent=2)


if __name__ == "__main__":
    main()
