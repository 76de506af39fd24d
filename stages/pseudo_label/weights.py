"""The rule that turns a fused instance's agreement and score into a loss weight (no torch).

With ``S`` sources (K models x T test-time views), a fused instance has ``votes`` sources agreeing on
it and members of mean score ``score``. Its **quality** is

    q = score * votes / S        (the mean score over all sources, an absent source counting 0)

so one confident model out of two scores at most 0.5, and the whole ensemble agreeing at 0.9 scores 0.9.
Then, with ``low <= high``:

- ``votes < min_votes`` or ``q < low``: **dropped** (no annotation; the region is background);
- ``q >= high``: kept with **weight 1**;
- ``low <= q < high`` (the uncertain band), by ``between``:
  - ``"ramp"``: weight rises linearly from ``min_weight`` at ``low`` to 1 at ``high``;
  - ``"fixed"``: weight ``min_weight``;
  - ``"ignore"``: kept as **don't care** (COCO ``iscrowd=1``, weight 0): the region is neither text nor
    background for the loss.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from stages.pseudo_label.fusion import FusedInstance

Between = Literal["ramp", "fixed", "ignore"]


@dataclass(frozen=True)
class WeightRule:
    """Thresholds of the weight rule (see the module docstring)."""

    low: float = 0.3
    high: float = 0.7
    between: Between = "ramp"
    min_weight: float = 0.3
    min_votes: int = 1

    def __post_init__(self) -> None:
        if not 0.0 <= self.low <= self.high <= 1.0:
            raise ValueError(f"weight rule: need 0 <= low <= high <= 1, got low={self.low}, high={self.high}")
        if not 0.0 <= self.min_weight <= 1.0:
            raise ValueError(f"weight rule: min_weight must be in [0, 1], got {self.min_weight}")
        if self.between not in ("ramp", "fixed", "ignore"):
            raise ValueError(f"weight rule: between must be ramp, fixed or ignore, got {self.between!r}")
        if self.min_votes < 1:
            raise ValueError(f"weight rule: min_votes must be >= 1, got {self.min_votes}")


@dataclass(frozen=True)
class Decision:
    """What becomes of one instance: kept or not, its weight, whether it is don't care."""

    keep: bool
    weight: float = 0.0
    ignore: bool = False


DROP = Decision(False)


def decide(votes: int, quality: float, rule: WeightRule) -> Decision:
    """Apply the rule to an instance's vote count and quality."""
    if votes < rule.min_votes or quality < rule.low:
        return DROP
    if quality >= rule.high:
        return Decision(True, 1.0)
    if rule.between == "ignore":
        return Decision(True, 0.0, ignore=True)
    if rule.between == "fixed":
        return Decision(True, rule.min_weight)
    span = rule.high - rule.low
    ramp = (quality - rule.low) / span if span > 0 else 1.0
    return Decision(True, rule.min_weight + (1.0 - rule.min_weight) * ramp)


def decide_instance(inst: FusedInstance, rule: WeightRule) -> Decision:
    """``decide`` for a fused instance."""
    return decide(inst.votes, inst.quality, rule)
