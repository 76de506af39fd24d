"""ICDAR 2015 end-to-end recognition (RRC Challenge 4, Task 4, ``E2E_iou_1_1``).

Detection matching is exactly ``icdar15`` (don't care, greedy order, IoU > 0.5); a matched pair
is *correct* when its transcriptions match, and only correct pairs count:
recall = correct / cared gts, precision = correct / cared detections, pooled.
A geometric match with a wrong transcription still uses up both the gt and the detection; the
per-image ``pairs`` list every geometric match, ``recall_num`` counts the correct ones.

Transcription match:

* generic (default): both upper-cased; equal, or equal after dropping the ground truth's first
  character, its last, or both, where each dropped character is one of ``SPECIAL_CHARACTERS``.
  Only the ground truth is trimmed, one character at each end at most.
* word spotting (``word_spotting=True``): a cared gt whose word is not a "dictionary" word (see
  ``in_dictionary``: shorter than ``min_length``, inner punctuation or spaces, characters outside
  Latin / Greek letters and '-') becomes don't care, and so do the detections covering it; the
  others are reduced by ``dictionary_form`` and must equal the detection's text, case-insensitively.
"""
from __future__ import annotations

import numpy as np

from .icdar15 import assemble_icdar15, match_icdar15, prepare_icdar15
from .types import DetPoly, DetResult, GtPoly, ImageId

SPECIAL_CHARACTERS = "!?.:,*\"()·[]/'"
_DICT_PUNCTUATION = "'!?.:,*\"()·[]/"
_NOT_ALLOWED = "×÷·"
# Letters a word-spotting word may use: Latin (incl. Latin-1 and Extended-A/B), Greek, and '-'.
_ALLOWED_RANGES = ((ord("a"), ord("z")), (ord("A"), ord("Z")), (0xC0, 0x1BF), (0x1C4, 0x24F), (0x386, 0x3FF),
                   (ord("-"), ord("-")))


def transcription_match(gt: str, det: str, special: str = SPECIAL_CHARACTERS) -> bool:
    """The generic end-to-end rule: case-insensitive, GT may carry one special character at each end."""
    gt, det = gt.upper(), det.upper()
    if gt == det:
        return True
    if not gt:
        return False
    first, last = gt[0] in special, gt[-1] in special
    return ((first and gt[1:] == det) or (last and gt[:-1] == det)
            or (first and last and gt[1:-1] == det))


def dictionary_form(word: str) -> str:
    """Word-spotting normalisation of a gt word: drop a final 's, outer hyphens, punctuation at the ends."""
    if word[-2:] in ("'s", "'S"):
        word = word[:-2]
    word = word.strip("-")
    for ch in _DICT_PUNCTUATION:
        word = word.replace(ch, " ")
    return word.strip()


def in_dictionary(word: str, min_length: int = 3) -> bool:
    """Whether a gt word takes part in word spotting (else it is don't care)."""
    word = dictionary_form(word)
    if " " in word or len(word) < min_length:
        return False
    for ch in word:
        code = ord(ch)
        if ch in _NOT_ALLOWED or not any(lo <= code <= hi for lo, hi in _ALLOWED_RANGES):
            return False
    return True


def evaluate_e2e(gts: dict[ImageId, list[GtPoly]], preds: dict[ImageId, list[DetPoly]], *,
                 word_spotting: bool = False, min_length: int = 3, iou_threshold: float = 0.5,
                 dc_threshold: float = 0.5, special_characters: str = SPECIAL_CHARACTERS) -> DetResult:
    """ICDAR 2015 end-to-end precision / recall / hmean; ``DetPoly.text`` holds the recognised word."""
    if word_spotting:
        gts = {
            k: [g if g.ignore else (GtPoly(g.points, dictionary_form(g.text)) if in_dictionary(g.text, min_length)
                                    else GtPoly(g.points, g.text, True)) for g in v]
            for k, v in gts.items()
        }
    geo = prepare_icdar15(gts, preds, dc_threshold)
    keep = np.ones(len(geo.packed.det), bool)
    mg, md = match_icdar15(geo, keep, iou_threshold)
    gt_text, det_text = geo.packed.gt_text, geo.packed.det_text
    if word_spotting:
        correct = [gt_text[g].upper() == det_text[d].upper() for g, d in zip(mg.tolist(), md.tolist())]
    else:
        correct = [transcription_match(gt_text[g], det_text[d], special_characters)
                   for g, d in zip(mg.tolist(), md.tolist())]
    params = {"word_spotting": word_spotting, "min_length": min_length, "iou_threshold": iou_threshold,
              "dc_threshold": dc_threshold}
    res = assemble_icdar15(geo, keep, mg, md, np.asarray(correct, bool),
                           "e2e_wordspotting" if word_spotting else "e2e_generic", params)
    return res
