"""Small RGB frames for `render_mode="rgb_array"`: a bar chart of a path, drawn with numpy."""

from __future__ import annotations

from typing import Sequence

import numpy as np

FRAME_HEIGHT = 120
BAR_WIDTH = 4
BACKGROUND = (255, 255, 255)
POSITIVE = (31, 119, 180)
NEGATIVE = (214, 39, 40)


def bar_frame(levels: Sequence[float], bars: int, signed: bool = False) -> np.ndarray:
    """Bars of `levels` left to right in a frame `bars` bars wide: heights in [0, 1] of the frame's height, or with
    `signed` in [-1, 1] up (blue) and down (red) from the middle line; values outside are clipped."""
    image = np.empty((FRAME_HEIGHT, BAR_WIDTH * bars, 3), np.uint8)
    image[:] = BACKGROUND
    base = FRAME_HEIGHT // 2 if signed else FRAME_HEIGHT
    for index, level in enumerate(levels[:bars]):
        level = float(np.clip(level, -1.0 if signed else 0.0, 1.0))
        extent = round(abs(level) * base)
        left = BAR_WIDTH * index
        rows = slice(base - extent, base) if level >= 0 else slice(base, base + extent)
        image[rows, left:left + BAR_WIDTH] = POSITIVE if level >= 0 else NEGATIVE
    if signed:
        image[base, :] = 0
    return image


def text_frame(lines: Sequence[str], width: int = 640, line_height: int = 14) -> np.ndarray:
    """Lines of monospace text, black on white, drawn with matplotlib's Agg canvas (no window, no global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = 100
    height = line_height * (len(lines) + 1)
    figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, facecolor="white")
    canvas = FigureCanvasAgg(figure)
    for row, line in enumerate(lines):
        figure.text(0.01, 1 - (row + 1) * line_height / height, line, family="monospace", fontsize=8, va="center")
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
