"""The handcrafted dialogue policy (PyDial's HDC policy), acting in the summary space from the belief vector."""

from __future__ import annotations

from typing import Any

import numpy as np

from appliedrl.agents.base import check_observation_batch
from appliedrl.envs.dialogue import RestaurantDialogueEnv
from appliedrl.envs.dialogue.actions import SUMMARY_ACTIONS
from appliedrl.envs.dialogue.data import CONSTRAINT_SLOTS
from appliedrl.envs.dialogue.tracker import ACCEPTED, FLAGS, METHODS

CONFIRM_ABOVE = 0.6  # an uncertain slot's top belief above this: confirm it
SELECT_ABOVE = 0.3  # above this (and below CONFIRM_ABOVE): select between the top two when they are close
SELECT_GAP = 0.2


class HandcraftedPolicy:
    """Finish when the user is done; offer alternatives when asked; answer requests about the offered venue;
    confirm or select uncertain slots; inform when the venues cannot be narrowed further; else request the first
    slot without an accepted value."""

    def __init__(self, env: RestaurantDialogueEnv) -> None:
        if env.master:
            raise ValueError("the handcrafted policy acts in the summary action space; make the env with "
                             "action_space='summary'")
        self.parts, start = {}, 0
        for name, size in env.state.observation_layout():
            self.parts[name] = slice(start, start + size)
            start += size
        self.obs_shape = env.observation_space.shape

    def predict(self, obs: Any, mask: Any = None, deterministic: bool = True) -> np.ndarray:
        batch, single = check_observation_batch(obs, self.obs_shape)
        masks = np.ones((len(batch), len(SUMMARY_ACTIONS)), bool) if mask is None else np.asarray(mask, bool)
        masks = masks.reshape(len(batch), -1)
        actions = np.array([self._act(o, m) for o, m in zip(batch, masks)])
        return actions[0] if single else actions

    def _act(self, obs: np.ndarray, mask: np.ndarray) -> int:
        """The first legal action of the preferences (requests, last among them, are always legal)."""
        return next(i for i in map(SUMMARY_ACTIONS.index, self._preferences(obs)) if mask[i])

    def _preferences(self, obs: np.ndarray) -> list[str]:
        """The actions the policy would take now, best first."""
        part = {name: obs[where] for name, where in self.parts.items()}
        flags = dict(zip(FLAGS, part["flags"] > 0.5))
        method = METHODS[int(np.argmax(part["method"]))]
        preferences = []
        if method == "finished":
            preferences.append("bye")
        if method == "byalternatives" and flags["offer_happened"]:
            preferences.append("inform_alternatives")
        if flags["offer_fits_belief"] and (part["requested"] > 0.5).any():
            preferences.append("inform_byname")
        tops = dict(zip(CONSTRAINT_SLOTS, part["top_two_beliefs"].reshape(-1, 2)))
        uncertain = [(slot, top, second) for slot, (top, second) in tops.items() if SELECT_ABOVE < top < ACCEPTED]
        if uncertain:
            slot, top, second = uncertain[0]
            close = top <= CONFIRM_ABOVE and top - second < SELECT_GAP
            preferences.append(f"select_{slot}" if close else f"confirm_{slot}")
        few_matches = part["match_count_bucket"][:2].any()  # 0 or 1 venue fits
        if few_matches or not flags["narrowable"] or flags["all_accepted"]:
            preferences.append("reqmore" if flags["offer_fits_belief"] else "inform")
        preferences += [f"request_{slot}" for slot, (top, _) in tops.items() if top < ACCEPTED]
        return preferences + ["reqmore", "inform"] + [f"request_{slot}" for slot in CONSTRAINT_SLOTS]
