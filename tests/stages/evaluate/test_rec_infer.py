"""``python -m pipeline infer`` with a registered recognizer: word crops in, text and scores out."""
from __future__ import annotations

import json

import cv2

from tests.commands import main
from tests.models.test_mlflow_registry import sqlite_store  # noqa: F401  (fixture)
from tests.stages.evaluate.test_infer import register_model
from tests.stages.evaluate.test_rec_stage import a_reader  # noqa: F401  (fixture)
from tests.stages.rec_words import render_word


def test_infer_reads_crops_with_a_registered_recognizer(sqlite_store, a_reader, tmp_path, capsys):  # noqa: F811
    name = register_model(sqlite_store, a_reader)
    crops = tmp_path / "crops"
    crops.mkdir()
    for word in ("one", "two"):
        cv2.imwrite(str(crops / f"{word}.png"), cv2.cvtColor(render_word(word)[0], cv2.COLOR_RGB2BGR))
    (crops / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")  # reported and skipped
    out = tmp_path / "out"
    argv = ["infer", "--model", f"models:/{name}@candidate", "--tracking-uri", sqlite_store,
            "--images", str(crops / "*.png"), "--out", str(out), "--batch-size", "8"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "one.png\ta\t" in captured.out and "two.png\ta\t" in captured.out  # the model reads every crop as "a"
    assert "2 images, 2 texts, 1 skipped" in captured.out
    records = json.loads((out / "predictions.json").read_text())["images"]
    assert [(r["file_name"], r["text"]) for r in records] == [("one.png", "a"), ("two.png", "a")]
    assert 0.0 < records[0]["score"] <= 1.0
    assert (out / "predictions.txt").read_text() == "one.png\ta\ntwo.png\ta\n"
    assert json.loads((out / "summary.json").read_text())["task"] == "recognition"
