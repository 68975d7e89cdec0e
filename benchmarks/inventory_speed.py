"""HDPO wall-clock to a dev-cost gap on lost sales (one store, Poisson(5), L = 4, p = 9, optimum 6.84), with the
reference implementation's sizes: 32,768 training scenarios x 50 periods (30 warm-up), batch 8,192, dev
32,768 x 100 (60) every 10 epochs, MLP [32, 32, 32] ELU, Adam 3e-3.

    python benchmarks/inventory_speed.py --device cpu --minutes 10
    python benchmarks/inventory_speed.py --device cuda --minutes 4 --compile
    python benchmarks/inventory_speed.py --device cuda --minutes 1 --cuda-graph --set learning_rate=0.01 --set max_grad_norm=1
    python benchmarks/inventory_speed.py --device cpu --minutes 3 --set learning_rate=0.01 --set max_grad_norm=1

`--set` changes any other HDPO setting (learning rate, schedule, ...); the three sizes above that define the
problem (training scenarios, batch, periods) stay fixed. Prints seconds per epoch (training alone) and the time
(dev evaluations included) at which the dev cost first came within 1% and 0.5% of the optimum. `--minutes` caps
the training time, evaluations excluded.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
from datetime import date
from pathlib import Path

import pandas as pd
import torch

import appliedrl  # noqa: F401
from appliedrl.agents import HDPOConfig
from appliedrl.agents.config import ConfigError, make_config, parse_assignments
from appliedrl.domains.inventory import ENV_ID
from appliedrl.domains.inventory.hdpo_problem import make_hdpo_agent

EPOCHS = 20_000  # HDPO's default budget (appliedrl train): the time cap ends the run first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the simulator period")
    parser.add_argument("--cuda-graph", action="store_true", help="replay each training step as one CUDA graph")
    parser.add_argument("--set", action="append", help="HDPO config override, e.g. --set learning_rate=0.01")
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args()
    overrides = parse_assignments(args.set)
    fixed = sorted(set(overrides) & {"train_scenarios", "batch_size", "train_periods"})
    if fixed:
        parser.error(f"{', '.join(fixed)} are fixed by this benchmark (32768, 8192, 50)")
    try:
        config = make_config(HDPOConfig, {"device": args.device, "max_seconds": 60 * args.minutes,
                                          "torch_threads": args.threads or None, "compile": args.compile,
                                          "cuda_graph": args.cuda_graph, "test_scenarios": 1024,
                                          "test_periods": 500, "test_ignore_periods": 100, "tensorboard": False},
                             overrides, agent="hdpo")
    except ConfigError as error:
        parser.error(str(error))
    env_kwargs = {"setting": "one_store_lost", "lead_time": 4, "shortage_cost": 9.0}
    agent = make_hdpo_agent(ENV_ID, env_kwargs, config, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        summary = agent.learn(EPOCHS, run_dir=Path(tmp), progress_bar=False)
        metrics = pd.read_csv(Path(tmp) / "metrics.csv")
    # the final evaluation's row carries no time of its own: it ends with the run
    metrics["time/seconds"] = metrics["time/seconds"].fillna(summary["wall_time_s"])
    dev = metrics.dropna(subset=["eval/dev_cost"])
    result = {"device": args.device, "compile": args.compile, "cuda_graph": args.cuda_graph, "overrides": overrides,
              "threads": torch.get_num_threads(),
              "gpu": torch.cuda.get_device_name() if args.device.startswith("cuda") else None,
              "cpu": platform.processor() or platform.machine(), "date": str(date.today()),
              "epochs": summary["progress"], "seconds_per_epoch": agent.train_seconds / summary["progress"],
              "best_dev": summary["best_score"], "optimal": summary["extras"]["optimal_cost"]}
    for gap in (1.0, 0.5):
        hit = dev[dev["eval/dev_gap_percent"] <= gap]
        result[f"seconds_to_{gap}%"] = float(hit["time/seconds"].iloc[0]) if len(hit) else None
        result[f"epochs_to_{gap}%"] = int(hit["step"].iloc[0]) if len(hit) else None
    print(json.dumps(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
