"""Rule presets of the sanma engine: each toggle the engine implements, with Tenhou's three-player rules as the
default preset (`rules="tenhou"`). A new preset (Mahjong Soul's, say) is a `Rules` with other values."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Rules:
    """The toggles of a sanma ruleset; the defaults are Tenhou's."""

    start_points: int = 35_000
    target_points: int = 40_000  # the return: a game ends after South 3 only once someone has this many
    red_fives: bool = True  # one red 5p and one red 5s, a dora each
    open_tanyao: bool = True  # all-simples counts in an open hand (kuitan)
    swap_calling: bool = False  # kuikae: discarding the kind just called by pon
    double_ron: bool = True  # both others may win on one discard (deposits and honba go to the first in turn)
    nine_terminals_draw: bool = True  # kyuushu kyuuhai: nine kinds of terminals and honours on the first draw
    four_kan_draw: bool = True  # four kans by more than one player abort the round
    noten_payment: int = 2_000  # paid in total by the players not in tenpai at an exhaustive draw
    riichi_min_live_tiles: int = 3  # riichi needs this many tiles left in the live wall
    nagashi_mangan: bool = True
    kokushi_closed_kan_ron: bool = True  # thirteen orphans may rob a closed kan
    west_extension: bool = True  # play the West round while nobody has target_points
    bust_ends_game: bool = True  # a score below zero ends the game
    double_yakuman: bool = False  # double value for single yakuman such as a 13-sided thirteen orphans wait
    kiriage: bool = False  # round 4 han 30 fu and 3 han 60 fu up to mangan


PRESETS = {"tenhou": Rules()}


def rules_named(name: str | Rules) -> Rules:
    """A preset by name (or the Rules given); raises ValueError naming the presets."""
    if isinstance(name, Rules):
        return name
    if name not in PRESETS:
        raise ValueError(f"unknown rules {name!r}; valid choices: {', '.join(PRESETS)}")
    return PRESETS[name]
