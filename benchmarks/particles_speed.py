"""Particle-world speed: environment steps per second, ours batched vs mpe2, side by side in one run.

    python benchmarks/particles_speed.py                       # simple_spread_v3, N = 3, CPU
    python benchmarks/particles_speed.py --device cuda --envs 1 1024 8192 65536

Random discrete actions, drawn up front for the batched worlds and per step for the PettingZoo envs; one "env step" is one step of one environment (all its agents). mpe2 runs
its PettingZoo parallel env one environment at a time, as users run it; ours steps `num_envs` environments as
tensors (float32, autoreset included). Our PettingZoo drop-in (one env, float64) is timed too.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import time
from datetime import date

import numpy as np
import torch

from appliedrl.envs.particles import ParticleWorlds


def time_mpe2_style(module: object, seconds: float, seed: int = 0) -> float:
    """Steps/s of one PettingZoo parallel env stepped with random actions (reset when the episode ends)."""
    env = module.parallel_env()
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    limits = {a: env.action_space(a).n for a in env.possible_agents}
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        if not env.agents:
            env.reset()
        env.step({a: int(rng.integers(limits[a])) for a in env.agents})
        steps += 1
    return steps / (time.perf_counter() - start)


def time_batched(scenario: str, num_envs: int, device: str, seconds: float) -> float:
    worlds = ParticleWorlds(scenario, num_envs, device=device)
    worlds.reset(seed=0)
    limits = torch.tensor([s.n for s in worlds.action_spaces.values()], device=device)
    actions = (torch.rand(64, num_envs, len(limits), device=device) * limits).long()
    for k in range(5):  # warm-up
        worlds.step(actions[k])
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        worlds.step(actions[steps % 64])
        steps += 1
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return steps * num_envs / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="simple_spread_v3")
    parser.add_argument("--envs", type=int, nargs="+", default=[1, 64, 1024, 8192])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seconds", type=float, default=5.0, help="timing window per measurement")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = {"mpe2 parallel_env (1 env)": time_mpe2_style(importlib.import_module(f"mpe2.{args.scenario}"),
                                                         args.seconds),
            "ours, PettingZoo drop-in (1 env)": time_mpe2_style(
                importlib.import_module(f"appliedrl.envs.particles.{args.scenario}"), args.seconds)}
    for n in args.envs:
        rows[f"ours, batched, {n} envs ({args.device})"] = time_batched(args.scenario, n, args.device, args.seconds)
    reference = rows["mpe2 parallel_env (1 env)"]
    print(f"{args.scenario}, random actions; {platform.processor() or platform.machine()}, torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads, {date.today()}")
    print("| implementation | env steps / s | × mpe2 |\n|---|---|---|")
    for name, rate in rows.items():
        print(f"| {name} | {rate:,.0f} | {rate / reference:,.1f} |")
    print(json.dumps({k: round(v) for k, v in rows.items()}))


if __name__ == "__main__":
    main()
