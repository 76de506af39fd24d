"""One orientation policy: annotations are in the stored pixel frame, and every reader of the project sees
that frame, whatever EXIF orientation tag an image carries."""
from __future__ import annotations

import json

import cv2
import numpy as np
from PIL import Image, ImageOps

from models.build import target_maker
from pipeline.stage import LocalContext
from stages.convert.stage import ConvertParams, run
from stages.dataset.coco import write_coco
from stages.dataset.images import read_rgb
from stages.dataset.records import ImageRecord, TextInstance
from stages.train.data import MixedDataset, read_samples
from tests.stages.dataset.exif_images import BOX, STORED_SIZE, box_polygon, write_exif_image

TARGETS = target_maker({"arch": "dbnet",
                        "targets": {"shrink_ratio": 0.4, "thresh_min": 0.3, "thresh_max": 0.7, "min_text_size": 4}})


def _dark_inside_box(bgr: np.ndarray) -> float:
    """Share of dark pixels inside the drawn box's stored coordinates."""
    x0, y0, x1, y1 = BOX
    return float((bgr[y0 + 2:y1 - 2, x0 + 2:x1 - 2] < 128).mean())


def test_convert_writes_images_in_the_annotated_frame(tmp_path):
    root = tmp_path / "in"
    write_exif_image(root / "images" / "img_1.jpg")
    (root / "gt").mkdir()
    flat = ",".join(str(int(v)) for point in box_polygon() for v in point)
    (root / "gt" / "gt_img_1.txt").write_text(f"{flat},WORD\n")
    params = ConvertParams(format="icdar2015", annotations="gt", images="images", shards=1)
    result = run(params, {"data": root}, tmp_path / "out", LocalContext())
    assert result.counts["exif_rotated"] == 1
    assert result.counts["instances"] == 1
    coco = json.loads((tmp_path / "out" / "annotations.json").read_text())
    assert (coco["images"][0]["width"], coco["images"][0]["height"]) == STORED_SIZE
    written = tmp_path / "out" / "images" / "img_1.jpg"
    shown = cv2.imread(str(written))  # default flags: EXIF orientation applied
    assert shown.shape[:2] == (STORED_SIZE[1], STORED_SIZE[0])
    assert _dark_inside_box(shown) > 0.95
    with Image.open(written) as image:
        assert ImageOps.exif_transpose(image).size == STORED_SIZE
    # The input's own file is left as it was (the output is a rewritten copy, not a link).
    with Image.open(root / "images" / "img_1.jpg") as image:
        assert image.getexif().get(0x0112) == 6


def test_training_loader_puts_the_text_mask_on_the_text(tmp_path):
    path = write_exif_image(tmp_path / "set" / "images" / "img_1.jpg")
    write_coco([ImageRecord(path, *STORED_SIZE, [TextInstance(box_polygon(), "WORD")])],
               tmp_path / "set" / "annotations.json", tmp_path / "set" / "images")
    dataset = MixedDataset([read_samples(tmp_path / "set")], [], 128, TARGETS, seed=0)
    sample = dataset.datasets[0][0]
    item = dataset.make_item(read_rgb(sample.image_path), sample, np.random.default_rng(0))
    text = item["gt"] > 0
    assert text.sum() > 20
    assert float((item["image"][text] < 128).all(axis=-1).mean()) > 0.95
