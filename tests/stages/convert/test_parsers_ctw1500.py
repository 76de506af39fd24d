"""CTW1500 parser: training XML, test txt (``####text``) and the original release's offset txt."""
from __future__ import annotations

from pathlib import Path

import pytest

from stages.convert.parsers import ctw1500, get_parser
from stages.dataset.records import ImageRecord, ParseError, Skipped

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ctw1500"
OLATHE = [(131.0, 58.0), (208.0, 49.0), (279.0, 56.0), (346.0, 76.0), (412.0, 101.0), (473.0, 141.0),
          (530.0, 192.0), (510.0, 246.0), (458.0, 210.0), (405.0, 175.0), (350.0, 151.0), (291.0, 137.0),
          (228.0, 133.0), (165.0, 134.0)]


def _images(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")  # never decoded by the parser
    return folder


def test_training_xml(tmp_path):
    (record,) = list(get_parser("ctw1500")(FIXTURES / "train", _images(tmp_path, "0200.jpg")))
    olathe, illegible = record.instances
    assert olathe.polygon == OLATHE and olathe.text == "OLATHE" and not olathe.ignore
    assert olathe.chars == []  # v2 character centre points are not polygons: not kept
    assert illegible.text == "###" and illegible.ignore and len(illegible.polygon) == 14
    assert record.source == "0200.xml"


def test_test_txt_names_and_transcriptions(tmp_path):
    (record,) = list(ctw1500.parse(FIXTURES / "test", _images(tmp_path, "1001.jpg")))
    assert record.image_path.name == "1001.jpg"  # 0001001.txt -> 1001.jpg
    assert [(i.text, i.ignore) for i in record.instances] == [("PARK,RIDE", False), ("###", True), ("CITY", False)]
    assert record.instances[0].polygon[:3] == [(10.0, 20.0), (30.0, 18.0), (50.0, 17.0)]
    assert all(len(i.polygon) == 14 for i in record.instances)


def test_legacy_offsets_give_absolute_points(tmp_path):
    images = _images(tmp_path, "0005.jpg", "1001.jpg")
    (legacy,) = list(ctw1500.parse(FIXTURES / "legacy", images))
    (test,) = list(ctw1500.parse(FIXTURES / "test", images))
    assert legacy.instances[0].polygon == test.instances[0].polygon
    assert legacy.instances[0].text == "" and not legacy.instances[0].ignore


def test_bad_lines_boxes_and_files(tmp_path):
    gt = tmp_path / "gt"
    gt.mkdir()
    coords = ",".join(str(v) for v in range(28))
    (gt / "0001002.txt").write_text(f"{coords},####OK\n1,2,3,####short\n")
    (gt / "0003.xml").write_text(
        "<Annotations><image file='0003.jpg'><box><label>A</label><segs>1,2,3</segs></box>"
        f"<box><label>B</label><segs>{coords}</segs></box><box><label>C</label></box></image></Annotations>"
    )
    (gt / "0004.xml").write_text("<Annotations><image>")
    items = list(ctw1500.parse(gt, _images(tmp_path / "imgs", "1002.jpg", "0003.jpg", "0004.jpg")))
    assert [(i.reason, i.source) for i in items if isinstance(i, Skipped)] == [
        ("bad_polygon", "0003.xml:box[0]"), ("bad_polygon", "0003.xml:box[2]"),
        ("unreadable_file", "0004.xml"), ("malformed_line", "0001002.txt:2"),
    ]
    records = {r.image_path.stem: r for r in items if isinstance(r, ImageRecord)}
    assert [i.text for i in records["0003"].instances] == ["B"]
    assert [i.text for i in records["1002"].instances] == ["OK"]


def test_missing_annotations(tmp_path):
    with pytest.raises(ParseError):
        list(ctw1500.parse(tmp_path / "ctw1500_train_labels", _images(tmp_path)))
