"""The sanma PettingZoo game and its single-seat Gymnasium view."""

import gymnasium as gym
import numpy as np
import pytest
from mahjong.shanten import Shanten
from pettingzoo.test import api_test, seed_test

import appliedrl.envs  # noqa: F401  (registers the appliedrl/ ids)
from appliedrl.envs.mahjong import actions as A
from appliedrl.envs.mahjong import sanma_v0
from appliedrl.domains.mahjong.bots import Greedy
from appliedrl.envs.mahjong.encoding import COLUMNS, MAX_ACCEPTANCE, START, encode
from appliedrl.envs.mahjong.engine import INDICATORS, Game, IllegalActionError, compose_wall
from appliedrl.envs.mahjong.tiles import parse_tiles


def test_pettingzoo_api_and_seed_tests():
    api_test(sanma_v0.env(), num_cycles=1500)
    seed_test(lambda: sanma_v0.env(length="round"), num_cycles=500)


def play_randomly(game, seed: int) -> tuple[dict, dict]:
    """A whole game of uniformly random legal moves; the seats' returns and final infos."""
    rng = np.random.default_rng(seed)
    game.reset(seed=seed)
    returns, infos = dict.fromkeys(game.possible_agents, 0.0), {}
    for agent in game.agent_iter():
        obs, reward, terminated, truncated, infos[agent] = game.last()
        returns[agent] += reward
        mask = obs["action_mask"]
        assert mask.sum() == 0 if terminated else mask.sum() > 0
        game.step(None if terminated or truncated else int(rng.choice(np.flatnonzero(mask))))
    return returns, infos


def test_score_rewards_sum_to_the_final_score_change_and_rank_rewards_to_the_ranks():
    game = sanma_v0.raw_env()
    returns, _ = play_randomly(game, 0)
    scores = game.game.scores
    assert [returns[f"player_{i}"] for i in range(3)] == pytest.approx([(s - 35_000) / 1000 for s in scores])
    game = sanma_v0.raw_env(reward="rank")
    returns, infos = play_randomly(game, 0)
    ranks = [infos[f"player_{i}"]["rank"] for i in range(3)]
    assert sorted(ranks) == [1, 2, 3]
    assert [returns[f"player_{i}"] for i in range(3)] == [(1.0, 0.0, -1.0)[r - 1] for r in ranks]


def test_observation_layout():
    game = sanma_v0.raw_env()
    game.reset(seed=1)
    obs = game.observe(game.agent_selection)["observation"]
    assert obs.shape == (34, COLUMNS)
    hand = game.game.seats[game.game.to_act].counts
    assert (obs[:, START["hand"]] == (np.array(hand) > 0)).all()
    assert obs[:, START["hand"]:START["hand"] + 4].sum() == 14  # the dealer's 14 tiles
    assert obs[1:8].sum() == 0 or obs[1:8, START["scores"]:].any()  # 2m-8m rows hold only the table columns
    assert obs[:, START["decision"]].all()  # the dealer's own turn


def test_illegal_action_errors_and_penalty():
    game = sanma_v0.env()
    game.reset(seed=0)
    with pytest.raises(IllegalActionError, match="is not legal for seat 0; legal: "):
        game.step(A.RON)
    game = sanma_v0.raw_env(illegal_action="penalty")
    game.reset(seed=0)
    game.step(A.RON)
    assert game.rewards["player_0"] == -1.0 and game.agent_selection == "player_0"
    with pytest.raises(ValueError, match="valid choices: score, rank"):
        sanma_v0.raw_env(reward="points")


def test_single_seat_view_plays_against_random_opponents():
    env = gym.make("appliedrl/SanmaVsBots-v0", opponents=["random"], length="round")
    obs, info = env.reset(seed=0)
    assert obs.shape == (34, COLUMNS) and info["action_mask"].any()
    done = False
    while not done:
        action = int(np.flatnonzero(info["action_mask"])[0])
        obs, reward, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    assert info["episode_metrics"]["rank"] in (1.0, 2.0, 3.0)


def test_ansi_render_shows_the_hand_and_choices():
    game = sanma_v0.raw_env(render_mode="ansi")
    game.reset(seed=3)
    text = game.render()
    assert text.startswith("E1 honba 0") and "hand " in text and "choices: " in text


def test_lookahead_columns_show_the_best_discards_their_acceptance_and_the_shanten():
    tiles = parse_tiles("123456789p1155s" + "2s" + "5s")  # the dealer's 13 tiles, its draw, the dora indicator
    game = Game()
    game.reset(walls=[compose_wall([tiles[:13], [], []], draws=tiles[13:14], dora=tiles[14:])])
    obs = encode(game, 0)
    one, two = (parse_tiles(name)[0] // 4 for name in ("1s", "2s"))
    assert set(np.flatnonzero(obs[:, START["best_discards"]])) == {one, two}  # either leaves a tenpai
    assert obs[one, START["acceptance"]] == 4 / MAX_ACCEPTANCE  # waiting on 3s: four unseen
    assert obs[two, START["acceptance"]] == 3 / MAX_ACCEPTANCE  # on 1s (two unseen) and 5s (one: the indicator)
    assert obs[0, START["shanten"]:START["shanten"] + 4].tolist() == [1, 0, 0, 0]


def test_lookahead_columns_agree_with_the_mahjong_package_through_whole_games():
    env, checked = sanma_v0.raw_env(length="east"), 0
    bot = Greedy()
    env.reset(seed=3)
    for agent in env.agent_iter():
        obs, _, terminated, truncated, _ = env.last()
        if terminated or truncated:
            env.step(None)
            continue
        game, seat = env.game, int(agent[-1])
        if game.turn == seat and game.claim is None:
            counts = list(game.seats[seat].counts)
            hidden = [t for s in range(3) if s != seat for t in game.seats[s].hand]  # what this seat cannot see
            hidden += game.wall[game.front:game.back + 1] + game.wall[-INDICATORS:][game.indicators:]
            unseen = np.bincount(np.array(hidden) // 4, minlength=34)
            after = {}
            for kind in np.flatnonzero(counts):
                counts[kind] -= 1
                after[kind] = Shanten.calculate_shanten(counts, is_three_player=True)
                counts[kind] += 1
            best = min(after.values())
            expected = {kind for kind, value in after.items() if value == best}
            assert set(np.flatnonzero(obs["observation"][:, START["best_discards"]])) == expected
            for kind in expected:
                counts[kind] -= 1
                accepted = 0
                for drawn in np.flatnonzero(unseen):
                    counts[drawn] += 1
                    accepted += unseen[drawn] * (Shanten.calculate_shanten(counts, is_three_player=True) < best)
                    counts[drawn] -= 1
                counts[kind] += 1
                shown = np.float32(min(accepted, MAX_ACCEPTANCE) / MAX_ACCEPTANCE)
                assert obs["observation"][kind, START["acceptance"]] == shown
            checked += 1
        env.step(int(bot.predict(obs["observation"], obs["action_mask"])))
    assert checked > 100
