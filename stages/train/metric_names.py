"""The MLflow names of a train stage's metrics, in one place.

Ray Train reports (and the sweep's Tune metric) use flat names: ``loss_total``, ``lr``, ``val_hmean``,
``step``. On MLflow, in the stage's result and in its manifest the same values are ``train/<k>`` and
``val/<k>``, so a run never shows one value under two names and the three training stages of a recipe
overlay on one chart.
"""
from __future__ import annotations

from typing import Any

TRAIN, VAL = "train/", "val/"
REPORT_VAL = "val_"  # the prefix of validation metrics in Ray Train reports


def mlflow_metrics(reported: dict[str, Any]) -> dict[str, float]:
    """MLflow names of reported metrics: ``val_<k>`` -> ``val/<k>``, the rest ``train/<k>``; the step (the
    x axis, not a value) and non-numbers are left out."""
    out = {}
    for key, value in reported.items():
        if key == "step" or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        out[VAL + key[len(REPORT_VAL):] if key.startswith(REPORT_VAL) else TRAIN + key] = float(value)
    return out
