"""COCO writer: exact layout, pycocotools loads it and rasterises the polygons, read_coco inverts it."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

from stages.dataset.coco import read_coco, write_coco
from stages.dataset.records import ImageRecord, TextInstance


def _records(root: Path) -> list[ImageRecord]:
    return [
        ImageRecord(root / "a" / "img_1.jpg", 200, 100, [
            TextInstance([(10, 10), (110, 10), (110, 40), (10, 40)], "HELLO", language="Latin"),
            TextInstance([(120.5, 50), (180, 50), (180, 80), (120.5, 80)], "###", ignore=True),
        ], source="gt_img_1.txt"),
        ImageRecord(root / "img_2.png", 64, 48, [], source="gt_img_2.txt"),
        ImageRecord(root / "img_3.jpg", 300, 300, [
            TextInstance([(0, 0), (100, 0), (50, 100)], "tri", weight=0.25,
                         chars=[("t", [(0, 0), (10, 0), (10, 10), (0, 10)])]),
        ]),
    ]


def test_layout_ids_and_counts(tmp_path):
    counts = write_coco(_records(tmp_path), tmp_path / "ann.json", tmp_path)
    assert counts == {"images": 3, "annotations": 3, "ignore": 1}
    data = json.loads((tmp_path / "ann.json").read_text(encoding="utf-8"))
    assert list(data) == ["images", "annotations", "categories"]
    assert data["categories"] == [{"id": 1, "name": "text"}]
    assert data["images"][0] == {"id": 1, "file_name": "a/img_1.jpg", "width": 200, "height": 100}
    assert [im["id"] for im in data["images"]] == [1, 2, 3]
    first, crowd, tri = data["annotations"]
    assert first == {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[10, 10, 110, 10, 110, 40, 10, 40]],
                     "bbox": [10, 10, 100, 30], "area": 3000, "iscrowd": 0, "text": "HELLO",
                     "language": "Latin", "weight": 1.0}
    assert crowd["iscrowd"] == 1 and crowd["bbox"] == [120.5, 50, 59.5, 30] and crowd["segmentation"][0][0] == 120.5
    assert tri["image_id"] == 3 and tri["id"] == 3 and tri["area"] == 5000 and tri["weight"] == 0.25
    assert tri["chars"] == [{"text": "t", "polygon": [0, 0, 10, 0, 10, 10, 0, 10]}]
    assert not list(tmp_path.glob("*.tmp")), "the side file of annotations must be removed"


def test_pycocotools_loads_and_rasterises(tmp_path):
    write_coco(_records(tmp_path), tmp_path / "ann.json", tmp_path)
    coco = COCO(str(tmp_path / "ann.json"))
    assert sorted(coco.getImgIds()) == [1, 2, 3]
    assert coco.getAnnIds(imgIds=[1]) == [1, 2]
    assert coco.getAnnIds(imgIds=[1], iscrowd=False) == [1]
    mask = coco.annToMask(coco.loadAnns([1])[0])
    assert mask.shape == (100, 200)
    assert abs(int(mask.sum()) - 3000) <= 150  # a 100 x 30 box, give or take its border pixels
    assert mask[25, 60] == 1 and mask[5, 60] == 0
    tri_mask = coco.annToMask(coco.loadAnns([3])[0])
    assert abs(int(tri_mask.sum()) - 5000) <= 200


def test_read_coco_inverts_write(tmp_path):
    records = _records(tmp_path)
    write_coco(records, tmp_path / "ann.json", tmp_path)
    back = list(read_coco(tmp_path / "ann.json", image_root=tmp_path))
    assert [r.image_path for r in back] == [r.image_path for r in records]
    assert [(r.width, r.height) for r in back] == [(200, 100), (64, 48), (300, 300)]
    for got, want in zip(back, records):
        assert got.instances == want.instances
    assert list(read_coco(tmp_path / "ann.json"))[0].image_path == Path("a/img_1.jpg")


def test_unknown_size_is_read_from_the_image_header(tmp_path):
    cv2.imwrite(str(tmp_path / "x.png"), np.zeros((37, 53, 3), np.uint8))
    write_coco([ImageRecord(tmp_path / "x.png")], tmp_path / "ann.json", tmp_path)
    image = json.loads((tmp_path / "ann.json").read_text())["images"][0]
    assert (image["width"], image["height"]) == (53, 37)


def test_image_outside_root_names_it(tmp_path):
    with pytest.raises(ValueError, match="elsewhere.jpg.*not under"):
        write_coco([ImageRecord(Path("/elsewhere.jpg"), 10, 10)], tmp_path / "ann.json", tmp_path / "images")
    assert not list(tmp_path.glob("*.tmp"))


def test_unicode_text_is_stored_as_utf8(tmp_path):
    rec = ImageRecord(tmp_path / "i.jpg", 10, 10, [TextInstance([(0, 0), (5, 0), (5, 5)], "中文 café")])
    write_coco([rec], tmp_path / "ann.json", tmp_path)
    assert "中文 café" in (tmp_path / "ann.json").read_text(encoding="utf-8")
    assert next(read_coco(tmp_path / "ann.json")).instances[0].text == "中文 café"
