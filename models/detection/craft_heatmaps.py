"""CRAFT's region and affinity target maps drawn from character boxes (numpy / cv2, no torch).

Region: a 2-D Gaussian warped into every character box (peak 1 at the box centre).
Affinity: the same Gaussian warped into the box joining two neighbouring characters: each character
box is split by its diagonals into four triangles; the affinity box runs through the centres of the
upper and lower triangles of the first character and of the second (the CRAFT paper's construction).
Overlapping Gaussians keep the larger value. Boxes are (4, 2) pixel-corner coordinates ordered
top-left, top-right, bottom-right, bottom-left along the reading direction.
"""
from __future__ import annotations

import cv2
import numpy as np

TEMPLATE_SIZE = 64
# Standard deviation as a fraction of the box side: the Gaussian falls to ~0.4 (CRAFT's default
# low_text threshold) at ~60 % of the way to the box edge, so decoded characters stay inside their box.
SIGMA_RATIO = 0.22


def gaussian_template(size: int = TEMPLATE_SIZE, sigma_ratio: float = SIGMA_RATIO) -> np.ndarray:
    """A (size, size) float32 isotropic Gaussian, 1 at the centre, sampled at pixel centres."""
    centres = (np.arange(size, dtype=np.float32) + 0.5) / size - 0.5  # in box units, 0 at the middle
    d2 = centres[None, :] ** 2 + centres[:, None] ** 2
    return np.exp(-d2 / (2.0 * sigma_ratio ** 2)).astype(np.float32)


_TEMPLATE = gaussian_template()


def draw_gaussian(canvas: np.ndarray, box: np.ndarray) -> None:
    """Warp the Gaussian template into ``box`` on ``canvas`` (H, W) float32, in place (max-combined)."""
    box = np.asarray(box, np.float32).reshape(4, 2)
    h, w = canvas.shape
    x0, y0 = np.floor(box.min(axis=0)).astype(int)
    x1, y1 = np.ceil(box.max(axis=0)).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return  # entirely outside the canvas
    s = float(TEMPLATE_SIZE)
    square = np.array([[0, 0], [s, 0], [s, s], [0, s]], np.float32)
    # only the box's bounding window is warped (a whole-canvas warp per character would dominate the loss)
    local = box - np.array([x0, y0], np.float32)
    transform = cv2.getPerspectiveTransform(square - 0.5, local - 0.5)
    patch = cv2.warpPerspective(_TEMPLATE, transform, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    np.maximum(canvas[y0:y1, x0:x1], patch, out=canvas[y0:y1, x0:x1])


def affinity_box(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The (4, 2) affinity box between two neighbouring character boxes: the centres of the first
    box's upper and lower triangles and of the second's, clockwise from the first's upper one."""
    def triangle_centres(box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        centre = box.mean(axis=0)
        upper = (box[0] + box[1] + centre) / 3.0
        lower = (box[3] + box[2] + centre) / 3.0
        return upper, lower

    up_a, low_a = triangle_centres(np.asarray(first, np.float32))
    up_b, low_b = triangle_centres(np.asarray(second, np.float32))
    return np.stack([up_a, up_b, low_b, low_a]).astype(np.float32)


def draw_word(region: np.ndarray, affinity: np.ndarray, chars: np.ndarray) -> None:
    """Draw one word's characters (k, 4, 2) in reading order into the region and affinity maps."""
    for box in chars:
        draw_gaussian(region, box)
    for first, second in zip(chars[:-1], chars[1:]):
        draw_gaussian(affinity, affinity_box(first, second))
