"""EasyOCR's generation-2 English recognizer (``english_g2.pth``) as a project ``crnn`` model.

The file is a plain state dict saved from a ``DataParallel`` wrapper: 44 tensors named
``module.FeatureExtraction.ConvNet.*`` (the VGG-style extractor), ``module.SequenceModeling.{0,1}.*``
(two BiLSTM + linear blocks of 256 units) and ``module.Prediction.*`` (97 classes: the CTC blank and
the 96 characters of the ``easyocr_en`` charset). ``models.recognition.crnn`` uses the same layer
indices and block names, so importing is renaming prefixes (``EASYOCR_PREFIXES``).

The config reproduces how EasyOCR feeds the network: one grey channel in [-1, 1] (``gray``), height 64
with the aspect kept (bilinear: EasyOCR passes PIL's LANCZOS flag value to cv2, which is bilinear
there), the exact scaled width (``width_multiple: 1``), no cap short of very long words (``max_width``
1024, 16 times the height), and no turning of tall crops. The predictor never pads a crop (it batches
crops of one width), so EasyOCR's padding with the last column does not arise at inference; fine-tuning
pads training batches that way (``pad: edge``).
"""
from __future__ import annotations

from typing import Any

from models.recognition.crnn import EASYOCR_PREFIXES

DATA_PARALLEL = "module."

ENGLISH_G2_CONFIG: dict[str, Any] = {
    "arch": "crnn",
    "charset": {"kind": "easyocr_en"},
    "height": 64,
    "width": None,
    "max_width": 1024,
    "width_multiple": 1,
    "rotate_tall": False,
    "backbone": {"name": "vgg", "channels": 256},
    "hidden": 256,
    "lstm_layers": 2,
    "gray": True,
    "pad": "edge",  # fine-tuning batches pad as EasyOCR's training did (its last column repeated)
}


def rename_easyocr_keys(state_dict: dict[str, Any]) -> dict[str, Any]:
    """The state dict with ``module.`` dropped and EasyOCR's prefixes turned into ``crnn``'s; a key under
    no known prefix is kept as it is (strict loading then reports it as unexpected)."""
    out = {}
    for key, value in state_dict.items():
        name = key.removeprefix(DATA_PARALLEL)
        for theirs, ours in EASYOCR_PREFIXES.items():
            if name.startswith(theirs):
                name = ours + name[len(theirs):]
                break
        out[name] = value
    return out


def easyocr_english_g2(state_dict: dict[str, Any], source: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(crnn model config, renamed state dict) of EasyOCR's ``english_g2`` weights read from ``source``.

    Nothing is checked here: the caller loads the result strictly (``models.pretrained``) and reports
    missing and unexpected keys against ``source``."""
    return dict(ENGLISH_G2_CONFIG), rename_easyocr_keys(state_dict)
