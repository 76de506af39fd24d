"""ArT parser: one labels json keyed by image name."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from stages.convert.parsers import art, get_parser
from stages.dataset.records import ImageRecord, ParseError, Skipped

LABELS = Path(__file__).resolve().parents[2] / "fixtures" / "art" / "train_labels.json"


def _images(folder: Path, *stems: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem in stems:
        (folder / f"{stem}.jpg").write_bytes(b"")  # never decoded by the parser
    return folder


def test_records_ignore_and_language(tmp_path):
    items = list(get_parser("art")(LABELS, _images(tmp_path, "gt_0", "gt_1", "gt_2")))
    assert all(isinstance(i, ImageRecord) for i in items)
    gt0, gt1, gt2 = items
    assert [r.image_path.name for r in items] == ["gt_0.jpg", "gt_1.jpg", "gt_2.jpg"]
    assert [(i.text, i.ignore, i.language) for i in gt0.instances] == [
        ("PETROSAINS", False, "Latin"), ("###", True, "Latin"),
    ]
    assert gt0.instances[0].polygon[0] == (206.0, 633.0) and len(gt0.instances[0].polygon) == 10
    (chinese,) = gt1.instances
    assert (chinese.text, chinese.language) == ("燎申集团", "Chinese")
    assert chinese.polygon == [(141.0, 199.0), (237.0, 201.0), (313.0, 236.0), (357.0, 283.0), (359.0, 300.0),
                               (309.0, 261.0), (233.0, 230.0), (140.0, 231.0)]
    assert gt2.instances == [] and gt2.source == "train_labels.json:gt_2"


def test_illegibility_flag_alone_marks_ignore(tmp_path):
    labels = tmp_path / "train_labels.json"
    entry = {"transcription": "SHOP", "points": [[0, 0], [4, 0], [4, 2]], "illegibility": True}
    labels.write_text(json.dumps({"gt_5": [entry]}))
    (record,) = list(art.parse(labels, _images(tmp_path / "imgs", "gt_5")))
    assert record.instances[0].ignore and record.instances[0].text == "SHOP" and record.instances[0].language == ""


def test_bad_entries_and_missing_image(tmp_path):
    labels = tmp_path / "train_labels.json"
    labels.write_text(json.dumps({
        "gt_0": [{"transcription": "A", "points": [[0, 0], [4, 0], [4, 2], [0, 2]]},
                 {"transcription": "B"},
                 {"transcription": "C", "points": [[0, 0], [4, "x"]]},
                 "not an object"],
        "gt_9": [{"transcription": "lost", "points": [[0, 0], [1, 0], [1, 1]]}],
        "gt_1": {"transcription": "not a list"},
    }))
    items = list(art.parse(labels, _images(tmp_path / "imgs", "gt_0", "gt_1")))
    assert [(i.reason, i.source) for i in items if isinstance(i, Skipped)] == [
        ("bad_polygon", "train_labels.json:gt_0[1]"), ("bad_polygon", "train_labels.json:gt_0[2]"),
        ("malformed_record", "train_labels.json:gt_0[3]"), ("missing_image", "train_labels.json:gt_9"),
        ("malformed_record", "train_labels.json:gt_1"),
    ]
    (record,) = [i for i in items if isinstance(i, ImageRecord)]
    assert [i.text for i in record.instances] == ["A"]


def test_unusable_json_raises_parse_error(tmp_path):
    images = _images(tmp_path / "imgs")
    broken = tmp_path / "train_labels.json"
    broken.write_text('{"gt_0": [\n  {"transcription": "A",,}\n]}')
    with pytest.raises(ParseError) as info:
        list(art.parse(broken, images))
    assert info.value.line == 2 and "invalid JSON" in str(info.value)
    broken.write_text("[1, 2]")
    with pytest.raises(ParseError, match="expected an object"):
        list(art.parse(broken, images))
    with pytest.raises(ParseError, match="not found"):
        list(art.parse(tmp_path / "missing.json", images))
