"""Shared recognition targets: labels as padded ids, glyph masks brought to the model input like the crop."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from models.recognition.charset import charset_of
from models.recognition.config import RecognizerConfig
from models.recognition.preprocess import fit_crop
from models.recognition.targets import LabelTargets, encode_label, fit_glyph_mask

LOWER36 = charset_of({"kind": "lower36"})


def test_label_is_padded_ids_after_the_charset_rule():
    out = encode_label(LOWER36, "Ab-1", max_length=6)  # lower-cased, '-' dropped
    assert out["label"].dtype == np.int64 and out["label"].tolist() == [11, 12, 2, 0, 0, 0]
    assert out["length"].dtype == np.int64 and out["length"].shape == () and int(out["length"]) == 3


def test_a_long_label_is_cut_and_an_unknown_one_is_untrainable():
    assert encode_label(LOWER36, "abcdef", max_length=4)["label"].tolist() == [11, 12, 13, 14]
    assert int(encode_label(LOWER36, "abcdef", max_length=4)["length"]) == 4
    empty = encode_label(LOWER36, "!?", max_length=3)
    assert empty["label"].tolist() == [0, 0, 0] and int(empty["length"]) == 0


def test_label_targets_pickle_and_ignore_the_mask():
    maker = pickle.loads(pickle.dumps(LabelTargets({"kind": "printable94"}, 5)))
    out = maker("Hi!", np.ones((4, 4), np.float32))
    assert sorted(out) == ["label", "length"] and int(out["length"]) == 3


def test_glyph_mask_is_fitted_like_its_crop():
    config = RecognizerConfig(arch="x", height=32, width=100)
    mask = np.zeros((20, 40), np.uint8)
    mask[5:15, 10:30] = 255
    crop = np.repeat(mask[..., None], 3, axis=2)
    fitted = fit_glyph_mask(mask, config)
    assert fitted.shape == (32, 100) and fitted.dtype == np.float32
    np.testing.assert_allclose(fitted, fit_crop(crop, 32, 100)[..., 0] / 255.0)
    assert fitted[:, 64:].max() == 0.0  # keep_ratio: 40 px at height 32 -> 64 px, the rest padding


def test_a_tall_crops_mask_is_turned_with_it_and_float_masks_keep_their_scale():
    config = RecognizerConfig(arch="x", height=16, width=None)
    mask = np.zeros((60, 20), np.float32)
    mask[:10] = 1.0  # the top of a vertical word: its first characters
    fitted = fit_glyph_mask(mask, config)
    assert fitted.shape == (16, 48) and fitted.max() == 1.0
    assert fitted[:, :8].min() == 1.0 and fitted[:, -8:].max() == 0.0  # turned as fit_crop turns: top -> left


def test_no_mask_gives_zeros_of_the_input_size():
    assert fit_glyph_mask(None, RecognizerConfig(arch="x", height=32, width=100)).shape == (32, 100)
    variable = RecognizerConfig(arch="x", height=32, width=None)
    assert fit_glyph_mask(None, variable, crop_shape=(16, 64)).shape == (32, 128)
    assert fit_glyph_mask(None, variable, crop_shape=(16, 64)).max() == 0.0
    with pytest.raises(ValueError, match="pass the crop's crop_shape"):
        fit_glyph_mask(None, variable)
    with pytest.raises(ValueError, match=r"glyph mask must be \(h, w\), got shape \(4, 4, 3\)"):
        fit_glyph_mask(np.zeros((4, 4, 3), np.uint8), variable)
