"""mjai-style records: a written game replays to the same events and states; bad records name their line."""

import random

import numpy as np
import pytest

from appliedrl.domains.mahjong.bots import Defensive, Greedy
from appliedrl.envs.mahjong import actions as A
from appliedrl.envs.mahjong.encoding import encode
from appliedrl.envs.mahjong.engine import Game
from appliedrl.envs.mahjong.records import RecordError, read_record, replay, write_record


def _play(seed: int, bots: bool) -> tuple[Game, list[tuple[int, int, list[int]]]]:
    game, rng = Game(length="east"), random.Random(seed)
    players = [Greedy(seed), Defensive(seed), Greedy(seed + 1)]
    game.reset(seed=seed)
    decisions = []
    while not game.over:
        seat, legal = game.to_act, game.legal_actions()
        if bots:
            mask = np.zeros(A.N_ACTIONS, bool)
            mask[legal] = True
            action = int(players[seat].predict(encode(game, seat), mask))
        else:
            action = rng.choice(legal)
        decisions.append((seat, action, list(game.scores)))
        game.step(action)
    return game, decisions


@pytest.mark.parametrize("seed,bots", [(0, True), (1, True), (2, False), (3, False)])
def test_a_written_record_replays_every_decision_and_state(tmp_path, seed, bots):
    game, decisions = _play(seed, bots)
    write_record(game.events, tmp_path / "game.jsonl")
    replayed = [(seat, action, list(g.scores)) for g, seat, action in replay(read_record(tmp_path / "game.jsonl"))]
    assert replayed == decisions
    kinds = {e["type"] for e in game.events}
    assert "dahai" in kinds and "end_game" in kinds


def test_records_reproduce_calls_kans_and_wins():
    kinds = set()
    for seed in range(4):
        game, _ = _play(seed, seed < 2)
        kinds |= {e["type"] for e in game.events}
    assert {"pon", "nukidora", "reach", "hora", "ryukyoku"} <= kinds and kinds & {"ankan", "kakan", "daiminkan"}


def test_bad_records_name_their_line(tmp_path):
    game, _ = _play(0, False)
    lines = (tmp_path / "good.jsonl")
    write_record(game.events, lines)
    text = lines.read_text().splitlines()
    (tmp_path / "broken.jsonl").write_text("\n".join(text[:3] + ["{not json"] + text[4:]) + "\n")
    with pytest.raises(RecordError, match="line 4: not JSON"):
        read_record(tmp_path / "broken.jsonl")
    dahai = next(i for i, line in enumerate(text) if '"dahai"' in line)
    swapped = text[dahai].replace('"pai": "', '"pai": "X', 1)
    (tmp_path / "wrong.jsonl").write_text("\n".join(text[:dahai] + [swapped] + text[dahai + 1:]) + "\n")
    with pytest.raises(RecordError, match=f"line {dahai + 1}: "):
        list(replay(read_record(tmp_path / "wrong.jsonl")))


def test_decisions_from_a_record_are_what_the_players_saw(tmp_path):
    from appliedrl.envs.mahjong.records import decisions

    game, played = _play(1, True)
    write_record(game.events, tmp_path / "game.jsonl")
    examples = list(decisions(read_record(tmp_path / "game.jsonl")))
    assert [(seat, action) for _, _, action, seat in examples] == [(seat, action) for seat, action, _ in played]
    bots = [Greedy(1), Defensive(1), Greedy(2)]  # the players of _play(1, True): each choice is theirs again
    assert all(bots[seat].predict(obs, mask) == action and mask[action] for obs, mask, action, seat in examples)


def _eager_round(seed: int) -> tuple[Game, list[tuple[int, int]]]:
    """One round of eager play (wins, riichi, kita, most kans, half the pons; shanten-greedy discards): it calls
    and kans far more than the bots, so records see the rarer sequences."""
    from appliedrl.envs.mahjong.hands import shanten

    rng, game, decisions = random.Random(seed), Game(length="round"), []
    game.reset(seed=seed)
    while not game.over:
        legal = game.legal_actions()
        kans = [a for a in legal if A.KAN <= a < A.RIICHI]
        pick = next((a for a in (A.TSUMO, A.RON, A.RIICHI, A.KITA) if a in legal), None)
        if pick is None and kans and rng.random() < 0.8:
            pick = rng.choice(kans)
        if pick is None and A.PON in legal and rng.random() < 0.5:
            pick = A.PON
        if pick is None and A.PASS in legal:
            pick = A.PASS
        if pick is None:
            seat = game.seats[game.to_act]

            def after(action: int) -> float:
                counts = list(seat.counts)
                counts[A.kind_of_face(action)] -= 1
                return shanten(tuple(counts)) + rng.random() * 0.5
            pick = min((a for a in legal if a < A.KAN), key=after)
        decisions.append((game.to_act, pick))
        game.step(pick)
    return game, decisions


@pytest.mark.parametrize("seed,sequence", [(5, ("reach_accepted", "pon")), (108, ("hora", "hora")),
                                           (192, ("dora", "kakan")), (233, ("kakan", "hora"))])
def test_replay_of_calls_on_a_riichi_discard_double_ron_kans_and_robbed_kans(seed, sequence):
    game, decisions = _eager_round(seed)
    types = [e["type"] for e in game.events]
    assert any(tuple(types[i:i + 2]) == sequence for i in range(len(types)))
    assert [(seat, action) for _, seat, action in replay(game.events)] == decisions
