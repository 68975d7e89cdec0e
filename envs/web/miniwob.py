"""`appliedrl/MiniWoB-v0`: MiniWoB++ itself (the `miniwob` package: its task pages in Chrome through Selenium and
the system chromedriver) behind WebNavEnv's observation encoding and composite actions, so a policy trained here
runs there unchanged (where MiniWoB++ names things as we do).

MiniWoB++'s elements are mapped to our schema: `input_text` → tag `input`, type `text` (and so on); text nodes
join their parent's text; refs become positions in document order. Clickable: buttons, links, labels, checkboxes and radios, and every leaf element
(MiniWoB++ pages handle clicks on spans and divs with scripts); typable: text, password and textarea inputs.
The reward is MiniWoB++'s raw reward (+1 success, −1 failure; no time discount) and `is_success` is raw reward 1.
Needs `pip install miniwob selenium` and Chromium's driver (Debian: `apt-get install chromium-driver`).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from appliedrl.envs.web.dom import CLICKABLE_TAGS, TYPABLE_TYPES
from appliedrl.envs.web.env import INVALID_PENALTY, ElementEnv

INSTALL_HINT = "pip install miniwob selenium, and install Chromium's driver (Debian: apt-get install chromium-driver)"
FOCUSED, LEAF = 0, 3  # MiniWoB++'s flags: focused, tampered, targeted, is_leaf


def convert(elements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """MiniWoB++'s dom_elements in the schema of envs/web/dom.py (plus `source`, MiniWoB++'s ref). MiniWoB++ lists
    text nodes (tag `t`) beside elements; their text joins their parent's own text, as in our DOM."""
    nodes = [element for element in elements if element["tag"] != "t"]
    position = {element["ref"]: i for i, element in enumerate(nodes)}
    own_text = {element["ref"]: [element["text"]] for element in nodes}
    for element in elements:
        if element["tag"] == "t" and element["parent"] in own_text:
            own_text[element["parent"]].append(element["text"])
    out = []
    for i, element in enumerate(nodes):
        tag, _, kind = element["tag"].partition("_")
        kind = kind or ("text" if tag == "textarea" else "")
        value = element["value"] if isinstance(element["value"], str) else str(element["value"])
        text = " ".join(" ".join(own_text[element["ref"]]).split())
        out.append({"ref": i, "parent": position.get(element["parent"], -1), "tag": tag, "text": text,
                    "id": element["id"], "classes": element["classes"], "type": kind, "source": element["ref"],
                    "value": "" if kind in ("checkbox", "radio") else value,
                    "checked": kind in ("checkbox", "radio") and value.lower() == "true",
                    "focused": bool(element["flags"][FOCUSED]),
                    "clickable": tag in CLICKABLE_TAGS or kind in ("checkbox", "radio") or bool(element["flags"][LEAF]),
                    "typable": tag in ("input", "textarea") and kind in TYPABLE_TYPES})
    return out


class MiniWoBEnv(ElementEnv):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(self, task: str = "click-button", max_elements: int = 64, max_fields: int = 6,
                 invalid_action: str = "raise", max_steps: int = 20, render_mode: str | None = None) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"unknown render_mode {render_mode!r}; valid choices: rgb_array (MiniWoB++'s screenshot)")
        try:
            import miniwob
        except ImportError as error:
            raise RuntimeError(f"appliedrl/MiniWoB-v0 needs MiniWoB++ ({error}); {INSTALL_HINT}") from None
        gym.register_envs(miniwob)
        if f"miniwob/{task}-v1" not in gym.registry:
            raise ValueError(f"unknown MiniWoB++ task {task!r}; valid choices: "
                             f"{', '.join(sorted(i[8:-3] for i in gym.registry if i.startswith('miniwob/')))}")
        self.task_name, self.max_steps, self.render_mode = task, max_steps, render_mode
        self.inner = gym.make(f"miniwob/{task}-v1", action_space_config="all_supported")
        self._spaces(max_elements, max_fields, invalid_action)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        try:
            raw, _ = self.inner.reset(seed=seed)
        except Exception as error:
            raise RuntimeError(f"MiniWoB++ failed to reset ({str(error).splitlines()[0]}); if Chrome could not "
                               f"start: {INSTALL_HINT}") from None
        self._take(raw)
        self.steps = 0
        return self._observation(), {"action_mask": self._mask.copy()}

    def step(self, action: Any) -> tuple[dict, float, bool, bool, dict]:
        from miniwob.action import ActionTypes

        index = self._check(action)
        reward, terminated, inner_truncated, info = INVALID_PENALTY, False, False, {}
        if index is not None:
            kind, ref, field = self.decode(index)
            source = self._raw["dom_elements"][ref]["source"]
            act = (self.inner.unwrapped.create_action(ActionTypes.CLICK_ELEMENT, ref=source) if kind == "click" else
                   self.inner.unwrapped.create_action(ActionTypes.FOCUS_ELEMENT_AND_TYPE_FIELD, ref=source, field=field))
            raw, _, terminated, inner_truncated, info = self.inner.step(act)
            reward = float(info["raw_reward"]) if terminated else 0.0
            if raw:  # MiniWoB++ returns no observation once the episode is over
                self._take(raw)
        self.steps += 1
        truncated = not terminated and (self.steps >= self.max_steps or inner_truncated)
        if truncated:
            reward -= 1.0
        out = {"action_mask": self._mask.copy()}
        if terminated or truncated:
            out["is_success"] = terminated and info.get("raw_reward", 0) >= 1.0
        return self._observation(), reward, terminated, truncated, out

    def _take(self, raw: dict[str, Any]) -> None:
        elements = convert(list(raw["dom_elements"]))
        if len(elements) > self.max_elements:
            raise ValueError(f"MiniWoB++'s {self.task_name} page has {len(elements)} elements; raise max_elements "
                             f"(now {self.max_elements})")
        self._raw = {"utterance": raw["utterance"], "fields": list(raw["fields"]), "dom_elements": elements}
        self._mask = self._legal_actions()
        self._screenshot = np.asarray(raw["screenshot"], np.uint8)

    def render(self) -> np.ndarray | None:
        """rgb_array: MiniWoB++'s screenshot of the page."""
        return self._screenshot if self.render_mode == "rgb_array" else None

    def raw_observation(self) -> dict[str, Any]:
        return self._raw

    def close(self) -> None:
        self.inner.close()
