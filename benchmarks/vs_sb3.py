"""appliedrl vs Stable-Baselines3: same env, hyperparameters, env count, steps and seeds, measured in one run.

Ours is timed as the whole `appliedrl train` command (interpreter start-up, imports, periodic evaluation,
checkpoints); SB3 as `model.learn()` alone. Both final policies are then evaluated with the same protocol
(appliedrl.agents.evaluate, deterministic actions, the same seeded episodes). Seeds alternate between the two
implementations so that machine noise hits both alike.

    python benchmarks/vs_sb3.py                                   # PPO, CartPole-v1, 100k steps, 5 seeds
    python benchmarks/vs_sb3.py --agent dqn --env CartPole-v1 --steps 100000
    python benchmarks/vs_sb3.py --env HalfCheetah-v5 --steps 1000000 --seeds 0 1 2 3 4 --no-sb3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def resolved_config(agent: str, env_id: str, overrides: list[str]) -> dict:
    """The agent config `appliedrl train` would use: defaults, recipe, then --set overrides."""
    from appliedrl.agents.config import config_to_dict, parse_assignments
    from appliedrl.runner import RunSpec, resolve

    return config_to_dict(resolve(RunSpec(env_id, agent, overrides=parse_assignments(overrides)))[1])


def run_ours(agent: str, env_id: str, steps: int, seed: int, overrides: list[str], episodes: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = [sys.executable, "-m", "appliedrl.cli", "train", env_id, "--agent", agent, "--steps", str(steps),
               "--seed", str(seed), "--out", str(out), "--no-progress"]
        for pair in overrides:
            cmd += ["--set", pair]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        wall = time.perf_counter() - start
        summary = json.loads((out / "summary.json").read_text())
        final, best = (_evaluate_run(out, episodes, flags) for flags in ([], ["--best"]))
    return {"wall": wall, "loop": summary["wall_time_s"], "steps": summary["progress"], "eval": final, "best": best}


def _evaluate_run(path: Path, episodes: int, flags: list[str]) -> float:
    report = subprocess.run([sys.executable, "-m", "appliedrl.cli", "evaluate", str(path), "--episodes",
                             str(episodes), "--seed", "12345", "--json", *flags], check=True, capture_output=True,
                            text=True)
    return json.loads(report.stdout.strip().splitlines()[-1])["mean_return"]


def sb3_worker(args: argparse.Namespace) -> None:
    """Train SB3 with the translated config in this process and print one JSON line."""
    import torch

    torch.set_num_threads(1)
    from stable_baselines3 import DQN, PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    import appliedrl  # noqa: F401
    from appliedrl.agents import evaluate

    cfg = resolved_config(args.agent, args.env, args.set or [])
    activations = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "elu": torch.nn.ELU}
    env = make_vec_env(args.env, n_envs=cfg["n_envs"], seed=args.seed)
    if args.agent == "ppo":
        if cfg["normalize_obs"] or cfg["normalize_reward"]:
            env = VecNormalize(env, norm_obs=cfg["normalize_obs"], norm_reward=cfg["normalize_reward"],
                               gamma=cfg["gamma"])
        lr = cfg["learning_rate"]
        model = PPO("MlpPolicy", env, seed=args.seed, verbose=0, device="cpu",
                    learning_rate=(lambda f: f * lr) if cfg["anneal_lr"] else lr,
                    n_steps=cfg["n_steps"], batch_size=cfg["batch_size"] or cfg["n_steps"] * cfg["n_envs"],
                    n_epochs=cfg["n_epochs"], gamma=cfg["gamma"], gae_lambda=cfg["gae_lambda"],
                    clip_range=cfg["clip_range"], clip_range_vf=cfg["clip_range_vf"], ent_coef=cfg["ent_coef"],
                    vf_coef=cfg["vf_coef"], max_grad_norm=cfg["max_grad_norm"], target_kl=cfg["target_kl"],
                    normalize_advantage=cfg["normalize_advantage"],
                    policy_kwargs=dict(net_arch=dict(pi=cfg["net_arch"], vf=cfg["net_arch"]),
                                       activation_fn=activations[cfg["activation"]], ortho_init=cfg["ortho_init"],
                                       log_std_init=cfg["log_std_init"]))
    else:
        unsupported = [k for k in ("double_q", "dueling", "prioritized") if cfg[k]] + (["n_step"] if cfg["n_step"] > 1 else [])
        model = DQN("MlpPolicy", env, seed=args.seed, verbose=0, device="cpu", learning_rate=cfg["learning_rate"],
                    buffer_size=cfg["buffer_size"], learning_starts=cfg["learning_starts"],
                    batch_size=cfg["batch_size"], tau=cfg["tau"], gamma=cfg["gamma"], train_freq=cfg["train_freq"],
                    gradient_steps=cfg["gradient_steps"], target_update_interval=cfg["target_update_interval"],
                    exploration_fraction=cfg["exploration_fraction"],
                    exploration_initial_eps=cfg["exploration_initial_eps"],
                    exploration_final_eps=cfg["exploration_final_eps"], max_grad_norm=cfg["max_grad_norm"],
                    policy_kwargs=dict(net_arch=cfg["net_arch"], activation_fn=activations[cfg["activation"]]))
        if unsupported:
            print(f"note: SB3's DQN has no {', '.join(unsupported)}; it runs without", file=sys.stderr)
    start = time.perf_counter()
    model.learn(args.steps)
    wall = time.perf_counter() - start

    class Wrapped:
        def predict(self, obs, mask=None, deterministic=True):
            if isinstance(env, VecNormalize):
                obs = env.normalize_obs(obs)
            return model.predict(obs, deterministic=deterministic)[0]

    result = evaluate(Wrapped(), args.env, args.episodes, seed=12345)
    print(json.dumps({"wall": wall, "loop": wall, "steps": model.num_timesteps, "eval": result.mean}))


def run_sb3(args: argparse.Namespace, seed: int) -> dict:
    cmd = [sys.executable, __file__, "--sb3-worker", "--agent", args.agent, "--env", args.env, "--steps",
           str(args.steps), "--episodes", str(args.episodes), "--seeds", str(seed)]
    for pair in args.set or []:
        cmd += ["--set", pair]
    proc = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(proc.stdout.strip().splitlines()[-1]) | {"seed": seed}


def describe(name: str, runs: list[dict], threshold: float | None) -> dict:
    evals = np.array([r["eval"] for r in runs])
    walls = np.array([r["wall"] for r in runs])
    sps = np.mean([r["steps"] / r["wall"] for r in runs])
    loop_sps = np.mean([r["steps"] / r["loop"] for r in runs])
    row = {"impl": name, "eval_mean": evals.mean(), "eval_std": evals.std(ddof=1) if len(evals) > 1 else 0.0,
           "per_seed": [round(float(e), 1) for e in evals], "wall_mean": walls.mean(), "sps": sps,
           "loop_sps": loop_sps}
    if threshold is not None:
        row["reached"] = int((evals >= threshold).sum())
    if "best" in runs[0]:  # ours also keeps the best policy of its periodic evaluations (RUN/best)
        best = np.array([r["best"] for r in runs])
        row["best_mean"], row["best_per_seed"] = best.mean(), [round(float(b), 1) for b in best]
        if threshold is not None:
            row["best_reached"] = int((best >= threshold).sum())
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", default="ppo", choices=["ppo", "dqn"])
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--episodes", type=int, default=20, help="final evaluation episodes per seed")
    parser.add_argument("--threshold", type=float, help="count seeds whose evaluation reaches this return")
    parser.add_argument("--set", action="append", help="agent config override for both implementations")
    parser.add_argument("--no-sb3", action="store_true", help="run appliedrl only")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--sb3-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("PYTHONHASHSEED", "0")
    if args.sb3_worker:
        args.seed = args.seeds[0]
        sb3_worker(args)
        return
    ours, theirs = [], []
    for seed in args.seeds:
        ours.append(run_ours(args.agent, args.env, args.steps, seed, args.set or [], args.episodes) | {"seed": seed})
        print(f"seed {seed} appliedrl: {ours[-1]}", file=sys.stderr)
        if not args.no_sb3:
            theirs.append(run_sb3(args, seed))
            print(f"seed {seed} sb3: {theirs[-1]}", file=sys.stderr)
    rows = [describe("appliedrl (whole `appliedrl train` command)", ours, args.threshold)]
    if theirs:
        rows.append(describe("stable-baselines3 (`learn()` only)", theirs, args.threshold))
    config = resolved_config(args.agent, args.env, args.set or [])
    print(f"\n{args.agent} on {args.env}, {args.steps} steps, seeds {args.seeds}, {args.episodes} eval episodes; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {date.today()}")
    print("config:", {k: v for k, v in config.items() if k not in ("device", "tensorboard")})
    print(f"\n| implementation | eval return (mean ± std over seeds) | per seed | "
          f"{'seeds ≥ ' + str(args.threshold) + ' | ' if args.threshold is not None else ''}wall time (s) | steps/s | "
          "steps/s, training loop only |")
    print(f"|---|---|---|{'---|' if args.threshold is not None else ''}---|---|---|")
    for row in rows:
        reached = f" {row['reached']}/{len(args.seeds)} |" if args.threshold is not None else ""
        print(f"| {row['impl']} | {row['eval_mean']:.1f} ± {row['eval_std']:.1f} | {row['per_seed']} |{reached} "
              f"{row['wall_mean']:.2f} | {row['sps']:,.0f} | {row['loop_sps']:,.0f} |")
    if "best_mean" in rows[0]:
        reached = f", {rows[0]['best_reached']}/{len(args.seeds)} seeds >= {args.threshold}" if args.threshold is not None else ""
        print(f"\nappliedrl's best-evaluated policy (RUN/best): {rows[0]['best_mean']:.1f} mean, per seed "
              f"{rows[0]['best_per_seed']}{reached}")
    if theirs:
        print(f"\nspeed ratio, whole command vs learn(): {rows[0]['sps'] / rows[1]['sps']:.2f}×; "
              f"training loop (trainer.train) vs learn(): {rows[0]['loop_sps'] / rows[1]['loop_sps']:.2f}×")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "config": config, "rows": rows}, indent=2, default=float))


if __name__ == "__main__":
    main()
