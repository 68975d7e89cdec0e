"""GNN vs MLP data efficiency: HDPO test cost against the number of training scenarios, per instance.

    python benchmarks/inventory_gnn.py --setting one_warehouse --stores 3 5 10 20 --scenarios 128 1024 8192
    python benchmarks/inventory_gnn.py --setting transshipment --stores 3 5 --set device=cuda

For every (stores, scenarios, policy) it trains HDPO (batch = min(scenarios, 1024), MLP lr 3e-4 with [512, 512,
512] as the reference's warehouse MLP, GNN lr 1e-3), tests the best-dev policy on the same test scenarios, and
prints the gap to the best policy found for that instance (and to the pooled lower bound for transshipment).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import date
from pathlib import Path

import appliedrl  # noqa: F401
from appliedrl.agents import HDPOConfig
from appliedrl.agents.config import make_config, parse_assignments
from appliedrl.domains.inventory.hdpo_problem import make_hdpo_agent

POLICIES = {"gnn": {"policy": "gnn", "learning_rate": 1e-3, "max_grad_norm": 1.0},
            "mlp": {"policy": "mlp", "learning_rate": 3e-4, "net_arch": [512, 512, 512]}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setting", default="one_warehouse", choices=["one_warehouse", "transshipment"])
    parser.add_argument("--stores", type=int, nargs="+", default=[3, 5, 10, 20])
    parser.add_argument("--scenarios", type=int, nargs="+", default=[128, 1024, 8192])
    parser.add_argument("--minutes", type=float, default=10.0, help="training cap per run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", help="HDPO config override for every run")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    rows = []
    for n in args.stores:
        env_kwargs = {"setting": args.setting, "n_stores": n}
        for scenarios in args.scenarios:
            for name, policy in POLICIES.items():
                layers = {"train_scenarios": scenarios, "batch_size": min(scenarios, 1024), "dev_scenarios": 8192,
                          "test_scenarios": 8192, "test_periods": 1000, "test_ignore_periods": 200,
                          "max_seconds": 60 * args.minutes, "tensorboard": False} | policy
                config = make_config(HDPOConfig, layers, parse_assignments(args.set), agent="hdpo")
                with tempfile.TemporaryDirectory() as tmp:
                    summary = make_hdpo_agent(env_kwargs, config, args.seed).learn(Path(tmp), progress_bar=False)
                row = {"stores": n, "scenarios": scenarios, "policy": name, "test_cost": summary["test_cost"],
                       "lower_bound": summary.get("lower_bound"), "epochs": summary["epochs"],
                       "seconds": summary["train_seconds"]}
                rows.append(row)
                print(json.dumps(row), flush=True)
    print(f"\n{args.setting}, seed {args.seed}, {date.today()}: test cost (gap to the best policy found per instance)")
    print("| stores | scenarios | GNN | MLP |\n|---|---|---|---|")
    for n in args.stores:
        best = min(r["test_cost"] for r in rows if r["stores"] == n)
        for scenarios in args.scenarios:
            cells = []
            for name in POLICIES:
                (r,) = [r for r in rows if (r["stores"], r["scenarios"], r["policy"]) == (n, scenarios, name)]
                cells.append(f"{r['test_cost']:.3f} ({100 * (r['test_cost'] / best - 1):+.2f}%)")
            print(f"| {n} | {scenarios} | {' | '.join(cells)} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
