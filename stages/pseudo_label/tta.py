"""Batched detector inference under test-time augmentation, every polygon mapped to the original frame.

A *view* is a scale (times the configured longer side) and an optional horizontal flip. For each view
the batch's images are flipped (if asked), resized keeping their aspect ratio (longer side
``round(image_size * scale)``), padded bottom / right with the mean colour to a common multiple of 32
(``stages.evaluate.inference``), and run through every model. Each probability map is cropped to its
image's own region and post-processed with the exact resize factors (``models.postprocess``), which
gives polygons in the (possibly flipped) original frame; a flipped polygon is mapped back with
``x -> (W - 1) - x`` (pixel centres at integers, the convention of the training targets) and its
vertex order reversed, so it keeps its orientation.

The result for an image is one polygon set per *source*, sources ordered model-major:
``source = model_index * len(views) + view_index``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import cv2
import numpy as np

from stages.evaluate.inference import PAD_RGB, LoadedModel, resize_plan
from stages.pseudo_label.fusion import Detection


@dataclass(frozen=True)
class View:
    """One test-time view: ``scale`` times the configured input size, mirrored left-right when ``flip``."""

    scale: float = 1.0
    flip: bool = False

    @property
    def name(self) -> str:
        """A short label, e.g. ``x1.25-flip``."""
        return f"x{self.scale:g}" + ("-flip" if self.flip else "")


def make_views(scales: Sequence[float], flip: bool) -> list[View]:
    """Every scale, each also flipped when ``flip``; the identity view first when scale 1 is listed."""
    if not scales:
        raise ValueError("test-time augmentation needs at least one scale")
    return [View(float(s), f) for s in scales for f in ((False, True) if flip else (False,))]


def flip_image(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) mirrored left-right, contiguous."""
    return np.ascontiguousarray(rgb[:, ::-1])


def unflip_polygon(poly: np.ndarray, width: int) -> np.ndarray:
    """Map a polygon found on the flipped image back onto the original of ``width`` pixels."""
    out = np.asarray(poly, np.float64).reshape(-1, 2)[::-1].copy()  # reversed: mirroring reverses orientation
    out[:, 0] = (width - 1) - out[:, 0]
    return out


def input_size(image_size: int, view: View) -> int:
    """The longer side (px) a view resizes images to (at least 32)."""
    return max(32, int(round(image_size * view.scale)))


def _view_batch(images: Sequence[np.ndarray], view: View, side: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """((B, H, W, 3) uint8 padded batch, [(h, w) of each resized image]) for one view."""
    resized, pads = [], []
    for rgb in images:
        h0, w0 = rgb.shape[:2]
        (h, w), pad = resize_plan(h0, w0, side)
        src = flip_image(rgb) if view.flip else rgb
        interp = cv2.INTER_AREA if h * w < h0 * w0 else cv2.INTER_LINEAR
        resized.append(cv2.resize(src, (w, h), interpolation=interp))
        pads.append(pad)
    batch = np.empty((len(images), max(p[0] for p in pads), max(p[1] for p in pads), 3), np.uint8)
    batch[:] = PAD_RGB
    for k, img in enumerate(resized):
        batch[k, : img.shape[0], : img.shape[1]] = img
    return batch, [img.shape[:2] for img in resized]


def detect(models: Sequence[LoadedModel], images: Sequence[np.ndarray], views: Sequence[View], image_size: int,
           post: dict[str, Any]) -> list[list[list[Detection]]]:
    """Detections ``[image][source][k]`` of every model under every view (see the module docstring).

    images: (H, W, 3) uint8 RGB originals; post: ``models.postprocess`` keyword arguments other than
    ``shrink_ratio``, which comes from each model's checkpoint.
    """
    import torch

    from models.db_postprocess import postprocess
    from stages.train.data import normalise

    out: list[list[list[Detection]]] = [[[] for _ in range(len(models) * len(views))] for _ in images]
    if not images:
        return out
    with torch.inference_mode():
        for v, view in enumerate(views):
            batch, sizes = _view_batch(images, view, input_size(image_size, view))
            tensor = normalise(torch.from_numpy(batch).to(models[0].device))  # (B, 3, H, W); one device for all
            for m, model in enumerate(models):
                prob = model.module(tensor)["prob"][:, 0].float().cpu().numpy()  # (B, H, W)
                for j, rgb in enumerate(images):
                    h0, w0 = rgb.shape[:2]
                    h, w = sizes[j]
                    dets = postprocess(prob[j, :h, :w], out_shape=(h0, w0), scale=(w / w0, h / h0),
                                       shrink_ratio=model.shrink_ratio, **post)
                    out[j][m * len(views) + v] = [
                        Detection(unflip_polygon(poly, w0) if view.flip else poly, score) for poly, score in dets]
    return out
