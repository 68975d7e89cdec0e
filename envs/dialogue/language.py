"""Template language for both sides of the dialogue, and a keyword parser that turns a person's sentence into
user acts (for `appliedrl chat restaurant`)."""

from __future__ import annotations

import re

from appliedrl.envs.dialogue.acts import Act, SystemAct
from appliedrl.envs.dialogue.data import CONSTRAINT_SLOTS, DONTCARE, RestaurantDomain

GREETING = "Hello, welcome to the restaurant finder. How may I help you?"
SLOT_WORDS = {"area": "area", "pricerange": "price range", "food": "type of food", "name": "name",
              "address": "address", "phone": "phone number", "postcode": "postcode", "signature": "signature dish",
              "description": "description"}
REQUEST_QUESTIONS = {"area": "What part of town do you have in mind?",
                     "pricerange": "Would you like something in the cheap, moderate, or expensive price range?",
                     "food": "What kind of food would you like?"}
# words a person may use for a slot, a request, dontcare and the slotless acts
SLOT_KEYWORDS = {"area": ("area", "part of town", "part", "location"),
                 "pricerange": ("price range", "pricerange", "price", "cost"),
                 "food": ("food", "cuisine", "kind of food", "type of food")}
REQUEST_KEYWORDS = {"address": ("address", "where"), "phone": ("phone", "number"), "postcode": ("postcode", "post code"),
                    "signature": ("signature", "dish", "speciality"), "description": ("description", "describe")}
QUESTION_WORDS = ("what", "which", "how")  # a constraint slot is requested only in a question
DONTCARE_PHRASES = ("don't care", "dont care", "do not care", "don't mind", "do not mind", "doesn't matter",
                    "does not matter", "whatever")
ANY_WORDS = ("any", "anything")  # dontcare before a slot word ("any area") or alone, else too common a word
ACT_GROUPS = ((("affirm", ("yes", "yeah", "yep", "right", "correct", "sure")),
               ("negate", ("no", "nope", "not", "wrong"))),
              (("reqalts", ("anything else", "something else", "another", "alternative", "other")),),
              (("bye", ("bye", "goodbye")), ("thankyou", ("thank", "thanks", "cheers", "that's all"))))

def describe(constraints: dict[str, str] | tuple[tuple[str, str], ...], article: bool = True) -> str:
    """A noun phrase for constraints: "a cheap chinese restaurant in the north of town" (dontcare ones left out)."""
    wanted = {slot: value for slot, value in dict(constraints).items() if value != DONTCARE}
    words = [wanted[s] for s in ("pricerange", "food") if s in wanted] + ["restaurant"]
    if "area" in wanted:
        words.append(f"in the {wanted['area']} of town")
    phrase = " ".join(words)
    vowel_sound = phrase[0] in "aeiou" and not phrase.startswith(("eu", "uni"))
    return phrase if not article else ("an " if vowel_sound else "a ") + phrase


def _option(slot: str, value: str) -> str:
    return f"any {SLOT_WORDS[slot]}" if value == DONTCARE else describe({slot: value})


def system_text(act: SystemAct, domain: RestaurantDomain) -> str:
    """One sentence for a system act."""
    kind = act.type
    if kind == "request":
        return REQUEST_QUESTIONS[act.slot]
    if kind == "confirm":
        return f"You want {_option(act.slot, act.value)}, right?"
    if kind == "select":
        return f"Sorry, would you like {_option(act.slot, act.value)} or {_option(act.slot, act.alternative)}?"
    if kind == "offer":
        venue = domain.venue(act.venue)
        return f"{venue['name'].capitalize()} is a nice {describe(venue, article=False)}."
    if kind == "inform_none":
        return f"I am sorry, there is no {describe(act.constraints, article=False)}."
    if kind == "inform_requested":
        if act.venue is None or not act.answers:
            return "What would you like to know?"
        name = domain.venue(act.venue)["name"]
        return " ".join(f"The {SLOT_WORDS[slot]} of {name} is {value}." for slot, value in act.answers)
    return {"bye": "Thank you for using the restaurant finder. Goodbye.", "repeat": "Could you please repeat that?",
            "reqmore": "Can I help you with anything else?",
            "restart": "Let us start again. How may I help you?"}[kind]


def user_text(acts: list[Act] | tuple[Act, ...]) -> str:
    """One utterance for a user turn (several acts combined)."""
    words = {"affirm": "Yes.", "negate": "No.", "reqalts": "Is there anything else?",
             "thankyou": "Thank you, that is all.", "bye": "Goodbye.", "null": "Hmm."}
    parts = [words[a.type] for a in acts if a.type in words]
    informs = {a.slot: a.value for a in acts if a.type == "inform"}
    if any(value != DONTCARE for value in informs.values()):
        parts.append(f"I want {describe(informs)}.")
    parts += [f"Any {SLOT_WORDS[slot]} is fine." for slot, value in informs.items() if value == DONTCARE]
    requested = [SLOT_WORDS[a.slot] for a in acts if a.type == "request"]
    if requested:
        parts.append(f"What is the {' and the '.join(requested)}?")
    return " ".join(parts)


def parse_user_text(text: str, domain: RestaurantDomain, last: SystemAct | None) -> list[Act]:
    """A person's sentence as user acts: ontology values become informs (the longest value first, one per slot),
    "any" / "don't care" informs dontcare for the slot named after it or else the one the system asked about,
    keywords become requests, then yes / no, a request for alternatives, thanks or bye; [null] when nothing fits."""
    lowered = " " + re.sub(r"[^a-z0-9 ']+", " ", text.lower()) + " "
    found: dict[str, str] = {}
    values = sorted(((slot, value) for slot in CONSTRAINT_SLOTS for value in domain.informable[slot]),
                    key=lambda pair: -len(pair[1]))
    for slot, value in values:
        if slot not in found and f" {value} " in lowered:
            found[slot] = value
            lowered = lowered.replace(f" {value} ", " ")
    asked = last.slot if last is not None and last.slot in CONSTRAINT_SLOTS else None
    for word in (*DONTCARE_PHRASES, *ANY_WORDS):
        for slot, keywords in SLOT_KEYWORDS.items():
            if any(f" {word} {k} " in lowered for k in keywords):
                found.setdefault(slot, DONTCARE)
                lowered = lowered.replace(f" {word} ", " ")
    bare = any(f" {phrase} " in lowered for phrase in DONTCARE_PHRASES) or lowered.split() in [[w] for w in ANY_WORDS]
    if bare and asked is not None:
        found.setdefault(asked, DONTCARE)
        for phrase in DONTCARE_PHRASES:  # so "do not care" is no negation
            lowered = lowered.replace(f" {phrase} ", " ")
    acts = [Act("inform", slot, found[slot]) for slot in CONSTRAINT_SLOTS if slot in found]
    question = "?" in text or any(f" {w} " in lowered for w in QUESTION_WORDS)
    for slot, keywords in {**REQUEST_KEYWORDS, **(SLOT_KEYWORDS if question else {})}.items():
        if slot not in found and any(f" {k} " in lowered for k in keywords):
            acts.append(Act("request", slot))
    first, *later = [next((Act(kind) for kind, words in group if any(f" {w} " in lowered for w in words)), None)
                     for group in ACT_GROUPS]  # yes / no goes first, alternatives and closing words last
    acts = [act for act in (first, *acts, *later) if act is not None]
    return acts or [Act("null")]
