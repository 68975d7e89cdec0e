"""Sanma: two bots and a random player play an East-only game; the game is written as an mjai-style record and
replayed in the engine, decision by decision.

    python examples/sanma_bots.py
"""

from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np

from appliedrl.domains.mahjong import Defensive, Greedy
from appliedrl.envs.mahjong import sanma_v0
from appliedrl.envs.mahjong.records import read_record, replay, write_record

game = sanma_v0.env(length="east")
players = {"player_0": Defensive(), "player_1": Greedy(), "player_2": None}  # None: uniformly random legal moves
rng = np.random.default_rng(0)
game.reset(seed=0)
for agent in game.agent_iter():
    observation, reward, terminated, truncated, info = game.last()
    if terminated or truncated:
        print(f"{agent}: rank {info['rank']}, score {info['scores'][int(agent[-1])]}")
        game.step(None)
        continue
    player, mask = players[agent], observation["action_mask"]
    action = player.predict(observation["observation"], mask) if player else rng.choice(np.flatnonzero(mask))
    game.step(int(action))

events = game.unwrapped.game.events
with TemporaryDirectory() as folder:
    path = Path(folder) / "game.jsonl"
    write_record(events, path)
    decisions = sum(1 for _ in replay(read_record(path)))
print(f"{len(events)} events written; the replay reproduced all {decisions} decisions")
