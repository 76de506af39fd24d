"""LSVT parser: fully annotated labels (ArT schema) and the weak, text-only labels."""
from __future__ import annotations

import json
from pathlib import Path

from stages.convert.parsers import get_parser, lsvt
from stages.dataset.records import ImageRecord, Skipped

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "lsvt"


def _images(folder: Path, *names: str) -> Path:
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"")  # never decoded by the parser
    return folder


def test_full_labels_images_in_two_folders(tmp_path):
    images = _images(tmp_path / "imgs", "train_full_images_0/gt_0.jpg", "train_full_images_1/gt_1.jpg")
    gt0, gt1 = list(get_parser("lsvt")(FIXTURES / "train_full_labels.json", images))
    assert gt0.image_path == tmp_path / "imgs" / "train_full_images_0" / "gt_0.jpg"
    assert gt1.image_path == tmp_path / "imgs" / "train_full_images_1" / "gt_1.jpg"
    assert [(i.text, i.ignore, i.language) for i in gt0.instances] == [
        ("一站式购物中心", False, ""), ("###", True, ""),
    ]
    assert gt0.instances[0].polygon == [(45.0, 272.0), (215.0, 273.0), (212.0, 313.0), (44.0, 312.0)]
    assert [i.text for i in gt1.instances] == ["肯德基"]


def test_weak_labels_are_not_detection_records(tmp_path):
    images = _images(tmp_path / "imgs", "gt_30000.jpg", "gt_30001.jpg")
    items = list(lsvt.parse(FIXTURES / "train_weak_labels.json", images))
    # a weak entry has no points: read as a detection set every entry is Skipped, records are empty
    assert [(i.reason, i.source) for i in items if isinstance(i, Skipped)] == [
        ("bad_polygon", "train_weak_labels.json:gt_30000[0]"), ("bad_polygon", "train_weak_labels.json:gt_30001[0]"),
        ("bad_polygon", "train_weak_labels.json:gt_30001[1]"),
    ]
    assert [r.instances for r in items if isinstance(r, ImageRecord)] == [[], []]


def test_parse_weak(tmp_path):
    images = _images(tmp_path / "imgs", "gt_30000.jpg", "gt_30001.jpg")
    assert list(lsvt.parse_weak(FIXTURES / "train_weak_labels.json", images)) == [
        (images / "gt_30000.jpg", ["人民大会堂"]),
        (images / "gt_30001.jpg", ["肯德基", "KFC"]),
    ]


def test_parse_weak_bad_entries(tmp_path):
    labels = tmp_path / "train_weak_labels.json"
    labels.write_text(json.dumps({"gt_1": [{"transcription": "OK"}, {"points": []}], "gt_2": [{"transcription": "X"}]}))
    items = list(lsvt.parse_weak(labels, _images(tmp_path / "imgs", "gt_1.jpg")))
    assert items[0] == Skipped("malformed_record", "train_weak_labels.json:gt_1[1]", items[0].detail)
    assert items[1] == (tmp_path / "imgs" / "gt_1.jpg", ["OK"])
    assert (items[2].reason, items[2].source) == ("missing_image", "train_weak_labels.json:gt_2")
