"""Strict fitting of a state dict to a module: one error that names the file and lists every key that differs.

Used by the importers of public weights (``models.pretrained``, ``models.detection.craft_import``), so a
wrong or damaged file fails with what is missing, unexpected or of another shape, not a half-loaded model.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

SHOWN_KEYS = 12  # keys listed per kind of mismatch; the count says how many more


class WeightsMismatch(ValueError):
    """A weights file does not fit the architecture its importer maps it to (keys or shapes differ)."""


def _listed(keys: list[str]) -> str:
    more = len(keys) - SHOWN_KEYS
    return ", ".join(keys[:SHOWN_KEYS]) + (f" ... and {more} more" if more > 0 else "")


def check_fit(model: nn.Module, state_dict: dict[str, Any], file: Path | str, importer: str) -> None:
    """Raise ``WeightsMismatch`` naming ``file`` and listing missing, unexpected and wrongly shaped keys
    unless ``state_dict`` fits ``model`` exactly (what ``load_state_dict(strict=True)`` demands)."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    shapes = sorted(f"{k} {tuple(state_dict[k].shape)} vs {tuple(expected[k].shape)}"
                    for k in set(expected) & set(state_dict) if state_dict[k].shape != expected[k].shape)
    if not (missing or unexpected or shapes):
        return
    parts = [f"{len(missing)} missing: {_listed(missing)}" if missing else "",
             f"{len(unexpected)} unexpected: {_listed(unexpected)}" if unexpected else "",
             f"{len(shapes)} of another shape (file vs model): {_listed(shapes)}" if shapes else ""]
    raise WeightsMismatch(f"{file}: does not hold the weights importer {importer!r} expects "
                          f"(wrong file, or a damaged one?); keys after mapping: " + "; ".join(p for p in parts if p))
