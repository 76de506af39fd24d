"""CRAFT's per-crop targets (word rows and the don't-care mask) and the Gaussian heatmap drawing."""
from __future__ import annotations

import numpy as np
import pytest

from models.detection.craft_config import TargetsConfig
from models.detection.craft_heatmaps import affinity_box, draw_gaussian, draw_word
from models.detection.craft_targets import CraftTargets, unpack_words


def rect(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def test_words_rows_hold_box_length_weight_and_valid_flag():
    make = CraftTargets(TargetsConfig(max_words=4))
    out = make(64, 48, [rect(4, 8, 40, 20), rect(0, 30, 20, 46)], [False, False], [1.0, 0.5], ["Hello", "ab"])
    words, mask = out["words"], out["mask"]
    assert words.shape == (4, 11) and words.dtype == np.float32
    assert mask.shape == (32, 24) and mask.dtype == np.float32
    # boxes at the score maps' half resolution, clockwise from the top-left corner
    np.testing.assert_allclose(words[0, :8], [2, 4, 20, 4, 20, 10, 2, 10])
    assert words[0, 8:].tolist() == [5.0, 1.0, 1.0]
    np.testing.assert_allclose(words[1, :8], [0, 15, 10, 15, 10, 23, 0, 23], atol=1e-5)
    assert words[1, 8:].tolist() == [2.0, 0.5, 1.0]
    assert not words[2:].any()
    assert mask.min() == 1.0
    (box, length, weight), _ = unpack_words(words)
    assert length == 5 and weight == 1.0 and box.shape == (4, 2)


@pytest.mark.parametrize("ignore, text", [(True, "word"), (False, "###"), (False, "")])
def test_words_without_a_usable_count_are_masked_not_trained(ignore, text):
    out = CraftTargets(TargetsConfig())(64, 64, [rect(8, 8, 40, 24)], [ignore], [1.0], [text])
    assert not out["words"].any()
    mask = out["mask"]
    # the word spans x 4..20, y 4..12 at half resolution; every pixel its outline touches is masked
    # (generous on purpose: the edge of a don't-care word is never trained as background)
    assert mask[8, 12] == 0.0 and mask[4, 4] == 0.0 and mask[12, 20] == 0.0
    assert mask[3, 12] == 1.0 and mask[13, 12] == 1.0 and mask[8, 3] == 1.0 and mask[8, 21] == 1.0
    assert mask.sum() == 32 * 32 - 9 * 17


def test_words_past_max_words_are_masked():
    polys = [rect(0, 0, 16, 8), rect(0, 16, 16, 24), rect(0, 32, 16, 40)]
    out = CraftTargets(TargetsConfig(max_words=2))(64, 64, polys, [False] * 3, [1.0] * 3, ["ab", "cd", "ef"])
    assert out["words"][:, 10].tolist() == [1.0, 1.0]
    assert out["mask"][18, 4] == 0.0 and out["mask"][10, 4] == 1.0


def test_mismatched_lists_raise():
    with pytest.raises(ValueError, match="texts must match"):
        CraftTargets(TargetsConfig())(64, 64, [rect(0, 0, 8, 8)], [False], [1.0], [])


def test_region_gaussian_peaks_at_the_box_centre():
    canvas = np.zeros((40, 60), np.float32)
    draw_gaussian(canvas, rect(10, 6, 30, 26))  # centre (20, 16): between pixels 19/20 and 15/16
    y, x = np.unravel_index(np.argmax(canvas), canvas.shape)
    assert x in (19, 20) and y in (15, 16)
    assert canvas[15:17, 19:21].min() > 0.98
    assert canvas[:6].max() == 0 and canvas[:, 31:].max() == 0  # nothing outside the box
    np.testing.assert_allclose(canvas[16, 10:20], canvas[16, 20:30][::-1], atol=1e-3)  # symmetric


def test_rotated_box_gaussian_peaks_at_its_centre():
    canvas = np.zeros((60, 60), np.float32)
    diamond = np.array([[30, 10], [50, 30], [30, 50], [10, 30]], np.float32)
    draw_gaussian(canvas, diamond)
    y, x = np.unravel_index(np.argmax(canvas), canvas.shape)
    assert abs(x + 0.5 - 30) <= 1 and abs(y + 0.5 - 30) <= 1
    assert canvas[12, 12] == 0  # outside the diamond, inside its bounding square


def test_affinity_box_joins_the_triangle_centres_of_neighbours():
    box = affinity_box(rect(0, 0, 10, 10), rect(10, 0, 20, 10))
    np.testing.assert_allclose(box, [[5, 5 / 3], [15, 5 / 3], [15, 25 / 3], [5, 25 / 3]], atol=1e-5)


def test_word_affinity_peaks_between_adjacent_characters():
    region = np.zeros((20, 40), np.float32)
    affinity = np.zeros((20, 40), np.float32)
    draw_word(region, affinity, np.stack([rect(0, 0, 10, 10), rect(10, 0, 20, 10), rect(20, 0, 30, 10)]))
    peaks = [int(np.argmax(affinity[5, a:b])) + a for a, b in ((0, 15), (15, 25))]
    assert peaks[0] in (9, 10) and peaks[1] in (19, 20)  # at the boundaries x = 10 and x = 20
    assert affinity[5, 9] > 0.9 and affinity[5, 4] == 0 and affinity[5, 30:].max() == 0
    assert [int(np.argmax(region[5, a:a + 10])) + a for a in (0, 10, 20)] == [4, 14, 24]
