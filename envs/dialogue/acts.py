"""Dialogue acts, the semantic form both sides speak in (Cambridge-style: act type, slot, value)."""

from __future__ import annotations

import dataclasses

# what a user says: inform(slot=value), request(slot), affirm, negate, reqalts, thankyou, bye, null (nothing
# understood); affirm and negate answer the system's last confirm or offer
USER_ACT_TYPES = ("inform", "request", "affirm", "negate", "reqalts", "thankyou", "bye", "null")
SLOTLESS_USER_ACTS = ("affirm", "negate", "reqalts", "thankyou", "null")
SYSTEM_ACT_TYPES = ("request", "confirm", "select", "offer", "inform_none", "inform_requested", "bye", "repeat",
                    "reqmore", "restart")


@dataclasses.dataclass(frozen=True)
class Act:
    type: str
    slot: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        inside = "" if self.slot is None else self.slot if self.value is None else f"{self.slot}={self.value}"
        return f"{self.type}({inside})"


@dataclasses.dataclass(frozen=True)
class SystemAct:
    """What the system does in one turn, with everything its utterance names.

    type: request, confirm, select, offer, inform_none, inform_requested, bye, repeat, reqmore, restart.
    `slot`/`value`/`alternative`: request(slot), confirm(slot=value), select(slot=value|alternative);
    `venue`: the venue an offer or an answer is about (a database index); `constraints`: what an offer or
    inform_none assumed; `answers`: the (slot, value) pairs an inform_requested gives.
    """

    type: str
    slot: str | None = None
    value: str | None = None
    alternative: str | None = None
    venue: int | None = None
    constraints: tuple[tuple[str, str], ...] = ()
    answers: tuple[tuple[str, str], ...] = ()
