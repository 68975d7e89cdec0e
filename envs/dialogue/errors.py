"""Simulated speech-understanding errors: the user's true acts become an N-best list of hypotheses with
confidences, whose top entry is confused at the semantic error rate (PyDial's error model, simplified)."""

from __future__ import annotations

import numpy as np

from appliedrl.envs.dialogue.acts import Act, SLOTLESS_USER_ACTS
from appliedrl.envs.dialogue.data import CONSTRAINT_SLOTS, DONTCARE, RestaurantDomain

CONFUSION = {"type": 0.2, "slot": 0.3, "value": 0.5}  # what a confusion changes in one act of the turn
NBEST_LENGTH = np.array([0.3, 0.25, 0.2, 0.15, 0.1])  # probability of 1..5 hypotheses when errors are on
# Dirichlet concentration of the top hypothesis's share of the confidence mass (the others get 1 each): the top
# entry is confident when it is right and less so when it is confused, as a recogniser's scores are
TOP_CONCENTRATION = {"right": 10.0, "confused": 1.5}
KINDS, CUMULATIVE = tuple(CONFUSION), np.cumsum(list(CONFUSION.values()))[:-1]

Hypothesis = tuple[tuple[Act, ...], float]  # the acts of one reading of the turn, and its confidence


class ErrorModel:
    """Turns a user turn into an N-best list; with `rate` 0 the single hypothesis is the truth at confidence 1."""

    def __init__(self, domain: RestaurantDomain, rate: float) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"semantic_error_rate must be in [0, 1], got {rate}")
        self.domain, self.rate = domain, rate

    def nbest(self, acts: list[Act], rng: np.random.Generator) -> list[Hypothesis]:
        truth = tuple(acts)
        if self.rate == 0.0:
            return [(truth, 1.0)]
        length = int(np.searchsorted(np.cumsum(NBEST_LENGTH)[:-1], rng.random(), side="right")) + 1
        confused = rng.random() < self.rate
        readings = [self.confuse(truth, rng) for _ in range(length)]
        if not confused:
            readings[0] = truth
        elif length > 1:  # the truth is somewhere below the top (or missing from a one-entry list)
            readings[int(rng.integers(1, length))] = truth
        alpha = np.ones(length)
        alpha[0] = TOP_CONCENTRATION["confused" if confused else "right"]
        scores = np.sort(rng.dirichlet(alpha))[::-1] if length > 1 else np.array([rng.beta(alpha[0], 1.0)])
        return list(zip(readings, map(float, scores)))

    def confuse(self, truth: tuple[Act, ...], rng: np.random.Generator) -> tuple[Act, ...]:
        """The turn with one of its acts changed in type, slot or value (always different from the truth)."""
        index = int(rng.integers(len(truth)))
        kind = KINDS[int(np.searchsorted(CUMULATIVE, rng.random(), side="right"))]
        wrong = self._confuse_act(truth[index], kind, rng)
        return (*truth[:index], wrong, *truth[index + 1:])

    def _confuse_act(self, act: Act, kind: str, rng: np.random.Generator) -> Act:
        if act.type == "inform" and kind == "value":
            return Act("inform", act.slot, self._other_value(act.slot, act.value, rng))
        if act.type == "inform" and kind == "slot":
            slot = _pick([s for s in CONSTRAINT_SLOTS if s != act.slot], rng)
            return Act("inform", slot, self._other_value(slot, None, rng))
        if act.type == "request" and kind != "type":
            return Act("request", _pick([s for s in self.domain.requestable if s != act.slot], rng))
        # a change of act type (and every confusion of a slotless act): another slotless act or a stray inform
        choices = [t for t in SLOTLESS_USER_ACTS if t != act.type] + ["inform"]
        new_type = _pick(choices, rng)
        if new_type != "inform":
            return Act(new_type)
        slot = _pick(CONSTRAINT_SLOTS, rng)
        return Act("inform", slot, self._other_value(slot, act.value if act.slot == slot else None, rng))

    def _other_value(self, slot: str, value: str | None, rng: np.random.Generator) -> str:
        values = [v for v in (*self.domain.informable[slot], DONTCARE) if v != value]
        return _pick(values, rng)


def _pick(choices: tuple[str, ...] | list[str], rng: np.random.Generator) -> str:
    """A uniform choice (Generator.choice is slow on short Python lists)."""
    return choices[int(rng.integers(len(choices)))]
