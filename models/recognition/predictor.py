"""The one recognition predictor: word crops -> (text, score), for every recognition architecture.

Used by the evaluate stage, ``infer`` and the MLflow model (``serving``).

preprocess: ``preprocess.fit_crop`` with the model config's ``input_geometry`` (height, fixed or
    variable width, tall crops turned), as in training;
batching: crops are grouped by their input width and each group is cut into batches, so no crop is ever
    padded (a fixed width makes one group): a crop reads the same text alone or among others (its score
    may differ by float rounding: batched kernels sum in another order);
forward: RGB uint8 -> ImageNet-normalised float NCHW (the training loop's ``normalise``), the model in
    inference mode on its device;
decode: the architecture's ``decode`` on the batch's numpy outputs, with the caller's options.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from models.detection.predictor import normalise
from models.recognition.config import input_geometry
from models.recognition.preprocess import fit_crop
from models.task import Architecture
from stages.dataset.images import read_rgb

Reading = tuple[str, float]  # text, score


class Recognizer:
    """A recognition model ready for inference, with what identifies it (uri, sha256, step).

    module: the network (eval mode, on ``device``); config: its architecture's typed config; arch: the
    registered architecture (its ``decode`` turns outputs into text).
    """

    def __init__(self, module: Any, config: Any, arch: Architecture, device: Any, uri: str = "", sha256: str = "",
                 step: int = 0):
        self.module = module
        self.config = config
        self.arch = arch
        self.device = device
        self.uri, self.sha256, self.step = uri, sha256, step
        self.geometry = input_geometry(config)

    def forward(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """The outputs (``arch.output_keys``, float32 numpy) of a (B, H, W, 3) uint8 batch."""
        import torch

        tensor = normalise(torch.from_numpy(np.ascontiguousarray(batch)).to(self.device))
        with torch.inference_mode():
            out = self.module(tensor)
        return {key: out[key].float().cpu().numpy() for key in self.arch.output_keys}

    def recognize(self, crops: Sequence[np.ndarray], options: dict[str, Any] | None = None,
                  batch_size: int = 64) -> list[Reading]:
        """(text, score) of each (h, w, 3) uint8 RGB crop, in order (see the module doc for batching)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        fitted = [fit_crop(crop, **self.geometry) for crop in crops]
        by_width: dict[int, list[int]] = {}
        for k, image in enumerate(fitted):
            by_width.setdefault(image.shape[1], []).append(k)
        results: list[Reading | None] = [None] * len(fitted)
        for indices in by_width.values():
            for start in range(0, len(indices), batch_size):
                chunk = indices[start: start + batch_size]
                outputs = self.forward(np.stack([fitted[k] for k in chunk]))
                for k, reading in zip(chunk, self.arch.decode(outputs, self.config, dict(options or {}))):
                    results[k] = (reading[0], float(reading[1]))
        return results  # type: ignore[return-value]  # every slot is filled above

    def predict(self, files: Sequence[Path | str], options: dict[str, Any] | None = None, batch_size: int = 64,
                progress: Callable[[int, int], None] | None = None) -> list[Reading]:
        """(text, score) of each crop image file, in order (read in the stored pixel frame, like every reader).

        progress: called with (files done, total) after each chunk of ``batch_size`` files.
        """
        readings: list[Reading] = []
        for start in range(0, len(files), batch_size):
            chunk = files[start: start + batch_size]
            readings += self.recognize([read_rgb(path) for path in chunk], options, batch_size)
            if progress is not None:
                progress(len(readings), len(files))
        return readings
