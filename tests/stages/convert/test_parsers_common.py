"""Shared parser helpers and the parser registry."""
from __future__ import annotations

import zipfile

import pytest
from PIL import Image

from stages.convert.parsers import PARSERS, get_parser
from stages.convert.parsers.common import (
    BadItem,
    ImageIndex,
    decode_text,
    default_image_stems,
    image_size,
    iter_sources,
    split_numbers,
    text_lines,
    to_polygon,
)
from stages.dataset.records import ParseError


def test_registry_lists_valid_names_on_unknown():
    assert {"icdar2013", "icdar2015", "totaltext", "ctw1500", "art", "lsvt", "mlt", "rects"} <= set(PARSERS)
    with pytest.raises(KeyError, match="valid formats: .*icdar2015.*totaltext"):
        get_parser("icdar2051")


def test_decode_and_lines():
    assert decode_text(b"\xef\xbb\xbfa,b\r\nc\r\n") == "a,b\r\nc\r\n"
    assert text_lines("a,b\r\nc\r\n") == ["a,b", "c"]
    assert text_lines("a\nb") == ["a", "b"]
    assert text_lines("a\n\nb\n") == ["a", "", "b"]


def test_split_numbers_keeps_separators_in_the_rest():
    assert split_numbers("1,2,3,4,5,6,7,8,$1,000", 8) == ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], "$1,000")
    assert split_numbers(" 1.5, -2 ,x", 2) == ([1.5, -2.0], "x")
    assert split_numbers("1,2", 2) == ([1.0, 2.0], "")
    for bad in ("1,2,3", "1,nan,3", "1,a,3"):
        with pytest.raises(BadItem) as info:
            split_numbers(bad, 3 if bad != "1,2,3" else 4)
        assert info.value.reason == "malformed_line"
    with pytest.raises(BadItem, match="bad_polygon"):
        to_polygon([1.0, 2.0, 3.0])


def test_iter_sources_folder_zip_file(tmp_path):
    folder = tmp_path / "gt"
    folder.mkdir()
    for name in ("gt_img_10.txt", "gt_img_2.txt", "readme.md", "._gt_img_2.txt"):
        (folder / name).write_text(name)
    assert [n for n, _ in iter_sources(folder, (".txt",))] == ["gt_img_2.txt", "gt_img_10.txt"]
    archive = tmp_path / "gt.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("sub/gt_img_10.txt", b"ten")
        zf.writestr("sub/gt_img_2.txt", b"two")
        zf.writestr("__MACOSX/sub/._gt_img_2.txt", b"\x00\x05\x16\x07")
    assert list(iter_sources(archive, (".txt",))) == [("gt_img_2.txt", b"two"), ("gt_img_10.txt", b"ten")]
    assert list(iter_sources(folder / "gt_img_2.txt", (".txt",))) == [("gt_img_2.txt", b"gt_img_2.txt")]
    with pytest.raises(ParseError, match="no .json annotation files"):
        list(iter_sources(folder, (".json",)))


def test_image_index_recursive_and_extension_order(tmp_path):
    for name in ("a/img_1.png", "a/img_1.jpg", "b/img_2.JPG", "b/notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    index = ImageIndex(tmp_path)
    assert len(index) == 2
    assert index.find("img_1") == tmp_path / "a" / "img_1.jpg"
    assert index.find("nope", "img_2") == tmp_path / "b" / "img_2.JPG"
    assert index.find("notes") is None
    assert default_image_stems("gt_img_7.txt") == ["img_7", "gt_img_7"]
    assert default_image_stems("tr_img_00001.txt") == ["tr_img_00001"]


def test_image_size_reads_the_header(tmp_path):
    path = tmp_path / "x.png"
    Image.new("RGB", (37, 21)).save(path)
    assert image_size(path) == (37, 21)


def test_missing_annotations_reported_before_missing_images(tmp_path):
    with pytest.raises(ParseError, match="annotation file or folder not found"):
        list(get_parser("icdar2015")(tmp_path / "gt", tmp_path / "imgs"))
