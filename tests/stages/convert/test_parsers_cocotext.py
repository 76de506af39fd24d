"""COCO-Text v2 parser on a hand-made cocotext.v2.json in the native layout (real COCO-Text words and ids)."""
from __future__ import annotations

from pathlib import Path

import pytest

from stages.convert.parsers import cocotext, get_parser
from stages.dataset.records import ImageRecord, ParseError, Skipped

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "cocotext"
JSON = FIXTURE / "cocotext.v2.json"
IMAGES = FIXTURE / "train2014"


def _records(items) -> dict[str, ImageRecord]:
    return {r.image_path.name[-10:-4]: r for r in items if isinstance(r, ImageRecord)}


def test_reads_all_splits():
    items = list(get_parser("cocotext")(JSON, IMAGES))
    assert [(s.reason, s.source) for s in items if isinstance(s, Skipped)] == [
        ("missing_image", "cocotext.v2.json:imgs/104584")]
    records = _records(items)
    assert sorted(records) == ["217236", "390310", "522579", "551439"]

    hotel = records["522579"]
    assert (hotel.width, hotel.height, hotel.source) == (640, 480, "cocotext.v2.json:imgs/522579")
    assert [(i.text, i.ignore, i.language) for i in hotel.instances] == [
        ("GRAND", False, "english"), ("HOTEL", False, "english"), ("PACIFIC", False, "english"),
        ("", True, "na")]  # illegible, no utf8_string
    assert hotel.instances[0].polygon == [(120.4, 200.1), (187.4, 200.1), (187.4, 226.1), (120.4, 226.1)]

    virgin = records["390310"].instances[0]  # empty mask: the bbox stands in
    assert virgin.polygon == [(400.0, 100.0), (472.0, 100.0), (472.0, 178.0), (400.0, 178.0)]
    assert (virgin.text, virgin.language) == ("Virgin", "not english")
    assert records["551439"].instances == []  # an image without text is kept as a negative


def test_split_filter():
    train = _records(cocotext.parse(JSON, IMAGES, split="train"))
    val = _records(cocotext.parse(JSON, IMAGES, split="val"))
    assert sorted(train) == ["390310", "522579", "551439"]
    assert sorted(val) == ["217236"] and [i.text for i in val["217236"].instances] == ["03/09/2009"]
    with pytest.raises(ValueError, match="train, val"):
        list(cocotext.parse(JSON, IMAGES, split="test"))


def test_unusable_input_raises(tmp_path):
    (tmp_path / "c.json").write_text('["not", "an", "object"]')
    with pytest.raises(ParseError, match="imgs"):
        list(cocotext.parse(tmp_path / "c.json", IMAGES))
