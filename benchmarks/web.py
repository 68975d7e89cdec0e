"""The web navigation domain's results: the oracle on both backends, backend throughput, and QWeb + Double DQN per
task on held-out instruction values, evaluated in the in-process DOM and in real Chromium.

    python benchmarks/web.py --seeds 1 --workers 2 --out /tmp/bench/web

QWeb trains with the dqn recipe (domains/recipes/dqn.appliedrl__WebNav-v0.yaml) on the training split with
potential-based shaping (γ = the recipe's 0.9), for the per-variant budget in PLAN (--steps overrides all); the
multi-page tasks and click-checkboxes train with the warm-start curriculum (`warm_start=0.5`), book-flight with the
growing one (every episode warm-started, one step further back every 100 episodes) and also without a curriculum
and with the uniform one. The policy the recipe's evaluations kept (RUN/best: most successful on 100 training-split
episodes from the task's start) then runs --episodes held-out episodes (split=test, seeds from TEST_SEED, no
shaping, so the return is ±1) on the DOM backend and the same seeds on the chromium backend; the final policy on
the DOM backend too. Success rates come with Wilson 95% intervals. Throughput: random legal actions (episodes
included) for 5 s (DOM) or 10 s (Chromium) in one process per backend; the oracle and throughput jobs queue after
the training jobs, so measure throughput alone (--skip-training --workers 1) on a quiet machine.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import math
import multiprocessing
import platform
import time
from datetime import date
from pathlib import Path

import numpy as np

from appliedrl.domains.web import TRAINING as SHAPING  # shaping with the recipe's gamma

ENV_ID = "appliedrl/WebNav-v0"
TEST_SEED = 5_000_000  # held-out episodes never reuse training or evaluation seeds
CURRICULUM = {"warm_start": 0.5}
GROWING = {"warm_start": 1.0, "warm_start_growth": 100}
PLAN = {  # task: (training steps, the env keywords) of each variant trained, longest first
    "book-flight": [(120_000, GROWING), (60_000, {}), (60_000, CURRICULUM)],
    "search-engine": [(60_000, CURRICULUM)], "email-inbox": [(100_000, CURRICULUM)],
    "click-checkboxes": [(100_000, CURRICULUM)], "social-media": [(25_000, {})], "login-user": [(30_000, {})],
    "enter-password": [(15_000, {})], "enter-text": [(10_000, {})], "click-button": [(10_000, {})]}


def jobs(tasks: list[str], seeds: int) -> list[dict]:
    return [{"task": task, "steps": steps, "extra": extra, "seed": s} for task in PLAN if task in tasks
            for steps, extra in PLAN[task] for s in range(seeds)]


def train_one(job: dict, args: argparse.Namespace) -> dict:
    """Train QWeb on one task; the held-out success of its best evaluated policy on both backends, and of its
    final one on the DOM."""
    import torch

    import appliedrl  # noqa: F401
    from appliedrl.runner import RunSpec, load_policy, run

    torch.set_num_threads(1)
    tag = "-".join(f"{k}={v}" for k, v in job["extra"].items()) or "plain"
    run_dir = Path(args.out) / "runs" / f"{job['task']}-{tag}-s{job['seed']}"
    env_kwargs = {"task": job["task"], **SHAPING, **job["extra"]}
    steps = args.steps or job["steps"]
    started = time.perf_counter()
    if not (run_dir / "summary.json").exists():
        run(RunSpec(ENV_ID, "dqn", job["seed"], steps, env_kwargs, {"torch_threads": 1}, run_dir=run_dir,
                    progress_bar=False))
    trained = time.perf_counter() - started
    policy, _ = load_policy(str(run_dir), best=True)
    final, _ = load_policy(str(run_dir))
    held_out = {"task": job["task"], "split": "test"}
    return {**job, "steps": steps, "train_seconds": trained,
            "dom": held_out_success(policy, held_out, args.episodes),
            "chromium": held_out_success(policy, {**held_out, "backend": "chromium"}, args.episodes),
            "final_dom": held_out_success(final, held_out, args.episodes),
            "best_at": json.loads((run_dir / "summary.json").read_text())["best_at"]}


def held_out_success(policy, env_kwargs: dict, episodes: int) -> list[float]:
    from appliedrl.agents.evaluation import evaluate

    result = evaluate(policy, ENV_ID, episodes, TEST_SEED, env_kwargs, max_parallel=8)
    return result.metric_values["success_rate"].tolist()


def oracle_and_throughput(task: str, episodes: int) -> dict:
    """The oracle's held-out success on both backends; steps/s of random legal actions on each."""
    import gymnasium as gym

    import appliedrl  # noqa: F401
    from appliedrl.runner import load_policy

    out = {"task": task}
    for backend in ("dom", "chromium"):
        env_kwargs = {"task": task, "split": "test", "backend": backend}
        oracle, _ = load_policy("baseline:oracle", ENV_ID, env_kwargs)
        out[f"oracle_{backend}"] = held_out_success(oracle, env_kwargs, episodes)
        env = gym.make(ENV_ID, **env_kwargs)
        rng, steps, seconds = np.random.default_rng(0), 0, 5.0 if backend == "dom" else 10.0
        _, info = env.reset(seed=0)
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            _, _, terminated, truncated, info = env.step(rng.choice(np.flatnonzero(info["action_mask"])))
            steps += 1
            if terminated or truncated:
                _, info = env.reset()
        out[f"steps_per_second_{backend}"] = steps / (time.perf_counter() - started)
        env.close()
    return out


def wilson(successes: list[float]) -> str:
    n, p, z = len(successes), float(np.mean(successes)), 1.96
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"{100 * p:.1f} [{100 * (centre - half):.1f}, {100 * (centre + half):.1f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(PLAN))
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--episodes", type=int, default=200, help="held-out episodes per policy and backend")
    parser.add_argument("--steps", type=int, default=None, help="training steps for every task (default PLAN)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-training", action="store_true", help="only the oracle and throughput")
    parser.add_argument("--skip-oracle", action="store_true", help="only the training")
    parser.add_argument("--out", default="/tmp/bench/web")
    args = parser.parse_args()
    tasks = args.tasks.split(",")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    todo = [] if args.skip_training else jobs(tasks, args.seeds)
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(args.workers, mp_context=context) as pool:
        training = [pool.submit(train_one, job, args) for job in todo]
        oracle = [] if args.skip_oracle else list(pool.map(oracle_and_throughput, tasks, [args.episodes] * len(tasks)))
        trained = [future.result() for future in training]
    (Path(args.out) / "results.json").write_text(json.dumps({"oracle": oracle, "trained": trained}))
    report(oracle, trained, args)


def report(oracle: list[dict], trained: list[dict], args: argparse.Namespace) -> None:
    print(f"# web benchmark, {date.today()}, {platform.processor() or platform.machine()}, {args.episodes} held-out "
          f"episodes per policy and backend (split=test, seeds from {TEST_SEED:,})")
    print("| task | oracle DOM % | oracle Chromium % | DOM steps/s | Chromium steps/s |")
    print("|---|---|---|---|---|")
    for row in oracle:
        print(f"| {row['task']} | {wilson(row['oracle_dom'])} | {wilson(row['oracle_chromium'])} | "
              f"{row['steps_per_second_dom']:,.0f} | {row['steps_per_second_chromium']:,.1f} |")
    if not trained:
        return
    print("\n| task | training | seed | steps | best at | QWeb DOM % | QWeb Chromium % | Chromium − DOM (points) | "
          "final policy DOM % | minutes |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in trained:
        extra = ", ".join(f"{k}={v}" for k, v in row["extra"].items()) or "shaping"
        gap = 100 * (np.mean(row["chromium"]) - np.mean(row["dom"]))
        print(f"| {row['task']} | {extra} | {row['seed']} | {row['steps']:,} | {row['best_at']:,} | "
              f"{wilson(row['dom'])} | {wilson(row['chromium'])} | {gap:+.1f} | {wilson(row['final_dom'])} | "
              f"{row['train_seconds'] / 60:.1f} |")


if __name__ == "__main__":
    main()
