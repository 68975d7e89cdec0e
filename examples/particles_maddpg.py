"""MADDPG on simple_spread (3 agents cover 3 landmarks) in 64 batched particle worlds, against the heuristics.

    python examples/particles_maddpg.py            # about a minute on 2 CPU cores; --steps for a longer run
"""

import argparse
import shutil

from appliedrl.agents import MADDPGConfig
from appliedrl.agents.evaluation import evaluate_multiagent
from appliedrl.domains import baselines_for
from appliedrl.domains.particles import make_maddpg
from appliedrl.envs.multiagent import make_multiagent

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=300_000, help="training transitions")
args = parser.parse_args()

env_id = "particles/simple_spread_v3"
config = MADDPGConfig(n_envs=64, eval_freq=100_000)  # the original code's hyperparameters otherwise
agent = make_maddpg(env_id, {}, config, seed=0)  # 64 batched worlds to train on, 100 to evaluate on
shutil.rmtree("runs/example-spread", ignore_errors=True)
agent.learn(args.steps, run_dir="runs/example-spread")

test_envs = make_multiagent(env_id, 500)
print("mean per-agent return over 1,000 episodes:")
for name in ("random", "greedy-spread"):
    baseline = baselines_for(env_id)[name].make(test_envs, 0)
    print(f"  {name:14s} {evaluate_multiagent(baseline, test_envs, 1000, seed=1).mean:7.2f}")
print(f"  {'maddpg':14s} {evaluate_multiagent(agent, test_envs, 1000, seed=1).mean:7.2f}")
