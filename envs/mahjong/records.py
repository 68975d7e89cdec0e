"""Game records as mjai-style JSON lines: write a game's events, read them back, and replay them in the engine.

A record is one JSON object per line, the events `Game.events` logs: start_game, start_kyoku (with every seat's
13 dealt tiles), tsumo, dahai, reach, reach_accepted, pon, daiminkan, ankan, kakan, nukidora, dora, hora,
ryukyoku, end_kyoku, end_game; tiles by mjai name ("5pr" is a red five). `replay` rebuilds each round's wall from
the record (dealt hands, live and replacement draws, dora and ura indicators; tiles never seen fill the rest),
plays the record's actions in the engine, and checks every event the engine logs against the record: replaying a
record reproduces every state. It yields each decision as (game before the action, seat, action); `decisions`
turns them into (observation, mask, action, seat) examples for supervised learning from recorded games.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from appliedrl.envs.mahjong import actions as A
from appliedrl.envs.mahjong.encoding import encode
from appliedrl.envs.mahjong.engine import Game, compose_wall
from appliedrl.envs.mahjong.rules import Rules
from appliedrl.envs.mahjong.tiles import KINDS, RED_FIVES, kind_of_name

ACTION_EVENTS = ("dahai", "reach", "pon", "daiminkan", "ankan", "kakan", "nukidora", "hora", "ryukyoku")
REPLACED_AFTER = ("daiminkan", "ankan", "kakan", "nukidora")
UNCHECKED_KEYS = ("line",)


class RecordError(ValueError):
    """A record that cannot be read or does not replay; the message names the line."""


def write_record(events: Sequence[dict], path: str | Path) -> None:
    """Write events as JSON lines."""
    Path(path).write_text("".join(json.dumps(event) + "\n" for event in events))


def read_record(path: str | Path) -> list[dict]:
    """The events of a JSON-lines record, each with its 1-based "line"; raises RecordError naming a bad line."""
    events = []
    for number, text in enumerate(Path(path).read_text().splitlines(), 1):
        if not text.strip():
            continue
        try:
            event = json.loads(text)
        except json.JSONDecodeError as error:
            raise RecordError(f"{path}, line {number}: not JSON ({error.msg})") from None
        if not isinstance(event, dict) or "type" not in event:
            raise RecordError(f"{path}, line {number}: an event must be a JSON object with a \"type\"")
        events.append({**event, "line": number})
    if not events or events[0]["type"] != "start_game":
        raise RecordError(f"{path}, line 1: a record starts with a start_game event")
    return events


def _line(event: dict) -> str:
    return f"line {event['line']}" if "line" in event else f"event {event.get('index', '?')}"


class _Tiles:
    """Hands out 136-format tiles for mjai names, each copy once per round."""

    def __init__(self) -> None:
        self.used: set[int] = set()

    def take(self, name: str, event: dict) -> int:
        try:
            kind = kind_of_name(name)
        except ValueError as error:
            raise RecordError(f"{_line(event)}: {error}") from None
        copies = [kind * 4] if name.endswith("r") else [t for t in range(kind * 4, kind * 4 + 4) if t not in RED_FIVES]
        tile = next((t for t in copies if t not in self.used), None)
        if tile is None:
            raise RecordError(f"{_line(event)}: a fifth {name} (each tile exists once)")
        self.used.add(tile)
        return tile


def walls_of(events: Sequence[dict]) -> list[list[int]]:
    """Each round's wall, rebuilt from the record's dealt hands, draws and indicators."""
    walls = []
    rounds = [i for i, e in enumerate(events) if e["type"] == "start_kyoku"]
    for start, end in zip(rounds, rounds[1:] + [len(events)]):
        header, body, tiles = events[start], events[start + 1:end], _Tiles()
        try:
            hands = [[tiles.take(name, header) for name in hand] for hand in header["tehais"]]
            dealer = int(header["oya"])
            markers = [header["dora_marker"]]
        except (KeyError, TypeError, ValueError) as error:
            if isinstance(error, RecordError):
                raise
            raise RecordError(f"{_line(header)}: start_kyoku needs tehais, oya and dora_marker") from None
        live, replacements, ura = [], [], []
        previous = None
        for event in body:
            if event["type"] == "tsumo":
                replaced = previous is not None and previous["type"] in REPLACED_AFTER
                (replacements if replaced else live).append((event["pai"], event))
            elif event["type"] == "dora":
                markers.append(event["dora_marker"])
            elif event["type"] == "hora" and event.get("ura_markers") and not ura:
                ura = [(name, event) for name in event["ura_markers"]]
            if event["type"] != "dora":
                previous = event
        draws = [tiles.take(name, event) for name, event in live]
        replaced = [tiles.take(name, event) for name, event in replacements]
        dora = [tiles.take(name, header) for name in markers]
        ura_tiles = [tiles.take(name, event) for name, event in ura]
        try:
            walls.append(compose_wall(hands, dealer, draws, replaced, dora, ura_tiles))
        except ValueError as error:
            raise RecordError(f"{_line(header)}: {error}") from None
    return walls


def _action_of(event: dict) -> int:
    """The engine action that an action event records."""
    kind = event["type"]
    if kind == "dahai":
        name = event["pai"]
        return A.discard_of(kind_of_name(name) * 4) if name.endswith("r") else A.DISCARD + KINDS.index(
            kind_of_name(name))
    if kind == "reach":
        return A.RIICHI
    if kind == "pon":
        return A.PON
    if kind == "nukidora":
        return A.KITA
    if kind in ("daiminkan", "kakan"):
        return A.KAN + KINDS.index(kind_of_name(event["pai"]))
    if kind == "ankan":
        return A.KAN + KINDS.index(kind_of_name(event["consumed"][0]))
    if kind == "hora":
        return A.TSUMO if event["actor"] == event["target"] else A.RON
    if event.get("reason") == "kyushukyuhai":
        return A.NINE_TERMINALS
    raise RecordError(f"{_line(event)}: the engine ends this round itself; the record says {event}")


def _next_actions(events: Sequence[dict], start: int, claim_open: bool) -> list[dict]:
    """The action events that come next, past the ones the engine logs itself (an accepted riichi, a kan dora):
    one, or on a claim every win on the same tile (double ron)."""
    while start < len(events) and events[start]["type"] in ("reach_accepted", "dora"):
        start += 1
    if start == len(events) or not _is_action(events[start]):
        return []
    found = [events[start]]
    while claim_open and found[-1]["type"] == "hora" and start + len(found) < len(events) and \
            events[start + len(found)]["type"] == "hora":
        found.append(events[start + len(found)])
    return found


def _is_action(event: dict) -> bool:
    return event["type"] in ACTION_EVENTS and not (
        event["type"] == "ryukyoku" and event.get("reason") != "kyushukyuhai")


def replay(events: Sequence[dict], rules: Rules = Rules()) -> Iterator[tuple[Game, int, int]]:
    """Play a record in the engine, yielding (game, seat, action) before each decision is applied (claims passed
    over included); raises RecordError at the first event the engine does not reproduce."""
    events = [dict(e, index=i) for i, e in enumerate(events)]
    game = Game(rules, events[0].get("length", "hanchan"))
    game.reset(seed=events[0].get("seed"), walls=walls_of(events))
    checked = 0

    def check() -> None:
        nonlocal checked
        while checked < len(game.events):
            if checked >= len(events):
                raise RecordError(f"the record ends but the engine goes on with {game.events[checked]}")
            ours, theirs = game.events[checked], events[checked]
            common = (set(ours) & set(theirs)) - set(UNCHECKED_KEYS)
            if ours["type"] != theirs["type"] or any(ours[k] != theirs[k] for k in common):
                raise RecordError(f"{_line(theirs)}: the record has {_clean(theirs)} but the engine gives {ours}")
            checked += 1

    check()
    while not game.over:
        if checked >= len(events):
            raise RecordError("the record ends before the game does")
        seat = game.to_act
        candidates = _next_actions(events, checked, claim_open=game.claim is not None)
        upcoming = next((e for e in candidates if e.get("actor", seat) == seat), None)  # a nine-terminals draw
        # may name no actor: the seat to act declares it
        if upcoming is not None:
            try:
                action = _action_of(upcoming)
            except (KeyError, ValueError) as error:
                if isinstance(error, RecordError):
                    raise
                raise RecordError(f"{_line(upcoming)}: {error}") from None
        elif game.claim is not None:
            action = A.PASS
        else:
            upcoming = candidates[0] if candidates else events[checked]
            raise RecordError(f"{_line(upcoming)}: the engine waits for player_{seat} but the record has "
                              f"{_clean(upcoming)}")
        if action not in game.legal_actions():
            raise RecordError(f"{_line(upcoming)}: {A.describe(action)} is not legal for player_{seat} here")
        yield game, seat, action
        game.step(action)
        check()
    if checked != len(events):
        raise RecordError(f"{_line(events[checked])}: the game is over but the record goes on")


def decisions(events: Sequence[dict], rules: Rules = Rules()) -> Iterator[tuple[np.ndarray, np.ndarray, int, int]]:
    """The record's decisions as training examples: (observation [34, 157], action mask [63], action, seat)."""
    for game, seat, action in replay(events, rules):
        mask = np.zeros(A.N_ACTIONS, np.int8)
        mask[game.legal_actions()] = 1
        yield encode(game, seat), mask, action, seat


def _clean(event: dict) -> dict:
    return {k: v for k, v in event.items() if k not in ("line", "index")}



