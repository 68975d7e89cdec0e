"""The sanma bots: legal play, shanten-greedy discards, folding against riichi; the fast shanten."""

import random

import numpy as np
from mahjong.shanten import Shanten

from sanma_hands import random_counts

from appliedrl.domains.mahjong.bots import Defensive, Greedy
from appliedrl.envs.mahjong import actions as A
from appliedrl.envs.mahjong import sanma_v0
from appliedrl.envs.mahjong.encoding import encode
from appliedrl.envs.mahjong.engine import Game, compose_wall
from appliedrl.envs.mahjong.hands import acceptance, shanten
from appliedrl.envs.mahjong.tiles import KINDS, TILES, parse_tiles


def test_shanten_equals_the_mahjong_package():
    rng = random.Random(0)
    for _ in range(4000):
        counts = random_counts(rng, rng.choice([1, 2, 4, 5, 7, 8, 10, 11, 13, 14]), [3, 5, 7, 27])
        if counts is None:
            continue
        assert shanten(tuple(counts)) == Shanten.calculate_shanten(counts, is_three_player=True), counts


def _observation(game: Game, seat: int) -> tuple[np.ndarray, np.ndarray]:
    mask = np.zeros(A.N_ACTIONS, bool)
    mask[game.legal_actions()] = True
    return encode(game, seat), mask


def test_greedy_discards_toward_tenpai_and_defensive_folds_against_riichi():
    # the dealer declares riichi with a 5p; seat 1's hand is far from tenpai and holds a 5p of its own
    hands = parse_tiles("123456789p1155s" + "2458p1357s9s1mWPE" + "5p" + "C")
    game = Game()
    game.reset(walls=[compose_wall([hands[:13], hands[13:26], []], draws=hands[26:28])])
    game.step(A.RIICHI)
    game.step(A.discard_of(game.drawn))  # the 5p
    assert game.seats[0].riichi and game.to_act == 1
    obs, mask = _observation(game, 1)
    five = A.discard_of(parse_tiles("5p")[0])
    assert Defensive().predict(obs, mask) == five  # the riichi player's own discard: safe
    greedy = A.describe(int(Greedy().predict(obs, mask)))
    assert greedy in ("discard 1m", "discard 9s", "discard W", "discard P", "discard E", "discard C")  # a loose tile

    # a hand one tile from tenpai keeps its shape: the lone honour goes
    game = Game()
    tiles = parse_tiles("123456789p11s5sE" + "5s")
    game.reset(walls=[compose_wall([tiles[:13], [], []], draws=tiles[13:])])
    obs, mask = _observation(game, 0)
    assert Greedy().predict(obs, mask) in (A.RIICHI, A.discard_of(parse_tiles("E")[0]))


def test_bots_play_whole_games_legally_and_beat_random_play():
    game = sanma_v0.raw_env(length="east")
    ranks = []
    for seed in range(2):
        players = [Greedy(seed), Defensive(seed), None]
        rng = np.random.default_rng(seed)
        game.reset(seed=seed)
        for agent in game.agent_iter():
            obs, _, terminated, truncated, _ = game.last()
            if terminated or truncated:
                game.step(None)
                continue
            player = players[int(agent[-1])]
            legal = np.flatnonzero(obs["action_mask"])
            action = int(player.predict(obs["observation"], obs["action_mask"])) if player else int(rng.choice(legal))
            assert action in legal
            game.step(action)
        ranks.append(game.game.ranking().index(2) + 1)
        assert any(e["type"] == "hora" for e in game.game.events)
    assert np.mean(ranks) >= 2.5  # random play seldom wins a hand


def test_terminal_play_takes_typed_choices_and_re_asks_on_bad_ones():
    from appliedrl.domains.mahjong.play import parse_choice, play

    lines, asked = [], []

    def read(prompt: str) -> str:
        asked.append(prompt)
        if len(asked) == 1:
            return "not a tile"
        legal = current["legal"]
        return "pass" if A.PASS in legal else str(legal[0])

    current = {"legal": []}

    def write(line: str) -> None:
        lines.append(line)
        if "\nchoices: " in line:  # the table, with the numbered choices on its last line
            current["legal"] = [int(part.split("=")[0]) for part in line.split("\nchoices: ")[-1].split(", ")]

    scores = play(Greedy(0), {"length": "round"}, seed=4, read=read, write=write)
    assert sum(scores) == 105_000 and len(asked) > 3
    assert any(line.startswith("not a choice: 'not a tile'; choices: ") for line in lines)
    assert parse_choice("5pr", [A.discard_of(52)]) == A.discard_of(52) and parse_choice("riichi", [A.PASS]) is None


def test_acceptance_counts_every_tile_that_lowers_the_shanten():
    rng = random.Random(1)
    hands = [parse_tiles("19m19p19s1pESWNP" + "F"), parse_tiles("19m19p1s5599sEESW")]  # orphans-bound, regular
    for _ in range(300):
        counts = [0] * 34
        for tile in rng.sample(TILES, 13):
            counts[tile // 4] += 1
        hands.append([k * 4 for k, c in enumerate(counts) for _ in range(c)])
    for tiles in hands:
        counts = [0] * 34
        for tile in tiles[:13]:
            counts[tile // 4] += 1
        unseen = [4 - c if k in KINDS else 0 for k, c in enumerate(counts)]
        base = Shanten.calculate_shanten(counts, is_three_player=True)
        expected = 0
        for kind in KINDS:
            if unseen[kind]:
                counts[kind] += 1
                expected += unseen[kind] * (Shanten.calculate_shanten(counts, is_three_player=True) < base)
                counts[kind] -= 1
        assert acceptance(counts, unseen) == expected, counts
