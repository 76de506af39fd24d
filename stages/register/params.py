"""Typed params of the ``register`` stage (see ``stage.py`` for what it does)."""
from __future__ import annotations

from pydantic import Field

from pipeline.stage import StageParams


class RegisterParams(StageParams):
    """Params of the register stage."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="registered model name, e.g. scenetext-det")
    benchmark_metric: str | None = Field(None, description="evaluation metric deciding the champion, e.g. test.hmean "
                                                           "(higher is better); null: never promote automatically")
    candidate_alias: str = Field("candidate", description="alias every new version gets")
    champion_alias: str = Field("champion", description="alias of the best version on benchmark_metric")
    description: str = Field("", description="description of the new version")
    tracking_uri: str | None = Field(None, description="MLflow store when run outside the engine (ignored under it)")
    experiment: str = Field("register", description="experiment of the run created outside the engine")

    SETUP_KEYS = ("tracking_uri", "experiment")  # used only outside the engine
