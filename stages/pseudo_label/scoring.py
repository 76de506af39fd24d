"""Pseudo-labels scored against the unlabeled images' hidden ground truth, under a detection protocol of
the detection task (``ground_truth_protocol``; ICDAR 2015 by default).

Only possible when the generator knows the truth (a synthetic unlabeled split); it never feeds the labels.

- **Per weight band**: for the kept instances whose weight lies in each band, their precision and the
  share of all ground truth they find (band recall); and the precision / recall of everything at or
  above each band's lower edge (what training with a higher weight cut would see).
- **Ensemble against single models**: each teacher's own sources (its test-time views) are fused alone;
  every set's detections are ranked by quality and swept over thresholds into a precision / recall
  curve. The ensemble's operating point (its kept pseudo-labels) is compared with the best single model's
  interpolated precision at the same recall (the highest precision it reaches at that recall or more).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from models.detection.protocols import PROTOCOLS, sweep
from models.metrics import DetPoly, GtPoly
from stages.pseudo_label.fusion import FusedInstance, fuse
from stages.pseudo_label.stats import LabeledImage
from stages.pseudo_label.weights import WeightRule, decide_instance

SWEEP = [round(float(t), 2) for t in np.arange(0.0, 1.0001, 0.02)]


def load_ground_truth(path: Path) -> dict[str, list[GtPoly]]:
    """Hidden annotations keyed like ``sources`` keys images: file name relative to the images folder."""
    from stages.dataset.layout import detection_files, read_detection_set

    _, root = detection_files(path)
    gts = {}
    for rec in read_detection_set(path):
        key = Path(rec.image_path).relative_to(root).as_posix()
        gts[key] = [GtPoly(inst.polygon, inst.text, inst.ignore) for inst in rec.instances]
    return gts


def band_label(lo: float, hi: float | None) -> str:
    """``0.50-1.00`` for [lo, hi), ``1.00`` for the closed top band [1, 1]."""
    return f"{lo:.2f}" if hi is None else f"{lo:.2f}-{hi:.2f}"


def _bands(edges: Sequence[float]) -> list[tuple[float, float | None]]:
    """[lo, hi) bands from the lower edges; the last runs to 1 inclusive (hi None when it is [1, 1])."""
    out = [(lo, hi) for lo, hi in zip(edges, edges[1:])]
    out.append((edges[-1], None if edges[-1] >= 1.0 else 1.0))
    return out


def _in_band(weight: float, lo: float, hi: float | None, last: bool) -> bool:
    if hi is None:
        return weight >= lo
    return lo <= weight < hi or (last and weight == hi)


def band_metrics(gts: dict[str, list[GtPoly]], images: list[LabeledImage], edges: Sequence[float],
                 protocol: str = "icdar15") -> dict[str, float]:
    """Precision / recall of all kept pseudo-labels, per weight band and cumulatively above each edge."""
    scored = [img for img in images if img.key in gts]
    sub = {img.key: gts[img.key] for img in scored}

    def result(select) -> Any:
        preds = {img.key: [DetPoly(inst.polygon, d.weight) for inst, d in img.kept if select(d.weight)]
                 for img in scored}
        return PROTOCOLS[protocol](sub, preds)

    everything = result(lambda w: True)
    out = {"gt.images": float(len(scored)), "gt.instances": float(everything.num_gt_care),
           "gt.precision": everything.precision, "gt.recall": everything.recall, "gt.hmean": everything.hmean}
    bands = _bands(edges)
    for k, (lo, hi) in enumerate(bands):
        last = k == len(bands) - 1
        r = result(lambda w: _in_band(w, lo, hi, last))
        name = f"gt.band_{band_label(lo, hi)}"
        out.update({f"{name}.count": float(r.num_det_care), f"{name}.precision": r.precision,
                    f"{name}.recall": r.recall})
        cum = result(lambda w: w >= lo)
        out.update({f"gt.weight_ge_{lo:.2f}.precision": cum.precision, f"gt.weight_ge_{lo:.2f}.recall": cum.recall})
    return out


@dataclass
class Curve:
    """A precision / recall sweep over quality thresholds, and the set's operating point under the rule."""

    name: str
    sweep: list[dict[str, float]]
    precision: float
    recall: float

    def precision_at(self, recall: float) -> float | None:
        """Interpolated precision: the highest precision at recall >= ``recall`` (None if never reached)."""
        reached = [p["precision"] for p in self.sweep if p["recall"] >= recall - 1e-9]
        return max(reached) if reached else None


def curve(name: str, gts: dict[str, list[GtPoly]], fused: dict[str, list[FusedInstance]], rule: WeightRule,
          protocol: str = "icdar15") -> Curve:
    """The sweep of one fused set (scored by quality) and its operating point under ``rule``."""
    preds = {k: [DetPoly(inst.polygon, inst.quality) for inst in insts] for k, insts in fused.items()}
    kept = {k: [DetPoly(inst.polygon, inst.quality) for inst in insts if decide_instance(inst, rule).keep]
            for k, insts in fused.items()}
    op = PROTOCOLS[protocol](gts, kept)
    return Curve(name, sweep(gts, preds, protocol, SWEEP), op.precision, op.recall)


def single_model_sets(sources: dict[str, list[list[Any]]], num_models: int, iou: float,
                      outline: str = "mean") -> list[dict[str, list[FusedInstance]]]:
    """Each teacher's own sources (model-major: ``num_views`` consecutive ones) fused alone."""
    out = []
    for m in range(num_models):
        per_image = {}
        for key, srcs in sources.items():
            views = len(srcs) // num_models
            per_image[key] = fuse(srcs[m * views:(m + 1) * views], iou, outline)
        out.append(per_image)
    return out


def compare_ensemble(gts: dict[str, list[GtPoly]], ensemble: dict[str, list[FusedInstance]],
                     sources: dict[str, list[list[Any]]], model_names: Sequence[str], iou: float,
                     rule: WeightRule, outline: str = "mean",
                     protocol: str = "icdar15") -> tuple[dict[str, float], list[Curve]]:
    """Metrics comparing the ensemble with each single teacher (see the module docstring), and the curves."""
    keys = [k for k in ensemble if k in gts]
    sub = {k: gts[k] for k in keys}
    curves = [curve("ensemble", sub, {k: ensemble[k] for k in keys}, rule, protocol)]
    singles = single_model_sets({k: sources[k] for k in keys}, len(model_names), iou, outline)
    curves += [curve(name, sub, fused, rule, protocol) for name, fused in zip(model_names, singles)]
    ens = curves[0]
    out = {"cmp.ensemble.precision": ens.precision, "cmp.ensemble.recall": ens.recall}
    reached = []
    for c in curves[1:]:
        out[f"cmp.{c.name}.precision"] = c.precision
        out[f"cmp.{c.name}.recall"] = c.recall
        out[f"cmp.{c.name}.max_recall"] = max((p["recall"] for p in c.sweep), default=0.0)
        p = c.precision_at(ens.recall)
        if p is not None:  # a teacher that never reaches the ensemble's recall has no precision there
            out[f"cmp.{c.name}.precision_at_ensemble_recall"] = p
            reached.append(p)
    # 0 when no single teacher reaches the ensemble's recall at any threshold
    best = max(reached, default=0.0)
    out["cmp.best_single.precision_at_ensemble_recall"] = best
    out["cmp.ensemble_precision_gain"] = ens.precision - best
    return out, curves


def curves_table(curves: list[Curve]) -> dict[str, list[Any]]:
    """Every curve's sweep as one table: a row per (set, quality threshold) with its precision, recall, hmean."""
    rows = [(c.name, p) for c in curves for p in c.sweep]
    return {"set": [name for name, _ in rows], "quality_threshold": [p["score_threshold"] for _, p in rows],
            "precision": [p["precision"] for _, p in rows], "recall": [p["recall"] for _, p in rows],
            "hmean": [p["hmean"] for _, p in rows]}


def plot_curves(curves: list[Curve], out: Path) -> Any:
    """Precision against recall for the ensemble and each teacher, operating points marked; writes ``out``
    and returns the figure."""
    from stages.dataset.plots import fit_title, new_figure, save_figure

    fig, axes = new_figure(6, 4.5)
    ax = axes[0, 0]
    for c in curves:
        pts = sorted((p["recall"], p["precision"]) for p in c.sweep if p["recall"] > 0)
        line = ax.plot([r for r, _ in pts], [p for _, p in pts], label=c.name,
                       linewidth=2 if c.name == "ensemble" else 1)
        ax.plot([c.recall], [c.precision], marker="o", color=line[0].get_color())
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02))
    fit_title(ax, "pseudo-labels vs hidden ground truth (dots: kept by the weight rule)")
    ax.legend(fontsize=8)
    save_figure(fig, out)
    return fig
