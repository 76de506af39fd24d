"""Backgrounds for synthetic images: procedural (flat, gradients, smooth-noise textures, stripes, with
optional shapes and grain) or random crops of a user's image folder. All are HxWx3 float32 RGB in
[0, 255] (the renderer blends words in float and rounds once at the end).

Procedural colours stay within a moderate luminance range of each other so a text colour with enough
contrast against the whole patch under a word usually exists; the renderer still checks every word.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from stages.dataset.images import IMAGE_SUFFIXES, read_image
from stages.synth.folders import configured_files

KINDS = ("flat", "linear", "radial", "texture", "stripes")


def list_backgrounds(background_dir: str | Path) -> list[str]:
    """Sorted image paths under ``background_dir``; an empty or missing folder is an error."""
    return configured_files(background_dir, IMAGE_SUFFIXES, "background_dir",
                            f"images ({', '.join(sorted(IMAGE_SUFFIXES))})")


def make_background(rng: np.random.Generator, width: int, height: int, files: list[str] | None = None) -> np.ndarray:
    """A background image: a random crop of one of ``files`` when given, else a procedural one."""
    if files:
        return crop_from_file(rng, files[int(rng.integers(0, len(files)))], width, height).astype(np.float32)
    return procedural(rng, width, height)


def procedural(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A procedural background of a random kind, with shapes (half the time) and light grain;
    (h, w, 3) float32."""
    c1 = rng.integers(0, 256, size=3).astype(np.float32)
    c2 = np.clip(c1 + rng.uniform(-70, 70, size=3), 0, 255).astype(np.float32)
    kind = KINDS[int(rng.integers(0, len(KINDS)))]
    weight = _pattern(kind, rng, width, height).astype(np.float32, copy=False)  # (h, w) in [0, 1]
    image = weight[:, :, None] * (c2 - c1)
    image += c1
    if rng.random() < 0.5:
        image = _add_shapes(rng, image, c1, c2)
    grain = float(rng.uniform(0.0, 4.0))
    if grain > 0.5:
        # monochrome grain: a third of the draws of per-channel noise, and looks like sensor noise.
        image += rng.standard_normal((height, width, 1), dtype=np.float32) * grain
    return np.clip(image, 0, 255, out=image)


def _pattern(kind: str, rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """The blend weight between the two base colours, (h, w) float32 in [0, 1]."""
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    if kind == "flat":
        return np.zeros((height, width), dtype=np.float32)
    if kind == "linear":
        angle = rng.uniform(0, 2 * np.pi)
        t = xs * np.cos(angle) + ys * np.sin(angle)
        return (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    if kind == "radial":
        cx, cy = rng.uniform(0, 1, size=2)
        r = np.sqrt((xs - cx) ** 2 + (ys - cy) ** 2)
        return np.clip(r / max(float(r.max()), 1e-6), 0, 1)
    if kind == "texture":
        cells = int(rng.integers(3, 12))
        coarse = rng.random((cells, cells)).astype(np.float32)
        fine = rng.random((cells * 4, cells * 4)).astype(np.float32)
        field = 0.75 * cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC) \
            + 0.25 * cv2.resize(fine, (width, height), interpolation=cv2.INTER_LINEAR)
        return np.clip(field, 0, 1)
    # stripes: a sine across a random direction with a random period.
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(0.05, 0.3)
    t = (xs * np.cos(angle) + ys * np.sin(angle)) / period
    return (0.5 + 0.5 * np.sin(2 * np.pi * t)).astype(np.float32)


def _add_shapes(rng: np.random.Generator, image: np.ndarray, c1: np.ndarray, c2: np.ndarray) -> np.ndarray:
    """Blend a few filled rectangles, ellipses and thick lines in colours between the base two."""
    h, w = image.shape[:2]
    layer = image.copy()
    for _ in range(int(rng.integers(1, 5))):
        colour = tuple(float(v) for v in c1 + rng.random() * (c2 - c1))
        x0, x1 = sorted(rng.integers(0, w, size=2).tolist())
        y0, y1 = sorted(rng.integers(0, h, size=2).tolist())
        shape = int(rng.integers(0, 3))
        if shape == 0:
            cv2.rectangle(layer, (x0, y0), (x1, y1), colour, thickness=-1)
        elif shape == 1:
            axes = (max(1, (x1 - x0) // 2), max(1, (y1 - y0) // 2))
            cv2.ellipse(layer, ((x0 + x1) // 2, (y0 + y1) // 2), axes, 0, 0, 360, colour, thickness=-1)
        else:
            cv2.line(layer, (x0, y0), (x1, y1), colour, thickness=int(rng.integers(2, 8)))
    alpha = float(rng.uniform(0.3, 0.8))
    return cv2.addWeighted(image, 1.0 - alpha, layer, alpha, 0.0)


def crop_from_file(rng: np.random.Generator, path: str, width: int, height: int) -> np.ndarray:
    """A random crop of the file with the target aspect ratio (50-100% of the largest), resized."""
    image = _read_rgb(path)
    ih, iw = image.shape[:2]
    target = width / height
    max_w = min(iw, int(ih * target))
    max_h = min(ih, int(iw / target))
    scale = float(rng.uniform(0.5, 1.0))
    cw, ch = max(1, int(max_w * scale)), max(1, int(max_h * scale))
    x0 = int(rng.integers(0, iw - cw + 1))
    y0 = int(rng.integers(0, ih - ch + 1))
    crop = image[y0:y0 + ch, x0:x0 + cw]
    interp = cv2.INTER_AREA if cw > width else cv2.INTER_LINEAR
    return cv2.resize(crop, (width, height), interpolation=interp)


@lru_cache(maxsize=32)
def _read_rgb(path: str) -> np.ndarray:
    try:
        image = read_image(path)  # the stored pixel frame, as every reader of the project decodes it
    except OSError as exc:
        raise ValueError(f"background {path}: not a readable image ({exc})") from None
    image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    image.setflags(write=False)  # cached and shared: crops copy on resize
    return image
