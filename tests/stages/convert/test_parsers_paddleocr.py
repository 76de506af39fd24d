"""PaddleOCR parsers: Label.txt (detection) and rec_gt.txt (recognition) in PPOCRLabel's layout; damaged lines."""
from __future__ import annotations

from pathlib import Path

import pytest

from stages.convert.parsers import get_parser, line_format, paddleocr
from stages.dataset.records import CropRecord, ImageRecord, ParseError, Skipped

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "paddleocr"


def _files(root: Path, *names: str) -> Path:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")
    return root


def test_label_txt(tmp_path):
    root = _files(tmp_path, "ch4_test_images/img_40.jpg", "ch4_test_images/img_61.jpg", "ch4_test_images/img_7.jpg")
    img40, img61, img7 = list(get_parser("paddleocr_det")(FIXTURES / "Label.txt", root))
    assert img40.image_path == root / "ch4_test_images" / "img_40.jpg" and img40.source == "Label.txt:1"
    assert [(i.text, i.ignore) for i in img40.instances] == [
        ("Bread", False), ("Talk", False), ("Bread", False), ("Talk", False), ("CAFÉ", False),
        ("CA.", True),  # "difficult": true
        ("###", True)]
    assert img40.instances[4].polygon == [(730.0, 128.0), (761.0, 127.0), (761.0, 147.0), (730.0, 147.0)]
    assert [(i.text, i.ignore) for i in img61.instances] == [("MASA", False)]  # no "difficult" key
    assert img7.instances == []  # an image without text


def test_label_txt_with_the_image_folder_itself(tmp_path):
    images = _files(tmp_path, "img_40.jpg", "img_61.jpg", "img_7.jpg")
    records = list(get_parser("paddleocr_det")(FIXTURES / "Label.txt", images))
    assert [r.image_path.name for r in records] == ["img_40.jpg", "img_61.jpg", "img_7.jpg"]


def test_damaged_label_lines(tmp_path):
    images = _files(tmp_path / "imgs", "a.jpg")
    (tmp_path / "outside.jpg").write_bytes(b"")
    label = tmp_path / "Label.txt"
    label.write_text("\n".join([
        'a.jpg\t[{"transcription": "ok", "points": [[0, 0], [4, 0], [4, 4], [0, 4]]}, {"points": [[0, 0]]}, '
        '{"transcription": "x", "points": [[0, "a"]]}, {"transcription": "*", "points": [[0, 0], [1, 0], [1, 1]]}]',
        "a.jpg [] ",  # no tab
        'a.jpg\t[{"transcription": "ok", ',  # truncated JSON
        'a.jpg\t{"transcription": "ok"}',  # not a list
        "missing.jpg\t[]",
        "../outside.jpg\t[]",
        "",
    ]) + "\n", encoding="utf-8")
    items = list(get_parser("paddleocr_det")(label, images))
    assert [(s.reason, s.source) for s in items if isinstance(s, Skipped)] == [
        ("malformed_record", "Label.txt:1[1]"), ("bad_polygon", "Label.txt:1[2]"),
        ("malformed_line", "Label.txt:2"), ("malformed_line", "Label.txt:3"), ("malformed_line", "Label.txt:4"),
        ("missing_image", "Label.txt:5"), ("unsafe_path", "Label.txt:6")]
    (record,) = [r for r in items if isinstance(r, ImageRecord)]
    assert [(i.text, i.ignore) for i in record.instances] == [("ok", False), ("*", True)]


def test_non_utf8_label_line_is_skipped_alone(tmp_path):
    label = tmp_path / "Label.txt"
    label.write_bytes(b"\xef\xbb\xbfa.jpg\t[]\r\nb.jpg\t[{\"transcription\": \"\xff\"}]\r\na.jpg\t[]\r\n")
    items = list(get_parser("paddleocr_det")(label, _files(tmp_path / "imgs", "a.jpg")))
    assert [(type(i).__name__, i.source) for i in items] == [
        ("ImageRecord", "Label.txt:1"), ("Skipped", "Label.txt:2"), ("ImageRecord", "Label.txt:3")]
    assert items[1].reason == "not_utf8"
    with pytest.raises(ParseError, match=r"Label.txt: cannot read"):
        list(get_parser("paddleocr_det")(tmp_path / "nope" / "Label.txt", tmp_path))


def test_rec_gt_txt(tmp_path):
    items = list(get_parser("paddleocr_rec")(FIXTURES / "rec_gt.txt", tmp_path))
    assert [(i.image_path, i.label, i.source) for i in items] == [
        (tmp_path / "crop_img" / "img_40_crop_0.jpg", "Bread", "rec_gt.txt:1"),
        (tmp_path / "crop_img" / "img_40_crop_1.jpg", "Talk", "rec_gt.txt:2"),
        (tmp_path / "crop_img" / "img_40_crop_4.jpg", "CAFÉ", "rec_gt.txt:3"),
        (tmp_path / "crop_img" / "img_61_crop_0.jpg", "MASA", "rec_gt.txt:4")]
    # the convert stage lets its shards parse this list in parts
    assert line_format("paddleocr_rec", FIXTURES / "rec_gt.txt") is paddleocr.REC_LINES


def test_damaged_rec_lines(tmp_path):
    rec = tmp_path / "rec_gt.txt"
    rec.write_text("a.jpg\tNew York\nb.jpg\nc.jpg\tone\ttwo\n\td\ne.jpg\t\n", encoding="utf-8")
    items = list(get_parser("paddleocr_rec")(rec, tmp_path))
    assert [(i.label, i.source) for i in items if isinstance(i, CropRecord)] == [("New York", "rec_gt.txt:1")]
    assert [(s.reason, s.source) for s in items if isinstance(s, Skipped)] == [
        ("malformed_line", "rec_gt.txt:2"), ("malformed_line", "rec_gt.txt:3"), ("malformed_line", "rec_gt.txt:4"),
        ("malformed_line", "rec_gt.txt:5")]
