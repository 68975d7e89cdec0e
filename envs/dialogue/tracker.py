"""The rule-based belief tracker (PyDial's focus tracker) over the N-best list, and the belief vector the
policy observes.

Per constraint slot a distribution over [none, dontcare, values...]: a turn's confidence mass for the slot's
values is mixed in as b' = (1 − m) b + m·(mass / m); an affirm counts for the value the system asked to confirm,
a negate removes that share of it. Besides: the method (none, byconstraints, byalternatives, finished), the
last turn's act types, the requested slots not yet answered, what was offered, and database match counts.
"""

from __future__ import annotations

import numpy as np

from appliedrl.envs.dialogue.acts import SYSTEM_ACT_TYPES, USER_ACT_TYPES, SystemAct
from appliedrl.envs.dialogue.data import CONSTRAINT_SLOTS, DONTCARE, RestaurantDomain
from appliedrl.envs.dialogue.errors import Hypothesis

METHODS = ("none", "byconstraints", "byalternatives", "finished")
METHOD_OF = {"inform": "byconstraints", "reqalts": "byalternatives", "thankyou": "finished", "bye": "finished"}
FLAGS = ("offer_happened", "offer_fits_belief", "last_inform_none", "narrowable", "all_accepted")
MATCH_BUCKETS = (0, 1, 2, 4, 11)  # lower edges of the buckets 0, 1, 2-3, 4-10, 11+
ACCEPTED = 0.8  # a slot is accepted when its top value's belief reaches this (as PyDial's handcrafted policy)
NONE = 0  # index of `none` in each slot's distribution


class BeliefState:
    """What the system believes about the user's goal, updated each turn from the N-best list."""

    def __init__(self, domain: RestaurantDomain, max_turns: int) -> None:
        self.domain, self.max_turns = domain, max_turns
        self.values = {s: (DONTCARE, *domain.informable[s]) for s in CONSTRAINT_SLOTS}  # after `none`
        self.reset()

    def reset(self) -> None:
        self.beliefs = {s: np.eye(len(v) + 1)[NONE] for s, v in self.values.items()}
        self.method = np.eye(len(METHODS))[0]
        self.discourse = np.zeros(len(USER_ACT_TYPES))
        self.requested = np.zeros(len(self.domain.requestable))
        self.offered: int | None = None
        self.last_inform_none = False
        self.turn = 0
        self.last_system: SystemAct | None = None
        self._refresh()

    def hear(self, system: SystemAct | None, nbest: list[Hypothesis]) -> None:
        """Update the beliefs with the N-best readings of the user's reply to `system`."""
        mass = {s: np.zeros(len(b)) for s, b in self.beliefs.items()}
        denied = {s: np.zeros(len(b)) for s, b in self.beliefs.items()}
        signalled = np.zeros(len(METHODS))
        self.discourse = np.zeros(len(USER_ACT_TYPES))
        asked = np.zeros(len(self.requested))
        confirmed = system if system is not None and system.type == "confirm" else None
        for acts, confidence in nbest:  # each reading counts once per act type, slot and method it names
            for kind in {act.type for act in acts}:
                self.discourse[USER_ACT_TYPES.index(kind)] += confidence
            informed = {act.slot: act.value for act in acts if act.type == "inform"}
            if confirmed is not None and confirmed.slot not in informed and any(a.type == "affirm" for a in acts):
                informed[confirmed.slot] = confirmed.value
            for slot, value in informed.items():
                mass[slot][self.index(slot, value)] += confidence
            if confirmed is not None and any(a.type == "negate" for a in acts):
                denied[confirmed.slot][self.index(confirmed.slot, confirmed.value)] += confidence
            for slot in {act.slot for act in acts if act.type == "request"}:
                asked[self.domain.requestable.index(slot)] += confidence
            for method in {METHOD_OF[act.type] for act in acts if act.type in METHOD_OF}:
                signalled[METHODS.index(method)] += confidence
        for slot, belief in self.beliefs.items():
            mixed = _mix(belief, mass[slot])
            removed = mixed * np.minimum(denied[slot], 1.0)  # a denied value's belief goes back to none
            mixed = mixed - removed
            mixed[NONE] += removed.sum()
            self.beliefs[slot] = mixed
        self.method = _mix(self.method, signalled)
        self.requested = 1 - (1 - self.requested) * (1 - asked)
        self._refresh()

    def _refresh(self) -> None:
        """Cache what the beliefs imply (top values, constraints, matching venues): masks and features read them
        many times a turn."""
        self._tops = {slot: self._top(slot) for slot in CONSTRAINT_SLOTS}
        self._constraints = {slot: top[0] for slot, top in self._tops.items() if top[1] > self.beliefs[slot][NONE]}
        self._matches = self.domain.matches(self._constraints)

    def said(self, system: SystemAct) -> None:
        """Record the system's act (offers, answers) before the user's reply is heard."""
        self.turn += 1
        self.last_system = system
        self.last_inform_none = system.type == "inform_none"
        if system.type == "offer":
            self.offered = system.venue
            served = METHODS.index("byalternatives")  # an alternative was offered: back to the constraints
            self.method[METHODS.index("byconstraints")] += self.method[served]
            self.method[served] = 0.0
        for slot, _ in system.answers:
            self.requested[self.domain.requestable.index(slot)] = 0.0
        if system.type == "restart":  # the beliefs start over; the turns taken still count
            turn = self.turn
            self.reset()
            self.turn, self.last_system = turn, system

    def index(self, slot: str, value: str) -> int:
        return 1 + self.values[slot].index(value)

    def top(self, slot: str) -> tuple[str, float, str, float]:
        """The two most believed values of a slot besides none (dontcare counts) and their beliefs."""
        return self._tops[slot]

    def _top(self, slot: str) -> tuple[str, float, str, float]:
        belief = self.beliefs[slot][1:]
        first, second = np.argsort(-belief, kind="stable")[:2]
        return self.values[slot][first], float(belief[first]), self.values[slot][second], float(belief[second])

    def constraints(self) -> dict[str, str]:
        """The value each slot most likely has, for slots whose top value outweighs none."""
        return dict(self._constraints)

    def matches(self) -> np.ndarray:
        """The venues that fit `constraints()`."""
        return self._matches

    def narrowable(self, matches: np.ndarray) -> bool:
        """Whether asking about a slot without a belief could still split the matching venues."""
        known = self.constraints()
        return any(len(set(self.domain.codes[s][matches])) > 1 for s in CONSTRAINT_SLOTS if s not in known)

    def accepted(self, slot: str) -> bool:
        return self.top(slot)[1] >= ACCEPTED

    @property
    def finished(self) -> bool:
        return int(np.argmax(self.method)) == METHODS.index("finished")

    @property
    def requested_slots(self) -> list[str]:
        return [slot for slot, p in zip(self.domain.requestable, self.requested) if p > 0.5]

    def observation(self) -> np.ndarray:
        """The belief vector; its layout is `observation_layout`."""
        matches = self.matches()
        tops = [self.top(s) for s in CONSTRAINT_SLOTS]
        offer_fits = self.offered is not None and self.offered in matches
        flags = [self.offered is not None, offer_fits, self.last_inform_none, self.narrowable(matches),
                 all(self.accepted(s) for s in CONSTRAINT_SLOTS)]
        bucket = np.zeros(len(MATCH_BUCKETS))
        bucket[np.searchsorted(MATCH_BUCKETS, len(matches), side="right") - 1] = 1.0
        last = np.zeros(len(SYSTEM_ACT_TYPES) + len(CONSTRAINT_SLOTS))
        if self.last_system is not None:
            last[SYSTEM_ACT_TYPES.index(self.last_system.type)] = 1.0
            if self.last_system.slot in CONSTRAINT_SLOTS:
                last[len(SYSTEM_ACT_TYPES) + CONSTRAINT_SLOTS.index(self.last_system.slot)] = 1.0
        parts = [*self.beliefs.values(), [x for t in tops for x in (t[1], t[3])], self.method, self.discourse,
                 self.requested, flags, bucket, [self.turn / self.max_turns], last]
        return np.concatenate([np.asarray(p, dtype=np.float32) for p in parts])

    def observation_layout(self) -> list[tuple[str, int]]:
        """(name, size) of each part of the belief vector, in order."""
        return [*((f"belief_{s}", len(self.beliefs[s])) for s in CONSTRAINT_SLOTS),
                ("top_two_beliefs", 2 * len(CONSTRAINT_SLOTS)), ("method", len(METHODS)),
                ("last_user_act_types", len(USER_ACT_TYPES)), ("requested", len(self.requested)),
                ("flags", len(FLAGS)), ("match_count_bucket", len(MATCH_BUCKETS)), ("turn_fraction", 1),
                ("last_system_act_type", len(SYSTEM_ACT_TYPES)), ("last_system_act_slot", len(CONSTRAINT_SLOTS))]


def _mix(belief: np.ndarray, mass: np.ndarray) -> np.ndarray:
    """b' = (1 − m) b + mass, with the turn's total mass m capped at 1 (a reading may repeat a slot)."""
    total = mass.sum()
    if total == 0.0:
        return belief
    if total > 1.0:
        mass, total = mass / total, 1.0
    return (1.0 - total) * belief + mass
