"""Word-image list parser: MMOCR's real COCO-Text crop lists (old_label.txt, labels.json) and
SVTP / CUTE80-style lists."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from stages.convert.parsers import get_parser, textlist
from stages.dataset.records import CropRecord, ParseError, Skipped

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "textlist"
EXPECTED = [("1223731.jpg", "GRAND"), ("1223733.jpg", "HOTEL"), ("1223732.jpg", "HOTEL"),
            ("1223729.jpg", "PACIFIC"), ("1036169.jpg", "03/09/2009"), ("1190237.jpg", "ANING"),
            ("1058891.jpg", "Virgin"), ("1058892.jpg", "america"), ("1240078.jpg", "ATTACK"),
            ("1210236.jpg", "DAVIDSON")]


def test_reads_space_separated_list():
    crops = list(get_parser("textlist")(FIXTURE / "old_label.txt", FIXTURE / "imgs"))
    assert [(c.image_path.name, c.label) for c in crops] == EXPECTED
    assert all(isinstance(c, CropRecord) and c.image_path.is_file() for c in crops)
    assert crops[4].source == "old_label.txt:5"


def test_reads_mmocr_json():
    crops = list(textlist.parse(FIXTURE / "labels.json", FIXTURE / "imgs"))
    assert [(c.image_path.name, c.label) for c in crops] == EXPECTED
    assert crops[0].source == "labels.json:data_list/0"


def test_tab_and_cute80_rules(tmp_path):
    for name in ("001.jpg", "002.jpg", "003.jpg"):
        (tmp_path / name).write_bytes(b"jpg")
    lst = tmp_path / "gt.txt"
    lst.write_bytes("\ufeff001.jpg\tNew York\r\n002.jpg RONALDO 1 RONALDO\r\n\r\n003.jpg\r\n004.jpg LOST\r\n"
                    "003.jpg\t\r\n".encode("utf-8"))
    items = list(textlist.parse(lst, tmp_path))
    crops = [(c.image_path.name, c.label, c.source) for c in items if isinstance(c, CropRecord)]
    # 004.jpg does not exist: the convert stage's shards find that out when they read it (missing_image)
    assert crops == [("001.jpg", "New York", "gt.txt:1"), ("002.jpg", "RONALDO", "gt.txt:2"),
                     ("004.jpg", "LOST", "gt.txt:5")]
    assert [(s.reason, s.source) for s in items if isinstance(s, Skipped)] == [
        ("malformed_line", "gt.txt:4"), ("malformed_line", "gt.txt:6")]


def test_split_line():
    assert textlist.split_line("a/b.jpg\tlabel with  spaces ") == ("a/b.jpg", "label with  spaces ")
    assert textlist.split_line("13_15_0_par.jpg WYNDHAM") == ("13_15_0_par.jpg", "WYNDHAM")
    assert textlist.split_line("only_path.jpg") is None


def test_bad_json_items_and_files(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"jpg")
    items = [{"img_path": "a.jpg", "instances": [{"text": "ok"}]}, {"img_path": "a.jpg", "instances": []}]
    (tmp_path / "l.json").write_text(json.dumps({"metainfo": {}, "data_list": items}))
    out = list(textlist.parse(tmp_path / "l.json", tmp_path))
    assert out[0].label == "ok" and (out[1].reason, out[1].source) == ("malformed_entry", "l.json:data_list/1")
    (tmp_path / "l.json").write_text('{"data_list": 3}')
    with pytest.raises(ParseError, match="data_list"):
        list(textlist.parse(tmp_path / "l.json", tmp_path))
    with pytest.raises(ParseError):
        list(textlist.parse(tmp_path / "absent.txt", tmp_path))
