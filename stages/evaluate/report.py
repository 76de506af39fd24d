"""Files of the evaluation report: tables, plots, rendered samples and the ICDAR submission zip.

Plots are made with ``stages.dataset.plots`` (titles wrapped to fit), samples with ``stages.dataset.drawing``
(colour legend under each).
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from models.metrics.types import DetPoly, GtPoly
from stages.dataset.drawing import (
    DONT_CARE_BGR,
    GROUND_TRUTH_LEGEND,
    GT_BGR,
    PRED_BGR,
    draw_polygons,
    with_legend,
    write_png,
)
from stages.dataset.images import STORED, Frame
from stages.dataset.plots import fit_title, new_figure, save_figure
from stages.dataset.report_files import read_for_render

from .analysis import AXES, BinStats

DETECTION_LEGEND = [("detection", PRED_BGR)]


def submission_name(image_id: str) -> str:
    """The RRC result file name of an image: ``img_7`` -> ``res_img_7.txt``."""
    return f"res_{image_id}.txt"


def submission_line(det: DetPoly, with_score: bool) -> str:
    """``x1,y1,...,xn,yn[,score]``, integer coordinates as the RRC checker requires."""
    coords = ",".join(str(int(round(v))) for v in det.points.reshape(-1))
    return f"{coords},{det.score:.6f}" if with_score else coords


def write_submission(path: Path, image_ids: Iterable[str], preds: dict[str, list[DetPoly]], with_score: bool) -> int:
    """A zip of one ``res_<id>.txt`` per image (empty when nothing was detected); returns the line count.

    Without scores it is what the ICDAR 2015 Task 1 page accepts (for quads: ``mode: quad``).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for key in image_ids:
            body = [submission_line(d, with_score) for d in preds.get(key, [])]
            lines += len(body)
            zf.writestr(submission_name(key), "".join(line + "\n" for line in body))
    return lines


def render_sample(image_path: Path, gts: list[GtPoly], dets: list[DetPoly], out: Path,
                  frame: Frame = STORED, legend: bool = True) -> np.ndarray:
    """Draw ground truth (green; don't care grey) and detections (red) on the image, decoded in the
    ``frame`` the polygons are in, with a legend strip of those colours under it (none when ``legend`` is
    False: the picture keeps the image's size); write it to ``out`` and return it (BGR)."""
    bgr, s = read_for_render(image_path, frame)
    draw_polygons(bgr, [g.points for g in gts if not g.ignore], GT_BGR, s)
    draw_polygons(bgr, [g.points for g in gts if g.ignore], DONT_CARE_BGR, s)
    draw_polygons(bgr, [d.points for d in dets], PRED_BGR, s)
    drawn = with_legend(bgr, GROUND_TRUTH_LEGEND + DETECTION_LEGEND) if legend else bgr
    write_png(drawn, out)
    return drawn


def plot_breakdown(bins: dict[str, list[BinStats]], out: Path, title: str) -> Any:
    """Bars of recall (per ground-truth bin) and precision (per detection bin) for each axis, with counts;
    writes ``out`` and returns the figure."""
    fig, axes = new_figure(11, 4 * len(AXES), len(AXES), 1)
    for ax, axis in zip(axes[:, 0], AXES):
        stats = bins[axis]
        x = np.arange(len(stats))
        recall = [b.recall if b.recall is not None else 0.0 for b in stats]
        precision = [b.precision if b.precision is not None else 0.0 for b in stats]
        ax.bar(x - 0.2, recall, 0.4, label="recall (gt bins)", color="tab:green")
        ax.bar(x + 0.2, precision, 0.4, label="precision (det bins)", color="tab:red")
        for i, b in enumerate(stats):
            ax.text(i - 0.2, recall[i] + 0.02, f"{b.gt}", ha="center", fontsize=7)
            ax.text(i + 0.2, precision[i] + 0.02, f"{b.det}", ha="center", fontsize=7)
        ax.set_xticks(x, [b.label for b in stats])
        ax.set_ylim(0, 1.12)
        ax.set_xlabel("text height (px)" if axis == "height" else "text angle (degrees)")
        ax.set_ylabel("ratio (count above bar)")
        ax.legend(loc="upper right", fontsize=8)
    fit_title(axes[0, 0], title)
    save_figure(fig, out)
    return fig


def plot_sweep(sweep: list[dict[str, float]], out: Path, title: str, box_thresh: float) -> Any:
    """Precision, recall and hmean against the score threshold, the configured threshold dashed; writes
    ``out`` and returns the figure."""
    fig, axes = new_figure(6, 4, 1, 1)
    ax = axes[0, 0]
    xs = [p["score_threshold"] for p in sweep]
    for key, colour in (("precision", "tab:red"), ("recall", "tab:green"), ("hmean", "tab:blue")):
        ax.plot(xs, [p[key] for p in sweep], marker="o", color=colour, label=key)
    ax.axvline(box_thresh, color="grey", linestyle="--", label="box_thresh")
    ax.set_xlabel("score threshold")
    ax.set_ylim(0, 1.02)
    fit_title(ax, title)
    ax.legend(fontsize=8)
    save_figure(fig, out)
    return fig


def plot_spot_bins(bins: dict[str, list[Any]], out: Path, title: str) -> Any:
    """Bars of recognition accuracy and end-to-end recall per word-height and reading-angle bin (``SpotBin``s),
    ground-truth counts above; an empty bin draws no bar. Writes ``out`` and returns the figure."""
    fig, axes = new_figure(11, 8, 2, 1)
    for ax, axis in zip(axes[:, 0], ("height", "angle")):
        stats = bins[axis]
        x = np.arange(len(stats))
        accuracy = [b.accuracy if b.accuracy is not None else 0.0 for b in stats]
        recall = [b.e2e_recall if b.e2e_recall is not None else 0.0 for b in stats]
        ax.bar(x - 0.2, accuracy, 0.4, label="recognition accuracy (of matched words)", color="tab:blue")
        ax.bar(x + 0.2, recall, 0.4, label="end-to-end recall", color="tab:green")
        for i, b in enumerate(stats):
            ax.text(i, max(accuracy[i], recall[i]) + 0.02, f"{b.gt}", ha="center", fontsize=7)
        ax.set_xticks(x, [b.label for b in stats])
        ax.set_ylim(0, 1.12)
        ax.set_xlabel("word height (px)" if axis == "height" else "reading angle (degrees, counter-clockwise)")
        ax.set_ylabel("ratio (words above bar)")
        ax.legend(loc="upper right", fontsize=8)
    fit_title(axes[0, 0], title)
    save_figure(fig, out)
    return fig
