"""The games domain's picture: the final boards of one seeded connect-four deal per method."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle

from appliedrl.domains.games.connect_four import COLUMNS, LINES, ROWS
from appliedrl.domains.pictures import check_policies, evaluation_env, play_episode
from appliedrl.domains.registry import Setting

BOARD, EMPTY = "#1f4e9c", "white"
PIECES = ("#d62728", "#f2c000")  # the method's, the opponent's
SEATS = ("moves first", "moves second")
OUTCOMES = ("win", "draw", "loss")


def final_board(observation: np.ndarray) -> np.ndarray:
    """[6, 7] from the method's final observation (planes: its pieces, the opponent's): 0 empty, 1 the method's
    piece, 2 the opponent's; row 0 is the top."""
    planes = np.asarray(observation, dtype=bool)
    return planes[..., 0] + 2 * planes[..., 1]


def draw_board(ax: Any, board: np.ndarray, name: str) -> None:
    """Pieces as discs on a blue board, with a line through every completed four."""
    ax.set_facecolor(BOARD)
    for row in range(ROWS):
        for column in range(COLUMNS):
            colour = EMPTY if board[row, column] == 0 else PIECES[board[row, column] - 1]
            ax.add_patch(Circle((column, ROWS - 1 - row), 0.4, facecolor=colour, edgecolor="none", gid=name))
    cells = board.ravel()
    for line in LINES:
        if cells[line[0]] and (cells[line] == cells[line[0]]).all():
            rows, columns = np.divmod(line, COLUMNS)
            ax.plot(columns, ROWS - 1 - rows, color="black", lw=3, solid_capstyle="round")
    ax.set_xlim(-0.5, COLUMNS - 0.5)
    ax.set_ylim(-0.5, ROWS - 0.5)
    ax.set_aspect("equal")
    ax.set_xticks(range(COLUMNS))
    ax.set_yticks([])


def connect_four_picture(setting: Setting, policies: dict[str, Any], seed: int) -> Figure:
    """The final boards of one seeded deal per method (rows): the same game seed and evaluation opponent, the
    method moving first, then second (the single-seat env's seat rotation). Boards rather than win rates, which
    compare's table already gives: a board shows how a method wins or loses (a line it built, a threat it left
    open)."""
    check_policies(policies)
    figure = Figure(figsize=(7.0, 2.9 * len(policies) + 1.2), layout="constrained")
    axes = figure.subplots(len(policies), len(SEATS), squeeze=False)
    for row, (name, policy) in zip(axes, policies.items()):
        env = evaluation_env(setting)
        try:
            deal = [play_episode(env, policy, seed if seat == 0 else None) for seat in range(len(SEATS))]
        finally:
            env.close()
        for ax, seat, episode in zip(row, SEATS, deal):
            outcome = next(key for key in OUTCOMES if episode.infos[-1]["episode_metrics"][key])
            draw_board(ax, final_board(episode.observations[-1]), name)
            ax.set_title(f"{name} {seat}: {outcome}", fontsize=10)
    opponents = ", ".join(map(str, setting.evaluation_kwargs.get("opponents", ())))
    handles = [Line2D([], [], ls="none", marker="o", markersize=11, markerfacecolor=colour, markeredgecolor="none",
                      label=label) for colour, label in zip(PIECES, ("the method", f"the opponent ({opponents})"))]
    figure.legend(handles=handles, loc="outside lower center", ncols=2, facecolor="#dddddd")
    figure.suptitle(f"games / {setting.name}: final boards of one deal (seed {seed})")
    return figure
