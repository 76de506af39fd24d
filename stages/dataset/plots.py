"""Report plots every stage makes the same way: matplotlib's object API (``Figure`` + Agg canvas, no pyplot
global state, no display), titles wrapped to the width they have, saved as PNG.
"""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

TITLE_SIZE = 11
_TITLE_SHARE = 0.95  # of the axes' width a title line may take (tight_layout still nudges the axes after)


def new_figure(width: float, height: float, rows: int = 1, cols: int = 1) -> tuple[Any, Any]:
    """(figure, rows x cols array of axes) of ``width`` x ``height`` inches at 100 dpi."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(rows, cols, squeeze=False)


def fit_title(ax: Any, text: str, size: float = TITLE_SIZE) -> None:
    """Set ``ax``'s title, wrapped onto as many lines as it needs so that none is wider than the axes
    (a long test-set or model name otherwise runs off the figure or into the next plot's title)."""
    renderer = ax.figure.canvas.get_renderer()
    room = ax.get_window_extent(renderer).width * _TITLE_SHARE
    title = ax.set_title(text, fontsize=size)
    chars = len(text)
    while chars > 8 and title.get_window_extent(renderer).width > room:
        chars = max(8, int(chars * 0.85))
        title.set_text("\n".join(textwrap.wrap(text, chars, break_long_words=True)))


def save_figure(fig: Any, out: Path) -> None:
    """Lay the figure out (titles, labels and legends inside it) and write it as a PNG.

    Laying out narrows the axes, so every title is wrapped again to its axes' final width."""
    fig.tight_layout()
    for ax in fig.axes:
        text = ax.get_title()
        if text:
            fit_title(ax, " ".join(text.split("\n")), ax.title.get_fontsize())
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
