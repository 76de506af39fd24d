"""MMOCR 1.x parsers: the real MMOCR recognition JSON (with its crops) and textdet / textspotting files packed
from the real ICDAR 2015 GT as MMOCR's preparer packs them; damaged input."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from stages.convert.parsers import get_parser
from stages.dataset.records import CropRecord, ImageRecord, ParseError, Skipped

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mmocr"


def _data_root(tmp_path: Path, *names: str) -> Path:
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")  # the parser only finds files; the shards decode them
    return tmp_path


def test_textrecog_real_file():
    items = list(get_parser("mmocr_textrecog")(FIXTURES / "textrecog_labels.json", FIXTURES / "imgs"))
    assert all(isinstance(i, CropRecord) for i in items)
    assert [(i.image_path.name, i.label) for i in items][:5] == [
        ("1223731.jpg", "GRAND"), ("1223733.jpg", "HOTEL"), ("1223732.jpg", "HOTEL"), ("1223729.jpg", "PACIFIC"),
        ("1036169.jpg", "03/09/2009")]
    assert len(items) == 10 and items[0].source == "textrecog_labels.json:data_list/0"
    assert all(i.image_path.parent == FIXTURES / "imgs" for i in items)


def test_textdet_file_packed_like_mmocr(tmp_path):
    root = _data_root(tmp_path, "textdet_imgs/test/img_1.jpg", "textdet_imgs/test/img_40.jpg")
    img1, img40 = list(get_parser("mmocr_textdet")(FIXTURES / "textdet_test.json", root))
    assert img40.image_path == root / "textdet_imgs" / "test" / "img_40.jpg"
    assert (img40.width, img40.height, img40.source) == (1280, 720, "textdet_test.json:data_list/1")
    assert [i.ignore for i in img40.instances] == [False] * 6 + [True]
    assert img40.instances[0].polygon == [(645.0, 133.0), (692.0, 131.0), (692.0, 154.0), (646.0, 156.0)]
    assert {i.text for i in img40.instances} == {""}  # a textdet file carries no transcriptions
    assert len(img1.instances) == 8 and all(i.ignore for i in img1.instances)


def test_textspotting_file_keeps_texts(tmp_path):
    root = _data_root(tmp_path, "textdet_imgs/test/img_1.jpg", "textdet_imgs/test/img_40.jpg")
    _, img40 = list(get_parser("mmocr_textdet")(FIXTURES / "textspotting_test.json", root))
    assert [(i.text, i.ignore) for i in img40.instances] == [
        ("Bread", False), ("Talk", False), ("Bread", False), ("Talk", False), ("CAFÉ", False), ("CA.", False),
        ("###", True)]


def test_image_folder_itself_works_by_base_name(tmp_path):
    images = _data_root(tmp_path, "img_1.jpg", "img_40.jpg")
    records = list(get_parser("mmocr_textdet")(FIXTURES / "textdet_test.json", images))
    assert [r.image_path for r in records] == [images / "img_1.jpg", images / "img_40.jpg"]


def test_damaged_items_are_skipped_with_reasons(tmp_path):
    root = _data_root(tmp_path / "root", "a.jpg", "b.jpg")
    (tmp_path / "secret.jpg").write_bytes(b"")
    data = {"metainfo": {}, "data_list": [
        {"img_path": "a.jpg", "height": 10, "width": 10, "instances": [
            {"polygon": [0, 0, 5, 0, 5], "bbox_label": 0, "ignore": False},  # odd coordinate count
            {"bbox": [1, 2, 3, 4], "bbox_label": 0, "ignore": False},  # no polygon: the bbox stands in
            "nonsense"]},
        {"img_path": "missing.jpg", "instances": []},
        {"img_path": "../secret.jpg", "instances": []},
        {"img_path": "/etc/passwd", "instances": []},
        {"instances": []},
        {"img_path": "b.jpg"},
    ]}
    file = tmp_path / "textdet_train.json"
    file.write_text(json.dumps(data))
    items = list(get_parser("mmocr_textdet")(file, root))
    assert [(s.reason, s.source) for s in items if isinstance(s, Skipped)] == [
        ("bad_polygon", "textdet_train.json:data_list/0/instances/0"),
        ("malformed_record", "textdet_train.json:data_list/0/instances/2"),
        ("missing_image", "textdet_train.json:data_list/1"),
        ("unsafe_path", "textdet_train.json:data_list/2"),
        ("unsafe_path", "textdet_train.json:data_list/3"),
        ("malformed_record", "textdet_train.json:data_list/4"),
        ("malformed_record", "textdet_train.json:data_list/5"),
    ]
    (record,) = [r for r in items if isinstance(r, ImageRecord)]
    assert record.instances[0].polygon == [(1.0, 2.0), (3.0, 2.0), (3.0, 4.0), (1.0, 4.0)]


def test_unreadable_files_raise_naming_the_file(tmp_path):
    bad = tmp_path / "textdet_train.json"
    bad.write_text('{"data_list": [\n{"img_path": ')
    with pytest.raises(ParseError, match=r"textdet_train.json:2: invalid JSON"):
        list(get_parser("mmocr_textdet")(bad, tmp_path))
    bad.write_bytes(b'{"data_list": ["\xff"]}')
    with pytest.raises(ParseError, match="textdet_train.json: not UTF-8"):
        list(get_parser("mmocr_textdet")(bad, tmp_path))
    bad.write_text('{"metainfo": {}}')
    with pytest.raises(ParseError, match="no top-level 'data_list'"):
        list(get_parser("mmocr_textrecog")(bad, tmp_path))
