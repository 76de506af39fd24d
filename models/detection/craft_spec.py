"""CRAFT's registration with the detection task: its typed config, builder, loss, targets and decoding.

The config is ``models.detection.craft_config.CraftConfig``; the network ``models.detection.craft``;
decoding ``models.detection.craft_postprocess``; the weak-supervision targets and loss
``models.detection.craft_targets`` / ``craft_loss``. The public ``craft_mlt_25k`` weights map onto the
full-width network with ``models.detection.craft_import.craft_from_easyocr``.

Decode options: callers that also serve DBNet pass ``mode, thresh, box_thresh, unclip_ratio, min_size``.
CRAFT uses ``mode`` (poly / quad) and ``box_thresh`` (the minimum peak region score of a kept word),
takes ``text_threshold``, ``link_threshold`` and ``low_text`` from the options when given, else from the
checkpoint's ``decode`` section, and ignores the DBNet-only ``thresh``, ``unclip_ratio``, ``min_size``
and ``shrink_ratio``.
"""
from __future__ import annotations

from typing import Any

from models.detection.craft_config import CraftConfig
from models.task import Architecture

_DBNET_ONLY = frozenset({"thresh", "unclip_ratio", "min_size", "shrink_ratio"})
_CRAFT_DECODE = ("text_threshold", "link_threshold", "low_text")
_KNOWN = _DBNET_ONLY | {"mode", "box_thresh", *_CRAFT_DECODE}


def build(cfg: CraftConfig, init_weights: bool) -> Any:
    """The network at ``cfg.net.width`` (random init: pretrained weights arrive as a state dict)."""
    from models.detection.craft import CRAFT as Network

    return Network(width=cfg.net.width)


def loss(cfg: CraftConfig) -> Any:
    from models.detection.craft_loss import CraftLoss

    return CraftLoss(cfg.loss)


def targets(cfg: CraftConfig) -> Any:
    from models.detection.craft_targets import CraftTargets

    return CraftTargets(cfg.targets)


def decode(outputs: dict[str, Any], cfg: CraftConfig, options: dict[str, Any], out_shape: tuple[int, int],
           scale: tuple[float, float]) -> list[tuple[Any, float]]:
    """Word polygons from the ``region`` and ``affinity`` maps (see the module docstring for ``options``)."""
    from models.detection.craft_postprocess import postprocess

    unknown = sorted(set(options) - _KNOWN)
    if unknown:
        raise KeyError(f"craft decode: unknown option(s) {unknown}; valid: {', '.join(sorted(_KNOWN))}")
    settings = {**cfg.decode.model_dump(), **{k: options[k] for k in _CRAFT_DECODE if k in options}}
    return postprocess(outputs["region"][0], outputs["affinity"][0], out_shape=out_shape, scale=scale,
                       mode=options.get("mode", "quad"), box_thresh=options.get("box_thresh", 0.0), **settings)


CRAFT = Architecture(
    name="craft", task="detection", config=CraftConfig, build=build, loss=loss, targets=targets,
    target_keys=("words", "mask"), decode=decode, output_keys=("region", "affinity"),
    tiny={"arch": "craft", "net": {"width": 0.25}}, output_stride=2,
)
