"""Connect four heuristics, read from PettingZoo's observation planes (6 rows from the top, 7 columns; plane 0 the
mover's pieces, plane 1 the opponent's)."""

from __future__ import annotations

from typing import Any

import numpy as np

ROWS, COLUMNS = 6, 7


def _lines() -> np.ndarray:
    """The 69 four-in-a-row lines of the board, as flat cell indices [69, 4]."""
    lines = []
    for row in range(ROWS):
        for column in range(COLUMNS):
            for d_row, d_column in ((0, 1), (1, 0), (1, 1), (-1, 1)):
                cells = [(row + k * d_row, column + k * d_column) for k in range(4)]
                if all(0 <= r < ROWS and 0 <= c < COLUMNS for r, c in cells):
                    lines.append([r * COLUMNS + c for r, c in cells])
    return np.array(lines)


LINES = _lines()


class OnePly:
    """Win if a move wins, else block the opponent's immediate win, else a uniformly random legal move."""

    def __init__(self, seed: int = 0) -> None:
        self.seed_actions(seed)

    def seed_actions(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def predict(self, obs: Any, mask: Any = None, deterministic: bool = True) -> np.ndarray:
        """Columns for one observation [6, 7, 2] or a batch; ties are broken at random either way."""
        boards = np.asarray(obs, dtype=bool)
        single = boards.ndim == 3
        boards = boards.reshape(-1, ROWS, COLUMNS, 2)
        n = len(boards)
        heights = boards.any(-1).sum(1)  # pieces per column [n, 7]
        legal = heights < ROWS if mask is None else np.asarray(mask, dtype=bool).reshape(n, COLUMNS)
        landing = (ROWS - 1 - np.minimum(heights, ROWS - 1)) * COLUMNS + np.arange(COLUMNS)  # flat cell [n, 7]
        drop = np.zeros((n, COLUMNS, ROWS * COLUMNS), bool)
        drop[np.arange(n)[:, None], np.arange(COLUMNS), landing] = True

        def completes_line(plane: np.ndarray) -> np.ndarray:
            """[n, 7]: a piece of `plane`'s player dropped in each column completes a line."""
            after = plane.reshape(n, 1, ROWS * COLUMNS) | drop
            return after[:, :, LINES].all(-1).any(-1)

        # Tiers: a win beats a block beats any legal move; the random part (< 1) breaks ties within a tier.
        scores = self.rng.random((n, COLUMNS)) + 4 * completes_line(boards[..., 0]) + 2 * completes_line(boards[..., 1])
        actions = np.where(legal, scores, -np.inf).argmax(-1)
        return actions[0] if single else actions
