"""The web domain's picture: one seeded held-out episode per method, as the page's actionable elements with their
final state and the actions taken."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from appliedrl.domains.pictures import transcript_picture
from appliedrl.domains.registry import Setting


def web_picture(setting: Setting, policies: dict[str, Any], seed: int) -> Figure:
    """The same seeded page and instruction with each method, side by side: which elements a method filled in,
    ticked or clicked shows where a failing one goes wrong."""
    figure = transcript_picture(setting, policies, seed, "steps",
                                lambda line: "#1f4e9c" if line.lstrip().startswith("actions:") else "#333333",
                                wrap=70)
    figure.suptitle(f"web / {setting.name}: one held-out episode per method (seed {seed})")
    return figure
