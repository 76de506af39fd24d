"""Pixel-only transforms: photometric changes, noise, compression and blur. Polygons are untouched.

Tone changes go through 256-entry lookup tables (cv2.LUT), which keeps them well under a millisecond
on a 512 px image.
"""
from __future__ import annotations

import cv2
import numpy as np

from stages.dataset.images import decode_image
from stages.dataset.transforms.base import PixelTransform, uniform, value_range

_LEVELS = np.arange(256, dtype=np.float32)


def _lut(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


class Brightness(PixelTransform):
    """Add ``delta`` x 255 to every channel; delta drawn from [lo, hi] (one number means +-number)."""

    def __init__(self, delta=(-0.2, 0.2), p: float = 1.0):
        super().__init__(p)
        self.delta = value_range(delta, "delta", -1.0, 1.0, symmetric=True)

    def pixels(self, image, rng):
        return cv2.LUT(image, _lut(_LEVELS + uniform(rng, self.delta) * 255.0))


class Contrast(PixelTransform):
    """Scale distances from the image's mean grey level by ``factor``."""

    def __init__(self, factor=(0.7, 1.3), p: float = 1.0):
        super().__init__(p)
        self.factor = value_range(factor, "factor", 0.0, 5.0)

    def pixels(self, image, rng):
        mean = float(np.mean(cv2.mean(image)[:3]))
        return cv2.LUT(image, _lut((_LEVELS - mean) * uniform(rng, self.factor) + mean))


class Gamma(PixelTransform):
    """Apply out = 255 * (in / 255) ** gamma."""

    def __init__(self, gamma=(0.7, 1.5), p: float = 1.0):
        super().__init__(p)
        self.gamma = value_range(gamma, "gamma", 0.05, 10.0)

    def pixels(self, image, rng):
        return cv2.LUT(image, _lut(255.0 * (_LEVELS / 255.0) ** uniform(rng, self.gamma)))


class ColorShift(PixelTransform):
    """Add an independent offset (in grey levels) to each channel: a colour cast."""

    def __init__(self, shift=(-25, 25), p: float = 1.0):
        super().__init__(p)
        self.shift = value_range(shift, "shift", -255, 255, symmetric=True)

    def pixels(self, image, rng):
        offsets = rng.uniform(self.shift[0], self.shift[1], size=3)
        # one (256, 1, 3) table shifts each channel by its own offset in a single LUT pass.
        table = _lut(_LEVELS[:, None] + offsets[None, :].astype(np.float32)).reshape(256, 1, 3)
        return cv2.LUT(image, table)


class Grayscale(PixelTransform):
    """Replace the colours by their luma (still 3 channels)."""

    def pixels(self, image, rng):
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        return np.repeat(grey[:, :, None], 3, axis=2)


class GaussianNoise(PixelTransform):
    """Add zero-mean Gaussian noise with a standard deviation (grey levels) drawn from ``sigma``."""

    def __init__(self, sigma=(3.0, 12.0), p: float = 1.0):
        super().__init__(p)
        self.sigma = value_range(sigma, "sigma", 0.0, 128.0)

    def pixels(self, image, rng):
        sigma = uniform(rng, self.sigma)
        noise = rng.standard_normal(image.shape, dtype=np.float32) * sigma
        return np.clip(image.astype(np.float32) + noise, 0, 255).astype(np.uint8)


class SaltPepper(PixelTransform):
    """Set a fraction ``amount`` of the pixels to black or white (half each)."""

    def __init__(self, amount=(0.002, 0.01), p: float = 1.0):
        super().__init__(p)
        self.amount = value_range(amount, "amount", 0.0, 0.5)

    def pixels(self, image, rng):
        amount = uniform(rng, self.amount)
        draw = rng.random(image.shape[:2])
        out = image.copy()
        out[draw < amount / 2] = 0
        out[(draw >= amount / 2) & (draw < amount)] = 255
        return out


class Jpeg(PixelTransform):
    """Round-trip through JPEG at a quality drawn from ``quality`` (integer, 1-100)."""

    def __init__(self, quality=(30, 90), p: float = 1.0):
        super().__init__(p)
        self.quality = value_range(quality, "quality", 1, 100)

    def pixels(self, image, rng):
        quality = int(rng.integers(int(self.quality[0]), int(self.quality[1]) + 1))
        # OpenCV's codec expects BGR; swapping around it keeps the chroma subsampling on the right axes.
        ok, data = cv2.imencode(".jpg", image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        return decode_image(data)[:, :, ::-1].copy()


class GaussianBlur(PixelTransform):
    """Gaussian blur with a standard deviation (px) drawn from ``sigma``."""

    def __init__(self, sigma=(0.5, 1.5), p: float = 1.0):
        super().__init__(p)
        self.sigma = value_range(sigma, "sigma", 0.0, 20.0)

    def pixels(self, image, rng):
        sigma = uniform(rng, self.sigma)
        if sigma <= 0.0:
            return image
        return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma)


class MotionBlur(PixelTransform):
    """Blur along a line ``length`` px long (odd, >= 3) at an angle (degrees) drawn from ``angle``."""

    def __init__(self, length=(3, 9), angle=(0.0, 180.0), p: float = 1.0):
        super().__init__(p)
        self.length = value_range(length, "length", 1, 99)
        self.angle = value_range(angle, "angle", -360.0, 360.0)

    def pixels(self, image, rng):
        length = int(rng.integers(int(self.length[0]), int(self.length[1]) + 1)) | 1
        angle = np.deg2rad(uniform(rng, self.angle))
        if length < 3:
            return image
        kernel = np.zeros((length, length), dtype=np.float32)
        c, r = length // 2, length / 2.0
        dx, dy = np.cos(angle) * r, -np.sin(angle) * r
        # drawn at 1/256-px precision so every angle gives a smooth, centred line.
        s = 8
        p0 = (int(round((c - dx) * 256)), int(round((c - dy) * 256)))
        p1 = (int(round((c + dx) * 256)), int(round((c + dy) * 256)))
        cv2.line(kernel, p0, p1, 1.0, thickness=1, lineType=cv2.LINE_AA, shift=s)
        kernel /= max(float(kernel.sum()), 1e-6)
        return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT)
