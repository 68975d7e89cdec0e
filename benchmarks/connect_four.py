"""PPO by self-play on PettingZoo's connect four, then seat-rotated matches against random and one-ply.

    nice -n 10 python benchmarks/connect_four.py --steps 800000 --seed 0 --run-dir runs/connect_four_s0

Trains PPO with the recipe domains/recipes/ppo.pettingzoo__connect_four_v3.yaml (config keys) on the single-seat
view with the opponent pool `--opponents` (env keywords, not config keys: "self" slots play frozen snapshots of
the learner, refreshed every `--self-play-every` iterations by the SelfPlay callback). The trainer's evaluations
play one-ply and keep the best policy; the final and the best policies then play `--deals` deals from both seats
against random and against one-ply (2 x deals games each), reported with Wilson 95% intervals. Targets (issue
12): >= 95% wins against random and >= 60% against one-ply over >= 1,000 games.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import appliedrl  # noqa: F401 - registers the games' single-seat views
from appliedrl.agents import PPO, PPOConfig
from appliedrl.agents.checkpoint import CHECKPOINT_FILE
from appliedrl.agents.config import load_yaml, make_config, parse_assignments
from appliedrl.agents.trainer import train
from appliedrl.agents.turn_based import Estimate, SelfPlay, evaluate_matches
from appliedrl.domains.games import CONNECT_FOUR
from appliedrl.domains.recipes import recipe_for

OPPONENTS = ["self", "one-ply"]  # the recipe's opponent pool (env keywords)
SELF_PLAY_EVERY = 5  # iterations between snapshots
POOL_SIZE = 5  # snapshots kept for the "self" slots
MATCH_SEED = 10_000  # match deals never reuse training or the trainer's evaluation seeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=800_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--opponents", nargs="+", default=OPPONENTS)
    parser.add_argument("--self-play-every", type=int, default=SELF_PLAY_EVERY)
    parser.add_argument("--pool-size", type=int, default=POOL_SIZE)
    parser.add_argument("--deals", type=int, default=500, help="match deals per opponent (each played from both seats)")
    parser.add_argument("--set", nargs="*", default=[], help="config overrides key=value on top of the recipe")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()

    config = make_config(PPOConfig, load_yaml(recipe_for("ppo", CONNECT_FOUR)), parse_assignments(args.set),
                         agent="ppo")
    env_kwargs = {"opponents": args.opponents, "pool_size": args.pool_size}
    agent = PPO(CONNECT_FOUR, config, args.seed, env_kwargs)
    start = time.perf_counter()
    summary = train(agent, args.steps, run_dir=args.run_dir, callbacks=[SelfPlay(args.self_play_every)],
                    eval_env_kwargs={"opponents": ["one-ply"]}, progress_bar=not args.no_progress)
    train_seconds = time.perf_counter() - start

    results = {"command": "python benchmarks/connect_four.py " + " ".join(sys.argv[1:]),
               "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
               "date": datetime.now(timezone.utc).isoformat(timespec="minutes"),
               "opponents": args.opponents, "self_play_every": args.self_play_every, "pool_size": args.pool_size,
               "config": config.__dict__, "train_seconds": round(train_seconds, 1), "summary": summary}
    policies = {"final": agent, "best": PPO.load(args.run_dir / "best" / CHECKPOINT_FILE)}
    for name, policy in policies.items():
        for opponent in ("random", "one-ply"):
            match = evaluate_matches(policy, [opponent], CONNECT_FOUR, args.deals, MATCH_SEED)
            results[f"{name}_vs_{opponent}"] = match.to_dict()
            print(f"{name:5} vs {opponent:7}: win {_rate(match.rates['win'])}  draw {_rate(match.rates['draw'])}  "
                  f"loss {_rate(match.rates['loss'])}  ({match.episodes} games, seats rotated)")
    (args.run_dir / "matches.json").write_text(json.dumps(results, indent=2, default=str) + "\n")


def _rate(estimate: Estimate) -> str:
    return f"{estimate.value:6.1%} [{estimate.low:.1%}, {estimate.high:.1%}]"


if __name__ == "__main__":
    main()
