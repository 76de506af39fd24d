"""Small synthetic detection samples shared by the model tests."""
from __future__ import annotations

import numpy as np

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def rect(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Axis-aligned rectangle as a clockwise (4, 2) polygon."""
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)


def curved_band(cx: float, cy: float, r_in: float, r_out: float, a0: float, a1: float, n: int = 7) -> np.ndarray:
    """A curved text band (arc of a ring) as a 2n-point polygon: n points on the outer arc, then n
    on the inner arc back (the Total-Text / CTW1500 style of curved annotation)."""
    a = np.linspace(a0, a1, n)
    outer = np.stack([cx + r_out * np.cos(a), cy - r_out * np.sin(a)], axis=1)
    inner = np.stack([cx + r_in * np.cos(a), cy - r_in * np.sin(a)], axis=1)[::-1]
    return np.concatenate([outer, inner])


def rectangles_image(rng: np.random.Generator, size: int = 64, n: int = 2) -> tuple[np.ndarray, list[np.ndarray]]:
    """A light noisy (size, size, 3) float image in [0, 1] with ``n`` dark, non-overlapping
    word-shaped rectangles drawn in it, and their polygons."""
    image = 0.8 + 0.1 * rng.standard_normal((size, size, 3)).astype(np.float32)
    polys = []
    band = size // n
    for i in range(n):
        w, h = rng.integers(size // 3, size - 8), rng.integers(10, band - 4)
        x0, y0 = rng.integers(2, size - w - 2), i * band + rng.integers(1, band - h)
        image[y0 : y0 + h, x0 : x0 + w] = 0.15 + 0.05 * rng.standard_normal((h, w, 3))
        polys.append(rect(x0, y0, x0 + w - 1, y0 + h - 1))
    return np.clip(image, 0, 1), polys


def normalise(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) [0, 1] -> (3, H, W) ImageNet-normalised float32."""
    return ((image - MEAN) / STD).transpose(2, 0, 1).astype(np.float32)
