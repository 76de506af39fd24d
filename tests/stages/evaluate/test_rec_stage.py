"""The evaluate stage with a recognizer: per-LMDB accuracy (standard and exact), 1-NED, the weighted
average, failure grids and metrics.json, for a model whose every reading is known ("a")."""
from __future__ import annotations

import csv
import json

import pytest
import torch

import models
from pipeline.stage import LocalContext
from stages.evaluate.params import EvaluateParams
from stages.evaluate.stage import STAGE
from tests.stages import rec_standin
from tests.stages.rec_words import write_word_lmdb

CONFIG = {"arch": "recnet", "height": 16, "width": None, "max_width": 64}


def reads_a(level: float = 5.0) -> rec_standin.RecNet:
    """A recnet whose every column says 'a' (id 11 in lower36): every crop reads "a"."""
    net = rec_standin.RecNet(rec_standin.RecNetConfig(**CONFIG))
    with torch.no_grad():
        net.classify.weight.zero_()
        net.classify.bias.zero_()
        net.classify.bias[11] = level
    return net


@pytest.fixture
def a_reader(monkeypatch, tmp_path):
    rec_standin.register_in(monkeypatch)
    models.save_checkpoint(tmp_path / "model", CONFIG, reads_a())
    return tmp_path / "model"


def test_a_recognizer_is_scored_per_test_lmdb_with_the_weighted_average(tmp_path, a_reader):
    inputs = {"model": a_reader,
              "small": write_word_lmdb(tmp_path / "small", ["a", "A", "a!", "b", "ab"]),  # standard 3/5, exact 1/5
              "big": write_word_lmdb(tmp_path / "big", ["a"] * 3 + ["zz"] * 2, masks=False)}  # 3/5 both ways
    ctx = LocalContext("evaluate")
    out = tmp_path / "out"
    result = STAGE.fn(EvaluateParams(), inputs, out, ctx)
    m = result.metrics
    assert (m["test/small.accuracy"], m["test/small.accuracy_exact"]) == (0.6, 0.2)
    assert m["test/small.one_minus_ned"] == pytest.approx((1 + 0 + 0.5 + 0 + 0.5) / 5)
    assert (m["test/big.accuracy"], m["test/big.accuracy_exact"]) == (0.6, 0.6)
    assert m["test/average.accuracy"] == pytest.approx(0.6) and m["test/average.accuracy_exact"] == pytest.approx(0.4)
    saved = json.loads((out / "report" / "metrics.json").read_text())
    assert saved["metrics"]["small.accuracy"] == 0.6 and saved["task"] == "recognition"
    with open(out / "report" / "benchmarks.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["testset"], r["num_samples"], r["accuracy"]) for r in rows] == [
        ("big", "5", "0.6"), ("small", "5", "0.6"), ("average", "10", "0.6")]
    assert ctx.tables["report/benchmarks.json"]["testset"] == ["big", "small", "average"]
    assert sorted(key for key, _, _ in ctx.images) == ["samples/big.failures", "samples/small.failures"]
    assert (out / "report" / "small" / "failures.png").is_file()
    with open(out / "report" / "small" / "by_length.csv") as f:
        by_length = {r["length"]: (r["num_samples"], r["accuracy"]) for r in csv.DictReader(f)}
    assert by_length["1-2"] == ("5", "0.6")


def test_a_baseline_recognizer_is_scored_beside_it_with_the_gain(tmp_path, a_reader):
    models.save_checkpoint(tmp_path / "base", CONFIG, reads_a(level=-5.0))  # blank wins: reads ""
    inputs = {"model": a_reader, "baseline": tmp_path / "base",
              "set1": write_word_lmdb(tmp_path / "set1", ["a", "b"])}
    m = STAGE.fn(EvaluateParams(), inputs, tmp_path / "out", LocalContext("evaluate")).metrics
    assert (m["test/set1.accuracy"], m["test/baseline.set1.accuracy"], m["test/set1.accuracy_gain"]) == (0.5, 0.0, 0.5)


def test_headline_covers_recognition_accuracy():
    assert "test/*.accuracy" in STAGE.headline
