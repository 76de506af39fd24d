"""The CRAFT weak-supervision loss: pseudo targets from the model's own region score, OHEM, masks."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models.detection.craft_config import LossConfig, TargetsConfig
from models.detection.craft_loss import CraftLoss, ohem_keep
from models.detection.craft_targets import CraftTargets


def rect(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def batch_targets(*crops):
    """Stack ``CraftTargets`` outputs of 64x128 crops (score maps 32x64), as the train collate does."""
    make = CraftTargets(TargetsConfig(max_words=4))
    items = [make(64, 128, *crop) for crop in crops]
    return {k: torch.from_numpy(np.stack([it[k] for it in items])) for k in ("words", "mask")}


def outputs(region, affinity):
    return {"region": region[:, None].clone().requires_grad_(True),
            "affinity": affinity[:, None].clone().requires_grad_(True)}


ONE_WORD = ([rect(16, 16, 112, 48)], [False], [1.0], ["abc"])  # 48x16 at half resolution
NO_WORD = ([], [], [], [])


def test_no_words_is_the_mean_square_of_every_pixel():
    gen = torch.Generator().manual_seed(0)
    region, affinity = torch.rand(2, 32, 64, generator=gen), torch.rand(2, 32, 64, generator=gen)
    out = outputs(region, affinity)
    losses = CraftLoss(LossConfig())(out, batch_targets(NO_WORD, NO_WORD))
    assert torch.isfinite(losses["total"]) and losses["total"].item() >= 0
    # no text: every pixel is a negative with target 0, all kept
    assert losses["region"].item() == pytest.approx((region ** 2).mean().item(), rel=1e-5)
    assert losses["affinity"].item() == pytest.approx((affinity ** 2).mean().item(), rel=1e-5)
    losses["total"].backward()
    assert torch.isfinite(out["region"].grad).all()


def test_zero_outputs_without_words_give_zero_loss():
    zeros = torch.zeros(1, 32, 64)
    assert CraftLoss(LossConfig())(outputs(zeros, zeros), batch_targets(NO_WORD))["total"].item() == 0.0


def test_outputs_equal_to_their_pseudo_targets_give_almost_no_loss():
    loss = CraftLoss(LossConfig())
    targets = batch_targets(ONE_WORD)
    noise = torch.rand(1, 32, 64, generator=torch.Generator().manual_seed(1)) * 0.05
    before = loss(outputs(noise, noise), targets)
    # a model with no character peaks yet: the word is split evenly into its 3 characters
    maps = loss.pseudo_targets(noise, targets["words"], targets["mask"])
    assert maps["weight"][0, 16, 32].item() == 0.5  # even split: confidence 0.5 inside the word
    assert maps["weight"][0, 2, 2].item() == 1.0  # background
    region = maps["region"][0, 16]
    for centre in (16, 32, 48):  # character centres lie on pixel boundaries: the two pixels around are peaks
        assert region[centre - 1].item() == pytest.approx(region[centre].item(), abs=1e-4)
        assert region[centre].item() > 0.95 and region[centre].item() > region[centre + 1].item() + 0.01
    after = loss(outputs(maps["region"], maps["affinity"]), targets)
    assert before["total"].item() > 0.05
    assert after["total"].item() < 1e-4
    # the split read from those outputs finds the 3 characters itself: full confidence
    again = loss.pseudo_targets(maps["region"], targets["words"], targets["mask"])
    assert again["weight"][0, 16, 32].item() == 1.0
    torch.testing.assert_close(again["region"], maps["region"])


def test_mask_removes_an_ignored_word_from_the_loss():
    loss = CraftLoss(LossConfig())
    crop = ([rect(16, 16, 112, 48)], [True], [1.0], ["abc"])
    targets = batch_targets(crop)
    base = torch.zeros(1, 32, 64)
    inside = base.clone()
    inside[0, 10:22, 10:54] = 0.9  # a strong response over the don't-care word
    assert loss(outputs(inside, inside), targets)["total"].item() == loss(outputs(base, base), targets)["total"].item()
    outside = base.clone()
    outside[0, 0:6, 0:10] = 0.9  # the same response on background does cost
    assert loss(outputs(outside, outside), targets)["total"].item() > 0


def test_instance_weight_zero_removes_the_word():
    loss = CraftLoss(LossConfig())
    targets = batch_targets(([rect(16, 16, 112, 48)], [False], [0.0], ["abc"]))
    base = torch.zeros(1, 32, 64)
    inside = base.clone()
    inside[0, 10:22, 10:54] = 0.3
    assert loss(outputs(inside, base), targets)["region"].item() == loss(outputs(base, base), targets)["region"].item()


def test_ohem_keeps_positives_and_the_hardest_negatives():
    pixel_loss = torch.tensor([0.1, 0.9, 0.2, 0.8, 0.3, 0.7, 0.4, 0.6, 0.5, 0.05, 1.0, 0.0])
    positive = torch.zeros(12, dtype=torch.bool)
    positive[[0, 1]] = True
    weight = torch.ones(12)
    weight[10] = 0.0  # the hardest pixel is masked out: never kept
    keep = ohem_keep(pixel_loss, positive, weight, ratio=2.0)
    assert torch.nonzero(keep).flatten().tolist() == [0, 1, 3, 5, 7, 8]  # 2 positives, 4 hardest negatives
    none = ohem_keep(pixel_loss, torch.zeros(12, dtype=torch.bool), weight, ratio=2.0)
    assert int(none.sum()) == 11  # no text: every unmasked negative
    few = ohem_keep(pixel_loss, positive, weight, ratio=100.0)
    assert int(few.sum()) == 11  # fewer negatives than asked for: all of them


def test_mask_of_the_wrong_resolution_is_a_clear_error():
    targets = batch_targets(NO_WORD)
    full = torch.zeros(1, 64, 128)
    with pytest.raises(ValueError, match="half the input resolution"):
        CraftLoss(LossConfig())(outputs(full, full), targets)


def test_optimising_the_maps_learns_the_words_characters():
    # the maps themselves as parameters: the loss alone must drive them to three character peaks
    targets = batch_targets(ONE_WORD)
    region = torch.zeros(1, 1, 32, 64, requires_grad=True)
    affinity = torch.zeros(1, 1, 32, 64, requires_grad=True)
    loss = CraftLoss(LossConfig())
    optimiser = torch.optim.Adam([region, affinity], lr=0.05)
    first = None
    for _ in range(60):
        optimiser.zero_grad()
        total = loss({"region": region, "affinity": affinity}, targets)["total"]
        first = first if first is not None else total.item()
        total.backward()
        optimiser.step()
    assert total.item() < 0.05 * first
    maps = loss.pseudo_targets(region[:, 0], targets["words"], targets["mask"])
    assert maps["weight"][0, 16, 32].item() == 1.0  # the learnt region score splits into 3 characters
