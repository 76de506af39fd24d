"""SVT parser on train.xml in the native layout (first image from the real SVT train.xml)."""
from __future__ import annotations

from pathlib import Path

import pytest

from stages.convert.parsers import get_parser, svt
from stages.dataset.records import ImageRecord, ParseError, Skipped

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "svt"


def test_reads_fixture():
    items = list(get_parser("svt")(FIXTURE / "train.xml", FIXTURE))
    assert [(s.reason, s.source) for s in items if isinstance(s, Skipped)] == [
        ("bad_rectangle", "train.xml:20"),  # width="wide"
        ("missing_image", "train.xml:25"),  # img/18_01.jpg
    ]
    (record,) = [r for r in items if isinstance(r, ImageRecord)]
    assert record.image_path == FIXTURE / "img" / "14_03.jpg" and record.source == "train.xml:3"
    assert (record.width, record.height) == (1280, 880)  # from <Resolution>
    assert [i.text for i in record.instances] == ["LIVING", "ROOM", "THEATERS"]
    assert not any(i.ignore for i in record.instances)
    # height="75" width="236" x="375" y="253" -> clockwise corners from top-left
    assert record.instances[0].polygon == [(375.0, 253.0), (611.0, 253.0), (611.0, 328.0), (375.0, 328.0)]


def test_image_name_falls_back_to_basename(tmp_path):
    (tmp_path / "14_03.jpg").write_bytes(b"x")  # images given as the img/ folder itself
    records = [r for r in svt.parse(FIXTURE / "train.xml", tmp_path) if isinstance(r, ImageRecord)]
    assert [r.image_path for r in records] == [tmp_path / "14_03.jpg"]


def test_unusable_input_raises(tmp_path):
    bad = tmp_path / "test.xml"
    bad.write_text("<tagset>\n  <image>\n    <imageName>img/1.jpg</imageName>\n</tagset>\n")
    with pytest.raises(ParseError) as err:
        list(svt.parse(bad, tmp_path))
    assert err.value.line == 4  # </tagset> closes while <image> is open
    bad.write_text("<annotations><image/></annotations>")
    with pytest.raises(ParseError, match="tagset"):
        list(svt.parse(bad, tmp_path))
    with pytest.raises(ParseError):
        list(svt.parse(tmp_path / "absent.xml", tmp_path))
