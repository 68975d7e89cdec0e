"""GNN vs MLP data efficiency: HDPO test cost against the number of training scenarios, per instance.

    python benchmarks/inventory_gnn.py --setting one_warehouse --stores 3 5 10 20 --scenarios 128 1024 8192
    python benchmarks/inventory_gnn.py --setting transshipment --stores 3 5 --set device=cuda

For every (stores, scenarios, policy) it trains HDPO (batch = min(scenarios, --batch), MLP lr 3e-4 with [512, 512,
512] as the reference's warehouse MLP, GNN lr 1e-3; dev evaluated about every 20 batches), tests the
best-dev policy on the same test scenarios, and prints the gap to the best policy found for that instance (and to
the pooled lower bound for transshipment). Smaller dev and test sets fit a CPU: `--set dev_scenarios=1024`; under
a time cap, one batch size for every scenario count (`--batch 128`) gives every run about as many gradient steps.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from datetime import date
from pathlib import Path

import appliedrl  # noqa: F401
from appliedrl.agents import HDPOConfig
from appliedrl.agents.config import make_config, parse_assignments
from appliedrl.agents.vec_env import NonFiniteError
from appliedrl.domains.inventory import ENV_ID
from appliedrl.domains.inventory.hdpo_problem import InventoryHDPOProblem, make_hdpo_agent
from appliedrl.envs.inventory import make_problem

POLICIES = {"gnn": {"policy": "gnn", "learning_rate": 1e-3, "max_grad_norm": 1.0},
            "mlp": {"policy": "mlp", "learning_rate": 3e-4, "net_arch": [512, 512, 512]}}
EPOCHS = 20_000  # HDPO's default budget (appliedrl train): the time cap or early stopping ends a run first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setting", default="one_warehouse", choices=["one_warehouse", "transshipment"])
    parser.add_argument("--stores", type=int, nargs="+", default=[3, 5, 10, 20])
    parser.add_argument("--scenarios", type=int, nargs="+", default=[128, 1024, 8192])
    parser.add_argument("--minutes", type=float, default=10.0, help="training cap per run")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="budget per run")
    parser.add_argument("--batch", type=int, default=1024, help="scenarios per gradient step (at most all of them)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", help="HDPO config override for every run")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    rows = []
    lower_bounds = {n: InventoryHDPOProblem(make_problem(args.setting, n_stores=n)).reference_costs().get("lower_bound")
                    for n in args.stores}
    for n in args.stores:
        env_kwargs = {"setting": args.setting, "n_stores": n}
        for scenarios in args.scenarios:
            for name, policy in POLICIES.items():
                batch = min(scenarios, args.batch)
                layers = {"train_scenarios": scenarios, "batch_size": batch,
                          "eval_freq": max(1, 20 * batch // scenarios), "dev_scenarios": 8192,
                          "test_scenarios": 8192, "test_periods": 1000, "test_ignore_periods": 200,
                          "max_seconds": 60 * args.minutes, "tensorboard": False} | policy
                config = make_config(HDPOConfig, layers, parse_assignments(args.set), agent="hdpo")
                agent = make_hdpo_agent(ENV_ID, env_kwargs, config, args.seed)
                try:
                    with tempfile.TemporaryDirectory() as tmp:
                        summary = agent.learn(args.epochs, run_dir=Path(tmp), progress_bar=False)
                    outcome = {"test_cost": summary["extras"]["test_cost"], "epochs": summary["progress"],
                               "seconds": round(agent.train_seconds, 1), "error": None}
                except NonFiniteError as error:  # a diverging run is a result too: record it and go on
                    outcome = {"test_cost": math.nan, "epochs": None, "seconds": None, "error": str(error)}
                row = {"stores": n, "scenarios": scenarios, "policy": name, "lower_bound": lower_bounds[n]} | outcome
                rows.append(row)
                print(json.dumps(row), flush=True)
                if args.json:
                    Path(args.json).write_text(json.dumps(rows, indent=2))
    print(f"\n{args.setting}, seed {args.seed}, {date.today()}: test cost (gap to the best policy found per instance;"
          " 'diverged': non-finite training or test cost)")
    bound = args.setting == "transshipment"
    print("| stores | scenarios | GNN | MLP |" + (" lower bound | GNN gap to it | MLP gap to it |" if bound else "")
          + "\n|---|---|---|---|" + ("---|---|---|" if bound else ""))
    for n in args.stores:
        best = min((r["test_cost"] for r in rows if r["stores"] == n and math.isfinite(r["test_cost"])),
                   default=math.nan)
        for scenarios in args.scenarios:
            runs = [next(r for r in rows if (r["stores"], r["scenarios"], r["policy"]) == (n, scenarios, name))
                    for name in POLICIES]
            cells = [f"{r['test_cost']:.3f} ({gap(r['test_cost'], best)})" for r in runs]
            if bound:
                cells += [f"{lower_bounds[n]:.3f}"] + [gap(r["test_cost"], lower_bounds[n]) for r in runs]
            print(f"| {n} | {scenarios} | {' | '.join(cells)} |")


def gap(cost: float, reference: float) -> str:
    return f"{100 * (cost / reference - 1):+.2f}%" if math.isfinite(cost) else "diverged"


if __name__ == "__main__":
    main()
