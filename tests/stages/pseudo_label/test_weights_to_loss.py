"""Pseudo-label weights flow from the written COCO file through the training data pipeline into the loss."""
from __future__ import annotations

import json
from collections import Counter

import cv2
import numpy as np
import pytest
import torch

from models.build import build_loss, target_maker, tiny_config, validate_config
from stages.dataset.images import read_rgb
from stages.pseudo_label.fusion import FusedInstance
from stages.pseudo_label.stage import write_dataset
from stages.pseudo_label.stats import LabeledImage
from stages.pseudo_label.weights import DROP, Decision
from stages.train.data import MixedDataset, read_samples

from .helpers import box

# Three words of the same size on a 96 x 48 image, weights 1, 0.5 and 0; a fourth one the rule dropped.
WORDS = [box(4, 16, 28, 32), box(36, 16, 60, 32), box(68, 16, 92, 32)]
CENTRES = [(24, 16), (24, 48), (24, 80)]  # (row, column) of each word's centre pixel
DECISIONS = [Decision(True, 1.0), Decision(True, 0.5), Decision(True, 0.0)]


@pytest.fixture()
def pseudo_set(tmp_path):
    image = np.full((48, 96, 3), 40, np.uint8)
    for word in WORDS:
        x0, y0 = word.min(axis=0).astype(int)
        x1, y1 = word.max(axis=0).astype(int)
        image[y0:y1, x0:x1] = 230
    path = tmp_path / "unlabeled" / "page.png"
    path.parent.mkdir()
    cv2.imwrite(str(path), image)
    instances = [(FusedInstance(word, 0.9, 2, 2), d) for word, d in zip(WORDS, DECISIONS)]
    instances.append((FusedInstance(box(40, 36, 56, 44), 0.2, 1, 2), DROP))
    counts = Counter()
    written = write_dataset([LabeledImage("page.png", path, 96, 48, instances)], tmp_path / "dataset", False, counts)
    assert written == {"images": 1, "annotations": 3, "ignore": 0}
    return tmp_path / "dataset"


def _targets(folder) -> dict[str, torch.Tensor]:
    """The training stage's own path: read_samples -> MixedDataset (no augmentation) -> target maps."""
    cfg = validate_config(tiny_config("dbnet")).model_dump()
    (sample,) = read_samples(folder)
    item = MixedDataset([[sample]], [], 96, target_maker(cfg), seed=0).make_item(read_rgb(sample.image_path), sample,
                                                                             np.random.default_rng(0))
    return {k: torch.from_numpy(item[k])[None] for k in ("gt", "mask", "thresh_map", "thresh_mask")}


def _loss_and_grads(targets, preds):
    loss_fn = build_loss(validate_config(tiny_config("dbnet")).model_dump())
    leaves = {k: v.clone().requires_grad_(True) for k, v in preds.items()}
    total = loss_fn(leaves, targets)["total"]
    total.backward()
    return float(total.detach()), {k: v.grad[0, 0] for k, v in leaves.items()}


def _preds(value: float = 0.3) -> dict[str, torch.Tensor]:
    return {k: torch.full((1, 1, 96, 96), value) for k in ("prob", "binary", "thresh")}


def test_coco_carries_the_weights(pseudo_set):
    data = json.loads((pseudo_set / "annotations.json").read_text())
    assert [a["weight"] for a in data["annotations"]] == [1.0, 0.5, 0.0]
    assert [a["iscrowd"] for a in data["annotations"]] == [0, 0, 0]
    (sample,) = read_samples(pseudo_set)
    assert sample.weights == [1.0, 0.5, 0.0]


def test_weight_zero_contributes_nothing_and_half_weight_half(pseudo_set):
    targets = _targets(pseudo_set)
    for (r, c), w in zip(CENTRES, (1.0, 0.5, 0.0)):
        assert float(targets["mask"][0, r, c]) == w and float(targets["thresh_mask"][0, r, c]) == w
    assert float(targets["gt"][0, 24, 80]) == 0.0  # a weight-0 word is not a positive either
    preds = _preds()
    preds["thresh"][:] = 0.5  # off the threshold target everywhere, so the l1 term has a gradient
    total, grads = _loss_and_grads(targets, preds)
    for key, grad in grads.items():
        full, half, zero = (float(grad[r, c]) for r, c in CENTRES)
        assert full != 0.0, key
        assert half == pytest.approx(0.5 * full, rel=1e-5), key
        assert zero == 0.0, key
    # anything predicted inside the weight-0 word leaves the loss exactly as it was
    changed = {k: v.clone() for k, v in preds.items()}
    for v in changed.values():
        v[..., 17:31, 69:91] = 0.97
    assert _loss_and_grads(targets, changed)[0] == total
