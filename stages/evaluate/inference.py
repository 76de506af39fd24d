"""Batched detector inference over a test set: images -> polygons in original-image pixels.

Each image is resized keeping its aspect ratio (longer side = ``image_size``, or fitted inside a fixed
``(w, h)``), then padded bottom / right to a multiple of 32 (the network's stride) and to the largest
image of its batch. Images are sorted by input shape first so a batch holds similar shapes and little
padding. Decoding, resizing and post-processing run in a thread pool (cv2 releases the GIL) while the
model runs the previous batch; the probability map is cropped to the image's own region (no
detections from padding) and mapped back with the exact resize factors.

Polygons are then made submission-ready: integer pixel coordinates (what the RRC evaluation reads
anyway), repeated vertices removed, clockwise as the RRC checker wants, degenerate ones dropped. The
metrics are computed on exactly these polygons, so the submission zip re-evaluates to the same numbers.

The model is placed on the device here (the models package stays device-agnostic), and fed exactly as
training feeds it (``stages.train.data.normalise``: RGB, ImageNet statistics).
"""
from __future__ import annotations

import math
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence
from urllib.parse import urlparse

import cv2
import numpy as np

from pipeline.artifacts import file_sha256
from stages.convert.writers.coco import read_coco
from stages.dataset.images import STORED, Frame, read_rgb
from stages.train.data import MEAN, dataset_files, normalise

from .formats import image_id
from .metrics.types import DetPoly, GtPoly

STRIDE = 32
PAD_RGB = tuple(int(round(v)) for v in MEAN)  # padding is the mean colour: 0 after normalisation


@dataclass
class TestImage:
    """One test image: its id (file stem, as ``formats`` keys images), file and annotated size, and the
    frame it is decoded in (``stages.dataset.images``): the stored pixel frame for datasets; a user's photo
    in ``pipeline/infer.py`` may be shown with its EXIF orientation applied."""

    image_id: str
    path: Path
    width: int
    height: int
    frame: Frame = STORED


@dataclass
class TestSet:
    """A detection test set read from ``annotations.json`` + ``images/``; ``gts`` keyed by image id."""

    name: str
    images: list[TestImage]
    gts: dict[str, list[GtPoly]]


def load_testset(name: str, path: Path) -> TestSet:
    """Read a COCO detection set (a folder holding ``annotations.json`` and ``images/``, or the json)."""
    ann, root = dataset_files(Path(path))
    images, gts = [], {}
    for rec in read_coco(ann, root):
        key = image_id(str(rec.image_path))
        if key in gts:
            raise ValueError(f"{ann}: two images have the id {key!r} (file stem); image ids must be unique")
        try:
            gts[key] = [GtPoly(inst.polygon, inst.text, inst.ignore) for inst in rec.instances]
        except ValueError as exc:
            raise ValueError(f"{rec.source}: bad ground-truth polygon: {exc}") from None
        images.append(TestImage(key, Path(rec.image_path), rec.width, rec.height))
    if not images:
        raise ValueError(f"test set {name!r}: {ann} holds no images")
    return TestSet(name, images, gts)


@dataclass
class LoadedModel:
    """A detector ready for inference, with what identifies it in the report."""

    module: Any  # torch.nn.Module, in eval mode, on ``device``
    device: Any  # torch.device
    uri: str
    sha256: str
    step: int
    shrink_ratio: float  # the training targets' shrink, for post-processing with unclip_ratio=None


def pick_device(num_gpus: float, logger: Any = None) -> Any:
    """``cuda`` when the stage was given GPUs and torch sees one, else ``cpu``."""
    import torch

    if num_gpus > 0:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if logger is not None:
            logger.warning("evaluate: %g GPU(s) requested but torch sees none; running on CPU", num_gpus)
    return torch.device("cpu")


def load_model(uri: str, device: Any, tracking_uri: str | None = None) -> LoadedModel:
    """Load a checkpoint (path, folder with checkpoint.pt, file://, runs:/, models:/) onto ``device``.

    tracking_uri: the MLflow store a runs:/ or models:/ URI refers to (the pipeline's own); without it
    MLflow's process default applies, which in a Ray worker is not the pipeline's store.
    """
    from models.build import build_detector
    from models.checkpoint import MLFLOW_SCHEMES, load_checkpoint, resolve_uri

    if tracking_uri and urlparse(str(uri)).scheme in MLFLOW_SCHEMES:
        import mlflow

        mlflow.set_tracking_uri(tracking_uri)
    path = resolve_uri(uri)
    ckpt = load_checkpoint(path)
    module = build_detector(ckpt["model_config"], init_weights=False)
    module.load_state_dict(ckpt["state_dict"], strict=True)
    shrink = float(ckpt["model_config"].get("targets", {}).get("shrink_ratio", 0.4))
    return LoadedModel(module.eval().to(device), device, str(uri), file_sha256(path), int(ckpt.get("step", 0)), shrink)


def _ceil(value: int, multiple: int = STRIDE) -> int:
    return max(multiple, math.ceil(value / multiple) * multiple)


def resize_plan(height: int, width: int, image_size: int | Sequence[int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """((h, w) the image is resized to, (H, W) the padded input) for an original of (height, width).

    image_size: an int = the longer side; a (w, h) pair = fit inside it. Aspect ratio is kept either
    way; (H, W) are multiples of 32 (for a fixed size: the size itself, rounded up).
    """
    if isinstance(image_size, int):
        s = image_size / max(height, width)
        h, w = max(1, round(height * s)), max(1, round(width * s))
        return (h, w), (_ceil(h), _ceil(w))
    box_w, box_h = image_size
    s = min(box_w / width, box_h / height)
    h, w = min(box_h, max(1, round(height * s))), min(box_w, max(1, round(width * s)))
    return (h, w), (_ceil(box_h), _ceil(box_w))


@dataclass
class _Prepared:
    image_id: str
    image: np.ndarray  # (h, w, 3) uint8 RGB, resized
    original: tuple[int, int]  # (H0, W0)


def _prepare(item: TestImage, image_size: int | Sequence[int]) -> _Prepared:
    rgb = read_rgb(item.path, item.frame)
    h0, w0 = rgb.shape[:2]
    (h, w), _ = resize_plan(h0, w0, image_size)
    interp = cv2.INTER_AREA if h * w < h0 * w0 else cv2.INTER_LINEAR
    return _Prepared(item.image_id, cv2.resize(rgb, (w, h), interpolation=interp), (h0, w0))


def _batch_tensor(items: list[_Prepared], image_size: int | Sequence[int]) -> np.ndarray:
    """(B, H, W, 3) uint8: the images top-left, the rest mean-coloured; H, W multiples of 32."""
    pads = [resize_plan(*p.original, image_size)[1] for p in items]
    hh, ww = max(p[0] for p in pads), max(p[1] for p in pads)
    batch = np.empty((len(items), hh, ww, 3), np.uint8)
    batch[:] = PAD_RGB
    for k, p in enumerate(items):
        batch[k, : p.image.shape[0], : p.image.shape[1]] = p.image
    return batch


def clean_polygon(points: np.ndarray) -> np.ndarray | None:
    """Integer, de-duplicated, clockwise (image coordinates, y down) polygon; None when degenerate."""
    pts = np.rint(np.asarray(points, np.float64)).astype(np.int64)
    keep = np.any(pts != np.roll(pts, 1, axis=0), axis=1)  # drop a vertex equal to its predecessor
    pts = pts[keep] if keep.any() else pts[:1]
    if len(pts) < 3:
        return None
    nxt = np.roll(pts, -1, axis=0)
    edge_sum = float(np.sum((nxt[:, 0] - pts[:, 0]) * (nxt[:, 1] + pts[:, 1])))
    if edge_sum == 0:  # zero signed area: a line, nothing to match
        return None
    # The RRC checker calls a polygon clockwise when sum (x2 - x1)(y2 + y1) < 0.
    return (pts[::-1] if edge_sum > 0 else pts).astype(np.float64)


def _postprocess(prob: np.ndarray, item: _Prepared, post: dict[str, Any]) -> list[DetPoly]:
    from models.db_postprocess import postprocess

    h, w = item.image.shape[:2]
    h0, w0 = item.original
    dets = postprocess(prob[:h, :w], out_shape=(h0, w0), scale=(w / w0, h / h0), **post)
    out = []
    for poly, score in dets:
        clean = clean_polygon(poly)
        if clean is not None:
            out.append(DetPoly(clean, float(score)))
    return out


def predict(model: LoadedModel, images: list[TestImage], *, image_size: int | Sequence[int], batch_size: int,
            post: dict[str, Any], workers: int = 1,
            progress: Callable[[int, int], None] | None = None) -> dict[str, list[DetPoly]]:
    """Detections for every image, keyed by image id (best score first within an image).

    post: ``models.postprocess`` keyword arguments (mode, thresh, box_thresh, unclip_ratio, ...).
    progress: called with (images done, total) after each batch.
    """
    import torch

    order = sorted(images, key=lambda t: (_input_shape(t, image_size), t.image_id))  # similar shapes together
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    preds: dict[str, list[DetPoly]] = {}
    done = 0
    with ThreadPoolExecutor(max(1, workers)) as pool, torch.inference_mode():
        pending = _submit(pool, batches, 0, image_size)
        posting: list[tuple[str, Future]] = []
        for k in range(len(batches)):
            prepared = [f.result() for f in pending]
            pending = _submit(pool, batches, k + 1, image_size)  # decode the next batch meanwhile
            batch = torch.from_numpy(_batch_tensor(prepared, image_size)).to(model.device, non_blocking=True)
            prob = model.module(normalise(batch))["prob"][:, 0].float().cpu().numpy()  # (B, H, W)
            posting += [(p.image_id, pool.submit(_postprocess, prob[j], p, post)) for j, p in enumerate(prepared)]
            done += len(prepared)
            if progress is not None:
                progress(done, len(order))
        for key, future in posting:
            preds[key] = future.result()
    return preds


def _input_shape(item: TestImage, image_size: int | Sequence[int]) -> tuple[int, int]:
    """The padded input shape from the annotated size ((0, 0) when the annotation lacks it)."""
    return resize_plan(item.height, item.width, image_size)[1] if item.height and item.width else (0, 0)


def _submit(pool: ThreadPoolExecutor, batches: list[list[TestImage]], k: int, image_size) -> list[Future]:
    if k >= len(batches):
        return []
    return [pool.submit(_prepare, item, image_size) for item in batches[k]]
