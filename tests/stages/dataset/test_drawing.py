"""Drawn samples carry a colour legend; plot titles stay inside their figure; image keys MLflow accepts."""
from __future__ import annotations

import re

import numpy as np

from stages.dataset.drawing import (
    DONT_CARE_BGR,
    GT_BGR,
    PRED_BGR,
    STRIP_BGR,
    SWATCH,
    image_key,
    to_rgb,
    with_legend,
)
from stages.dataset.plots import fit_title, new_figure, save_figure

ENTRIES = [("ground truth", GT_BGR), ("don't care", DONT_CARE_BGR), ("detection", PRED_BGR)]


def swatch_pixels(strip: np.ndarray, colour) -> int:
    """How many pixels of ``strip`` are exactly ``colour`` (same channel order): a swatch gives SWATCH², and
    anti-aliased label text may add a few."""
    return int(np.all(strip == np.asarray(colour, np.uint8), axis=-1).sum())


def test_legend_strip_under_the_image_has_a_swatch_of_each_colour(tmp_path):
    image = np.full((120, 400, 3), 30, np.uint8)
    drawn = with_legend(image, ENTRIES)
    assert drawn.shape[1] == 400 and drawn.shape[0] > 120
    assert np.array_equal(drawn[:120], image)  # the picture itself is untouched
    strip = drawn[120:]
    for _, colour in ENTRIES:
        assert swatch_pixels(strip, colour) >= SWATCH * SWATCH
    assert np.all(strip[:, -1] == STRIP_BGR)  # a white strip, labels and swatches inside it


def test_a_narrow_image_is_padded_so_every_entry_fits():
    drawn = with_legend(np.zeros((40, 30, 3), np.uint8), ENTRIES)
    assert drawn.shape[1] > 30
    for _, colour in ENTRIES:
        assert swatch_pixels(drawn[40:], colour) >= SWATCH * SWATCH
    rgb = to_rgb(drawn)
    assert swatch_pixels(rgb[40:], PRED_BGR[::-1]) >= SWATCH * SWATCH  # red stays red in RGB order


def test_image_keys_hold_only_what_mlflow_accepts():
    key = image_key("baseline", "test set", "img:7/ü")
    assert key == "samples/baseline.test_set.img_7__"
    assert re.fullmatch(r"[A-Za-z0-9_\-./ ]+", key)


def test_a_long_title_is_wrapped_inside_its_figure_and_clear_of_its_neighbours(tmp_path):
    fig, axes = new_figure(8, 3, 1, 3)
    for ax in axes[0]:
        fit_title(ax, "pseudo-labels vs hidden ground truth of icdar2015_test_incidental (dots: kept by the rule)")
        ax.set(xlabel="recall", ylabel="precision")
    save_figure(fig, tmp_path / "plot.png")
    assert (tmp_path / "plot.png").stat().st_size > 0
    assert_titles_fit(fig)


def assert_titles_fit(fig) -> None:
    """Every axes title lies inside the figure and overlaps no other title (checked after drawing)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [ax.title.get_window_extent(renderer) for ax in fig.axes if ax.get_title()]
    assert boxes
    for box in boxes:
        assert 0 <= box.x0 and box.x1 <= fig.bbox.width and 0 <= box.y0 and box.y1 <= fig.bbox.height, box
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b)
