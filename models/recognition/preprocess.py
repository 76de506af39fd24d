"""Word crops to recognizer input, the same way in training, evaluation and inference.

A crop is resized to the model's height ``H``; tall crops (vertical text) are first rotated a quarter
turn counter-clockwise so their reading direction runs left to right. Width:

* ``fixed``: the crop is resized to ``H x W`` (aspect kept, the rest padded with zeros on the right
  when ``keep_ratio``; stretched otherwise);
* variable (``width=None``): the aspect ratio is kept and the width rounded to a multiple of
  ``width_multiple`` (4 by default; 1 keeps the exact scaled width), between ``H // 2`` and
  ``max_width``; a batch is then padded on the right to its widest crop.

Normalisation to model input is the training loop's (ImageNet mean / std on RGB), as for detection.
"""
from __future__ import annotations

import cv2
import numpy as np

TALL_RATIO = 1.5  # height / width above which a crop is read as vertical text


def upright(image: np.ndarray, rotate_tall: bool = True) -> np.ndarray:
    """(h, w, 3) crop with vertical text turned to run left to right."""
    h, w = image.shape[:2]
    if rotate_tall and h > TALL_RATIO * w:
        return np.ascontiguousarray(np.rot90(image, k=1))
    return image


def fit_crop(image: np.ndarray, height: int, width: int | None, keep_ratio: bool = True, max_width: int = 256,
             rotate_tall: bool = True, width_multiple: int = 4) -> np.ndarray:
    """(height, W, 3) uint8 of an (h, w, 3) RGB crop: W = ``width``, or the kept aspect (see the module doc)."""
    image = upright(image, rotate_tall)
    h, w = image.shape[:2]
    if h == 0 or w == 0:
        raise ValueError(f"empty crop of shape {image.shape}")
    scaled = max(1, round(w * height / h))
    if width is None:
        target = int(np.clip(round(scaled / width_multiple) * width_multiple, max(4, height // 2), max_width))
        return cv2.resize(image, (target, height), interpolation=cv2.INTER_LINEAR)
    if not keep_ratio:
        return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    new_w = min(width, scaled)
    out = np.zeros((height, width, 3), np.uint8)
    out[:, :new_w] = cv2.resize(image, (new_w, height), interpolation=cv2.INTER_LINEAR)
    return out


PAD_MODES = ("edge", "zeros")


def pad_batch(images: list[np.ndarray], pad: str = "zeros") -> np.ndarray:
    """(B, H, Wmax, 3) uint8: crops of one height padded on the right to the widest one, with zeros or
    (``pad="edge"``) with each crop's last column repeated."""
    if pad not in PAD_MODES:
        raise ValueError(f"pad {pad!r}: valid modes are {', '.join(PAD_MODES)}")
    height = images[0].shape[0]
    if any(im.shape[0] != height for im in images):
        raise ValueError(f"crops of one batch must share a height; got {sorted({im.shape[0] for im in images})}")
    widest = max(im.shape[1] for im in images)
    out = np.zeros((len(images), height, widest, 3), np.uint8)
    for i, im in enumerate(images):
        out[i, :, : im.shape[1]] = im
        if pad == "edge":
            out[i, :, im.shape[1]:] = im[:, -1:]
    return out
