"""The dialogue domain's picture: one seeded dialogue per method, as the transcript a person would read."""

from __future__ import annotations

import textwrap
from typing import Any

import gymnasium as gym
from matplotlib.figure import Figure

from appliedrl.domains.pictures import check_policies, method_style, play_episode
from appliedrl.domains.registry import Setting

WRAP = 62  # characters per transcript line


def dialogue_picture(setting: Setting, policies: dict[str, Any], seed: int) -> Figure:
    """The transcript of the same seeded dialogue (same user goal, same error draws until the methods' choices
    differ) with each method, side by side: how a method handles a misheard turn shows what a success rate
    cannot."""
    check_policies(policies)
    transcripts, titles = [], []
    for name, policy in policies.items():
        env = gym.make(setting.env_id, render_mode="ansi", **setting.evaluation_kwargs)
        try:
            episode = play_episode(env, policy, seed)
            transcripts.append(env.render())
        finally:
            env.close()
        outcome = "success" if episode.infos[-1]["is_success"] else "failure"
        titles.append(f"{name}: {outcome} in {len(episode.actions)} turns")
    lines = [[wrapped for line in text.splitlines() for wrapped in textwrap.wrap(line, WRAP, subsequent_indent="    ")]
             for text in transcripts]
    height = max(map(len, lines)) * 0.17 + 1.0
    figure = Figure(figsize=(5.2 * len(policies), height), layout="constrained")
    axes = figure.subplots(1, len(policies), squeeze=False)[0]
    rows = max(map(len, lines))
    speaker = "#333333"
    for index, (ax, name, title, text) in enumerate(zip(axes, policies, titles, lines)):
        ax.set_axis_off()
        ax.set_title(title, fontsize=10, color=method_style(index)["color"])
        for row, line in enumerate(text):
            if not line.startswith("    "):  # a wrapped line keeps its speaker's colour
                speaker = "#1f4e9c" if line.startswith("SYSTEM") else "#333333"
            ax.text(0.0, 1.0 - row / rows, line, fontsize=7, family="monospace", va="top", color=speaker,
                    transform=ax.transAxes, gid=name)
    figure.suptitle(f"dialogue / {setting.name}: one dialogue per method (seed {seed})")
    return figure
