"""The system's two action spaces, their masks and the mapping from summary to master actions.

Summary actions (16, PyDial's): request / confirm / select for each constraint slot, inform (offer a venue that
fits the believed constraints, or say none does), inform_byname (answer the requests about the offered venue),
inform_alternatives (offer another fitting venue), bye, repeat, reqmore, restart. The tracker fills in the
values: confirm the top value, select between the top two, offer the first fitting venue in database order.

Master actions: the same acts with their values spelled out — request(slot); confirm(slot=value) and
select(slot=value | the best other value) for every value and dontcare; offer(venue) for every venue;
inform_none; inform_requested; bye, repeat, reqmore, restart.
"""

from __future__ import annotations

import numpy as np

from appliedrl.envs.dialogue.acts import SystemAct
from appliedrl.envs.dialogue.data import CONSTRAINT_SLOTS
from appliedrl.envs.dialogue.tracker import BeliefState

SUMMARY_ACTIONS = (*(f"{kind}_{slot}" for kind in ("request", "confirm", "select") for slot in CONSTRAINT_SLOTS),
                   "inform", "inform_byname", "inform_alternatives", "bye", "repeat", "reqmore", "restart")


class ActionSpaces:
    """Both action spaces over one belief state: masks, and the concrete system act an action means."""

    def __init__(self, state: BeliefState) -> None:
        self.state = state
        values = state.values
        self.master: list[tuple[str, str | int | None, str | None]] = [
            *(("request", s, None) for s in CONSTRAINT_SLOTS),
            *(("confirm", s, v) for s in CONSTRAINT_SLOTS for v in values[s]),
            *(("select", s, v) for s in CONSTRAINT_SLOTS for v in values[s]),
            *(("offer", i, None) for i in range(len(state.domain.venues))),
            *((kind, None, None) for kind in ("inform_none", "inform_requested", "bye", "repeat", "reqmore",
                                              "restart"))]

    def names(self, master: bool) -> list[str]:
        """A readable name per action, for error messages and the docs."""
        if not master:
            return list(SUMMARY_ACTIONS)
        names = self.state.domain.names
        return [f"offer({names[a]})" if k == "offer" else k if a is None else f"{k}({a}={v})" if v else f"{k}({a})"
                for k, a, v in self.master]

    # --- masks ---------------------------------------------------------------------------------------------

    def summary_mask(self) -> np.ndarray:
        state, offered = self.state, self.state.offered is not None
        allowed = {f"request_{s}": True for s in CONSTRAINT_SLOTS}
        for slot in CONSTRAINT_SLOTS:
            _, first, _, second = state.top(slot)
            allowed[f"confirm_{slot}"], allowed[f"select_{slot}"] = first > 0, second > 0
        may_inform = self._may_inform()
        alternatives = may_inform and any(venue != state.offered for venue in state.matches())
        allowed.update(inform=may_inform, inform_byname=offered, inform_alternatives=offered and alternatives,
                       reqmore=offered, bye=state.finished, repeat=False, restart=False)
        return np.array([allowed[name] for name in SUMMARY_ACTIONS])

    def master_mask(self) -> np.ndarray:
        state, offered = self.state, self.state.offered is not None
        may_inform = self._may_inform()
        matches = set(state.matches().tolist()) if may_inform else set()
        allowed = []
        for kind, slot, value in self.master:
            if kind in ("confirm", "select"):
                belief = state.beliefs[slot][1:]
                ok = belief[state.values[slot].index(value)] > 0 and (kind == "confirm" or (belief > 0).sum() > 1)
            else:
                ok = {"request": True, "offer": slot in matches, "inform_none": may_inform and not matches,
                      "inform_requested": offered, "reqmore": offered, "bye": state.finished}.get(kind, False)
            allowed.append(ok)
        return np.array(allowed)

    def _may_inform(self) -> bool:
        """Something was said, and the venues fitting the beliefs cannot be narrowed by asking more."""
        state = self.state
        return int(np.argmax(state.method)) != 0 and not state.narrowable(state.matches())

    # --- meaning -------------------------------------------------------------------------------------------

    def summary_act(self, action: int) -> SystemAct:
        """The concrete act of a summary action, its values filled in from the beliefs."""
        name, state = SUMMARY_ACTIONS[action], self.state
        kind, _, slot = name.partition("_")
        if slot in CONSTRAINT_SLOTS:
            first, _, second, _ = state.top(slot)
            return {"request": SystemAct("request", slot), "confirm": SystemAct("confirm", slot, first),
                    "select": SystemAct("select", slot, first, second)}[kind]
        matches = state.matches()
        if name == "inform":
            return self._offer(int(matches[0])) if len(matches) else self._none()
        if name == "inform_alternatives":  # the next fitting venue after the offered one (masks off: any fitting)
            others = [int(i) for i in matches if i != state.offered]
            later = [i for i in others if state.offered is None or i > state.offered]
            return self._offer((later or others or matches.tolist())[0]) if len(matches) else self._none()
        if name == "inform_byname":
            return self._answer()
        return SystemAct(name)

    def master_act(self, action: int) -> SystemAct:
        """The concrete act of a master action."""
        kind, slot, value = self.master[action]
        if kind == "select":
            first, _, runner_up, _ = self.state.top(slot)
            return SystemAct("select", slot, value, runner_up if first == value else first)
        if kind in ("request", "confirm"):
            return SystemAct(kind, slot, value)
        if kind == "offer":
            return self._offer(slot)
        return {"inform_none": self._none, "inform_requested": self._answer}.get(kind, lambda: SystemAct(kind))()

    def _offer(self, venue: int) -> SystemAct:
        return SystemAct("offer", venue=venue, constraints=tuple(self.state.constraints().items()))

    def _none(self) -> SystemAct:
        return SystemAct("inform_none", constraints=tuple(self.state.constraints().items()))

    def _answer(self) -> SystemAct:
        """inform_requested: the requested slots of the offered venue (of the first fitting one if none was)."""
        state = self.state
        venue = state.offered
        if venue is None:
            matches = state.matches()
            venue = int(matches[0]) if len(matches) else None
        if venue is None:
            return SystemAct("inform_requested")
        facts = state.domain.venue(venue)
        return SystemAct("inform_requested", venue=venue,
                         answers=tuple((slot, facts[slot]) for slot in state.requested_slots))
