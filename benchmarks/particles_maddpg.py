"""MADDPG vs independent DDPG (and the heuristics) on the batched particle worlds, over seeds.

    python benchmarks/particles_maddpg.py train --scenario simple_spread_v3 --seeds 0 1 2 3 4 --steps 1000000
    python benchmarks/particles_maddpg.py report --scenario simple_spread_v3

`train` trains MADDPG and DDPG (`centralized_critic=False`, everything else equal; the scenario's recipe from
domains/recipes on top of the original code's settings unless --no-recipe) for every seed, evaluates each
final policy on 1,000 episodes and writes one JSON per run (and the actors) to --out. The policy that scored
best in the evaluations during training (every eval_freq transitions, 100 other episodes; they do not change
the training) is evaluated afresh on the same 1,000 episodes and reported beside the final one. `report` prints
the table: mean per-agent return per method, the heuristics on the same evaluation, the share of the way from random to
the scenario's heuristic, and a one-sided Welch t-test of MADDPG > DDPG over seeds. For the competitive
scenarios (simple_adversary, simple_tag) it also plays the two methods against each other (cross-play, as the
paper's Table/Figure): good agents of one method against adversaries of the other.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch

from appliedrl.agents.config import load_yaml, make_config, parse_assignments
from appliedrl.agents.evaluation import evaluate_multiagent
from appliedrl.agents.maddpg import MADDPG, MADDPGConfig
from appliedrl.domains import baselines_for
from appliedrl.domains.particles import make_maddpg
from appliedrl.domains.recipes import recipe_for
from appliedrl.envs.multiagent import make_multiagent

HEURISTIC = {"simple_spread_v3": "greedy-spread", "simple_tag_v3": "chase-tag",
             "simple_adversary_v3": "cover-adversary"}
EVAL_EPISODES, EVAL_SEED = 1000, 123


class CrossPlay:
    """Agents whose names start with `adversary` act by one policy, the others by another."""

    def __init__(self, good: MADDPG, adversaries: MADDPG) -> None:
        self.good, self.adversaries = good, adversaries
        self.is_adversary = torch.tensor([a.startswith("adversary") for a in good.agents])

    def act(self, obs: torch.Tensor, deterministic: bool = True) -> torch.Tensor:
        good, bad = self.good.act(obs, deterministic), self.adversaries.act(obs, deterministic)
        return torch.where(self.is_adversary.reshape(1, -1, *[1] * (good.ndim - 2)), bad, good)


def train(args: argparse.Namespace) -> None:
    env_id = f"particles/{args.scenario}"
    recipe = None if args.no_recipe else recipe_for("maddpg", env_id)
    base = load_yaml(recipe) if recipe else {}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        for method in args.methods:
            tag = f"{args.scenario}-{method}-s{seed}"
            if (out / f"{tag}.json").exists():
                continue
            config = make_config(MADDPGConfig, base, {"centralized_critic": method == "maddpg",
                                                      "tensorboard": False, "eval_episodes": 100},
                                 parse_assignments(args.set))
            agent = make_maddpg(env_id, {}, config, seed)
            run_dir = out / f"{tag}-run"
            shutil.rmtree(run_dir, ignore_errors=True)  # a run cut short earlier: start it again
            start = time.perf_counter()
            summary = agent.learn(args.steps, run_dir=run_dir, progress_bar=False)
            seconds = time.perf_counter() - start
            final_envs = make_multiagent(env_id, 500)
            result = evaluate_multiagent(agent, final_envs, EVAL_EPISODES, EVAL_SEED)
            agent.save(out / f"{tag}.pt")
            row = {"scenario": args.scenario, "method": method, "seed": seed, "steps": agent.num_steps,
                   "train_seconds": round(seconds, 1), "mean_return": result.mean,
                   "agent_mean_returns": result.to_dict(agent.agents, with_ci=False)["agent_mean_returns"],
                   "config": {k: v for k, v in vars(config).items()}}
            if config.eval_freq:  # the best of the evaluations during training, evaluated afresh like the final
                best = MADDPG.load(run_dir / "best")
                shutil.copy(run_dir / "best" / "agent.pt", out / f"{tag}-best.pt")
                row |= {"best_step": summary["best_at"],
                        "best_mean_return": evaluate_multiagent(best, final_envs, EVAL_EPISODES, EVAL_SEED).mean}
            shutil.copy(run_dir / "metrics.csv", out / f"{tag}-metrics.csv")  # the evaluations during training
            shutil.rmtree(run_dir)  # its checkpoint holds the whole replay buffer
            (out / f"{tag}.json").write_text(json.dumps(row, indent=2, default=float))
            print(json.dumps({k: row[k] for k in ("scenario", "method", "seed", "train_seconds", "mean_return")}),
                  flush=True)


def report(args: argparse.Namespace) -> None:
    from scipy import stats

    out, env_id = Path(args.out), f"particles/{args.scenario}"
    rows = [json.loads(p.read_text()) for p in sorted(out.glob(f"{args.scenario}-*-s*.json"))]
    if not rows:
        raise SystemExit(f"no runs for {args.scenario} in {out}")
    envs = make_multiagent(env_id, 500)
    names = ["random", "noop"] + ([HEURISTIC[args.scenario]] if args.scenario in HEURISTIC else [])
    baselines = {n: evaluate_multiagent(baselines_for(env_id)[n].make(envs, 0), envs, EVAL_EPISODES, EVAL_SEED)
                 for n in names}
    print(f"{args.scenario}: mean per-agent episode return, {EVAL_EPISODES} evaluation episodes (seed {EVAL_SEED}); "
          f"{platform.processor() or platform.machine()}, {date.today()}")
    print("| policy | seeds | mean per-agent return (± std over seeds) | per agent | train s |\n|---|---|---|---|---|")
    for name, result in baselines.items():
        per_agent = ", ".join(f"{v:.2f}" for v in result.agent_returns.mean(0))
        print(f"| {name} | - | {result.mean:.2f} | {per_agent} | - |")
    by_method: dict[str, list[dict]] = {}
    for row in rows:
        by_method.setdefault(row["method"], []).append(row)
    for method, runs in by_method.items():
        means = np.array([r["mean_return"] for r in runs])
        per_agent = np.mean([list(r["agent_mean_returns"].values()) for r in runs], 0)
        print(f"| {method} | {len(runs)} | {means.mean():.2f} ± {means.std(ddof=1) if len(means) > 1 else 0:.2f} | "
              f"{', '.join(f'{v:.2f}' for v in per_agent)} | {np.mean([r['train_seconds'] for r in runs]):.0f} |")
        if all("best_mean_return" in r for r in runs):
            best = np.array([r["best_mean_return"] for r in runs])
            print(f"| {method}, best evaluated policy (steps {', '.join(str(r['best_step']) for r in runs)}) | "
                  f"{len(runs)} | {best.mean():.2f} ± {best.std(ddof=1) if len(best) > 1 else 0:.2f} | | |")
    if args.scenario in HEURISTIC and "maddpg" in by_method:
        low, high = baselines["random"].mean, baselines[HEURISTIC[args.scenario]].mean
        for method, runs in by_method.items():
            for key, label in (("mean_return", "final"), ("best_mean_return", "best evaluated")):
                if all(key in r for r in runs):
                    share = [(r[key] - low) / (high - low) for r in runs]
                    print(f"{method} ({label} policy): {100 * np.mean(share):.1f}% of the way from random to "
                          f"{HEURISTIC[args.scenario]} (per seed: {', '.join(f'{100 * s:.0f}%' for s in share)})")
    if {"maddpg", "ddpg"} <= by_method.keys():
        a = [r["mean_return"] for r in by_method["maddpg"]]
        b = [r["mean_return"] for r in by_method["ddpg"]]
        test = stats.ttest_ind(a, b, equal_var=False, alternative="greater")
        print(f"one-sided Welch t-test, MADDPG > DDPG on mean per-agent return: t = {test.statistic:.2f}, "
              f"p = {test.pvalue:.3g} ({len(a)} vs {len(b)} seeds)")
        if any(a.startswith("adversary") for a in envs.agents):
            cross_play(out, args.scenario, envs, sorted({r["seed"] for r in rows}))


def cross_play(out: Path, scenario: str, envs: object, seeds: list[int]) -> None:
    """Good agents of one method against adversaries of the other: mean returns over every pairing of seeds
    (each seed's good agents against each seed's adversaries), and over the same-seed pairings alone."""
    print("| good agents vs adversaries | good agents' return, all pairings (same seed) | adversaries' return, all "
          "pairings (same seed) |\n|---|---|---|")
    is_adversary = np.array([a.startswith("adversary") for a in envs.agents])
    for good, bad in (("maddpg", "ddpg"), ("ddpg", "maddpg"), ("maddpg", "maddpg"), ("ddpg", "ddpg")):
        good_returns, bad_returns = np.zeros((len(seeds), len(seeds))), np.zeros((len(seeds), len(seeds)))
        for i, good_seed in enumerate(seeds):
            for j, bad_seed in enumerate(seeds):
                policy = CrossPlay(MADDPG.load(out / f"{scenario}-{good}-s{good_seed}.pt"),
                                   MADDPG.load(out / f"{scenario}-{bad}-s{bad_seed}.pt"))
                result = evaluate_multiagent(policy, envs, EVAL_EPISODES, EVAL_SEED)
                good_returns[i, j] = result.agent_returns[:, ~is_adversary].mean()
                bad_returns[i, j] = result.agent_returns[:, is_adversary].mean()
        print(f"| {good} vs {bad} | {good_returns.mean():.2f} ({np.diag(good_returns).mean():.2f}) | "
              f"{bad_returns.mean():.2f} ({np.diag(bad_returns).mean():.2f}) |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["train", "report"])
    parser.add_argument("--scenario", default="simple_spread_v3")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--methods", nargs="+", default=["maddpg", "ddpg"], choices=["maddpg", "ddpg"])
    parser.add_argument("--steps", type=int, default=1_000_000, help="training transitions per run")
    parser.add_argument("--set", action="append", help="MADDPG config override, e.g. --set learning_rate=1e-3")
    parser.add_argument("--no-recipe", action="store_true", help="the original code's settings, not the scenario's "
                        "tuned recipe (domains/recipes)")
    parser.add_argument("--out", default="runs/particles_maddpg")
    args = parser.parse_args()
    train(args) if args.command == "train" else report(args)


if __name__ == "__main__":
    main()
