"""Names from annotation files are untrusted: ``..``, absolute paths and symbolic links leading outside the
dataset are skipped as ``unsafe_path``, and nothing is read from or written outside the folders."""
from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.stage import LocalContext
from stages.convert.parsers import cocotext, textlist
from stages.convert.parsers.common import ImageIndex
from stages.convert.stage import ConvertParams, run
from stages.dataset.names import UnsafePath, safe_join
from stages.dataset.records import ImageRecord, Skipped


def _image(path: Path, width: int = 40, height: int = 30) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((height, width, 3), 128, np.uint8))
    return path


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def hostile(tmp_path) -> Path:
    """A COCO-Text input whose file names point outside its image folder in every way, and one good image.

    ``data/secret.jpg`` (beside images/), ``/…/outside/abs.jpg`` and the target of ``images/link.jpg`` all
    exist, so a converter that follows the names finds real images there."""
    root = tmp_path / "data"
    _image(root / "images" / "good.jpg")
    _image(root / "secret.jpg")
    outside = _image(tmp_path / "outside" / "abs.jpg")
    os.symlink(outside, root / "images" / "link.jpg")
    names = {"1": "good.jpg", "2": "../secret.jpg", "3": str(outside), "4": "link.jpg", "5": "sub/../../secret.jpg"}
    imgs = {k: {"file_name": v, "width": 40, "height": 30, "set": "train"} for k, v in names.items()}
    anns = {str(10 + int(k)): {"image_id": int(k), "bbox": [2, 2, 20, 10], "utf8_string": "w", "legibility": "legible"}
            for k in names}
    (root / "cocotext.v2.json").write_text(json.dumps({"imgs": imgs, "anns": anns}))
    return root


def test_cocotext_names_outside_the_image_folder_are_skipped(hostile, tmp_path):
    params = ConvertParams(format="cocotext", annotations="cocotext.v2.json", images="images",
                           max_bad_fraction=1.0, shards=1)
    out = tmp_path / "out"
    result = run(params, {"data": hostile}, out, LocalContext())
    assert result.counts["unsafe_path"] == 4
    assert result.counts["images"] == 1
    assert result.extra["first_bad"].startswith("cocotext.v2.json:imgs/2: unsafe_path")
    assert "../secret.jpg" in result.extra["first_bad"]
    assert _files(out) == ["annotations.json", "images/good.jpg", "manifest.parquet"]
    names = [img["file_name"] for img in json.loads((out / "annotations.json").read_text())["images"]]
    assert names == ["good.jpg"]


def test_the_parser_yields_unsafe_path_skips(hostile):
    items = list(cocotext.parse(hostile / "cocotext.v2.json", hostile / "images"))
    skips = [(i.reason, i.source) for i in items if isinstance(i, Skipped)]
    assert skips == [("unsafe_path", f"cocotext.v2.json:imgs/{k}") for k in "2345"]
    assert [i.image_path.name for i in items if isinstance(i, ImageRecord)] == ["good.jpg"]


@pytest.mark.parametrize("shards", [1, 2])
def test_list_lines_outside_the_image_folder_are_skipped(tmp_path, shards):
    root = tmp_path / "data"
    _image(root / "words" / "a.jpg")
    _image(root / "secret.jpg")
    os.symlink(root / "secret.jpg", root / "words" / "link.jpg")
    lines = ["a.jpg\tgood", "../secret.jpg\tdotdot", f"{root / 'words' / 'a.jpg'}\tabsolute", "link.jpg\tlink"]
    (root / "gt.txt").write_text("\n".join(lines) + "\n")
    params = ConvertParams(format="textlist", annotations="gt.txt", images="words", task="rec",
                           max_bad_fraction=1.0, shards=shards)
    result = run(params, {"data": root}, tmp_path / "out", LocalContext())
    assert (result.counts["crops"], result.counts["unsafe_path"]) == (1, 3)
    assert result.extra["first_bad"].startswith("gt.txt:2: unsafe_path")
    generic = [(i.reason, i.source) for i in textlist.parse(root / "gt.txt", root / "words") if isinstance(i, Skipped)]
    assert generic == [("unsafe_path", "gt.txt:2"), ("unsafe_path", "gt.txt:3"), ("unsafe_path", "gt.txt:4")]


def test_an_image_index_refuses_a_symlink_leading_outside(tmp_path):
    _image(tmp_path / "outside.jpg")
    _image(tmp_path / "images" / "img_1.jpg")
    os.symlink(tmp_path / "outside.jpg", tmp_path / "images" / "img_2.jpg")
    os.symlink(tmp_path / "images" / "img_1.jpg", tmp_path / "images" / "img_3.jpg")  # inside: fine
    index = ImageIndex(tmp_path / "images")
    assert index.locate("gt_img_1.txt", "img_1") == tmp_path / "images" / "img_1.jpg"
    assert index.locate("gt_img_3.txt", "img_3") == tmp_path / "images" / "img_3.jpg"
    refused = index.locate("gt_img_2.txt", "img_2")
    assert (refused.reason, refused.source) == ("unsafe_path", "gt_img_2.txt")
    assert index.locate("gt_img_4.txt", "img_4").reason == "missing_image"


@pytest.mark.parametrize("name, why", [
    ("../x.jpg", "'..' segment"), ("a/../../x.jpg", "'..' segment"), ("a\\..\\x.jpg", "'..' segment"),
    ("/etc/passwd", "absolute path"), ("\\\\server\\x", "absolute path"), ("C:x.jpg", "absolute path"),
    ("", "not a non-empty string"), ("a\x00b", "NUL"),
])
def test_safe_join_refuses(tmp_path, name, why):
    with pytest.raises(UnsafePath, match=why):
        safe_join(tmp_path, name)


def test_safe_join_accepts_names_inside(tmp_path):
    (tmp_path / "a").mkdir()
    assert safe_join(tmp_path, "a/b..c.jpg") == tmp_path / "a" / "b..c.jpg"
    assert safe_join(tmp_path, "./x.jpg") == tmp_path / "./x.jpg"
    os.symlink(tmp_path.parent, tmp_path / "up")
    with pytest.raises(UnsafePath, match="outside"):
        safe_join(tmp_path, "up/x.jpg")  # a folder link leading out


def test_the_writer_refuses_a_record_from_outside_the_input(tmp_path):
    """A parser that forgot the check (hand-built records here) still cannot make the writer leave images/."""
    from stages.convert.stage import convert

    root = tmp_path / "data"
    good = _image(root / "images" / "a.jpg")
    stray = _image(tmp_path / "elsewhere" / "b.jpg")
    items = [ImageRecord(good, source="x:1"), ImageRecord(root / "images" / ".." / ".." / "elsewhere" / "b.jpg",
                                                          source="x:2"), ImageRecord(stray, source="x:3")]
    params = ConvertParams(format="icdar2015", annotations="gt", images="images", max_bad_fraction=1.0, shards=1)
    result = convert(items, params, root, tmp_path / "out", LocalContext())
    assert (result.counts["images"], result.counts["unsafe_path"]) == (1, 2)
    assert _files(tmp_path / "out") == ["annotations.json", "images/a.jpg", "manifest.parquet"]


def test_svt_and_mmocr_json_names_are_checked_too(tmp_path):
    from stages.convert.parsers import svt

    _image(tmp_path / "secret.jpg")
    (tmp_path / "img").mkdir()
    (tmp_path / "train.xml").write_text('<tagset>\n<image><imageName>../secret.jpg</imageName>'
                                        '<taggedRectangles/></image>\n</tagset>\n')
    (item,) = svt.parse(tmp_path / "train.xml", tmp_path / "img")
    assert (item.reason, item.source) == ("unsafe_path", "train.xml:2")
    (tmp_path / "labels.json").write_text(json.dumps({"data_list": [
        {"img_path": "/etc/hostname", "instances": [{"text": "a"}]}]}))
    (item,) = textlist.parse(tmp_path / "labels.json", tmp_path / "img")
    assert (item.reason, item.source) == ("unsafe_path", "labels.json:data_list/0")
