"""What the domains' pictures (`Domain.picture`, drawn by `compare`) share: checking the policies, and one seeded
episode of a setting's evaluation env played with a policy and recorded step by step.

Pictures are built on `matplotlib.figure.Figure` directly (no pyplot), so drawing one leaves no global state.
Every plotted artist of a method carries the method's name as its `gid`, so tests can find what was drawn.
"""

from __future__ import annotations

import dataclasses
import textwrap
from typing import Any

import gymnasium as gym
import numpy as np
from matplotlib.figure import Figure

from appliedrl.domains.registry import Setting

LINE_STYLES = ("-", "--", "-.", ":")  # cycled with the colours, so methods whose lines coincide stay visible


@dataclasses.dataclass
class Episode:
    """One episode as the env reported it: the observation before each step and the last one, each step's action
    and info."""

    observations: list[np.ndarray]
    actions: list[Any]
    infos: list[dict[str, Any]]


def check_policies(policies: dict[str, Any]) -> None:
    if not policies:
        raise ValueError("a picture needs at least one policy: policies maps method names to loaded policies")


def method_style(index: int) -> dict[str, str]:
    """The colour and line style of the index-th method's lines."""
    return {"color": f"C{index}", "ls": LINE_STYLES[index % len(LINE_STYLES)]}


def seed_actions(policy: Any, seed: int) -> None:
    """Restart a policy's own random stream, as `evaluate` does, so the picture repeats with its seed."""
    if hasattr(policy, "seed_actions"):
        policy.seed_actions(seed)


def evaluation_env(setting: Setting) -> gym.Env:
    """The setting's evaluation env: its id with its evaluation keywords."""
    return gym.make(setting.env_id, **setting.evaluation_kwargs)


def play_episode(env: gym.Env, policy: Any, seed: int | None) -> Episode:
    """Play one episode with the policy's deterministic actions (masks from `info["action_mask"]`); `seed` seeds the
    reset and the policy's random stream, None continues both (a single-seat game's next seat of the deal)."""
    if seed is not None:
        seed_actions(policy, seed)
    obs, info = env.reset(seed=seed)
    episode = Episode([obs], [], [])
    done = False
    while not done:
        action = policy.predict(obs, mask=info.get("action_mask"), deterministic=True)
        obs, _, terminated, truncated, info = env.step(action)
        episode.observations.append(obs)
        episode.actions.append(action)
        episode.infos.append(info)
        done = terminated or truncated
    return episode


def transcript_picture(setting: Setting, policies: dict[str, Any], seed: int, unit: str,
                       colour_of_line: Any = None, wrap: int = 62) -> Figure:
    """One seeded episode per method, side by side, as the env's `ansi` render at the episode's end (a dialogue's
    transcript, a web page with the actions taken); each column titled with the outcome and the episode's length
    in `unit`. `colour_of_line(line)` colours a line and the wrapped lines after it (default dark grey)."""
    check_policies(policies)
    texts, titles = [], []
    for name, policy in policies.items():
        env = gym.make(setting.env_id, render_mode="ansi", **setting.evaluation_kwargs)
        try:
            episode = play_episode(env, policy, seed)
            texts.append(env.render())
        finally:
            env.close()
        outcome = "success" if episode.infos[-1]["is_success"] else "failure"
        titles.append(f"{name}: {outcome} in {len(episode.actions)} {unit}")
    lines = [[(wrapped, index == 0) for line in text.splitlines()
              for index, wrapped in enumerate(textwrap.wrap(line, wrap, subsequent_indent="    "))]
             for text in texts]  # (line, whether it starts a line of the render)
    rows = max(map(len, lines))
    figure = Figure(figsize=(5.2 * len(policies), rows * 0.17 + 1.0), layout="constrained")
    axes = figure.subplots(1, len(policies), squeeze=False)[0]
    colour = "#333333"
    for index, (ax, name, title, text) in enumerate(zip(axes, policies, titles, lines)):
        ax.set_axis_off()
        ax.set_title(title, fontsize=10, color=method_style(index)["color"])
        for row, (line, starts) in enumerate(text):
            if starts:  # a wrapped line keeps its line's colour
                colour = colour_of_line(line) if colour_of_line else "#333333"
            ax.text(0.0, 1.0 - row / rows, line, fontsize=7, family="monospace", va="top", color=colour,
                    transform=ax.transAxes, gid=name)
    return figure
