"""PPO pre-trained from the newsvendor baseline on one inventory store, then trained online: the average cost of
the baseline, of the pre-trained policy before any online step, and after each block of online steps.

    nice -n 10 python benchmarks/pretrain_inventory.py --setting one_store_lost --steps 200000 --eval-every 40000

Lost sales is the default: there the newsvendor level is a heuristic (well above the optimum known by dynamic
programming), so online training has room to improve on it; for one backlogged store it is the optimal policy,
so online training can at best hold it. Every policy is evaluated deterministically on the same seeded episodes
(`agents.evaluation.evaluate`), so the costs share their demand draws. With `--scratch`, a PPO run with the same
settings but no pre-training is evaluated at the same points, for comparison.
"""

from __future__ import annotations

import argparse
import time
from datetime import date

import gymnasium as gym

import appliedrl  # noqa: F401  (registers the environments)
from appliedrl.agents import PPO, PPOConfig, evaluate
from appliedrl.agents.config import make_config, parse_assignments
from appliedrl.agents.pretrain import DEMONSTRATION_SEED_OFFSET, collect_demonstrations
from appliedrl.agents.trainer import EVAL_SEED_OFFSET, train
from appliedrl.domains import make_baseline

ENV_ID = "appliedrl/Inventory-v0"
# PPO as in benchmarks/inventory_score_function.py, with a smaller rate for fine-tuning a fitted policy
PPO_SETTINGS = {"n_envs": 16, "n_steps": 256, "batch_size": 1024, "n_epochs": 10, "normalize_obs": True,
                "normalize_reward": True, "gamma": 0.99, "learning_rate": 1e-4, "eval_freq": 0, "checkpoint_freq": 0,
                "tensorboard": False}


def average_cost(policy, env_kwargs: dict, episodes: int, seed: int) -> float:
    return evaluate(policy, ENV_ID, episodes, seed + EVAL_SEED_OFFSET, env_kwargs).metrics["average_cost"]


def online_costs(agent: PPO, steps: int, every: int, env_kwargs: dict, episodes: int, seed: int) -> dict[int, float]:
    """Train `agent` online for `steps` env steps, evaluating whenever another `every` steps have passed and at
    the end."""
    costs = {}

    def evaluate_now(agent: PPO, metrics: dict[str, float]) -> None:
        now = agent.num_timesteps
        if now // every > max(costs, default=0) // every or now >= steps:
            costs[now] = average_cost(agent, env_kwargs, episodes, seed)
            print(f"  step {now:>7}: average cost {costs[now]:.3f}", flush=True)

    train(agent, steps, callbacks=[evaluate_now], progress_bar=False)
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setting", default="one_store_lost", choices=["one_store_lost", "one_store_backlogged"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=200_000, help="online env steps after pre-training")
    parser.add_argument("--eval-every", type=int, default=40_000)
    parser.add_argument("--eval-episodes", type=int, default=200)
    parser.add_argument("--scratch", action="store_true", help="also train PPO without pre-training")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="PPO config override (repeatable)")
    args = parser.parse_args()
    env_kwargs = {"setting": args.setting}
    config = make_config(PPOConfig, PPO_SETTINGS, parse_assignments(args.set), agent="ppo")
    with gym.make(ENV_ID, **env_kwargs) as env:
        newsvendor = make_baseline("newsvendor", env.unwrapped, args.seed)
    baseline = average_cost(newsvendor, env_kwargs, args.eval_episodes, args.seed)
    print(f"{args.setting}, seed {args.seed}: newsvendor average cost {baseline:.3f}", flush=True)

    agent = PPO(ENV_ID, config, args.seed, env_kwargs)
    start = time.perf_counter()
    # what the trainer's hook (pretrain.pretrain_agent) does, step by step, to evaluate before any online step
    demos = collect_demonstrations(newsvendor, ENV_ID, env_kwargs, config.pretrain_episodes,
                                   args.seed + DEMONSTRATION_SEED_OFFSET, config.gamma, config.n_envs)
    fitted = agent.fit_demonstrations(demos, config.pretrain_epochs, config.pretrain_batch_size,
                                      config.pretrain_learning_rate)
    pretrained = average_cost(agent, env_kwargs, args.eval_episodes, args.seed)
    print(f"pre-trained in {time.perf_counter() - start:.1f} s ({len(demos.returns)} transitions; "
          + ", ".join(f"{k} {v:.4g}" for k, v in fitted.items()) + f"): average cost {pretrained:.3f}", flush=True)
    costs = online_costs(agent, args.steps, args.eval_every, env_kwargs, args.eval_episodes, args.seed)
    scratch = {}
    if args.scratch:
        print("from scratch:")
        fresh = PPO(ENV_ID, config, args.seed, env_kwargs)
        scratch = online_costs(fresh, args.steps, args.eval_every, env_kwargs, args.eval_episodes, args.seed)

    print(f"\n{args.setting}, seed {args.seed}, {args.eval_episodes} evaluation episodes, {date.today()}; "
          f"settings {({key: getattr(config, key) for key in {**PPO_SETTINGS, **parse_assignments(args.set)}})}")
    print("| policy | online steps | average cost | vs newsvendor |" + (" from scratch |" if scratch else ""))
    print("|---|---|---|---|" + ("---|" if scratch else ""))
    print(f"| newsvendor | - | {baseline:.3f} | - |" + (" - |" if scratch else ""))
    print(f"| PPO pre-trained | 0 | {pretrained:.3f} | {100 * (pretrained / baseline - 1):+.2f}% |"
          + (" - |" if scratch else ""))
    for step, cost in costs.items():
        print(f"| PPO pre-trained + online | {step} | {cost:.3f} | {100 * (cost / baseline - 1):+.2f}% |"
              + (f" {scratch[step]:.3f} |" if step in scratch else ""))


if __name__ == "__main__":
    main()
