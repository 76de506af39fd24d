"""Stage registry: one plain dict from stage type name to its StageDef."""
from __future__ import annotations

from pipeline.stage import StageDef
from stages import augment, download, pseudo_label, register, smoke, synth, train
from stages.convert import stage as convert_stage
from stages.evaluate import stage as evaluate_stage

STAGES: dict[str, StageDef] = {
    stage.name: stage
    for stage in (
        augment.STAGE,
        convert_stage.STAGE,
        download.STAGE,
        evaluate_stage.STAGE,
        pseudo_label.STAGE,
        register.STAGE,
        smoke.STAGE,
        synth.STAGE,
        train.STAGE,
    )
}


def get_stage(name: str) -> StageDef:
    """The StageDef for a type name; an unknown name lists the valid ones."""
    try:
        return STAGES[name]
    except KeyError:
        raise KeyError(f"unknown stage type {name!r}; valid types: {', '.join(sorted(STAGES))}") from None
