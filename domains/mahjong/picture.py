"""The sanma domain's picture: each method's score through one seeded game against the setting's opponents."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from appliedrl.domains.pictures import check_policies, evaluation_env, method_style, play_episode
from appliedrl.domains.registry import Setting
from appliedrl.envs.mahjong.encoding import START

START_POINTS = 35_000


def sanma_picture(setting: Setting, policies: dict[str, Any], seed: int) -> Figure:
    """Each method's score after each of its decisions in one seeded game, the method in the first dealer's seat
    against the setting's evaluation opponents, with its final rank: where a method wins and loses its points,
    which the rank rates of compare's table do not show."""
    check_policies(policies)
    figure = Figure(figsize=(8.0, 4.2), layout="constrained")
    ax = figure.subplots()
    for index, (name, policy) in enumerate(policies.items()):
        env = evaluation_env(setting)
        try:
            episode = play_episode(env, policy, seed)
        finally:
            env.close()
        # scores are whole hundreds, stored as score / 100,000 in float32
        scores = [round(float(obs[0, START["scores"]]) * 1_000) * 100 for obs in episode.observations[:-1]]
        scores.append(episode.infos[-1]["episode_metrics"]["final_score"])
        rank = episode.infos[-1]["episode_metrics"]["rank"]
        ax.plot(range(len(scores)), scores, label=f"{name}: rank {rank:.0f}, {scores[-1]:,.0f}", gid=name,
                **method_style(index))
    ax.axhline(START_POINTS, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("the method's decisions")
    ax.set_ylabel("its score (points)")
    ax.legend(loc="best", fontsize="small")
    opponents = ", ".join(map(str, setting.evaluation_kwargs.get("opponents", [])))
    figure.suptitle(f"{setting.name}: one game (seed {seed}) against {opponents}")
    return figure
