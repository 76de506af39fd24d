"""Round trips between this project's datasets and MMOCR / PaddleOCR files: convert with ``export`` writes the
toolkits' layouts, and our own parsers read them back to the same instances, labels and crop bytes."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import lmdb
import numpy as np
import pytest

from pipeline.stage import LocalContext
from stages.convert.parsers import get_parser
from stages.convert.stage import ConvertParams, convert, exported, run
from stages.convert.writers.export import export_dataset, image_extension
from stages.dataset.coco import read_coco
from stages.dataset.records import CropRecord, ImageRecord, Skipped, TextInstance

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _jpeg(path: Path, width: int, height: int, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8)
    cv2.imwrite(str(path), image)
    return path


@pytest.fixture(scope="module")
def det_dataset(tmp_path_factory) -> Path:
    """A detection dataset of ours (with crops), exported to both toolkits by the convert stage."""
    root = tmp_path_factory.mktemp("src")
    a = _jpeg(root / "imgs" / "street" / "a.jpg", 200, 100, 1)
    b = _jpeg(root / "imgs" / "b.jpg", 120, 90, 2)
    records = [
        ImageRecord(a, instances=[
            TextInstance([(10, 10), (90, 12), (88, 40), (11, 38)], "CAFÉ"),
            TextInstance([(100.5, 50.25), (130, 45), (160, 50), (160.75, 80), (130, 75), (100, 80)], "curved text"),
            TextInstance([(20, 60), (60, 60), (60, 90), (20, 90)], "###", ignore=True),
        ], source="gt_a.txt"),
        ImageRecord(b, instances=[TextInstance([(5, 5), (50, 5), (50, 30), (5, 30)], "Talk")], source="gt_b.txt"),
        ImageRecord(_jpeg(root / "imgs" / "c.jpg", 64, 64, 3), source="gt_c.txt"),  # no text
    ]
    params = ConvertParams(format="icdar2015", annotations="gt", images="imgs", crops=True,
                           export=["mmocr", "paddleocr"], export_split="val")
    out = root / "out"
    exported(convert(records, params, root, out, LocalContext()), params, out)
    return out


def _instances(records) -> list[tuple[str, list]]:
    return [(Path(r.image_path).name, [(i.polygon, i.text, i.ignore) for i in r.instances])
            for r in records if isinstance(r, ImageRecord)]


def test_mmocr_textdet_round_trip(det_dataset):
    ours = list(read_coco(det_dataset / "annotations.json", det_dataset / "images"))
    back = list(get_parser("mmocr_textdet")(det_dataset / "mmocr" / "textdet_val.json", det_dataset / "mmocr"))
    assert _instances(back) == _instances(ours)
    assert [r.image_path.relative_to(det_dataset / "mmocr").as_posix() for r in back] == [
        "textdet_imgs/val/street/a.jpg", "textdet_imgs/val/b.jpg", "textdet_imgs/val/c.jpg"]
    assert [(r.width, r.height) for r in back] == [(200, 100), (120, 90), (64, 64)]
    data = json.loads((det_dataset / "mmocr" / "textdet_val.json").read_text())
    assert data["metainfo"] == {"dataset_type": "TextDetDataset", "task_name": "textdet",
                                "category": [{"id": 0, "name": "text"}]}
    assert data["data_list"][0]["instances"][0] == {
        "polygon": [10, 10, 90, 12, 88, 40, 11, 38], "bbox": [10, 10, 90, 40], "bbox_label": 0, "ignore": False,
        "text": "CAFÉ"}
    assert (det_dataset / "mmocr" / "textdet_imgs/val/b.jpg").samefile(det_dataset / "images" / "b.jpg")


def test_paddleocr_label_round_trip(det_dataset):
    ours = list(read_coco(det_dataset / "annotations.json", det_dataset / "images"))
    back = list(get_parser("paddleocr_det")(det_dataset / "paddleocr" / "Label.txt", det_dataset / "paddleocr"))
    assert _instances(back) == _instances(ours)
    first = (det_dataset / "paddleocr" / "Label.txt").read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith('images/street/a.jpg\t[{"transcription": "CAFÉ", "points": [[10, 10], [90, 12], ')
    assert '{"transcription": "###", "points": [[20, 60], [60, 60], [60, 90], [20, 90]], "difficult": true}' in first


def _lmdb(path: Path) -> list[tuple[bytes, str]]:
    env = lmdb.open(str(path), readonly=True, lock=False)
    with env.begin() as txn:
        n = int(txn.get(b"num-samples"))
        rows = [(txn.get(b"image-%09d" % i), txn.get(b"label-%09d" % i).decode()) for i in range(1, n + 1)]
    env.close()
    return rows


def _crops(items) -> list[tuple[bytes, str]]:
    assert not [i for i in items if isinstance(i, Skipped)]
    return [(i.image_path.read_bytes(), i.label) for i in items if isinstance(i, CropRecord)]


def test_crops_round_trip_through_both_toolkits(det_dataset):
    ours = _lmdb(det_dataset / "crops.lmdb")
    assert [label for _, label in ours] == ["CAFÉ", "curved text", "Talk"]
    mmocr = list(get_parser("mmocr_textrecog")(det_dataset / "mmocr" / "textrecog_val.json", det_dataset / "mmocr"))
    paddle = list(get_parser("paddleocr_rec")(det_dataset / "paddleocr" / "rec_gt.txt", det_dataset / "paddleocr"))
    assert _crops(mmocr) == ours and _crops(paddle) == ours
    assert mmocr[0].image_path == det_dataset / "mmocr" / "textrecog_imgs" / "val" / "000000001.jpg"
    assert paddle[2].image_path == det_dataset / "paddleocr" / "crop_img" / "000000003.jpg"


def test_real_mmocr_recognition_set_through_ours_and_back(tmp_path):
    """MMOCR's own file -> our LMDB (crops stored unchanged) -> MMOCR and PaddleOCR files with the same crops."""
    params = ConvertParams(format="mmocr_textrecog", annotations="textrecog_labels.json", images="imgs", task="rec",
                           export=["mmocr", "paddleocr"])
    result = run(params, {"data": FIXTURES / "mmocr"}, tmp_path, LocalContext())
    assert (result.counts["crops"], result.counts["export.mmocr.crops"], result.counts["export.paddleocr.crops"]) == (
        10, 10, 10)
    original = _crops(get_parser("mmocr_textrecog")(FIXTURES / "mmocr" / "textrecog_labels.json",
                                                    FIXTURES / "mmocr" / "imgs"))
    assert _crops(get_parser("mmocr_textrecog")(tmp_path / "mmocr" / "textrecog_train.json",
                                                tmp_path / "mmocr")) == original
    assert _crops(get_parser("paddleocr_rec")(tmp_path / "paddleocr" / "rec_gt.txt",
                                              tmp_path / "paddleocr")) == original


def test_ignored_text_is_kept_by_mmocr_and_written_as_dont_care_for_paddleocr(tmp_path):
    image = _jpeg(tmp_path / "imgs" / "a.jpg", 50, 50, 0)
    records = [ImageRecord(image, instances=[TextInstance([(1, 1), (20, 1), (20, 20), (1, 20)], "blur", ignore=True),
                                             TextInstance([(25, 25), (45, 25), (45, 45), (25, 45)], "ok\tno")])]
    params = ConvertParams(format="icdar2015", annotations="gt", images="imgs", crops=True)
    convert(records, params, tmp_path, tmp_path / "ds", LocalContext())
    counts = export_dataset(tmp_path / "ds", "paddleocr", tmp_path / "pp")
    assert counts == {"images": 1, "crops": 0, "unwritable": 1}  # a label with a tab has no rec_gt.txt line
    assert not list((tmp_path / "pp" / "crop_img").iterdir())  # and no orphan crop file
    (back,) = get_parser("paddleocr_det")(tmp_path / "pp" / "Label.txt", tmp_path / "pp")
    assert [(i.text, i.ignore) for i in back.instances] == [("###", True), ("ok\tno", False)]
    export_dataset(tmp_path / "ds", "mmocr", tmp_path / "mm")
    (back,) = get_parser("mmocr_textdet")(tmp_path / "mm" / "textdet_train.json", tmp_path / "mm")
    assert [(i.text, i.ignore) for i in back.instances] == [("blur", True), ("ok\tno", False)]


def test_export_refuses_unknown_toolkits_and_empty_folders(tmp_path):
    with pytest.raises(ValueError, match="unknown export toolkit 'doctr'; valid: mmocr, paddleocr"):
        export_dataset(tmp_path, "doctr", tmp_path / "x")
    with pytest.raises(ValueError, match="nothing to export"):
        export_dataset(tmp_path, "mmocr", tmp_path / "x")


def test_image_extension():
    assert [image_extension(d) for d in (b"\xff\xd8\xff\xe0", b"\x89PNG\r\n", b"RIFF0000WEBPVP8", b"P6\n")] == [
        "jpg", "png", "webp", "img"]
