"""The compact action space of sanma: 63 discrete actions, the same for every decision, masked by legality.

| actions | meaning |
|---|---|
| 0-28 | discard a face: 0-26 the 27 kinds (a plain copy) in `tiles.KINDS` order, 27 the red 5p, 28 the red 5s |
| 29-55 | kan of a kind (29 + kind index): closed or added on one's turn, open on a claim |
| 56 | riichi (the next decision is the discard, among those that keep tenpai) |
| 57 | pon the tile just discarded |
| 58 | kita: set a North aside |
| 59 | tsumo (win on one's draw) |
| 60 | ron (win on a discard, a kita or a robbed kan) |
| 61 | pass on a claim |
| 62 | abort the round with nine terminals and honours |
"""

from __future__ import annotations

from appliedrl.envs.mahjong.tiles import KIND_INDEX, KINDS, RED_FIVES, kind_name, tile_name

FACES_OF_KINDS = len(KINDS)  # 27
DISCARD = 0
FACES = FACES_OF_KINDS + len(RED_FIVES)  # 29 discard faces
KAN = DISCARD + FACES  # 29
RIICHI = KAN + FACES_OF_KINDS  # 56
PON, KITA, TSUMO, RON, PASS, NINE_TERMINALS = range(RIICHI + 1, RIICHI + 7)
N_ACTIONS = NINE_TERMINALS + 1  # 63
NAMED = {RIICHI: "riichi", PON: "pon", KITA: "kita", TSUMO: "tsumo", RON: "ron", PASS: "pass",
         NINE_TERMINALS: "nine terminals draw"}


def face_of_kind(kind: int) -> int:
    """The face index (0-26) of a 34-format kind."""
    return KIND_INDEX[kind]


def kind_of_face(face: int) -> int:
    """The 34-format kind a face shows (the red faces show 5p and 5s)."""
    return KINDS[face] if face < FACES_OF_KINDS else RED_FIVES[face - FACES_OF_KINDS] // 4


def _discard_action(tile: int) -> int:
    if tile in RED_FIVES:
        return DISCARD + FACES_OF_KINDS + RED_FIVES.index(tile)
    return DISCARD + KIND_INDEX.get(tile // 4, -1)


DISCARD_OF = tuple(_discard_action(tile) for tile in range(136))  # by 136-format tile (-1: not a sanma tile)


def discard_of(tile: int) -> int:
    """The discard action of a 136-format tile."""
    return DISCARD_OF[tile]


def describe(action: int) -> str:
    """A short name: "discard 5pr", "kan 9m", "riichi"."""
    if not 0 <= action < N_ACTIONS:
        return "out of range"
    if action < KAN:
        face = action - DISCARD
        return "discard " + (tile_name(RED_FIVES[face - FACES_OF_KINDS]) if face >= FACES_OF_KINDS
                             else kind_name(KINDS[face]))
    if action < RIICHI:
        return f"kan {kind_name(KINDS[action - KAN])}"
    return NAMED[action]
