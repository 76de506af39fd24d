"""The pseudo_label stage as a function: real checkpoints, real images, LocalContext and real Ray."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.stage import LocalContext
from stages.dataset.drawing import SWATCH
from stages.pseudo_label.params import PseudoLabelParams
from stages.pseudo_label.stage import STAGE, model_uris
from stages.pseudo_label.stats import DROPPED_BGR, IGNORE_BGR, weight_colour
from stages.train.data import read_samples

from .helpers import make_dataset, save_teacher

# Random tiny DBNets see text everywhere at a low threshold: every image gets candidates to fuse.
PARAMS = {"models": ["a", "b"], "image_size": 128, "batch_size": 2, "shards": 2, "tta": {"flip": True},
          "detect": {"thresh": 0.2, "box_thresh": 0.0}, "weighting": {"low": 0.0, "high": 0.7},
          "ground_truth": "truth", "num_render": 2}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    """Two teachers and an unlabeled set of 5 images, one of them corrupt and one missing from disk."""
    root = tmp_path_factory.mktemp("pl")
    layout = [((160, 96), [(10, 10, 90, 30)]), ((96, 160), [(8, 20, 88, 44)]), ((128, 128), [(16, 60, 112, 84)]),
              ((64, 64), [(4, 4, 60, 20)]), ((64, 64), [(4, 30, 60, 50)])]
    data = make_dataset(root / "unlabeled", layout)
    (data / "images" / "img_2.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")  # corrupt
    (data / "images" / "img_5.png").unlink()  # listed, missing
    return {"a": save_teacher(root / "a", 0), "b": save_teacher(root / "b", 1), "unlabeled": data, "truth": data}


def _run(world, tmp_path: Path, ctx=None, **overrides):
    out = tmp_path / "out"
    out.mkdir(parents=True)
    ctx = ctx or LocalContext("pseudo_label")
    result = STAGE.fn(PseudoLabelParams.model_validate({**PARAMS, **overrides}), world, out, ctx)
    return result, out, ctx


def test_unreadable_images_are_skipped_and_counted_and_the_set_is_written(world, tmp_path):
    result, out, ctx = _run(world, tmp_path)
    c = result.counts
    assert c["skipped_unreadable_image"] == 1 and c["skipped_missing_image"] == 1
    assert c["images_in"] == 5 and c["images_labeled"] == 3
    assert c["images_written"] + c.get("empty_images", 0) == 3
    data = json.loads((out / "dataset" / "annotations.json").read_text())
    names = [img["file_name"] for img in data["images"]]
    assert "img_2.png" not in names and "img_5.png" not in names
    assert all((out / "dataset" / "images" / n).is_file() for n in names)
    weights = [a["weight"] for a in data["annotations"]]
    assert len(weights) == c["instances"] > 0 and all(0.0 <= w <= 1.0 for w in weights)
    assert len(read_samples(out / "dataset")) == len(names)  # the train stage reads it as it is
    # every metric named pseudo/<k>, none logged with fake steps: histograms and PR curves are tables
    assert ctx.metrics == []
    assert {"pseudo/gt.precision", "pseudo/gt.band_1.00.precision", "pseudo/weight_mean", "pseudo/images_per_s",
            "pseudo/cmp.best_single.precision_at_ensemble_recall"} <= set(result.metrics)
    assert [k for k in result.metrics if not k.startswith("pseudo/")] == []
    stats = json.loads((out / "report" / "stats.json").read_text())
    assert stats["num_sources"] == 4 and sum(stats["agreement_hist"]) == c["instances"]
    assert sorted(ctx.tables) == ["report/hist_agreement.json", "report/hist_instances_per_image.json",
                                  "report/hist_quality.json", "report/hist_weight.json", "report/pr_curves.json"]
    assert ctx.tables["report/hist_agreement.json"] == {"votes": [1, 2, 3, 4], "instances": stats["agreement_hist"]}
    assert ctx.tables["report/hist_weight.json"]["instances"] == stats["weight_hist"]
    assert ctx.tables["report/hist_weight.json"]["weight_from"][:2] == [0.0, 0.1]
    scores = json.loads((out / "report" / "scores.json").read_text())
    pr = ctx.tables["report/pr_curves.json"]
    assert [p for s, p in zip(pr["set"], pr["precision"]) if s == "ensemble"] == [
        p["precision"] for p in scores["curves"]["ensemble"]]
    assert sorted(set(pr["set"])) == ["a", "b", "ensemble"]
    for name in ("histograms.png", "pr.png", "scores.json"):
        assert (out / "report" / name).is_file()
    drawn = sorted((out / "report" / "samples").glob("*.png"))
    assert len(drawn) == 2
    # the samples are logged as images too, each with its colour legend under the picture
    assert [(key, step) for key, _, step in ctx.images] == [(f"samples/{p.stem}", 0) for p in drawn]
    for path, (_, rgb, _) in zip(drawn, ctx.images):
        height = cv2.imread(str(world["unlabeled"] / "images" / f"{path.stem}.png")).shape[0]
        assert rgb.shape[0] > height
        strip = rgb[height:]
        for bgr in (weight_colour(0.0), weight_colour(0.5), weight_colour(1.0), IGNORE_BGR, DROPPED_BGR):
            assert np.all(strip == np.asarray(bgr[::-1], np.uint8), axis=-1).sum() >= SWATCH * SWATCH, bgr
    assert ctx.artifacts == [(out / "report", None)]  # a folder: logged as report/...


@pytest.mark.slow
def test_ray_shards_give_the_same_labels_as_one_process(world, tmp_path, ray_local):
    from pipeline.context import RayStageContext

    local, out_local, _ = _run(world, tmp_path / "local", shards=1, ground_truth=None)
    ray_ctx = RayStageContext("pseudo_label", "k", 1, 0, None)
    sharded, out_ray, _ = _run(world, tmp_path / "ray", ctx=ray_ctx, shards=2, ground_truth=None)
    assert sharded.counts == local.counts
    assert ((out_ray / "dataset" / "annotations.json").read_bytes()
            == (out_local / "dataset" / "annotations.json").read_bytes())


@pytest.mark.slow
def test_gpu_shards_on_a_cluster_without_gpus_fail_clearly(world, tmp_path, ray_local):
    with pytest.raises(RuntimeError, match="gpus_per_shard=1.0 but the Ray cluster has 0 GPU"):
        _run(world, tmp_path, gpus_per_shard=1, ground_truth=None)


def test_models_are_inputs_or_uris(world):
    params = PseudoLabelParams.model_validate({**PARAMS, "models": ["a", "/ckpt/x.pt", "models:/det@champion"]})
    assert model_uris(params, world) == {"a": str(world["a"]), "_ckpt_x.pt": "/ckpt/x.pt",
                                         "models__det_champion": "models:/det@champion"}
    with pytest.raises(KeyError, match="neither one of the stage's inputs"):
        model_uris(PseudoLabelParams.model_validate({**PARAMS, "models": ["teacher"]}), world)


def test_params_are_checked():
    with pytest.raises(ValueError, match="listed more than once"):
        PseudoLabelParams.model_validate({**PARAMS, "models": ["a", "a"]})
    with pytest.raises(ValueError, match="must not exceed high"):
        PseudoLabelParams.model_validate({**PARAMS, "weighting": {"low": 0.9, "high": 0.5}})
    with pytest.raises(ValueError, match="bands must start at 0"):
        PseudoLabelParams.model_validate({**PARAMS, "bands": [0.5, 1.0]})


def test_an_archive_input_is_unpacked_labeled_and_cleaned_up(world, tmp_path):
    import zipfile

    archive = tmp_path / "lsvt_test.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ("img_1.png", "img_3.png"):
            zf.write(world["unlabeled"] / "images" / name, f"test/{name}")
    inputs = {**world, "unlabeled": archive}
    result, out, _ = _run(inputs, tmp_path, ground_truth=None, keep_empty_images=True, num_render=2)
    assert result.counts["images_written"] == 2 and not (out / ".unpacked").exists()
    data = json.loads((out / "dataset" / "annotations.json").read_text())
    assert [img["file_name"] for img in data["images"]] == [
        "lsvt_test.zip/test/img_1.png", "lsvt_test.zip/test/img_3.png"]
    assert all((out / "dataset" / "images" / img["file_name"]).is_file() for img in data["images"])
    assert len(list((out / "report" / "samples").glob("*.png"))) == 2
