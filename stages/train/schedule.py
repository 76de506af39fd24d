"""Learning-rate schedules: linear warmup, then poly or cosine decay, as a ``LambdaLR`` factor.

``lr_factor(step)`` multiplies the base LR: it rises linearly from 1/(warmup+1) to 1 over the warmup
steps, then decays to ``min_ratio`` at ``total`` steps. The scheduler's state (its step count) is
saved in checkpoints, so a resumed run continues the same curve.
"""
from __future__ import annotations

import math
from typing import Any, Callable


def lr_factor_fn(kind: str, total: int, warmup: int = 0, power: float = 0.9,
                 min_ratio: float = 0.0) -> Callable[[int], float]:
    """The multiplier of the base LR at each step (0-based) for a ``total``-step run."""
    if kind not in ("poly", "cosine"):
        raise ValueError(f"unknown schedule {kind!r}; valid: cosine, poly")
    warmup = min(warmup, max(total - 1, 0))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        if kind == "poly":
            decay = (1.0 - progress) ** power
        else:
            decay = 0.5 * (1.0 + math.cos(math.pi * progress))
        return min_ratio + (1.0 - min_ratio) * decay

    return factor


def build_scheduler(optimizer: Any, kind: str, total: int, warmup: int = 0, power: float = 0.9,
                    min_ratio: float = 0.0) -> Any:
    """A ``torch.optim.lr_scheduler.LambdaLR`` following ``lr_factor_fn``; call ``step()`` once per step."""
    from torch.optim.lr_scheduler import LambdaLR

    return LambdaLR(optimizer, _Factor(kind, total, warmup, power, min_ratio))


class _Factor:
    """Picklable wrapper (LambdaLR keeps the callable; a closure would not pickle with the optimizer)."""

    def __init__(self, kind: str, total: int, warmup: int, power: float, min_ratio: float):
        self.args = (kind, total, warmup, power, min_ratio)

    def __call__(self, step: int) -> float:
        return lr_factor_fn(*self.args)(step)
