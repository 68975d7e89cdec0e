"""Meowjong-style observation: everything one seat can see, as a 34 x 151 array (one row per 34-format kind).

Rows are the 34 kinds of the `mahjong` package (the seven sanma never uses, 2m-8m, stay zero, as in Meowjong).
Columns, in `LAYOUT` order ("others" are the next seat in turn order, then the one after):

| columns | block | encoding |
|---|---|---|
| 0 | target | 1 on the tile in question: the one drawn, or the one a claim is about |
| 1-4 | hand | thermometer of the seat's concealed counts (>= 1, >= 2, >= 3, 4) |
| 5 | red | 1 on 5p / 5s for a red five held |
| 6-9 | melds | thermometer of the seat's tiles in pon and kan |
| 10-13 | kita | thermometer of its kita on the North row |
| 14-43 | discards | one column per discard in order (one-hot kind; the first 30) |
| 44-81, 82-119 | next seat, seat after | melds (4), kita (4), discards (30), as for the seat |
| 120-124 | dora | one column per revealed dora indicator (one-hot kind) |
| 125-127 | riichi | 1 in every row if the seat / next / after has declared riichi |
| 128-130 | scores | score / 100,000 in every row, for the seat / next / after |
| 131-139 | round | one-hot round (E1 ... W3), every row |
| 140-141 | honba, deposits | count / 4 (at most 1), every row |
| 142-144 | seat wind | one-hot East / South / West, every row |
| 145 | live wall | tiles left / 55, every row |
| 146-150 | decision | one-hot: own turn, discard after riichi, claim on a discard, on a kita, on a kan |
"""

from __future__ import annotations

import numpy as np

from appliedrl.envs.mahjong.engine import ROUND_NAMES, SEATS, Game
from appliedrl.envs.mahjong.tiles import NORTH, RED_FIVES

DISCARD_COLUMNS = 30
LAYOUT = {
    "target": 1, "hand": 4, "red": 1, "melds": 4, "kita": 4, "discards": DISCARD_COLUMNS,
    "next_melds": 4, "next_kita": 4, "next_discards": DISCARD_COLUMNS,
    "after_melds": 4, "after_kita": 4, "after_discards": DISCARD_COLUMNS,
    "dora": 5, "riichi": SEATS, "scores": SEATS, "round": len(ROUND_NAMES), "honba": 1, "deposits": 1,
    "seat_wind": SEATS, "live_wall": 1, "decision": 5,
}
COLUMNS = sum(LAYOUT.values())  # 151
START = dict(zip(LAYOUT, np.cumsum([0, *LAYOUT.values()])[:-1].tolist()))
DECISIONS = ("turn", "riichi", "discard", "kita", "kan")
LIVE_AT_START = 55


def encode(game: Game, seat: int) -> np.ndarray:
    """The 34 x COLUMNS float32 observation of `seat` (see the module's table)."""
    out = np.zeros((34, COLUMNS), np.float32)
    own = game.seats[seat]
    claim = game.claim
    target = claim.tile if claim else game.drawn if game.turn == seat else None
    if target is not None:
        out[target // 4, START["target"]] = 1
    counts = np.asarray(own.counts)
    out[:, START["hand"]:START["hand"] + 4] = counts[:, None] > np.arange(4)
    for tile in own.hand:
        if tile in RED_FIVES:
            out[tile // 4, START["red"]] = 1
    for offset, prefix in ((0, ""), (1, "next_"), (2, "after_")):
        player = game.seats[(seat + offset) % SEATS]
        meld_counts = np.zeros(34, np.int64)
        for meld in player.melds:
            meld_counts[meld.kind] += len(meld.tiles)
        out[:, START[prefix + "melds"]:START[prefix + "melds"] + 4] = meld_counts[:, None] > np.arange(4)
        out[NORTH, START[prefix + "kita"]:START[prefix + "kita"] + len(player.kita)] = 1
        kinds = [t // 4 for t in player.discards[:DISCARD_COLUMNS]]
        out[kinds, START[prefix + "discards"] + np.arange(len(kinds))] = 1
        out[:, START["riichi"] + offset] = player.riichi
        out[:, START["scores"] + offset] = game.scores[(seat + offset) % SEATS] / 100_000
    indicators = [t // 4 for t in game.dora_indicators]
    out[indicators, START["dora"] + np.arange(len(indicators))] = 1
    out[:, START["round"] + game.round_index] = 1
    out[:, START["honba"]] = min(game.honba, 4) / 4
    out[:, START["deposits"]] = min(game.deposits, 4) / 4
    out[:, START["seat_wind"] + game.seat_wind(seat) - 27] = 1
    out[:, START["live_wall"]] = game.live_tiles / LIVE_AT_START
    decision = ("kan" if claim.kind in ("kakan", "ankan") else claim.kind) if claim else (
        "riichi" if game.riichi_declared else "turn")
    out[:, START["decision"] + DECISIONS.index(decision)] = 1
    return out
