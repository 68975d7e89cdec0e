"""Meowjong-style observation: everything one seat can see, as a 34 x 157 array (one row per 34-format kind).

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
| 120 | best discards | on the seat's turn, 1 on each kind whose discard leaves the lowest shanten |
| 121 | acceptance | on those kinds: the unseen tiles that would then lower the shanten (ukeire) / 80, at most 1 |
| 122-126 | dora | one column per revealed dora indicator (one-hot kind) |
| 127-129 | riichi | 1 in every row if the seat / next / after has declared riichi |
| 130-132 | scores | score / 100,000 in every row, for the seat / next / after |
| 133-141 | round | one-hot round (E1 ... W3), every row |
| 142-143 | honba, deposits | count / 4 (at most 1), every row |
| 144-146 | seat wind | one-hot East / South / West, every row |
| 147 | live wall | tiles left / 55, every row |
| 148-152 | decision | one-hot: own turn, discard after riichi, claim on a discard, on a kita, on a kan |
| 153-156 | shanten | one-hot, every row: tenpai or complete, 1, 2, 3+ (on the seat's turn: after the best discard) |

Columns 120, 121 and 153-156 are look-ahead features in the manner of Suphx's and Mortal's, not Meowjong's: what a
discard does to the hand's shanten and acceptance (`hands.best_discards`). "Unseen" counts a kind's four copies
less those in the seat's hand, in every meld, kita, discard still on the table and dora indicator.
"""

from __future__ import annotations

import numpy as np

from appliedrl.envs.mahjong.engine import ROUND_NAMES, SEATS, Game
from appliedrl.envs.mahjong.hands import best_discards, shanten
from appliedrl.envs.mahjong.tiles import NORTH, RED_FIVES

DISCARD_COLUMNS = 30
LAYOUT = {
    "target": 1, "hand": 4, "red": 1, "melds": 4, "kita": 4, "discards": DISCARD_COLUMNS,
    "next_melds": 4, "next_kita": 4, "next_discards": DISCARD_COLUMNS,
    "after_melds": 4, "after_kita": 4, "after_discards": DISCARD_COLUMNS,
    "best_discards": 1, "acceptance": 1, "dora": 5,
    "riichi": SEATS, "scores": SEATS, "round": len(ROUND_NAMES), "honba": 1, "deposits": 1, "seat_wind": SEATS,
    "live_wall": 1, "decision": 5, "shanten": 4,
}
COLUMNS = sum(LAYOUT.values())  # 157
START = dict(zip(LAYOUT, np.cumsum([0, *LAYOUT.values()])[:-1].tolist()))
DECISIONS = ("turn", "riichi", "discard", "kita", "kan")
BROADCAST = np.arange(START["riichi"], COLUMNS)  # the columns that hold one value in every row
LIVE_AT_START = 55
MAX_ACCEPTANCE = 80


def encode(game: Game, seat: int) -> np.ndarray:
    """The 34 x COLUMNS float32 observation of `seat` (see the module's table)."""
    out = np.zeros((34, COLUMNS), np.float32)
    rows: list[int] = []  # the cells set to 1, gathered first: one numpy assignment instead of dozens
    cols: list[int] = []

    def mark(row: int, col: int) -> None:
        rows.append(row)
        cols.append(col)

    def thermometer(counts: dict[int, int] | list[int], start: int) -> None:
        for kind, count in (counts.items() if isinstance(counts, dict) else enumerate(counts)):
            for level in range(count):
                mark(kind, start + level)

    own, claim = game.seats[seat], game.claim
    target = claim.tile if claim else game.drawn if game.turn == seat else None
    if target is not None:
        mark(target // 4, START["target"])
    thermometer(own.counts, START["hand"])
    for tile in own.hand:
        if tile in RED_FIVES:
            mark(tile // 4, START["red"])
    broadcast = np.zeros(COLUMNS, np.float32)  # the table's facts, the same in every row
    for offset, prefix in ((0, ""), (1, "next_"), (2, "after_")):
        player = game.seats[(seat + offset) % SEATS]
        meld_counts: dict[int, int] = {}
        for meld in player.melds:
            meld_counts[meld.kind] = meld_counts.get(meld.kind, 0) + len(meld.tiles)
        thermometer(meld_counts, START[prefix + "melds"])
        thermometer({NORTH: len(player.kita)}, START[prefix + "kita"])
        for column, tile in enumerate(player.discards[:DISCARD_COLUMNS]):
            mark(tile // 4, START[prefix + "discards"] + column)
        broadcast[START["riichi"] + offset] = player.riichi
        broadcast[START["scores"] + offset] = game.scores[(seat + offset) % SEATS] / 100_000
    for column, tile in enumerate(game.dora_indicators):
        mark(tile // 4, START["dora"] + column)
    broadcast[START["round"] + game.round_index] = 1
    broadcast[START["honba"]] = min(game.honba, 4) / 4
    broadcast[START["deposits"]] = min(game.deposits, 4) / 4
    broadcast[START["seat_wind"] + game.seat_wind(seat) - 27] = 1
    broadcast[START["live_wall"]] = game.live_tiles / LIVE_AT_START
    decision = ("kan" if claim.kind in ("kakan", "ankan") else claim.kind) if claim else (
        "riichi" if game.riichi_declared else "turn")
    broadcast[START["decision"] + DECISIONS.index(decision)] = 1
    if game.turn == seat and claim is None and sum(own.counts) % 3 == 2:
        best, accepted = best_discards(own.counts, _unseen(game, own.counts))
        for kind, tiles in accepted.items():
            mark(kind, START["best_discards"])
            out[kind, START["acceptance"]] = min(tiles, MAX_ACCEPTANCE) / MAX_ACCEPTANCE
    else:
        best = shanten(tuple(own.counts))
    broadcast[START["shanten"] + min(max(best, 0), 3)] = 1
    out[:, BROADCAST] = broadcast[BROADCAST]
    out[rows, cols] = 1
    return out


def _unseen(game: Game, hand_counts: list[int]) -> list[int]:
    """Per kind, the copies a seat has not seen: four less its hand, the melds, kita, discards on the table and
    dora indicators."""
    seen = list(hand_counts)
    shown = list(game.dora_indicators)
    for player in game.seats:
        shown += player.kita
        shown += [t for meld in player.melds for t in meld.tiles]
        shown += [t for t, taken in zip(player.discards, player.called_away) if not taken]
    for tile in shown:
        seen[tile // 4] += 1
    return [max(4 - count, 0) for count in seen]
