"""Random text effects both synth renderers draw (scene text in ``layout.py``, word images in
``word_image.py``): a drop shadow and a curve. Each sampler draws from ``rng`` in a fixed order, so a
renderer's output for a seed depends only on where in its own sequence it calls them."""
from __future__ import annotations

import math

from stages.synth.render import Curve

# Wave shapes, as fractions of the font size: scene text may wave strongly; a word image is one word
# filling its crop, where a strong wave would leave the crop mostly background.
SCENE_WAVE = {"amplitude": (0.15, 0.35), "wavelength": (4.0, 8.0)}
WORD_WAVE = {"amplitude": (0.08, 0.2), "wavelength": (5.0, 10.0)}
_ARC_SHARE = 0.6  # of curved text, the share bent along an arc (the rest waves)


def random_shadow(rng, size: int, prob: float) -> tuple[int, int, float] | None:
    """With probability ``prob``, a shadow (dx, dy, blur sigma) reaching up to size/16 px, never straight up."""
    if rng.random() >= prob:
        return None
    reach = max(1, int(round(size / 16)))
    return (int(rng.integers(-reach, reach + 1)) or reach, int(rng.integers(1, reach + 1)),
            float(rng.uniform(0.5, 1.5)))


def random_curve(rng, size: int, fraction: float, arc_degrees: tuple[float, float],
                 wave: dict[str, tuple[float, float]]) -> Curve | None:
    """With probability ``fraction``, an arc of ``arc_degrees`` (either way) or a wave of ``wave``'s
    amplitude and wavelength ranges (fractions of ``size``) at a random phase."""
    if rng.random() >= fraction:
        return None
    if rng.random() < _ARC_SHARE:
        angle = math.radians(rng.uniform(*arc_degrees)) * (1 if rng.random() < 0.5 else -1)
        return Curve("arc", angle=angle)
    return Curve("wave", amplitude=float(rng.uniform(*wave["amplitude"])) * size,
                 wavelength=float(rng.uniform(*wave["wavelength"])) * size, phase=float(rng.uniform(0, 2 * math.pi)))
