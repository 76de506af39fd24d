"""Stage registry: one plain dict from stage type name to its StageDef."""
from __future__ import annotations

from pipeline.stage import StageDef
from stages import download, smoke

STAGES: dict[str, StageDef] = {
    stage.name: stage
    for stage in (
        download.STAGE,
        smoke.STAGE,
    )
}


def get_stage(name: str) -> StageDef:
    """The StageDef for a type name; an unknown name lists the valid ones."""
    try:
        return STAGES[name]
    except KeyError:
        raise KeyError(f"unknown stage type {name!r}; valid types: {', '.join(sorted(STAGES))}") from None
