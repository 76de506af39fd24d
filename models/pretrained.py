"""Outside weights into the project's architectures: the importer registry and strict loading.

An importer maps a foreign state dict onto one of the project's architectures::

    importer(state_dict, source) -> (model_config, state_dict)

where ``model_config`` builds the architecture (``models.build``) and the returned state dict must fit
it exactly. ``IMPORTERS`` is the registry (name -> importer); the ``pretrained`` stage names one.
``import_file`` reads a weights file, runs the importer and loads the result with strict key and shape
checks, so a wrong or damaged file fails with the keys that differ and the file's name.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from models.build import build_model, validate_config
from models.recognition.crnn_import import easyocr_english_g2
from models.weights_fit import SHOWN_KEYS, check_fit

Importer = Callable[[dict[str, Any], str], tuple[dict[str, Any], dict[str, Any]]]


def craft_mlt_25k(state_dict: dict[str, Any], source: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(craft model config, state dict) of the public CRAFT ``craft_mlt_25k.pth`` weights."""
    # Imported on use: the detector's import module need not load for a recognizer import.
    from models.detection.craft_import import craft_from_easyocr

    return craft_from_easyocr(state_dict, source=source)


IMPORTERS: dict[str, Importer] = {
    "easyocr_english_g2": easyocr_english_g2,
    "craft_mlt_25k": craft_mlt_25k,
}


def get_importer(name: str) -> Importer:
    """The importer registered as ``name``; an unknown name lists the valid ones."""
    if name not in IMPORTERS:
        raise KeyError(f"unknown importer {name!r}; valid: {', '.join(sorted(IMPORTERS))}")
    return IMPORTERS[name]


def read_state_dict(file: Path) -> dict[str, Any]:
    """The tensors of a plain state-dict file (loaded without running pickled code)."""
    try:
        data = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a damaged or foreign file
        raise ValueError(f"{file}: not a readable PyTorch weights file ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    if not isinstance(data, dict) or not data or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise ValueError(f"{file}: expected a state dict (names -> tensors), got {type(data).__name__}"
                         + (f" with keys {sorted(data)[:SHOWN_KEYS]}" if isinstance(data, dict) else ""))
    return data


def import_file(file: Path, importer: str, source: str | None = None) -> tuple[dict[str, Any], nn.Module]:
    """(validated model config, eval-mode module with every weight loaded) of the weights in ``file``
    mapped by the importer named ``importer``; ``source`` is how the user named the file (for messages)."""
    convert = get_importer(importer)
    config, state_dict = convert(read_state_dict(file), source or str(file))
    config = validate_config(config).model_dump()
    model = build_model(config, init_weights=False)
    check_fit(model, state_dict, source or file, importer)
    model.load_state_dict(state_dict, strict=True)
    return config, model.eval()
