"""The dialogue domain's picture: one seeded dialogue per method, as the transcript a person would read."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from appliedrl.domains.pictures import transcript_picture
from appliedrl.domains.registry import Setting


def dialogue_picture(setting: Setting, policies: dict[str, Any], seed: int) -> Figure:
    """The transcript of the same seeded dialogue (same user goal, same error draws until the methods' choices
    differ) with each method, side by side: how a method handles a misheard turn shows what a success rate
    cannot."""
    figure = transcript_picture(setting, policies, seed, "turns",
                                lambda line: "#1f4e9c" if line.startswith("SYSTEM") else "#333333")
    figure.suptitle(f"dialogue / {setting.name}: one dialogue per method (seed {seed})")
    return figure
