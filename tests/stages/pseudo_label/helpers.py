"""Small generated inputs for the pseudo-label tests: box polygons, image sets and teacher checkpoints."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.stages.evaluate.evalsets import make_testset

# (width, height) of each image and its white boxes (x0, y0, x1, y1) on black.
LAYOUT = [
    ((160, 96), [(10, 10, 90, 30), (20, 50, 140, 80)]),
    ((96, 160), [(8, 20, 88, 44)]),
    ((128, 128), [(16, 60, 112, 84)]),
]


def box(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Clockwise (image coordinates) rectangle, (4, 2) float64."""
    return np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], np.float64)


def make_dataset(folder: Path, layout=LAYOUT) -> Path:
    """Black PNGs with white boxes and their COCO annotations (``folder/annotations.json`` + ``images/``):
    the evaluate tests' builder, with every box cared for."""
    return make_testset(folder, [(size, [(*b, False) for b in boxes]) for size, boxes in layout])


def save_teacher(folder: Path, seed: int) -> Path:
    """A tiny DBNet (random weights) saved as ``folder/checkpoint.pt``, as a train stage's ``model`` output."""
    import torch

    import models

    torch.manual_seed(seed)
    cfg = models.tiny_config("dbnet")
    models.save_checkpoint(folder, cfg, models.build_model(cfg))
    return folder


def bright_model():
    """A stand-in detector: probability 1 where the normalised input is bright (white boxes), else 0."""
    import torch
    from torch import nn

    class BrightIsText(nn.Module):
        def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
            # white ~ +2.2 after normalisation, black ~ -2, the mean-coloured padding 0
            return {"prob": (images.mean(dim=1, keepdim=True) > 1.0).float()}

    return BrightIsText().eval()
