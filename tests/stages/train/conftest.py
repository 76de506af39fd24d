"""Fixtures of the training-stage tests: small synthetic detection sets written with the project's own writers."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.stage import LocalContext
from stages.dataset.coco import write_coco
from stages.dataset.records import ImageRecord, TextInstance


@pytest.fixture(scope="session")
def tiny_synth(tmp_path_factory) -> Path:
    """synth stage output (train 24 / test 8 images of 64 px): ``<root>/train``, ``<root>/test``."""
    from stages.synth.stage import SynthParams, run

    root = tmp_path_factory.mktemp("synth")
    params = SynthParams(seed=3, splits={"train": 24, "test": 8}, image_size=(64, 64), instances_per_image=(1, 2),
                         font_size=(10, 16), crops=False)
    run(params, {}, root, LocalContext("synth"))
    return root


def write_boxes_dataset(folder: Path, instances: list[TextInstance], size: tuple[int, int] = (64, 48)) -> Path:
    """A one-image COCO set: a grey image with the given instances drawn dark; returns the folder."""
    images = folder / "images"
    images.mkdir(parents=True)
    image = np.full((size[1], size[0], 3), 200, np.uint8)
    for inst in instances:
        cv2.fillPoly(image, [np.round(np.array(inst.polygon)).astype(np.int32)], (20, 20, 20))
    path = images / "img_1.png"
    cv2.imwrite(str(path), image)
    write_coco([ImageRecord(path, size[0], size[1], instances)], folder / "annotations.json", images)
    return folder


def rect(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    """Clockwise rectangle vertices."""
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
