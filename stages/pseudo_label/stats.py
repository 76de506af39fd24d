"""What the pseudo-labels look like: counts, histograms, plots and sample images coloured by weight.

Histograms are logged to MLflow as step metrics (``step`` = bin index, value = count), which the UI
draws as bar-like curves, and drawn together in ``histograms.png``. Samples show each kept instance
coloured from red (weight near 0) through yellow to green (weight 1), don't care in grey, and the
candidates the weight rule dropped as thin dark-blue outlines.
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


def log_summary(ctx: Any, summary: dict[str, Any]) -> dict[str, float]:
    """Log the histograms as step metrics; return the scalar metrics (the stage's final metrics)."""
    for step, count in enumerate(summary["instances_per_image_hist"]):
        ctx.log_metrics({"hist.instances_per_image": float(count)}, step=step)
    for step, count in enumerate(summary["weight_hist"]):
        ctx.log_metrics({"hist.weight": float(count)}, step=step)
    for step, count in enumerate(summary["quality_hist"]):
        ctx.log_metrics({"hist.quality_all": float(count)}, step=step)
    for step, count in enumerate(summary["agreement_hist"], start=1):  # step = votes
        ctx.log_metrics({"hist.agreement_votes": float(count)}, step=step)
    return {k: float(summary[k]) for k in ("instances_per_image_mean", "weight_mean", "agreement_mean")}


def plot_histograms(summary: dict[str, Any], out: Path) -> None:
    """One PNG with the four histograms side by side."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(17, 3.6), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 4)
    per_image = summary["instances_per_image_hist"]
    axes[0].bar(range(len(per_image)), per_image, color="tab:blue")
    axes[0].set(title=f"pseudo-labels per image (mean {summary['instances_per_image_mean']:.2f})",
                xlabel="instances", ylabel="images")
    edges = np.linspace(0, 1, WEIGHT_BINS + 1)
    axes[1].bar(edges[:-1], summary["weight_hist"], width=1.0 / WEIGHT_BINS, align="edge", color="tab:green")
    axes[1].set(title=f"weight (mean {summary['weight_mean']:.2f}; {summary['ignore']} don't care)",
                xlabel="weight", ylabel="instances")
    n = summary["num_sources"]
    axes[2].bar([f"{k}/{n}" for k in range(1, n + 1)], summary["agreement_hist"], color="tab:orange")
    axes[2].set(title="agreement (sources voting)", xlabel="votes", ylabel="instances")
    q_edges = np.linspace(0, 1, QUALITY_BINS + 1)
    axes[3].bar(q_edges[:-1], summary["quality_hist"], width=1.0 / QUALITY_BINS, align="edge", color="tab:purple")
    axes[3].set(title="quality = score x agreement (all fused, dropped too)", xlabel="quality", ylabel="instances")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)


def weight_colour(weight: float) -> tuple[int, int, int]:
    """BGR from red (0) through yellow (0.5) to green (1)."""
    w = min(max(float(weight), 0.0), 1.0)
    red = 255 if w <= 0.5 else round(255 * (1.0 - w) * 2)
    green = round(255 * w * 2) if w < 0.5 else 220
    return 0, int(green), int(red)


def render(image: LabeledImage, out: Path) -> None:
    """Draw one image's pseudo-labels coloured by weight (see the module docstring); write a PNG."""
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
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), bgr):
        raise OSError(f"could not write {out}")


def sample(images: list[LabeledImage], num: int) -> list[LabeledImage]:
    """``num`` images spread evenly over the list (first and last included), deterministic."""
    if num <= 0 or not images:
        return []
    picks = sorted(set(np.linspace(0, len(images) - 1, min(num, len(images))).round().astype(int).tolist()))
    return [images[k] for k in picks]
