"""The restaurant dialogue env: the user's goals, the reward identity, the error model's rate, the tracker's update,
masks, the summary-to-master mapping, determinism, bad input, the handcrafted policy and the chat parser."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest

import appliedrl  # noqa: F401
from appliedrl.domains import make_baseline
from appliedrl.envs.dialogue import (SUMMARY_ACTIONS, Act, InvalidActionError, OntologyError,
                                     RestaurantDialogueEnv, SystemAct, load_domain)
from appliedrl.envs.dialogue.data import CONSTRAINT_SLOTS, DONTCARE
from appliedrl.envs.dialogue.errors import ErrorModel
from appliedrl.envs.dialogue.language import parse_user_text
from appliedrl.envs.dialogue.tracker import NONE, BeliefState
from appliedrl.envs.dialogue.user import AgendaUser, extra_requests, sample_goal

ENV_ID = "appliedrl/RestaurantDialogue-v0"


def play(env: gym.Env, policy, seed: int) -> tuple[float, dict, int]:
    obs, info = env.reset(seed=seed)
    total, turns, done = 0.0, 0, False
    while not done:
        obs, reward, terminated, truncated, info = env.step(policy(obs, info["action_mask"]))
        total, turns, done = total + reward, turns + 1, terminated or truncated
    return total, info, turns


def random_legal(seed: int):
    rng = np.random.default_rng(seed)
    return lambda obs, mask: int(rng.choice(np.flatnonzero(mask)))


def test_every_goal_matches_two_or_three_venues_and_asks_for_the_name_first():
    domain = load_domain()
    rng = np.random.default_rng(0)
    wishes = 0
    for _ in range(2000):
        goal = sample_goal(domain, rng)
        assert 2 <= len(domain.matches(goal.constraints)) <= 3
        assert goal.requests[0] == "name" and set(goal.requests[1:]) <= set(extra_requests(domain))
        assert len(goal.requests) <= 3 and len(set(goal.requests)) == len(goal.requests)
        if goal.wish is not None:
            wishes += 1
            assert len(domain.matches({**goal.constraints, "food": goal.wish})) == 0
    assert 100 < wishes < 300  # about WISH_PROBABILITY of the goals with a food


@pytest.mark.parametrize("kwargs", [{}, {"semantic_error_rate": 0.3, "action_masks": False},
                                    {"action_space": "master", "user": "unfriendly", "semantic_error_rate": 0.15}])
def test_the_return_is_twenty_times_success_minus_turns(kwargs):
    env = gym.make(ENV_ID, **kwargs)
    outcomes = set()
    for seed in range(60):
        total, info, turns = play(env, random_legal(seed), seed)
        assert total == 20 * info["is_success"] - turns
        assert info["episode_metrics"]["turns"] == turns <= 25
        outcomes.add(info["is_success"])
    assert outcomes == {True, False}


@pytest.mark.parametrize("rate", [0.15, 0.3])
def test_the_top_hypothesis_is_wrong_at_the_error_rate(rate):
    domain = load_domain()
    model, rng = ErrorModel(domain, rate), np.random.default_rng(1)
    turns = [[Act("inform", "food", "indian"), Act("inform", "area", "north")], [Act("request", "phone")],
             [Act("affirm")], [Act("thankyou")]]
    n, wrong = 8000, 0
    for i in range(n):
        truth = turns[i % len(turns)]
        nbest = model.nbest(truth, rng)
        scores = [score for _, score in nbest]
        assert 1 <= len(nbest) <= 5 and scores == sorted(scores, reverse=True) and sum(scores) <= 1 + 1e-9
        wrong += list(nbest[0][0]) != truth
    assert abs(wrong / n - rate) < 4 * np.sqrt(rate * (1 - rate) / n)
    assert ErrorModel(domain, 0.0).nbest(turns[0], rng) == [(tuple(turns[0]), 1.0)]


def test_the_focus_tracker_mixes_each_turn_in_and_affirm_and_negate_answer_the_confirm():
    domain = load_domain()
    state = BeliefState(domain, 25)
    north, south = state.index("area", "north"), state.index("area", "south")
    state.hear(None, [((Act("inform", "area", "north"),), 0.6), ((Act("inform", "area", "south"),), 0.3)])
    area = state.beliefs["area"]
    assert area[north] == pytest.approx(0.6) and area[south] == pytest.approx(0.3) and area[NONE] == pytest.approx(0.1)
    state.hear(None, [((Act("inform", "area", "south"),), 0.5)])  # b' = (1 − 0.5) b + 0.5 on south
    assert state.beliefs["area"][south] == pytest.approx(0.65) and state.beliefs["area"][north] == pytest.approx(0.3)
    state.hear(SystemAct("confirm", "area", "south"), [((Act("affirm"),), 0.8)])
    assert state.beliefs["area"][south] == pytest.approx(0.2 * 0.65 + 0.8)
    before = state.beliefs["area"].copy()
    state.hear(SystemAct("confirm", "area", "south"), [((Act("negate"),), 0.5)])
    assert state.beliefs["area"][south] == pytest.approx(0.5 * before[south])
    assert state.beliefs["area"].sum() == pytest.approx(1.0) and state.top("area")[0] == "south"
    assert state.beliefs["food"][NONE] == 1.0  # nothing said about food


def test_masks_forbid_what_they_should():
    env = gym.make(ENV_ID).unwrapped
    obs, info = env.reset(seed=3)
    mask = dict(zip(SUMMARY_ACTIONS, info["action_mask"]))
    assert mask["request_area"] and mask["request_food"] and mask["request_pricerange"]
    assert not any(mask[name] for name in ("inform_byname", "inform_alternatives", "reqmore", "bye", "repeat",
                                            "restart"))  # nothing offered, the user is not done
    for slot in CONSTRAINT_SLOTS:  # confirm needs a belief, select two
        _, first, _, second = env.state.top(slot)
        assert mask[f"confirm_{slot}"] == (first > 0) and mask[f"select_{slot}"] == (second > 0)
    with pytest.raises(InvalidActionError, match=r"action 12 \(bye\) is masked now; allowed: 0 request_area"):
        env.step(SUMMARY_ACTIONS.index("bye"))
    with pytest.raises(InvalidActionError, match="outside the action space"):
        env.step(16)
    assert gym.make(ENV_ID, action_masks=False).unwrapped.action_masks().all()


def test_bye_is_allowed_once_the_user_is_done_and_offers_only_after_the_constraints():
    env = gym.make(ENV_ID).unwrapped
    handcrafted = make_baseline("handcrafted", gym.make(ENV_ID))
    obs, info = env.reset(seed=5)
    done = False
    while not done:
        mask = dict(zip(SUMMARY_ACTIONS, info["action_mask"]))
        assert mask["bye"] == env.state.finished
        assert mask["inform"] == (not env.state.narrowable(env.state.matches()))
        assert mask["reqmore"] == mask["inform_byname"] == (env.state.offered is not None)
        obs, _, terminated, truncated, info = env.step(handcrafted.predict(obs, info["action_mask"]))
        done = terminated or truncated
    assert info["is_success"]


@pytest.mark.parametrize("rate, policy", [(0.0, "handcrafted"), (0.3, "random")])
def test_master_actions_spell_out_the_summary_ones(rate, policy):
    summary = gym.make(ENV_ID, semantic_error_rate=rate).unwrapped
    master = gym.make(ENV_ID, semantic_error_rate=rate, action_space="master").unwrapped
    names = master.action_names()
    assert len(names) == master.action_space.n == 3 + 2 * sum(len(v) for v in summary.state.values.values()) + 110 + 6
    chosen = make_baseline(policy, gym.make(ENV_ID), seed=1)
    for seed in range(10):
        obs, info = summary.reset(seed=seed)
        master.reset(seed=seed)
        done = False
        while not done:
            action = int(chosen.predict(obs, info["action_mask"]))
            act = summary.spaces.summary_act(action)
            legal = np.flatnonzero(master.action_masks())
            same = [i for i in legal if master.spaces.master_act(int(i)) == act]
            assert same, f"{SUMMARY_ACTIONS[action]} -> {act} has no legal master action"
            obs, _, terminated, truncated, info = summary.step(action)
            master.step(same[0])
            done = terminated or truncated
            assert np.array_equal(obs, master.state.observation())  # the same dialogue, act for act


def test_offers_in_the_master_space_are_masked_to_the_fitting_venues():
    env = gym.make(ENV_ID, action_space="master").unwrapped
    env.reset(seed=0)
    names = env.action_names()
    while not env.action_masks()[names.index("inform_none")] and not any(
            env.action_masks()[i] for i, n in enumerate(names) if n.startswith("offer(")):
        env.step(names.index("request(area)") if env.state.top("area")[1] == 0 else
                 names.index("request(food)") if env.state.top("food")[1] == 0 else names.index("request(pricerange)"))
    offered = {i for i, n in enumerate(names) if n.startswith("offer(")}
    legal = {i - min(offered) for i in np.flatnonzero(env.action_masks()) if i in offered}
    assert legal == set(env.state.matches().tolist())


def test_the_same_seed_gives_the_same_dialogue():
    def transcript(seed: int) -> str:
        env = gym.make(ENV_ID, semantic_error_rate=0.3, render_mode="ansi")
        play(env, random_legal(0), seed)
        return env.render()

    assert transcript(7) == transcript(7) != transcript(8)
    assert "SYSTEM: Hello" in transcript(7) and "\nUSER: " in transcript(7)


def test_the_handcrafted_policy_always_succeeds_without_errors():
    env = gym.make(ENV_ID)
    handcrafted = make_baseline("handcrafted", env)
    results = [play(env, lambda obs, mask: handcrafted.predict(obs, mask), seed) for seed in range(200)]
    assert all(info["is_success"] for _, info, _ in results)
    with pytest.raises(ValueError, match="summary action space"):
        make_baseline("handcrafted", gym.make(ENV_ID, action_space="master"))


def test_bad_keywords_and_ontologies_are_named(tmp_path):
    with pytest.raises(ValueError, match="unknown action_space 'full'; valid choices: summary, master"):
        RestaurantDialogueEnv(action_space="full")
    with pytest.raises(ValueError, match="unknown user 'rude'; valid choices: standard, unfriendly"):
        RestaurantDialogueEnv(user="rude")
    with pytest.raises(ValueError, match="semantic_error_rate must be in"):
        RestaurantDialogueEnv(semantic_error_rate=1.5)
    ontology = json.loads(load_domain.__globals__["RESTAURANT_ONTOLOGY"].read_text())
    bad = tmp_path / "ontology.json"
    bad.write_text(json.dumps({**ontology, "informable": {**ontology["informable"], "stars": ["1", "2"]}}))
    with pytest.raises(OntologyError, match="unknown informable slot 'stars'"):
        RestaurantDialogueEnv(ontology=bad)
    bad.write_text(json.dumps({**ontology, "requestable": [*ontology["requestable"], "website"]}))
    with pytest.raises(OntologyError, match="unknown requestable slot 'website'"):
        RestaurantDialogueEnv(ontology=bad)
    foods = [f for f in ontology["informable"]["food"] if f != "indian"]
    bad.write_text(json.dumps({**ontology, "informable": {**ontology["informable"], "food": foods}}))
    with pytest.raises(OntologyError, match="food value 'indian' is not in the ontology"):
        RestaurantDialogueEnv(ontology=bad)


def test_the_user_relaxes_an_unserved_wish_when_told_nothing_matches():
    domain = load_domain()
    user = AgendaUser(domain)
    seed = next(s for s in range(1000) if sample_goal(domain, np.random.default_rng(s)).wish is not None)
    user.start(np.random.default_rng(seed))
    assumed = {**user.goal.constraints, "food": user.goal.wish}
    reply = user.respond(SystemAct("inform_none", constraints=tuple(assumed.items())))
    assert reply == [Act("inform", "food", user.goal.constraints["food"])]
    assert len(domain.matches(user.wanted)) >= 2


def test_a_person_s_sentences_become_user_acts():
    domain = load_domain()
    assert parse_user_text("Cheap Chinese food in the north, please", domain, None) == [
        Act("inform", "area", "north"), Act("inform", "pricerange", "cheap"), Act("inform", "food", "chinese")]
    assert parse_user_text("I don't care", domain, SystemAct("request", "area")) == [Act("inform", "area", DONTCARE)]
    assert parse_user_text("what is the phone number and the address?", domain, None) == [
        Act("request", "address"), Act("request", "phone")]
    assert parse_user_text("yes", domain, None) == [Act("affirm")]
    assert parse_user_text("no, moderate", domain, None) == [Act("negate"), Act("inform", "pricerange", "moderate")]
    assert parse_user_text("thanks, bye", domain, None) == [Act("bye")]
    assert parse_user_text("no thanks", domain, None) == [Act("negate"), Act("thankyou")]
    assert parse_user_text("blah", domain, None) == [Act("null")]
    assert parse_user_text("north american food", domain, None) == [Act("inform", "food", "north american")]
    assert parse_user_text("any price, north", domain, None) == [Act("inform", "area", "north"),
                                                                 Act("inform", "pricerange", DONTCARE)]
    assert parse_user_text("is there any other restaurant?", domain, None) == [Act("reqalts")]
    assert parse_user_text("give me the phone number", domain, None) == [Act("request", "phone")]
    assert parse_user_text("I do not care", domain, SystemAct("request", "food")) == [Act("inform", "food", DONTCARE)]


def test_maskable_ppo_from_sb3_contrib_trains_on_the_masks():
    maskable = pytest.importorskip("sb3_contrib")
    model = maskable.MaskablePPO("MlpPolicy", gym.make(ENV_ID), n_steps=64, batch_size=32, seed=0)
    model.learn(128)
    env = gym.make(ENV_ID)
    obs, _ = env.reset(seed=0)
    for _ in range(10):
        action, _ = model.predict(obs, action_masks=env.unwrapped.action_masks())
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            break


def test_the_picture_is_each_method_s_transcript():
    from appliedrl.domains.dialogue import DOMAIN

    setting = next(s for s in DOMAIN.settings if s.name == "error_30")
    env = gym.make(ENV_ID, render_mode="ansi", **setting.evaluation_kwargs)
    policies = {name: make_baseline(name, env) for name in ("handcrafted", "random")}
    figure = DOMAIN.picture(setting, policies, 11)
    for ax, (name, policy) in zip(figure.axes, policies.items()):
        if hasattr(policy, "seed_actions"):  # the random baseline's stream, restarted as the picture does
            policy.seed_actions(11)
        _, info, turns = play(env, lambda obs, mask: policy.predict(obs, mask), 11)
        drawn = " ".join(text.get_text() for text in ax.texts)
        assert drawn.split() == env.render().split()
        assert ax.get_title() == f"{name}: {'success' if info['is_success'] else 'failure'} in {turns} turns"
