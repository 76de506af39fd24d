"""The one check of a ``(low, high)`` parameter range that the synth stage's params (scenes and words) share."""
from __future__ import annotations


def check_range(value: tuple, limits: tuple[float, float]) -> tuple:
    """``value`` when it is ordered (low <= high) and inside ``limits``; else a ValueError saying which rule broke
    (pydantic puts the field's name in front)."""
    low, high = limits
    if value[0] > value[1]:
        raise ValueError(f"low {value[0]} is above high {value[1]}")
    if value[0] < low or value[1] > high:
        raise ValueError(f"must lie within [{low}, {high}], got {list(value)}")
    return value
