"""Crop preprocessing: fixed and variable width, vertical crops turned, batches padded."""
from __future__ import annotations

import numpy as np
import pytest

from models.recognition.preprocess import fit_crop, pad_batch, upright


def test_fixed_width_keeps_aspect_and_pads_right():
    crop = np.full((20, 40, 3), 200, np.uint8)
    out = fit_crop(crop, 32, 100)
    assert out.shape == (32, 100, 3)
    assert (out[:, :64] == 200).all() and (out[:, 64:] == 0).all()


def test_fixed_width_without_keep_ratio_stretches():
    out = fit_crop(np.full((20, 40, 3), 9, np.uint8), 32, 100, keep_ratio=False)
    assert out.shape == (32, 100, 3) and (out == 9).all()


def test_variable_width_rounds_to_four_within_bounds():
    assert fit_crop(np.zeros((10, 33, 3), np.uint8), 32, None).shape == (32, 104, 3)
    assert fit_crop(np.zeros((10, 500, 3), np.uint8), 32, None, max_width=128).shape == (32, 128, 3)
    assert fit_crop(np.zeros((40, 30, 3), np.uint8), 32, None).shape == (32, 24, 3)


def test_tall_crops_are_turned_counter_clockwise():
    crop = np.zeros((60, 20, 3), np.uint8)
    crop[0, 0] = 255  # top-left corner ends up bottom-left
    turned = upright(crop)
    assert turned.shape == (20, 60, 3) and turned[19, 0, 0] == 255
    assert upright(crop, rotate_tall=False).shape == (60, 20, 3)


def test_pad_batch_pads_to_the_widest_and_rejects_mixed_heights():
    batch = pad_batch([np.ones((32, 40, 3), np.uint8), np.ones((32, 64, 3), np.uint8)])
    assert batch.shape == (2, 32, 64, 3) and batch[0, :, 40:].sum() == 0
    with pytest.raises(ValueError, match="share a height"):
        pad_batch([np.ones((32, 4, 3), np.uint8), np.ones((16, 4, 3), np.uint8)])


def test_width_multiple_1_keeps_the_exact_scaled_width():
    crop = np.zeros((10, 33, 3), np.uint8)  # 33 * 32 / 10 = 105.6 -> 106
    assert fit_crop(crop, 32, None).shape == (32, 104, 3)  # the default rounds to a multiple of 4
    assert fit_crop(crop, 32, None, width_multiple=1).shape == (32, 106, 3)
