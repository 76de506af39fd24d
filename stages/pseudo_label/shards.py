"""One inference shard: load every teacher once, detect under every view, fuse, per image.

``label_shard`` is what the stage fans out (``ctx.map`` Ray tasks, or Ray tasks asking for GPUs): a
shard is a contiguous slice of the unlabeled images. It returns, per image, the fused instances and,
when the stage scores against hidden ground truth, the raw per-source polygon sets (so single models
can be compared with the ensemble without a second inference pass). An image that cannot be read or
decoded comes back as skipped with the reason; it never fails the shard.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stages.dataset.images import decode_image
from stages.pseudo_label.fusion import Detection, FusedInstance, fuse
from stages.pseudo_label.sources import ImageEntry
from stages.pseudo_label.tta import View


@dataclass
class ShardTask:
    """Everything a shard needs (picklable; paths as the stage task sees them).

    post: ``models.postprocess`` keyword arguments (no shrink_ratio); keep_sources: return the raw
    per-source detections too; device: "cuda" to use a GPU when torch sees one, else "cpu".
    """

    index: int
    entries: list[ImageEntry]
    model_uris: list[str]
    views: list[View]
    image_size: int
    batch_size: int
    post: dict[str, Any]
    iou: float
    outline: str = "mean"
    keep_sources: bool = False
    device: str = "cpu"
    torch_threads: int = 1
    tracking_uri: str | None = None


@dataclass
class ImageOutcome:
    """One image's result: size, fused instances (best quality first), optionally the raw sources;
    or ``skipped`` (a reason such as ``unreadable_image``) with ``detail``."""

    key: str
    width: int = 0
    height: int = 0
    fused: list[FusedInstance] = field(default_factory=list)
    sources: list[list[Detection]] | None = None
    skipped: str | None = None
    detail: str = ""


@dataclass
class ShardResult:
    """A shard's images in input order, and its timings (model loading vs detection + fusion)."""

    index: int
    images: list[ImageOutcome]
    load_s: float
    run_s: float
    device: str = "cpu"


def label_shard(task: ShardTask) -> ShardResult:
    """Run the shard (a top-level function: Ray pickles it by reference)."""
    import torch

    from models.checkpoint import load_predictor

    torch.set_num_threads(task.torch_threads)
    device = torch.device("cuda" if task.device == "cuda" and torch.cuda.is_available() else "cpu")
    started = time.perf_counter()
    models = [load_predictor(uri, device, task.tracking_uri) for uri in task.model_uris]
    loaded = time.perf_counter()
    outcomes: list[ImageOutcome] = []
    batches = [task.entries[i:i + task.batch_size] for i in range(0, len(task.entries), task.batch_size)]
    with ThreadPoolExecutor(1) as pool:  # decodes the next batch while the models run (cv2 releases the GIL)
        pending = pool.submit(_decode_all, batches[0]) if batches else None
        for k, batch in enumerate(batches):
            decoded = pending.result()
            pending = pool.submit(_decode_all, batches[k + 1]) if k + 1 < len(batches) else None
            outcomes += _label_batch(batch, decoded, models, task)
    return ShardResult(task.index, outcomes, loaded - started, time.perf_counter() - loaded, device.type)


def _label_batch(batch: list[ImageEntry], decoded: list[Any], models: list[Any], task: ShardTask) -> list[ImageOutcome]:
    """Detect and fuse the decoded images of one batch; the others come back skipped with their reason."""
    from stages.pseudo_label.tta import detect

    good = [(entry, rgb) for entry, rgb in zip(batch, decoded) if isinstance(rgb, np.ndarray)]
    found = dict(zip((e.key for e, _ in good),
                     detect(models, [rgb for _, rgb in good], task.views, task.image_size, task.post)))
    out = []
    for entry, rgb in zip(batch, decoded):
        if not isinstance(rgb, np.ndarray):
            out.append(ImageOutcome(entry.key, skipped=rgb[0], detail=rgb[1]))
            continue
        sources = found[entry.key]
        out.append(ImageOutcome(entry.key, rgb.shape[1], rgb.shape[0], fuse(sources, task.iou, task.outline),
                                sources if task.keep_sources else None))
    return out


def _decode_all(batch: list[ImageEntry]) -> list[np.ndarray | tuple[str, str]]:
    return [_decode(entry) for entry in batch]


def _decode(entry: ImageEntry) -> np.ndarray | tuple[str, str]:
    """(H, W, 3) uint8 RGB, or (reason, detail) when the file is missing or not a decodable image.

    Decoded as every reader of the project decodes it (``stages.dataset.images``: the stored pixel frame,
    EXIF orientation ignored), so the pseudo-labels lie in the frame the trainer sees.
    """
    import cv2

    try:
        data = Path(entry.path).read_bytes()
    except FileNotFoundError:
        return "missing_image", str(entry.path)
    except OSError as exc:
        return "unreadable_image", f"{entry.path}: {exc}"
    bgr = decode_image(data)
    if bgr is None:
        return "unreadable_image", f"{entry.path}: not a decodable image"
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
