"""The web navigation env's DOM backend: tasks are deterministic per seed, the oracle solves them, actions do
what they say, the reward and shaping are right, held-out values are held out, bad actions are named."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest

import appliedrl  # noqa: F401
from appliedrl.domains import make_baseline
from appliedrl.envs.web import TASKS, InvalidActionError, make_task
from appliedrl.envs.web.tasks import NAMES, WORDS

ENV_ID = "appliedrl/WebNav-v0"


def act(env, kind: str, element_id: str, field: int = 0) -> tuple:
    """Click or type into the element with this HTML id."""
    inner = env.unwrapped
    ref = inner.page.by_id[element_id]
    index = ref if kind == "click" else inner.max_elements + ref * inner.max_fields + field
    return env.step(index)


@pytest.mark.parametrize("task", list(TASKS))
def test_tasks_are_deterministic_per_seed(task):
    first, again = make_task(task, np.random.default_rng(3)), make_task(task, np.random.default_rng(3))
    assert first == again
    assert any(make_task(task, np.random.default_rng(s)) != first for s in range(4, 10))
    env = gym.make(ENV_ID, task=task)
    a, _ = env.reset(seed=5)
    b, _ = env.reset(seed=5)
    assert all(np.array_equal(a[key], b[key]) for key in a)


@pytest.mark.parametrize("task", list(TASKS))
@pytest.mark.parametrize("split", ["train", "test"])
def test_the_oracle_solves_every_task(task, split):
    env = gym.make(ENV_ID, task=task, split=split)
    oracle = make_baseline("oracle", env)
    for seed in range(30):
        obs, info = env.reset(seed=seed)
        done, total = False, 0.0
        while not done:
            obs, reward, terminated, truncated, info = env.step(oracle.predict(obs, info["action_mask"]))
            total, done = total + reward, terminated or truncated
        assert info["is_success"] and total == 1.0 and terminated


def test_held_out_values_never_appear_in_training_instructions():
    train, test = set(WORDS[0::2]) | set(NAMES[0::2]), set(WORDS[1::2]) | set(NAMES[1::2])
    for seed in range(40):
        for task in TASKS:
            words = set(re.findall(r"[a-z]+", make_task(task, np.random.default_rng(seed), "train").utterance))
            held = set(re.findall(r"[a-z]+", make_task(task, np.random.default_rng(seed), "test").utterance))
            assert not words & test and not held & train


def test_typing_sets_the_value_and_submit_checks_the_page():
    env = gym.make(ENV_ID, task="login-user")
    env.reset(seed=0)
    page, fields = env.unwrapped.page, dict(env.unwrapped.task.fields)
    obs, reward, terminated, *_ = act(env, "type", "username", 0)
    assert page.values[page.by_id["username"]] == fields["username"] and not terminated and reward == 0
    assert page.focused == page.by_id["username"]
    obs, reward, terminated, *_ = act(env, "type", "username", 0)  # typing again replaces, not appends
    assert page.values[page.by_id["username"]] == fields["username"]
    _, reward, terminated, _, info = act(env, "click", "submit")  # the password is missing
    assert terminated and reward == -1.0 and not info["is_success"]


def test_checkboxes_toggle_by_input_and_by_label():
    env = gym.make(ENV_ID, task="click-checkboxes")
    env.reset(seed=1)
    page = env.unwrapped.page
    box = page.by_id["c0"]
    act(env, "click", "c0")
    assert page.checked[box]
    label = page.parents[box]
    env.step(label)  # the label around it
    assert not page.checked[box]


def test_a_wrong_button_fails_click_button():
    env = gym.make(ENV_ID, task="click-button")
    for seed in range(20):
        env.reset(seed=seed)
        finish = env.unwrapped.task.goal.finish
        wrong = [i for i in env.unwrapped.page.by_id if i.startswith("b") and i != finish]
        if wrong:
            _, reward, terminated, _, info = act(env, "click", wrong[0])
            assert terminated and reward == -1.0 and not info["is_success"]
            return
    pytest.fail("no page with two buttons")


def test_timeouts_fail_and_shaping_is_potential_based():
    env = gym.make(ENV_ID, task="enter-password", shaping=True, gamma=0.9)
    env.reset(seed=2)
    word = env.unwrapped.task.fields[0][1]
    _, r1, *_ = act(env, "type", "password")
    _, r2, *_ = act(env, "type", "password")  # no progress: γΦ − Φ = (0.9 − 1)·1
    assert r1 == pytest.approx(0.9 * 1 - 0) and r2 == pytest.approx(0.9 * 1 - 1)
    assert env.unwrapped.page.values[env.unwrapped.page.by_id["password"]] == word
    for _ in range(3):  # enter-password allows 5 steps
        _, reward, terminated, truncated, info = act(env, "type", "password")
    assert truncated and not terminated and not info["is_success"] and reward == pytest.approx(0.9 - 1 - 1)


def test_bad_actions_name_the_valid_ones():
    env = gym.make(ENV_ID, task="enter-text")
    env.reset(seed=0)
    with pytest.raises(InvalidActionError, match=r"action 0 \(click\(0\)\) cannot be taken.*valid actions: "):
        env.step(0)
    with pytest.raises(InvalidActionError, match="outside the action space"):
        env.step(env.action_space.n)
    lenient = gym.make(ENV_ID, task="enter-text", invalid_action="penalty")
    lenient.reset(seed=0)
    _, reward, terminated, truncated, _ = lenient.step(0)
    assert reward == -0.1 and not terminated and not truncated
    with pytest.raises(ValueError, match="unknown task 'book-flights'; valid choices: click-button"):
        gym.make(ENV_ID, task="book-flights")
    with pytest.raises(ValueError, match="unknown backend 'firefox'; valid choices: dom"):
        gym.make(ENV_ID, backend="firefox")


def test_qweb_word_overlap_is_the_jaccard_of_the_word_sets():
    import torch

    from appliedrl.domains.web.qweb import _jaccard

    rng = np.random.default_rng(0)
    a, b = torch.as_tensor(rng.integers(0, 5, (2, 3, 4))), torch.as_tensor(rng.integers(0, 5, (2, 2, 3)))
    got = _jaccard(a, b)
    for i in range(2):
        for e in range(3):
            for f in range(2):
                left, right = set(a[i, e].tolist()) - {0}, set(b[i, f].tolist()) - {0}
                expected = len(left & right) / max(len(left | right), 1)
                assert got[i, e, f].item() == pytest.approx(expected)


def test_qweb_scores_every_composite_action_and_trains_through_the_recipe(tmp_path):
    import torch

    from appliedrl.cli import main
    from appliedrl.domains.web.qweb import QWeb

    env = gym.make(ENV_ID, task="login-user")
    obs, _ = env.reset(seed=0)
    network = QWeb(env.observation_space, env.action_space.n)
    batch = {key: torch.as_tensor(np.asarray(value))[None].float() for key, value in obs.items()}
    assert network(batch).shape == (1, env.action_space.n)
    with pytest.raises(ValueError, match="composite actions"):
        QWeb(env.observation_space, 5)
    assert main(["train", ENV_ID, "--agent", "dqn", "--env-kw", "task=click-button", "--steps", "400",
                 "--set", "learning_starts=200", "--set", "eval_episodes=5", "--set", "tensorboard=false",
                 "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    assert (tmp_path / "run" / "summary.json").is_file()
