"""Tiny rendered word crops (cv2 Hershey font) and batches for the recognizer tests."""
from __future__ import annotations

import cv2
import numpy as np
import torch

from models.detection.predictor import normalise


def word_crop(text: str, height: int = 32, width: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(height, width, 3) uint8 dark text on a light background, and its (height, width) glyph mask in [0, 1]."""
    mask = np.zeros((height, width), np.uint8)
    scale = 0.5 if len(text) <= 5 else 0.35
    cv2.putText(mask, text, (2, height * 2 // 3), cv2.FONT_HERSHEY_SIMPLEX, scale, 255, 1, cv2.LINE_AA)
    image = np.full((height, width, 3), 220, np.uint8)
    image[mask > 127] = 30
    return image, (mask > 127).astype(np.float32)


def batch(words: list[str], make_targets, height: int = 32, width: int = 64) -> tuple[torch.Tensor, dict]:
    """Normalised (B, 3, H, W) images and the collated targets of ``make_targets(text, glyph_mask)``."""
    crops = [word_crop(w, height, width) for w in words]
    images = normalise(torch.from_numpy(np.stack([c[0] for c in crops])))
    per_sample = [make_targets(w, mask) for w, (_, mask) in zip(words, crops)]
    targets = {k: torch.from_numpy(np.stack([t[k] for t in per_sample])) for k in per_sample[0]}
    return images, targets


def fit(model, criterion, images: torch.Tensor, truth: dict, lr: float, steps: int,
        part: str = "total") -> list[dict[str, float]]:
    """Train ``model`` with Adam on one fixed batch for ``steps`` steps, minimising loss component ``part``;
    every component's value at each step."""
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for _ in range(steps):
        parts = criterion(model(images, truth), truth)
        optimiser.zero_grad()
        parts[part].backward()
        optimiser.step()
        history.append({k: v.item() for k, v in parts.items()})
    return history
