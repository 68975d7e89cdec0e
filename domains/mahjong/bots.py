"""Heuristic sanma bots that read only the observation a seat gets (the 34 x 157 encoding and the action mask).

`Greedy`: win when it can, kita always, riichi when tenpai, pon only a valuable pair (dragons, own or round
wind), and otherwise discard toward the lowest shanten (three-player rules), breaking ties by acceptance: the
unseen tiles that would lower the shanten (`hands.shanten`, equal to the `mahjong` package's). `Defensive` plays
the same but folds once an opponent has declared riichi and its own hand is not in tenpai: it discards the safest
tile (the riichi player's own discards first, then honours with few left, then suji), as strong players do.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from appliedrl.envs.mahjong import actions as A
from appliedrl.envs.mahjong.encoding import DECISIONS, START
from appliedrl.envs.mahjong.hands import best_discards, shanten
from appliedrl.envs.mahjong.tiles import HONOR_KINDS

DRAGONS = (31, 32, 33)
OPPONENTS = ("next_", "after_")


class View:
    """What a bot reads from one observation."""

    def __init__(self, obs: np.ndarray) -> None:
        self.hand = obs[:, START["hand"]:START["hand"] + 4].sum(1).astype(int)
        self.target = int(obs[:, START["target"]].argmax()) if obs[:, START["target"]].any() else None
        self.decision = DECISIONS[int(obs[0, START["decision"]:START["decision"] + len(DECISIONS)].argmax())]
        seen = self.hand.copy()
        self.discards: dict[str, np.ndarray] = {}
        for prefix in ("", *OPPONENTS):
            seen += obs[:, START[prefix + "melds"]:START[prefix + "melds"] + 4].sum(1).astype(int)
            discards = obs[:, START[prefix + "discards"]:START[prefix + "discards"] + 30].sum(1).astype(int)
            seen += discards
            self.discards[prefix] = discards
        seen += obs[:, START["dora"]:START["dora"] + 5].sum(1).astype(int)
        self.unseen = np.clip(4 - seen, 0, 4)
        self.riichi = {prefix: bool(obs[0, START["riichi"] + i]) for i, prefix in enumerate(("", *OPPONENTS))}
        seat_wind = 27 + int(obs[0, START["seat_wind"]:START["seat_wind"] + 3].argmax())
        round_wind = 27 + int(obs[0, START["round"]:START["round"] + 9].argmax()) // 3
        self.valuable = {*DRAGONS, seat_wind, round_wind}


class Greedy:
    """Shanten-greedy discards with acceptance tie-breaks; wins, kita and riichi whenever it can; pons only
    valuable pairs."""

    defends = False

    def __init__(self, seed: int = 0) -> None:
        self.seed_actions(seed)

    def seed_actions(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def predict(self, obs: Any, mask: Any = None, deterministic: bool = True) -> Any:
        """An action for one observation [34, 157] with its mask, or for a batch of them."""
        obs = np.asarray(obs)
        if obs.ndim == 3:
            return np.array([self.predict(o, m, deterministic) for o, m in zip(obs, np.asarray(mask))])
        legal = np.flatnonzero(np.asarray(mask, dtype=bool))
        return self.act(View(obs), set(int(a) for a in legal))

    def act(self, view: View, legal: set[int]) -> int:
        for action in (A.TSUMO, A.RON, A.KITA):
            if action in legal:
                return action
        if view.decision in ("discard", "kita", "kan"):
            if A.PON in legal and view.target in view.valuable and not self._folding(view):
                return A.PON
            return A.PASS
        if A.RIICHI in legal and not self._folding(view):
            return A.RIICHI
        for action in (a for a in legal if A.KAN <= a < A.RIICHI):  # a kan that keeps the shanten
            counts = view.hand.copy()
            counts[A.kind_of_face(action - A.KAN)] = 0  # the four of a closed kan, the one of an added kan
            if shanten(tuple(counts)) <= _best_shanten(view.hand):
                return action
        if A.NINE_TERMINALS in legal:
            return A.NINE_TERMINALS
        return self.discard(view, sorted(a for a in legal if a < A.KAN))

    def discard(self, view: View, faces: list[int]) -> int:
        """The discard toward the lowest shanten, the widest acceptance, then the least useful kind."""
        if self._folding(view):
            return min(faces, key=lambda face: (self._danger(view, A.kind_of_face(face)), face))
        _, accepted = best_discards(view.hand.tolist(), view.unseen, {A.kind_of_face(face) for face in faces})
        options = [(-accepted[kind], _keep_value(kind), self._red_last(face), face)
                   for face in faces if (kind := A.kind_of_face(face)) in accepted]
        return min(options)[-1]

    @staticmethod
    def _red_last(face: int) -> int:
        return int(face >= A.FACES_OF_KINDS)  # a red five is worth a dora: discard a plain five first

    def _folding(self, view: View) -> bool:
        """Defend: an opponent is in riichi, and this hand is not (and cannot discard into) tenpai."""
        return (self.defends and any(view.riichi[p] for p in OPPONENTS) and not view.riichi[""]
                and _best_shanten(view.hand) > 0)

    def _danger(self, view: View, kind: int) -> float:
        """How likely a discard of `kind` deals into the riichi players (0: their own discard, safe)."""
        return sum(_danger_against(view.discards[p], view.unseen, kind) for p in OPPONENTS if view.riichi[p])


class Defensive(Greedy):
    """Greedy, but folds against riichi (the safest tile first) while its own hand is not in tenpai."""

    defends = True


def _best_shanten(hand: np.ndarray) -> int:
    """The lowest shanten reachable by one discard from a 3n+2 hand (its own shanten for a 3n+1 hand)."""
    if hand.sum() % 3 != 2:
        return shanten(tuple(hand))
    best = 8
    for kind in np.flatnonzero(hand):
        counts = hand.copy()
        counts[kind] -= 1
        best = min(best, shanten(tuple(counts)))
    return best


def _keep_value(kind: int) -> int:
    """Ties between equal discards: let honours and terminals go before middle tiles (lower is discarded first)."""
    if kind in HONOR_KINDS:
        return 0
    number = kind % 9 + 1
    return 1 if number in (1, 9) else 2 if number in (2, 8) else 3


def _danger_against(discards: np.ndarray, unseen: np.ndarray, kind: int) -> float:
    if discards[kind]:
        return 0.0  # genbutsu: the riichi player cannot ron its own discard
    if kind in HONOR_KINDS or kind in (0, 8):
        return 1.0 + unseen[kind]  # honours (and the lone manzu) are safer the fewer remain
    number = kind % 9 + 1
    suji = [kind + d for d in (-3, 3) if 1 <= number + d <= 9]
    covered = sum(bool(discards[k]) for k in suji)
    if number in (1, 9, 2, 8, 3, 7):
        return 4.0 if covered else 8.0
    return 5.0 if covered == 2 else 7.0 if covered else 10.0
