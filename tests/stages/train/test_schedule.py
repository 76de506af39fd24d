"""Warmup + poly / cosine learning-rate schedules, and their state surviving a checkpoint round trip."""
from __future__ import annotations

import math

import pytest
import torch

from stages.train.schedule import build_scheduler, lr_factor_fn


def test_warmup_then_poly():
    f = lr_factor_fn("poly", total=110, warmup=10, power=1.0)
    assert f(0) == pytest.approx(1 / 11)
    assert f(9) == pytest.approx(10 / 11)
    assert f(10) == pytest.approx(1.0)
    assert f(60) == pytest.approx(0.5)
    assert f(110) == pytest.approx(0.0)


def test_cosine_with_floor():
    f = lr_factor_fn("cosine", total=100, warmup=0, min_ratio=0.1)
    assert f(0) == pytest.approx(1.0)
    assert f(50) == pytest.approx(0.1 + 0.9 * 0.5)
    assert f(100) == pytest.approx(0.1)
    assert f(25) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 4)))


def test_unknown_schedule_raises():
    with pytest.raises(ValueError, match="cosine, poly"):
        lr_factor_fn("step", 10)


def test_scheduler_state_round_trip():
    def make():
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        return opt, build_scheduler(opt, "poly", total=20, warmup=5)

    opt, sched = make()
    for _ in range(7):
        opt.step()
        sched.step()
    state = sched.state_dict()
    opt2, sched2 = make()
    sched2.load_state_dict(state)
    assert sched2.last_epoch == 7
    sched.step()
    sched2.step()
    assert sched2.get_last_lr() == pytest.approx(sched.get_last_lr())
