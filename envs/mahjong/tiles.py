"""Sanma tiles: the 27 kinds of the 108-tile set (2m-8m removed) in the `mahjong` package's 34 / 136 formats.

A tile is a 136-format id (kind * 4 + copy, as the `mahjong` package numbers them); its kind is id // 4 in the
34-format. Sanma keeps the kinds in `KINDS` (1m, 9m, the pinzu, the souzu, the seven honours) and the red fives of
pinzu and souzu (the package's ids 52 and 88). Names follow mjai: "1m", "5p", "5pr" (the red five), "E" ... "C".
"""

from __future__ import annotations

from mahjong.constants import FIVE_RED_PIN, FIVE_RED_SOU

MAN_KINDS = (0, 8)
PIN_KINDS = tuple(range(9, 18))
SOU_KINDS = tuple(range(18, 27))
HONOR_KINDS = tuple(range(27, 34))
KINDS = MAN_KINDS + PIN_KINDS + SOU_KINDS + HONOR_KINDS  # the 27 kinds of sanma, in 34-format
KIND_INDEX = {kind: index for index, kind in enumerate(KINDS)}  # 34-format kind -> 0..26
TILES = tuple(kind * 4 + copy for kind in KINDS for copy in range(4))  # the 108 tiles
RED_FIVES = (FIVE_RED_PIN, FIVE_RED_SOU)
EAST, SOUTH, WEST, NORTH = 27, 28, 29, 30
TERMINALS_AND_HONORS = (0, 8, 9, 17, 18, 26) + HONOR_KINDS  # the 13 kinds of kokushi and nine-terminals

HONOR_NAMES = ("E", "S", "W", "N", "P", "F", "C")


def kind_name(kind: int) -> str:
    """The mjai name of a 34-format kind: "1m", "9p", "E" (east) ... "C" (red dragon)."""
    if kind >= 27:
        return HONOR_NAMES[kind - 27]
    return f"{kind % 9 + 1}{'mps'[kind // 9]}"


def tile_name(tile: int) -> str:
    """The mjai name of a 136-format tile: its kind's name, with an "r" for a red five ("5pr")."""
    return kind_name(tile // 4) + ("r" if tile in RED_FIVES else "")


def kind_of_name(name: str) -> int:
    """The 34-format kind of an mjai tile name; raises ValueError for a name that is not a sanma tile."""
    base = name[:-1] if name.endswith("r") and len(name) == 3 else name
    if base in HONOR_NAMES:
        return 27 + HONOR_NAMES.index(base)
    if len(base) == 2 and base[0].isdigit() and base[0] != "0" and base[1] in "mps":
        kind = "mps".index(base[1]) * 9 + int(base[0]) - 1
        if kind in KIND_INDEX and (base == name or kind * 4 in RED_FIVES):
            return kind
    raise ValueError(f"{name!r} is not a sanma tile; valid names: 1m, 9m, 1p-9p, 1s-9s, 5pr, 5sr, "
                     f"{', '.join(HONOR_NAMES)}")


def parse_tiles(text: str) -> list[int]:
    """136-format tiles from compact notation ("19m123p55s0p EEE"): a run of digits then its suit (m, p, s; 0 is
    the red five) or honour letters; each kind's copies are handed out in order, the red five only when asked."""
    taken: dict[int, int] = {}
    tiles: list[int] = []

    def take(kind: int, red: bool) -> None:
        if red:
            tiles.append(kind * 4)
            return
        first = 1 if kind * 4 in RED_FIVES else 0
        copy = first + taken.get(kind, 0)
        if copy > 3:
            raise ValueError(f"{text!r} has more than {4 - first} plain {kind_name(kind)}")
        taken[kind] = taken.get(kind, 0) + 1
        tiles.append(kind * 4 + copy)

    digits = ""
    for char in text.replace(" ", ""):
        if char.isdigit():
            digits += char
        elif char in "mps":
            for digit in digits:
                number = 5 if digit == "0" else int(digit)
                kind = "mps".index(char) * 9 + number - 1
                if kind not in KIND_INDEX or (digit == "0" and kind * 4 not in RED_FIVES):
                    raise ValueError(f"{digit}{char} is not a sanma tile")
                take(kind, digit == "0")
            digits = ""
        elif char in HONOR_NAMES:
            take(27 + HONOR_NAMES.index(char), False)
        else:
            raise ValueError(f"unexpected {char!r} in {text!r}; use digits with m, p, s and the letters ESWNPFC")
    if digits:
        raise ValueError(f"{text!r} ends with digits and no suit")
    return tiles
