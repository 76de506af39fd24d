"""configs/real_photos.yaml end to end through the engine, shrunk to CPU-test size with --set: the public
CRAFT and english_g2 imports, a CRAFT fine-tune, evaluation on the shipped hand-labelled photos, the
better detector registered as photo-det; and the optional branch that pseudo-labels a folder of photos
and trains a student."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from models import mlflow_registry as registry
from pipeline.config import load_config
from stages.registry import STAGES
from tests.pipeline.engine_helpers import Project

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "configs" / "real_photos.yaml"

# CPU-test sizes: every stage runs, on a few images and steps.
SMALL = [
    "stages.scenes.splits.train=4", "stages.scenes.image_size=[256,192]",
    "stages.craft_finetune.schedule={steps: 2, kind: cosine, warmup_steps: 0}",
    "stages.craft_finetune.checkpoint.every=2", "stages.craft_finetune.data.image_size=256",
    "stages.craft_finetune.data.batch_size=1",
    "stages.evaluate_det.image_size=640",
    "stages.rec_words.words.splits={train: 64, test: {count: 16, held_out: true}}",
    "stages.rec_finetune.schedule={steps: 2, kind: cosine, warmup_steps: 0}", "stages.rec_finetune.checkpoint.every=2",
]
PHOTOS = [
    "stages.photos.enabled=true", f"stages.photos.path={ROOT / 'configs' / 'data' / 'real_photos' / 'images'}",
    "stages.pseudo_label.image_size=640", "stages.pseudo_label.tta.flip=false",
    "stages.student.model.backbone.name=tiny", "stages.student.schedule={steps: 2, kind: poly, warmup_steps: 0}",
    "stages.student.checkpoint.every=2", "stages.student.data.image_size=128", "stages.student.data.batch_size=2",
    "stages.evaluate_student.image_size=640",
]


def test_without_a_photo_folder_the_adaptation_branch_is_left_out():
    config = load_config(RECIPE, STAGES)
    assert sorted(config.disabled) == ["evaluate_student", "photos", "pseudo_label", "register_student", "student"]
    assert config.stages["register_det"].params.name == "photo-det"


@pytest.mark.slow
def test_real_photos_recipe_imports_evaluates_adapts_and_registers(tmp_path, ray_local):
    stages = yaml.safe_load(RECIPE.read_text())["stages"]
    project = Project(tmp_path, stages, name="real_photos")
    report = project.run(*SMALL, *PHOTOS)
    assert not report.failed
    det = report.outcomes["evaluate_det"].manifest["metrics"]
    # The imported CRAFT finds the hand-labelled words of real photos (ICDAR 2015 protocol); its spotter
    # with english_g2 reads a good part of them.
    assert det["test/baseline.real.hmean"] >= 0.8
    assert det["test/baseline.real.e2e_hmean"] >= 0.4
    # a few weakly supervised steps from the import keep the loss finite and the import's detections
    tuned = report.outcomes["craft_finetune"].manifest["metrics"]
    assert math.isfinite(tuned["train/loss_total"]) and tuned["train/loss_total"] > 0
    assert det["test/real.hmean"] >= 0.8
    chosen = report.outcomes["register_det"].manifest["extra"]["chosen"]
    assert chosen == ("baseline" if det["test/baseline.real.hmean"] > det["test/real.hmean"] else "model")
    client = registry.registry_client(project.tracking_uri)
    champion = registry.get_alias_version(client, "photo-det", "champion")
    assert champion.tags["model.arch"] == "craft"  # the import or its fine-tune; the student comes later
    rec = report.outcomes["evaluate_rec"].manifest["metrics"]
    # english_g2 as imported reads a good part of the real word crops (the hand-labelled quads)
    assert rec["test/baseline.real.accuracy"] >= 0.25
    chosen = report.outcomes["register_rec"].manifest["extra"]["chosen"]
    assert chosen == ("baseline" if rec["test/baseline.real.accuracy"] > rec["test/real.accuracy"] else "model")
    assert registry.get_alias_version(client, "photo-rec", "champion").tags["model.arch"] == "crnn"
    # the adaptation branch ran on the photo folder and its student was weighed against the teacher
    assert report.outcomes["pseudo_label"].manifest["metrics"]["pseudo/instances_per_image_mean"] > 5
    student = report.outcomes["evaluate_student"].manifest["metrics"]
    assert student["test/baseline.real.hmean"] == det["test/baseline.real.hmean"]  # the same teacher, scored alike
    assert "test/real.hmean" in student
    again = project.run(*SMALL, *PHOTOS)
    assert again.count("hit") == len(again.outcomes)
