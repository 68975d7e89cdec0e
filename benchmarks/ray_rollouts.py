"""Rollout collection speed: env steps per second with vectorization sync, async and ray (1 and 2 actors).

    python benchmarks/ray_rollouts.py                        # 8 envs, 3 s windows, 3 repetitions
    python benchmarks/ray_rollouts.py --n-envs 16 --reps 5

Random actions (drawn up front, seeded) stepped through the backbone's VecStepper, as the agents collect; one "env
step" is one step of one copy. Four costs of a step: CartPole-v1 (~20 µs), HalfCheetah-v5 (MuJoCo, ~0.1 ms), and
HalfCheetah-v5 with frame_skip=100 and 1000 (20 and 200 times the physics of each step, ~1 and ~10 ms: a
simulator that is the bottleneck; real MuJoCo work, no sleeping). The repetitions take turns over the
vectorizations, so load from other jobs on the machine falls on all of them alike; the load averages before and
after are printed with the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from datetime import date
from typing import Any

import gymnasium as gym

from appliedrl.agents.vec_env import VecStepper, make_vec_env

CASES = (("CartPole-v1", {}), ("HalfCheetah-v5", {}), ("HalfCheetah-v5", {"frame_skip": 100}),
         ("HalfCheetah-v5", {"frame_skip": 1000}))
MODES = (("sync", None), ("async", None), ("ray", 1), ("ray", 2))  # (vectorization, rollout_workers)


def steps_per_second(envs: gym.vector.VectorEnv, seconds: float, seed: int) -> float:
    """Env steps per second of random actions over a window of `seconds` (after a short warm-up)."""
    stepper = VecStepper(envs)
    stepper.reset(seed=seed)
    envs.action_space.seed(seed)
    actions = [envs.action_space.sample() for _ in range(64)]
    for action in actions[:5]:
        stepper.step(action)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        stepper.step(actions[steps % len(actions)])
        steps += 1
    return steps * envs.num_envs / (time.perf_counter() - start)


def label(env_id: str, env_kwargs: dict[str, Any]) -> str:
    return env_id + "".join(f" {key}={value}" for key, value in env_kwargs.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-envs", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3.0, help="timing window per measurement")
    parser.add_argument("--reps", type=int, default=3, help="measurements per env and vectorization")
    args = parser.parse_args()
    load_before = os.getloadavg()
    results: dict[str, dict[str, list[float]]] = {}
    for env_id, env_kwargs in CASES:
        envs = {mode if workers is None else f"{mode}, {workers} worker{'s' * (workers > 1)}":
                make_vec_env(env_id, args.n_envs, mode, env_kwargs, workers) for mode, workers in MODES}
        rates = results.setdefault(label(env_id, env_kwargs), {name: [] for name in envs})
        for rep in range(args.reps):
            for name, vec in envs.items():
                rates[name].append(steps_per_second(vec, args.seconds, seed=rep))
        for vec in envs.values():
            vec.close()
    load_after = os.getloadavg()
    print(f"{args.n_envs} envs, random actions, {args.seconds:g} s windows, median (min-max) of {args.reps}; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
          f"{load_before[0]:.1f} before, {load_after[0]:.1f} after; {date.today()}")
    print("| env | vectorization | env steps / s | × sync |\n|---|---|---|---|")
    for case, rates in results.items():
        reference = statistics.median(rates["sync"])
        for name, values in rates.items():
            median = statistics.median(values)
            print(f"| {case} | {name} | {median:,.0f} ({min(values):,.0f}-{max(values):,.0f}) | "
                  f"{median / reference:.2f} |")
    print(json.dumps({case: {name: [round(v) for v in values] for name, values in rates.items()}
                      for case, rates in results.items()}))


if __name__ == "__main__":
    main()
