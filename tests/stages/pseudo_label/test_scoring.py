"""Scoring pseudo-labels against hidden ground truth: weight bands, ensemble against single teachers."""
from __future__ import annotations

from pathlib import Path

import pytest

from models.metrics import GtPoly
from pipeline.stage import LocalContext
from stages.pseudo_label import scoring
from stages.pseudo_label.fusion import Detection, fuse
from stages.pseudo_label.stats import LabeledImage, log_summary, summarize
from stages.pseudo_label.weights import WeightRule, decide_instance

from .helpers import box

WORDS = {f"img_{k}.png": [box(10, 10 + 30 * i, 80, 30 + 30 * i) for i in range(2)] for k in range(5)}  # 10 words
GTS = {k: [GtPoly(w) for w in words] for k, words in WORDS.items()}


def _teacher(offset: int) -> dict[str, list[Detection]]:
    """Finds every word (score 0.8) plus one confident false alarm per image at its own spot (0.9)."""
    return {k: [Detection(w, 0.8) for w in words] + [Detection(box(100 + offset, 10, 150 + offset, 30), 0.9)]
            for k, words in WORDS.items()}


def _sources() -> dict[str, list[list[Detection]]]:
    a, b = _teacher(0), _teacher(80)  # false alarms 80 px apart: the teachers never agree on them
    return {k: [a[k], b[k]] for k in WORDS}


def test_ensemble_is_more_precise_than_either_teacher_at_the_same_recall():
    rule = WeightRule(low=0.5, high=0.75)
    sources = _sources()
    ensemble = {k: fuse(s) for k, s in sources.items()}
    metrics, curves = scoring.compare_ensemble(GTS, ensemble, sources, ["a", "b"], 0.5, rule)
    assert metrics["cmp.ensemble.precision"] == 1.0 and metrics["cmp.ensemble.recall"] == 1.0
    # alone, a teacher ranks its false alarm above its words: full recall only at 10 / 15 precision
    assert metrics["cmp.a.precision_at_ensemble_recall"] == pytest.approx(10 / 15)
    assert metrics["cmp.best_single.precision_at_ensemble_recall"] == pytest.approx(10 / 15)
    assert metrics["cmp.ensemble_precision_gain"] == pytest.approx(1 - 10 / 15)
    assert [c.name for c in curves] == ["ensemble", "a", "b"]
    assert curves[1].precision_at(1.01) is None
    table = scoring.curves_table(curves)
    rows = list(zip(table["set"], table["quality_threshold"], table["precision"], table["recall"]))
    assert len(rows) == sum(len(c.sweep) for c in curves)
    assert max(p for s, _, p, r in rows if s == "ensemble" and r == 1.0) == 1.0
    assert max(p for s, _, p, r in rows if s == "b" and r == 1.0) == pytest.approx(10 / 15)


def test_precision_and_recall_per_weight_band():
    sources = _sources()
    rule = WeightRule(low=0.4, high=0.75, between="fixed", min_weight=0.3)  # false alarms kept at weight 0.3
    images = [LabeledImage(k, Path(k), 200, 100, [(inst, decide_instance(inst, rule)) for inst in fuse(s)])
              for k, s in sources.items()]
    m = scoring.band_metrics(GTS, images, [0.0, 0.5, 1.0])
    assert m["gt.instances"] == 10 and m["gt.recall"] == 1.0 and m["gt.precision"] == pytest.approx(10 / 20)
    assert m["gt.band_0.00-0.50.count"] == 10 and m["gt.band_0.00-0.50.precision"] == 0.0
    assert m["gt.band_0.50-1.00.count"] == 0
    assert m["gt.band_1.00.count"] == 10 and m["gt.band_1.00.precision"] == 1.0 and m["gt.band_1.00.recall"] == 1.0
    assert m["gt.weight_ge_0.50.precision"] == 1.0 and m["gt.weight_ge_0.00.precision"] == pytest.approx(0.5)
    summary = summarize(images, num_sources=2)
    assert summary["instances"] == 20 and summary["agreement_hist"] == [10, 10]
    assert summary["weight_hist"][3] == 10 and summary["weight_hist"][9] == 10  # 0.3 and 1.0
    assert summary["instances_per_image_hist"] == [0, 0, 0, 0, 5]
    assert summary["quality_hist"][16] == 10 and summary["quality_hist"][9] == 10  # 0.8 x 2/2 and 0.9 x 1/2
    assert log_summary(LocalContext(), summary)["agreement_mean"] == pytest.approx(0.75)


def test_ground_truth_is_keyed_by_file_name(tmp_path):
    from .helpers import make_dataset

    gts = scoring.load_ground_truth(make_dataset(tmp_path / "d"))
    assert sorted(gts) == ["img_1.png", "img_2.png", "img_3.png"] and len(gts["img_1.png"]) == 2


def test_a_teacher_that_never_reaches_the_ensemble_recall_has_no_precision_there():
    half = {k: [Detection(words[0], 0.9)] for k, words in WORDS.items()}  # finds one word of two
    full = {k: [Detection(w, 0.9) for w in words] for k, words in WORDS.items()}
    sources = {k: [half[k], full[k]] for k in WORDS}
    ensemble = {k: fuse(s) for k, s in sources.items()}
    metrics, _ = scoring.compare_ensemble(GTS, ensemble, sources, ["half", "full"], 0.5, WeightRule(low=0.3, high=0.7))
    assert metrics["cmp.ensemble.recall"] == 1.0 and metrics["cmp.half.max_recall"] == 0.5
    assert "cmp.half.precision_at_ensemble_recall" not in metrics
    assert (metrics["cmp.best_single.precision_at_ensemble_recall"]
            == metrics["cmp.full.precision_at_ensemble_recall"] == 1.0)


def test_labels_are_scored_with_the_configured_protocol():
    # a label covering 71% of the word, 62% of it on the word: IoU 0.49 misses under ICDAR 2015 (0.5),
    # DetEval's area rule (recall 0.7, precision 0.6) matches it
    gts = {"img.png": [GtPoly(box(0, 10, 100, 30))]}
    rule = WeightRule(low=0.1, high=0.2)
    fused = fuse([[Detection(box(29, 10, 144, 30), 0.9)]])
    images = [LabeledImage("img.png", Path("img.png"), 200, 100,
                           [(inst, decide_instance(inst, rule)) for inst in fused])]
    assert scoring.band_metrics(gts, images, [0.0], "icdar15")["gt.recall"] == 0.0
    assert scoring.band_metrics(gts, images, [0.0], "deteval")["gt.recall"] == 1.0
    metrics, _ = scoring.compare_ensemble(gts, {"img.png": fused}, {"img.png": [fused]}, ["a"], 0.5, rule,
                                          protocol="deteval")
    assert metrics["cmp.ensemble.recall"] == 1.0


def test_plot_titles_fit_their_figures(tmp_path):
    from stages.pseudo_label.stats import plot_histograms
    from tests.stages.dataset.test_drawing import assert_titles_fit

    rule = WeightRule(low=0.5, high=0.75)
    sources = _sources()
    _, curves = scoring.compare_ensemble(GTS, {k: fuse(s) for k, s in sources.items()}, sources, ["a", "b"], 0.5, rule)
    assert_titles_fit(scoring.plot_curves(curves, tmp_path / "pr.png"))
    summary = {"instances_per_image_hist": [3, 40, 12], "instances_per_image_mean": 1.2, "weight_hist": [1] * 10,
               "weight_mean": 0.61, "ignore": 1234, "num_sources": 8, "agreement_hist": [5] * 8,
               "quality_hist": [2] * 20}
    assert_titles_fit(plot_histograms(summary, tmp_path / "histograms.png"))
