"""The sanma rules engine: payments through the engine, legality of each action kind, invariants over random games."""

import random

import pytest
from mahjong.agari import Agari
from mahjong.hand_calculating.hand_config import HandConfig, OptionalRules
from mahjong.hand_calculating.scores import ScoresCalculator

from sanma_hands import random_counts

from appliedrl.envs.mahjong import actions as A
from appliedrl.envs.mahjong.engine import Game, IllegalActionError, compose_wall
from appliedrl.envs.mahjong.hands import is_complete, waits
from appliedrl.envs.mahjong.rules import Rules
from appliedrl.envs.mahjong.scoring import Scorer, WinContext
from appliedrl.envs.mahjong.tiles import KINDS, NORTH, TILES, kind_of_name, parse_tiles, tile_name

ITTSU = "123456789p1155s"  # waits on 1s and 5s; with a 4s indicator the 5s pair is two dora


def game_with(hands, draws="", dora="4s") -> Game:
    """A game whose first wall deals `hands` (seat 0 the dealer; the rest filled), then `draws`, then `dora`."""
    parts = [*hands, draws, dora]
    tiles = parse_tiles(" ".join(parts))  # one call: each copy handed out once
    sizes = [len(parse_tiles(part)) for part in parts]
    cut = [sum(sizes[:i]) for i in range(len(parts) + 1)]
    hands, draws, dora = [tiles[a:b] for a, b in zip(cut, cut[1:])][:3], tiles[cut[3]:cut[4]], tiles[cut[4]:]
    game = Game()
    game.reset(walls=[compose_wall(hands, draws=draws, dora=dora)])
    return game


def play_quietly_until(game: Game, stop) -> None:
    """Pass every claim and discard every drawn tile until `stop(game)`."""
    while not stop(game):
        legal = game.legal_actions()
        game.step(A.PASS if A.PASS in legal else A.discard_of(game.drawn))


def test_non_dealer_mangan_tsumo_pays_6000_dealer_4000():
    game = game_with(["", ITTSU, ""], draws="CFPW1s")
    play_quietly_until(game, lambda g: A.TSUMO in g.legal_actions())
    assert game.to_act == 1 and len(game.seats[1].discards) == 1
    game.step(A.TSUMO)
    win = next(e for e in game.events if e["type"] == "hora")
    assert (win["han"], win["deltas"]) == (5, [-4000, 6000, -2000])


def test_dealer_mangan_tsumo_pays_8000():
    game = game_with([ITTSU, "", ""], draws="CFP1s")
    play_quietly_until(game, lambda g: A.TSUMO in g.legal_actions())
    game.step(A.TSUMO)
    assert next(e for e in game.events if e["type"] == "hora")["deltas"] == [8000, -4000, -4000]
    assert game.dealer == 0 and game.honba == 1  # the dealer repeats with a honba


def test_honba_and_deposits_on_tsumo_and_ron_match_the_package():
    game = game_with(["", ITTSU, ""], draws="CFPW1s")
    game.honba, game.deposits = 2, 1
    play_quietly_until(game, lambda g: A.TSUMO in g.legal_actions())
    game.step(A.TSUMO)
    config = HandConfig(is_tsumo=True, tsumi_number=2, kyoutaku_number=1, options=OptionalRules(is_three_player=True))
    cost = ScoresCalculator.calculate_scores(5, 40, config)
    assert (cost["main_bonus"], cost["additional_bonus"]) == (200, 200)  # 100 per honba from each of the two payers
    deltas = next(e for e in game.events if e["type"] == "hora")["deltas"]
    assert deltas == [-4200, 6000 + 400 + 1000, -2200]
    assert game.deposits == 0

    # ron on seat 2's discard: 200 per honba (the package's three-player figure), the deposit to the winner
    game = game_with(["", ITTSU, "1s"], draws="CF1s")
    game.honba = 3
    play_quietly_until(game, lambda g: A.RON in g.legal_actions())
    game.step(A.RON)
    win = next(e for e in game.events if e["type"] == "hora")
    base = ScoresCalculator.calculate_scores(win["han"], win["fu"], HandConfig(options=OptionalRules(
        is_three_player=True)))["main"]
    assert win["deltas"] == [0, base + 600, -(base + 600)] and win["target"] == 2


def test_two_kita_with_a_west_indicator_gain_four_han_and_1m_indicates_9m():
    scorer = Scorer(Rules())
    hand = parse_tiles("123456789p11s555s")

    def han(kita: int, dora: str, riichi: bool = False, ura: str = "") -> int:
        context = WinContext(hand, hand[-1], [], parse_tiles(dora), parse_tiles(ura), tsumo=False, riichi=riichi,
                             double_riichi=False, ippatsu=False, rinshan=False, chankan=False, haitei=False,
                             houtei=False, tenhou=False, chiihou=False, seat_wind=28, round_wind=27, kita=kita,
                             honba=0, deposits=0)
        return scorer.value(context).han

    assert han(2, "W") - han(0, "W") == 4  # two nuki dora, and the West indicator makes each North a dora again
    assert han(0, "C") == han(0, "W")
    assert han(2, "C", riichi=True, ura="W") - han(0, "C", riichi=True, ura="W") == 4  # ura counts the kita too
    nines = parse_tiles("123456789p99m555s")
    context = WinContext(nines, nines[-1], [], parse_tiles("1m"), [], False, False, False, False, False, False,
                         False, False, False, False, 28, 27, 0, 0, 0)
    assert scorer.value(context).han == han(0, "C") + 2  # the 9m pair is dora after a 1m indicator


def test_no_chi_from_the_left_and_pon_offered():
    # seat 1 (next in turn) holds 3p 4p: the dealer's 2p is no claim for it; seat 2 holds three 2p: pon or kan
    game = game_with(["", "34p", "222pN"], draws="2p")
    game.step(A.discard_of(parse_tiles("2p")[0]))
    assert game.claim is not None and game.claim.queue == [2]
    assert game.legal_actions() == [A.KAN + A.face_of_kind(kind_of_name("2p")), A.PON, A.PASS]
    game.step(A.PON)
    assert game.to_act == 2 and game.seats[2].melds[0].type == "pon"
    legal = game.legal_actions()
    assert game.seats[2].counts[kind_of_name("2p")] == 1
    assert A.discard_of(parse_tiles("2p")[0]) not in legal  # kuikae: not the kind just called
    assert A.KITA not in legal and A.TSUMO not in legal  # no kita (a North is held) or tsumo right after a pon
    assert A.discard_of(next(t for t in game.seats[2].hand if t // 4 == NORTH)) in legal


def test_riichi_preconditions():
    game = game_with(["123456789p11s5sE", "", ""], draws="5s")
    assert A.RIICHI in game.legal_actions()
    game.step(A.RIICHI)
    assert game.legal_actions() == [A.discard_of(parse_tiles("E")[0])]  # the only discard that keeps tenpai
    game = game_with(["123456789p11s5sE", "", ""], draws="5s")
    game.scores[0], game._legal = 900, None
    assert A.RIICHI not in game.legal_actions()  # fewer than 1,000 points
    game = game_with(["123456789p11sEW", "", ""], draws="S")
    assert A.RIICHI not in game.legal_actions()  # no discard leaves tenpai


def test_riichi_needs_three_live_tiles():
    game = game_with(["123456789p11s55s", "", ""])  # tenpai from the start: riichi offered while the wall lasts
    assert A.RIICHI in game.legal_actions()
    play_quietly_until(game, lambda g: g.to_act == 0 and g.claim is None and g.live_tiles < 3)
    assert A.RIICHI not in game.legal_actions() and A.discard_of(game.drawn) in game.legal_actions()


def test_kita_after_riichi_only_the_drawn_north():
    game = game_with(["123456789p11s5sN", "", ""], draws="5sFPN")
    game.step(A.RIICHI)
    game.step(A.discard_of(parse_tiles("N")[0]))
    play_quietly_until(game, lambda g: g.to_act == 0 and g.drawn is not None)
    assert tile_name(game.drawn) == "N" and A.KITA in game.legal_actions()
    game.step(A.KITA)
    assert len(game.seats[0].kita) == 1 and not game.seats[0].ippatsu
    play_quietly_until(game, lambda g: g.to_act == 0 and g.drawn is not None)
    assert tile_name(game.drawn) != "N" and A.KITA not in game.legal_actions()


def test_discard_furiten_blocks_ron_and_passing_makes_temporary_furiten():
    # seat 1 waits on 1s / 5s and has discarded 5s itself: no ron on 1s
    game = game_with(["", ITTSU, ""], draws="C5s1s")
    play_quietly_until(game, lambda g: g.to_act == 2 and g.claim is None)  # seat 1 let its winning 5s go
    assert game.seats[1].furiten_discards and 18 in game.seats[1].waits
    game.step(A.discard_of(game.drawn))  # seat 2 discards 1s, another wait of seat 1
    assert game.legal_actions() == [A.PON, A.PASS] and game.to_act == 1  # furiten: pon, but no ron offered

    game = game_with(["", ITTSU, "1s"], draws="CF1s")
    play_quietly_until(game, lambda g: A.RON in g.legal_actions())
    game.step(A.PASS)
    assert game.seats[1].furiten_temporary


def test_illegal_action_names_the_legal_ones():
    game = Game()
    game.reset(seed=0)
    with pytest.raises(IllegalActionError, match="legal: .*discard"):
        game.step(A.RON)


def test_waits_and_complete_hands_agree_with_the_mahjong_package():
    rng, agari = random.Random(0), Agari()
    for _ in range(3000):
        counts = random_counts(rng, 13, [5, 7, 9])
        if counts is None:
            continue
        expected = []
        for kind in KINDS:
            if counts[kind] < 4:
                counts[kind] += 1
                assert is_complete(counts) == agari.is_agari(counts)
                if agari.is_agari(counts):
                    expected.append(kind)
                counts[kind] -= 1
        assert waits(counts) == tuple(expected)


def test_random_games_keep_tiles_and_points_and_start_with_55_live_draws():
    rng = random.Random(1)
    game = Game()
    for seed in range(60):
        game.reset(seed=seed)
        assert game.live_tiles == 55 - 1  # the dealer has drawn its first tile
        while not game.over:
            game.step(rng.choice(game.legal_actions()))
            assert sum(game.scores) + 1000 * game.deposits == 3 * 35_000
            if not game.over:
                seats = game.seats
                held = sum(len(s.hand) + len(s.kita) + sum(len(m.tiles) for m in s.melds)
                           + sum(not called for called in s.called_away) for s in seats)
                assert held + (game.back + 1 - game.front) + 10 == 108  # the undrawn wall and the indicators
        assert sum(game.scores) == 3 * 35_000


def test_same_seed_same_game():
    def events(seed):
        rng, game = random.Random(5), Game()
        game.reset(seed=seed)
        while not game.over:
            game.step(rng.choice(game.legal_actions()))
        return game.events
    assert events(3) == events(3) and events(3) != events(4)


def test_tile_names_round_trip():
    assert [kind_of_name(tile_name(t)) for t in TILES] == [t // 4 for t in TILES]
    with pytest.raises(ValueError, match="not a sanma tile"):
        kind_of_name("5m")


@pytest.mark.parametrize("length,round_index,dealer_stays,top,ends", [
    ("hanchan", 4, False, 45_000, False),   # S2: the game goes on whatever the scores
    ("hanchan", 5, False, 39_000, False),   # S3 over, nobody at 40,000: the West round
    ("hanchan", 5, False, 41_000, True),
    ("hanchan", 5, True, 41_000, False),    # the dealer stays (no agari-yame)
    ("hanchan", 6, True, 40_000, True),     # West: sudden death once someone has 40,000
    ("hanchan", 8, False, 39_000, True),    # the extension lasts one wind
    ("east", 2, False, 39_000, False),      # an East game extends into the South
    ("east", 5, False, 39_000, True),
])
def test_when_the_game_ends(length, round_index, dealer_stays, top, ends):
    game = Game(length=length)
    game.reset(seed=0)
    game.round_index, game.scores = round_index, [top, 105_000 - top - 30_000, 30_000]
    assert game._game_ends(dealer_stays) is ends
    game.scores = [106_000, -1_000, 0]
    assert game._game_ends(False) and game._game_ends(True)  # a score below zero ends it


def test_a_robbed_added_kan_keeps_the_riichi_players_ippatsu():
    # seat 2 pons 3p; seat 1 declares riichi waiting on 3p; seat 2 draws the last 3p, adds it to its pon: seat 1
    # robs it (chankan) within its first go-around after riichi, so ippatsu still counts
    game = game_with(["3p 19m 19s SSS WW NN", "12p456p789p11sEEE", "33p 1m 9m 1s 9s SW PPF CC"], draws="F P C 3p")

    def pass_others():
        while game.claim and (game.to_act != 1 or A.RON not in game.legal_actions()):
            game.step(A.PASS)

    game.step(A.discard_of(parse_tiles("3p")[0]))
    game.step(A.PASS)
    game.step(A.PON)
    game.step(A.discard_of(parse_tiles("1m")[0]))
    pass_others()
    game.step(A.discard_of(game.drawn))
    pass_others()
    game.step(A.RIICHI)
    game.step(A.discard_of(game.drawn))
    pass_others()
    game.step(A.KAN + A.face_of_kind(kind_of_name("3p")))
    assert game.claim.kind == "kakan" and game.legal_actions() == [A.RON, A.PASS]
    game.step(A.RON)
    yaku = next(e for e in game.events if e["type"] == "hora")["yaku"]
    assert "Ippatsu" in yaku and "Chankan" in yaku


def test_setting_aside_a_winning_north_in_riichi_is_furiten():
    game = game_with(["123456789p111sN", "", ""], draws="CFPN")  # a single wait on the North
    game.step(A.RIICHI)
    game.step(A.discard_of(game.drawn))
    play_quietly_until(game, lambda g: g.to_act == 0 and g.drawn is not None and g.claim is None)
    assert tile_name(game.drawn) == "N" and {A.TSUMO, A.KITA} <= set(game.legal_actions())
    game.step(A.KITA)
    assert game.seats[0].furiten_riichi


def test_the_riichi_prefilter_never_hides_a_tenpai_discard():
    from appliedrl.envs.mahjong.engine import _may_be_one_from_tenpai

    rng, found = random.Random(2), 0
    for _ in range(6000):
        counts = random_counts(rng, 14, [4, 6, 8, 27])
        if counts is None:
            continue
        if any(waits(counts[:k] + [counts[k] - 1] + counts[k + 1:]) for k in range(34) if counts[k]):
            found += 1
            assert _may_be_one_from_tenpai(counts), counts
    assert found > 500
