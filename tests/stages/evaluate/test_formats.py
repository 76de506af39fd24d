"""Readers of ground truth and predictions: encodings, separators, every supported layout, errors."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from stages.dataset.records import ParseError
from stages.evaluate.formats import image_id, load_gt, load_predictions, parse_det_line, parse_gt_line
from stages.evaluate.rec_formats import align, load_rec_gt, load_rec_preds

FX = Path(__file__).resolve().parents[2] / "fixtures"


def test_gt_line_forms():
    g = parse_gt_line("1,2,3,4,5,6,7,8,Hello, world", "f", 1)
    assert g.points.tolist() == [[1, 2], [3, 4], [5, 6], [7, 8]] and g.text == "Hello, world"
    assert parse_gt_line("1,2,3,4,5,6,7,8,###", "f", 1).ignore
    assert parse_gt_line("1,2,3,4,5,6,7,8,2009", "f", 1).text == "2009"  # numeric word
    assert parse_gt_line('1,2,3,4,5,6,7,8,"a,\\"b\\""', "f", 1).text == 'a,"b"'
    g14 = parse_gt_line(",".join(str(v) for v in range(28)) + ",curvy", "f", 1)
    assert g14.points.shape == (14, 2) and g14.text == "curvy"
    assert parse_gt_line("1.5,2,3,4,5,6.25,7,8", "f", 1).text == ""  # coordinates only
    with pytest.raises(ParseError, match=r"f:3: expected x1,y1"):
        parse_gt_line("1,2,3,4,word", "f", 3)


def test_det_line_forms_and_errors():
    d = parse_det_line("1,2,3,4,5,6,7,8", "r", 1)
    assert d.score == 1.0 and d.points.shape == (4, 2)
    d = parse_det_line("1.5,2,3,4,5,6,0.25", "r", 1)
    assert d.score == 0.25 and d.points.shape == (3, 2)
    with pytest.raises(ParseError, match=r"r:4: odd number of values \(9\)"):
        parse_det_line("1,2,3,4,5,6,7,8,9", "r", 4)
    with pytest.raises(ParseError, match=r"r:2: field 3 is not a number: 'x'"):
        parse_det_line("1,2,x,4,5,6", "r", 2)
    with pytest.raises(ParseError, match="at least 3 points"):
        parse_det_line("1,2,3,4", "r", 1)


def test_image_ids():
    from stages.evaluate.formats import _GT_NAME, _RES_NAME

    assert image_id("gt_img_7.txt", _GT_NAME) == "img_7"
    assert image_id("poly_gt_img1.mat", _GT_NAME) == "img1"
    assert image_id("sub/res_img_7.txt", _RES_NAME) == "img_7"
    assert image_id("test/img_7.jpg") == "img_7"


def test_icdar_folder_bom_crlf_and_zip(tmp_path):
    gt_dir = tmp_path / "gt"
    gt_dir.mkdir()
    (gt_dir / "gt_img_1.txt").write_bytes("\ufeff1,1,9,1,9,9,1,9,Straße\r\n0,0,1,0,1,1,0,1,###\r\n".encode())
    (gt_dir / "gt_img_2.txt").write_bytes(b"")
    gts = load_gt(gt_dir)
    assert list(gts) == ["img_1", "img_2"] and gts["img_1"][0].text == "Straße"
    assert gts["img_1"][1].ignore and gts["img_2"] == []
    zpath = tmp_path / "res.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("res_img_1.txt", "1,1,9,1,9,9,1,9,0.9\r\n")
    preds = load_predictions(zpath, gt_ids=gts)
    assert list(preds) == ["img_1"] and preds["img_1"][0].score == 0.9


def test_unknown_image_id_and_malformed_file_are_named(tmp_path):
    gts = {"img_1": []}
    res = tmp_path / "res"
    res.mkdir()
    (res / "res_img_9.txt").write_text("1,1,9,1,9,9,1,9\n")
    with pytest.raises(ParseError, match=r"res_img_9.txt: image id 'img_9' is not in the ground truth"):
        load_predictions(res, gt_ids=gts)
    (res / "res_img_9.txt").unlink()
    (res / "res_img_1.txt").write_text("1,1,9,1,9,9,1,9\n\n1,1,9,1,9\n")
    with pytest.raises(ParseError, match=r"res_img_1.txt:3: "):
        load_predictions(res, gt_ids=gts)
    (res / "res_img_1.txt").write_bytes(b"\xff\xfe1,2")
    with pytest.raises(ParseError, match="not UTF-8"):
        load_predictions(res, gt_ids=gts)


def test_coco_gt_and_predictions_json(tmp_path):
    coco = {"images": [{"id": 3, "file_name": "train/a.jpg", "width": 10, "height": 10},
                       {"id": 4, "file_name": "b.png", "width": 10, "height": 10}],
            "annotations": [{"id": 1, "image_id": 3, "category_id": 1, "segmentation": [[0, 0, 5, 0, 5, 5, 0, 5]],
                             "bbox": [0, 0, 5, 5], "area": 25.0, "iscrowd": 1, "text": "x", "language": "",
                             "weight": 1.0}]}
    p = tmp_path / "gt.json"
    p.write_text(json.dumps(coco))
    gts = load_gt(p)
    assert list(gts) == ["a", "b"] and gts["a"][0].ignore and gts["b"] == []
    pred = tmp_path / "pred.json"
    pred.write_text(json.dumps({"images": [{"file_name": "a.jpg", "polygons": [[0, 0, 5, 0, 5, 5]], "scores": [0.5]}]}))
    assert load_predictions(pred, gt_ids=gts)["a"][0].score == 0.5
    coco["annotations"][0]["image_id"] = 99
    p.write_text(json.dumps(coco))
    with pytest.raises(ParseError, match=r"annotations\[0\].*unknown image_id 99"):
        load_gt(p)
    coco["annotations"][0].update(image_id=3, segmentation=[[0, 0, 5, 0, 5]])
    p.write_text(json.dumps(coco))
    with pytest.raises(ParseError, match="even count"):
        load_gt(p)
    p.write_text("{not json")
    with pytest.raises(ParseError, match=r"gt.json:1: invalid JSON"):
        load_gt(p)


def test_totaltext_mat_folders_and_int_coords():
    gts = load_gt(FX / "totaltext_eval" / "Groundtruth")
    assert sorted(gts) == [f"img{i}" for i in range(1, 6)]
    assert gts["img1"][0].text == "PETROSAINS" and gts["img1"][0].points.shape == (10, 2)
    assert sum(g.ignore for v in gts.values() for g in v) == 3
    preds = load_predictions(FX / "totaltext_eval" / "Prediction", gt_ids=gts)
    assert [len(preds[f"img{i}"]) for i in range(1, 6)] == [2, 3, 3, 3, 1]
    assert preds["img1"][0].points[0].tolist() == [145.0, 707.5]
    trunc = load_predictions(FX / "totaltext_eval" / "Prediction", gt_ids=gts, int_coords=True)
    assert trunc["img1"][0].points[0].tolist() == [145.0, 707.0]


def test_recognition_labels_and_alignment(tmp_path):
    gt = tmp_path / "labels.txt"
    gt.write_bytes("\ufeffa.jpg\tNew York\r\nb.jpg HOTEL\r\nc.jpg\t\r\n".encode())
    items = load_rec_gt(gt)
    assert items == [("a.jpg", "New York"), ("b.jpg", "HOTEL"), ("c.jpg", "")]
    pred = tmp_path / "preds.txt"
    pred.write_text("b.jpg hotel\na.jpg\tnew york\n")
    labels, preds, missing = align(items, load_rec_preds(pred), pred)
    assert preds == ["new york", "hotel", ""] and missing == 1
    pred.write_text("1\tx\n3\n")
    assert align(items, load_rec_preds(pred), pred)[1] == ["x", "", ""]
    pred.write_text("a.jpg x\nzz.jpg y\n")
    with pytest.raises(ParseError, match=r"preds.txt:2: unknown sample 'zz.jpg'"):
        align(items, load_rec_preds(pred), pred)
    pred.write_text("2 x\na.jpg y\n")
    with pytest.raises(ParseError, match=r"preds.txt:2: key 'a.jpg' is a name but other keys are indices"):
        align(items, load_rec_preds(pred), pred)
    pred.write_text("a.jpg x\na.jpg y\n")
    with pytest.raises(ParseError, match=r"preds.txt:2: second prediction"):
        align(items, load_rec_preds(pred), pred)
    bad = tmp_path / "bad.txt"
    bad.write_text("lonely\n")
    with pytest.raises(ParseError, match=r"bad.txt:1: expected"):
        load_rec_gt(bad)


def test_recognition_lmdb(tmp_path):
    import lmdb

    env = lmdb.open(str(tmp_path / "db"), map_size=1 << 20)
    with env.begin(write=True) as txn:
        for i, label in enumerate(["GRAND", "03/09/2009"], 1):
            txn.put(f"image-{i:09d}".encode(), b"\x89PNG")
            txn.put(f"label-{i:09d}".encode(), label.encode())
        txn.put(b"num-samples", b"2")
    env.close()
    assert load_rec_gt(tmp_path / "db") == [("image-000000001", "GRAND"), ("image-000000002", "03/09/2009")]
