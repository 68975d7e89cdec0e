"""`appliedrl/WebNav-v0`: follow an instruction on a generated web page (MiniWoB++-style tasks).

The observation is MiniWoB++'s (utterance, fields, dom_elements) encoded as fixed-size integer arrays, padded
with masks (see `encode`); the action is one index of a composite space: click(element) for the first
`max_elements` indices, then focus-and-type(element, field) for every element × field. Reward +1 when the task
is done, −1 when it fails (a wrong button, a wrong page at submit) or times out (truncation); with `shaping`
the potential-based term γΦ(s′) − Φ(s) is added, Φ = the number of goal parts already met (input values,
checkbox states, the right page) and 0 once the episode has ended; set `gamma` to the agent's. `backend="dom"` runs the page in process, `backend="chromium"` in a real
browser; the same seed gives the same task on both. `warm_start=p` is the warm-start curriculum: with
probability p an episode starts after the task's scripted solver has taken a random number of its steps; with
`warm_start_growth=n` those starts begin one step before the goal and reach one step further back every n episodes
of this env (Gur et al.'s growing distance).
"""

from __future__ import annotations

import copy
import functools
import operator
import re
import zlib
from typing import Any

import gymnasium as gym
import numpy as np

from appliedrl.envs.render import text_frame
from appliedrl.envs.web.dom import DomPage, Page
from appliedrl.envs.web.tasks import MAX_ELEMENTS, SPLITS, TASKS, Response, Task, make_task

VOCAB = 8192  # token ids; 0 pads
NUMBERS = 3000  # whole numbers below this keep their value: id 1 + n; other words are hashed above them
UTTERANCE_TOKENS, FIELD_TOKENS, TEXT_TOKENS = 24, 4, 6
FLAGS = ("focused", "checked", "clickable", "typable")
FLAG_VALUES = operator.itemgetter(*FLAGS)
TAGS = ("body", "div", "p", "span", "label", "input", "button", "a", "br", "ul", "li", "table", "tr", "td", "img",
        "select", "option", "textarea", "form", "h1", "h2", "h3")  # tag ids 1..; 0 pads, len + 1 is any other
TAG_IDS = {tag: 1 + i for i, tag in enumerate(TAGS)}
BACKENDS = ("dom", "chromium")
INVALID_ACTIONS = ("raise", "penalty")
INVALID_PENALTY = -0.1


class InvalidActionError(ValueError):
    """An action outside the space, or one the mask forbids; the message names the valid choices."""


def _word_id(word: str) -> int:
    if word.isdigit() and int(word) < NUMBERS:
        return 1 + int(word)
    return 1 + NUMBERS + zlib.crc32(word.encode()) % (VOCAB - 1 - NUMBERS)


def number(token: int) -> int | None:
    """The value of a token that is a whole number, else None."""
    return token - 1 if 1 <= token <= NUMBERS else None


@functools.lru_cache(maxsize=65536)
def _word_ids(text: str) -> tuple[int, ...]:
    return tuple(_word_id(word) for word in re.findall(r"[a-z0-9]+", text.lower()))


@functools.lru_cache(maxsize=65536)
def tokens(text: str, size: int) -> np.ndarray:
    """Lower-cased words as ids, cut or padded with 0 to `size`: whole numbers below NUMBERS by value (so order
    can be read), other words hashed (crc32, the same in every process). Cached, so read-only."""
    ids = _word_ids(text)
    out = np.zeros(size, np.int64)
    out[:min(size, len(ids))] = ids[:size]
    out.flags.writeable = False
    return out


def encode(utterance: str, fields: list[tuple[str, str]], elements: list[dict[str, Any]], max_elements: int,
           max_fields: int) -> dict[str, np.ndarray]:
    """MiniWoB++'s observation schema as the env's Dict observation (the same encoder serves MiniWoB++ itself)."""
    e, f = min(len(elements), max_elements), min(len(fields), max_fields)
    obs = {"utterance": tokens(utterance, UTTERANCE_TOKENS).copy(),
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
    if e:  # one pass over the elements, then one numpy assignment per array: this runs on every step
        texts, attributes, tags, parents, flags = zip(*[(
            tokens(f"{el['text']} {el['value']}", TEXT_TOKENS),
            tokens(f"{el['id']} {el['classes']} {el['type']}", TEXT_TOKENS),
            TAG_IDS.get(el["tag"], len(TAGS) + 1),
            el["parent"] + 1,  # 0: no parent (the body)
            FLAG_VALUES(el)) for el in elements[:e]])
        obs["element_text"][:e], obs["element_attributes"][:e] = texts, attributes
        obs["element_tag"][:e], obs["element_parent"][:e], obs["element_flags"][:e] = tags, parents, flags
    obs["field_mask"], obs["element_mask"] = obs["field_mask"].astype(np.int8), obs["element_mask"].astype(np.int8)
    return obs


class ElementEnv(gym.Env):
    """What `WebNavEnv` and the MiniWoB++ adapter share: MiniWoB++'s observation encoded by `encode`, the
    composite click/type action with its masks, and the invalid-action rule. Subclasses provide
    `raw_observation()` and keep `self._mask` current with `_legal_actions()` whenever a new page loads."""

    def _spaces(self, max_elements: int, max_fields: int, invalid_action: str) -> None:
        if invalid_action not in INVALID_ACTIONS:
            raise ValueError(f"unknown invalid_action {invalid_action!r}; valid choices: {', '.join(INVALID_ACTIONS)}")
        self.max_elements, self.max_fields, self.invalid_action = max_elements, max_fields, invalid_action
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

    def raw_observation(self) -> dict[str, Any]:
        """The observation in MiniWoB++'s schema: utterance, fields, dom_elements."""
        raise NotImplementedError

    def fields(self) -> list[tuple[str, str]]:
        return self.raw_observation()["fields"]

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
        fields = self.fields()
        return f"type({ref}, {fields[field][0] if field < len(fields) else f'field {field}'})"

    def action_masks(self) -> np.ndarray:
        """Clicks on clickable elements; typing each instruction field into each typable element."""
        return self._mask.copy()

    def _legal_actions(self) -> np.ndarray:
        raw = self.raw_observation()
        mask = np.zeros(self.action_space.n, dtype=bool)
        fields = min(len(raw["fields"]), self.max_fields)
        for ref, element in enumerate(raw["dom_elements"][:self.max_elements]):
            mask[ref] = element["clickable"]
            if element["typable"]:
                start = self.max_elements + ref * self.max_fields
                mask[start:start + fields] = True
        return mask

    def _check(self, action: Any) -> int | None:
        """The action's index if the mask allows it; None (do nothing) or an error naming the valid ones if not."""
        integral = np.ndim(action) == 0 and np.issubdtype(np.asarray(action).dtype, np.integer)
        if not integral or not 0 <= int(action) < self.action_space.n:
            raise InvalidActionError(f"action {action!r} is outside the action space {self.action_space}")
        index = int(action)
        if self._mask[index]:
            return index
        if self.invalid_action == "penalty":
            return None
        allowed = ", ".join(f"{i} {self.describe(int(i))}" for i in np.flatnonzero(self._mask))
        raise InvalidActionError(f"action {index} ({self.describe(index)}) cannot be taken on this page: "
                                 f"element {self.decode(index)[1]} is not "
                                 f"{'clickable' if index < self.max_elements else 'typable, or the field does not exist'}"
                                 f"; valid actions: {allowed}")

    def _observation(self) -> dict[str, np.ndarray]:
        raw = self.raw_observation()
        return encode(raw["utterance"], raw["fields"], raw["dom_elements"], self.max_elements, self.max_fields)


class WebNavEnv(ElementEnv):
    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(self, task: str = "click-button", backend: str = "dom", split: str = "train", shaping: bool = False,
                 gamma: float = 0.99, max_elements: int | None = None, max_fields: int = 6,
                 invalid_action: str = "raise", warm_start: float = 0.0, warm_start_growth: int = 0,
                 render_mode: str | None = None) -> None:
        for name, value, valid in (("task", task, TASKS), ("backend", backend, BACKENDS), ("split", split, SPLITS)):
            if value not in valid:
                raise ValueError(f"unknown {name} {value!r}; valid choices: {', '.join(valid)}")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"unknown render_mode {render_mode!r}; valid choices: ansi, rgb_array")
        if not 0.0 <= warm_start <= 1.0:
            raise ValueError(f"warm_start is a probability, got {warm_start}")
        if warm_start_growth < 0:
            raise ValueError(f"warm_start_growth is a number of episodes (0: no growth), got {warm_start_growth}")
        self.task_name, self.backend, self.split, self.shaping, self.gamma = task, backend, split, shaping, gamma
        self.warm_start, self.warm_start_growth, self.render_mode = warm_start, warm_start_growth, render_mode
        self.episodes = 0  # reset() calls, the clock of the growing warm start
        self.page: Page | None = None
        self._ended = True  # until the first reset
        self._spaces(MAX_ELEMENTS[task] if max_elements is None else max_elements, max_fields, invalid_action)

    # --- the episode ---------------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        self.task: Task = make_task(self.task_name, self.np_random, self.split)
        if len(self.task.fields) > self.max_fields:
            raise ValueError(f"{self.task_name} has {len(self.task.fields)} fields; raise max_fields")
        if self.page is None:
            self.page = self._open(self.task.html)
        else:
            self.page.load(self.task.html)
        self._check_size()
        self.steps, self.history, self.success = 0, [], False
        self.episodes += 1
        self._mask = self._legal_actions()
        if self.warm_start and self.np_random.random() < self.warm_start:
            self._warm_start()
        self._ended = False
        return self._observation(), {"action_mask": self._mask.copy()}

    def _open(self, page: str) -> Page:
        if self.backend == "dom":
            return DomPage(page)
        from appliedrl.envs.web.chromium import ChromiumPage  # Playwright is needed only here

        return ChromiumPage(page)

    def _warm_start(self) -> None:
        """Let the scripted solver take the first k of its steps (its solution is found first on a copy of the task
        in the in-process DOM): k uniform below the solution's length, or with growth, the steps left uniform
        from 1 to one more per `warm_start_growth` episodes (at most the whole solution)."""
        from appliedrl.envs.web.oracle import OraclePolicy  # it reads this module's observations

        oracle, task, page = OraclePolicy(self), self.task, self.page
        self.task, self.page = copy.deepcopy(task), DomPage(task.html)
        length = 1
        while self._apply(oracle.act(self._observation())) is None and length < task.max_steps:
            length += 1
        self.task, self.page = task, page
        self._mask = self._legal_actions()
        if self.warm_start_growth:
            reach = min(length, 1 + (self.episodes - 1) // self.warm_start_growth)
            taken = length - int(self.np_random.integers(1, reach + 1))
        else:
            taken = int(self.np_random.integers(length))
        for _ in range(taken):
            self._apply(oracle.act(self._observation()))
        self.success = False

    def step(self, action: Any) -> tuple[dict, float, bool, bool, dict]:
        if self._ended:
            raise RuntimeError("the episode has ended; call reset() before stepping again")
        index = self._check(action)
        before = self.potential()
        verdict, reward = None, INVALID_PENALTY  # an invalid action under invalid_action="penalty" does nothing
        if index is not None:
            self.history.append(self.describe(index))
            verdict = self._apply(index)
            reward = 0.0 if verdict is None else 1.0 if verdict else -1.0
        self.steps += 1
        terminated = verdict is not None
        truncated = not terminated and self.steps >= self.task.max_steps
        if truncated:
            reward -= 1.0  # a timeout fails the task
        if self.shaping:  # Φ is 0 once the episode ends: over an episode shaping sums to −Φ(s₀) (discounted)
            reward += self.gamma * (0 if terminated or truncated else self.potential()) - before
        info: dict[str, Any] = {"action_mask": self._mask.copy()}
        if terminated or truncated:
            info["is_success"] = terminated and self.success
            self._ended = True
        return self._observation(), float(reward), terminated, truncated, info

    def _apply(self, index: int) -> bool | None:
        """Act on the page and let the site answer: a new page, or the verdict that ends the task."""
        kind, ref, field = self.decode(index)
        key = self.page.keys[ref]
        if kind == "click":
            self.page.click(ref)
            response: Response = self.task.site.on_click(key, self.page.form())
        else:
            self.page.type(ref, self.task.fields[field][1])
            response = self.task.site.on_type(key, self.page.form())
        if response.page is not None:  # the mask depends only on the page's elements, so only a new page changes it
            self.page.load(response.page)
            self._check_size()
            self._mask = self._legal_actions()
        self.success = bool(response.verdict)
        return response.verdict

    def _check_size(self) -> None:
        if len(self.page) > self.max_elements:
            raise ValueError(f"{self.task_name} made a page of {len(self.page)} elements; raise max_elements "
                             f"(now {self.max_elements})")

    def potential(self) -> int:
        """Φ: the parts of the goal the page already meets (see each task's site)."""
        return self.task.site.progress(self.page.form())

    def close(self) -> None:
        if self.page is not None:
            self.page.close()
            self.page = None

    def fields(self) -> list[tuple[str, str]]:
        return list(self.task.fields)

    def raw_observation(self) -> dict[str, Any]:
        return {"utterance": self.task.utterance, "fields": list(self.task.fields),
                "dom_elements": self.page.elements()}

    def render(self) -> str | np.ndarray | None:
        """ansi: the instruction, the page's actionable elements with their state, the actions so far;
        rgb_array: a screenshot on the chromium backend, the same text drawn as an image on the dom backend."""
        if self.render_mode is None:
            return None
        if self.render_mode == "rgb_array" and self.backend == "chromium":
            return self.page.screenshot()
        lines = [f"[{self.task_name}] {self.task.utterance}"]
        for element in self.page.elements():
            if element["clickable"] or element["typable"]:
                state = f" value={element['value']!r}" if element["typable"] else (
                    " [x]" if element["checked"] else "")
                lines.append(f"  {element['ref']:>3} <{element['tag']} id={element['id']!r}> {element['text']}{state}")
        lines.append("  actions: " + (", ".join(self.history) or "none"))
        return "\n".join(lines) + "\n" if self.render_mode == "ansi" else text_frame(lines)
