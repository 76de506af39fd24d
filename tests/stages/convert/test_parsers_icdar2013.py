"""ICDAR 2013 parser: the space-separated training and the comma-separated test spelling."""
from __future__ import annotations

from pathlib import Path

import pytest

from stages.convert.parsers import get_parser, icdar2013
from stages.dataset.records import ImageRecord, ParseError, Skipped

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "icdar2013"


def _images(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")  # never decoded by the parser
    return folder


def test_training_spelling(tmp_path):
    (record,) = list(get_parser("icdar2013")(FIXTURES / "train", _images(tmp_path, "100.jpg")))
    assert record.image_path.name == "100.jpg" and record.source == "gt_100.txt"
    assert [i.text for i in record.instances] == ["Footpath", "To", "Colchester", "and", "Greenstead,", 'Say "hi"']
    assert record.instances[0].polygon == [(158.0, 128.0), (411.0, 128.0), (411.0, 181.0), (158.0, 181.0)]
    assert not any(i.ignore for i in record.instances)


def test_test_spelling_with_crlf(tmp_path):
    (record,) = list(icdar2013.parse(FIXTURES / "test", _images(tmp_path, "img_1.jpg")))
    assert record.image_path.name == "img_1.jpg"
    assert [i.text for i in record.instances] == ["Tiredness", "kills", "A", "short,", "break"]
    assert record.instances[0].polygon == [(38.0, 43.0), (920.0, 43.0), (920.0, 215.0), (38.0, 215.0)]
    assert record.instances[2].polygon == [(0.0, 699.0), (77.0, 699.0), (77.0, 830.0), (0.0, 830.0)]


@pytest.mark.parametrize(
    ("line", "text"),
    [
        ('1 2 3 4 "a b"', "a b"),
        ('1, 2, 3, 4, "x, y"', "x, y"),
        ('1 2 3 4 "a,b"', "a,b"),  # comma only inside the quotes: still the space spelling
        (r'1 2 3 4 "back\\slash"', "back\\slash"),
        ("1 2 3 4", ""),
        ("1 2 3 4 unquoted", "unquoted"),
    ],
)
def test_line_variants(line, text):
    instance = icdar2013.parse_line(line)
    assert instance.text == text
    assert instance.polygon == [(1.0, 2.0), (3.0, 2.0), (3.0, 4.0), (1.0, 4.0)]


def test_malformed_line_and_missing_file(tmp_path):
    gt = tmp_path / "gt"
    gt.mkdir()
    (gt / "gt_7.txt").write_text('10 20 30 40 "ok"\n10 20 "short"\n')
    items = list(icdar2013.parse(gt, _images(tmp_path / "imgs", "7.png")))
    assert [(i.reason, i.source) for i in items if isinstance(i, Skipped)] == [("malformed_line", "gt_7.txt:2")]
    (record,) = [i for i in items if isinstance(i, ImageRecord)]
    assert record.image_path.name == "7.png" and [i.text for i in record.instances] == ["ok"]
    with pytest.raises(ParseError):
        list(icdar2013.parse(tmp_path / "missing", tmp_path / "imgs"))
