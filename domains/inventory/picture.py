"""The inventory domain's picture: each location's stock over one seeded episode per method."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from appliedrl.domains.pictures import check_policies, evaluation_env, method_style, play_episode
from appliedrl.domains.registry import Setting
from appliedrl.envs.inventory import InventoryProblem

LEGEND_WIDTH = 3.8  # inches per legend column
OFF_SCALE = 3.0  # a method whose stock peaks above this many times the median method's peak is clipped


def stock_levels(observations: np.ndarray, problem: InventoryProblem) -> tuple[np.ndarray, np.ndarray]:
    """(on hand, on the way) per node [periods, nodes] from observations [periods, obs]: on-hand stock first,
    then each node's pipeline slots (the env's layout)."""
    n, slots = problem.n_nodes, max(problem.max_lead_time - 1, 0)
    pipeline = observations[:, n:n + n * slots].reshape(len(observations), n, slots)
    return observations[:, :n], pipeline.sum(-1)


def node_names(problem: InventoryProblem) -> list[str]:
    """Stores first, then upstream nodes counted from the stores, each with its lead time."""
    stores = ["store"] if problem.n_stores == 1 else [f"store {s}" for s in range(problem.n_stores)]
    upstream = [f"upstream node {k}" for k in range(1, problem.n_nodes - problem.n_stores + 1)]
    return [f"{name} (lead time {lead})" for name, lead in zip(stores + upstream, problem.lead_times)]


def fit_axis(ax: Any, series: dict[str, np.ndarray]) -> None:
    """Fit the y-axis to the methods whose peak stock is within OFF_SCALE times the median method's, so a method
    that hoards (random orders) does not flatten the others; the clipped ones are named with their peak."""
    peaks = {name: float(np.abs(values).max()) for name, values in series.items()}
    scale = OFF_SCALE * max(float(np.median(list(peaks.values()))), 1.0)
    kept = [values for name, values in series.items() if peaks[name] <= scale]
    if len(kept) == len(series):
        return
    low, high = min(float(v.min()) for v in kept), max(float(v.max()) for v in kept)
    pad = 0.08 * max(high - low, 1.0)
    ax.set_ylim(min(low, 0.0) - pad, high + pad)
    clipped = ", ".join(f"{name} (peak {peaks[name]:.0f})" for name in series if peaks[name] > scale)
    ax.text(0.99, 0.97, f"off the scale: {clipped}", transform=ax.transAxes, ha="right", va="top", fontsize=8,
            bbox=dict(facecolor="white", alpha=0.85, edgecolor="none"))


def inventory_picture(setting: Setting, policies: dict[str, Any], seed: int) -> Figure:
    """On-hand stock and stock on the way at every location, at the start of each period (after arrivals, before
    ordering: what the env observes), over one seeded episode per method. Demand does not depend on the orders,
    so every method faces the same demand; the legend gives each method's average cost in that episode."""
    check_policies(policies)
    levels, costs = {}, {}
    for name, policy in policies.items():
        env = evaluation_env(setting)
        try:
            episode = play_episode(env, policy, seed)
            problem = env.unwrapped.problem
        finally:
            env.close()
        levels[name] = stock_levels(np.asarray(episode.observations), problem)
        costs[name] = episode.infos[-1]["episode_metrics"]["average_cost"]

    nodes = node_names(problem)
    width = 4.5 * len(nodes) + 3.5
    figure = Figure(figsize=(width, 7.5), layout="constrained")
    axes = figure.subplots(2, len(nodes), sharex=True, squeeze=False)
    periods = np.arange(len(episode.observations))
    on_hand_label = "units on hand" + ("" if problem.lost_sales else " (below 0: backlog)")
    for node, title in enumerate(nodes):
        top, bottom = axes[0, node], axes[1, node]
        for index, (name, (on_hand, on_the_way)) in enumerate(levels.items()):
            label = f"{name} (average cost {costs[name]:.2f})"
            top.plot(periods, on_hand[:, node], lw=1.3, label=label, gid=name, **method_style(index))
            bottom.plot(periods, on_the_way[:, node], lw=1.3, label=label, gid=name, **method_style(index))
        top.set_title(title)
        top.axhline(0.0, color="black", lw=0.6)
        bottom.set_xlabel("period")
        for row, ax in enumerate((top, bottom)):
            fit_axis(ax, {name: stock[row][:, node] for name, stock in levels.items()})
            ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel(on_hand_label)
    axes[1, 0].set_ylabel("units on the way (ordered, not arrived)")
    figure.suptitle(f"inventory / {setting.name}: stock at the start of each period, one episode (seed {seed})")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    columns = max(1, min(len(labels), int(width // LEGEND_WIDTH)))
    figure.legend(handles, labels, loc="outside lower center", ncols=columns)
    return figure
