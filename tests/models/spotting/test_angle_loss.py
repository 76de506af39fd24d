"""angle_loss: periodic, continuous across the wrap, zero at equality, symmetric, weighted."""
from __future__ import annotations

import pytest
import torch

from models.spotting.angle_loss import angle_loss, wrapped_difference

KINDS = ["cosine", "smooth_l1"]


def loss(pred, target, **kwargs) -> float:
    return float(angle_loss(torch.tensor([float(pred)], dtype=torch.float64),
                            torch.tensor([float(target)], dtype=torch.float64), **kwargs))


@pytest.mark.parametrize("kind", KINDS)
def test_the_wrap_costs_what_the_same_gap_costs_anywhere(kind):
    across = loss(359, 1, kind=kind)
    assert across > 0
    assert across == pytest.approx(loss(1, 3, kind=kind), abs=1e-12)
    assert across == pytest.approx(loss(-1, 1, kind=kind), abs=1e-12)
    assert across == pytest.approx(loss(719, 361, kind=kind), abs=1e-12)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("period", [360.0, 180.0])
def test_no_jump_when_the_prediction_crosses_the_wrap(kind, period):
    # The prediction sweeps through the wrap point (taken modulo the period, as a head's output may
    # be); each 0.01 degree step may change the loss only a little, in value and in gradient.
    pred = (torch.arange(-500, 501, dtype=torch.float64) * 0.01) % period
    pred.requires_grad_(True)
    target = torch.full_like(pred, 2.0)
    values = angle_loss(pred, target, kind=kind, period=period, reduction="none")
    (grad,) = torch.autograd.grad(values.sum(), pred)
    assert values.detach().diff().abs().max() < 1e-3
    assert grad.diff().abs().max() < 1e-3


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("period", [360.0, 180.0])
def test_no_jump_anywhere_on_the_circle(kind, period):
    # Three turns in 0.01 degree steps, through the wrap and the opposite angle alike.
    pred = torch.arange(-100 * period, 200 * period + 1, dtype=torch.float64) * 0.01
    values = angle_loss(pred, torch.full_like(pred, 2.0), kind=kind, period=period, reduction="none")
    assert values.diff().abs().max() < 1e-3


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("period", [360.0, 180.0])
def test_zero_at_equality_and_symmetric(kind, period):
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(200, generator=gen, dtype=torch.float64) * 1000 - 500
    b = torch.rand(200, generator=gen, dtype=torch.float64) * 1000 - 500
    equal = angle_loss(a, a + 3 * period, kind=kind, period=period, reduction="none")
    assert equal.abs().max() < 1e-9
    torch.testing.assert_close(angle_loss(a, b, kind=kind, period=period, reduction="none"),
                               angle_loss(b, a, kind=kind, period=period, reduction="none"))


@pytest.mark.parametrize("kind", KINDS)
def test_orientation_aware_loss_punishes_an_upside_down_word_most(kind):
    upside_down = loss(0, 180, kind=kind)
    assert upside_down > loss(0, 90, kind=kind) > loss(0, 10, kind=kind) > 0
    assert upside_down == pytest.approx(max(loss(0, t, kind=kind) for t in range(360)))


@pytest.mark.parametrize("kind", KINDS)
def test_180_periodic_loss_treats_opposite_angles_as_equal(kind):
    assert loss(0, 180, kind=kind, period=180) == pytest.approx(0, abs=1e-12)
    assert loss(10, 190, kind=kind, period=180) == pytest.approx(0, abs=1e-12)
    assert loss(179, 1, kind=kind, period=180) == pytest.approx(loss(1, 3, kind=kind, period=180), abs=1e-12)
    assert loss(0, 90, kind=kind, period=180) == pytest.approx(max(loss(0, t, kind=kind, period=180)
                                                                    for t in range(180)))


def test_cosine_values():
    assert loss(0, 90) == pytest.approx(1.0)
    assert loss(0, 180) == pytest.approx(2.0)
    assert loss(0, 45, period=180) == pytest.approx(1.0)


def test_smooth_l1_is_linear_in_radians_beyond_beta():
    # |d| = 90 degrees = pi / 2 rad > beta: smooth L1 is |d| - beta / 2.
    assert loss(0, 90, kind="smooth_l1", beta=0.1) == pytest.approx(torch.pi / 2 - 0.05)
    assert loss(350, 10, kind="smooth_l1", beta=0.1) == pytest.approx(torch.pi / 9 - 0.05)


def test_weights_give_a_weighted_mean():
    pred = torch.tensor([0.0, 0.0, 0.0])
    target = torch.tensor([90.0, 180.0, 45.0])
    per = angle_loss(pred, target, reduction="none")
    weight = torch.tensor([1.0, 3.0, 0.0])
    assert float(angle_loss(pred, target, weight=weight)) == pytest.approx((1.0 + 3 * 2.0) / 4)
    torch.testing.assert_close(angle_loss(pred, target, weight=weight, reduction="none"), per * weight)
    assert float(angle_loss(pred, target)) == pytest.approx(float(per.mean()))


def test_all_zero_weights_give_zero_with_a_graph():
    pred = torch.tensor([10.0, 20.0], requires_grad=True)
    out = angle_loss(pred, torch.tensor([100.0, 0.0]), weight=torch.zeros(2))
    assert float(out.detach()) == 0.0
    out.backward()
    assert torch.equal(pred.grad, torch.zeros(2))


def test_wrapped_difference_range():
    d = wrapped_difference(torch.tensor([359.0, 1.0, 180.0, -180.0, 540.0]), torch.zeros(5))
    torch.testing.assert_close(d, torch.tensor([-1.0, 1.0, -180.0, -180.0, -180.0]))


@pytest.mark.parametrize("kwargs, message", [
    ({"target": torch.zeros(3)}, r"pred \(2,\) and target \(3,\) differ"),
    ({"weight": torch.ones(3)}, r"weight \(3,\) must have pred's shape \(2,\)"),
    ({"period": 90}, "period must be one of"),
    ({"kind": "l2"}, "unknown kind 'l2'; valid: cosine, smooth_l1"),
    ({"reduction": "sum"}, "reduction must be 'mean' or 'none'"),
])
def test_bad_arguments_are_named(kwargs, message):
    args = {"pred": torch.zeros(2), "target": torch.zeros(2)} | kwargs
    with pytest.raises(ValueError, match=message):
        angle_loss(args.pop("pred"), args.pop("target"), **args)
