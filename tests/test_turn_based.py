import dataclasses
import math

import gymnasium as gym
import numpy as np
import pytest
from pettingzoo import AECEnv
from gymnasium.utils.env_checker import check_env
from pettingzoo.classic import connect_four_v3
from pettingzoo.test import api_test
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import appliedrl  # noqa: F401 - registers the single-seat views
from appliedrl.agents import PPO
from appliedrl.agents.evaluation import evaluate
from appliedrl.agents.trainer import train
from appliedrl.agents.turn_based import (SELF, SelfPlay, SingleSeatEnv, evaluate_matches, t_interval,
                                         wilson_interval)
from appliedrl.domains.baselines import RandomPolicy
from appliedrl.domains.games import CONNECT_FOUR, OnePly
from appliedrl.domains.registry import single_seat_env
from appliedrl.runner import RunSpec, run

Z95 = 1.959963984540054


class Scripted:
    """Plays a fixed list of columns, in order."""

    def __init__(self, moves: list[int]) -> None:
        self.moves = list(moves)

    def predict(self, obs, mask=None, deterministic=True):
        move = self.moves.pop(0)
        assert mask[move]
        return move


class Tagged(OnePly):
    """A one-ply player with a name, to see which snapshot a seat got."""

    def __init__(self, tag: str) -> None:
        super().__init__()
        self.tag = tag


def test_rewards_arrive_at_the_learners_next_step_and_seats_rotate():
    env = SingleSeatEnv(connect_four_v3.env, [Scripted([1, 1, 1] + [0, 0, 0, 0])])
    reference = connect_four_v3.env()

    # Deal 1, seat 0: the learner stacks column 0 and wins on its fourth move.
    obs, info = env.reset(seed=3)
    reference.reset()
    assert env.learner == "player_0" and not obs.any()
    for move, last in zip([0, 0, 0, 0], [False, False, False, True]):
        obs, reward, terminated, truncated, info = env.step(move)
        reference.step(move)
        if not last:
            reference.step(1)  # the scripted opponent's move
        assert reward == reference._cumulative_rewards["player_0"] == (1.0 if last else 0.0)
        assert (terminated, truncated) == (last, False)
    assert info["episode_metrics"] == {"win": 1.0, "draw": 0.0, "loss": 0.0}

    # Same deal, seat 1: the opponent moves first and wins in column 0; the learner's -1 comes with the step
    # after which the opponent won (the learner's third), as `last()` would give player_1.
    obs, info = env.reset()
    reference.reset()
    reference.step(0)
    assert env.learner == "player_1"
    np.testing.assert_array_equal(obs, reference.observe("player_1")["observation"])
    for move, last in zip([3, 3, 3], [False, False, True]):
        obs, reward, terminated, truncated, info = env.step(move)
        reference.step(move)
        reference.step(0)
        assert reward == reference.last()[1] == (-1.0 if last else 0.0)
        assert terminated == last
    assert info["episode_metrics"] == {"win": 0.0, "draw": 0.0, "loss": 1.0}
    assert env.reset()[0].sum() == 0 and env.learner == "player_0"  # the next deal starts at seat 0 again


def test_an_illegal_learner_move_ends_the_game_as_a_loss():
    env = SingleSeatEnv(connect_four_v3.env, [Scripted([0, 0, 0])])
    env.reset(seed=0)
    for _ in range(3):
        assert env.step(0)[1:4] == (0.0, False, False)
    assert not env.action_masks()[0]  # column 0 is full
    obs, reward, terminated, truncated, info = env.step(0)
    assert (reward, terminated, truncated) == (-1.0, True, False)
    assert info["episode_metrics"]["loss"] == 1.0


def _play(env, seed, episodes, rng):
    """Observations, rewards and masks of `episodes` episodes with random legal learner moves."""
    trace = []
    obs, info = env.reset(seed=seed)
    for _ in range(episodes):
        done = False
        while not done:
            move = rng.choice(np.flatnonzero(info["action_mask"]))
            obs, reward, terminated, truncated, info = env.step(move)
            trace.append((obs.copy(), reward, info["action_mask"].copy()))
            done = terminated or truncated
        obs, info = env.reset()
    return trace


def test_masks_are_the_games_legal_columns():
    env = gym.make(CONNECT_FOUR, opponents=["random", "one-ply"]).unwrapped
    obs, info = env.reset(seed=1)
    rng = np.random.default_rng(0)
    for _ in range(200):
        game_mask = env.game.observe(env.learner)["action_mask"].astype(bool)
        np.testing.assert_array_equal(info["action_mask"], game_mask)
        np.testing.assert_array_equal(env.action_masks(), game_mask)
        if not env.state.terminations[env.learner]:
            np.testing.assert_array_equal(game_mask, ~obs[0].any(-1))  # a column is legal while its top is empty
        obs, _, terminated, truncated, info = env.step(rng.choice(np.flatnonzero(info["action_mask"])))
        if terminated or truncated:
            obs, info = env.reset()


def test_a_seed_repeats_everything():
    def make():
        return gym.make(CONNECT_FOUR, opponents=["random", "one-ply", SELF])

    first = _play(make(), 7, 12, np.random.default_rng(0))
    again = _play(make(), 7, 12, np.random.default_rng(0))
    env = make()
    random_player = env.unwrapped.opponents[0]
    _play(env, 7, 12, np.random.default_rng(0))
    assert random_player.rng.random() != make().unwrapped.opponents[0].rng.random()  # it played: its stream moved
    reseeded = _play(env, 7, 12, np.random.default_rng(0))  # the same env, seeded again
    other = _play(make(), 8, 12, np.random.default_rng(0))
    for trace in (again, reseeded):
        assert len(trace) == len(first)
        for (o1, r1, m1), (o2, r2, m2) in zip(first, trace):
            np.testing.assert_array_equal(o1, o2)
            np.testing.assert_array_equal(m1, m2)
            assert r1 == r2
    assert len(other) != len(first) or any((a[0] != b[0]).any() for a, b in zip(first, other))


def test_self_slots_play_random_legal_moves_then_the_latest_snapshots():
    env = SingleSeatEnv(connect_four_v3.env, [SELF], pool_size=2)
    rng = np.random.default_rng(0)
    _play(env, 0, 10, rng)  # no snapshot yet: legal random moves (an illegal one would end a game at once)
    first, second, third = Tagged("first"), Tagged("second"), Tagged("third")
    for snapshot in (first, second, third):
        env.add_snapshot(snapshot)
    assert list(env.snapshots) == [second, third]
    seen = []
    env.reset(seed=1)
    for _ in range(40):
        (player,) = env.players.values()
        seen.append(player.tag)
        env.reset()
        env.reset()  # the second seat of the same deal
    assert set(seen) == {"second", "third"}
    assert 10 <= seen.count("third") <= 30  # uniform over the pool: 20 of 40 expected, sd 3.2


def test_self_play_callback_pushes_frozen_copies_of_the_learner(tiny_ppo_config):
    agent = PPO(CONNECT_FOUR, tiny_ppo_config, seed=0, env_kwargs={"opponents": [SELF]})
    train(agent, 4 * 32, callbacks=[SelfPlay(every=2)], progress_bar=False)
    pools = agent.envs.get_attr("snapshots")
    assert [len(pool) for pool in pools] == [2, 2]
    assert pools[0][-1] is pools[1][-1]  # one frozen copy shared by the sub-envs
    snapshot = pools[0][-1]
    assert snapshot.envs is None and snapshot is not agent
    obs = np.random.default_rng(0).integers(0, 2, (50, 6, 7, 2))
    np.testing.assert_array_equal(snapshot.predict(obs), agent.predict(obs))  # taken after the last update
    agent.model.actor[0].weight.data += 1.0
    assert not np.array_equal(snapshot.predict(obs), agent.predict(obs))  # frozen: later updates do not reach it


TINY_RUN = {"n_envs": 2, "vectorization": "sync", "n_steps": 16, "batch_size": 8, "n_epochs": 1, "eval_freq": 0,
            "checkpoint_freq": 0, "tensorboard": False, "self_play_every": 2}


@pytest.mark.parametrize("opponents, snapshots", [([SELF, "one-ply"], 2), (["one-ply"], 0)])
def test_the_runner_self_plays_when_the_opponents_include_self(tmp_path, monkeypatch, opponents, snapshots):
    pushed = []
    monkeypatch.setattr(SingleSeatEnv, "add_snapshot", lambda env, policy: pushed.append(policy))
    run(RunSpec(CONNECT_FOUR, "ppo", 0, 4 * 32, {"opponents": opponents}, TINY_RUN, run_dir=tmp_path / "run",
                progress_bar=False))
    assert len(pushed) == snapshots * 2  # every 2 of 4 iterations, into each of the 2 sub-envs


def test_the_trainers_evaluations_play_the_eval_env_kwargs_opponents(tiny_ppo_config):
    config = dataclasses.replace(tiny_ppo_config, eval_env_kwargs={"opponents": ["one-ply"]})
    agent = PPO(CONNECT_FOUR, config, seed=0, env_kwargs={"opponents": [SELF]})
    against_one_ply = evaluate(agent, CONNECT_FOUR, 2, 7, {"opponents": ["one-ply"]}).to_dict(with_ci=False)
    against_self = evaluate(agent, CONNECT_FOUR, 2, 7, {"opponents": [SELF]}).to_dict(with_ci=False)
    assert agent.evaluate(7) == against_one_ply != against_self
    agent.close()


def test_wilson_and_t_intervals_match_their_closed_forms():
    for successes, trials in ((7, 20), (0, 10), (10, 10), (493, 1000)):
        p = successes / trials
        centre = (p + Z95**2 / (2 * trials)) / (1 + Z95**2 / trials)
        half = Z95 / (1 + Z95**2 / trials) * math.sqrt(p * (1 - p) / trials + Z95**2 / (4 * trials**2))
        estimate = wilson_interval(successes, trials)
        assert estimate.value == p
        assert estimate.low == pytest.approx(max(centre - half, 0.0), abs=1e-12)
        assert estimate.high == pytest.approx(min(centre + half, 1.0), abs=1e-12)
    assert wilson_interval(0, 10).high == pytest.approx(Z95**2 / (10 + Z95**2))
    estimate = t_interval(np.array([1.0, 2.0, 2.0, 3.0]))  # mean 2, sd sqrt(2/3), t(0.975, 3) = 3.182446305
    half = 3.182446305284263 * math.sqrt(2 / 3) / 2
    assert (estimate.value, estimate.low, estimate.high) == pytest.approx((2.0, 2.0 - half, 2.0 + half))


def _board(mine: list[tuple[int, int]], theirs: list[tuple[int, int]]) -> np.ndarray:
    """Observation planes from (row from the bottom, column) cells."""
    obs = np.zeros((6, 7, 2), np.int8)
    for plane, cells in enumerate((mine, theirs)):
        for row, column in cells:
            obs[5 - row, column, plane] = 1
    return obs


def test_one_ply_wins_then_blocks_else_plays_at_random():
    horizontal = _board([(0, 1), (0, 2), (0, 3)], [(1, 1), (1, 2), (0, 6)])
    vertical_block = _board([(0, 0), (0, 2), (0, 4)], [(0, 5), (1, 5), (2, 5)])
    diagonal = _board([(0, 0), (1, 1), (2, 2), (0, 2), (1, 3)], [(0, 1), (1, 2), (0, 3), (2, 3)])
    win_over_block = _board([(0, 0), (1, 0), (2, 0)], [(0, 6), (1, 6), (2, 6)])
    block_anti_diagonal = _board([(0, 2), (0, 1), (1, 1), (0, 0), (1, 0), (0, 6)], [(0, 3), (1, 2), (2, 1), (2, 0)])
    for seed in range(5):
        player = OnePly(seed)
        assert player.predict(horizontal) in (0, 4)  # either end completes 1-2-3
        assert player.predict(vertical_block) == 5
        assert player.predict(diagonal) == 3  # (3, 3) lands on top of column 3's three pieces
        assert player.predict(win_over_block) == 0
        assert player.predict(block_anti_diagonal) == 0  # (3, 0) would complete their 3-2-1 diagonal
    batch = np.stack([vertical_block, diagonal, win_over_block])
    np.testing.assert_array_equal(OnePly(0).predict(batch), [5, 3, 0])
    empty = np.zeros((6, 7, 2), np.int8)
    player = OnePly(0)
    assert {int(player.predict(empty)) for _ in range(200)} == set(range(7))
    mask = np.array([0, 1, 0, 0, 1, 0, 0], bool)
    assert {int(player.predict(empty, mask=mask)) for _ in range(50)} == {1, 4}


def test_the_single_seat_view_passes_the_checkers_and_the_game_passes_pettingzoos():
    env = gym.make(CONNECT_FOUR, opponents=["one-ply"])
    check_env(env.unwrapped)
    sb3_check_env(gym.make(CONNECT_FOUR, opponents=["random", SELF]), warn=False)
    rendered = gym.make(CONNECT_FOUR, render_mode="rgb_array")
    rendered.reset(seed=0)
    assert rendered.render().shape[-1] == 3
    api_test(connect_four_v3.env(), num_cycles=200)


def test_bad_opponents_and_keywords_are_one_line_errors():
    with pytest.raises(ValueError, match="unknown opponent 'greedy'.*valid choices: one-ply, random, self"):
        gym.make(CONNECT_FOUR, opponents=["greedy"])
    with pytest.raises(ValueError, match="not a declared turn-based.*pettingzoo/connect_four_v3"):
        single_seat_env("CartPole-v1")
    with pytest.raises(TypeError):
        gym.make(CONNECT_FOUR, colour="red")
    with pytest.raises(ValueError, match="opponents must"):
        SingleSeatEnv(connect_four_v3.env, [])


def test_saved_agents_and_run_folders_are_opponents(tmp_path, tiny_ppo_config):
    agent = PPO(CONNECT_FOUR, tiny_ppo_config, seed=0, env_kwargs={"opponents": ["random"]})
    agent.save(tmp_path / "agent.pt")
    env = gym.make(CONNECT_FOUR, opponents=[str(tmp_path / "agent.pt")]).unwrapped
    (opponent,) = env.opponents
    assert isinstance(opponent, PPO) and opponent.envs is None
    obs = np.random.default_rng(0).integers(0, 2, (20, 6, 7, 2))
    np.testing.assert_array_equal(opponent.predict(obs), agent.predict(obs))


def _compatible(rate: float, n: int, reference: float, reference_n: int) -> bool:
    """Two rates agree within a 95% two-proportion (pooled normal) test."""
    pooled = (rate * n + reference * reference_n) / (n + reference_n)
    return abs(rate - reference) <= Z95 * math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / reference_n))


def test_reference_facts_random_and_one_ply_over_seat_rotated_games():
    # backbone.md, measured over 200 seat-rotated games: random wins 2% against one-ply; one-ply against itself
    # wins 52.5% and draws 2.5%.
    env = gym.make(CONNECT_FOUR).unwrapped
    random_player = RandomPolicy(env.observation_space, env.action_space, seed=0)
    versus_random = evaluate_matches(random_player, ["one-ply"], CONNECT_FOUR, deals=100, seed=0)
    mirror = evaluate_matches(OnePly(1), ["one-ply"], CONNECT_FOUR, deals=100, seed=0)
    assert versus_random.episodes == mirror.episodes == 200
    assert _compatible(versus_random.rates["win"].value, 200, 0.02, 200)
    assert _compatible(mirror.rates["win"].value, 200, 0.525, 200)
    assert _compatible(mirror.rates["draw"].value, 200, 0.025, 200)
    rates = mirror.rates
    assert rates["win"].value + rates["draw"].value + rates["loss"].value == pytest.approx(1.0)
    assert rates["win"].low <= rates["loss"].value <= rates["win"].high  # the same player from both seats


class Auction(AECEnv):
    """A three-seat toy game: in turn each seat bids 0-2, gets its bid in points and gives the next seat 1 point
    (a reward that arrives while that seat waits); the game ends after `rounds` rounds."""

    metadata = {"render_modes": [], "name": "auction"}

    def __init__(self, rounds: int = 2, render_mode=None) -> None:
        super().__init__()
        self.rounds, self.render_mode = rounds, render_mode
        self.possible_agents = ["s0", "s1", "s2"]
        space = gym.spaces.Dict({"observation": gym.spaces.Box(0, 100, (1,), np.float32),
                                 "action_mask": gym.spaces.Box(0, 1, (3,), np.int8)})
        self.observation_spaces = dict.fromkeys(self.possible_agents, space)
        self.action_spaces = dict.fromkeys(self.possible_agents, gym.spaces.Discrete(3))

    def observation_space(self, agent):
        return self.observation_spaces[agent]

    def action_space(self, agent):
        return self.action_spaces[agent]

    def observe(self, agent):
        return {"observation": np.array([self.moves], np.float32), "action_mask": np.ones(3, np.int8)}

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {agent: {} for agent in self.agents}
        self.moves = 0
        self.agent_selection = self.agents[0]

    def step(self, action):
        if self.terminations[self.agent_selection]:
            return self._was_dead_step(action)
        mover = self.agent_selection
        following = self.agents[(self.agents.index(mover) + 1) % 3]
        self._cumulative_rewards[mover] = 0.0
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self.rewards[mover] += float(action)
        self.rewards[following] += 1.0
        self.moves += 1
        if self.moves == 3 * self.rounds:
            self.terminations = dict.fromkeys(self.agents, True)
        self.agent_selection = following
        self._accumulate_rewards()


def test_three_seats_get_waiting_rewards_and_ranks():
    # One scripted opponent plays both other seats, taking its bids in order of play.
    env = SingleSeatEnv(Auction, [Scripted([1, 2, 1, 2] + [2, 1, 2, 1])])
    env.reset(seed=0)
    # Seat s0 bids 0 twice; s2's gift arrives while s0 waits and comes with s0's next step (the last one ends it).
    assert env.step(0)[1:3] == (1.0, False)
    _, reward, terminated, _, info = env.step(0)
    assert (reward, terminated) == (1.0, True)
    assert env.returns == {"s0": 2.0, "s1": 1 + 1 + 2.0, "s2": 2 + 2 + 2.0}
    assert info["episode_metrics"] == {"win": 0.0, "draw": 0.0, "loss": 1.0, "rank": 3.0,
                                       "rank_1": 0.0, "rank_2": 0.0, "rank_3": 1.0}
    # Seat s1 of the same deal: s0's gift before s1's first move comes with that move's reward.
    env.reset()
    assert env.learner == "s1"
    assert env.step(2)[1:3] == (1 + 2 + 1.0, False)
    _, reward, terminated, _, info = env.step(2)
    assert (reward, terminated) == (2.0, True)
    assert env.returns == {"s0": 2 + 2 + 2.0, "s1": 6.0, "s2": 1 + 1 + 2.0}  # s1 ties s0 for the best
    assert info["episode_metrics"] == {"win": 0.0, "draw": 1.0, "loss": 0.0, "rank": 1.0,
                                       "rank_1": 1.0, "rank_2": 0.0, "rank_3": 0.0}


class Constant:
    def __init__(self, action: int) -> None:
        self.action = action

    def predict(self, obs, mask=None, deterministic=True):
        return np.full(np.shape(obs)[:-1], self.action)


def test_matches_of_three_seats_report_ranks_with_intervals():
    if "test/Auction-v0" not in gym.registry:
        gym.register("test/Auction-v0", entry_point=lambda **kwargs: SingleSeatEnv(Auction, **kwargs))
    spaces = Auction().observation_space("s0")["observation"], Auction().action_space("s0")
    result = evaluate_matches(Constant(1), [RandomPolicy(*spaces, seed=0)], "test/Auction-v0", deals=60, seed=0)
    assert result.episodes == 180 and result.seats == 3
    ranks = np.array([result.rates[f"rank_{k}"].value for k in (1, 2, 3)])
    assert ranks.sum() == pytest.approx(1.0) and (ranks > 0).all()
    assert result.average_rank.value == pytest.approx(ranks @ [1, 2, 3])
    assert result.average_rank.low < result.average_rank.value < result.average_rank.high
    assert result.rates["win"].value + result.rates["draw"].value == pytest.approx(ranks[0])


class EndsAtOnce(Auction):
    """An auction that its first move ends when the game's seed is even."""

    def reset(self, seed=None, options=None):
        super().reset(seed, options)
        self.quick = seed % 2 == 0

    def step(self, action):
        super().step(action)
        if self.quick:
            self.terminations = dict.fromkeys(self.agents, True)


def test_a_game_over_before_the_learners_first_move_is_dealt_again():
    env = SingleSeatEnv(EndsAtOnce, [Constant(0)])
    env.reset(seed=0)
    for _ in range(30):  # the learner takes s1, s2, s0, s1 ...: an opponent moves first in two seats of three
        env.reset()
        assert not env._learner_done() and env.state.agent_selection == env.learner
