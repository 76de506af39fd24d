"""MLT parser: 2019 (tr_img_, BOM, LF) and 2017 (gt_img_, CRLF) naming, script -> language."""
from __future__ import annotations

from pathlib import Path

import pytest

from stages.convert.parsers import get_parser, mlt
from stages.dataset.records import ImageRecord, ParseError, Skipped

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "mlt" / "gt"


def _images(folder: Path, *names: str) -> Path:
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"")  # never decoded by the parser
    return folder


def test_both_namings_scripts_and_ignore(tmp_path):
    images = _images(tmp_path, "ImagesPart1/tr_img_00001.jpg", "ImagesPart2/img_5.png")
    items = list(get_parser("mlt")(FIXTURE, images))
    assert all(isinstance(i, ImageRecord) for i in items)
    records = {r.image_path.name: r for r in items}
    mlt19 = records["tr_img_00001.jpg"].instances
    assert [(i.language, i.text, i.ignore) for i in mlt19] == [
        ("Latin", "SALE", False), ("Arabic", "تخفيضات", False), ("Latin", "50%,OFF", False), ("None", "###", True),
    ]
    assert mlt19[0].polygon == [(379.0, 117.0), (472.0, 117.0), (472.0, 146.0), (379.0, 146.0)]  # BOM stripped
    mlt17 = records["img_5.png"].instances
    assert [(i.language, i.text, i.ignore) for i in mlt17] == [
        ("Korean", "서울", False), ("Chinese", "北京", False), ("Symbols", "###", True),
    ]


def test_malformed_lines(tmp_path):
    gt = tmp_path / "gt"
    gt.mkdir()
    (gt / "tr_img_00002.txt").write_text("1,1,5,1,5,5,1,5,Latin,OK\n1,1,5,1,5,5,1,5,Latin\n1,1,5,1,5,5,1,Latin,X\n")
    items = list(mlt.parse(gt, _images(tmp_path / "imgs", "tr_img_00002.gif")))
    assert [(i.reason, i.source) for i in items if isinstance(i, Skipped)] == [
        ("malformed_line", "tr_img_00002.txt:2"), ("malformed_line", "tr_img_00002.txt:3"),
    ]
    assert [i.text for i in items[-1].instances] == ["OK"]
    with pytest.raises(ParseError):
        list(mlt.parse(tmp_path / "train_gt_t13", tmp_path / "imgs"))
