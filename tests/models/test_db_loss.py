"""DB loss: OHEM, per-instance weights, and that a tiny DBNet learns from it."""
import numpy as np
import pytest
import torch

import models
from models.detection.db_loss import DBLoss
from models.detection.db_targets import make_targets
from tests.models.synthetic import normalise, rect, rectangles_image

H = W = 64
X = rect(6, 6, 44, 28)  # the instance that is always there
Y = rect(46, 38, 60, 60)  # the instance whose weight varies


def targets_of(polys, weights, ignore=None) -> dict[str, torch.Tensor]:
    t = make_targets(H, W, polys, ignore or [False] * len(polys), weights)
    return {k: torch.from_numpy(v)[None] for k, v in t.items()}  # (1, H, W)


def random_preds(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {k: 0.05 + 0.9 * torch.rand(1, 1, H, W, generator=g) for k in ("prob", "thresh", "binary")}


def inside(poly) -> torch.Tensor:
    """(1, 1, H, W) bool: pixels of ``poly``'s region as make_targets rasterises it."""
    t = make_targets(H, W, [poly], [True], [1.0])  # an ignored instance: mask is 0 exactly on it
    return torch.from_numpy(t["mask"] == 0)[None, None]


def test_returns_components_and_weighted_total():
    out = DBLoss()(random_preds(), targets_of([X], [1.0]))
    assert set(out) == {"bce", "l1", "dice", "total"}
    assert out["total"].item() == pytest.approx((out["bce"] + out["dice"] + 10 * out["l1"]).item(), rel=1e-6)
    out2 = DBLoss(alpha=2.0, beta=5.0)(random_preds(), targets_of([X], [1.0]))
    assert out2["total"].item() == pytest.approx((out2["bce"] + 2 * out2["dice"] + 5 * out2["l1"]).item(), rel=1e-6)


def test_ohem_keeps_all_positives_and_three_times_as_many_hardest_negatives():
    gt = torch.zeros(1, 100)
    gt[0, :5] = 1
    prob = torch.linspace(0.01, 0.9, 100)[None]  # negatives get harder (higher prob) along the row
    loss = DBLoss().balanced_bce(prob, gt, torch.ones(1, 100))
    pos = -torch.log(prob[0, :5])
    neg = -torch.log(1 - prob[0, -15:])  # the 15 = 3 x 5 highest-probability negatives
    assert loss.item() == pytest.approx(((pos.sum() + neg.sum()) / 20).item(), rel=1e-5)


def test_weight_zero_instance_contributes_nothing():
    loss = DBLoss()
    in_y = inside(Y)
    preds = random_preds()
    # Without Y, its pixels are background; a prediction of exactly 0 there costs nothing as background.
    for k in ("prob", "binary"):
        preds[k] = preds[k].masked_fill(in_y, 0.0)
    without = loss(preds, targets_of([X], [1.0]))
    with_zero = loss(preds, targets_of([X, Y], [1.0, 0.0]))
    for k in without:
        assert with_zero[k].item() == pytest.approx(without[k].item(), rel=1e-6), k
    # and whatever is predicted inside a weight-0 instance changes nothing and gets no gradient
    garbage = {k: torch.where(in_y, torch.rand_like(v), v).requires_grad_() for k, v in preds.items()}
    out = loss(garbage, targets_of([X, Y], [1.0, 0.0]))
    for k in without:
        assert out[k].item() == pytest.approx(without[k].item(), rel=1e-6), k
    out["total"].backward()
    for k, v in garbage.items():
        assert v.grad[in_y].abs().max() == 0, k
        assert v.grad[~in_y].abs().max() > 0, k


def test_weight_half_halves_the_instance_contribution_to_bce():
    # ohem_ratio large enough to keep every negative, so only the weights differ between runs.
    preds = random_preds()
    wrong = 0.98 - 0.96 * targets_of([Y], [1.0])["gt"][:, None]  # 0.02 on Y's kernel, 0.98 around it
    preds["prob"] = torch.where(inside(Y), wrong, preds["prob"])  # Y is badly predicted: a costly instance

    def bce(w: float) -> float:
        return DBLoss(ohem_ratio=1000)(preds, targets_of([X, Y], [1.0, w]))["bce"].item()

    n_y = int(inside(Y).sum())
    n_rest = H * W - n_y
    # bce(w) = (S_rest + w S_y) / (N_rest + w N_y): a weighted mean where Y's pixels count w times.
    s_rest = bce(0.0) * n_rest
    s_y = bce(1.0) * (n_rest + n_y) - s_rest
    assert s_y / n_y > 2 * s_rest / n_rest  # Y's pixels cost far more than the average
    assert bce(0.5) == pytest.approx((s_rest + 0.5 * s_y) / (n_rest + 0.5 * n_y), rel=1e-5)
    assert bce(0.0) < bce(0.5) - 0.05 < bce(1.0) - 0.1


def test_loss_decreases_when_training_a_tiny_dbnet():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    images, batch_targets = [], []
    for _ in range(4):
        image, polys = rectangles_image(rng, size=64, n=2)
        images.append(normalise(image))
        batch_targets.append(make_targets(64, 64, polys, [False] * len(polys), [1.0] * len(polys)))
    x = torch.from_numpy(np.stack(images))  # (4, 3, 64, 64)
    targets = {k: torch.from_numpy(np.stack([t[k] for t in batch_targets])) for k in batch_targets[0]}
    cfg = models.tiny_config()
    model, loss_fn = models.build_model(cfg), models.build_loss(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        out = loss_fn(model(x), targets)
        opt.zero_grad()
        out["total"].backward()
        opt.step()
        losses.append(out["total"].item())
    with torch.no_grad():
        final = loss_fn(model(x), targets)["total"].item()
    assert np.isfinite(losses).all()
    print("loss", losses[0], "->", final)
    assert final < 0.7 * losses[0], (losses[0], final)
