"""The sanma rules engine: a whole game (hanchan) of three-player riichi mahjong, one decision at a time.

`Game.to_act` is the seat that decides next, `Game.legal_actions()` lists its actions (see `actions`), and
`Game.step(action)` applies one and runs the game until the next decision: draws, the end of a round, payments
and the next deal happen inside. Claims on a discard, a kita or a kan are asked of each seat that has one, in turn
order from the discarder; the answers are resolved together (ron before pon and kan; both others may ron).

The wall: 108 tiles shuffled per round. 39 are dealt; live draws come from the front of the next 59 and
replacement draws (after a kan or a kita) from their back, four of them reserved, so every replacement shortens
the live wall (55 live draws at the start). The last 10 tiles hold the dora (first 5) and ura dora indicators.
Every change is logged in `events` as mjai-style dicts (see appliedrl.envs.mahjong.records).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np

from appliedrl.envs.mahjong import actions as A
from appliedrl.envs.mahjong.hands import LONE_KINDS, is_complete, waits
from appliedrl.envs.mahjong.rules import Rules
from appliedrl.envs.mahjong.scoring import Scorer, WinContext
from appliedrl.envs.mahjong.tiles import NORTH, RED_FIVES, TERMINALS_AND_HONORS, TILES, kind_name, tile_name

SEATS = 3
DEALT = 13 * SEATS
INDICATORS = 10  # 5 dora and 5 ura dora indicators at the end of the wall
RESERVED_REPLACEMENTS = 4
ROUND_NAMES = ("E1", "E2", "E3", "S1", "S2", "S3", "W1", "W2", "W3")
LENGTHS = {"hanchan": 6, "east": 3}  # rounds before the game may end (the West extension comes after)


@dataclasses.dataclass
class Meld:
    """A pon or kan: its kind, its tiles, and the seat it was called from (None for a closed kan)."""

    type: str  # "pon", "daiminkan", "ankan" or "kakan"
    kind: int
    tiles: list[int]
    called: int | None = None  # the tile taken from another seat
    source: int | None = None

    @property
    def is_open(self) -> bool:
        return self.type != "ankan"


@dataclasses.dataclass
class Seat:
    """One player's tiles and flags within a round."""

    hand: list[int]
    counts: list[int] = dataclasses.field(default_factory=lambda: [0] * 34)
    melds: list[Meld] = dataclasses.field(default_factory=list)
    kita: list[int] = dataclasses.field(default_factory=list)
    discards: list[int] = dataclasses.field(default_factory=list)
    called_away: list[bool] = dataclasses.field(default_factory=list)  # per discard: taken by a pon or kan
    riichi_discard: int | None = None  # index in discards of the riichi declaration
    riichi: bool = False
    double_riichi: bool = False
    ippatsu: bool = False
    waits: tuple[int, ...] = ()  # of the 13-tile hand after the last discard
    furiten_discards: bool = False  # a wait among one's own discards
    furiten_temporary: bool = False  # let a winning tile pass since one's last discard
    furiten_riichi: bool = False  # let a winning tile pass after riichi

    def __post_init__(self) -> None:
        for tile in self.hand:
            self.counts[tile // 4] += 1

    def add(self, tile: int) -> None:
        self.hand.append(tile)
        self.counts[tile // 4] += 1

    def remove(self, tile: int) -> None:
        self.hand.remove(tile)
        self.counts[tile // 4] -= 1

    def take_kind(self, kind: int, n: int) -> list[int]:
        """Remove n tiles of a kind, plain copies before a red five."""
        tiles = sorted((t for t in self.hand if t // 4 == kind), key=lambda t: (t in RED_FIVES, t))[:n]
        for tile in tiles:
            self.remove(tile)
        return tiles

    @property
    def is_closed(self) -> bool:
        return not any(meld.is_open for meld in self.melds)

    @property
    def furiten(self) -> bool:
        return self.furiten_discards or self.furiten_temporary or self.furiten_riichi


@dataclasses.dataclass
class Claim:
    """Seats that may answer a tile given away (a discard, a kita, a kan), their options and their answers."""

    kind: str  # "discard", "kita", "kakan" or "ankan"
    seat: int  # who gave the tile
    tile: int
    queue: list[int]
    options: dict[int, list[int]]
    answers: dict[int, int] = dataclasses.field(default_factory=dict)
    waiting: list[int] = dataclasses.field(default_factory=list)  # seats whose waits hold the tile


class IllegalActionError(ValueError):
    """An action the seat to act may not take now."""


class Game:
    """A game of sanma under `rules`, `length` "hanchan" (East and South) or "east", or "round" (one round)."""

    def __init__(self, rules: Rules = Rules(), length: str = "hanchan") -> None:
        if length not in (*LENGTHS, "round"):
            raise ValueError(f"unknown length {length!r}; valid choices: {', '.join([*LENGTHS, 'round'])}")
        self.rules = rules
        self.length = length
        self.scorer = Scorer(rules)

    # -- game flow --------------------------------------------------------------------------------------------------

    def reset(self, seed: int | None = None, walls: Sequence[Sequence[int]] | None = None) -> None:
        """Start a game: seat 0 deals first. The first rounds take their walls from `walls` (if given), in order;
        the others are shuffled from `seed`."""
        self.rng = np.random.default_rng(seed)
        self.walls = list(walls) if walls is not None else None
        self.scores = [self.rules.start_points] * SEATS
        self.round_index = 0
        self.honba = 0
        self.deposits = 0  # riichi sticks on the table
        self.over = False
        self.events: list[dict[str, Any]] = [{"type": "start_game", "names": [f"player_{i}" for i in range(SEATS)],
                                               "seed": seed, "length": self.length}]
        self._start_round()

    @property
    def dealer(self) -> int:
        return self.round_index % SEATS

    @property
    def round_wind(self) -> int:
        return 27 + self.round_index // SEATS

    def seat_wind(self, seat: int) -> int:
        return 27 + (seat - self.dealer) % SEATS

    @property
    def live_tiles(self) -> int:
        """Tiles left to draw from the live wall."""
        return self.back + 1 - self.front - RESERVED_REPLACEMENTS

    @property
    def dora_indicators(self) -> list[int]:
        return self.wall[-INDICATORS:][:self.indicators]

    @property
    def ura_indicators(self) -> list[int]:
        return self.wall[-INDICATORS + 5:][:self.indicators]

    def _start_round(self) -> None:
        if self.walls:
            self.wall = list(self.walls.pop(0))
            if sorted(self.wall) != sorted(TILES):
                raise ValueError("a wall must hold each of the 108 sanma tiles once")
        else:
            self.wall = [int(t) for t in self.rng.permutation(TILES)]
        order = [(self.dealer + i) % SEATS for i in range(SEATS)]
        self.seats: list[Seat] = [Seat([]) for _ in range(SEATS)]
        for i, seat in enumerate(order):
            self.seats[seat] = Seat(self.wall[13 * i:13 * (i + 1)])
        for seat in self.seats:
            seat.waits = waits(seat.counts)
        self.front = DEALT
        self.back = len(self.wall) - INDICATORS - 1
        self.indicators = 1
        self.pending_indicators = 0  # kan dora revealed after the kan's discard (open and added kans)
        self.kans = 0
        self.kan_seats: set[int] = set()
        self.interrupted = False  # a call or a kita has happened: ends the first go-around
        self.claim: Claim | None = None
        self.riichi_declared = False  # the seat to act said riichi and must now discard
        self.riichi_stick: int | None = None  # the seat whose riichi discard is being answered
        self.just_called: int | None = None  # the kind just called by pon (no kan, kita or that kind's discard)
        self.drawn: int | None = None
        self.rinshan = False
        self.four_kan_abort = False
        self.events.append({"type": "start_kyoku", "bakaze": kind_name(self.round_wind),
                            "kyoku": self.round_index % SEATS + 1, "honba": self.honba, "kyotaku": self.deposits,
                            "oya": self.dealer, "scores": list(self.scores),
                            "dora_marker": tile_name(self.dora_indicators[0]),
                            "tehais": [[tile_name(t) for t in seat.hand] for seat in self.seats]})
        self._draw(self.dealer)

    def _draw(self, seat: int, replacement: bool = False) -> None:
        if replacement:
            tile = self.wall[self.back]
            self.back -= 1
        else:
            tile = self.wall[self.front]
            self.front += 1
        self.seats[seat].add(tile)
        self.turn, self.drawn, self.rinshan, self.just_called = seat, tile, replacement, None
        self.claim = None
        self._legal = None
        self.events.append({"type": "tsumo", "actor": seat, "pai": tile_name(tile)})

    @property
    def to_act(self) -> int:
        """The seat whose decision the game waits for."""
        return self.claim.queue[0] if self.claim else self.turn

    # -- legal actions ----------------------------------------------------------------------------------------------

    def legal_actions(self) -> list[int]:
        """The actions the seat to act may take, in increasing order."""
        if self.over:
            return []
        if self._legal is None:
            self._legal = sorted(self.claim.options[self.claim.queue[0]] if self.claim else self._turn_actions())
        return self._legal

    def _turn_actions(self) -> list[int]:
        seat, p = self.seats[self.turn], self.turn
        if self.riichi_declared:
            return [A.discard_of(t) for t in self._tenpai_discards(seat)]
        legal: list[int] = []
        if self.drawn is not None and is_complete(seat.counts) and self._win_value(p, self.drawn, tsumo=True):
            legal.append(A.TSUMO)
        if self._may_abort_nine_terminals(p):
            legal.append(A.NINE_TERMINALS)
        can_replace = self.live_tiles >= 1
        if seat.riichi:
            legal.append(A.discard_of(self.drawn))
            kind = self.drawn // 4
            if can_replace and self.kans < 4 and seat.counts[kind] == 4 and self._kan_keeps_waits(seat, kind):
                legal.append(A.KAN + A.face_of_kind(kind))
            if can_replace and kind == NORTH:
                legal.append(A.KITA)
            return legal
        forbidden = self.just_called if not self.rules.swap_calling else None  # kuikae
        legal.extend({A.DISCARD_OF[t] for t in seat.hand if t // 4 != forbidden})
        if self.just_called is None and can_replace:
            if self.kans < 4:
                legal.extend(A.KAN + A.face_of_kind(k) for k in set(t // 4 for t in seat.hand) if seat.counts[k] == 4)
                legal.extend(A.KAN + A.face_of_kind(m.kind) for m in seat.melds
                             if m.type == "pon" and seat.counts[m.kind])
            if seat.counts[NORTH]:
                legal.append(A.KITA)
        if (seat.is_closed and self.scores[p] >= 1000 and self.live_tiles >= self.rules.riichi_min_live_tiles
                and _may_be_one_from_tenpai(seat.counts) and self._tenpai_discards(seat, first_only=True)):
            legal.append(A.RIICHI)
        return legal

    def _tenpai_discards(self, seat: Seat, first_only: bool = False) -> list[int]:
        """One tile of each discardable face whose discard leaves the hand in tenpai (only the first found)."""
        result, seen = [], set()
        for tile in seat.hand:
            face = A.DISCARD_OF[tile]
            if face in seen:
                continue
            seen.add(face)
            seat.counts[tile // 4] -= 1
            if waits(seat.counts):
                result.append(tile)
            seat.counts[tile // 4] += 1
            if result and first_only:
                break
        return result

    def _kan_keeps_waits(self, seat: Seat, kind: int) -> bool:
        """A closed kan after riichi (of the drawn tile's kind) may not change the waits."""
        counts = list(seat.counts)
        counts[kind] = 0
        return waits(counts) == seat.waits

    def _may_abort_nine_terminals(self, p: int) -> bool:
        seat = self.seats[p]
        return (self.rules.nine_terminals_draw and not self.interrupted and not seat.discards and not self.rinshan
                and sum(seat.counts[k] > 0 for k in TERMINALS_AND_HONORS) >= 9)

    # -- stepping ---------------------------------------------------------------------------------------------------

    def step(self, action: int) -> None:
        """Apply the seat to act's action, then run the game to the next decision."""
        legal = self.legal_actions()
        if action not in legal:
            if self.over:
                raise IllegalActionError("the game is over; reset it to play again")
            raise IllegalActionError(f"action {action} ({A.describe(action)}) is not legal for seat {self.to_act}; "
                                     f"legal: {', '.join(f'{a} ({A.describe(a)})' for a in legal)}")
        self._legal = None
        if self.claim:
            self._answer(action)
        elif action == A.RIICHI:
            self.riichi_declared = True
            self.events.append({"type": "reach", "actor": self.turn})
        elif action == A.TSUMO:
            self._win_by_tsumo(self.turn)
        elif action == A.NINE_TERMINALS:
            self._draw_round("kyushukyuhai", tenpai_payments=False, actor=self.turn)
        elif action == A.KITA:
            self._kita(self.turn)
        elif A.KAN <= action < A.KAN + A.FACES_OF_KINDS:
            self._closed_or_added_kan(self.turn, A.kind_of_face(action - A.KAN))
        else:
            self._discard(self.turn, self._tile_of_face(self.seats[self.turn], action - A.DISCARD))

    def _tile_of_face(self, seat: Seat, face: int) -> int:
        """The hand's tile shown by a discard face: the drawn tile if it shows it (a tsumogiri), else the first."""
        if self.drawn is not None and A.discard_of(self.drawn) == face:
            return self.drawn
        return next(t for t in seat.hand if A.discard_of(t) == face)

    def _discard(self, p: int, tile: int) -> None:
        seat = self.seats[p]
        tsumogiri = tile == self.drawn
        seat.remove(tile)
        if self.riichi_declared:
            seat.riichi, seat.ippatsu, seat.riichi_discard = True, True, len(seat.discards)
            seat.double_riichi = not self.interrupted and not seat.discards
            self.riichi_declared, self.riichi_stick = False, p
        else:
            seat.ippatsu = False
        seat.discards.append(tile)
        seat.called_away.append(False)
        seat.waits = waits(seat.counts)
        seat.furiten_temporary = False
        seat.furiten_discards = any(t // 4 in seat.waits for t in seat.discards)
        self.drawn, self.just_called = None, None
        self.events.append({"type": "dahai", "actor": p, "pai": tile_name(tile), "tsumogiri": tsumogiri})
        self._reveal_pending_indicators()
        self._open_claim("discard", p, tile)

    def _kita(self, p: int) -> None:
        seat = self.seats[p]
        tile = self.drawn if self.drawn is not None and self.drawn // 4 == NORTH else next(
            t for t in seat.hand if t // 4 == NORTH)
        seat.remove(tile)
        seat.kita.append(tile)
        if seat.riichi and NORTH in seat.waits:  # setting aside a winning North lets a win pass
            seat.furiten_riichi = True
        self._interrupt()
        self.drawn = None
        self.events.append({"type": "nukidora", "actor": p, "pai": tile_name(tile)})
        self._open_claim("kita", p, tile)

    def _closed_or_added_kan(self, p: int, kind: int) -> None:
        seat = self.seats[p]
        self._reveal_pending_indicators()
        added = next((m for m in seat.melds if m.type == "pon" and m.kind == kind), None)
        self._count_kan(p)
        self.drawn = None
        if added is not None:  # ends the first go-around once it stands: a robbing ron keeps its ippatsu
            tile = seat.take_kind(kind, 1)[0]
            added.type, added.tiles = "kakan", added.tiles + [tile]
            self.events.append({"type": "kakan", "actor": p, "pai": tile_name(tile),
                                "consumed": [tile_name(t) for t in added.tiles[:3]]})
            self._open_claim("kakan", p, tile)
        else:
            self._interrupt()
            tiles = seat.take_kind(kind, 4)
            seat.melds.append(Meld("ankan", kind, tiles))
            self.events.append({"type": "ankan", "actor": p, "consumed": [tile_name(t) for t in tiles]})
            self.indicators += 1
            self.events.append({"type": "dora", "dora_marker": tile_name(self.dora_indicators[-1])})
            self._open_claim("ankan", p, tiles[-1])

    def _count_kan(self, p: int) -> None:
        self.kans += 1
        self.kan_seats.add(p)
        if self.kans == 4 and len(self.kan_seats) > 1 and self.rules.four_kan_draw:
            self.four_kan_abort = True

    def _interrupt(self) -> None:
        """A call, kan or kita: the first go-around is over and every ippatsu ends."""
        self.interrupted = True
        for seat in self.seats:
            seat.ippatsu = False

    def _reveal_pending_indicators(self) -> None:
        while self.pending_indicators:
            self.pending_indicators -= 1
            self.indicators += 1
            self.events.append({"type": "dora", "dora_marker": tile_name(self.dora_indicators[-1])})

    # -- claims -----------------------------------------------------------------------------------------------------

    def _open_claim(self, kind: str, p: int, tile: int) -> None:
        """Ask the other seats, in turn order, what they do with the tile p gave away; resolve if nobody may act."""
        claim = Claim(kind, p, tile, [], {})
        tile_kind = tile // 4
        for q in ((p + 1) % SEATS, (p + 2) % SEATS):
            seat, options = self.seats[q], []
            in_waits = tile_kind in seat.waits
            if kind == "ankan":  # only thirteen orphans may rob a closed kan
                in_waits = in_waits and self.rules.kokushi_closed_kan_ron and _thirteen_orphans_wait(seat.counts)
            if in_waits:
                claim.waiting.append(q)
                if not seat.furiten and self._win_value(q, tile, tsumo=False, claim=kind):
                    options.append(A.RON)
            if kind == "discard" and not seat.riichi and self.live_tiles >= 1:
                if seat.counts[tile_kind] >= 2:
                    options.append(A.PON)
                if seat.counts[tile_kind] >= 3 and self.kans < 4:
                    options.append(A.KAN + A.face_of_kind(tile_kind))
            if options:
                claim.queue.append(q)
                claim.options[q] = options + [A.PASS]
        self.claim = claim
        self._legal = None
        if not claim.queue:
            self._resolve_claim()

    def _answer(self, action: int) -> None:
        claim = self.claim
        seat = claim.queue.pop(0)
        claim.answers[seat] = action
        if not claim.queue:
            self._resolve_claim()

    def _resolve_claim(self) -> None:
        claim = self.claim
        winners = [q for q in ((claim.seat + 1) % SEATS, (claim.seat + 2) % SEATS) if claim.answers.get(q) == A.RON]
        for q in claim.waiting:
            if q not in winners:
                self.seats[q].furiten_temporary = True
                if self.seats[q].riichi:
                    self.seats[q].furiten_riichi = True
        if winners:
            self._win_by_ron(winners if self.rules.double_ron else winners[:1], claim)
            return
        p = claim.seat
        if claim.kind != "discard":  # the kita or kan stands: the replacement draw
            if claim.kind == "kakan":
                self.pending_indicators += 1
                self._interrupt()
            self._draw(p, replacement=True)
            return
        if self.riichi_stick is not None:
            self._accept_riichi(self.riichi_stick)
        if self.four_kan_abort:
            self._draw_round("suukaikan", tenpai_payments=False)
            return
        caller = next(((q, a) for q, a in claim.answers.items() if a != A.PASS), None)
        if caller is not None:
            q, action = caller
            self._call(q, action, claim)
        elif self.live_tiles == 0:
            self._draw_round("fanpai", tenpai_payments=True)
        else:
            self._draw((p + 1) % SEATS)

    def _accept_riichi(self, p: int) -> None:
        self.scores[p] -= 1000
        self.deposits += 1
        self.riichi_stick = None
        self.events.append({"type": "reach_accepted", "actor": p, "scores": list(self.scores)})

    def _call(self, q: int, action: int, claim: Claim) -> None:
        seat, kind, tile = self.seats[q], claim.tile // 4, claim.tile
        self.seats[claim.seat].called_away[-1] = True
        self._interrupt()
        if action == A.PON:
            own = seat.take_kind(kind, 2)
            seat.melds.append(Meld("pon", kind, own + [tile], tile, claim.seat))
            self.events.append({"type": "pon", "actor": q, "target": claim.seat, "pai": tile_name(tile),
                                "consumed": [tile_name(t) for t in own]})
            self.claim, self.turn, self.drawn, self.rinshan, self.just_called = None, q, None, False, kind
            self._legal = None
        else:
            own = seat.take_kind(kind, 3)
            seat.melds.append(Meld("daiminkan", kind, own + [tile], tile, claim.seat))
            self._count_kan(q)
            self.events.append({"type": "daiminkan", "actor": q, "target": claim.seat, "pai": tile_name(tile),
                                "consumed": [tile_name(t) for t in own]})
            self.pending_indicators += 1
            self._draw(q, replacement=True)

    # -- wins and draws ---------------------------------------------------------------------------------------------

    def _win_value(self, p: int, tile: int, tsumo: bool, claim: str | None = None, bonuses: bool = True) -> Any:
        """The hand value of p winning on `tile` now (a `mahjong` HandResponse), or None where it has no yaku;
        without `bonuses` no honba or deposits are added (the second winner of a double ron)."""
        seat = self.seats[p]
        first_draw = tsumo and not self.interrupted and not seat.discards
        context = WinContext(
            tiles=seat.hand + ([] if tsumo else [tile]), win_tile=tile, melds=seat.melds,
            dora_indicators=self.dora_indicators, ura_indicators=self.ura_indicators, tsumo=tsumo,
            riichi=seat.riichi, double_riichi=seat.double_riichi, ippatsu=seat.ippatsu,
            rinshan=tsumo and self.rinshan, chankan=claim == "kakan" or claim == "ankan",
            haitei=tsumo and not self.rinshan and self.live_tiles == 0,
            houtei=claim == "discard" and self.live_tiles == 0,
            tenhou=first_draw and p == self.dealer, chiihou=first_draw and p != self.dealer,
            seat_wind=self.seat_wind(p), round_wind=self.round_wind, kita=len(seat.kita),
            honba=self.honba if bonuses else 0, deposits=self.deposits if bonuses else 0)
        value = self.scorer.value(context)
        return value if value.error is None else None

    def _win_by_tsumo(self, p: int) -> None:
        value = self._win_value(p, self.drawn, tsumo=True)
        deltas = [0] * SEATS
        for q in range(SEATS):
            if q != p:
                pays = value.cost["main"] + value.cost["main_bonus"] if q == self.dealer or p == self.dealer else (
                    value.cost["additional"] + value.cost["additional_bonus"])
                deltas[q] -= pays
                deltas[p] += pays
        deltas[p] += 1000 * self.deposits
        self.deposits = 0
        self._record_win(p, p, self.drawn, value, deltas)
        self._end_round(dealer_stays=p == self.dealer, honba_grows=p == self.dealer)

    def _win_by_ron(self, winners: list[int], claim: Claim) -> None:
        if self.riichi_stick is not None:  # a riichi discard that deals in: the riichi never stood
            self.riichi_stick = None
        for index, q in enumerate(winners):  # deposits and honba go to the first winner in turn order only
            value = self._win_value(q, claim.tile, tsumo=False, claim=claim.kind, bonuses=index == 0)
            deltas = [0] * SEATS
            pays = value.cost["main"] + value.cost["main_bonus"]
            deltas[claim.seat] -= pays
            deltas[q] += pays + (1000 * self.deposits if index == 0 else 0)
            if index == 0:
                self.deposits = 0
            self._record_win(q, claim.seat, claim.tile, value, deltas)
        self._end_round(dealer_stays=self.dealer in winners, honba_grows=self.dealer in winners)

    def _record_win(self, winner: int, source: int, tile: int, value: Any, deltas: list[int]) -> None:
        self._apply(deltas)
        seat = self.seats[winner]
        self.events.append({
            "type": "hora", "actor": winner, "target": source, "pai": tile_name(tile), "deltas": deltas,
            "han": value.han, "fu": value.fu, "yaku": [str(y) for y in value.yaku],
            "ura_markers": [tile_name(t) for t in self.ura_indicators] if seat.riichi else [],
            "scores": list(self.scores)})

    def _apply(self, deltas: list[int]) -> None:
        for q in range(SEATS):
            self.scores[q] += deltas[q]

    def _draw_round(self, reason: str, tenpai_payments: bool, actor: int | None = None) -> None:
        """An exhaustive or abortive draw (`actor`: the seat that declared it): nagashi mangan or noten payments,
        then the next round."""
        tenpai = [bool(seat.waits) and len(seat.hand) % 3 == 1 for seat in self.seats]
        deltas = [0] * SEATS
        nagashi = [q for q, seat in enumerate(self.seats) if tenpai_payments and self.rules.nagashi_mangan
                   and seat.discards and not any(seat.called_away)
                   and all(t // 4 in TERMINALS_AND_HONORS for t in seat.discards)]
        if nagashi:
            for q in nagashi:
                value = self.scorer.nagashi(self.seat_wind(q))
                for r in range(SEATS):
                    if r != q:
                        pays = value.cost["main"] if r == self.dealer or q == self.dealer else value.cost["additional"]
                        deltas[r] -= pays
                        deltas[q] += pays
        elif tenpai_payments and 0 < sum(tenpai) < SEATS:
            receive = self.rules.noten_payment // sum(tenpai)
            pay = self.rules.noten_payment // (SEATS - sum(tenpai))
            for q in range(SEATS):
                deltas[q] = receive if tenpai[q] else -pay
        self._apply(deltas)
        self.events.append({"type": "ryukyoku", "reason": reason, **({"actor": actor} if actor is not None else {}),
                            "deltas": deltas, "tenpais": tenpai if tenpai_payments else [False] * SEATS,
                            "scores": list(self.scores)})
        dealer_stays = tenpai[self.dealer] if tenpai_payments else True
        self._end_round(dealer_stays=dealer_stays, honba_grows=True)

    def _end_round(self, dealer_stays: bool, honba_grows: bool) -> None:
        self.claim, self._legal = None, None
        self.events.append({"type": "end_kyoku"})
        if self._game_ends(dealer_stays):
            self._end_game()
            return
        self.honba = self.honba + 1 if honba_grows else 0
        if not dealer_stays:
            self.round_index += 1
        self._start_round()

    def _game_ends(self, dealer_stays: bool) -> bool:
        if self.length == "round":
            return True
        if self.rules.bust_ends_game and min(self.scores) < 0:
            return True
        last = LENGTHS[self.length] - 1
        top = max(self.scores) >= self.rules.target_points
        if self.round_index < last:
            return False
        if self.round_index > last:  # the extension (one more wind): sudden death
            return top or (not dealer_stays and self.round_index == last + SEATS)
        return not dealer_stays and (top or not self.rules.west_extension)

    def _end_game(self) -> None:
        """Leftover deposits go to the top seat; ties rank the seat nearer the first dealer higher."""
        if self.deposits:
            self.scores[self.ranking()[0]] += 1000 * self.deposits
            self.deposits = 0
        self.over = True
        self.events.append({"type": "end_game", "scores": list(self.scores)})

    def ranking(self) -> list[int]:
        """Seats from first to last place."""
        return sorted(range(SEATS), key=lambda q: (-self.scores[q], q))


def _thirteen_orphans_wait(counts: Sequence[int]) -> bool:
    """A 13-tile hand waiting for thirteen orphans."""
    return sum(counts[k] for k in TERMINALS_AND_HONORS) == 13 and all(
        counts[k] <= 2 for k in TERMINALS_AND_HONORS) and sum(counts[k] == 0 for k in TERMINALS_AND_HONORS) <= 1



def _may_be_one_from_tenpai(counts: list[int]) -> bool:
    """A cheap necessary condition for some discard of a 14-tile closed hand to leave it in tenpai: at most two
    broken lone kinds (1m, 9m and honours held once or four times) for the regular form, six pairs for seven
    pairs, twelve kinds of terminals and honours for thirteen orphans."""
    broken = sum(1 for kind in LONE_KINDS if counts[kind] == 1 or counts[kind] == 4)
    return (broken <= 2 or counts.count(2) + counts.count(3) + counts.count(4) >= 6
            or sum(1 for kind in TERMINALS_AND_HONORS if counts[kind]) >= 12)


def compose_wall(hands: Sequence[Sequence[int]], dealer: int = 0, draws: Sequence[int] = (),
                 replacements: Sequence[int] = (), dora: Sequence[int] = (), ura: Sequence[int] = ()) -> list[int]:
    """A wall that deals `hands[seat]` (up to 13 tiles each), then the live `draws` in order, the replacement
    draws, and the dora and ura indicators; the other places get the unused tiles in increasing order."""
    wall: list[int | None] = [None] * len(TILES)
    first_replacement = len(TILES) - INDICATORS - 1
    places = [(range(13 * i, 13 * i + 13), hands[(dealer + i) % SEATS]) for i in range(SEATS)]
    places += [(range(DEALT, DEALT + len(draws)), draws),
               (range(first_replacement, first_replacement - len(replacements), -1), replacements),
               (range(len(TILES) - INDICATORS, len(TILES) - INDICATORS + len(dora)), dora),
               (range(len(TILES) - 5, len(TILES) - 5 + len(ura)), ura)]
    for positions, tiles in places:
        if len(tiles) > len(positions):
            raise ValueError(f"{len(tiles)} tiles do not fit in {len(positions)} places")
        for position, tile in zip(positions, tiles):
            wall[position] = tile
    given = [t for t in wall if t is not None]
    if len(set(given)) != len(given) or not set(given) <= set(TILES):
        raise ValueError("a composed wall must use each sanma tile at most once")
    spare = iter(sorted(set(TILES) - set(given)))
    return [t if t is not None else next(spare) for t in wall]
