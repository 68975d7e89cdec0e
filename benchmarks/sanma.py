"""Sanma: random-play speed of the rules engine, and duplicate matches between the heuristic bots.

    python benchmarks/sanma.py speed --games 200
    python benchmarks/sanma.py bots --deals 334 --workers 2 --out /tmp/bench/sanma
    python benchmarks/sanma.py supervised --episodes 1300 --deals 334 --workers 2 --out /tmp/bench/sanma
    python benchmarks/sanma.py match --player runs/sanma-rl --deals 334 --workers 2 --out /tmp/bench/sanma

`speed` plays whole hanchans of uniformly random legal moves on one core: through the engine alone (the rules,
legality, wins and payments) and through the PettingZoo game (adding the 34 x 157 observation of every decision).
`bots` plays duplicate matches on appliedrl/SanmaVsBots-v0: each deal (a seeded game) is played three times with
the tested bot in each seat against two copies of the opponent, reporting average rank, rank rates, win and
deal-in rates and final score with 95% intervals; `greedy` against `greedy` is the control (parity is rank 2.0).
`supervised` trains PPO with Meowjong's CNN through the runner, pre-trained on `--episodes` hanchans of the
defensive bot (`pretrain_from=baseline:defensive`, against two defensive bots), and plays the pre-trained policy
(RUN/pretrained) in duplicate against two defensive bots; the teacher there is at parity (2.0) by symmetry.
`match` plays `--player` (a bot's name or a run folder: an RL-tuned agent) in duplicate against two `--opponent`s.
Targets (issue 17): `defensive` beats `greedy` (average rank below 2.0, interval excluding it) over >= 1,000
hanchans; the supervised model within 0.05 of its teacher's average rank; the RL-tuned agent at most 1.85 against
two `defensive` bots; random play >= 30 hanchans per second on one core.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from appliedrl.agents.evaluation import evaluate, metric_interval
from appliedrl.agents.turn_based import deal_parallelism
from appliedrl.domains.mahjong import SANMA, Defensive, Greedy
from appliedrl.envs.mahjong import sanma_v0
from appliedrl.envs.mahjong.engine import Game
from appliedrl.runner import RunSpec, load_policy, run

BOTS = {"greedy": Greedy, "defensive": Defensive}
MATCHES = (("defensive", "greedy"), ("greedy", "greedy"))  # (tested bot, opponent); the second is the control
MATCH_SEED = 50_000
SHOWN = ("rank", "rank_1", "rank_2", "rank_3", "win_rate", "deal_in_rate", "final_score")


def speed(games: int) -> dict:
    """Hanchans per second of random legal play: engine only, and through the PettingZoo game."""
    rng, game = random.Random(0), Game()
    start = time.perf_counter()
    for seed in range(games):
        game.reset(seed=seed)
        while not game.over:
            game.step(rng.choice(game.legal_actions()))
    engine = games / (time.perf_counter() - start)
    env, np_rng = sanma_v0.raw_env(), np.random.default_rng(0)
    start = time.perf_counter()
    for seed in range(games):
        env.reset(seed=seed)
        for _ in env.agent_iter():
            obs, _, terminated, truncated, _ = env.last()
            env.step(None if terminated or truncated else int(np_rng.choice(np.flatnonzero(obs["action_mask"]))))
    pettingzoo = games / (time.perf_counter() - start)
    return {"games": games, "engine_hanchans_per_s": round(engine, 1), "pettingzoo_hanchans_per_s": round(pettingzoo, 1)}


def _match_part(job: tuple[str, str, int, int]) -> dict[str, list[float]]:
    """One worker's share of a match: `deals` deals from `seed`; per-episode metric values. The player is a bot's
    name or a run's policy folder."""
    player, opponent, deals, seed = job
    policy = BOTS[player](seed) if player in BOTS else load_policy(player)[0]
    result = evaluate(policy, SANMA, deals * 3, seed, {"opponents": [opponent]}, deterministic=True,
                      max_parallel=deal_parallelism(deals, 8))
    return {key: values.tolist() for key, values in result.metric_values.items()}


def matches(pairs: list[tuple[str, str]], deals: int, workers: int) -> dict:
    """Duplicate matches (player, opponent), `deals` deals each (3 hanchans per deal), over `workers` processes."""
    shares = [deals // workers + (w < deals % workers) for w in range(workers)]
    jobs = [(bot, opponent, share, MATCH_SEED + 1000 * w) for bot, opponent in pairs
            for w, share in enumerate(shares) if share]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        parts = pool.map(_match_part, jobs)
    results = {}
    for bot, opponent in pairs:
        merged: dict[str, list[float]] = {}
        for job, part in zip(jobs, parts):
            if job[:2] == (bot, opponent):
                for key, values in part.items():
                    merged.setdefault(key, []).extend(values)
        summary = {"hanchans": len(merged["rank"])}
        for key in SHOWN:
            estimate = metric_interval(np.array(merged[key]))
            summary[key] = {"value": estimate.value, "ci95": [estimate.low, estimate.high]}
        results[f"{Path(bot).name}_vs_{opponent}"] = summary
    return results


def supervised(episodes: int, deals: int, workers: int, run_dir: Path) -> dict:
    """Pre-train Meowjong's CNN on the defensive bot through the runner; its duplicate match against two of them."""
    config = {"pretrain_from": "baseline:defensive", "pretrain_episodes": episodes, "eval_freq": 0,
              "tensorboard": False}
    start = time.perf_counter()
    summary = run(RunSpec(SANMA, "ppo", 0, 1024, {"opponents": ["defensive"]}, config, run_dir=run_dir,
                          progress_bar=False))
    trained = time.perf_counter() - start
    return {"pretrain": summary.get("pretrain"), "train_seconds": round(trained, 1),
            **matches([(str(run_dir / "pretrained"), "defensive")], deals, workers)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=("speed", "bots", "supervised", "match"))
    parser.add_argument("--games", type=int, default=200, help="speed: random hanchans per measurement")
    parser.add_argument("--deals", type=int, default=334, help="bots, supervised: deals per match (3 hanchans each)")
    parser.add_argument("--episodes", type=int, default=300, help="supervised: demonstrated hanchans")
    parser.add_argument("--run-dir", type=Path, default=Path("runs/sanma-supervised"), help="supervised: the run")
    parser.add_argument("--player", help="match: a bot's name or a run folder")
    parser.add_argument("--opponent", default="defensive", choices=tuple(BOTS), help="match: the two opponents")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, help="folder for sanma_<part>.json")
    args = parser.parse_args()
    if args.part == "match" and not args.player:
        parser.error("match needs --player (a bot's name or a run folder)")
    start = time.perf_counter()
    parts = {"speed": lambda: speed(args.games), "bots": lambda: matches(list(MATCHES), args.deals, args.workers),
             "supervised": lambda: supervised(args.episodes, args.deals, args.workers, args.run_dir),
             "match": lambda: matches([(args.player, args.opponent)], args.deals, args.workers)}
    numbers = parts[args.part]()
    report = {"command": "python benchmarks/sanma.py " + " ".join(sys.argv[1:]),
              "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
              "date": datetime.now(timezone.utc).isoformat(timespec="minutes"),
              "seconds": round(time.perf_counter() - start, 1), **numbers}
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"sanma_{args.part}.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
