"""Damaged input never escapes as a raw traceback: a ParseError naming the file (and line or archive member)
or a counted skip with a reason naming the file and line."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.stage import LocalContext
from stages.convert.parsers import cocotext, icdar2015, textlist
from stages.convert.stage import ConvertParams, run
from stages.dataset.records import ImageRecord, ParseError, Skipped

GOOD = "1,1,30,1,30,20,1,20,WORD\n"


def _images(folder: Path, *stems: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem in stems:
        noise = np.random.default_rng(len(stem)).integers(0, 255, (40, 60, 3), dtype=np.uint8)
        cv2.imwrite(str(folder / f"{stem}.jpg"), noise)  # noise: most of the file is scan data
    return folder


def _zip(path: Path, members: dict[str, str], method: int) -> Path:
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path


def _member_data_offset(path: Path, name: str) -> tuple[int, int]:
    """(offset, size) of a member's stored bytes inside the archive file."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
    raw = path.read_bytes()
    n, m = int.from_bytes(raw[info.header_offset + 26:info.header_offset + 28], "little"), \
        int.from_bytes(raw[info.header_offset + 28:info.header_offset + 30], "little")
    return info.header_offset + 30 + n + m, info.compress_size


def test_a_crc_bad_zip_member_is_a_parse_error_naming_archive_and_member(tmp_path):
    gt = _zip(tmp_path / "gt.zip", {"gt_img_1.txt": GOOD, "gt_img_2.txt": GOOD * 20}, zipfile.ZIP_STORED)
    start, _ = _member_data_offset(gt, "gt_img_2.txt")
    raw = bytearray(gt.read_bytes())
    raw[start + 3] ^= 0x20  # one flipped bit in the stored text: only the CRC tells
    gt.write_bytes(bytes(raw))
    with pytest.raises(ParseError, match=r"gt\.zip.*gt_img_2\.txt.*(CRC|damaged)"):
        list(icdar2015.parse(gt, _images(tmp_path / "images", "img_1", "img_2")))


def test_a_truncated_deflated_member_is_a_parse_error_naming_archive_and_member(tmp_path):
    gt = _zip(tmp_path / "gt.zip", {"gt_img_1.txt": GOOD * 50, "gt_img_2.txt": GOOD}, zipfile.ZIP_DEFLATED)
    start, size = _member_data_offset(gt, "gt_img_1.txt")
    raw = bytearray(gt.read_bytes())
    raw[start + size // 2:start + size] = b"\xff" * (size - size // 2)  # the stream's second half is lost
    gt.write_bytes(bytes(raw))
    with pytest.raises(ParseError, match=r"gt\.zip.*gt_img_1\.txt"):
        list(icdar2015.parse(gt, _images(tmp_path / "images", "img_1", "img_2")))


def test_bad_lines_are_skips_naming_file_and_line(tmp_path):
    gt = tmp_path / "gt"
    gt.mkdir()
    (gt / "gt_img_1.txt").write_text(GOOD + "1,1,nan,1,30,20,1,20,NAN\n" + "1,1,inf,1,30,20,1,20,INF\n" + "1,2,3\n")
    (gt / "gt_img_2.txt").write_bytes(b"1,1,30,1,30,20,1,20,caf\xe9\n")  # Latin-1, not UTF-8
    (gt / "gt_img_3.txt").write_bytes(b"")  # an image without text: a valid negative
    items = list(icdar2015.parse(gt, _images(tmp_path / "images", "img_1", "img_2", "img_3")))
    skips = [(i.reason, i.source) for i in items if isinstance(i, Skipped)]
    assert skips == [("malformed_line", "gt_img_1.txt:2"), ("malformed_line", "gt_img_1.txt:3"),
                     ("malformed_line", "gt_img_1.txt:4"), ("unreadable_file", "gt_img_2.txt")]
    records = {i.source: len(i.instances) for i in items if isinstance(i, ImageRecord)}
    assert records == {"gt_img_1.txt": 1, "gt_img_3.txt": 0}


def test_non_utf8_and_empty_lists_name_the_file(tmp_path):
    (tmp_path / "gt.txt").write_bytes(b"a.jpg good\nb.jpg caf\xe9\n")
    with pytest.raises(ParseError, match=r"gt\.txt:2: not UTF-8"):
        list(textlist.parse(tmp_path / "gt.txt", tmp_path))
    (tmp_path / "empty.json").write_bytes(b"")
    with pytest.raises(ParseError, match=r"empty\.json:1: invalid JSON"):
        list(cocotext.parse(tmp_path / "empty.json", tmp_path))
    (tmp_path / "empty.txt").write_bytes(b"")
    params = ConvertParams(format="textlist", annotations="empty.txt", images=".", task="rec")
    with pytest.raises(ValueError, match=r"empty\.txt"):
        run(params, {"data": tmp_path}, tmp_path / "out", LocalContext())


def test_damaged_images_and_degenerate_polygons_are_counted_skips(tmp_path):
    root = tmp_path / "data"
    images = _images(root / "images", "img_1", "img_2", "img_3", "img_4")
    whole = (images / "img_2.jpg").read_bytes()
    (images / "img_2.jpg").write_bytes(whole[:len(whole) // 2])  # truncated JPEG
    ok, png = cv2.imencode(".png", np.random.default_rng(0).integers(0, 255, (40, 60, 3), dtype=np.uint8))
    (images / "img_3.jpg").write_bytes(png.tobytes()[:len(png) // 2])  # truncated PNG
    labels = {"gt_1": [{"points": [[1, 1], [30, 20]], "transcription": "two", "illegible": False}],  # 2 points
              "gt_2": [{"points": [[1, 1], [30, 1], [30, 20], [1, 20]], "transcription": "a", "illegible": False}],
              "gt_3": [{"points": [[1, 1], [30, 1], [30, 20], [1, 20]], "transcription": "b", "illegible": False}],
              "gt_4": [{"points": [[1, 1], [30, 20], [30, 1], [1, 20]], "transcription": "bow", "illegible": False},
                       {"points": [[1, 1], [50, 1], [1, 30], [50, 30], [25, 15]], "transcription": "x",
                        "illegible": False}]}
    for stem in ("img_1", "img_4"):
        (images / f"{stem}.jpg").rename(images / f"{stem.replace('img', 'gt')}.jpg")
    (images / "img_2.jpg").rename(images / "gt_2.jpg")
    (images / "img_3.jpg").rename(images / "gt_3.jpg")
    (root / "labels.json").write_text(json.dumps(labels))
    params = ConvertParams(format="art", annotations="labels.json", images="images", max_bad_fraction=1.0, shards=1)
    result = run(params, {"data": root}, tmp_path / "out", LocalContext())
    counts = result.counts
    assert (counts["too_few_points"], counts["truncated_image"], counts["unreadable_image"]) == (1, 1, 1)
    assert counts["self_intersecting_repaired"] == 2 and counts["images"] == 2
    assert result.extra["first_bad"] == "labels.json:gt_1: too_few_points"


def test_an_xml_declaring_an_unknown_encoding_is_a_parse_error(tmp_path):
    """Found by the fuzz test: one flipped bit in ``encoding="utf-8"``."""
    from stages.convert.parsers import svt

    (tmp_path / "train.xml").write_bytes(b'<?xml version="1.0" encoding="ttf-8"?>\n<tagset></tagset>\n')
    with pytest.raises(ParseError, match=r"train\.xml:1: invalid XML"):
        list(svt.parse(tmp_path / "train.xml", tmp_path))
