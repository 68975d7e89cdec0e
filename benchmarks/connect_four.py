"""PPO by self-play on PettingZoo's connect four, then seat-rotated matches against random and one-ply.

    nice -n 10 python benchmarks/connect_four.py --seed 0 --run-dir runs/connect_four_s0

Trains exactly as
`appliedrl train pettingzoo/connect_four_v3 --agent ppo --env-kw 'opponents=[self, one-ply, random]'` does
(through appliedrl.runner, with the recipe domains/recipes/ppo.pettingzoo__connect_four_v3.yaml and its
budget unless --steps is given): "self" slots play snapshots of the learner taken every `self_play_every`
iterations, and the trainer's evaluations play one-ply to keep the best policy. The final and the best policies
then play `--deals` deals from both seats against random and against one-ply (2 x deals games each), reported
with Wilson 95% intervals. Targets (issue 12): >= 95% wins against random and >= 60% against one-ply over
>= 1,000 games.
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

from appliedrl.agents.config import parse_assignments
from appliedrl.agents.turn_based import Estimate, evaluate_matches
from appliedrl.domains.games import CONNECT_FOUR
from appliedrl.runner import RunSpec, load_policy, run

OPPONENTS = ["self", "one-ply", "random"]  # the training pool (env keywords)
MATCH_SEED = 10_000  # match deals never reuse training or the trainer's evaluation seeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, help="training budget (default: the recipe's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--opponents", nargs="+", default=OPPONENTS)
    parser.add_argument("--deals", type=int, default=500, help="match deals per opponent (each played from both seats)")
    parser.add_argument("--set", nargs="*", default=[], help="config overrides key=value on top of the recipe")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()

    start = time.perf_counter()
    summary = run(RunSpec(CONNECT_FOUR, "ppo", args.seed, args.steps, {"opponents": args.opponents},
                          parse_assignments(args.set), run_dir=args.run_dir, progress_bar=not args.no_progress))
    results = {"command": "python benchmarks/connect_four.py " + " ".join(sys.argv[1:]),
               "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
               "date": datetime.now(timezone.utc).isoformat(timespec="minutes"), "opponents": args.opponents,
               "train_seconds": round(time.perf_counter() - start, 1), "summary": summary}
    for name, best in (("final", False), ("best", True)):
        policy = load_policy(str(args.run_dir), best=best)[0]
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
