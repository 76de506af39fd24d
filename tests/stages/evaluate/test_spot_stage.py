"""The evaluate stage with ``recognizer_uri``: end-to-end and word-spotting metrics beside the detection ones."""
from __future__ import annotations

import csv
import json
import shutil

import pytest

from pipeline.stage import LocalContext
from stages.evaluate.params import EvaluateParams
from stages.evaluate.stage import run as evaluate_run
from tests.stages.evaluate.test_infer import SIZE, one_torch_thread, trained  # noqa: F401  (fixtures)
from tests.stages.evaluate.test_rec_stage import a_reader  # noqa: F401  (fixture)


def with_texts(testset, folder, text):
    """A copy of the test set whose cared instances all read ``text``."""
    shutil.copytree(testset, folder)
    doc = json.loads((folder / "annotations.json").read_text())
    for ann in doc["annotations"]:
        if not ann.get("iscrowd"):
            ann["text"] = text
    (folder / "annotations.json").write_text(json.dumps(doc))
    return folder


def test_a_recognizer_adds_e2e_metrics_equal_to_detection_when_every_word_reads_right(trained, a_reader,  # noqa: F811
                                                                                    tmp_path):
    testset, model = trained
    inputs = {"model": model, "reads": with_texts(testset, tmp_path / "reads", "a"),
              "misreads": with_texts(testset, tmp_path / "misreads", "b")}
    params = EvaluateParams(image_size=SIZE, num_render=0, recognizer_uri=str(a_reader))
    ctx = LocalContext("evaluate")
    result = evaluate_run(params, inputs, tmp_path / "out", ctx)
    m = result.metrics
    # the recognizer reads every box "a": right on every matched box of one set, wrong on all of the other
    assert (m["test/reads.e2e_hmean"], m["test/reads.e2e_precision"], m["test/reads.e2e_recall"]) == \
        (m["test/reads.hmean"], m["test/reads.precision"], m["test/reads.recall"])
    assert m["test/reads.hmean"] > 0.5
    assert m["test/misreads.e2e_hmean"] == 0.0
    assert {k for k in m if "wordspotting" in k} == {f"test/{s}.wordspotting_{v}" for s in ("reads", "misreads")
                                                     for v in ("hmean", "precision", "recall")}
    saved = json.loads((tmp_path / "out" / "report" / "metrics.json").read_text())
    assert saved["recognizer"]["uri"] == str(a_reader) and saved["metrics"]["reads.e2e_hmean"] == m["test/reads.hmean"]
    assert saved["e2e_protocols"]["reads"]["geometry"] == "quad"
    # the per-bin analysis: every cared word in one bin per axis, read right on one set, wrong on the other
    cared = saved["results"]["model"]["reads"]["num_gt_care"]
    for name, accuracy in (("reads", "1.0"), ("misreads", "0.0")):
        folder = tmp_path / "out" / "report" / name
        assert (folder / "spot_bins.png").stat().st_size > 0
        for axis in ("height", "angle"):
            with open(folder / f"spot_by_{axis}.csv", newline="") as f:
                rows = list(csv.DictReader(f))
            assert sum(int(r["gt"]) for r in rows) == cared
            assert {r["accuracy"] for r in rows if int(r["matched"])} == {accuracy}
        table = ctx.tables[f"report/spot_bins_{name}.json"]
        assert sum(g for g, axis in zip(table["gt"], table["axis"]) if axis == "angle") == cared


def test_a_detector_given_as_recognizer_is_refused(trained, tmp_path):  # noqa: F811
    testset, model = trained
    params = EvaluateParams(image_size=SIZE, num_render=0, recognizer_uri=str(model))
    with pytest.raises(ValueError, match="is a detection model, not a recognizer"):
        evaluate_run(params, {"model": model, "t": testset}, tmp_path / "out", LocalContext("evaluate"))
