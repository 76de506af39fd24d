"""ICDAR 2015 (RRC Challenge 4, Task 1) hmean-IoU, reproducing the official ``script.py``.

Rules, per image, then pooled over the set:

1. A ground truth whose transcription is ``###`` (``GtPoly.ignore``) is don't care.
2. A detection is don't care when, for any one don't-care ground truth, intersection / detection
   area > 0.5 (strictly; exactly 0.5 does not exclude; a zero-area detection never is).
3. IoU = inter / (area_det + area_gt - inter), 0 when that union is 0.
4. Greedy matching: ground truths in file order, for each the detections in file order; a pair
   matches when both are unmatched, neither is don't care and IoU > 0.5 (strictly).
5. recall = matches / cared ground truths, precision = matches / cared detections, both pooled over
   the whole set (0 when the denominator is 0); hmean = 2PR / (P + R), 0 when both are 0.
6. An image with no prediction entry has no detections.

Areas and self-intersecting polygons: see ``polygons`` (|shoelace| areas, ``make_valid`` repair,
what Polygon3 / GPC do). The official script also truncates coordinates with ``int()``; for
integer inputs (all ICDAR ground truth) that is a no-op, float detections are used as given here.

Non-default variants: ``score_threshold`` (drop detections scoring below it; a sequence sweeps
the values and reports the best hmean) and ``matching="max"`` (maximum bipartite matching among the
pairs the greedy rule could take, via scipy's ``linear_sum_assignment``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from .polygons import PackedSets, overlaps, pack_sets
from .types import DetPoly, DetResult, GtPoly, ImageId, ImageResult, hmean_of, pooled_result, safe_div

MATCHINGS = ("greedy", "max")


@dataclass
class Icdar15Geometry:
    """Everything the matching needs, computed once (a score sweep re-matches without new geometry).

    gi, dj: (P,) global indices of same-image pairs with overlapping boxes, sorted by gi then dj.
    iou: (P,) IoU of each pair. det_dc: (n_det,) detections over a don't-care ground truth.
    """

    packed: PackedSets
    gi: np.ndarray
    dj: np.ndarray
    iou: np.ndarray
    det_dc: np.ndarray


def prepare_icdar15(gts: dict[ImageId, list[GtPoly]], preds: dict[ImageId, list[DetPoly]],
                    dc_threshold: float = 0.5) -> Icdar15Geometry:
    """Pack the polygons, intersect every candidate pair once, flag don't-care detections."""
    packed = pack_sets(gts, preds, "make_valid")
    gi, dj, inter = overlaps(packed.gt, packed.det, len(packed.image_ids))
    union = packed.gt.areas[gi] + packed.det.areas[dj] - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union != 0)
    det_area = packed.det.areas[dj]
    cover = np.divide(inter, det_area, out=np.zeros_like(inter), where=det_area != 0)
    det_dc = np.zeros(len(packed.det), bool)
    det_dc[dj[packed.gt_ignore[gi] & (cover > dc_threshold)]] = True
    return Icdar15Geometry(packed, gi, dj, iou, det_dc)


def _greedy(gi: np.ndarray, dj: np.ndarray, n_gt: int, n_det: int) -> tuple[np.ndarray, np.ndarray]:
    """First-come matching over eligible pairs sorted by (gt, det): the official nested loop."""
    g_used, d_used = bytearray(n_gt), bytearray(n_det)
    mg, md = [], []
    for g, d in zip(gi.tolist(), dj.tolist()):
        if not g_used[g] and not d_used[d]:
            g_used[g] = d_used[d] = 1
            mg.append(g)
            md.append(d)
    return np.asarray(mg, np.int64), np.asarray(md, np.int64)


def _max_matching(gi: np.ndarray, dj: np.ndarray, iou: np.ndarray, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-cardinality matching per image; among maximum matchings, the largest IoU sum."""
    mg, md = [], []
    bounds = np.flatnonzero(np.diff(image)) + 1
    for sel in np.split(np.arange(gi.size), bounds):
        if sel.size == 0:
            continue
        rows, r_inv = np.unique(gi[sel], return_inverse=True)
        cols, c_inv = np.unique(dj[sel], return_inverse=True)
        k = min(rows.size, cols.size)
        # Weight 1 per match plus an IoU tie-break that sums to < 1, so cardinality always wins.
        w = np.zeros((rows.size, cols.size))
        w[r_inv, c_inv] = 1.0 + iou[sel] / (k + 1)
        r, c = linear_sum_assignment(w, maximize=True)
        ok = w[r, c] > 0
        mg.append(rows[r[ok]])
        md.append(cols[c[ok]])
    if not mg:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(mg), np.concatenate(md)


def match_icdar15(geo: Icdar15Geometry, keep_det: np.ndarray, iou_threshold: float = 0.5,
                  matching: str = "greedy") -> tuple[np.ndarray, np.ndarray]:
    """Matched (gt, det) global index pairs among kept detections, by the greedy or max rule."""
    if matching not in MATCHINGS:
        raise ValueError(f"unknown matching {matching!r}; valid: {', '.join(MATCHINGS)}")
    p = geo.packed
    elig = (geo.iou > iou_threshold) & ~p.gt_ignore[geo.gi] & ~geo.det_dc[geo.dj] & keep_det[geo.dj]
    gi, dj = geo.gi[elig], geo.dj[elig]
    if matching == "greedy":
        return _greedy(gi, dj, len(p.gt), len(p.det))
    return _max_matching(gi, dj, geo.iou[elig], p.gt.image[gi])


def _split_by_image(values: np.ndarray, image: np.ndarray, num_images: int) -> list[np.ndarray]:
    """Split ``values`` (ordered by image) into one array per image."""
    return np.split(values, np.cumsum(np.bincount(image, minlength=num_images))[:-1])


def assemble_icdar15(geo: Icdar15Geometry, keep_det: np.ndarray, mg: np.ndarray, md: np.ndarray,
                     credit: np.ndarray | None, protocol: str, params: dict) -> DetResult:
    """Per-image and pooled results from matched pairs; ``credit`` (bool per pair) marks the pairs that
    count (end-to-end: transcription correct), None = all."""
    p = geo.packed
    n_img = len(p.image_ids)
    counted = np.ones(mg.size, bool) if credit is None else credit
    matches = np.bincount(p.gt.image[mg[counted]], minlength=n_img)
    gt_care = np.bincount(p.gt.image[~p.gt_ignore], minlength=n_img)
    det_kept_dc = keep_det & geo.det_dc
    det_care = np.bincount(p.det.image[keep_det & ~geo.det_dc], minlength=n_img)
    order = np.argsort(mg, kind="stable")
    pair_g = _split_by_image(mg[order], p.gt.image[mg[order]], n_img)
    pair_d = _split_by_image(md[order], p.gt.image[mg[order]], n_img)
    gt_dc = _split_by_image(np.flatnonzero(p.gt_ignore), p.gt.image[p.gt_ignore], n_img)
    det_dc = _split_by_image(np.flatnonzero(det_kept_dc), p.det.image[det_kept_dc], n_img)
    per_image: dict[ImageId, ImageResult] = {}
    for k, image_id in enumerate(p.image_ids):
        m, ng, nd = int(matches[k]), int(gt_care[k]), int(det_care[k])
        if ng == 0:  # the official per-image rule for an image with nothing to find
            rec, prec = 1.0, (0.0 if nd > 0 else 1.0)
        else:
            rec, prec = m / ng, safe_div(m, nd)
        g0, d0 = p.gt_start[k], p.det_start[k]
        per_image[image_id] = ImageResult(
            num_gt=int(p.gt_count[k]), num_det=int(keep_det[d0:d0 + p.det_count[k]].sum()),
            num_gt_care=ng, num_det_care=nd, recall_num=m, recall_den=ng, precision_num=m, precision_den=nd,
            precision=prec, recall=rec, hmean=hmean_of(prec, rec),
            pairs=[(int(g - g0), int(d - d0)) for g, d in zip(pair_g[k], pair_d[k])],
            gt_dont_care=[int(g - g0) for g in gt_dc[k]], det_dont_care=[int(d - d0) for d in det_dc[k]],
        )
    return pooled_result(protocol, per_image, params)


def evaluate_icdar15(gts: dict[ImageId, list[GtPoly]], preds: dict[ImageId, list[DetPoly]], *,
                     iou_threshold: float = 0.5, dc_threshold: float = 0.5,
                     score_threshold: float | Sequence[float] | None = None,
                     matching: str = "greedy") -> DetResult:
    """ICDAR 2015 precision / recall / hmean of ``preds`` against ``gts`` (see the module docstring).

    score_threshold: None keeps every detection; a number drops detections scoring below it; a
        sequence evaluates each value and returns the result with the best hmean (earliest on ties),
        recording the chosen value in ``params["score_threshold"]`` and every value's
        precision / recall / hmean in ``params["sweep"]``.
    matching: "greedy" (official) or "max" (maximum bipartite matching, non-default).
    """
    geo = prepare_icdar15(gts, preds, dc_threshold)
    base = {"iou_threshold": iou_threshold, "dc_threshold": dc_threshold, "matching": matching}
    scores = geo.packed.det_score
    if score_threshold is None or np.isscalar(score_threshold):
        keep = np.ones(scores.size, bool) if score_threshold is None else scores >= float(score_threshold)
        mg, md = match_icdar15(geo, keep, iou_threshold, matching)
        return assemble_icdar15(geo, keep, mg, md, None, "icdar15", {**base, "score_threshold": score_threshold})
    best: DetResult | None = None
    sweep = []
    for t in score_threshold:
        keep = scores >= float(t)
        mg, md = match_icdar15(geo, keep, iou_threshold, matching)
        res = assemble_icdar15(geo, keep, mg, md, None, "icdar15", {**base, "score_threshold": float(t)})
        sweep.append({"score_threshold": float(t), "precision": res.precision, "recall": res.recall,
                      "hmean": res.hmean})
        if best is None or res.hmean > best.hmean:
            best = res
    if best is None:
        raise ValueError("score_threshold: empty sequence of thresholds")
    best.params["sweep"] = sweep
    return best
