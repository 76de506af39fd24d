"""Files of the evaluation report: tables, plots, rendered samples and the ICDAR submission zip.

Plots use matplotlib's object API (``Figure`` + Agg canvas): no pyplot global state, no display needed.
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any, Iterable

import cv2
import numpy as np

from models.metrics.types import DetPoly, GtPoly
from stages.dataset.images import STORED, Frame
from stages.dataset.report_files import read_for_render

from .analysis import AXES, BinStats

GT_BGR = (0, 200, 0)  # green
DONT_CARE_BGR = (160, 160, 160)  # grey
PRED_BGR = (0, 0, 255)  # red


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
                  frame: Frame = STORED) -> None:
    """Draw ground truth (green; don't care grey) and detections (red) on the image, decoded in the
    ``frame`` the polygons are in; write a PNG."""
    bgr, s = read_for_render(image_path, frame)
    thick = max(1, round(max(bgr.shape[:2]) / 400))

    def draw(points: np.ndarray, colour: tuple[int, int, int]) -> None:
        pts = np.rint(points * s).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(bgr, [pts], True, colour, thick, cv2.LINE_AA)

    for gt in gts:
        draw(gt.points, DONT_CARE_BGR if gt.ignore else GT_BGR)
    for det in dets:
        draw(det.points, PRED_BGR)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), bgr):
        raise OSError(f"could not write {out}")


def _figure(width: float, height: float, rows: int, cols: int) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(rows, cols, squeeze=False)


def plot_breakdown(bins: dict[str, list[BinStats]], out: Path, title: str) -> None:
    """Bars of recall (per ground-truth bin) and precision (per detection bin) for each axis, with counts."""
    fig, axes = _figure(11, 4 * len(AXES), len(AXES), 1)
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
    axes[0, 0].set_title(title)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)


def plot_sweep(sweep: list[dict[str, float]], out: Path, title: str, box_thresh: float) -> None:
    """Precision, recall and hmean against the score threshold; the configured threshold dashed."""
    fig, axes = _figure(6, 4, 1, 1)
    ax = axes[0, 0]
    xs = [p["score_threshold"] for p in sweep]
    for key, colour in (("precision", "tab:red"), ("recall", "tab:green"), ("hmean", "tab:blue")):
        ax.plot(xs, [p[key] for p in sweep], marker="o", color=colour, label=key)
    ax.axvline(box_thresh, color="grey", linestyle="--", label="box_thresh")
    ax.set_xlabel("score threshold")
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
