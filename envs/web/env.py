"""`appliedrl/WebNav-v0`: follow an instruction on a generated web page (MiniWoB++-style tasks).

The observation is MiniWoB++'s (utterance, fields, dom_elements) encoded as fixed-size integer arrays, padded
with masks (see `encode`); the action is one index of a composite space: click(element) for the first
`max_elements` indices, then focus-and-type(element, field) for every element × field. Reward +1 when the task
is done, −1 when it fails (a wrong button, a wrong page at submit) or times out (truncation); with `shaping`
the potential-based term γΦ(s′) − Φ(s) is added, Φ = the number of goal items (input values, checkbox states)
already met.
"""

from __future__ import annotations

import functools
import re
import zlib
from typing import Any

import gymnasium as gym
import numpy as np

from appliedrl.envs.web.dom import DomPage
from appliedrl.envs.render import text_frame
from appliedrl.envs.web.tasks import SPLITS, TASKS, Task, make_task

VOCAB = 4096  # hashed token ids; 0 pads
UTTERANCE_TOKENS, FIELD_TOKENS, TEXT_TOKENS = 24, 4, 6
FLAGS = ("focused", "checked", "clickable", "typable")
TAGS = ("body", "div", "p", "span", "label", "input", "button", "a", "br", "ul", "li", "table", "tr", "td", "img",
        "select", "option", "textarea", "form", "h1", "h2", "h3")  # tag ids 1..; 0 pads, len + 1 is any other
BACKENDS = ("dom",)
INVALID_ACTIONS = ("raise", "penalty")
INVALID_PENALTY = -0.1


class InvalidActionError(ValueError):
    """An action outside the space, or one the mask forbids; the message names the valid choices."""


@functools.lru_cache(maxsize=65536)
def _word_ids(text: str) -> tuple[int, ...]:
    return tuple(1 + zlib.crc32(word.encode()) % (VOCAB - 1) for word in re.findall(r"[a-z0-9]+", text.lower()))


def tokens(text: str, size: int) -> np.ndarray:
    """Lower-cased words as hashed ids (crc32, the same in every process), cut or padded with 0 to `size`."""
    ids = _word_ids(text)
    out = np.zeros(size, np.int64)
    out[:min(size, len(ids))] = ids[:size]
    return out


def encode(utterance: str, fields: list[tuple[str, str]], elements: list[dict[str, Any]], max_elements: int,
           max_fields: int) -> dict[str, np.ndarray]:
    """MiniWoB++'s observation schema as the env's Dict observation (the same encoder serves MiniWoB++ itself)."""
    e, f = min(len(elements), max_elements), min(len(fields), max_fields)
    obs = {"utterance": tokens(utterance, UTTERANCE_TOKENS),
           "field_keys": np.zeros((max_fields, FIELD_TOKENS), np.int64),
           "field_values": np.zeros((max_fields, FIELD_TOKENS), np.int64),
           "field_mask": np.arange(max_fields) < f,
           "element_text": np.zeros((max_elements, TEXT_TOKENS), np.int64),
           "element_attributes": np.zeros((max_elements, TEXT_TOKENS), np.int64),
           "element_tag": np.zeros(max_elements, np.int64),
           "element_parent": np.zeros(max_elements, np.int64),
           "element_flags": np.zeros((max_elements, len(FLAGS)), np.int8),
           "element_mask": np.arange(max_elements) < e}
    for i, (key, value) in enumerate(fields[:f]):
        obs["field_keys"][i], obs["field_values"][i] = tokens(key, FIELD_TOKENS), tokens(value, FIELD_TOKENS)
    for i, element in enumerate(elements[:e]):
        obs["element_text"][i] = tokens(f"{element['text']} {element['value']}", TEXT_TOKENS)
        obs["element_attributes"][i] = tokens(f"{element['id']} {element['classes']} {element['type']}", TEXT_TOKENS)
        tag = element["tag"]
        obs["element_tag"][i] = 1 + TAGS.index(tag) if tag in TAGS else len(TAGS) + 1
        obs["element_parent"][i] = element["parent"] + 1  # 0: no parent (the body)
        obs["element_flags"][i] = [element[flag] for flag in FLAGS]
    obs["field_mask"], obs["element_mask"] = obs["field_mask"].astype(np.int8), obs["element_mask"].astype(np.int8)
    return obs


class WebNavEnv(gym.Env):
    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(self, task: str = "click-button", backend: str = "dom", split: str = "train", shaping: bool = False,
                 gamma: float = 0.99, max_elements: int = 32, max_fields: int = 6, invalid_action: str = "raise",
                 render_mode: str | None = None) -> None:
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; valid choices: {', '.join(TASKS)}")
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; valid choices: {', '.join(BACKENDS)}")
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; valid choices: {', '.join(SPLITS)}")
        if invalid_action not in INVALID_ACTIONS:
            raise ValueError(f"unknown invalid_action {invalid_action!r}; valid choices: {', '.join(INVALID_ACTIONS)}")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"unknown render_mode {render_mode!r}; valid choices: ansi, rgb_array")
        self.task_name, self.split, self.shaping, self.gamma = task, split, shaping, gamma
        self.max_elements, self.max_fields, self.invalid_action = max_elements, max_fields, invalid_action
        self.render_mode = render_mode
        e, f = max_elements, max_fields
        self.observation_space = gym.spaces.Dict({
            "utterance": gym.spaces.Box(0, VOCAB - 1, (UTTERANCE_TOKENS,), np.int64),
            "field_keys": gym.spaces.Box(0, VOCAB - 1, (f, FIELD_TOKENS), np.int64),
            "field_values": gym.spaces.Box(0, VOCAB - 1, (f, FIELD_TOKENS), np.int64),
            "field_mask": gym.spaces.MultiBinary(f),
            "element_text": gym.spaces.Box(0, VOCAB - 1, (e, TEXT_TOKENS), np.int64),
            "element_attributes": gym.spaces.Box(0, VOCAB - 1, (e, TEXT_TOKENS), np.int64),
            "element_tag": gym.spaces.Box(0, len(TAGS) + 1, (e,), np.int64),
            "element_parent": gym.spaces.Box(0, e, (e,), np.int64),
            "element_flags": gym.spaces.MultiBinary((e, len(FLAGS))),
            "element_mask": gym.spaces.MultiBinary(e)})
        self.action_space = gym.spaces.Discrete(e + e * f)

    # --- the episode ---------------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        self.task: Task = make_task(self.task_name, self.np_random, self.split)
        self.page = DomPage(self.task.html)
        if len(self.page.nodes) > self.max_elements or len(self.task.fields) > self.max_fields:
            raise ValueError(f"{self.task_name} made a page of {len(self.page.nodes)} elements and "
                             f"{len(self.task.fields)} fields; raise max_elements / max_fields")
        self.steps, self.history, self.success = 0, [], False
        self._mask = self._legal_actions()
        return self._observation(), {"action_mask": self._mask}

    def step(self, action: Any) -> tuple[dict, float, bool, bool, dict]:
        index = self._check(action)
        if index is None:  # an invalid action under invalid_action="penalty": nothing happens
            return self._finish(INVALID_PENALTY, False)
        before = self.potential()
        kind, ref, field = self.decode(index)
        self.history.append(self.describe(index))
        terminated, reward = False, 0.0
        if kind == "click":
            self.page.click(ref)
            if self.page.is_button(ref):
                terminated, reward = True, 1.0 if self.done_by(ref) else -1.0
        else:
            self.page.type(ref, self.task.fields[field][1])
        if self.shaping:
            reward += self.gamma * self.potential() - before
        return self._finish(reward, terminated)

    def _finish(self, reward: float, terminated: bool) -> tuple[dict, float, bool, bool, dict]:
        self.steps += 1
        truncated = not terminated and self.steps >= self.task.max_steps
        if truncated:
            reward -= 1.0  # a timeout fails the task
        self._mask = self._legal_actions()
        info: dict[str, Any] = {"action_mask": self._mask}
        if terminated or truncated:
            info["is_success"] = terminated and reward > 0 and self.success
        return self._observation(), float(reward), terminated, truncated, info

    def done_by(self, ref: int) -> bool:
        """Whether clicking `ref` finishes the task: it is the finishing button and the page matches the goal."""
        self.success = self.page.nodes[ref].get("id") == self.task.goal.finish and self.potential() == self.goal_size
        return self.success

    @property
    def goal_size(self) -> int:
        return len(self.task.goal.values) + len(self.task.goal.checked)

    def potential(self) -> int:
        """Φ: the goal's input values and checkbox states the page already has."""
        page, goal = self.page, self.task.goal
        return (sum(page.values[page.by_id[i]] == v for i, v in goal.values.items())
                + sum(page.checked[page.by_id[i]] == c for i, c in goal.checked.items()))

    # --- actions -------------------------------------------------------------------------------------------
    def decode(self, index: int) -> tuple[str, int, int | None]:
        """("click", element, None) or ("type", element, field) of a composite action index."""
        if index < self.max_elements:
            return "click", index, None
        ref, field = divmod(index - self.max_elements, self.max_fields)
        return "type", ref, field

    def describe(self, index: int) -> str:
        kind, ref, field = self.decode(index)
        if kind == "click":
            return f"click({ref})"
        key = self.task.fields[field][0] if field < len(self.task.fields) else f"field {field}"
        return f"type({ref}, {key})"

    def action_masks(self) -> np.ndarray:
        """Clicks on clickable elements; typing each instruction field into each typable element."""
        return self._mask.copy()

    def _legal_actions(self) -> np.ndarray:
        mask = np.zeros(self.action_space.n, dtype=bool)
        for ref in range(len(self.page.nodes)):
            mask[ref] = self.page.clickable(ref)
            if self.page.typable(ref):
                start = self.max_elements + ref * self.max_fields
                mask[start:start + len(self.task.fields)] = True
        return mask

    def _check(self, action: Any) -> int | None:
        integral = np.ndim(action) == 0 and np.issubdtype(np.asarray(action).dtype, np.integer)
        if not integral or not 0 <= int(action) < self.action_space.n:
            raise InvalidActionError(f"action {action!r} is outside the action space {self.action_space}")
        index = int(action)
        mask = self._mask
        if mask[index]:
            return index
        if self.invalid_action == "penalty":
            return None
        allowed = ", ".join(f"{i} {self.describe(int(i))}" for i in np.flatnonzero(mask))
        raise InvalidActionError(f"action {index} ({self.describe(index)}) cannot be taken on this page: "
                                 f"element {self.decode(index)[1]} is not "
                                 f"{'clickable' if index < self.max_elements else 'typable, or the field does not exist'}"
                                 f"; valid actions: {allowed}")

    # --- observation ---------------------------------------------------------------------------------------
    def raw_observation(self) -> dict[str, Any]:
        """The observation in MiniWoB++'s schema: utterance, fields, dom_elements."""
        return {"utterance": self.task.utterance, "fields": list(self.task.fields),
                "dom_elements": self.page.elements()}

    def _observation(self) -> dict[str, np.ndarray]:
        raw = self.raw_observation()
        return encode(raw["utterance"], raw["fields"], raw["dom_elements"], self.max_elements, self.max_fields)

    def render(self) -> str | np.ndarray | None:
        """ansi: the instruction, the page's actionable elements with their state, the actions so far;
        rgb_array: the same text drawn as an image (the chromium backend will return a screenshot)."""
        if self.render_mode is None:
            return None
        lines = [f"[{self.task_name}] {self.task.utterance}"]
        for element in self.page.elements():
            if element["clickable"] or element["typable"]:
                state = f" value={element['value']!r}" if element["typable"] else (
                    " [x]" if element["checked"] else "")
                lines.append(f"  {element['ref']:>3} <{element['tag']} id={element['id']!r}> {element['text']}{state}")
        lines.append("  actions: " + (", ".join(self.history) or "none"))
        return "\n".join(lines) + "\n" if self.render_mode == "ansi" else text_frame(lines)
