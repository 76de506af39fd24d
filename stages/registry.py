"""The one place that wires this project into the engine: the stage registry (``STAGES``, a plain dict
from stage type name to its StageDef), the commands that belong to stage types or models (``COMMANDS``)
and both as the engine's ``PLUGINS``, which ``pipeline/run.py`` and ``python -m pipeline`` hand to it.
"""
from __future__ import annotations

from pipeline.plugins import Command, Plugins
from pipeline.stage import StageDef
from stages.augment import stage as augment_stage
from stages.convert import stage as convert_stage
from stages.download import stage as download_stage
from stages.evaluate import stage as evaluate_stage
from stages.pretrained import stage as pretrained_stage
from stages.pseudo_label import stage as pseudo_label_stage
from stages.register import stage as register_stage
from stages.smoke import stage as smoke_stage
from stages.synth import stage as synth_stage
from stages.train import stage as train_stage

STAGES: dict[str, StageDef] = {
    module.STAGE.name: module.STAGE
    for module in (augment_stage, convert_stage, download_stage, evaluate_stage, pretrained_stage, pseudo_label_stage,
                   register_stage, smoke_stage, synth_stage, train_stage)
}


# Each command imports its module when it runs: `python -m pipeline stages` need not load Ray Tune or torch.
def _eval_det(argv: list[str], plugins: Plugins) -> int:
    from stages.evaluate.cli import main_eval_det

    return main_eval_det(argv)


def _eval_rec(argv: list[str], plugins: Plugins) -> int:
    from stages.evaluate.cli import main_eval_rec

    return main_eval_rec(argv)


def _models(argv: list[str], plugins: Plugins) -> int:
    from models.mlflow_registry import main_models

    return main_models(argv)


def _infer(argv: list[str], plugins: Plugins) -> int:
    from stages.evaluate.infer import main_infer

    return main_infer(argv)


def _sweep(argv: list[str], plugins: Plugins) -> int:
    from stages.train.sweep import main_sweep

    return main_sweep(argv, plugins)


COMMANDS: dict[str, Command] = {
    command.name: command
    for command in (
        Command("eval-det", "evaluate detection results against ground truth", _eval_det),
        Command("eval-rec", "evaluate recognition results against ground truth", _eval_rec),
        Command("models",
                "the MLflow model registry: list | show NAME | promote NAME VERSION | alias NAME ALIAS VERSION",
                _models),
        Command("infer", "detect text in images with a registered or local model", _infer),
        Command("sweep", "tune one training stage's params with Ray Tune (Optuna + ASHA)", _sweep),
    )
}

PLUGINS = Plugins(STAGES, COMMANDS)
