"""ReCTS parser: line instances with the characters inside them attached."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from stages.convert.parsers import get_parser, rects
from stages.dataset.records import ImageRecord, ParseError, Skipped

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "rects"


def _images(folder: Path, *stems: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem in stems:
        (folder / f"{stem}.jpg").write_bytes(b"")  # never decoded by the parser
    return folder


def test_lines_with_chars(tmp_path):
    (record,) = list(get_parser("rects")(FIXTURES, _images(tmp_path, "train_ReCTS_000001")))
    hoki, tea, illegible = record.instances
    assert (hoki.text, hoki.ignore) == ("HOKI", False)
    assert hoki.polygon == [(23.0, 173.0), (327.0, 180.0), (327.0, 290.0), (23.0, 283.0)]
    assert [c for c, _ in hoki.chars] == ["H", "O", "K", "I"]
    assert hoki.chars[0][1] == [(25.0, 175.0), (112.0, 175.0), (112.0, 286.0), (25.0, 286.0)]
    assert [c for c, _ in tea.chars] == ["T", "E", "###"]  # the ignored char is kept, recognisable by its text
    assert (illegible.text, illegible.ignore, illegible.chars) == ("###", True, [])


def test_orphan_char_and_bad_entries(tmp_path):
    gt = tmp_path / "gt"
    gt.mkdir()
    (gt / "train_ReCTS_000002.json").write_text(json.dumps({
        "chars": [{"ignore": 0, "transcription": "A", "points": [1, 1, 3, 1, 3, 3, 1, 3]},
                  {"ignore": 0, "transcription": "Z", "points": [50, 50, 52, 50, 52, 52, 50, 52]},
                  {"ignore": 0, "transcription": "Q", "points": [1, 1, 3]}],
        "lines": [{"ignore": 0, "transcription": "A", "points": [0, 0, 10, 0, 10, 10, 0, 10]},
                  {"ignore": 0, "transcription": "bad", "points": "0,0"}],
    }))
    (gt / "train_ReCTS_000003.json").write_text("{not json")
    items = list(rects.parse(gt, _images(tmp_path / "imgs", "train_ReCTS_000002", "train_ReCTS_000003")))
    assert [(i.reason, i.source) for i in items if isinstance(i, Skipped)] == [
        ("bad_polygon", "train_ReCTS_000002.json:lines[1]"),
        ("char_outside_lines", "train_ReCTS_000002.json:chars[1]"),
        ("bad_polygon", "train_ReCTS_000002.json:chars[2]"),
        ("unreadable_file", "train_ReCTS_000003.json"),
    ]
    (record,) = [i for i in items if isinstance(i, ImageRecord)]
    (line,) = record.instances
    assert line.chars == [("A", [(1.0, 1.0), (3.0, 1.0), (3.0, 3.0), (1.0, 3.0)])]


def test_point_in_polygon():
    square = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]
    assert rects.contains(square, (5.0, 5.0)) and not rects.contains(square, (15.0, 5.0))
    slanted = [(23.0, 173.0), (327.0, 180.0), (327.0, 290.0), (23.0, 283.0)]
    assert rects.contains(slanted, (25.0, 176.0)) and not rects.contains(slanted, (300.0, 176.0))


def test_missing_annotations(tmp_path):
    with pytest.raises(ParseError):
        list(rects.parse(tmp_path / "gt", _images(tmp_path / "imgs")))
