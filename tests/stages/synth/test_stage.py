"""The synth stage end to end: splits, COCO + LMDB outputs, determinism, params, backgrounds, lexicon."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import lmdb
import numpy as np
import pytest
from pycocotools.coco import COCO
from pydantic import ValidationError

from pipeline.stage import LocalContext
from stages.dataset.drawing import DONT_CARE_BGR, GT_BGR, SWATCH
from stages.synth.backgrounds import KINDS, list_backgrounds, make_background, procedural
from stages.synth.lexicon import BUILTIN_WORDS, load_lexicon, sample_text
from stages.synth.params import SynthParams
from stages.synth.stage import STAGE

TINY = {"splits": {"train": 5, "unlabeled": 2, "test": 3}, "image_size": [128, 96],
        "instances_per_image": [1, 3], "font_size": [12, 24], "shard_size": 2}


def _run(tmp: Path, **overrides) -> tuple[Path, object]:
    params = SynthParams.model_validate({**TINY, **overrides})
    out = tmp / "out"
    out.mkdir(parents=True)
    return out, STAGE.fn(params, {}, out, LocalContext("synth"))


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_splits_are_written_with_configured_counts(tmp_path):
    out, result = _run(tmp_path)
    assert result.outputs == {"train": "train", "unlabeled": "unlabeled", "test": "test"}
    for split, n in TINY["splits"].items():
        coco = COCO(str(out / split / "annotations.json"))
        assert len(coco.getImgIds()) == n
        assert result.counts[f"{split}_images"] == n
        anns = coco.loadAnns(coco.getAnnIds())
        assert len(anns) == result.counts[f"{split}_instances"] >= n  # at least one word per image
        for img in coco.loadImgs(coco.getImgIds()):
            image = cv2.imread(str(out / split / "images" / img["file_name"]))
            assert image.shape == (96, 128, 3) and (img["width"], img["height"]) == (128, 96)
        for ann in anns:
            poly = np.array(ann["segmentation"][0]).reshape(-1, 2)
            assert len(poly) % 2 == 0 and ann["text"] and ann["iscrowd"] == 0
            assert poly.min() >= 0 and poly[:, 0].max() <= 128 and poly[:, 1].max() <= 96
            assert coco.annToMask(ann).sum() > 0  # pycocotools rasterises every polygon
        env = lmdb.open(str(out / split / "crops.lmdb"), readonly=True, lock=False)
        with env.begin() as txn:
            n_crops = int(txn.get(b"num-samples"))
            assert n_crops == result.counts[f"{split}_crops"] > 0
            label = txn.get(b"label-000000001").decode()
            crop = cv2.imdecode(np.frombuffer(txn.get(b"image-000000001"), np.uint8), cv2.IMREAD_COLOR)
        env.close()
        assert label in {a["text"] for a in anns} and crop.shape[0] >= 2 and crop.shape[1] >= 2
    assert STAGE.outputs(SynthParams.model_validate(TINY)) == ["train", "unlabeled", "test"]


def test_same_params_give_identical_bytes_whatever_the_sharding(tmp_path):
    out_a, _ = _run(tmp_path / "a")
    out_b, _ = _run(tmp_path / "b", shard_size=7)
    out_c, _ = _run(tmp_path / "c", seed=1)
    files_a = _files(out_a)
    assert files_a == _files(out_b)
    files_c = _files(out_c)
    assert files_a.keys() == files_c.keys()
    assert files_a["train/annotations.json"] != files_c["train/annotations.json"]
    assert files_a["train/images/train_000000.jpg"] != files_c["train/images/train_000000.jpg"]


def test_splits_differ_from_each_other(tmp_path):
    out, _ = _run(tmp_path, splits={"a": 2, "b": 2})
    assert (out / "a/images/a_000000.jpg").read_bytes() != (out / "b/images/b_000000.jpg").read_bytes()


def test_crops_off_and_png(tmp_path):
    out, result = _run(tmp_path, crops=False, image_format="png", splits={"train": 2})
    assert not (out / "train" / "crops.lmdb").exists()
    assert sorted(p.name for p in (out / "train" / "images").iterdir()) == ["train_000000.png", "train_000001.png"]
    assert "train_crops" in result.counts and result.counts["train_crops"] == 0


def test_background_dir_and_lexicon_file(tmp_path):
    backgrounds = tmp_path / "bg"
    backgrounds.mkdir()
    stripes = np.zeros((200, 300, 3), np.uint8)
    stripes[:, ::2] = (40, 40, 200)  # BGR: a red/black texture
    cv2.imwrite(str(backgrounds / "stripes.png"), stripes)
    lexicon = tmp_path / "words.txt"
    lexicon.write_text("ZEBRA\n\n  QUOKKA  \n", encoding="utf-8")
    out, _ = _run(tmp_path, background_dir=str(backgrounds), lexicon_file=str(lexicon), splits={"train": 3},
                  line_fraction=0.0, number_fraction=0.0)
    anns = json.loads((out / "train" / "annotations.json").read_text())["annotations"]
    assert {a["text"].upper() for a in anns} <= {"ZEBRA", "QUOKKA"}
    image = cv2.imread(str(out / "train" / "images" / "train_000000.jpg"))
    red, green, blue = image[:, :, 2].mean(), image[:, :, 1].mean(), image[:, :, 0].mean()
    assert red > blue + 40 and red > green + 40  # the file's red shows through around the words


def test_params_are_validated():
    with pytest.raises(ValidationError, match="split name"):
        SynthParams.model_validate({"splits": {"../x": 2}})
    with pytest.raises(ValidationError, match="instances_per_image\n.*low 5 is above high 2"):
        SynthParams.model_validate({"instances_per_image": [5, 2]})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        SynthParams.model_validate({"colour": "red"})
    with pytest.raises(ValidationError, match="curved_fraction"):
        SynthParams.model_validate({"curved_fraction": 1.5})
    assert SynthParams().splits == {"train": 200, "unlabeled": 100, "test": 50}


def test_missing_inputs_fail_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="background_dir .*: no such folder"):
        _run(tmp_path / "a", background_dir=str(tmp_path / "nope"))
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n", encoding="utf-8")
    with pytest.raises(ValueError, match="no words"):
        _run(tmp_path / "b", lexicon_file=str(empty))


def test_procedural_backgrounds_and_lexicon():
    rng = np.random.default_rng(0)
    for _ in range(2 * len(KINDS)):
        bg = procedural(rng, 64, 48)
        assert bg.shape == (48, 64, 3) and bg.dtype == np.float32 and 0 <= bg.min() and bg.max() <= 255
    assert make_background(rng, 32, 32).shape == (32, 32, 3)
    assert len(BUILTIN_WORDS) >= 300 and len(set(BUILTIN_WORDS)) == len(BUILTIN_WORDS)
    assert load_lexicon(None) == list(BUILTIN_WORDS)
    texts = [sample_text(rng, ["alpha"], line_fraction=0.0, number_fraction=1.0) for _ in range(50)]
    assert all(any(ch.isdigit() for ch in t) for t in texts)


def test_list_backgrounds_rejects_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no images"):
        list_backgrounds(tmp_path)


def test_stage_runs_its_shards_as_ray_tasks(tmp_path, ray_local):
    from pipeline.context import RayStageContext

    params = SynthParams.model_validate({**TINY, "splits": {"train": 4}})
    out_ray, out_local = tmp_path / "ray", tmp_path / "local"
    out_ray.mkdir()
    out_local.mkdir()
    STAGE.fn(params, {}, out_ray, RayStageContext("synth", "k", 1, 0, None))
    STAGE.fn(params, {}, out_local, LocalContext("synth"))
    assert _files(out_ray) == _files(out_local)


def test_a_few_images_of_each_split_are_logged_drawn_with_their_legend(tmp_path):
    params = SynthParams.model_validate({**TINY, "crops": False})
    ctx = LocalContext("synth")
    STAGE.fn(params, {}, tmp_path, ctx)
    assert [(key, step) for key, _, step in ctx.images] == [
        *((f"samples/train.train_{i:06d}", 0) for i in (0, 2, 4)),
        *((f"samples/unlabeled.unlabeled_{i:06d}", 0) for i in (0, 1)),
        *((f"samples/test.test_{i:06d}", 0) for i in (0, 1, 2))]
    for _, rgb, _ in ctx.images:
        assert rgb.shape[0] > 96 and rgb.shape[1] >= 128
        for bgr in (GT_BGR, DONT_CARE_BGR):  # the legend strip under the 96-px picture
            assert np.all(rgb[96:] == np.asarray(bgr[::-1], np.uint8), axis=-1).sum() >= SWATCH * SWATCH
