"""Convert params that select what a format reads: COCO-Text's split, LSVT's weak labels; bad values are
config errors naming the key."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest

from pipeline.config import ConfigError, validate_config
from pipeline.stage import LocalContext
from stages.convert.stage import STAGE, ConvertParams, output_names, run

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
TRAIN = ["COCO_train2014_000000390310.jpg", "COCO_train2014_000000522579.jpg", "COCO_train2014_000000551439.jpg"]
VAL = ["COCO_train2014_000000217236.jpg"]


def _cocotext(tmp_path: Path, out: str, **kw) -> tuple[list[str], dict]:
    params = ConvertParams(format="cocotext", annotations="cocotext/cocotext.v2.json", images="cocotext/train2014",
                           max_bad_fraction=0.5, **kw)  # the fixture has one train image without its file
    result = run(params, {"data": FIXTURES}, tmp_path / out, LocalContext())
    coco = json.loads((tmp_path / out / "annotations.json").read_text())
    return sorted(img["file_name"] for img in coco["images"]), result.counts


def test_cocotext_takes_the_official_train_split_by_default(tmp_path):
    names, counts = _cocotext(tmp_path, "default")
    assert names == TRAIN  # no val image leaks into a training set
    assert counts["missing_image"] == 1  # the train image whose file is absent in the fixture


def test_cocotext_split_selection(tmp_path):
    assert _cocotext(tmp_path, "train", cocotext_split="train")[0] == TRAIN
    assert _cocotext(tmp_path, "val", cocotext_split="val")[0] == VAL
    assert _cocotext(tmp_path, "both", cocotext_split="both")[0] == sorted(TRAIN + VAL)


def _jpeg(path: Path, width: int, height: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((height, width, 3), 200, np.uint8))


def test_lsvt_weak_labels_give_images_with_texts_and_no_detection_set(tmp_path):
    data = tmp_path / "lsvt"
    data.mkdir()
    shutil.copy(FIXTURES / "lsvt" / "train_weak_labels.json", data / "train_weak_labels.json")
    _jpeg(data / "train_weak_images_0" / "gt_30000.jpg", 64, 48)
    _jpeg(data / "train_weak_images_0" / "gt_30001.jpg", 80, 40)
    params = ConvertParams(format="lsvt", annotations="train_weak_labels.json", images=".", lsvt_labels="weak")
    result = run(params, {"data": data}, tmp_path / "out", LocalContext())
    assert result.outputs == {"images": "images", "manifest": "manifest.parquet"}
    assert not (tmp_path / "out" / "annotations.json").exists()  # never mistaken for text-free negatives
    rows = pq.read_table(tmp_path / "out" / "manifest.parquet").to_pylist()
    assert [(r["file_name"], r["width"], r["height"], r["texts"], r["source"]) for r in rows] == [
        ("train_weak_images_0/gt_30000.jpg", 64, 48, ["人民大会堂"], "train_weak_labels.json:gt_30000"),
        ("train_weak_images_0/gt_30001.jpg", 80, 40, ["肯德基", "KFC"], "train_weak_labels.json:gt_30001")]
    assert (tmp_path / "out" / "images" / "train_weak_images_0" / "gt_30001.jpg").samefile(
        data / "train_weak_images_0" / "gt_30001.jpg")
    assert (result.counts["images"], result.counts["items"], result.counts["bad_items"]) == (2, 2, 0)


def _config_errors(**params) -> str:
    raw = {"name": "t", "stages": {"conv": {"type": "convert", "annotations": "a", "images": "b", **params}}}
    with pytest.raises(ConfigError) as info:
        validate_config(raw, "t.yaml", {"convert": STAGE})
    return str(info.value)


def test_bad_option_values_are_config_errors_naming_the_key():
    assert "stages.conv.cocotext_split: Input should be 'train', 'val' or 'both'" in _config_errors(
        format="cocotext", cocotext_split="test")
    assert "stages.conv.cocotext_split: Value error, applies only to format: cocotext" in _config_errors(
        format="textocr", cocotext_split="val")
    assert "stages.conv.lsvt_labels: Input should be 'full' or 'weak'" in _config_errors(
        format="lsvt", lsvt_labels="weak_labels")
    assert "stages.conv.lsvt_labels: Value error, applies only to format: lsvt" in _config_errors(
        format="art", lsvt_labels="weak")
    assert "stages.conv.lsvt_labels: Value error, weak labels" in _config_errors(
        format="lsvt", lsvt_labels="weak", task="rec")
    assert "stages.conv.export: Value error, weak labels have no instances" in _config_errors(
        format="lsvt", lsvt_labels="weak", export=["mmocr"])
    assert "stages.conv.export.0: Input should be 'mmocr' or 'paddleocr'" in _config_errors(
        format="icdar2015", export=["doctr"])
    assert "stages.conv.export_split: Value error, '../x' is not a split name" in _config_errors(
        format="icdar2015", export=["mmocr"], export_split="../x")


def test_outputs_name_the_exports():
    params = ConvertParams(format="icdar2015", annotations="a", images="b", export=["mmocr", "paddleocr"])
    assert output_names(params) == ["images", "annotations", "manifest", "mmocr", "paddleocr"]
