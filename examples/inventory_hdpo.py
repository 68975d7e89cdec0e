"""HDPO on the lost-sales inventory problem (one store, Poisson(5) demand, lead time 4, p = 9, h = 1), then a
table against base-stock (level fitted by HDPO), the newsvendor heuristic, the optimum from dynamic programming
and the just-in-time oracle (knows future demand: a lower reference), all on the same test scenarios; the
learning curve is saved as a PNG.

Run: `make demo` (or `python examples/inventory_hdpo.py [--minutes 2]`). Outputs land in runs/demo-inventory.
"""

import argparse
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

import appliedrl  # noqa: E402,F401
from appliedrl.agents import HDPO, HDPOConfig  # noqa: E402
from appliedrl.domains.inventory.baselines import JustInTimeOracle, newsvendor_policy  # noqa: E402
from appliedrl.domains.inventory.hdpo_problem import InventoryHDPOProblem  # noqa: E402
from appliedrl.domains.inventory.policies import make_policy  # noqa: E402
from appliedrl.envs.inventory import InventoryState, make_problem  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--minutes", type=float, default=2.0, help="training budget of the neural policy")
args = parser.parse_args()

OUT = Path("runs/demo-inventory")
shutil.rmtree(OUT, ignore_errors=True)
ENV_ID = "appliedrl/Inventory-v0"
INSTANCE = dict(setting="one_store_lost", lead_time=4, shortage_cost=9.0, holding_cost=1.0, demand_mean=5.0)
problem = make_problem(**INSTANCE)
task = InventoryHDPOProblem(problem)
console = Console()

# The neural policy: the reference's scenario sets (32,768 x 50 periods, batch 8,192) and budget (20,000 epochs),
# cut short by --minutes;
# a larger step than the reference's 3e-3, made safe by clipping the gradient norm (docs/benchmarks.md, speed).
config = HDPOConfig(learning_rate=0.01, max_grad_norm=1.0, max_seconds=60 * args.minutes, test_scenarios=4096,
                    test_periods=2000, test_ignore_periods=500)
torch.manual_seed(0)  # the network's initial weights; HDPO's seed covers the scenarios and the shuffling
hdpo = HDPO(task, make_policy("mlp", problem), config, seed=0, env_id=ENV_ID, env_kwargs=INSTANCE)
console.print(f"training HDPO (MLP) for up to {args.minutes:g} minutes ...")
neural = hdpo.learn(20_000, run_dir=OUT / "mlp")["extras"]

# Base-stock with its single level fitted by HDPO: a few seconds.
level_config = HDPOConfig(learning_rate=0.1, train_scenarios=8192, batch_size=2048, dev_scenarios=8192,
                          eval_freq=5, test_scenarios=4096, test_periods=2000, test_ignore_periods=500)
base_stock = HDPO(task, make_policy("base_stock", problem), level_config, seed=0, env_id=ENV_ID,
                  env_kwargs=INSTANCE).learn(
    40, run_dir=OUT / "base_stock", progress_bar=False)["extras"]

test = task.sample_scenarios(config.test_scenarios, config.test_periods, 0 + 2)  # HDPO's test set (seed + 2)
with torch.no_grad():
    newsvendor = float(task.cost(newsvendor_policy(problem), test, config.test_ignore_periods, test=True).mean())
    oracle = float(JustInTimeOracle(problem).cost(test.demand, InventoryState(test.on_hand, test.pipeline),
                                                  config.test_ignore_periods).mean())
optimum = task.reference_costs()["optimal_cost"]

table = Table(title="lost sales, Poisson(5), L = 4, p = 9, h = 1: average cost per period (test scenarios)")
for column in ("policy", "cost", "gap to optimum"):
    table.add_column(column)
for name, cost in (("HDPO, MLP", neural["test_cost"]), ("base-stock, level fitted by HDPO", base_stock["test_cost"]),
                   ("newsvendor (p/(p+h) quantile of lead-time demand)", newsvendor), ("optimum (dynamic programming)", optimum)):
    table.add_row(name, f"{cost:.3f}", f"{100 * (cost / optimum - 1):+.2f}%")
table.add_row("just-in-time oracle (knows future demand)", f"{oracle:.3f}", "lower reference")
console.print(table)

curve = pd.read_csv(OUT / "mlp" / "metrics.csv")
dev = curve.dropna(subset=["eval/dev_cost"])
plt.figure(figsize=(6, 4))
plt.plot(curve["time/seconds"], curve["train/cost"], alpha=0.5, label="HDPO, MLP (training cost)")
plt.plot(dev["time/seconds"], dev["eval/dev_cost"], "o-", label="HDPO, MLP (dev cost)")
plt.axhline(optimum, color="k", linestyle="--", label=f"optimum {optimum:.2f}")
plt.axhline(newsvendor, color="tab:red", linestyle=":", label=f"newsvendor {newsvendor:.2f}")
plt.xlabel("training time (s)")
plt.ylabel("average cost per period")
plt.ylim(optimum * 0.98, max(newsvendor, optimum) * 1.08)
plt.legend()
plt.tight_layout()
plt.savefig(OUT / "learning_curve.png", dpi=120)
console.print(f"learning curve: {OUT / 'learning_curve.png'}; run folders under {OUT}")
