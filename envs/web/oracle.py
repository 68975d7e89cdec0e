"""The oracle: a scripted solver that reads only the encoded observation (so it also runs on MiniWoB++'s pages
through the same encoder). Baseline `oracle` of the web domain, and the env's warm-start curriculum.

The task is recognised by its field keys; each solver returns the next step:
- forms: type each field into the input whose attributes name the field's key (a lone field into every input)
  unless it holds the value; set each checkbox to whether its label is an instruction value; click the button
  named by an instruction value, else the page's first button (its submit);
- search-engine: type the query, search, open the results page holding the rank, click the result;
- social-media: click the named button inside the post whose username is the user's;
- email-inbox: open the sender's email (back out of another), click the action, type the text, send;
- book-flight: for origin then destination, type the field and pick the suggestion containing it; type the
  date; search; book the flight with the lowest price (cheapest) or duration (shortest).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from appliedrl.envs.web.env import FIELD_TOKENS, FLAGS, TAGS, ElementEnv, number, tokens
from appliedrl.envs.web.tasks import RESULTS_PER_PAGE

BUTTON, INPUT, LINK = 1 + TAGS.index("button"), 1 + TAGS.index("input"), 1 + TAGS.index("a")
CHECKED, CLICKABLE, TYPABLE = (FLAGS.index(flag) for flag in ("checked", "clickable", "typable"))


def _words(row: Any) -> frozenset[int]:
    return frozenset(int(t) for t in row if t)


def _word(text: str) -> frozenset[int]:
    return _words(tokens(text, FIELD_TOKENS))


class _Page:
    """One observation, read: fields by key, elements' words, tags and flags."""

    def __init__(self, obs: dict[str, np.ndarray], max_elements: int, max_fields: int) -> None:
        self.max_elements, self.max_fields = max_elements, max_fields
        self.fields = [(_words(k), _words(v)) for k, v, present in
                       zip(obs["field_keys"], obs["field_values"], obs["field_mask"]) if present]
        self.field_sequences = [tuple(int(t) for t in v if t) for v in obs["field_values"]]
        self.refs = [int(r) for r in np.flatnonzero(obs["element_mask"])]
        self.text = [_words(row) for row in obs["element_text"]]
        self.sequence = [tuple(int(t) for t in row if t) for row in obs["element_text"]]
        self.attributes = [_words(row) for row in obs["element_attributes"]]
        self.tag, self.flags, self.parent = obs["element_tag"], obs["element_flags"], obs["element_parent"]

    def field(self, key: str) -> int | None:
        return next((i for i, (k, _) in enumerate(self.fields) if k == _word(key)), None)

    def sequence_of_field(self, field: int) -> tuple[int, ...]:
        return self.field_sequences[field]

    def value(self, key: str) -> frozenset[int]:
        return self.fields[self.field(key)][1]

    def with_class(self, *names: str) -> list[int]:
        """Elements whose id, classes and type hold these words."""
        wanted = frozenset().union(*map(_word, names))
        return [r for r in self.refs if wanted <= self.attributes[r]]

    def button(self, label: str) -> int | None:
        return next((r for r in self.refs if self.tag[r] == BUTTON and self.text[r] == _word(label)), None)

    def typable(self) -> list[int]:
        return [r for r in self.refs if self.flags[r, TYPABLE]]

    def type(self, ref: int, field: int) -> int:
        return self.max_elements + ref * self.max_fields + field

    def numbers(self, ref: int) -> list[int]:
        return [n for n in map(number, self.text[ref]) if n is not None]


def _form(page: _Page) -> int:
    values = {value for _, value in page.fields}
    for ref in page.typable():
        named = [i for i, (key, _) in enumerate(page.fields) if key <= page.attributes[ref]]
        for i in named or ([0] if len(page.fields) == 1 else []):
            if page.text[ref] != page.fields[i][1]:
                return page.type(ref, i)
    for ref in page.refs:
        if page.tag[ref] == INPUT and page.flags[ref, CLICKABLE]:  # a checkbox: its label's words
            label = page.text[page.parent[ref] - 1] if page.parent[ref] else frozenset()
            if bool(page.flags[ref, CHECKED]) != (label in values):
                return ref
    buttons = [r for r in page.refs if page.tag[r] == BUTTON]
    named = [r for r in buttons if page.text[r] in values]
    return (named or buttons)[0]


def _search(page: _Page) -> int:
    query, rank = page.value("query"), number(min(page.value("rank")))
    box = page.typable()[0]
    if page.text[box] != query:
        return page.type(box, page.field("query"))
    current = page.with_class("current")
    if not current:
        return page.button("search")
    wanted = math.ceil(rank / RESULTS_PER_PAGE)
    if page.numbers(current[0]) != [wanted]:
        return next(r for r in page.with_class("page") if page.numbers(r) == [wanted])
    return page.with_class("result", "title")[(rank - 1) % RESULTS_PER_PAGE]


def _social(page: _Page) -> int:
    user, button, current = page.value("user"), page.value("button"), frozenset()
    for ref in page.refs:
        if _word("username") <= page.attributes[ref]:
            current = page.text[ref]
        elif page.tag[ref] == BUTTON and current == user and page.text[ref] == button:
            return ref
    raise ValueError("no post by the user")


def _email(page: _Page) -> int:
    sender, action = page.value("by"), page.value("action")
    senders = page.with_class("email", "sender")
    if any(page.tag[r] == LINK for r in senders):  # the inbox
        return next(r for r in senders if page.text[r] == sender)
    if page.text[senders[0]] != sender:
        return page.with_class("back")[0]
    named = next((r for r in page.refs if page.tag[r] == BUTTON and page.text[r] == action), None)
    if named is not None:
        return named
    field = page.field("text") if page.field("text") is not None else page.field("to")
    box = page.typable()[0]
    return page.type(box, field) if page.text[box] != page.fields[field][1] else page.button("send")


def _flight(page: _Page) -> int:
    books = page.with_class("book")
    if books:
        column = 0 if page.value("criterion") == _word("cheapest") else 1
        offers, duration = [], 0
        for ref in page.refs:
            if _word("duration") <= page.attributes[ref]:
                duration = page.numbers(ref)[0]
            elif ref in books:
                offers.append((page.numbers(ref)[0], duration, ref))
        return min(offers, key=lambda offer: offer[column])[2]
    for key, attribute in (("from", "flight from"), ("to", "flight to")):
        box = next(r for r in page.typable() if _word(attribute) <= page.attributes[r])
        field = page.field(key)
        wanted = page.value(key)
        if page.sequence[box] == page.sequence_of_field(field):  # typed, not yet chosen: pick the suggestion
            return next(r for r in page.with_class("suggestion") if wanted <= page.text[r])
        chosen = wanted <= page.text[box] and len(page.sequence[box]) > len(page.sequence_of_field(field))
        if not chosen:
            return page.type(box, field)
    box = next(r for r in page.typable() if _word("datepicker") <= page.attributes[r])
    if page.text[box] != page.value("date"):
        return page.type(box, page.field("date"))
    return page.button("search")


SOLVERS = ((("query",), _search), (("user",), _social), (("by",), _email), (("criterion",), _flight))


class OraclePolicy:
    def __init__(self, env: ElementEnv) -> None:
        self.max_elements, self.max_fields = env.max_elements, env.max_fields

    def predict(self, obs: dict[str, Any], mask: Any = None, deterministic: bool = True) -> np.ndarray:
        single = np.ndim(obs["element_mask"]) == 1
        batch = {key: np.asarray(value)[None] if single else np.asarray(value) for key, value in obs.items()}
        actions = np.array([self.act({k: v[i] for k, v in batch.items()}) for i in range(len(batch["element_mask"]))])
        return actions[0] if single else actions

    def act(self, obs: dict[str, np.ndarray]) -> int:
        page = _Page(obs, self.max_elements, self.max_fields)
        solver = next((solve for keys, solve in SOLVERS if all(page.field(k) is not None for k in keys)), _form)
        return int(solver(page))
