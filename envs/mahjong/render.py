"""The table as text from one seat: what a player at that seat may see, in mjai tile names."""

from __future__ import annotations

from appliedrl.envs.mahjong import actions as A
from appliedrl.envs.mahjong.engine import ROUND_NAMES, SEATS, Game
from appliedrl.envs.mahjong.tiles import tile_name

WIND_NAMES = {27: "East", 28: "South", 29: "West"}


def _tiles(tiles: list[int]) -> str:
    return " ".join(tile_name(t) for t in sorted(tiles)) or "-"


def _seat_line(game: Game, seat: int, viewer: int) -> list[str]:
    player = game.seats[seat]
    who = "you" if seat == viewer else f"player_{seat}"
    flags = " riichi" if player.riichi else ""
    melds = "  ".join(f"{m.type}:{''.join(tile_name(t) for t in m.tiles)}" for m in player.melds) or "-"
    discards = " ".join(tile_name(t) + ("*" if i == player.riichi_discard else "")
                        for i, t in enumerate(player.discards)) or "-"
    return [f"{who} ({WIND_NAMES[game.seat_wind(seat)]}, {game.scores[seat]}{flags})",
            f"  melds {melds}   kita {len(player.kita)}",
            f"  discards {discards}"]


def table_text(game: Game, seat: int) -> str:
    """Round, dora indicators and every seat's open tiles, then `seat`'s hand and, if it is to act, its choices."""
    lines = [f"{ROUND_NAMES[game.round_index]} honba {game.honba} deposits {game.deposits}  "
             f"dora indicators {' '.join(tile_name(t) for t in game.dora_indicators)}  live wall {game.live_tiles}"]
    for offset in (1, 2, 0):
        lines += _seat_line(game, (seat + offset) % SEATS, seat)
    own = game.seats[seat]
    hand = [t for t in own.hand if not (game.turn == seat and t == game.drawn)]
    drawn = f"  + {tile_name(game.drawn)}" if game.turn == seat and game.drawn is not None and not game.claim else ""
    lines.append(f"hand {_tiles(hand)}{drawn}")
    if game.over:
        ranking = ", ".join(f"player_{q} {game.scores[q]}" for q in game.ranking())
        lines.append(f"game over: {ranking}")
    elif game.to_act == seat:
        if game.claim:
            lines.append(f"player_{game.claim.seat} gave {tile_name(game.claim.tile)} ({game.claim.kind})")
        lines.append("choices: " + ", ".join(f"{a}={A.describe(a)}" for a in game.legal_actions()))
    return "\n".join(lines)



