"""The particle domain's picture: frames of one seeded episode per method, drawn by the world's own renderer."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from appliedrl.domains.pictures import check_policies, seed_actions
from appliedrl.domains.registry import Setting
from appliedrl.envs.multiagent import make_multiagent
from appliedrl.envs.particles import ParticleWorlds

FRAMES = 5  # time steps shown per episode, evenly spaced from the first to the last
FRAME_SIZE = 300  # pixels of a rendered frame's side


def shown_steps(length: int) -> np.ndarray:
    """The time steps shown of an episode of `length` steps (frames 0..length)."""
    return np.unique(np.linspace(0, length, FRAMES).round().astype(int))


def play_frames(worlds: ParticleWorlds, policy: Any, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Frames after the reset and after every step of one seeded episode of a single world (no autoreset), with
    the policy's multi-agent `act`; and each agent's episode return."""
    seed_actions(policy, seed)
    obs = worlds.reset(seed=seed)
    frames = [worlds.render(0, FRAME_SIZE)]
    returns = np.zeros(len(worlds.agents))
    done = False
    while not done:
        with torch.no_grad():
            actions = policy.act(obs, deterministic=True)
        obs, rewards, terminated, truncated, _ = worlds.step(actions)
        frames.append(worlds.render(0, FRAME_SIZE))
        returns += rewards[0].double().cpu().numpy()
        done = bool((terminated | truncated).any())
    return frames, returns


def entity_legend(worlds: ParticleWorlds) -> list[Patch]:
    """One patch per colour the renderer draws, naming the entities drawn in it."""
    names: dict[tuple[int, ...], list[str]] = {}
    for entity, colour in zip(worlds.world.entities, worlds.scenario.entity_colors(worlds.world, 0)):
        if colour is not None:  # the renderer's colour: the entity's, scaled to 0..200
            names.setdefault(tuple((np.clip(colour, 0, 1) * 200).astype(np.uint8)), []).append(entity.name)
    return [Patch(color=np.array(rgb) / 255, label=", ".join(labels)) for rgb, labels in names.items()]


def particles_picture(setting: Setting, policies: dict[str, Any], seed: int) -> Figure:
    """One seeded episode of the setting's world per method (rows), shown at evenly spaced time steps (columns)
    as the world's own rgb_array frames (the camera fits the entities in each frame); every method starts from
    the same world. Rows name each method's mean return per agent."""
    check_policies(policies)
    figure = Figure(figsize=(2.3 * FRAMES + 0.6, 2.5 * len(policies) + 1.2), layout="constrained")
    axes = figure.subplots(len(policies), FRAMES, squeeze=False)
    for row, (name, policy) in zip(axes, policies.items()):
        worlds = make_multiagent(setting.env_id, 1, autoreset=False, **setting.evaluation_kwargs)
        frames, returns = play_frames(worlds, policy, seed)
        for ax, step in zip(row, shown_steps(len(frames) - 1)):
            ax.imshow(frames[step], gid=name)
            ax.set_title(f"t = {step}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(f"{name}\nreturn {returns.mean():.1f}", fontsize=10)
    figure.legend(handles=entity_legend(worlds), loc="outside lower center", ncols=3, fontsize=9,
                  title="entities (the camera fits them in each frame)", title_fontsize=9)
    figure.suptitle(f"particles / {setting.name}: one episode per method (seed {seed})")
    return figure
