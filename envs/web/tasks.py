"""Web tasks generated from a seed as real HTML pages, in the spirit of MiniWoB++ (same names): each task is the
page, the instruction (an utterance and its key/value fields) and what counts as done.

Instruction values (words, names) come from word lists split into a training and a held-out half
(`split="train"` or `"test"`), so a policy can be evaluated on values it never saw.
"""

from __future__ import annotations

import dataclasses
import html
from typing import Callable

import numpy as np

# the instruction vocabulary; even positions train, odd positions are held out
WORDS = ("apple", "river", "stone", "cloud", "maple", "tiger", "ocean", "pearl", "amber", "cedar", "delta", "ember",
         "frost", "grove", "harbor", "ivory", "jungle", "karma", "lemon", "meadow", "nectar", "onyx", "prism",
         "quartz", "raven", "sierra", "tundra", "umber", "violet", "willow", "xenon", "yonder", "zephyr", "atlas",
         "banjo", "comet", "dune", "echo", "fable", "glade")
NAMES = ("alice", "bruno", "carla", "dmitri", "elena", "farid", "greta", "hiro", "ines", "jonas", "kira", "luca",
         "maya", "nils", "olga", "pavel", "quinn", "rosa", "sven", "tara", "ugo", "vera", "wade", "xena", "yuri",
         "zoe")
SPLITS = ("train", "test")


@dataclasses.dataclass(frozen=True)
class Goal:
    """What the page must look like when the task ends: input values and checkbox states by element id, and the
    id of the element whose click ends the task (a submit button, or the button to click)."""

    values: dict[str, str] = dataclasses.field(default_factory=dict)
    checked: dict[str, bool] = dataclasses.field(default_factory=dict)
    finish: str = "submit"


@dataclasses.dataclass(frozen=True)
class Task:
    name: str
    html: str  # a whole page
    utterance: str
    fields: tuple[tuple[str, str], ...]  # (key, value) pairs of the instruction
    goal: Goal
    max_steps: int


def vocabulary(words: tuple[str, ...], split: str) -> tuple[str, ...]:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid choices: {', '.join(SPLITS)}")
    return words[SPLITS.index(split)::2]


def _pick(rng: np.random.Generator, choices: tuple[str, ...], count: int = 1) -> list[str]:
    return [choices[i] for i in rng.choice(len(choices), size=count, replace=False)]


def _page(body: str, title: str) -> str:
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head>"
            f"<body><div id='wrap'><div id='query'></div><div id='area'>{body}</div></div></body></html>")


def _submit(label: str = "Submit") -> str:
    return f"<button id='submit' type='button'>{label}</button>"


def click_button(rng: np.random.Generator, split: str) -> Task:
    labels = _pick(rng, vocabulary(WORDS, split), int(rng.integers(2, 7)))
    target = labels[int(rng.integers(len(labels)))]
    buttons = "".join(f"<button id='b{i}' type='button'>{html.escape(w)}</button>" for i, w in enumerate(labels))
    return Task("click-button", _page(buttons, "click-button"), f'Click on the "{target}" button.',
                (("target", target),), Goal(finish=f"b{labels.index(target)}"), max_steps=3)


def enter_text(rng: np.random.Generator, split: str) -> Task:
    word = _pick(rng, vocabulary(WORDS, split))[0]
    body = "<input id='tt' type='text'>" + _submit()
    return Task("enter-text", _page(body, "enter-text"), f'Enter "{word}" into the text field and press Submit.',
                (("text", word),), Goal(values={"tt": word}), max_steps=4)


def enter_password(rng: np.random.Generator, split: str) -> Task:
    word = _pick(rng, vocabulary(WORDS, split))[0]
    body = ("<p><label for='password'>Password</label><input id='password' type='password'></p>"
            "<p><label for='verify'>Verify password</label><input id='verify' type='password'></p>" + _submit())
    return Task("enter-password", _page(body, "enter-password"),
                f'Enter the password "{word}" into both text fields and press Submit.', (("password", word),),
                Goal(values={"password": word, "verify": word}), max_steps=5)


def login_user(rng: np.random.Generator, split: str) -> Task:
    name, word = _pick(rng, vocabulary(NAMES, split))[0], _pick(rng, vocabulary(WORDS, split))[0]
    body = ("<p><label for='username'>Username</label><input id='username' type='text'></p>"
            "<p><label for='password'>Password</label><input id='password' type='password'></p>"
            + _submit("Login"))
    return Task("login-user", _page(body, "login-user"),
                f'Enter the username "{name}" and the password "{word}" into the text fields and press login.',
                (("username", name), ("password", word)), Goal(values={"username": name, "password": word}),
                max_steps=5)


def click_checkboxes(rng: np.random.Generator, split: str) -> Task:
    labels = _pick(rng, vocabulary(WORDS, split), int(rng.integers(2, 7)))
    chosen = sorted(_pick(rng, tuple(labels), int(rng.integers(0, len(labels) + 1))), key=labels.index)
    boxes = "".join(f"<label><input id='c{i}' type='checkbox'>{html.escape(w)}</label><br>"
                    for i, w in enumerate(labels))
    wanted = ", ".join(chosen) if chosen else "nothing"
    return Task("click-checkboxes", _page(boxes + _submit(), "click-checkboxes"),
                f"Select {wanted} and click Submit.", tuple((f"target {i + 1}", w) for i, w in enumerate(chosen)),
                Goal(checked={f"c{i}": w in chosen for i, w in enumerate(labels)}), max_steps=len(labels) + 3)


TASKS: dict[str, Callable[[np.random.Generator, str], Task]] = {
    "click-button": click_button, "enter-text": enter_text, "enter-password": enter_password,
    "login-user": login_user, "click-checkboxes": click_checkboxes}


def make_task(name: str, rng: np.random.Generator, split: str = "train") -> Task:
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; valid choices: {', '.join(TASKS)}")
    return TASKS[name](rng, split)
