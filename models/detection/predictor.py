"""The one detection predictor: images -> polygons with scores, in original-image pixels.

Used by validation during training, the evaluate stage, pseudo-labeling (its test-time views call
``detect`` with a scale and a flip) and ``infer``.

preprocess: each image is resized keeping its aspect ratio (longer side = ``image_size``, or fitted
    inside a fixed ``(w, h)``), then padded bottom / right with the mean colour (0 after normalisation)
    to a multiple of 32 (the network's stride) and to the largest image of its batch;
forward: RGB uint8 -> ImageNet-normalised float NCHW, the model in inference mode on its device;
decode: each output map is cropped to the image's own region (no detections from padding; maps at a
    coarser ``output_stride`` than the input are cropped to the matching cells) and turned into polygons
    by the architecture's ``decode`` with the exact resize factors (map pixels per original pixel).
``predict`` runs over image files with decoding and post-processing in a thread pool (cv2 releases
the GIL) while the model runs the previous batch.
"""
from __future__ import annotations

import math
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import cv2
import numpy as np

from models.task import Architecture
from stages.dataset.images import STORED, Frame, read_rgb

STRIDE = 32
MEAN = np.array([0.485, 0.456, 0.406], np.float32) * 255.0  # ImageNet statistics, on 0..255 pixels
STD = np.array([0.229, 0.224, 0.225], np.float32) * 255.0
PAD_RGB = tuple(int(round(v)) for v in MEAN)  # padding is the mean colour: 0 after normalisation

Polygons = list[tuple[np.ndarray, float]]  # (N, 2) float polygon, score; best first


def normalise(images: Any) -> Any:
    """(B, H, W, 3) uint8 tensor -> (B, 3, H, W) float32, ImageNet-normalised, on the images' device."""
    import torch

    mean = torch.as_tensor(MEAN, device=images.device).view(1, 3, 1, 1)
    std = torch.as_tensor(STD, device=images.device).view(1, 3, 1, 1)
    # contiguous NCHW: with torch 2.13 on CPU, a channels-last (permuted) input makes conv backward segfault.
    return ((images.permute(0, 3, 1, 2).float() - mean) / std).contiguous()


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


def resize_for_input(rgb: np.ndarray, image_size: int | Sequence[int], flip: bool = False) -> np.ndarray:
    """The image resized by ``resize_plan`` (mirrored left-right first when ``flip``)."""
    h0, w0 = rgb.shape[:2]
    (h, w), _ = resize_plan(h0, w0, image_size)
    src = np.ascontiguousarray(rgb[:, ::-1]) if flip else rgb
    interp = cv2.INTER_AREA if h * w < h0 * w0 else cv2.INTER_LINEAR
    return cv2.resize(src, (w, h), interpolation=interp)


def pad_batch(resized: Sequence[np.ndarray], image_size: int | Sequence[int]) -> np.ndarray:
    """(B, H, W, 3) uint8: the images top-left, the rest mean-coloured; H, W multiples of 32 covering
    every image (and, for a fixed ``(w, h)`` size, the whole box)."""
    floor = (0, 0) if isinstance(image_size, int) else (_ceil(image_size[1]), _ceil(image_size[0]))
    hh = max(floor[0], *(_ceil(img.shape[0]) for img in resized))
    ww = max(floor[1], *(_ceil(img.shape[1]) for img in resized))
    batch = np.empty((len(resized), hh, ww, 3), np.uint8)
    batch[:] = PAD_RGB
    for k, img in enumerate(resized):
        batch[k, : img.shape[0], : img.shape[1]] = img
    return batch


def unflip_polygon(poly: np.ndarray, width: int) -> np.ndarray:
    """Map a polygon found on the mirrored image back onto the original of ``width`` pixels: ``x ->
    (W - 1) - x`` (pixel centres at integers, the training targets' convention), vertex order reversed
    so it keeps its orientation."""
    out = np.asarray(poly, np.float64).reshape(-1, 2)[::-1].copy()
    out[:, 0] = (width - 1) - out[:, 0]
    return out


@dataclass
class ImageFile:
    """One image to detect in: its id, file and annotated size ((0, 0) when unknown), and the frame it is
    decoded in (``stages.dataset.images``: the stored frame for datasets; a user's photo may be shown
    with its EXIF orientation applied)."""

    image_id: str
    path: Path
    width: int = 0
    height: int = 0
    frame: Frame = STORED


class Detector:
    """A detection model ready for inference, with what identifies it (uri, sha256, step).

    module: the network (eval mode, on ``device``); config: its architecture's typed config; arch: the
    registered architecture (its ``decode`` turns outputs into polygons).
    """

    def __init__(self, module: Any, config: Any, arch: Architecture, device: Any, uri: str = "", sha256: str = "",
                 step: int = 0):
        self.module = module
        self.config = config
        self.arch = arch
        self.device = device
        self.uri, self.sha256, self.step = uri, sha256, step

    def forward(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """The decoded outputs of a padded (B, H, W, 3) uint8 batch: {key: (B, C, H, W) float32 numpy}."""
        import torch

        tensor = normalise(torch.from_numpy(batch).to(self.device, non_blocking=True))
        with torch.inference_mode():
            out = self.module(tensor)
        return {key: out[key].float().cpu().numpy() for key in self.arch.output_keys}

    def decode(self, outputs: dict[str, np.ndarray], j: int, resized: tuple[int, int], original: tuple[int, int],
               options: dict[str, Any]) -> Polygons:
        """Polygons of image ``j`` of a batch, in its original frame."""
        (h, w), (h0, w0) = resized, original
        stride = self.arch.output_stride  # maps of a strided architecture cover ceil(h / stride) rows
        mine = {key: value[j, :, : math.ceil(h / stride), : math.ceil(w / stride)] for key, value in outputs.items()}
        return self.arch.decode(mine, self.config, options, (h0, w0), (w / w0 / stride, h / h0 / stride))

    def detect(self, images: Sequence[np.ndarray], image_size: int | Sequence[int], options: dict[str, Any],
               flip: bool = False) -> list[Polygons]:
        """Polygons of each (H, W, 3) uint8 RGB image, detected in one batch (``flip``: on the mirrored
        images, mapped back onto the originals)."""
        if not images:
            return []
        resized = [resize_for_input(rgb, image_size, flip) for rgb in images]
        outputs = self.forward(pad_batch(resized, image_size))
        found = []
        for j, (rgb, img) in enumerate(zip(images, resized)):
            polys = self.decode(outputs, j, img.shape[:2], rgb.shape[:2], options)
            if flip:
                polys = [(unflip_polygon(poly, rgb.shape[1]), score) for poly, score in polys]
            found.append(polys)
        return found

    def predict(self, images: Sequence[ImageFile], *, image_size: int | Sequence[int], batch_size: int,
                options: dict[str, Any], workers: int = 1,
                progress: Callable[[int, int], None] | None = None) -> dict[str, Polygons]:
        """Polygons for every image file, keyed by image id; batches hold similar input shapes.

        options: the architecture's decode settings (for DBNet: mode, thresh, box_thresh, unclip_ratio, ...).
        progress: called with (images done, total) after each batch.
        """
        order = sorted(images, key=lambda t: (_input_shape(t, image_size), t.image_id))  # similar shapes together
        batches = [order[i: i + batch_size] for i in range(0, len(order), batch_size)]
        done, decoding = 0, []
        with ThreadPoolExecutor(max(1, workers)) as pool:
            pending = self._submit(pool, batches, 0, image_size)
            for k in range(len(batches)):
                prepared = [f.result() for f in pending]
                pending = self._submit(pool, batches, k + 1, image_size)  # read the next batch meanwhile
                outputs = self.forward(pad_batch([resized for _, resized, _ in prepared], image_size))
                decoding += [(item.image_id, pool.submit(self.decode, outputs, j, resized.shape[:2], original, options))
                             for j, (item, resized, original) in enumerate(prepared)]
                done += len(prepared)
                if progress is not None:
                    progress(done, len(order))
            return {key: future.result() for key, future in decoding}

    def _submit(self, pool: ThreadPoolExecutor, batches: list[list[ImageFile]], k: int,
                image_size: Any) -> list[Future]:
        if k >= len(batches):
            return []
        return [pool.submit(_prepare, item, image_size) for item in batches[k]]


def _prepare(item: ImageFile, image_size: int | Sequence[int]) -> tuple[ImageFile, np.ndarray, tuple[int, int]]:
    rgb = read_rgb(item.path, item.frame)
    return item, resize_for_input(rgb, image_size), rgb.shape[:2]


def _input_shape(item: ImageFile, image_size: int | Sequence[int]) -> tuple[int, int]:
    """The padded input shape from the annotated size ((0, 0) when the annotation lacks it)."""
    return resize_plan(item.height, item.width, image_size)[1] if item.height and item.width else (0, 0)
