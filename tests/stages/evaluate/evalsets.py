"""Tiny generated detection test sets and models for the evaluate stage's tests."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from stages.dataset.coco import write_coco
from stages.dataset.records import ImageRecord, TextInstance

# (width, height) of each image and its white boxes as (x0, y0, x1, y1, don't care).
LAYOUT = [
    ((160, 96), [(10, 10, 90, 30, False), (20, 50, 140, 80, False)]),
    ((96, 160), [(8, 20, 88, 44, False), (30, 100, 70, 112, True)]),
    ((128, 128), [(16, 60, 112, 84, False)]),
]


def box(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    """Clockwise (image coordinates) rectangle polygon."""
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def make_testset(folder: Path, layout=LAYOUT) -> Path:
    """Black images with white boxes (pixels [x0, x1) x [y0, y1)) and their COCO annotations."""
    images = folder / "images"
    images.mkdir(parents=True)
    records = []
    for k, ((w, h), boxes) in enumerate(layout):
        img = np.zeros((h, w, 3), np.uint8)
        instances = []
        for x0, y0, x1, y1, ignore in boxes:
            img[y0:y1, x0:x1] = 255
            instances.append(TextInstance(box(x0, y0, x1, y1), text="###" if ignore else f"w{k}", ignore=ignore))
        path = images / f"img_{k + 1}.png"
        cv2.imwrite(str(path), img)
        records.append(ImageRecord(path, w, h, instances))
    write_coco(records, folder / "annotations.json", images)
    return folder


def save_tiny_checkpoint(folder: Path, seed: int = 0) -> Path:
    """A tiny DBNet with random weights saved as ``folder/checkpoint.pt``; returns the folder."""
    import torch

    import models

    torch.manual_seed(seed)
    cfg = models.tiny_config("dbnet")
    models.save_checkpoint(folder, cfg, models.build_model(cfg))
    return folder


def bright_model():
    """A stand-in detector (torch module): probability 1 where the normalised input is bright, else 0.

    With it the geometry of resize / pad / map-back can be checked exactly: its detections are the boxes.
    """
    import torch
    from torch import nn

    class BrightIsText(nn.Module):
        def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
            # white ~ +2.2 after normalisation, black ~ -2, the mean-coloured padding 0
            return {"prob": (images.mean(dim=1, keepdim=True) > 1.0).float()}

    return BrightIsText().eval()
