"""The pages' DOM in MiniWoB++'s schema, and the fast backend: a generated page parsed in process (lxml) with
actions applied to it as a browser would apply them (envs/web/chromium.py is the real browser).

Elements are listed in document order under <body> (ref 0 is the body), each with ref, parent, tag, text (its
own text), value, id, classes and flags (focused, checked, clickable, typable). Clicking a checkbox or its label
toggles it; typing into a text or password input replaces its value (as Playwright's `fill`). Focus follows
Chromium: a click focuses a focusable element (input, button, link) or the control of a label, else nothing.
"""

from __future__ import annotations

from typing import Any

import lxml.etree

from appliedrl.envs.web.tasks import Form

CLICKABLE_TAGS = ("button", "a", "label")
FOCUSABLE_TAGS = ("button", "a", "input")
TYPABLE_TYPES = ("text", "password")
HTML_PARSER = lxml.etree.HTMLParser()  # plain lxml elements: lxml.html's element classes cost a lookup per node


class Page:
    """One page's elements and their state; a backend loads pages and applies clicks and typing."""

    def load(self, page: str) -> None:
        raise NotImplementedError

    def click(self, ref: int) -> None:
        raise NotImplementedError

    def type(self, ref: int, text: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the backend holds (a browser page)."""

    def _index(self, records: list[dict[str, Any]]) -> None:
        """Take a freshly loaded page's elements: records of tag, type, id, class, for, key, text, parent, value
        and checked, in document order from <body>."""
        self.tags = [r["tag"] for r in records]
        self.parents = [r["parent"] for r in records]
        self.keys = [r["key"] or r["id"] for r in records]
        kinds = [r["type"] if r["tag"] == "input" else "" for r in records]
        self._typable = [tag == "input" and kind in TYPABLE_TYPES for tag, kind in zip(self.tags, kinds)]
        self._checkbox = [tag == "input" and kind == "checkbox" for tag, kind in zip(self.tags, kinds)]
        self.by_id = {r["id"]: ref for ref, r in enumerate(records) if r["id"]}
        self._id_of = {ref: i for i, ref in self.by_id.items()}
        self.values = {ref: r["value"] for ref, r in enumerate(records) if self._typable[ref]}
        self.checked = {ref: r["checked"] for ref, r in enumerate(records) if self._checkbox[ref]}
        self.focused: int | None = None
        self._listed: tuple[tuple, list[dict[str, Any]]] | None = None  # elements() for the state they show
        self.controls = {ref: self._control(ref, r) for ref, r in enumerate(records) if r["tag"] == "label"}
        self.static = [{"ref": ref, "parent": r["parent"], "tag": r["tag"], "text": " ".join(r["text"].split()),
                        "id": r["id"], "classes": r["class"], "type": kinds[ref], "clickable": self.clickable(ref),
                        "typable": self._typable[ref], "value": "", "focused": False, "checked": False}
                       for ref, r in enumerate(records)]  # each element as it is with no state

    def _control(self, ref: int, record: dict[str, Any]) -> int | None:
        """The input a <label> controls: its `for` target, else the first input inside it."""
        if record["for"]:
            return self.by_id.get(record["for"])
        inside = [r for r in range(ref + 1, len(self.tags)) if self.tags[r] == "input" and self.inside(r, ref)]
        return inside[0] if inside else None

    def inside(self, ref: int, ancestor: int) -> bool:
        while ref > ancestor:
            ref = self.parents[ref]
        return ref == ancestor

    def __len__(self) -> int:
        return len(self.tags)

    def typable(self, ref: int) -> bool:
        return self._typable[ref]

    def clickable(self, ref: int) -> bool:
        return self.tags[ref] in CLICKABLE_TAGS or self._checkbox[ref]

    def form(self) -> Form:
        ids = self._id_of
        return Form({ids[r]: v for r, v in self.values.items() if r in ids},
                    {ids[r]: c for r, c in self.checked.items() if r in ids})

    def elements(self) -> list[dict[str, Any]]:
        """Every element in MiniWoB++'s dom_elements schema (ref, parent, tag, text, value, id, classes), with its
        flags as booleans (focused, checked, clickable, typable) and its input type, without geometry. The list is
        kept until the page's state changes (read it, do not modify it)."""
        state = (self.focused, tuple(self.values.values()), tuple(self.checked.values()))
        if self._listed is None or self._listed[0] != state:
            listed = list(self.static)
            for ref in {*self.values, *self.checked, *(() if self.focused is None else (self.focused,))}:
                listed[ref] = {**self.static[ref], "value": self.values.get(ref, ""), "focused": self.focused == ref,
                               "checked": self.checked.get(ref, False)}
            self._listed = (state, listed)
        return self._listed[1]


class DomPage(Page):
    """The in-process backend (lxml)."""

    def __init__(self, page: str) -> None:
        self.load(page)

    def load(self, page: str) -> None:
        body = lxml.etree.fromstring(page, HTML_PARSER).find("body")
        nodes = [body, *body.iterdescendants()]
        ref_of = {node: ref for ref, node in enumerate(nodes)}
        records = []
        for node in nodes:
            attributes = dict(node.items())
            text = node.text or ""  # its own text nodes: the text before its first child and after each child
            if len(node):
                text += "".join([child.tail or "" for child in node])
            records.append({"tag": node.tag, "type": attributes.get("type", "text"), "id": attributes.get("id", ""),
                            "class": attributes.get("class", ""), "for": attributes.get("for", ""),
                            "key": attributes.get("data-key", ""), "text": text,
                            "parent": ref_of.get(node.getparent(), -1), "value": attributes.get("value", ""),
                            "checked": "checked" in attributes})
        self._index(records)

    def click(self, ref: int) -> None:
        target = self.controls.get(ref, ref)
        if target in self.checked:
            self.checked[target] = not self.checked[target]
        self.focused = target if target is not None and self.tags[target] in FOCUSABLE_TAGS else None

    def type(self, ref: int, text: str) -> None:
        self.values[ref] = text
        self.focused = ref
