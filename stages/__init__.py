"""Stage registry: one plain dict from stage type name to its StageDef."""
from __future__ import annotations

from pipeline.stage import StageDef
from stages.augment import stage as augment_stage
from stages.convert import stage as convert_stage
from stages.download import stage as download_stage
from stages.evaluate import stage as evaluate_stage
from stages.pseudo_label import stage as pseudo_label_stage
from stages.register import stage as register_stage
from stages.smoke import stage as smoke_stage
from stages.synth import stage as synth_stage
from stages.train import stage as train_stage

STAGES: dict[str, StageDef] = {
    module.STAGE.name: module.STAGE
    for module in (augment_stage, convert_stage, download_stage, evaluate_stage, pseudo_label_stage, register_stage,
                   smoke_stage, synth_stage, train_stage)
}


def get_stage(name: str) -> StageDef:
    """The StageDef for a type name; an unknown name lists the valid ones."""
    try:
        return STAGES[name]
    except KeyError:
        raise KeyError(f"unknown stage type {name!r}; valid types: {', '.join(sorted(STAGES))}") from None
