"""The recognizers the recognition benchmarks compare, at the quickstart's geometry (32 x 100 crops, lower36).

``crnn`` is ``configs/quickstart_rec.yaml``'s own model (its pretrain stage's ``model`` section); ``binet``
(a small BINet-style model) and ``attention`` are configs of about the same size built on the same small
ResNet encoder. Not named ``bench_*.py``: ``make bench`` runs those files, and this one is a library.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "configs" / "quickstart_rec.yaml"
ARCHS = ("crnn", "attention", "binet")
_ENCODER = {"channels": [32, 64, 64], "blocks": [1, 1, 1], "strides": [[2, 2], [2, 2], [2, 1]]}


def recipe_model() -> dict[str, Any]:
    """The quickstart recipe's model section (its pretrain stage's; mixtrain and finetune inherit it)."""
    import yaml

    return yaml.safe_load(QUICKSTART.read_text())["stages"]["pretrain"]["model"]


def model_configs() -> dict[str, dict[str, Any]]:
    """Each architecture's model section, by name, on the recipe's geometry and charset."""
    crnn = recipe_model()
    geometry = {key: crnn[key] for key in ("charset", "height", "width", "max_length")}
    return {
        "crnn": crnn,
        # the binet encoder's widths, and a decoder as wide as its transformer
        "attention": {"arch": "attention", **geometry, "encoder": _ENCODER,
                      "decoder": {"hidden": 64, "embed": 32, "attention": 64}},
        "binet": {"arch": "binet", **geometry, "encoder": _ENCODER,
                  "vision": {"dim": 64, "heads": 4, "layers": 1, "feedforward": 128, "dropout": 0.0},
                  "language": {"layers": 1, "iterations": 1}},
    }


def parameter_count(model: dict[str, Any]) -> int:
    """Trainable parameters of the model a ``model`` section builds."""
    from models.build import build_model, validate_config

    return sum(p.numel() for p in build_model(validate_config(model)).parameters() if p.requires_grad)
