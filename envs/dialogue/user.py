"""The agenda-based simulated user (Schatzmann et al. 2007, as in PyDial): a goal, a stack of constraints to
tell, requests to ask once a venue is accepted, and patience that runs out when the system repeats itself."""

from __future__ import annotations

import dataclasses
from typing import Protocol

import numpy as np

from appliedrl.envs.dialogue.acts import Act, SystemAct
from appliedrl.envs.dialogue.data import CONSTRAINT_SLOTS, DONTCARE, RestaurantDomain

USERS = {"standard": (0.2, 0.7), "unfriendly": (0.0, 0.4)}  # range of the per-dialogue probability to combine acts
DONTCARE_PROBABILITY = 0.2  # per constraint slot of a goal
GOAL_MATCHES = (2, 3)  # a goal is resampled until this many venues match it
PATIENCE = (4, 6)
WISH_PROBABILITY = 0.1  # the user first asks for a food no venue offers with its other constraints, then relaxes it
ALTERNATIVE_PROBABILITY = 0.1  # the user declines the first suitable venue and asks for another


@dataclasses.dataclass(frozen=True)
class Goal:
    constraints: dict[str, str]  # constraint slot -> value or dontcare; GOAL_MATCHES venues satisfy them
    requests: tuple[str, ...]  # "name" first, then 0-2 of extra_requests(domain)
    wish: str | None = None  # a food asked for first that no venue with the other constraints serves


def extra_requests(domain: RestaurantDomain) -> list[str]:
    """What a user may ask about a venue besides its name: the requestable slots that are no constraint."""
    return [slot for slot in domain.requestable if slot not in (*CONSTRAINT_SLOTS, "name")]


def sample_goal(domain: RestaurantDomain, rng: np.random.Generator) -> Goal:
    """Constraints from a random venue, each slot dontcare with DONTCARE_PROBABILITY, resampled until 2-3 venues
    match; requests; sometimes an unsatisfiable first wish."""
    while True:
        venue = domain.venue(int(rng.integers(len(domain.venues))))
        constraints = {s: DONTCARE if rng.random() < DONTCARE_PROBABILITY else venue[s] for s in CONSTRAINT_SLOTS}
        if GOAL_MATCHES[0] <= len(domain.matches(constraints)) <= GOAL_MATCHES[1]:
            break
    extra = rng.choice(extra_requests(domain), size=int(rng.integers(3)), replace=False)
    wish = None
    if rng.random() < WISH_PROBABILITY and constraints["food"] != DONTCARE:
        unserved = [food for food in domain.informable["food"]
                    if len(domain.matches({**constraints, "food": food})) == 0]
        wish = str(rng.choice(unserved)) if unserved else None
    return Goal(constraints, ("name", *map(str, extra)), wish)


class User(Protocol):
    """The user side of the env: its first turn, its reply to each system act ([] once the system said bye),
    whether it hung up and whether it got what it wanted."""

    hung_up: bool
    success: bool

    def start(self, rng: np.random.Generator) -> list[Act]: ...

    def respond(self, system: SystemAct) -> list[Act]: ...


class AgendaUser:
    """Answers each system act from its goal and agenda; `success` says whether it got what it wanted."""

    def __init__(self, domain: RestaurantDomain, user: str = "standard") -> None:
        if user not in USERS:
            raise ValueError(f"unknown user {user!r}; valid choices: {', '.join(USERS)}")
        self.domain, self.combine_range = domain, USERS[user]

    def start(self, rng: np.random.Generator) -> list[Act]:
        """A new goal and agenda; returns the user's first turn."""
        self.rng = rng
        self.goal = sample_goal(self.domain, rng)
        self.wanted = dict(self.goal.constraints)  # what the user asks for now (the wish until it is relaxed)
        if self.goal.wish is not None:
            self.wanted["food"] = self.goal.wish
        self.combine = rng.uniform(*self.combine_range)
        self.patience = int(rng.integers(PATIENCE[0], PATIENCE[1] + 1))
        self.wants_alternative = rng.random() < ALTERNATIVE_PROBABILITY
        self.accepted: int | None = None
        self.declined: int | None = None
        self.answered: set[str] = set()
        self.hung_up = False
        self.last_system: SystemAct | None = None
        self._fill_agenda()
        self.last_turn = self._volunteer()
        return self.last_turn

    @property
    def pending_requests(self) -> list[str]:
        return [slot for slot in self.goal.requests if slot not in self.answered]

    @property
    def success(self) -> bool:
        """A suitable venue was accepted and every request about it answered, without hanging up."""
        return (not self.hung_up and self.accepted is not None and not self.pending_requests
                and self.accepted in self.domain.matches(self.goal.constraints))

    def respond(self, system: SystemAct) -> list[Act]:
        """The user's (true) acts in reply to `system`; [bye] when it hangs up, [] after the system's bye."""
        if system == self.last_system:
            self.patience -= 1
        self.last_system = system
        if system.type == "bye":
            return []
        if self.patience <= 0:
            self.hung_up = True
            return [Act("bye")]
        turn = self.last_turn if system.type == "repeat" else self._reply(system)
        self.last_turn = turn
        return turn

    def _reply(self, system: SystemAct) -> list[Act]:
        kind, slot = system.type, system.slot
        if kind == "request":
            return [self._tell(slot), *self._combined(self.agenda)]
        if kind == "confirm":
            if self.wanted[slot] != system.value:
                return [Act("negate"), self._tell(slot)]
            self.agenda = [act for act in self.agenda if act.slot != slot]
            return [Act("affirm")]
        if kind == "select":
            return [self._tell(slot)]
        if kind == "offer":
            return self._consider(system.venue)
        if kind == "inform_none":
            return self._no_venue(dict(system.constraints))
        if kind == "inform_requested" and system.venue == self.accepted:
            self.answered |= {slot for slot, _ in system.answers}
        if kind == "restart":
            self.accepted, self.answered = None, set()
            self._fill_agenda()
        return self._volunteer()

    def _consider(self, venue: int) -> list[Act]:
        facts = self.domain.venue(venue)
        wrong = [s for s in CONSTRAINT_SLOTS if self.wanted[s] != DONTCARE and facts[s] != self.wanted[s]]
        if wrong:
            return [Act("negate"), *(self._tell(s) for s in wrong)]
        if self.wants_alternative and self.declined in (None, venue):
            self.declined = venue
            return [Act("reqalts")]
        if venue != self.accepted:  # answers about another venue do not count for this one
            self.accepted, self.answered = venue, {"name"}
        return self._volunteer()

    def _no_venue(self, assumed: dict[str, str]) -> list[Act]:
        """The system found nothing for `assumed`: correct what it got wrong, else give up the wish."""
        wrong = [s for s in CONSTRAINT_SLOTS if s in assumed and assumed[s] != self.wanted[s]]
        if wrong:
            return [Act("negate"), *(self._tell(s) for s in wrong)]
        if self.wanted["food"] != self.goal.constraints["food"]:
            self.wanted["food"] = self.goal.constraints["food"]
            return [self._tell("food")]
        return self._volunteer()

    def _tell(self, slot: str) -> Act:
        """inform(slot) with the wanted value, struck from the agenda."""
        self.agenda = [act for act in self.agenda if act.slot != slot]
        return Act("inform", slot, self.wanted[slot])

    def _fill_agenda(self) -> None:
        """The constraints to volunteer, in random order (dontcare ones are only said when asked)."""
        slots = [s for s in CONSTRAINT_SLOTS if self.wanted[s] != DONTCARE]
        self.agenda = [Act("inform", slots[i], self.wanted[slots[i]]) for i in self.rng.permutation(len(slots))]

    def _volunteer(self) -> list[Act]:
        """What the user says unprompted: its next constraints; with a venue accepted, its requests; then thanks."""
        if self.agenda:
            return self._combined(self.agenda, first=True)
        if self.accepted is None:  # told everything: waits for an offer (again for another, if it declined one)
            return [Act("reqalts") if self.declined is not None else Act("null")]
        pending = [Act("request", slot) for slot in self.pending_requests]
        return self._combined(pending, first=True) if pending else [Act("thankyou")]

    def _combined(self, acts: list[Act], first: bool = False) -> list[Act]:
        """Take acts from the front of `acts` (the first one when `first`), each further one with the user's
        probability of combining; taken agenda items leave the agenda."""
        count = int(first)
        while count < len(acts) and self.rng.random() < self.combine:
            count += 1
        taken = acts[:count]
        self.agenda = [act for act in self.agenda if act not in taken]
        return taken
