"""TextOCR parser on a hand-made TextOCR_0.1_train.json in the native layout."""
from __future__ import annotations

from pathlib import Path

import pytest

from stages.convert.parsers import get_parser, textocr
from stages.dataset.records import ImageRecord, ParseError, Skipped

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "textocr"
JSON = "TextOCR_0.1_train.json"


def test_reads_fixture():
    items = list(get_parser("textocr")(FIXTURE / JSON, FIXTURE / "train_images"))
    skipped = [(s.reason, s.source) for s in items if isinstance(s, Skipped)]
    assert skipped == [
        ("unknown_image", f"{JSON}:anns/ffffffffffffffff_1"),
        ("bad_polygon", f"{JSON}:anns/a4ea732cd3d5948a_5"),
        ("missing_image", f"{JSON}:imgs/0e59b7a2dc8a1fc4"),
    ]
    records = [r for r in items if isinstance(r, ImageRecord)]
    assert [r.image_path for r in records] == [FIXTURE / "train_images" / "a4ea732cd3d5948a.jpg",
                                               FIXTURE / "train_images" / "4bf43a7b2a898044.jpg"]
    first = records[0]
    assert (first.width, first.height, first.source) == (320, 240, f"{JSON}:imgs/a4ea732cd3d5948a")
    assert [(i.text, i.ignore) for i in first.instances] == [
        ("Performance", False), ("", True), ("Café", False), ("2019", False)]  # "." = illegible
    assert first.instances[0].polygon == [(25.83, 3.4), (123.47, 7.29), (122.76, 36.99), (25.83, 37.34)]
    assert len(first.instances[2].polygon) == 8
    # "2019" has 3 numbers as points: its bbox [x, y, w, h] stands in.
    assert first.instances[3].polygon == [(200.0, 150.0), (260.0, 150.0), (260.0, 175.0), (200.0, 175.0)]
    assert [i.text for i in records[1].instances] == ["STOP"]


def test_unusable_input_raises(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"imgs": {},\n "anns": [oops]}')
    with pytest.raises(ParseError) as err:
        list(textocr.parse(bad, tmp_path))
    assert err.value.line == 2
    bad.write_text('{"imgs": {}}')
    with pytest.raises(ParseError, match="anns"):
        list(textocr.parse(bad, tmp_path))
    with pytest.raises(ParseError):
        list(textocr.parse(tmp_path / "absent.json", tmp_path))
