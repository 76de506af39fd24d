"""End to end on Total-Text ground truth (the published .mat files): polygon IoU, '#' don't care, the
'None' lexicon as word spotting, and the per-bin analysis over curved polygons."""
from __future__ import annotations

from pathlib import Path

from models.metrics.types import DetPoly
from stages.evaluate.analysis import DEFAULT_HEIGHT_BINS
from stages.evaluate.formats import load_gt
from stages.evaluate.spot_analysis import DEFAULT_READING_ANGLE_BINS, spot_breakdown
from stages.evaluate.spot_eval import e2e_protocols, e2e_scores, geometry

GT = Path(__file__).resolve().parents[2] / "fixtures" / "totaltext_eval" / "Groundtruth"
# Readings that differ from the transcription: case only (right under both rules), one wrong letter.
READ_AS = {("img1", 0): "petrosains", ("img2", 1): "NURlS"}


def readings(gts):
    """A reading per cared word (its transcription unless READ_AS says otherwise), plus one detection
    lying on a don't-care region ('#'), which both rules discard."""
    preds = {}
    for image_id, words in gts.items():
        preds[image_id] = [DetPoly(g.points, 1.0, READ_AS.get((image_id, k), g.text))
                           for k, g in enumerate(words) if not g.ignore]
    dont_care = next(g for g in gts["img2"] if g.ignore)
    preds["img2"].append(DetPoly(dont_care.points, 1.0, "xyz"))
    return preds


def test_totaltext_polygons_score_with_the_none_lexicon_as_word_spotting():
    gts = load_gt(GT)
    assert geometry(gts) == "polygon"  # 6-, 8- and 10-point words
    assert e2e_protocols(gts)["wordspotting"] == \
        "ICDAR 2015 word spotting = Total-Text 'None' lexicon, polygon IoU > 0.5"
    metrics, generic = e2e_scores(gts, readings(gts), "tt")
    # generic: 24 cared words and 24 cared readings ('#' excluded), all right but 'NURlS'
    assert (generic.recall_num, generic.recall_den, generic.precision_den) == (23, 24, 24)
    assert metrics["tt.e2e_recall"] == metrics["tt.e2e_precision"] == 23 / 24
    # 'None' lexicon: '1996' is not a dictionary word, so it and its reading drop out: 22 of 23
    assert metrics["tt.wordspotting_recall"] == metrics["tt.wordspotting_precision"] == 22 / 23


def test_totaltext_words_each_fall_in_one_bin_per_axis():
    gts = load_gt(GT)
    preds = readings(gts)
    _, generic = e2e_scores(gts, preds, "tt")
    bins = spot_breakdown(gts, preds, generic, DEFAULT_HEIGHT_BINS, DEFAULT_READING_ANGLE_BINS)
    for axis in ("height", "angle"):
        assert sum(b.gt for b in bins[axis]) == 24 and sum(b.correct for b in bins[axis]) == 23
    # Total-Text keeps reading order in its vertex order: its mostly level words read near 0 degrees
    assert {b.label: b.gt for b in bins["angle"] if b.gt} == {"15-45": 1, "315-345": 2, "345-15": 21}
