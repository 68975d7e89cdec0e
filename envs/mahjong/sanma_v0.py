"""Sanma as a PettingZoo AEC game: three seats, one decision at a time, claims asked seat by seat.

`env()` is the raw game behind PettingZoo's order-enforcing and bounds-checking wrappers (`raw_env()` without
them). Observations are {"observation": the 34 x 157 encoding (see encoding.py), "action_mask": int8 mask over
the 63 actions (see actions.py)}; only the seat to act has a non-zero mask. Rewards are each seat's score change
in thousands of points as it happens (riichi sticks, wins, draws; `reward="score"`, the default, so an episode's
return is (final score - start) / 1000), or rank points +1 / 0 / -1 at the game's end (`reward="rank"`). The
final infos hold each seat's scores, rank and `episode_metrics` (see `seat_metrics`).
An illegal action raises an error naming the legal ones, or with `illegal_action="penalty"` costs the seat
`ILLEGAL_PENALTY` reward and changes nothing (the same seat acts again): for checkers that step unmasked actions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.utils import EzPickle
from pettingzoo import AECEnv
from pettingzoo.utils import wrappers

from appliedrl.envs.mahjong import actions as A
from appliedrl.envs.mahjong.encoding import COLUMNS, encode
from appliedrl.envs.mahjong.engine import SEATS, Game
from appliedrl.envs.mahjong.render import table_text
from appliedrl.envs.mahjong.rules import Rules, rules_named
from appliedrl.envs.render import text_frame

REWARDS = ("score", "rank")
ILLEGAL_ACTIONS = ("raise", "penalty")
ILLEGAL_PENALTY = 1.0
RANK_POINTS = (1.0, 0.0, -1.0)


def seat_metrics(events: list[dict[str, Any]], seat: int) -> dict[str, float]:
    """A seat's game in numbers: its final score, and the share of rounds it won, dealt into (paid a ron),
    declared riichi in, and called a pon or an open kan in."""
    rounds = [[]]
    for event in events:
        if event["type"] == "start_kyoku":
            rounds.append([])
        rounds[-1].append(event)
    rounds = [r for r in rounds if r and r[0]["type"] == "start_kyoku"]

    def share(happened: Any) -> float:
        return sum(any(happened(e) for e in r) for r in rounds) / len(rounds)

    return {"final_score": float(next(e for e in reversed(events) if e["type"] == "end_game")["scores"][seat]),
            "win_rate": share(lambda e: e["type"] == "hora" and e["actor"] == seat),
            "deal_in_rate": share(lambda e: e["type"] == "hora" and e["target"] == seat and e["actor"] != seat),
            "riichi_rate": share(lambda e: e["type"] == "reach_accepted" and e["actor"] == seat),
            "call_rate": share(lambda e: e["type"] in ("pon", "daiminkan") and e["actor"] == seat)}


def env(**kwargs: Any) -> AECEnv:
    """The sanma AEC game with PettingZoo's order-enforcing and out-of-bounds wrappers."""
    game = raw_env(**kwargs)
    game = wrappers.AssertOutOfBoundsWrapper(game)
    return wrappers.OrderEnforcingWrapper(game)


class raw_env(AECEnv, EzPickle):
    """Three-player riichi mahjong (Tenhou rules by default) for agents player_0 (the first dealer) ... player_2.

    rules: a preset name ("tenhou") or a `Rules`; length: "hanchan" (East and South, with the West extension),
    "east", or "round" (a single round, as Meowjong's self-play episodes); reward: "score" or "rank";
    illegal_action: "raise" or "penalty".
    """

    metadata = {"name": "sanma_v0", "render_modes": ["ansi", "rgb_array"], "is_parallelizable": False,
                "render_fps": 1}

    def __init__(self, rules: str | Rules = "tenhou", length: str = "hanchan", reward: str = "score",
                 illegal_action: str = "raise", render_mode: str | None = None) -> None:
        EzPickle.__init__(self, rules, length, reward, illegal_action, render_mode)
        super().__init__()
        if reward not in REWARDS:
            raise ValueError(f"unknown reward {reward!r}; valid choices: {', '.join(REWARDS)}")
        if illegal_action not in ILLEGAL_ACTIONS:
            raise ValueError(f"unknown illegal_action {illegal_action!r}; valid choices: {', '.join(ILLEGAL_ACTIONS)}")
        self.illegal_action = illegal_action
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"unknown render_mode {render_mode!r}; valid choices: ansi, rgb_array")
        self.game = Game(rules_named(rules), length)
        self.reward_kind = reward
        self.render_mode = render_mode
        self.possible_agents = [f"player_{i}" for i in range(SEATS)]
        self.agents = list(self.possible_agents)
        observation = spaces.Box(0.0, 1.0, (34, COLUMNS), np.float32)
        mask = spaces.Box(0, 1, (A.N_ACTIONS,), np.int8)
        self.observation_spaces = {a: spaces.Dict({"observation": observation, "action_mask": mask})
                                   for a in self.possible_agents}
        self.action_spaces = {a: spaces.Discrete(A.N_ACTIONS) for a in self.possible_agents}

    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        """A new game; the same seed deals the same walls."""
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0])
        self.game.reset(seed)
        self.agents = list(self.possible_agents)
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {agent: {} for agent in self.agents}
        self._scores = list(self.game.scores)
        self.agent_selection = self.possible_agents[self.game.to_act]

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        seat = self.possible_agents.index(agent)
        mask = np.zeros(A.N_ACTIONS, np.int8)
        if not self.game.over and seat == self.game.to_act and agent in self.agents:
            mask[self.game.legal_actions()] = 1
        return {"observation": encode(self.game, seat), "action_mask": mask}

    def action_masks(self) -> np.ndarray:
        """The legal actions of the seat to act, as booleans."""
        return self.observe(self.agent_selection)["action_mask"].astype(bool)

    def step(self, action: Any) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        self._cumulative_rewards[agent] = 0.0
        if self.illegal_action == "penalty" and int(action) not in self.game.legal_actions():
            self.rewards = {name: -ILLEGAL_PENALTY * (name == agent) for name in self.agents}
            self._accumulate_rewards()
            return
        self.game.step(int(action))
        self.rewards = self._rewards()
        if self.game.over:
            self.terminations = dict.fromkeys(self.agents, True)
            for seat, name in enumerate(self.possible_agents):
                self.infos[name] = {"scores": list(self.game.scores), "rank": self.game.ranking().index(seat) + 1,
                                    "episode_metrics": seat_metrics(self.game.events, seat)}
        else:
            self.agent_selection = self.possible_agents[self.game.to_act]
        self._accumulate_rewards()

    def _rewards(self) -> dict[str, float]:
        scores = self.game.scores
        if self.reward_kind == "score":
            changes = [(now - before) / 1000 for now, before in zip(scores, self._scores)]
        elif self.game.over:
            changes = [RANK_POINTS[self.game.ranking().index(seat)] for seat in range(SEATS)]
        else:
            changes = [0.0] * SEATS
        self._scores = list(scores)
        return dict(zip(self.possible_agents, changes))

    def render(self) -> str | np.ndarray | None:
        """The table seen from the seat to act (from seat 0 once the game is over): text (ansi) or that text drawn
        as an image (rgb_array)."""
        if self.render_mode is None:
            return None
        text = table_text(self.game, 0 if self.game.over else self.game.to_act)
        return text if self.render_mode == "ansi" else text_frame(text.splitlines(), width=900)

    def close(self) -> None:
        pass
