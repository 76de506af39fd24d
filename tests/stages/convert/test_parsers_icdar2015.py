"""ICDAR 2015 parser on real RRC test ground truth (CRLF, no BOM) and its training-style variant (BOM, LF)."""
from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from stages.convert.parsers import get_parser, icdar2015
from stages.dataset.records import ImageRecord, ParseError, Skipped

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "icdar2015" / "gt"
SHARED_GT_ZIP = Path(__file__).resolve().parents[4] / "shared" / "data" / "icdar2015_test_gt_official" / "gt.zip"
IMAGE_IDS = (1, 40, 68, 108, 415)


def _images(folder: Path, ids=IMAGE_IDS) -> Path:
    # The parser never decodes images, so empty files named like the dataset's images suffice.
    folder.mkdir(parents=True, exist_ok=True)
    for i in ids:
        (folder / f"img_{i}.jpg").write_bytes(b"")
    return folder


def _by_image(items) -> dict[str, ImageRecord]:
    return {r.image_path.name: r for r in items if isinstance(r, ImageRecord)}


def test_reads_real_test_gt(tmp_path):
    items = list(get_parser("icdar2015")(FIXTURE, _images(tmp_path / "imgs")))
    assert not [i for i in items if isinstance(i, Skipped)]
    records = _by_image(items)
    assert sorted(records) == sorted(f"img_{i}.jpg" for i in IMAGE_IDS)

    img1 = records["img_1.jpg"]
    assert len(img1.instances) == 8 and all(i.ignore and i.text == "###" for i in img1.instances)
    assert img1.instances[0].polygon == [(933.0, 255.0), (954.0, 255.0), (956.0, 277.0), (936.0, 277.0)]
    assert img1.source == "gt_img_1.txt" and img1.width == 0 and img1.height == 0

    # commas inside transcriptions are kept; CR of the CRLF is not part of the text
    texts68 = [i.text for i in records["img_68.jpg"].instances]
    assert "$8,888" in texts68 and "$100,000" in texts68
    money = next(i for i in records["img_68.jpg"].instances if i.text == "$8,888")
    assert money.polygon == [(153.0, 65.0), (223.0, 63.0), (225.0, 81.0), (155.0, 83.0)] and not money.ignore
    assert "B1," in [i.text for i in records["img_108.jpg"].instances]
    assert [i.text for i in records["img_415.jpg"].instances][2] == "$5,50"
    assert "CAFÉ" in [i.text for i in records["img_40.jpg"].instances]
    all_instances = [i for r in records.values() for i in r.instances]
    assert not any(i.text.endswith("\r") for i in all_instances)
    assert all(i.language == "" and i.weight == 1.0 and i.chars == [] for i in all_instances)


def test_training_style_bom_and_lf_give_the_same_instances(tmp_path):
    train = tmp_path / "train_gt"
    train.mkdir()
    for src in FIXTURE.glob("gt_img_*.txt"):
        data = src.read_bytes()
        assert data.endswith(b"\r\n") and not data.startswith(b"\xef\xbb\xbf")
        (train / src.name).write_bytes(b"\xef\xbb\xbf" + data.replace(b"\r\n", b"\n"))
    images = _images(tmp_path / "imgs")
    original = _by_image(icdar2015.parse(FIXTURE, images))
    variant = _by_image(icdar2015.parse(train, images))
    assert {k: r.instances for k, r in variant.items()} == {k: r.instances for k, r in original.items()}
    # the BOM must not leak into the first coordinate of the first line (it would make it malformed)
    assert variant["img_1.jpg"].instances[0].polygon[0] == (933.0, 255.0)


def test_zip_input_equals_folder_input(tmp_path):
    archive = tmp_path / "gt.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for src in FIXTURE.glob("gt_img_*.txt"):
            zf.write(src, src.name)
    images = _images(tmp_path / "imgs")
    from_zip = _by_image(icdar2015.parse(archive, images))
    from_folder = _by_image(icdar2015.parse(FIXTURE, images))
    assert list(from_zip) == list(from_folder) == [
        "img_1.jpg", "img_40.jpg", "img_68.jpg", "img_108.jpg", "img_415.jpg"]
    assert {k: r.instances for k, r in from_zip.items()} == {k: r.instances for k, r in from_folder.items()}


@pytest.mark.skipif(not SHARED_GT_ZIP.is_file(), reason="shared real-data folder not present")
def test_whole_official_test_gt_zip(tmp_path):
    records = [r for r in icdar2015.parse(SHARED_GT_ZIP, _images(tmp_path / "imgs", range(1, 501)))]
    assert all(isinstance(r, ImageRecord) for r in records) and len(records) == 500
    instances = [i for r in records for i in r.instances]
    # the counts the dataset's README gives: 5230 quads, 2077 cared for, 3153 don't care
    assert (len(instances), sum(not i.ignore for i in instances),
            sum(i.ignore for i in instances)) == (5230, 2077, 3153)


def test_malformed_line_is_skipped_with_file_and_line(tmp_path):
    gt = tmp_path / "gt"
    gt.mkdir()
    lines = ["1,2,3,4,5,6,7,8,OK", "1,2,three,4,5,6,7,8,bad", "", "1,2,3,4,5,6,7", "9,9,9,9,9,9,9,9,###"]
    (gt / "gt_img_9.txt").write_bytes("\r\n".join(lines).encode() + b"\r\n")
    items = list(icdar2015.parse(gt, _images(tmp_path / "imgs", [9])))
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert [(s.reason, s.source) for s in skipped] == [
        ("malformed_line", "gt_img_9.txt:2"), ("malformed_line", "gt_img_9.txt:4"),
    ]
    (record,) = [i for i in items if isinstance(i, ImageRecord)]
    assert [(i.text, i.ignore) for i in record.instances] == [("OK", False), ("###", True)]


def test_missing_image_is_skipped(tmp_path):
    images = _images(tmp_path / "imgs", [1, 40, 68, 108])  # no img_415
    items = list(icdar2015.parse(FIXTURE, images))
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert [(s.reason, s.source) for s in skipped] == [("missing_image", "gt_img_415.txt")]
    assert len([i for i in items if isinstance(i, ImageRecord)]) == 4


def test_missing_annotations_raise_parse_error(tmp_path):
    images = _images(tmp_path / "imgs")
    with pytest.raises(ParseError, match="not found") as info:
        list(icdar2015.parse(tmp_path / "nope", images))
    assert info.value.file == str(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ParseError, match="no .txt annotation files"):
        list(icdar2015.parse(tmp_path / "empty", images))
    with pytest.raises(ParseError, match="image folder not found"):
        list(icdar2015.parse(FIXTURE, tmp_path / "no_images"))


def test_broken_zip_raises_parse_error(tmp_path):
    bad = tmp_path / "gt.zip"
    shutil.copy(FIXTURE / "gt_img_1.txt", bad)  # a text file with a .zip name
    with pytest.raises(ParseError, match="not a readable zip"):
        list(icdar2015.parse(bad, _images(tmp_path / "imgs")))
