"""Map the public CRAFT weights (EasyOCR's ``craft_mlt_25k.pth``) onto ``models.detection.craft.CRAFT``.

The public file is a plain state dict saved from a ``DataParallel`` wrapper: every key starts with
``module.``; below that the names are the ones our module uses on purpose (``basenet.slice1..5`` with
torchvision VGG16-BN layer indices, ``upconv1..4.conv.<i>``, ``conv_cls.<i>``), so the mapping is the
prefix strip alone. Loading is strict: any missing or unexpected key, or a shape that differs, is an
error that names the source and lists them (a wrong file, e.g. a recognizer's, fails here rather than
producing a silently half-initialised detector).
"""
from __future__ import annotations

from typing import Any

_PREFIX = "module."


def craft_from_easyocr(state_dict: dict[str, Any], source: str = "state dict") -> tuple[dict[str, Any], dict[str, Any]]:
    """(model config, state dict) of the full-width CRAFT holding the public weights.

    state_dict: the loaded ``craft_mlt_25k.pth`` (keys ``module.basenet...``; a copy without the
        ``module.`` prefix is accepted too); source: its name for error messages (e.g. the file path).
    The returned state dict loads into ``models.build_model(config)`` with ``strict=True``.
    Raises ValueError naming ``source`` with the missing / unexpected / mis-shaped keys.
    """
    from models.detection.craft import CRAFT
    from models.weights_fit import check_fit

    if not isinstance(state_dict, dict) or not state_dict:
        raise ValueError(f"{source}: expected a non-empty state dict (name -> tensor), got {type(state_dict).__name__}")
    state = {(key[len(_PREFIX):] if key.startswith(_PREFIX) else key): value for key, value in state_dict.items()}
    config = {"arch": "craft", "net": {"width": 1.0}}
    module = CRAFT(width=1.0)
    check_fit(module, state, source, "craft_mlt_25k")
    module.load_state_dict(state, strict=True)  # also checks every tensor loads (dtype, shape)
    return config, module.state_dict()

