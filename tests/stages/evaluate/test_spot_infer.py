"""``python -m pipeline infer --recognizer``: a tiny trained detector's boxes read by a registered recognizer."""
from __future__ import annotations

import hashlib
import json

import cv2
import numpy as np

from stages.evaluate.formats import load_predictions
from stages.evaluate.spot_files import e2e_quad
from tests.commands import main
from tests.models.test_mlflow_registry import sqlite_store  # noqa: F401  (fixture)
from tests.stages.evaluate.test_infer import SIZE, one_torch_thread, register_model, trained  # noqa: F401
from tests.stages.evaluate.test_rec_stage import a_reader  # noqa: F401  (fixture)


def test_infer_with_a_recognizer_writes_e2e_lines_json_and_drawn_texts(sqlite_store, trained, a_reader,  # noqa: F811
                                                                        tmp_path, capsys):
    testset, model = trained
    name = register_model(sqlite_store, a_reader)
    out = tmp_path / "out"
    argv = ["infer", "--model", str(model), "--recognizer", f"models:/{name}@candidate", "--tracking-uri",
            sqlite_store, "--images", str(testset / "images"), "--out", str(out), "--image-size", str(SIZE),
            "--batch-size", "2", "--rec-batch-size", "3"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["recognizer"] == {"uri": f"models:/{name}@candidate", "rec_batch_size": 3, "step": 0,
                                     "checkpoint_sha256": hashlib.sha256((a_reader / "checkpoint.pt").read_bytes())
                                     .hexdigest()}
    assert summary["detections"] >= 3 and summary["texts"] == summary["detections"]  # every box reads "a"
    assert f"{summary['detections']} detections, {summary['texts']} read" in printed
    for k in (1, 2, 3):
        record = json.loads((out / "json" / f"img_{k}.json").read_text())
        assert record["texts"] == ["a"] * len(record["polygons"])
        assert len(record["text_scores"]) == len(record["scores"])
        assert all(len(p) >= 6 for p in record["polygons"])  # the full polygons (poly mode)
        lines = (out / "res" / f"res_img_{k}.txt").read_text().splitlines()
        expected = [",".join(str(int(v)) for v in e2e_quad(np.reshape(p, (-1, 2))).reshape(-1)) + ",a"
                    for p in record["polygons"]]
        assert lines == expected and all(len(line.split(",")) == 9 for line in lines)
        drawn = cv2.imread(str(out / "vis" / f"img_{k}.jpg"))
        assert drawn is not None and drawn.shape[:2] == (record["height"], record["width"])
    # both files read back as ICDAR 2015 end-to-end results with their texts
    from_res = load_predictions(out / "res", with_text=True)
    from_json = load_predictions(out / "predictions.json", with_text=True)
    texts = [{k: [d.text for d in v] for k, v in found.items()} for found in (from_res, from_json)]
    assert texts[0] == texts[1]
    assert sum(len(v) for v in from_res.values()) == summary["detections"]


def test_a_quad_of_a_polygon_is_its_clockwise_min_area_rectangle():
    poly = np.array([[10, 10], [50, 12], [90, 10], [90, 30], [50, 28], [10, 30]], float)
    assert e2e_quad(poly).tolist() == [[10, 10], [90, 10], [90, 30], [10, 30]]


def test_a_detector_as_recognizer_is_refused(trained, tmp_path, capsys):  # noqa: F811
    testset, model = trained
    argv = ["infer", "--model", str(model), "--recognizer", str(model), "--images", str(testset / "images"),
            "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    assert "is a detection model, not a recognizer" in capsys.readouterr().err
