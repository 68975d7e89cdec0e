"""HDPO across the instances of one inventory setting, against the known optima: the paper's tables.

    python benchmarks/inventory_tables.py --setting one_store_lost --minutes 12        # 16 instances: L 1-4 x p 4, 9, 19, 39
    python benchmarks/inventory_tables.py --setting one_store_backlogged --lead-times 1 4 10 20 --minutes 3
    python benchmarks/inventory_tables.py --setting serial --minutes 3

Each instance trains HDPO with the tuned settings and budget of the recipe for that setting
(domains/recipes/hdpo.appliedrl__Inventory-v0.yaml, on top of the HDPO defaults, the reference's sizes; `--untuned`
leaves them out, with HDPO's default budget of 20,000 epochs) plus `--set` overrides, capped at `--minutes` of
training, and reports the best-dev policy's test cost and its gap to the optimum.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

import appliedrl  # noqa: F401
from appliedrl.agents import HDPOConfig
from appliedrl.agents.config import make_config, parse_assignments
from appliedrl.domains.inventory import ENV_ID
from appliedrl.domains.inventory.hdpo_problem import make_hdpo_agent
from appliedrl.domains.recipes import recipe_layers
from appliedrl.runner import BUDGET_KEY, DEFAULT_BUDGETS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setting", default="one_store_lost",
                        choices=["one_store_lost", "one_store_backlogged", "serial"])
    parser.add_argument("--lead-times", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--shortage-costs", type=float, nargs="+", default=[4.0, 9.0, 19.0, 39.0])
    parser.add_argument("--minutes", type=float, default=10.0, help="training cap per instance")
    parser.add_argument("--epochs", type=int, help="budget per instance (default: the recipe's, or "
                                                   f"{DEFAULT_BUDGETS['epochs']:,} with --untuned)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", help="HDPO config override, e.g. --set device=cuda")
    parser.add_argument("--untuned", action="store_true", help="plain HDPO defaults instead of the setting's recipe")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    tuned = [] if args.untuned else recipe_layers("hdpo", ENV_ID, {"setting": args.setting})
    budgets = [layer.pop(BUDGET_KEY) for layer in tuned if BUDGET_KEY in layer]
    epochs = args.epochs or (budgets[-1] if budgets else DEFAULT_BUDGETS["epochs"])
    overrides = {"max_seconds": 60 * args.minutes, "tensorboard": False} | parse_assignments(args.set)
    config = make_config(HDPOConfig, *tuned, overrides, agent="hdpo")
    rows = []
    for lead_time in args.lead_times:
        for shortage_cost in args.shortage_costs:
            env_kwargs = {"setting": args.setting, "lead_time": lead_time, "shortage_cost": shortage_cost}
            start = time.perf_counter()
            with tempfile.TemporaryDirectory() as tmp:
                agent = make_hdpo_agent(ENV_ID, env_kwargs, config, args.seed)
                summary = agent.learn(epochs, run_dir=Path(tmp), progress_bar=False)
            extras = summary["extras"]
            row = {"lead_time": lead_time, "shortage_cost": shortage_cost, "test_cost": extras["test_cost"],
                   "optimal_cost": extras.get("optimal_cost"), "gap_percent": 100 * extras["gap_to_optimum"]
                   if "gap_to_optimum" in extras else None, "epochs": summary["progress"],
                   "seconds": round(time.perf_counter() - start, 1)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(f"\n{args.setting}, HDPO policy {config.policy}, settings {tuned} then {overrides}, budget {epochs} "
          f"epochs, seed {args.seed}, cap {args.minutes} min/instance; "
          f"{platform.processor() or platform.machine()}, {config.device}, {date.today()}")
    print("| L | p | test cost | optimum | gap % | epochs | seconds |\n|---|---|---|---|---|---|---|")
    for r in rows:
        optimum = f"{r['optimal_cost']:.3f}" if r["optimal_cost"] else "-"
        gap = f"{r['gap_percent']:+.2f}" if r["gap_percent"] is not None else "-"
        print(f"| {r['lead_time']} | {r['shortage_cost']:g} | {r['test_cost']:.3f} | {optimum} | {gap} | "
              f"{r['epochs']} | {r['seconds']} |")
    gaps = np.array([r["gap_percent"] for r in rows if r["gap_percent"] is not None])
    if len(gaps):
        print(f"\ngap: mean {gaps.mean():.2f}%, max {gaps.max():.2f}%; within 0.5%: {(gaps <= 0.5).sum()}/{len(gaps)}, "
              f"within 0.25%: {(gaps <= 0.25).sum()}/{len(gaps)}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
