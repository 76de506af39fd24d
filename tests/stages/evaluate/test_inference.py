"""Inference: test-set loading, resize / pad planning, polygon clean-up, batched prediction geometry
(the detection predictor as the evaluate stage drives it)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from models.checkpoint import load_predictor
from models.detection.predictor import resize_plan
from models.metrics import evaluate_icdar15
from models.tasks import get_task
from stages.evaluate.inference import clean_polygon, load_testset, pick_device, predict
from tests.stages.evaluate.evalsets import LAYOUT, bright_model, make_testset, save_tiny_checkpoint

POST = {"mode": "quad", "thresh": 0.5, "box_thresh": 0.5, "unclip_ratio": 0.01, "min_size": 1.0}


def test_resize_plan_keeps_aspect_and_pads_to_32():
    assert resize_plan(720, 1280, 640) == ((360, 640), (384, 640))
    assert resize_plan(1280, 720, 640) == ((640, 360), (640, 384))
    assert resize_plan(50, 60, 64) == ((53, 64), (64, 64))  # small images are enlarged
    # a fixed (w, h) box: fit inside it, pad to the box rounded up to 32
    assert resize_plan(100, 200, (320, 320)) == ((160, 320), (320, 320))
    assert resize_plan(300, 100, (100, 100)) == ((100, 33), (128, 128))


def test_clean_polygon_rounds_dedupes_and_orients_clockwise():
    ccw = np.array([[0, 0], [0, 10.2], [0, 10.2], [20.6, 10], [20, 0]], np.float64)  # counter-clockwise
    clean = clean_polygon(ccw)
    assert clean.tolist() == [[20, 0], [21, 10], [0, 10], [0, 0]]
    x, y = clean[:, 0], clean[:, 1]
    nx, ny = np.roll(x, -1), np.roll(y, -1)
    assert np.sum((nx - x) * (ny + y)) < 0  # what the RRC checker calls clockwise
    assert clean_polygon(np.array([[1, 1], [1.2, 1.1], [0.9, 0.8]])) is None  # collapses to one point
    assert clean_polygon(np.array([[0, 0], [5, 0], [10, 0]])) is None  # a line


def test_load_testset_reads_ids_ground_truth_and_dont_care(tmp_path):
    ts = load_testset("t", make_testset(tmp_path / "set"))
    assert [i.image_id for i in ts.images] == ["img_1", "img_2", "img_3"]
    assert [(i.width, i.height) for i in ts.images] == [size for size, _ in LAYOUT]
    assert [g.ignore for g in ts.gts["img_2"]] == [False, True]
    assert ts.gts["img_1"][0].points.tolist() == [[10, 10], [90, 10], [90, 30], [10, 30]]


def test_load_testset_refuses_duplicate_ids_and_missing_files(tmp_path):
    folder = make_testset(tmp_path / "set")
    doc = json.loads((folder / "annotations.json").read_text())
    doc["images"][1]["file_name"] = "img_1.jpg"  # same stem as img_1.png
    (folder / "annotations.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="'img_1'"):
        load_testset("t", folder)
    with pytest.raises(FileNotFoundError, match="annotations.json"):
        load_testset("t", tmp_path / "nowhere")


@pytest.mark.parametrize("image_size,batch_size", [(256, 3), (96, 2), ((200, 120), 3)])
def test_predicted_polygons_land_on_the_boxes_in_original_pixels(tmp_path, image_size, batch_size):
    # Mixed image shapes share padded batches; detections must still map back onto each image's boxes.
    ts = load_testset("t", make_testset(tmp_path / "set"))
    model = get_task("detection").predictor(bright_model(), {"arch": "dbnet"}, torch.device("cpu"), uri="toy")
    seen = []
    preds = predict(model, ts.images, image_size=image_size, batch_size=batch_size, options=POST, workers=2,
                    progress=lambda done, total: seen.append((done, total)))
    assert sorted(preds) == ["img_1", "img_2", "img_3"]
    assert seen[-1] == (3, 3) and len(seen) == -(-3 // batch_size)
    result = evaluate_icdar15(ts.gts, preds)
    assert result.recall == 1.0 and result.precision == 1.0
    for img in ts.images:
        for det in preds[img.image_id]:
            assert det.points.shape == (4, 2) and np.all(det.points == np.rint(det.points))
            assert det.points[:, 0].max() < img.width and det.points[:, 1].max() < img.height
            assert det.score == pytest.approx(1.0, abs=0.01)
    # the don't-care box is detected too (it is white); it is discarded by the protocol, not here
    assert len(preds["img_2"]) == 2 and len(result.per_image["img_2"].det_dont_care) == 1


def test_tiny_checkpoint_loads_and_predicts(tmp_path):
    folder = save_tiny_checkpoint(tmp_path / "model")
    model = load_predictor(str(folder), pick_device(0))
    assert model.device.type == "cpu" and len(model.sha256) == 64 and model.config.targets.shrink_ratio == 0.4
    assert not model.module.training
    ts = load_testset("t", make_testset(tmp_path / "set"))
    preds = predict(model, ts.images, image_size=64, batch_size=2, options={"box_thresh": 0.0}, workers=1)
    assert sorted(preds) == ["img_1", "img_2", "img_3"]
    with pytest.raises(FileNotFoundError, match="checkpoint.pt"):
        load_predictor(str(tmp_path), pick_device(0))
