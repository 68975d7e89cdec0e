"""The oracle: a scripted solver that reads only the observation (so it runs on MiniWoB++'s pages too).

Per step, the first of: type each instruction field into the typable element whose attributes name the field's
key (a lone field goes into every typable element) unless it holds the value already; click each checkbox whose
label is an instruction value and is unchecked, or is checked and is none; click the button whose text is an
instruction value; else click the page's other button (submit).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from appliedrl.envs.web.env import FLAGS, TAGS, WebNavEnv

BUTTON, INPUT = 1 + TAGS.index("button"), 1 + TAGS.index("input")
CHECKED, CLICKABLE, TYPABLE = (FLAGS.index(flag) for flag in ("checked", "clickable", "typable"))


def _words(row: np.ndarray) -> frozenset[int]:
    return frozenset(int(t) for t in row if t)


class OraclePolicy:
    def __init__(self, env: WebNavEnv) -> None:
        self.max_elements, self.max_fields = env.max_elements, env.max_fields

    def predict(self, obs: dict[str, Any], mask: Any = None, deterministic: bool = True) -> np.ndarray:
        single = np.ndim(obs["element_mask"]) == 1
        batch = {key: np.asarray(value)[None] if single else np.asarray(value) for key, value in obs.items()}
        actions = np.array([self._act({k: v[i] for k, v in batch.items()}) for i in range(len(batch["element_mask"]))])
        return actions[0] if single else actions

    def _act(self, obs: dict[str, np.ndarray]) -> int:
        fields = [(_words(k), _words(v)) for k, v, present in zip(obs["field_keys"], obs["field_values"],
                                                                    obs["field_mask"]) if present]
        values = {value for _, value in fields}
        elements = np.flatnonzero(obs["element_mask"])
        flags, text = obs["element_flags"], [_words(row) for row in obs["element_text"]]
        for ref in elements:
            if flags[ref, TYPABLE]:
                attributes = _words(obs["element_attributes"][ref])
                named = [i for i, (key, _) in enumerate(fields) if key <= attributes]
                for i in named or ([0] if len(fields) == 1 else []):
                    if text[ref] != fields[i][1]:
                        return self.max_elements + int(ref) * self.max_fields + i
        for ref in elements:
            if obs["element_tag"][ref] == INPUT and flags[ref, CLICKABLE]:  # a checkbox: its label's words
                label = text[obs["element_parent"][ref] - 1] if obs["element_parent"][ref] else frozenset()
                if bool(flags[ref, CHECKED]) != (label in values):
                    return int(ref)
        buttons = [int(ref) for ref in elements if obs["element_tag"][ref] == BUTTON]
        named = [ref for ref in buttons if text[ref] in values]
        return (named or buttons)[0]
