"""RCTW-17 parser on a fixture in the native per-image txt layout (BOM, CRLF, quoted text with commas)."""
from __future__ import annotations

from pathlib import Path

import pytest

from stages.convert.parsers import get_parser, rctw17
from stages.convert.parsers.common import BadItem
from stages.dataset.records import ImageRecord, ParseError, Skipped

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "rctw17"


def test_reads_fixture():
    items = list(get_parser("rctw17")(FIXTURE / "gt", FIXTURE / "images"))
    records = {r.image_path.name: r for r in items if isinstance(r, ImageRecord)}
    skipped = [(s.reason, s.source) for s in items if isinstance(s, Skipped)]
    assert sorted(records) == ["image_0.jpg", "image_2.jpg"]
    assert skipped == [("missing_image", "image_1.txt"), ("malformed_line", "image_2.txt:2")]

    first = records["image_0.jpg"]
    assert first.source == "image_0.txt" and (first.width, first.height) == (0, 0)
    # BOM gone, commas inside the quoted transcription kept
    assert [i.text for i in first.instances] == ["金氏眼镜", "营业时间:9:00-21:00,全年无休", "模糊的字"]
    assert [i.ignore for i in first.instances] == [False, False, True]  # difficult=1 -> don't care
    assert first.instances[0].polygon == [(39.0, 90.0), (185.0, 90.0), (185.0, 122.0), (39.0, 122.0)]

    crlf = records["image_2.jpg"]
    assert [i.text for i in crlf.instances] == ["北京欢迎你", "出口 EXIT"]
    assert crlf.instances[1].polygon == [(52.0, 200.0), (480.0, 201.0), (479.0, 260.0), (51.0, 259.0)]


def test_parse_line_keeps_inner_quotes_and_rejects_short_lines():
    inst = rctw17.parse_line('1,2,3,4,5,6,7,8,0,"say ""hi"", ok"')
    assert inst.text == 'say ""hi"", ok' and inst.polygon[3] == (7.0, 8.0) and not inst.ignore
    with pytest.raises(BadItem) as err:
        rctw17.parse_line("1,2,3,4,5,6,7,8,0")  # no transcription field
    assert err.value.reason == "malformed_line"
    with pytest.raises(BadItem):
        rctw17.parse_line('1,2,3,4,5,6,7,x,0,"a"')


def test_unusable_input_raises(tmp_path):
    with pytest.raises(ParseError):
        list(rctw17.parse(tmp_path / "nowhere", FIXTURE / "images"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ParseError):
        list(rctw17.parse(tmp_path / "empty", FIXTURE / "images"))
