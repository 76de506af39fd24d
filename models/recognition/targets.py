"""Training targets every recognizer shares: a label as padded ids, and the glyph mask at model input size.

``LabelTargets(charset, max_length)(text, glyph_mask)`` -> ``{"label", "length"}``:

* ``label``: int64 (max_length,), the ids of ``charset.encode(text)`` (``models.recognition.charset``:
  case rule applied, unknown characters dropped), cut to ``max_length``, padded with 0;
* ``length``: int64 0-d array, the number of ids kept; **0 means untrainable** (nothing of the text is
  in the charset): the data loader skips and counts the sample.

``fit_glyph_mask`` brings a crop's glyph mask (same size as the crop) to the model input the way
``preprocess.fit_crop`` brings the crop, for architectures with a segmentation branch.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from models.recognition.charset import Charset, CharsetConfig, charset_of
from models.recognition.config import RecognizerConfig, input_geometry


def encode_label(charset: Charset, text: str, max_length: int) -> dict[str, np.ndarray]:
    """``{"label": int64 (max_length,), "length": int64 0-d}`` of ``text`` (see the module doc)."""
    ids = charset.encode(text)[:max_length]
    label = np.zeros(max_length, np.int64)
    label[: len(ids)] = ids
    return {"label": label, "length": np.array(len(ids), np.int64)}


class LabelTargets:
    """Picklable target maker (data-loader workers get a copy): ``(text, glyph_mask) -> {label, length}``.
    The glyph mask is accepted and ignored (architectures without a segmentation branch)."""

    def __init__(self, charset: CharsetConfig | dict, max_length: int):
        self.charset = charset_of(charset)
        self.max_length = max_length

    def __call__(self, text: str, glyph_mask: np.ndarray | None = None) -> dict[str, np.ndarray]:
        return encode_label(self.charset, text, self.max_length)


def fit_glyph_mask(mask: np.ndarray | None, config: RecognizerConfig | dict,
                   crop_shape: tuple[int, int] | None = None) -> np.ndarray:
    """(H, W) float32 in [0, 1]: ``mask`` (the crop's (h, w) glyph mask, uint8 0..255 or float 0..1) turned,
    resized and padded exactly as ``fit_crop`` treats the crop under ``config``'s geometry.

    With no mask: zeros of the model input size; under a variable width that size depends on the crop,
    so ``crop_shape`` (h, w) must then be given.
    """
    from models.recognition.preprocess import fit_crop  # cv2: imported on use, not with the task registry

    geometry = input_geometry(config)
    if mask is None:
        if geometry["width"] is None and crop_shape is None:
            raise ValueError("fit_glyph_mask: no mask and a variable input width: pass the crop's crop_shape")
        shape: Any = crop_shape or (geometry["height"], geometry["width"])
        return fit_glyph_mask(np.zeros(shape[:2], np.float32), config)
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"glyph mask must be (h, w), got shape {mask.shape}")
    scale = 255.0 if mask.dtype == np.uint8 else 1.0
    # fit_crop works on uint8 RGB: carry the mask as three equal 8-bit channels
    as_rgb = np.repeat(np.clip(mask.astype(np.float32) / scale * 255.0 + 0.5, 0, 255).astype(np.uint8)[..., None],
                       3, axis=2)
    return fit_crop(as_rgb, **geometry)[..., 0].astype(np.float32) / 255.0
