"""HDPO vs score-function methods (PPO, REINFORCE) on lost sales (one store, Poisson(5), L = 4, p = 9): the cost
each reaches and the wall-clock it takes, every policy tested on the same scenarios by the same simulator.

    python benchmarks/inventory_score_function.py --minutes 5 --seeds 0 1 2

HDPO trains through the differentiable simulator; PPO and REINFORCE train on `appliedrl/Inventory-v0` (the same
simulator behind the Gymnasium API, 16 envs in one native vector env, observation and reward normalisation) for
the same wall-clock budget. The test: 4,096 scenarios × 1,000 periods (200 warm-up), integer orders; the
just-in-time oracle (knows the future demand) is costed on the same scenarios as a lower reference.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch

import appliedrl  # noqa: F401
from appliedrl.agents import PPO, REINFORCE, HDPOConfig, PPOConfig, REINFORCEConfig
from appliedrl.domains.inventory import ENV_ID
from appliedrl.domains.inventory.baselines import JustInTimeOracle
from appliedrl.domains.inventory.hdpo_problem import make_hdpo_agent
from appliedrl.envs.inventory import InventoryState

ENV = {"setting": "one_store_lost", "lead_time": 4, "shortage_cost": 9.0}
TEST = {"scenarios": 4096, "periods": 1000, "ignore": 200}


class StopAfter:
    """Trainer callback: stop once `seconds` of wall-clock have passed."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.perf_counter() + seconds

    def __call__(self, agent, metrics) -> bool:
        return time.perf_counter() < self.deadline


def test_scenarios(task):
    return task.sample_scenarios(TEST["scenarios"], TEST["periods"], seed=10_000)


def test_cost(task, policy) -> float:
    with torch.no_grad():
        return float(task.cost(policy, test_scenarios(task), TEST["ignore"], test=True).mean())


def oracle_cost(task) -> float:
    scenarios = test_scenarios(task)
    start = InventoryState(scenarios.on_hand, scenarios.pipeline)
    return float(JustInTimeOracle(task.problem).cost(scenarios.demand, start, TEST["ignore"]).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="training budget per method and seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1, help="torch threads for every method")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    budget = 60 * args.minutes
    rows = []
    for seed in args.seeds:
        hdpo = make_hdpo_agent(ENV_ID, ENV, HDPOConfig(tensorboard=False, test_scenarios=256, test_periods=200,
                                                       test_ignore_periods=50, torch_threads=args.threads), seed)
        task = hdpo.problem
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:  # every method stops on the same wall-clock callback
            hdpo.learn(10**9, run_dir=Path(tmp), callbacks=[StopAfter(budget)], progress_bar=False)
        rows.append({"method": "hdpo", "seed": seed, "seconds": time.perf_counter() - start,
                     "test_cost": test_cost(task, hdpo.policy)})
        print(json.dumps(rows[-1]), flush=True)
        for name, cls, config in (
            ("ppo", PPO, PPOConfig(n_envs=16, n_steps=256, batch_size=1024, n_epochs=10, normalize_obs=True,
                                   normalize_reward=True, gamma=0.99, eval_freq=0, tensorboard=False,
                                   torch_threads=args.threads)),
            ("reinforce", REINFORCE, REINFORCEConfig(n_envs=16, n_steps=100, normalize_obs=True, normalize_reward=True,
                                                     gamma=0.99, eval_freq=0, tensorboard=False,
                                                     torch_threads=args.threads))):
            agent = cls(ENV_ID, config, seed, env_kwargs=ENV)
            start = time.perf_counter()
            summary = agent.learn(10**9, callbacks=[StopAfter(budget)], progress_bar=False)
            seconds = time.perf_counter() - start
            policy = lambda obs, agent=agent: torch.as_tensor(agent.predict(obs.numpy()))  # noqa: E731
            rows.append({"method": name, "seed": seed, "seconds": seconds, "steps": summary["progress"],
                         "test_cost": test_cost(task, policy)})
            print(json.dumps(rows[-1]), flush=True)
            agent.close()
    optimum = task.reference_costs()["optimal_cost"]
    print(f"\nlost sales L = 4, p = 9 (optimum {optimum:.3f}), {args.minutes} min per run, seeds {args.seeds}, {date.today()}")
    print("| method | test cost (mean ± std over seeds) | gap to optimum | per seed |\n|---|---|---|---|")
    for method in ("hdpo", "ppo", "reinforce"):
        costs = np.array([r["test_cost"] for r in rows if r["method"] == method])
        print(f"| {method} | {costs.mean():.3f} ± {costs.std(ddof=1) if len(costs) > 1 else 0:.3f} | "
              f"{100 * (costs.mean() / optimum - 1):+.2f}% | {[round(float(c), 3) for c in costs]} |")
    print(f"just-in-time oracle (knows the future demand), same test scenarios: {oracle_cost(task):.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
