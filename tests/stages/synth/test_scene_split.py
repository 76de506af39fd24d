"""Scene splits with their own word heights and rotations (a held-out split of extreme scales and angles)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from pipeline.stage import LocalContext
from stages.dataset.layout import read_detection_set
from stages.evaluate.analysis import text_height
from stages.evaluate.spot_analysis import reading_angle
from stages.synth.params import SynthParams
from stages.synth.stage import STAGE

BASE = {"image_size": [320, 320], "instances_per_image": [3, 5], "font_size": [12, 24], "shard_size": 4}


def _run(tmp: Path, splits: dict) -> Path:
    out = tmp / "out"
    out.mkdir(parents=True)
    STAGE.fn(SynthParams.model_validate({**BASE, "splits": splits}), {}, out, LocalContext("synth"))
    return out


def _polygons(folder: Path) -> list[np.ndarray]:
    return [np.asarray(inst.polygon, np.float64) for rec in read_detection_set(folder) for inst in rec.instances]


def test_a_controlled_split_keeps_word_heights_and_reading_angles_in_range(tmp_path):
    out = _run(tmp_path, {"tiny_huge": {"count": 6, "word_height": [5, 90], "height_scale": "log",
                                        "rotation_deg": [150, 260], "perspective": 0.0, "curved_fraction": 0.0}})
    polygons = _polygons(out / "tiny_huge")
    assert len(polygons) >= 12
    heights = np.array([text_height(p) for p in polygons])
    angles = np.array([reading_angle(p) for p in polygons])
    # polygon vertices are stored to 0.01 px: heights and angles are exact up to that rounding
    assert heights.min() >= 5 - 0.05 and heights.max() <= 90 + 0.05
    assert heights.min() < 12 and heights.max() > 40  # log-uniform over 5..90 reaches both ends
    assert angles.min() >= 150 - 0.1 and angles.max() <= 260 + 0.1


def test_a_full_turn_split_spreads_words_all_the_way_round(tmp_path):
    out = _run(tmp_path, {"round": {"count": 8, "rotation_deg": [0, 360], "perspective": 0.0,
                                    "curved_fraction": 0.0, "word_height": [10, 30]}})
    angles = np.array([reading_angle(p) for p in _polygons(out / "round")])
    assert len(np.unique((angles // 90).astype(int))) == 4  # every quadrant, upside down included


def test_a_split_given_as_a_bare_count_or_a_count_alone_renders_the_same_bytes(tmp_path):
    plain = _run(tmp_path / "a", {"test": 3})
    boxed = _run(tmp_path / "b", {"test": {"count": 3}})
    files = lambda root: {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}  # noqa: E731
    assert files(plain) == files(boxed)


def test_split_overrides_are_validated():
    with pytest.raises(ValidationError, match=r"splits.x.split.word_height\n.*within \[4, 1000\]"):
        SynthParams.model_validate({"splits": {"x": {"count": 2, "word_height": [2, 10]}}})
    with pytest.raises(ValidationError, match="word_height or font_size, not both"):
        SynthParams.model_validate({"splits": {"x": {"count": 2, "word_height": [8, 10], "font_size": [8, 10]}}})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        SynthParams.model_validate({"splits": {"x": {"count": 2, "rotation": [0, 10]}}})
    with pytest.raises(ValidationError, match="count must be >= 0|greater than or equal to 0"):
        SynthParams.model_validate({"splits": {"x": {"count": -1}}})
