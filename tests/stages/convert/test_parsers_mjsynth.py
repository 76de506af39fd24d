"""MJSynth parser on an annotation.txt in the native layout (real word crops under MJSynth-style names)."""
from __future__ import annotations

from pathlib import Path

import pytest

from stages.convert.parsers import get_parser, mjsynth
from stages.dataset.records import CropRecord, ParseError, Skipped

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "mjsynth"


def test_reads_fixture():
    items = list(get_parser("mjsynth")(FIXTURE / "annotation.txt", FIXTURE))
    crops = [i for i in items if isinstance(i, CropRecord)]
    # lines 4 (a missing file) and 5 (a zero-byte file, as some in the release) are records here; the
    # convert stage skips them when it reads them (test_convert_stage)
    assert [(c.label, c.source) for c in crops][:3] == [
        ("GRAND", "annotation.txt:1"), ("Virgin", "annotation.txt:2"), ("america", "annotation.txt:3")]
    assert [c.source for c in crops][3:] == ["annotation.txt:4", "annotation.txt:5"]
    assert crops[0].image_path == FIXTURE / "2697" / "6" / "466_GRAND_34570.jpg"
    assert crops[0].image_path.is_file() and crops[0].image_bytes is None
    assert [(s.reason, s.source) for s in items if isinstance(s, Skipped)] == [
        ("malformed_line", "annotation.txt:6"),  # no word in the name
        ("malformed_line", "annotation.txt:7"),  # extra field
    ]


def test_label_from_name():
    assert mjsynth.label_from_name("./2697/6/466_MONIKER_49537.jpg") == "MONIKER"
    assert mjsynth.label_from_name("./1/1/3_slinking_71711.jpg") == "slinking"
    assert mjsynth.label_from_name("5_foo_bar_7.jpg") == "foo_bar"  # between first and last underscore
    assert mjsynth.label_from_name("./1/1/noword.jpg") is None
    assert mjsynth.label_from_name("1__2.jpg") is None


def test_unusable_input_raises(tmp_path):
    with pytest.raises(ParseError):
        list(mjsynth.parse(tmp_path / "annotation.txt", tmp_path))
    (tmp_path / "annotation.txt").write_bytes(b"./1/1/3_caf\xe9_7.jpg 7\n")  # Latin-1, not UTF-8
    with pytest.raises(ParseError, match="UTF-8"):
        list(mjsynth.parse(tmp_path / "annotation.txt", tmp_path))
