"""The augment stage end to end on a small synthetic source dataset."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO
from pydantic import ValidationError

from pipeline.stage import LocalContext
from stages.augment.params import AugmentParams
from stages.augment.stage import STAGE
from stages.dataset.coco import read_coco, write_coco
from stages.dataset.drawing import DONT_CARE_BGR, GT_BGR, SWATCH
from stages.dataset.records import ImageRecord, TextInstance
from stages.synth.stage import STAGE as SYNTH


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """Five synthetic 128x96 images with 1-3 words each (the synth stage's train split)."""
    out = tmp_path_factory.mktemp("synth")
    params = SYNTH.params.model_validate({"splits": {"train": 5}, "image_size": [128, 96], "crops": False,
                                          "instances_per_image": [1, 3], "font_size": [12, 24]})
    SYNTH.fn(params, {}, out, LocalContext("synth"))
    return out / "train"


def _run(tmp: Path, source: Path, **params) -> tuple[Path, object]:
    out = tmp / "out"
    out.mkdir(parents=True)
    return out, STAGE.fn(AugmentParams.model_validate(params), {"data": source}, out, LocalContext("augment"))


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_each_variant_is_a_dataset_with_lineage(tmp_path, source):
    out, result = _run(tmp_path, source, copies=2)
    assert result.outputs == {"art_light": "art_light", "art_noise": "art_noise", "art_sig": "art_sig"}
    source_records = list(read_coco(source / "annotations.json", source / "images"))
    for variant in ("art_light", "art_noise", "art_sig"):
        coco = COCO(str(out / variant / "annotations.json"))
        assert len(coco.getImgIds()) == 10 == result.counts[f"{variant}_images"]
        lineage = json.loads((out / variant / "lineage.json").read_text())
        assert lineage["variant"] == variant and lineage["copies"] == 2 and lineage["source"] == str(source)
        assert [row[1] for row in lineage["images"]] == [r.image_path.name for r in source_records for _ in range(2)]
        by_source = {r.image_path.name: r for r in source_records}
        for img, (name, src, copy) in zip(coco.loadImgs(coco.getImgIds()), lineage["images"]):
            assert img["file_name"] == name
            image = cv2.imread(str(out / variant / "images" / name))
            assert image.shape[:2] == (img["height"], img["width"])
            anns = coco.loadAnns(coco.getAnnIds(imgIds=img["id"]))
            # nothing leaves the frame in these variants: every word survives with its text
            assert sorted(a["text"] for a in anns) == sorted(i.text for i in by_source[src].instances)
            for ann in anns:
                poly = np.array(ann["segmentation"][0]).reshape(-1, 2)
                assert poly.min() >= 0 and poly[:, 0].max() <= img["width"] and poly[:, 1].max() <= img["height"]
    assert result.extra["lineage"]["art_sig"]["input"] == "data"


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, source):
    variants = {"geo": [{"name": "rotate", "degrees": 20}, {"name": "elastic"}, {"name": "jpeg"}]}
    a, _ = _run(tmp_path / "a", source, variants=variants)
    b, _ = _run(tmp_path / "b", source, variants=variants, shard_size=2)
    c, _ = _run(tmp_path / "c", source, variants=variants, seed=1)
    files_a, files_c = _files(a), _files(c)
    assert files_a == _files(b)
    assert files_a.keys() == files_c.keys()
    changed = [k for k in files_a if k.startswith("geo/images/") and files_a[k] != files_c[k]]
    assert len(changed) == 5


def test_words_cut_by_a_crop_are_ignored_and_chars_follow(tmp_path):
    images = tmp_path / "src" / "images"
    images.mkdir(parents=True)
    cv2.imwrite(str(images / "a.png"), np.full((100, 200, 3), 128, np.uint8))
    word = [(10.0, 10.0), (190.0, 10.0), (190.0, 90.0), (10.0, 90.0)]  # any 50% crop cuts it
    chars = [("A", [(10.0, 10.0), (30.0, 10.0), (30.0, 40.0), (10.0, 40.0)])]
    record = ImageRecord(images / "a.png", 200, 100, [TextInstance(word, "WIDE", chars=chars)])
    write_coco([record], tmp_path / "src" / "annotations.json", images)
    out, result = _run(tmp_path, tmp_path / "src", variants={
        "cut": [{"name": "crop", "scale": 0.5, "avoid_cuts": False}],
        "turn": [{"name": "rotate", "degrees": [90, 90]}]})
    cut = list(read_coco(out / "cut" / "annotations.json"))[0]
    assert (cut.width, cut.height) == (100, 50) and cut.instances[0].ignore
    assert result.counts["cut_ignored"] == 1
    turned = list(read_coco(out / "turn" / "annotations.json"))[0].instances[0]
    assert (list(read_coco(out / "turn" / "annotations.json"))[0].width, turned.ignore) == (100, False)
    # rotated 90 degrees counter-clockwise about the centre: the char box moves with the word
    (ch, box), = turned.chars
    assert ch == "A" and np.allclose(box, [(10, 190), (10, 170), (40, 170), (40, 190)])


def test_params_resolve_and_fail_clearly(tmp_path, source):
    params = AugmentParams.model_validate({"variants": ["art_light"]})
    assert params.variants["art_light"][0]["name"] == "brightness"
    assert STAGE.outputs(params) == ["art_light"]
    with pytest.raises(ValidationError, match="variant 'v': \\[0\\] unknown transform 'sharpen'"):
        AugmentParams.model_validate({"variants": {"v": [{"name": "sharpen"}]}})
    with pytest.raises(ValidationError, match="must be a path inside the input folder"):
        AugmentParams.model_validate({"annotations": "../x.json"})
    with pytest.raises(KeyError, match="input named 'data'"):
        STAGE.fn(AugmentParams(), {}, tmp_path, LocalContext())
    with pytest.raises(FileNotFoundError, match="nope.json not found"):
        STAGE.fn(AugmentParams(annotations="nope.json"), {"data": source}, tmp_path, LocalContext())


def test_a_few_images_of_each_variant_are_logged_drawn_with_their_legend(tmp_path, source):
    out = tmp_path / "out"
    out.mkdir()
    ctx = LocalContext("augment")
    STAGE.fn(AugmentParams.model_validate({"variants": {"noise": [{"name": "gaussian_noise", "sigma": 5}]}}),
             {"data": source}, out, ctx)
    names = [Path(p).stem for p in sorted((out / "noise" / "images").iterdir())]
    assert [(key, step) for key, _, step in ctx.images] == [(f"samples/noise.{names[i]}", 0) for i in (0, 2, 4)]
    for _, rgb, _ in ctx.images:
        assert rgb.shape[0] > 96
        for bgr in (GT_BGR, DONT_CARE_BGR):
            assert np.all(rgb[96:] == np.asarray(bgr[::-1], np.uint8), axis=-1).sum() >= SWATCH * SWATCH
