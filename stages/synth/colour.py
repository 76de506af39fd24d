"""Colour choice with a guaranteed luminance contrast (the WCAG 2 contrast ratio), so that every
synthetic word is clearly visible against what lies under it."""
from __future__ import annotations

import numpy as np

BLACK = (0, 0, 0)
WHITE = (255, 255, 255)


def relative_luminance(rgb: np.ndarray) -> np.ndarray:
    """WCAG relative luminance in [0, 1] of sRGB uint8 colours; input (..., 3), output (...)."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722])


def contrast_ratio(lum_a, lum_b):
    """(lighter + 0.05) / (darker + 0.05): 1 for equal luminance, 21 for black on white."""
    lum_a, lum_b = np.asarray(lum_a, dtype=np.float64), np.asarray(lum_b, dtype=np.float64)
    return (np.maximum(lum_a, lum_b) + 0.05) / (np.minimum(lum_a, lum_b) + 0.05)


def background_levels(pixels: np.ndarray) -> tuple[float, float]:
    """The 10th and 90th percentile luminance of (n, 3) background pixels: the range text must stand out
    from (a mean would let a dark word vanish into the dark half of a textured patch)."""
    lum = relative_luminance(pixels.reshape(-1, 3))
    if lum.size == 0:
        return 0.5, 0.5
    # sort-and-index: np.percentile's overhead dominates on the few hundred pixels under a word.
    lum = np.sort(lum)
    return float(lum[int(0.1 * (lum.size - 1))]), float(lum[int(round(0.9 * (lum.size - 1)))])


def worst_contrast(colour, levels: tuple[float, float]) -> float:
    """The colour's contrast ratio against the less favourable of the two background levels."""
    lum = float(relative_luminance(np.asarray(colour)))
    return float(min(contrast_ratio(lum, levels[0]), contrast_ratio(lum, levels[1])))


def pick_text_colour(rng: np.random.Generator, levels: tuple[float, float], min_contrast: float,
                     tries: int = 8) -> tuple[tuple[int, int, int], float]:
    """A random colour reaching ``min_contrast`` against both background levels, else the better of black
    and white; returns (colour, its worst contrast). The caller rejects the spot if that is too low."""
    for _ in range(tries):
        colour = tuple(int(v) for v in rng.integers(0, 256, size=3))
        ratio = worst_contrast(colour, levels)
        if ratio >= min_contrast:
            return colour, ratio
    best = max((BLACK, WHITE), key=lambda c: worst_contrast(c, levels))
    return best, worst_contrast(best, levels)


def opposite_colour(colour, rng: np.random.Generator, min_contrast: float = 3.0) -> tuple[int, int, int]:
    """A colour for a border or shadow that stands out from ``colour``: a random dark or light one on
    the far side of it in luminance, falling back to black or white."""
    lum = float(relative_luminance(np.asarray(colour)))
    base = np.array(BLACK if lum > 0.18 else WHITE, dtype=np.float64)
    tint = rng.integers(0, 256, size=3).astype(np.float64)
    candidate = tuple(int(v) for v in np.rint(0.8 * base + 0.2 * tint))
    if contrast_ratio(lum, relative_luminance(np.asarray(candidate))) >= min_contrast:
        return candidate
    return BLACK if lum > 0.18 else WHITE
