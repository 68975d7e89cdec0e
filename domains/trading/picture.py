"""The trading domain's pictures: execution schedules against the Almgren–Chriss curve, and market makers' quotes
against their inventory."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter

from appliedrl.domains.pictures import Episode, check_policies, evaluation_env, method_style, play_episode
from appliedrl.domains.registry import Setting
from appliedrl.envs.trading.execution import almgren_chriss_holdings


def _play(setting: Setting, policies: dict[str, Any], seed: int) -> tuple[dict[str, Episode], Any]:
    """One seeded episode of the setting's evaluation env per method, and the (last) env's unwrapped instance."""
    episodes = {}
    for name, policy in policies.items():
        env = evaluation_env(setting)
        try:
            episodes[name] = play_episode(env, policy, seed)
        finally:
            env.close()
    return episodes, env.unwrapped


def holdings_of(episode: Episode, shares: float) -> np.ndarray:
    """Shares held before the first step and after each step, from the shares the env reports traded."""
    return shares - np.concatenate([[0.0], np.cumsum([info["shares_traded"] for info in episode.infos])])


def execution_picture(setting: Setting, policies: dict[str, Any], seed: int) -> Figure:
    """Shares remaining after each step for each method over one seeded episode, against the Almgren–Chriss
    closed-form schedule at the average liquidity; below, the episode's impact multiplier per step, which every
    method faces alike (prices and liquidity do not depend on the actions)."""
    check_policies(policies)
    episodes, env = _play(setting, policies, seed)
    params = env.params
    figure = Figure(figsize=(10.0, 7.5), layout="constrained")
    schedule, liquidity = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    steps = np.arange(params.steps + 1)
    for index, (name, episode) in enumerate(episodes.items()):
        objective = episode.infos[-1]["episode_metrics"]["objective"]
        schedule.plot(steps, holdings_of(episode, params.shares), lw=1.6, gid=name,
                      label=f"{name} (objective ${objective:,.0f})", **method_style(index))
    schedule.plot(steps, almgren_chriss_holdings(params), color="black", ls=(0, (4, 3)), lw=1.2,
                  gid="almgren-chriss closed form", label="Almgren–Chriss closed form (average liquidity)")
    schedule.set_ylabel("shares remaining")
    schedule.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    schedule.set_ylim(bottom=0.0)
    schedule.grid(alpha=0.3)
    schedule.legend(loc="upper right", fontsize=9)
    multipliers = [info["liquidity"] for info in next(iter(episodes.values())).infos]
    liquidity.stairs(multipliers, steps, color="grey", baseline=None, gid="liquidity")
    liquidity.axhline(1.0, color="black", lw=0.6)
    liquidity.set_ylabel("impact multiplier")
    liquidity.set_xlabel(f"step ({params.liquidity} liquidity; each step lasts τ = {params.tau:g})")
    liquidity.grid(alpha=0.3)
    figure.suptitle(f"trading / {setting.name}: execution schedule of {params.shares:,.0f} shares ({params.side}), "
                    f"one episode (seed {seed})")
    return figure


def market_making_picture(setting: Setting, policies: dict[str, Any], seed: int) -> Figure:
    """Each method's bid and ask depths at every step of one seeded episode (above) and the inventory it held while
    quoting (below), one column per method: how a market maker skews its quotes as its inventory moves. Every
    method faces the same market orders and midprice (common random numbers)."""
    check_policies(policies)
    episodes, _ = _play(setting, policies, seed)
    figure = Figure(figsize=(4.0 * len(episodes) + 1.0, 6.5), layout="constrained")
    axes = figure.subplots(2, len(episodes), sharex=True, squeeze=False, height_ratios=(3, 2))
    for ax in axes[1, 1:]:  # inventories on one scale; each method's quotes on its own (random's span them all)
        ax.sharey(axes[1, 0])
    for (quotes, inventory), (name, episode) in zip(axes.T, episodes.items()):
        steps = np.arange(len(episode.infos))
        quotes.step(steps, [info["bid_depth"] for info in episode.infos], where="post", color="C0", lw=1.1,
                    label="bid depth", gid=name)
        quotes.step(steps, [info["ask_depth"] for info in episode.infos], where="post", color="C3", lw=1.1,
                    label="ask depth", gid=name)
        inventory.step(steps, [info["quoting_inventory"] for info in episode.infos], where="post", color="C2",
                       lw=1.3, label="inventory held while quoting", gid=name)
        inventory.axhline(0.0, color="black", lw=0.6, zorder=1)
        inventory.set_xlabel("step")
        metrics = episode.infos[-1]["episode_metrics"]
        quotes.set_title(f"{name}\nobjective {metrics['objective']:.2f}, {metrics['fills']:.0f} fills", fontsize=10)
        for ax in (quotes, inventory):
            ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("quote depth from the midprice")
    axes[1, 0].set_ylabel("inventory (units)")
    handles, labels = [sum(pair, []) for pair in zip(axes[0, 0].get_legend_handles_labels(),
                                                     axes[1, 0].get_legend_handles_labels())]
    figure.legend(handles, labels, loc="outside lower center", ncols=3)
    figure.suptitle(f"trading / {setting.name}: quotes and inventory, one episode (seed {seed})")
    return figure
