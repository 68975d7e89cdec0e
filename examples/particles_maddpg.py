"""MADDPG on simple_spread (3 agents cover 3 landmarks) in 64 batched particle worlds, against the heuristics.

    python examples/particles_maddpg.py            # about a minute on 2 CPU cores; --steps for a longer run
"""

import argparse

from appliedrl.agents import MADDPG, MADDPGConfig
from appliedrl.agents.evaluation import evaluate_multiagent
from appliedrl.domains.particles import PARTICLE_BASELINES
from appliedrl.envs.multiagent import make_multiagent

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=300_000, help="training transitions")
args = parser.parse_args()

env_id = "particles/simple_spread_v3"
config = MADDPGConfig(num_envs=64, eval_freq=100_000)  # the original code's hyperparameters otherwise
agent = MADDPG(make_multiagent(env_id, config.num_envs), config, seed=0, env_id=env_id,
               eval_envs=make_multiagent(env_id, 100))
agent.learn(args.steps, run_dir="runs/example-spread")

test_envs = make_multiagent(env_id, 500)
print("mean per-agent return over 1,000 episodes:")
for name in ("random", "greedy-spread"):
    baseline = PARTICLE_BASELINES[name](env_id, test_envs, 0)
    print(f"  {name:14s} {evaluate_multiagent(baseline, test_envs, 1000, seed=1).mean:7.2f}")
print(f"  {'maddpg':14s} {evaluate_multiagent(agent, test_envs, 1000, seed=1).mean:7.2f}")
