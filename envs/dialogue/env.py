"""`appliedrl/RestaurantDialogue-v0`: a dialogue manager finding a restaurant for an agenda-based simulated user
heard through simulated speech-understanding errors (the setting of Fatemi et al. 2016, after PyDial).

Each step the system acts (a summary or a master action), the user replies, the error model turns the reply into
an N-best list and the tracker updates the belief vector the policy observes. Reward −1 per turn and +20 when the
dialogue ends with a suitable venue offered and every request answered (so the return is 20·success − turns);
the episode terminates on the system's bye or the user hanging up, and is truncated after `max_turns` turns.
`user` names a simulated user ("standard", or "unfriendly": combines fewer acts per turn) or is any `User`
(a person at a terminal, in `appliedrl chat restaurant`).
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from appliedrl.envs.dialogue.actions import ActionSpaces, SUMMARY_ACTIONS
from appliedrl.envs.dialogue.acts import Act, SystemAct
from appliedrl.envs.dialogue.data import load_domain
from appliedrl.envs.dialogue.errors import ErrorModel, Hypothesis
from appliedrl.envs.dialogue.language import GREETING, system_text, user_text
from appliedrl.envs.dialogue.tracker import BeliefState
from appliedrl.envs.dialogue.user import AgendaUser, User
from appliedrl.envs.render import text_frame

ACTION_SPACES = ("summary", "master")
SUCCESS_REWARD = 20.0
TURN_PENALTY = -1.0
RENDERED_LINES = 12


class InvalidActionError(ValueError):
    """An action outside the space, or one the mask forbids; the message names the allowed actions."""


class RestaurantDialogueEnv(gym.Env):
    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 1}

    def __init__(self, semantic_error_rate: float = 0.0, action_space: str = "summary", action_masks: bool = True,
                 user: str | User = "standard", max_turns: int = 25, ontology: str | Path | None = None,
                 database: str | Path | None = None, render_mode: str | None = None) -> None:
        if action_space not in ACTION_SPACES:
            raise ValueError(f"unknown action_space {action_space!r}; valid choices: {', '.join(ACTION_SPACES)}")
        if max_turns < 1:
            raise ValueError(f"max_turns must be >= 1, got {max_turns}")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"unknown render_mode {render_mode!r}; valid choices: ansi, rgb_array")
        self.domain = load_domain(ontology, database)
        self.user = AgendaUser(self.domain, user) if isinstance(user, str) else user
        self.errors = ErrorModel(self.domain, semantic_error_rate)
        self.state = BeliefState(self.domain, max_turns)
        self.spaces = ActionSpaces(self.state)
        self.master, self.use_masks, self.max_turns = action_space == "master", action_masks, max_turns
        self.render_mode = render_mode
        size = len(self.state.observation())
        self.observation_space = gym.spaces.Box(0.0, 1.0, (size,), np.float32)
        self.action_space = gym.spaces.Discrete(len(self.spaces.master) if self.master else len(SUMMARY_ACTIONS))
        self.transcript: list[str] = []
        self._mask = self._legal_actions()  # recomputed whenever the state changes (reset, step)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.state.reset()
        opening = self.user.start(self.np_random)
        self.transcript = [f"SYSTEM: {GREETING}"]
        self._hear(None, opening)
        self._mask = self._legal_actions()
        return self.state.observation(), {"action_mask": self._mask}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        index = self._check(action)
        act = self.spaces.master_act(index) if self.master else self.spaces.summary_act(index)
        self.state.said(act)
        self.transcript.append(f"SYSTEM: {system_text(act, self.domain)}")
        reply = self.user.respond(act)
        if reply:
            self._hear(act, reply)
        terminated = act.type == "bye" or self.user.hung_up
        truncated = not terminated and self.state.turn >= self.max_turns
        success = terminated and self.user.success
        reward = TURN_PENALTY + SUCCESS_REWARD * success
        self._mask = self._legal_actions()
        info: dict[str, Any] = {"action_mask": self._mask}
        if terminated or truncated:
            info["is_success"] = success
            info["episode_metrics"] = {"turns": float(self.state.turn)}
        return self.state.observation(), reward, terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        """The legal actions now (all of them when the env was made with action_masks=False)."""
        return self._mask.copy()

    def _legal_actions(self) -> np.ndarray:
        if not self.use_masks:
            return np.ones(self.action_space.n, dtype=bool)
        return self.spaces.master_mask() if self.master else self.spaces.summary_mask()

    def action_names(self) -> list[str]:
        return self.spaces.names(self.master)

    def render(self) -> str | np.ndarray | None:
        """The dialogue so far, one line per utterance (what the system heard in brackets): as text (ansi), or
        its last RENDERED_LINES lines drawn as an image (rgb_array)."""
        if self.render_mode == "ansi":
            return "\n".join(self.transcript) + "\n"
        if self.render_mode == "rgb_array":
            lines = [part for line in self.transcript[-RENDERED_LINES:]
                     for part in textwrap.wrap(line, 140, subsequent_indent="    ")]
            return text_frame(lines, width=900)
        return None

    def _hear(self, system: SystemAct | None, acts: list[Act]) -> None:
        nbest = self.errors.nbest(acts, self.np_random)
        self.state.hear(system, nbest)
        self.transcript.append(f"USER: {user_text(acts)}{_heard(acts, nbest)}")

    def _check(self, action: Any) -> int:
        integral = np.ndim(action) == 0 and np.issubdtype(np.asarray(action).dtype, np.integer)
        if not integral or not 0 <= int(action) < self.action_space.n:
            raise InvalidActionError(f"action {action!r} is outside the action space {self.action_space} "
                                     f"(an integer from 0 to {self.action_space.n - 1})")
        index = int(action)
        mask = self._mask
        if not mask[index]:
            names = self.action_names()
            allowed = ", ".join(f"{i} {names[i]}" for i in np.flatnonzero(mask))
            raise InvalidActionError(f"action {index} ({names[index]}) is masked now; allowed: {allowed}")
        return index


def _heard(acts: list[Act], nbest: list[Hypothesis]) -> str:
    """What the system heard, when its best reading differs from what the user said."""
    best, confidence = nbest[0]
    return "" if list(best) == list(acts) else f"   [heard: {user_text(best)} ({confidence:.2f})]"
