"""DBNet's registration with the detection task: its typed config, builder, loss, targets and decoding.

A DBNet config (the ``model:`` section of a recipe, also stored in every checkpoint)::

    {"arch": "dbnet",
     "backbone": {"name": "resnet18", "init": "https://download.pytorch.org/models/resnet18-f37072fd.pth"},
     "neck": {"channels": 256},
     "head": {"k": 50},
     "loss": {"alpha": 1.0, "beta": 10.0, "ohem_ratio": 3.0},
     "targets": {"shrink_ratio": 0.4, "thresh_min": 0.3, "thresh_max": 0.7, "min_text_size": 8}}

Everything but ``arch`` has defaults. ``targets`` is how training targets are made (and ``shrink_ratio``
what decoding may invert), kept in the config so a checkpoint says how it was trained.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from models.backbones import BackboneConfig, build_backbone, check_backbone
from models.task import Architecture


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NeckConfig(_Section):
    channels: int | None = None  # None: 32 for tiny, 256 otherwise


class HeadConfig(_Section):
    k: float = 50.0  # differentiable binarization steepness


class LossConfig(_Section):
    alpha: float = 1.0  # dice (approximate binary map) weight
    beta: float = 10.0  # threshold-map L1 weight
    ohem_ratio: float = 3.0


class TargetsConfig(_Section):
    shrink_ratio: float = 0.4
    thresh_min: float = 0.3
    thresh_max: float = 0.7
    min_text_size: float = 8


class DBNetConfig(_Section):
    arch: Literal["dbnet"]
    backbone: BackboneConfig = BackboneConfig()
    neck: NeckConfig = NeckConfig()
    head: HeadConfig = HeadConfig()
    loss: LossConfig = LossConfig()
    targets: TargetsConfig = TargetsConfig()

    @field_validator("backbone")
    @classmethod
    def _known_backbone(cls, value: BackboneConfig) -> BackboneConfig:
        check_backbone(value.name)
        return value


_DEFAULT_NECK_CHANNELS = {"tiny": 32}


def build(cfg: DBNetConfig, init_weights: bool) -> Any:
    from models.detection.dbnet import DBNet

    backbone = build_backbone(cfg.backbone, init_weights)
    channels = cfg.neck.channels or _DEFAULT_NECK_CHANNELS.get(cfg.backbone.name, 256)
    return DBNet(backbone, neck_channels=channels, k=cfg.head.k)


def loss(cfg: DBNetConfig) -> Any:
    from models.detection.db_loss import DBLoss

    return DBLoss(alpha=cfg.loss.alpha, beta=cfg.loss.beta, ohem_ratio=cfg.loss.ohem_ratio)


class _Targets:
    """Picklable target maker (DataLoader workers get it): ``models.detection.db_targets.make_targets``."""

    def __init__(self, settings: dict[str, float]):
        self.settings = settings

    def __call__(self, height: int, width: int, polygons: Any, ignore: Any, weights: Any) -> dict[str, Any]:
        from models.detection.db_targets import make_targets

        return make_targets(height, width, polygons, ignore, weights, **self.settings)


def targets(cfg: DBNetConfig) -> _Targets:
    return _Targets(cfg.targets.model_dump())


def decode(outputs: dict[str, Any], cfg: DBNetConfig, options: dict[str, Any], out_shape: tuple[int, int],
           scale: tuple[float, float]) -> list[tuple[Any, float]]:
    """Polygons from the ``prob`` map (``models.detection.db_postprocess``); ``unclip_ratio: None`` inverts
    the config's training shrink unless ``options`` names another ``shrink_ratio``."""
    from models.detection.db_postprocess import postprocess

    settings = {"shrink_ratio": cfg.targets.shrink_ratio, **options}
    return postprocess(outputs["prob"][0], out_shape=out_shape, scale=scale, **settings)


DBNET = Architecture(
    name="dbnet", task="detection", config=DBNetConfig, build=build, loss=loss, targets=targets,
    target_keys=("gt", "mask", "thresh_map", "thresh_mask"), decode=decode, output_keys=("prob",),
    tiny={"arch": "dbnet", "backbone": {"name": "tiny", "init": None}},
)
