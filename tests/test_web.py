"""The web navigation env: tasks are deterministic per seed, the oracle solves them, actions do what they say
(typing, checkboxes, pagination, suggestions, page flows), the reward and shaping are right, held-out values are
held out, bad actions are named; the Chromium backend shows the same observations as the in-process DOM."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest

import appliedrl  # noqa: F401
from appliedrl.domains import make_baseline
from appliedrl.envs.web import TASKS, InvalidActionError, make_task
from appliedrl.envs.web.env import number, tokens
from appliedrl.envs.web.tasks import AIRPORTS, NAMES, WORDS

ENV_ID = "appliedrl/WebNav-v0"


def act(env, kind: str, key: str, field: int = 0) -> tuple:
    """Click or type into the element with this key (its data-key, else its HTML id)."""
    inner = env.unwrapped
    ref = inner.page.keys.index(key)
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


def test_held_out_values_never_appear_in_training_instructions_or_pages():
    def words(names: tuple[str, ...]) -> set[str]:  # two letters: states, which also spell "id" or "2nd"
        return {w for w in re.findall(r"[a-z]+", " ".join(names).lower()) if len(w) > 2}

    train = words(WORDS[0::2] + NAMES[0::2] + AIRPORTS[0::2])
    test = words(WORDS[1::2] + NAMES[1::2] + AIRPORTS[1::2])
    for seed in range(40):
        for task in TASKS:
            made = {split: make_task(task, np.random.default_rng(seed), split) for split in ("train", "test")}
            seen = {split: set(re.findall(r"[a-z]+", (t.utterance + t.html).lower())) for split, t in made.items()}
            assert not seen["train"] & (test - train) and not seen["test"] & (train - test)


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
        finish = env.unwrapped.task.site.finish
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
    assert truncated and not terminated and not info["is_success"]
    assert reward == pytest.approx(0 - 1 - 1)  # the timeout, and Φ drops to 0 as the episode ends


def test_bad_actions_name_the_valid_ones():
    env = gym.make(ENV_ID, task="enter-text")
    _, info = env.reset(seed=0)
    info["action_mask"][:] = True  # the caller's copy
    assert not env.unwrapped.action_masks()[0]
    with pytest.raises(InvalidActionError, match=r"action 0 \(click\(0\)\) cannot be taken.*valid actions: "):
        env.step(0)
    with pytest.raises(InvalidActionError, match="outside the action space"):
        env.step(env.action_space.n)
    lenient = gym.make(ENV_ID, task="enter-text", invalid_action="penalty")
    lenient.reset(seed=0)
    _, reward, terminated, truncated, _ = lenient.step(0)
    assert reward == -0.1 and not terminated and not truncated
    act(env, "type", "tt")
    act(env, "click", "submit")
    with pytest.raises(RuntimeError, match="the episode has ended; call reset"):
        act(env, "click", "submit")
    with pytest.raises(ValueError, match="unknown task 'book-flights'; valid choices: click-button"):
        gym.make(ENV_ID, task="book-flights")
    with pytest.raises(ValueError, match="unknown backend 'firefox'; valid choices: dom, chromium"):
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


def keys(env, prefix: str) -> list[str]:
    return [k for k in env.unwrapped.page.keys if k.startswith(prefix)]


def texts(env, css: str) -> list[str]:
    return [e["text"] for e in env.unwrapped.page.elements() if css in e["classes"].split()]


def test_search_engine_pages_through_the_results_and_judges_query_and_rank():
    env = gym.make(ENV_ID, task="search-engine", shaping=True, gamma=1.0)
    env.reset(seed=4)
    site = env.unwrapped.task.site
    assert not keys(env, "result-") and env.unwrapped.potential() == 0
    _, reward, *_ = act(env, "type", "search-text", 0)
    assert reward == 1.0  # Φ: the query is in the box
    act(env, "click", "search")
    assert keys(env, "result-") == ["result-0", "result-1", "result-2"] and texts(env, "current") == ["1"]
    assert texts(env, "result-title") == [title for title, _ in site.results[:3]]
    act(env, "click", "page-3")
    assert keys(env, "result-") == ["result-6", "result-7", "result-8"] and texts(env, "current") == ["3"]
    assert keys(env, "page-") == ["page-1", "page-2"]
    target = f"result-{site.rank - 1}"
    act(env, "click", f"page-{(site.rank - 1) // 3 + 1}") if target not in keys(env, "result-") else None
    assert env.unwrapped.potential() == 3
    _, reward, terminated, _, info = act(env, "click", target)
    assert terminated and info["is_success"] and reward == pytest.approx(1.0 - 3)  # +1, and Φ falls to 0

    env.reset(seed=4)
    site = env.unwrapped.task.site
    act(env, "type", "search-text", 1)  # the rank typed as the query
    act(env, "click", "search")
    act(env, "click", f"page-{(site.rank - 1) // 3 + 1}") if (site.rank - 1) // 3 else None
    _, reward, terminated, _, info = act(env, "click", f"result-{site.rank - 1}")
    assert terminated and not info["is_success"] and reward == -1.0


def test_book_flight_suggests_airports_and_books_the_flight_that_meets_the_criterion():
    env = gym.make(ENV_ID, task="book-flight")
    env.reset(seed=7)
    site, fields = env.unwrapped.task.site, dict(env.unwrapped.task.fields)
    origin, destination, day = site.route
    _, _, terminated, *_ = act(env, "click", "search")  # no airports chosen: the form stays
    assert not terminated and not keys(env, "book-")
    act(env, "type", "flight-from", 0)
    suggestions = texts(env, "suggestion")
    assert origin in suggestions and all(fields["from"].lower() in s.lower() for s in suggestions)
    page = env.unwrapped.page
    assert page.values[page.by_id["flight-from"]] == fields["from"]
    act(env, "click", f"pick-{AIRPORTS.index(origin)}")
    page = env.unwrapped.page
    assert page.values[page.by_id["flight-from"]] == origin and not texts(env, "suggestion")
    act(env, "type", "flight-to", 1)
    act(env, "click", f"pick-{AIRPORTS.index(destination)}")
    act(env, "type", "datepicker", 2)
    page = env.unwrapped.page
    assert [page.values[page.by_id[i]] for i in ("flight-from", "flight-to", "datepicker")] == [origin, destination,
                                                                                                 day]
    act(env, "click", "search")
    assert len(keys(env, "book-")) == len(site.flights) and 60 <= len(env.unwrapped.page) <= 96
    column = 2 if fields["criterion"] == "cheapest" else 1
    best = min(range(len(site.flights)), key=lambda i: site.flights[i][column])
    wrong = next(i for i in range(len(site.flights)) if i != best)
    assert texts(env, "duration")[best] == f"Duration: {site.flights[best][1]} min"
    _, _, _, _, info = act(env, "click", f"book-{best}")
    assert info["is_success"]
    env.reset(seed=7)
    for step in (("type", "flight-from", 0), ("click", f"pick-{AIRPORTS.index(origin)}"),
                 ("type", "flight-to", 1), ("click", f"pick-{AIRPORTS.index(destination)}"),
                 ("type", "datepicker", 2), ("click", "search")):
        act(env, *step)
    _, reward, terminated, _, info = act(env, "click", f"book-{wrong}")
    assert terminated and not info["is_success"] and reward == -1.0


def test_email_inbox_opens_goes_back_and_judges_the_action():
    for seed in range(40):
        env = gym.make(ENV_ID, task="email-inbox")
        env.reset(seed=seed)
        site = env.unwrapped.task.site
        if site.action != "forward":
            continue
        other = next(i for i in range(len(site.emails)) if i != site.target)
        act(env, "click", f"open-{other}")
        assert texts(env, "email-sender") == [site.emails[other][0]] and env.unwrapped.potential() == 0
        act(env, "click", "back")
        assert len(keys(env, "open-")) == len(site.emails)
        act(env, "click", f"open-{site.target}")
        act(env, "click", "forward")
        assert env.unwrapped.potential() == 2
        act(env, "type", "forward-text", 2)
        _, reward, terminated, _, info = act(env, "click", "send")
        assert terminated and info["is_success"] and reward == 1.0
        env.reset(seed=seed)
        act(env, "click", f"open-{other}")
        _, reward, terminated, _, info = act(env, "click", "delete")
        assert terminated and not info["is_success"]
        return
    pytest.fail("no forward task in 40 seeds")


def test_social_media_needs_the_right_button_of_the_right_post():
    env = gym.make(ENV_ID, task="social-media")
    env.reset(seed=3)
    post, button = env.unwrapped.task.site.target.split("-")[1:]
    fields = dict(env.unwrapped.task.fields)
    assert texts(env, "username")[int(post)] == f"@{fields['user']}" and button == fields["button"]
    other = "like" if button != "like" else "share"
    _, reward, terminated, _, info = act(env, "click", f"post-{post}-{other}")
    assert terminated and not info["is_success"] and reward == -1.0


def test_whole_numbers_keep_their_value_and_words_hash_above_them():
    ids = tokens("Book flight for $452 on 03/07/2016", 8)
    assert [number(int(t)) for t in ids] == [None, None, None, 452, None, 3, 7, 2016]
    assert all(t > 3000 for t, n in zip(ids, map(number, ids)) if n is None and t)


def test_warm_start_begins_partway_along_the_solution_and_is_deterministic():
    env = gym.make(ENV_ID, task="book-flight", warm_start=1.0)
    oracle = make_baseline("oracle", env)
    starts = []
    for seed in range(12):
        obs, info = env.reset(seed=seed)
        again, _ = env.reset(seed=seed)
        assert all(np.array_equal(obs[k], again[k]) for k in obs)
        inner = env.unwrapped
        starts.append(inner.task.site.progress(inner.page.form()) + 4 * (inner.task.site.view == "results"))
        assert inner.steps == 0 and inner.history == []
        done, length = False, 0
        while not done:
            obs, reward, terminated, truncated, info = env.step(oracle.predict(obs, info["action_mask"]))
            done, length = terminated or truncated, length + 1
        assert info["is_success"] and length <= 7
    assert min(starts) == 0 and max(starts) >= 4  # some at the start, some past the search
    with pytest.raises(ValueError, match="warm_start is a probability"):
        gym.make(ENV_ID, warm_start=2)


def test_a_growing_warm_start_begins_one_step_before_the_goal_and_reaches_back_every_n_episodes():
    env = gym.make(ENV_ID, task="book-flight", warm_start=1.0, warm_start_growth=3)
    oracle = make_baseline("oracle", env)
    left = []
    for episode in range(30):
        obs, info = env.reset(seed=episode)
        done, length = False, 0
        while not done:
            obs, reward, terminated, truncated, info = env.step(oracle.predict(obs, info["action_mask"]))
            done, length = terminated or truncated, length + 1
        assert info["is_success"] and length <= min(7, 1 + episode // 3)
        left.append(length)
    assert left[:3] == [1, 1, 1] and max(left) == 7  # book-flight's solution takes 7 steps
    with pytest.raises(ValueError, match="warm_start_growth is a number of episodes"):
        gym.make(ENV_ID, warm_start_growth=-1)


# --- the Chromium backend ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chromium():
    from appliedrl.envs.web.chromium import chromium_executable

    try:
        import playwright  # noqa: F401

        chromium_executable()
    except (ImportError, RuntimeError) as error:
        pytest.skip(f"no browser for the chromium backend ({error}); apt-get install chromium")


@pytest.mark.parametrize("task", list(TASKS))
def test_chromium_shows_the_same_observations_as_the_dom(chromium, task):
    oracle_env = gym.make(ENV_ID, task=task)
    oracle = make_baseline("oracle", oracle_env)
    browser = gym.make(ENV_ID, task=task, backend="chromium")
    try:
        for seed in (0, 1):
            seen = [oracle_env.reset(seed=seed), browser.reset(seed=seed)]
            done = False
            while not done:
                (dom_obs, _), (web_obs, info) = seen[:2]
                assert all(np.array_equal(dom_obs[k], web_obs[k]) for k in dom_obs)
                assert oracle_env.unwrapped.page.elements() == browser.unwrapped.page.elements()
                action = oracle.predict(web_obs, info["action_mask"])
                a, b = oracle_env.step(action), browser.step(action)
                assert a[1:4] == b[1:4]
                seen, done = [(a[0], a[4]), (b[0], b[4])], b[2] or b[3]
            assert b[4]["is_success"]
    finally:
        browser.close()


def test_chromium_matches_the_dom_under_random_legal_actions(chromium):
    """Labels, wrong buttons, links and focus, which the oracle's episodes never exercise."""
    rng = np.random.default_rng(0)
    for task in ("click-checkboxes", "enter-password", "email-inbox", "book-flight"):
        dom, browser = gym.make(ENV_ID, task=task), gym.make(ENV_ID, task=task, backend="chromium")
        try:
            for seed in range(3):
                (a, info), (b, _) = dom.reset(seed=seed), browser.reset(seed=seed)
                done = False
                while not done:
                    assert dom.unwrapped.page.elements() == browser.unwrapped.page.elements()
                    assert all(np.array_equal(a[k], b[k]) for k in a)
                    action = rng.choice(np.flatnonzero(info["action_mask"]))
                    (a, *dom_step, info), (b, *browser_step, _) = dom.step(action), browser.step(action)
                    assert dom_step == browser_step
                    done = dom_step[1] or dom_step[2]
        finally:
            browser.close()


def test_chromium_renders_a_screenshot_and_fails_clearly_without_a_browser(chromium, monkeypatch):
    from appliedrl.envs.web import chromium as backend

    env = gym.make(ENV_ID, task="login-user", backend="chromium", render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    env.close()
    assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8 and frame.std() > 0
    monkeypatch.setattr(backend, "_browser", None)
    monkeypatch.setenv("APPLIEDRL_CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(RuntimeError, match=r"could not start .*apt-get install chromium"):
        gym.make(ENV_ID, backend="chromium").reset(seed=0)
    monkeypatch.setattr(backend, "shutil", type("NoWhich", (), {"which": staticmethod(lambda name: None)}))
    monkeypatch.delenv("APPLIEDRL_CHROMIUM")
    with pytest.raises(RuntimeError, match="found no Chromium executable; install Chromium"):
        gym.make(ENV_ID, backend="chromium").reset(seed=0)


def test_the_picture_is_each_method_s_page_and_actions():
    from appliedrl.domains.web import DOMAIN

    setting = next(s for s in DOMAIN.settings if s.name == "login-user")
    env = gym.make(ENV_ID, render_mode="ansi", **setting.evaluation_kwargs)
    policies = {name: make_baseline(name, env) for name in ("oracle", "random")}
    figure = DOMAIN.picture(setting, policies, 3)
    for ax, (name, policy) in zip(figure.axes, policies.items()):
        if hasattr(policy, "seed_actions"):
            policy.seed_actions(3)
        obs, info = env.reset(seed=3)
        done, steps = False, 0
        while not done:
            obs, _, terminated, truncated, info = env.step(policy.predict(obs, info["action_mask"]))
            done, steps = terminated or truncated, steps + 1
        assert " ".join(text.get_text() for text in ax.texts).split() == env.render().split()
        assert ax.get_title() == f"{name}: {'success' if info['is_success'] else 'failure'} in {steps} steps"
    assert figure.axes[0].get_title().startswith("oracle: success")


def test_the_random_baseline_takes_legal_actions_on_dict_observations():
    env = gym.make(ENV_ID, task="email-inbox")
    random_policy = make_baseline("random", env)
    obs, info = env.reset(seed=0)
    for _ in range(20):
        assert info["action_mask"][random_policy.predict(obs, info["action_mask"])]
    batch = {key: np.stack([value, value]) for key, value in obs.items()}
    assert random_policy.predict(batch, np.stack([info["action_mask"]] * 2)).shape == (2,)
    with pytest.raises(ValueError, match="expected a dict observation"):
        random_policy.predict(obs["utterance"])


# --- the MiniWoB++ adapter -----------------------------------------------------------------------------------------
def test_miniwob_elements_map_to_our_schema():
    from appliedrl.envs.web.miniwob import convert

    def element(ref, parent, tag, text="", value="", id_="", flags=(0, 0, 0, 0)):
        return {"ref": ref, "parent": parent, "tag": tag, "text": text, "value": value, "id": id_, "classes": "c",
                "flags": np.array(flags, np.int8)}

    raw = [element(1, 0, "body"), element(2, 1, "label"), element(3, 2, "input_checkbox", value=True),
           element(4, 2, "t", " amber  "), element(5, 1, "input_text", value="hi", id_="name", flags=(1, 0, 0, 1)),
           element(6, 1, "span", "note", flags=(0, 0, 0, 1)), element(7, 1, "div")]
    got = convert(raw)
    assert [e["tag"] for e in got] == ["body", "label", "input", "input", "span", "div"]
    assert [e["parent"] for e in got] == [-1, 0, 1, 0, 0, 0] and [e["source"] for e in got] == [1, 2, 3, 5, 6, 7]
    assert got[1]["text"] == "amber" and got[2]["type"] == "checkbox" and got[2]["checked"] and got[2]["value"] == ""
    assert got[3]["typable"] and got[3]["focused"] and got[3]["value"] == "hi" and got[3]["type"] == "text"
    assert [e["clickable"] for e in got] == [False, True, True, True, True, False]  # the span: a leaf


@pytest.fixture(scope="module")
def miniwob():
    spec = appliedrl.envs.env_specs()["appliedrl/MiniWoB-v0"]
    if spec.missing():
        pytest.skip(f"MiniWoB++ needs {', '.join(spec.missing())}: pip install miniwob selenium; "
                    "apt-get install chromium-driver")


@pytest.mark.parametrize("task", ["click-button", "enter-password", "login-user", "click-checkboxes"])
def test_the_oracle_solves_miniwob_s_own_form_tasks(miniwob, task):
    env = gym.make("appliedrl/MiniWoB-v0", task=task)
    oracle = make_baseline("oracle", env)
    try:
        for seed in range(3):
            obs, info = env.reset(seed=seed)
            done = False
            while not done:
                obs, reward, terminated, truncated, info = env.step(oracle.predict(obs, info["action_mask"]))
                done = terminated or truncated
            assert info["is_success"] and reward == 1.0
    finally:
        env.close()


def test_miniwob_without_its_package_says_what_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "miniwob", None)  # import miniwob now fails
    with pytest.raises(RuntimeError, match="needs MiniWoB.*pip install miniwob selenium"):
        gym.make("appliedrl/MiniWoB-v0")


def test_qweb_does_not_see_which_untrained_words_the_instruction_values_are():
    """Renaming a never-trained value word (embedding 0, as a held-out one) wherever it appears leaves every
    Q-value unchanged, with every other word's embedding trained (random here): held-out names and words then
    look like training ones."""
    import torch

    from appliedrl.domains.web.qweb import QWeb
    from appliedrl.envs.web.env import VOCAB

    env = gym.make(ENV_ID, task="login-user")
    obs, _ = env.reset(seed=0)
    env.step(env.unwrapped.max_elements + env.unwrapped.page.by_id["username"] * env.unwrapped.max_fields)
    obs = env.unwrapped._observation()  # the username now fills its input: the name is on the page too
    torch.manual_seed(0)
    network = QWeb(env.observation_space, env.action_space.n)
    torch.nn.init.normal_(network.words.weight)
    batch = {key: torch.as_tensor(np.asarray(value))[None].float() for key, value in obs.items()}
    name, other = int(batch["field_values"][0, 0, 0]), VOCAB - 7  # another word, never seen on this page
    with torch.no_grad():
        network.words.weight[[name, other]] = 0.0
    assert (batch["element_text"] == name).any()
    renamed = {key: value.clone() for key, value in batch.items()}
    for key in ("field_values", "element_text"):
        renamed[key][renamed[key] == name] = other
    with torch.no_grad():
        assert torch.allclose(network(batch), network(renamed), atol=1e-6)
        renamed["field_values"][0, 0, 0] = VOCAB - 9  # the instruction changes, the page does not: it must notice
        assert not torch.allclose(network(batch), network(renamed), atol=1e-6)


def test_qweb_reads_a_closed_set_value_the_page_never_shows():
    """book-flight's criterion (cheapest or shortest) is a value word found nowhere on the page: once its words
    are trained, flipping it changes the Q-values (with the value slot alone it could not)."""
    import torch

    from appliedrl.domains.web.qweb import QWeb
    from appliedrl.envs.web.env import FIELD_TOKENS

    env = gym.make(ENV_ID, task="book-flight")
    obs, _ = env.reset(seed=0)
    torch.manual_seed(0)
    network = QWeb(env.observation_space, env.action_space.n)
    torch.nn.init.normal_(network.words.weight)
    batch = {key: torch.as_tensor(np.asarray(value))[None].float() for key, value in obs.items()}
    criterion = [key for key, _ in env.unwrapped.fields()].index("criterion")
    flipped = {key: value.clone() for key, value in batch.items()}
    current = env.unwrapped.fields()[criterion][1]
    flipped["field_values"][0, criterion] = torch.tensor(
        tokens("shortest" if current == "cheapest" else "cheapest", FIELD_TOKENS))
    with torch.no_grad():
        assert not torch.allclose(network(batch), network(flipped), atol=1e-4)


def test_qweb_marks_the_cheapest_and_the_shortest_flight():
    """The rank features single out, among the results, the booking button of the cheapest flight and the
    duration of the shortest (the elements whose words differ only in their numbers form a group)."""
    import torch

    from appliedrl.domains.web.qweb import _extremes

    env = gym.make(ENV_ID, task="book-flight")
    oracle = make_baseline("oracle", env)
    obs, _ = env.reset(seed=4)
    site = env.unwrapped.task.site
    while site.view != "results":
        obs = env.step(int(oracle.predict(obs)))[0]
    elements = env.unwrapped.raw_observation()["dom_elements"]
    marks = _extremes(torch.as_tensor(obs["element_text"])[None])[0]
    smallest = [i for i in range(len(elements)) if marks[i, 0]]
    books = [i for i, el in enumerate(elements) if "book" in el["classes"].split()]
    durations = [i for i, el in enumerate(elements) if "duration" in el["classes"].split()]
    prices = [flight[2] for flight in site.flights]
    minutes = [flight[1] for flight in site.flights]
    assert books[prices.index(min(prices))] in smallest
    assert durations[minutes.index(min(minutes))] in smallest
    assert sum(i in smallest for i in books) == sum(i in smallest for i in durations) == 1
    largest = [i for i in range(len(elements)) if marks[i, 1]]
    assert books[prices.index(max(prices))] in largest
