"""Train PPO on CartPole-v1 for a small budget, then compare it with a random policy on the same seeded episodes.

Run: `python examples/cartpole_ppo.py` (`make demo` is the inventory demo). The run folder (metrics.csv, checkpoint, TensorBoard
logs) lands in runs/demo-cartpole.
"""

import shutil

from rich.console import Console
from rich.table import Table

import appliedrl  # noqa: F401 - registers appliedrl environments
from appliedrl.agents import PPO, evaluate
from appliedrl.agents.config import load_yaml, make_config
from appliedrl.domains import make_baseline, recipe_for

ENV_ID, STEPS, SEED, EPISODES = "CartPole-v1", 100_000, 0, 20

config = make_config(PPO.Config, load_yaml(recipe_for("ppo", ENV_ID)))
agent = PPO(ENV_ID, config, seed=SEED)
shutil.rmtree("runs/demo-cartpole", ignore_errors=True)
summary = agent.learn(STEPS, run_dir="runs/demo-cartpole")

import gymnasium as gym  # noqa: E402

random_policy = make_baseline("random", gym.make(ENV_ID), seed=SEED)
table = Table(title=f"{ENV_ID}: {EPISODES} evaluation episodes (seed {SEED})")
for column in ("policy", "mean return", "std", "95% CI"):
    table.add_column(column)
for name, policy in (("PPO (appliedrl)", agent), ("random", random_policy)):
    result = evaluate(policy, ENV_ID, EPISODES, seed=SEED)
    low, high = result.confidence_interval()
    table.add_row(name, f"{result.mean:.1f}", f"{result.std:.1f}", f"{low:.1f} … {high:.1f}")
console = Console()
console.print(table)
console.print(f"trained {summary['progress']} steps in {summary['wall_time_s']:.1f} s ({summary['per_second']:.0f} steps/s); "
              "run folder: runs/demo-cartpole")
