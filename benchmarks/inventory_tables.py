"""HDPO across the instances of one inventory setting, against the known optima: the paper's tables.

    python benchmarks/inventory_tables.py --setting one_store_lost --minutes 12        # 16 instances: L 1-4 x p 4, 9, 19, 39
    python benchmarks/inventory_tables.py --setting one_store_backlogged --lead-times 1 4 10 20 --minutes 3
    python benchmarks/inventory_tables.py --setting serial --minutes 3

Each instance trains HDPO with the tuned settings of TUNED for that setting (on top of the HDPO defaults, the
reference's sizes; `--untuned` leaves them out) plus `--set` overrides, for the setting's budget of EPOCHS (or
`--epochs`) capped at `--minutes` of training, and reports the best-dev policy's test cost and its gap to the
optimum.
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

# Tuned on a 2-core CPU (docs/benchmarks.md). MLP: batches of 1,024 (32 gradient steps per epoch instead of 4),
# gradient clipping (without it L = 1, p = 4 collapsed to a policy 185% above the optimum in the first epoch), a
# cosine schedule over the budget of EPOCHS (set it to the epochs the time cap allows: the rate reaches its floor
# there; 100 epochs, 3,200 steps, took 6-11 minutes on one shared core), a smaller dev set evaluated more often.
# The backlogged and serial optima are base-stock policies, so HDPO fits just their levels (large learning rate,
# same schedule).
_LEVELS = {"learning_rate": 0.3, "min_learning_rate": 1e-3, "batch_size": 1024, "lr_schedule": "cosine",
           "eval_freq": 2}
TUNED: dict[str, dict] = {
    "one_store_lost": {"batch_size": 1024, "max_grad_norm": 1.0, "lr_schedule": "cosine", "eval_freq": 5,
                       "dev_scenarios": 8192},
    "one_store_backlogged": {"policy": "base_stock"} | _LEVELS,
    "serial": {"policy": "echelon_base_stock"} | _LEVELS,
}
EPOCHS = {"one_store_lost": 100, "one_store_backlogged": 12, "serial": 12}  # the tuned budgets
UNTUNED_EPOCHS = 20_000  # HDPO's default budget (appliedrl train): the time cap or early stopping ends it first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setting", default="one_store_lost",
                        choices=["one_store_lost", "one_store_backlogged", "serial"])
    parser.add_argument("--lead-times", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--shortage-costs", type=float, nargs="+", default=[4.0, 9.0, 19.0, 39.0])
    parser.add_argument("--minutes", type=float, default=10.0, help="training cap per instance")
    parser.add_argument("--epochs", type=int, help="budget per instance (default: the setting's in EPOCHS, or "
                                                   f"{UNTUNED_EPOCHS:,} with --untuned)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", help="HDPO config override, e.g. --set device=cuda")
    parser.add_argument("--untuned", action="store_true", help="plain HDPO defaults instead of TUNED[setting]")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    tuned = {} if args.untuned else TUNED[args.setting]
    epochs = args.epochs or (UNTUNED_EPOCHS if args.untuned else EPOCHS[args.setting])
    overrides = tuned | {"max_seconds": 60 * args.minutes, "tensorboard": False} | parse_assignments(args.set)
    config = make_config(HDPOConfig, overrides, agent="hdpo")
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
    print(f"\n{args.setting}, HDPO policy {config.policy}, settings {overrides}, budget {epochs} epochs, "
          f"seed {args.seed}, cap {args.minutes} min/instance; "
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
