"""The restaurant dialogue domain's results: the handcrafted policy, two-stage A2C, A2C from scratch and Double DQN
at each semantic error rate, and the master action space.

    python benchmarks/dialogue.py --seeds 3 --workers 2 --out /tmp/bench/dialogue

Every agent trains with its recipe (domains/recipes): two-stage A2C is a2c's recipe (pre-training on 300
handcrafted dialogues, then online A2C); A2C from scratch is the same recipe with `pretrain_from=null`; DQN is
dqn's recipe. During training each run evaluates every --eval-freq env steps on --eval-episodes dialogues (the
trainer's evaluation seeds); the handcrafted policy is evaluated on the same dialogues, and a run "reaches the
handcrafted policy" at the first evaluation whose success rate is at least the handcrafted one's, after
`rollout/episodes` online dialogues (pre-training's dialogues are offline and counted apart). Each final policy
and the handcrafted policy then run --episodes test dialogues (seeds from TEST_SEED): success rates with Wilson
95% intervals, and each agent's difference to the handcrafted policy with a Wald 95% interval.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import math
import multiprocessing
import platform
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

ENV_ID = "appliedrl/RestaurantDialogue-v0"
TEST_SEED = 5_000_000  # test dialogues never reuse training or evaluation seeds
EVAL_SEED_OFFSET = 1_000_000  # the trainer's evaluation seeds (agents/trainer.py)
PRETRAINED_DIALOGUES = 300  # the a2c recipe's pretrain_episodes
VARIANTS = {  # name -> (agent, config overrides)
    "two-stage A2C": ("a2c", {}),
    "A2C from scratch": ("a2c", {"pretrain_from": None}),
    "Double DQN": ("dqn", {}),
}


def jobs(error_rates: list[float], seeds: int) -> list[dict]:
    out = []
    for rate in error_rates:
        for variant in VARIANTS:
            out += [{"variant": variant, "env_kwargs": {"semantic_error_rate": rate}, "seed": s} for s in range(seeds)]
    master = {"semantic_error_rate": 0.15, "action_space": "master"}
    out += [{"variant": v, "env_kwargs": master, "seed": s} for v in ("A2C from scratch", "Double DQN")
            for s in range(seeds)]
    return out


def train_one(job: dict, args: argparse.Namespace) -> dict:
    """Train one variant on one setting; the learning curve and the final policy's test dialogues."""
    import appliedrl  # noqa: F401
    from appliedrl.agents.evaluation import evaluate
    from appliedrl.runner import RunSpec, load_policy, run

    agent, overrides = VARIANTS[job["variant"]]
    tag = "-".join(f"{k}={v}" for k, v in job["env_kwargs"].items())
    run_dir = Path(args.out) / "runs" / f"{job['variant'].replace(' ', '_')}-{tag}-s{job['seed']}"
    overrides = {**overrides, "eval_freq": args.eval_freq, "eval_episodes": args.eval_episodes}
    if not (run_dir / "summary.json").exists():
        run(RunSpec(ENV_ID, agent, job["seed"], args.steps.get(agent), job["env_kwargs"], overrides,
                    run_dir=run_dir, progress_bar=False))
    metrics = pd.read_csv(run_dir / "metrics.csv")
    metrics["rollout/episodes"] = metrics["rollout/episodes"].ffill()  # the final evaluation's row has none
    curve = metrics.dropna(subset=["eval/success_rate"])[["step", "rollout/episodes", "eval/success_rate"]]
    policy, _ = load_policy(str(run_dir))
    test = evaluate(policy, ENV_ID, args.episodes, TEST_SEED, job["env_kwargs"])
    return {**job, "curve": curve.to_dict("list"), "test_success": test.metric_values["success_rate"].tolist(),
            "test_return": test.returns.tolist()}


def handcrafted(env_kwargs: dict, episodes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    import appliedrl  # noqa: F401
    from appliedrl.agents.evaluation import evaluate
    from appliedrl.runner import load_policy

    policy, _ = load_policy("baseline:handcrafted", ENV_ID, env_kwargs)
    result = evaluate(policy, ENV_ID, episodes, seed, env_kwargs)
    return result.metric_values["success_rate"], result.returns


def wilson(successes: np.ndarray) -> tuple[float, float]:
    n, p, z = len(successes), float(np.mean(successes)), 1.96
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def difference(a: np.ndarray, b: np.ndarray) -> str:
    d = a.mean() - b.mean()
    half = 1.96 * math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    return f"{100 * d:+.1f} [{100 * (d - half):+.1f}, {100 * (d + half):+.1f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--episodes", type=int, default=1000, help="test dialogues per policy")
    parser.add_argument("--eval-freq", type=int, default=2500)
    parser.add_argument("--eval-episodes", type=int, default=300)
    parser.add_argument("--a2c-steps", type=int, default=None, help="default: the recipe's budget")
    parser.add_argument("--dqn-steps", type=int, default=None, help="default: the recipe's budget")
    parser.add_argument("--error-rates", default="0,0.15,0.3")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="/tmp/bench/dialogue")
    args = parser.parse_args()
    args.steps = {"a2c": args.a2c_steps, "dqn": args.dqn_steps}
    rates = [float(r) for r in args.error_rates.split(",")]
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(args.workers, mp_context=context) as pool:
        results = list(pool.map(train_one, jobs(rates, args.seeds), [args] * len(jobs(rates, args.seeds))))
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "results.json").write_text(json.dumps(results))
    report(results, rates, args)


def report(results: list[dict], rates: list[float], args: argparse.Namespace) -> None:
    print(f"# dialogue benchmark, {date.today()}, {platform.processor() or platform.machine()}, "
          f"{args.seeds} training seeds, {args.episodes} test dialogues per policy (seeds from {TEST_SEED:,})")
    print("| setting | policy | success % [95% CI] | return | vs handcrafted (points) | online dialogues to reach "
          "handcrafted (per seed) |")
    print("|---|---|---|---|---|---|")
    for env_kwargs in [{"semantic_error_rate": r} for r in rates] + [
            {"semantic_error_rate": 0.15, "action_space": "master"}]:
        name = ", ".join(f"{k}={v}" for k, v in env_kwargs.items())
        summary_kwargs = {"semantic_error_rate": env_kwargs["semantic_error_rate"]}
        hand_success, hand_return = handcrafted(summary_kwargs, args.episodes, TEST_SEED)
        low, high = wilson(hand_success)
        print(f"| {name} | handcrafted (summary) | {100 * hand_success.mean():.1f} [{100 * low:.1f}, {100 * high:.1f}]"
              f" | {hand_return.mean():.2f} | | |")
        if env_kwargs == {"semantic_error_rate": 0.15}:
            unfriendly, _ = handcrafted({**summary_kwargs, "user": "unfriendly"}, args.episodes, TEST_SEED)
            low, high = wilson(unfriendly)
            print(f"| {name}, user=unfriendly | handcrafted | {100 * unfriendly.mean():.1f} [{100 * low:.1f}, "
                  f"{100 * high:.1f}] | | | |")
        for variant in VARIANTS:
            runs = [r for r in results if r["variant"] == variant and r["env_kwargs"] == env_kwargs]
            if not runs:
                continue
            success = np.concatenate([r["test_success"] for r in runs])
            returns = np.concatenate([r["test_return"] for r in runs])
            low, high = wilson(success)
            reach = [reached(r, summary_kwargs, args) for r in runs]
            print(f"| {name} | {variant} | {100 * success.mean():.1f} [{100 * low:.1f}, {100 * high:.1f}] | "
                  f"{returns.mean():.2f} | {difference(success, hand_success)} | {', '.join(reach)} |")


def reached(result: dict, summary_kwargs: dict, args: argparse.Namespace) -> str:
    """Online dialogues until the run's evaluation first matched the handcrafted policy on the same dialogues."""
    target, _ = handcrafted(summary_kwargs, args.eval_episodes, result["seed"] + EVAL_SEED_OFFSET)
    curve = result["curve"]
    for success, episodes in zip(curve["eval/success_rate"], curve["rollout/episodes"]):
        if success >= target.mean():
            return f"{episodes:,.0f}"
    return f"not in {curve['rollout/episodes'][-1]:,.0f}"


if __name__ == "__main__":
    main()
