"""What the pseudo-labels look like: counts, histograms, plots and sample images coloured by weight.

Histograms are logged to MLflow as tables (``report/hist_<name>.json``: one row per bin) and drawn
together in ``histograms.png``. Samples show each kept instance coloured from red (weight near 0)
through yellow to green (weight 1), don't care in grey, and the candidates the weight rule dropped as
thin dark-blue outlines; a legend strip under each sample says so.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from stages.pseudo_label.fusion import FusedInstance
from stages.pseudo_label.weights import Decision

WEIGHT_BINS = 10  # weight histogram: [0, 0.1), ..., [0.9, 1.0]
QUALITY_BINS = 20  # quality histogram of every fused instance, dropped ones included: where to put low / high
IGNORE_BGR = (160, 160, 160)
DROPPED_BGR = (120, 40, 0)


@dataclass
class LabeledImage:
    """One processed image: where it is and every fused instance with what the weight rule decided."""

    key: str
    path: Path
    width: int
    height: int
    instances: list[tuple[FusedInstance, Decision]] = field(default_factory=list)

    @property
    def kept(self) -> list[tuple[FusedInstance, Decision]]:
        """The instances written to the pseudo-labeled set."""
        return [(inst, d) for inst, d in self.instances if d.keep]


def summarize(images: list[LabeledImage], num_sources: int) -> dict[str, Any]:
    """Counts, means and the histograms: instances per image, weight and agreement of the kept instances,
    quality of every fused instance (dropped ones too)."""
    kept = [pair for img in images for pair in img.kept]
    per_image = [len(img.kept) for img in images]
    weights = np.array([d.weight for _, d in kept if not d.ignore], np.float64)
    votes = [inst.votes for inst, _ in kept]
    quality = np.array([inst.quality for img in images for inst, _ in img.instances], np.float64)
    return {
        "images": len(images),
        "instances": len(kept),
        "dropped": sum(len(img.instances) for img in images) - len(kept),
        "ignore": sum(d.ignore for _, d in kept),
        "instances_per_image_mean": float(np.mean(per_image)) if per_image else 0.0,
        "weight_mean": float(weights.mean()) if weights.size else 0.0,
        "agreement_mean": float(np.mean(votes) / num_sources) if votes else 0.0,
        "instances_per_image_hist": np.bincount(per_image).tolist() if per_image else [],
        "weight_hist": _hist(weights, WEIGHT_BINS),
        "quality_hist": _hist(quality, QUALITY_BINS),
        "agreement_hist": np.bincount(votes, minlength=num_sources + 1)[1:].tolist() if votes else [0] * num_sources,
        "num_sources": num_sources,
    }


def _hist(values: np.ndarray, bins: int) -> list[int]:
    """Counts of values in [k/bins, (k+1)/bins), 1.0 in the last bin; the epsilon keeps 0.3 in bin 3 of 10
    (np.histogram's float edges would put it in bin 2)."""
    index = np.minimum(np.floor(values * bins + 1e-9).astype(int), bins - 1)
    return np.bincount(index, minlength=bins).astype(int).tolist()


def histogram_tables(summary: dict[str, Any]) -> dict[str, dict[str, list[Any]]]:
    """The four histograms as tables (artifact file -> columns), one row per bin."""
    def edges(bins: int) -> tuple[list[float], list[float]]:
        cuts = [round(k / bins, 4) for k in range(bins + 1)]
        return cuts[:-1], cuts[1:]

    weight_from, weight_to = edges(WEIGHT_BINS)
    quality_from, quality_to = edges(QUALITY_BINS)
    per_image = summary["instances_per_image_hist"]
    return {
        "report/hist_instances_per_image.json": {"instances": list(range(len(per_image))), "images": per_image},
        "report/hist_weight.json": {"weight_from": weight_from, "weight_to": weight_to,
                                    "instances": summary["weight_hist"]},
        "report/hist_quality.json": {"quality_from": quality_from, "quality_to": quality_to,
                                     "instances": summary["quality_hist"]},
        "report/hist_agreement.json": {"votes": list(range(1, len(summary["agreement_hist"]) + 1)),
                                       "instances": summary["agreement_hist"]},
    }


def log_summary(ctx: Any, summary: dict[str, Any]) -> dict[str, float]:
    """Log the histograms as tables; return the scalar metrics (unprefixed: the stage names them ``pseudo/``)."""
    for artifact_file, columns in histogram_tables(summary).items():
        ctx.log_table(columns, artifact_file)
    return {k: float(summary[k]) for k in ("instances_per_image_mean", "weight_mean", "agreement_mean")}


def plot_histograms(summary: dict[str, Any], out: Path) -> Any:
    """One PNG with the four histograms side by side; returns the figure."""
    from stages.dataset.plots import fit_title, new_figure, save_figure

    fig, grid = new_figure(17, 3.6, 1, 4)
    axes = grid[0]
    per_image = summary["instances_per_image_hist"]
    axes[0].bar(range(len(per_image)), per_image, color="tab:blue")
    axes[0].set(xlabel="instances", ylabel="images")
    fit_title(axes[0], f"pseudo-labels per image (mean {summary['instances_per_image_mean']:.2f})")
    edges = np.linspace(0, 1, WEIGHT_BINS + 1)
    axes[1].bar(edges[:-1], summary["weight_hist"], width=1.0 / WEIGHT_BINS, align="edge", color="tab:green")
    axes[1].set(xlabel="weight", ylabel="instances")
    fit_title(axes[1], f"weight (mean {summary['weight_mean']:.2f}; {summary['ignore']} don't care)")
    n = summary["num_sources"]
    axes[2].bar([f"{k}/{n}" for k in range(1, n + 1)], summary["agreement_hist"], color="tab:orange")
    axes[2].set(xlabel="votes", ylabel="instances")
    fit_title(axes[2], "agreement (sources voting)")
    q_edges = np.linspace(0, 1, QUALITY_BINS + 1)
    axes[3].bar(q_edges[:-1], summary["quality_hist"], width=1.0 / QUALITY_BINS, align="edge", color="tab:purple")
    axes[3].set(xlabel="quality", ylabel="instances")
    fit_title(axes[3], "quality = score x agreement (all fused, dropped too)")
    save_figure(fig, out)
    return fig


def weight_colour(weight: float) -> tuple[int, int, int]:
    """BGR from red (0) through yellow (0.5) to green (1)."""
    w = min(max(float(weight), 0.0), 1.0)
    red = 255 if w <= 0.5 else round(255 * (1.0 - w) * 2)
    green = round(255 * w * 2) if w < 0.5 else 220
    return 0, int(green), int(red)


def legend() -> list[tuple[str, tuple[int, int, int]]]:
    """What a sample's colours mean."""
    return [("weight 0", weight_colour(0.0)), ("weight 0.5", weight_colour(0.5)), ("weight 1", weight_colour(1.0)),
            ("don't care", IGNORE_BGR), ("dropped", DROPPED_BGR)]


def render(image: LabeledImage, out: Path) -> np.ndarray:
    """Draw one image's pseudo-labels coloured by weight (see the module docstring) with the legend under
    it; write a PNG and return it (BGR)."""
    from stages.dataset.drawing import with_legend, write_png
    from stages.dataset.report_files import read_for_render

    bgr, s = read_for_render(image.path)
    thick = max(1, round(max(bgr.shape[:2]) / 300))
    for inst, decision in sorted(image.instances, key=lambda p: p[1].keep):  # kept ones drawn on top
        pts = np.rint(inst.polygon * s).astype(np.int32).reshape(-1, 1, 2)
        if not decision.keep:
            cv2.polylines(bgr, [pts], True, DROPPED_BGR, 1, cv2.LINE_AA)
            continue
        colour = IGNORE_BGR if decision.ignore else weight_colour(decision.weight)
        cv2.polylines(bgr, [pts], True, colour, thick, cv2.LINE_AA)
        x, y = pts.reshape(-1, 2).min(axis=0)
        cv2.putText(bgr, f"{decision.weight:.2f}", (int(x), max(8, int(y) - 2)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.3 * max(1, thick), colour, 1, cv2.LINE_AA)
    drawn = with_legend(bgr, legend())
    write_png(drawn, out)
    return drawn


def sample(images: list[LabeledImage], num: int) -> list[LabeledImage]:
    """``num`` images spread evenly over the list (first and last included), deterministic."""
    if num <= 0 or not images:
        return []
    picks = sorted(set(np.linspace(0, len(images) - 1, min(num, len(images))).round().astype(int).tolist()))
    return [images[k] for k in picks]
