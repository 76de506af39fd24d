"""Validation during training: detect on a held-out set and score it with a detection protocol
(``icdar15`` by default; ``deteval`` for curved text).

Images are resized (aspect kept, each side rounded to a multiple of 32) so their longer side is
``val_size``, run through the model in eval mode in same-size groups, post-processed into polygons on
the original image's scale, and matched against the ground truth (``iscrowd`` = don't care).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from models.db_postprocess import postprocess
from stages.evaluate.metrics import DETECTION_PROTOCOLS, DetPoly, GtPoly
from stages.train.data import Sample, normalise, read_rgb, read_samples

_GROUP = 8  # images per forward pass


@dataclass
class ValImage:
    """One validation image, resized for the network, with its original size and ground truth."""

    image: np.ndarray  # (h, w, 3) uint8 network input
    original: tuple[int, int]  # (H0, W0)
    gts: list[GtPoly]


def input_size(height: int, width: int, long_side: int) -> tuple[int, int]:
    """(h, w) with the longer side ~``long_side``, aspect kept, both multiples of 32 (at least 32)."""
    ratio = long_side / max(height, width)
    return (max(32, int(round(height * ratio / 32)) * 32), max(32, int(round(width * ratio / 32)) * 32))


def load_validation(path: Path, long_side: int, max_images: int | None = None) -> list[ValImage]:
    """Read and resize a validation set once (it is reused at every validation)."""
    out = []
    samples = read_samples(path)
    for i in range(min(len(samples), max_images or len(samples))):
        sample = samples[i]
        image = read_rgb(sample.image_path)
        h0, w0 = image.shape[:2]
        h, w = input_size(h0, w0, long_side)
        resized = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if h * w < h0 * w0 else cv2.INTER_LINEAR)
        out.append(ValImage(resized, (h0, w0), _ground_truth(sample)))
    return out


def _ground_truth(sample: Sample) -> list[GtPoly]:
    return [GtPoly(p.astype(np.float64), ignore=ign) for p, ign in zip(sample.polygons, sample.ignore) if len(p) >= 3]


def score(gts: dict[int, list[GtPoly]], preds: dict[int, list[DetPoly]], protocol: str = "icdar15") -> dict[str, float]:
    """precision / recall / hmean of ``preds`` under ``protocol`` (a key of ``DETECTION_PROTOCOLS``)."""
    result = DETECTION_PROTOCOLS[protocol](gts, preds)
    return {"precision": result.precision, "recall": result.recall, "hmean": result.hmean}


def evaluate(model: Any, images: list[ValImage], device: Any, post: dict[str, Any],
             protocol: str = "icdar15") -> dict[str, float]:
    """precision / recall / hmean of ``model`` on ``images`` under ``protocol``; ``post``: postprocess kwargs."""
    import torch

    was_training = model.training
    model.eval()
    preds: dict[int, list[DetPoly]] = {}
    try:
        with torch.no_grad():
            for start, group in _same_size_groups(images):
                batch = torch.from_numpy(np.stack([v.image for v in group])).to(device)
                prob = model(normalise(batch))["prob"][:, 0].float().cpu().numpy()  # (B, h, w)
                for k, (v, p) in enumerate(zip(group, prob)):
                    dets = postprocess(p, out_shape=v.original, **post)
                    preds[start + k] = [DetPoly(poly.astype(np.float64), score) for poly, score in dets if len(poly) >= 3]
    finally:
        model.train(was_training)
    return score({i: v.gts for i, v in enumerate(images)}, preds, protocol)


def _same_size_groups(images: list[ValImage]):
    """(first index, consecutive images of one input size) groups of at most ``_GROUP``."""
    start = 0
    while start < len(images):
        end = start + 1
        shape = images[start].image.shape
        while end < len(images) and end - start < _GROUP and images[end].image.shape == shape:
            end += 1
        yield start, images[start:end]
        start = end
