"""The fast backend: a generated page parsed into a DOM in process (lxml) and actions applied to it.

Elements are listed in document order under <body> (ref 0 is the body), each in MiniWoB++'s schema: ref,
parent, tag, text (its own text), value, id, classes and flags (focused, checked, clickable, typable).
Clicking a checkbox or its label toggles it; typing into a text or password input sets its value (focus-and-type
replaces what was there, as Playwright's `fill`); clicking a button ends the task (done when it is the task's
finishing button and the page matches the goal).
"""

from __future__ import annotations

from typing import Any

import lxml.html

CLICKABLE_TAGS = ("button", "label")
TYPABLE_TYPES = ("text", "password")


class DomPage:
    """One page's elements and their state."""

    def __init__(self, page: str) -> None:
        root = lxml.html.document_fromstring(page)
        body = root.find("body")
        self.nodes = [body, *body.iterdescendants()]
        ref_of = {node: ref for ref, node in enumerate(self.nodes)}
        self.parents = [-1] + [ref_of[node.getparent()] for node in self.nodes[1:]]
        self.values = {ref: node.get("value", "") for ref, node in enumerate(self.nodes) if self.typable(ref)}
        self.checked = {ref: node.get("checked") is not None for ref, node in enumerate(self.nodes)
                        if self._is_checkbox(node)}
        self.focused: int | None = None
        self.by_id = {node.get("id"): ref for ref, node in enumerate(self.nodes) if node.get("id")}
        self.static = [{"ref": ref, "parent": self.parents[ref], "tag": node.tag,
                        "text": " ".join("".join(node.xpath("text()")).split()), "id": node.get("id", ""),
                        "classes": node.get("class", ""), "type": node.get("type", ""),
                        "clickable": self.clickable(ref), "typable": self.typable(ref)}
                       for ref, node in enumerate(self.nodes)]

    def _is_checkbox(self, node: Any) -> bool:
        return node.tag == "input" and node.get("type") == "checkbox"

    def typable(self, ref: int) -> bool:
        node = self.nodes[ref]
        return node.tag == "input" and node.get("type", "text") in TYPABLE_TYPES

    def clickable(self, ref: int) -> bool:
        node = self.nodes[ref]
        return node.tag in CLICKABLE_TAGS or self._is_checkbox(node)

    def is_button(self, ref: int) -> bool:
        return self.nodes[ref].tag == "button"

    def click(self, ref: int) -> None:
        node = self.nodes[ref]
        target = ref if self._is_checkbox(node) else self._labelled(ref)
        if target is not None:
            self.checked[target] = not self.checked[target]
        self.focused = ref

    def type(self, ref: int, text: str) -> None:
        self.values[ref] = text
        self.focused = ref

    def _labelled(self, ref: int) -> int | None:
        """The checkbox a <label> controls: its `for` target or the checkbox inside it."""
        node = self.nodes[ref]
        if node.tag != "label":
            return None
        inner = [r for r in range(ref + 1, len(self.nodes)) if self._is_checkbox(self.nodes[r])
                 and self.nodes[ref] in self.nodes[r].iterancestors()]
        target = self.by_id.get(node.get("for")) if node.get("for") else (inner[0] if inner else None)
        return target if target is not None and target in self.checked else None

    def elements(self) -> list[dict[str, Any]]:
        """Every element in MiniWoB++'s dom_elements schema."""
        return [{**element, "value": self.values.get(ref, ""), "focused": self.focused == ref,
                 "checked": self.checked.get(ref, False)} for ref, element in enumerate(self.static)]
