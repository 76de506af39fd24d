"""Total-Text detection protocols: DetEval and Pascal VOC, reproducing the official Python scripts
(``Evaluation_Protocol/Python_scripts/Deteval.py`` with ``polygon_fast.py``, and ``Pascal_VOC.py``).

Both start the same way, per image:

1. Detections covering a don't-care region are removed: inter / (det_area + area_eps) > 0.5 with any
   one ignored ground truth (Total-Text ``#``). The official helper ``iod`` adds 1 px² to the
   detection area (``area_eps=1.0``); pass 0 for the plain ratio.
2. Don't-care ground truths are then dropped; what remains counts (num_gt, num_det).

DetEval (Wolf & Jolion, thresholds tr=0.7, tp=0.6, k=2, fsc_k=0.8):
    sigma = inter / gt_area and tau = inter / det_area, each rounded to 2 decimals (numpy rounding).
    - one-to-one, every gt: exactly one det has sigma > tr, exactly one has tau > tp, and that
      sigma-det's column has exactly one sigma > tr and the tau-det's column exactly one tau > tp:
      credit 1 / 1, the sigma-det is flagged (the latest Deteval.py also checks the columns).
    - one-to-many (split), every unflagged gt with >= k non-zero sigmas: the unflagged dets with
      tau >= tp; if exactly one, credit 1 / 1 when its tau >= tp and sigma >= tr; otherwise, when
      their sigmas sum to >= tr, credit fsc_k to recall and n * fsc_k to precision.
    - many-to-one (merge), every unflagged det with >= k non-zero taus: the unflagged gts with
      sigma >= tp (tp, as the Python script has it); if exactly one, as above; otherwise, when their
      taus sum to >= tp, credit n * fsc_k to recall and fsc_k to precision.
    recall = sum(recall credit) / sum(num_gt), precision = sum(precision credit) / sum(num_det).

Pascal VOC (latest ``Pascal_VOC.py``): IoU = inter / (union + area_eps); every gt takes its best det
(first maximum) when that IoU >= 0.5 (tp += 1, the det is flagged); each further det with
IoU >= 0.5 for that gt counts as a false positive; unflagged dets are false positives too.
precision = tp / (tp + fp), recall = tp / num_gt.

Deviations, documented: the official scripts only visit images that have a prediction file, we
visit every ground-truth image (a missing file = no detections, as with an empty file); they crash
on a zero denominator, we return 0; they parse integer coordinates only, we take floats as given.
Self-intersecting polygons are repaired with ``buffer(0)`` as ``polygon_fast.py`` does (see
``polygons``); areas are |shoelace| as shapely reports for the unrepaired polygon.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .polygons import PackedSets, build_polygon_set, overlaps, pack_sets
from .types import DetPoly, DetResult, GtPoly, ImageId, ImageResult, as_points, hmean_of, pooled_result, safe_div

# An image's scorer: (sigma, tau, or the IoU table) -> recall_num, precision_num, precision_den, pairs
Scorer = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[float, float, float, list[tuple[int, int]]]]


def sigma_tau(gt_polys: list, det_polys: list, decimals: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Dense (n_gt, n_det) sigma = inter / gt_area and tau = inter / det_area for one image.

    Unrounded unless ``decimals`` is given (DetEval uses 2). Polygons: anything ``as_points`` takes.
    """
    g = build_polygon_set([as_points(p) for p in gt_polys], np.zeros(len(gt_polys), np.int64), "buffer0")
    d = build_polygon_set([as_points(p) for p in det_polys], np.zeros(len(det_polys), np.int64), "buffer0")
    gi, dj, inter = overlaps(g, d, 1)
    return _tables(gi, dj, inter, g.areas, d.areas, np.arange(len(g)), np.arange(len(d)), len(g), len(d), decimals)


def _tables(gi, dj, inter, g_area, d_area, g_row, d_col, n, m, decimals):
    """Scatter pair values into dense sigma / tau tables; rows / cols < 0 are skipped."""
    sigma, tau = np.zeros((n, m)), np.zeros((n, m))
    ok = (g_row[gi] >= 0) & (d_col[dj] >= 0)
    gi, dj, inter = gi[ok], dj[ok], inter[ok]
    ga, da = g_area[gi], d_area[dj]
    s = np.divide(inter, ga, out=np.zeros_like(inter), where=ga != 0)
    t = np.divide(inter, da, out=np.zeros_like(inter), where=da != 0)
    if decimals is not None:
        s, t = np.round(s, decimals), np.round(t, decimals)
    sigma[g_row[gi], d_col[dj]] = s
    tau[g_row[gi], d_col[dj]] = t
    return sigma, tau


def _deteval_scorer(tr: float, tp: float, k: int, fsc_k: float) -> Scorer:
    """The three DetEval passes over one image's rounded sigma / tau tables."""

    def score(sigma: np.ndarray, tau: np.ndarray, _iou: np.ndarray):
        n, m = sigma.shape
        gt_flag, det_flag = np.zeros(n, bool), np.zeros(m, bool)
        rec = prec = 0.0
        pairs: list[tuple[int, int]] = []
        if n == 0 or m == 0:
            return rec, prec, float(m), pairs
        # one-to-one: independent of the flags, so vectorised over all gts at once
        S, T = sigma > tr, tau > tp
        s_det, t_det = S.argmax(1), T.argmax(1)
        one = (S.sum(1) == 1) & (T.sum(1) == 1) & (S.sum(0)[s_det] == 1) & (T.sum(0)[t_det] == 1)
        for g in np.flatnonzero(one):
            rec += 1.0
            prec += 1.0
            gt_flag[g] = det_flag[s_det[g]] = True
            pairs.append((int(g), int(s_det[g])))
        # one-to-many (split): sequential, each match flags detections for the next gts
        for g in np.flatnonzero(~gt_flag & ((sigma > 0).sum(1) >= k)):
            q = np.flatnonzero((tau[g] >= tp) & ~det_flag)
            if q.size == 1:
                if tau[g, q[0]] >= tp and sigma[g, q[0]] >= tr:
                    rec += 1.0
                    prec += 1.0
                    gt_flag[g] = det_flag[q[0]] = True
                    pairs.append((int(g), int(q[0])))
            elif np.sum(sigma[g, q]) >= tr:
                gt_flag[g] = True
                det_flag[q] = True
                rec += fsc_k
                prec += q.size * fsc_k
                pairs.extend((int(g), int(d)) for d in q)
        # many-to-one (merge)
        for d in np.flatnonzero(~det_flag & ((tau > 0).sum(0) >= k)):
            q = np.flatnonzero((sigma[:, d] >= tp) & ~gt_flag)
            if q.size == 1:
                if tau[q[0], d] >= tp and sigma[q[0], d] >= tr:
                    rec += 1.0
                    prec += 1.0
                    gt_flag[q[0]] = det_flag[d] = True
                    pairs.append((int(q[0]), int(d)))
            elif np.sum(tau[q, d]) >= tp:
                det_flag[d] = True
                gt_flag[q] = True
                rec += q.size * fsc_k
                prec += fsc_k
                pairs.extend((int(g), int(d)) for g in q)
        return rec, prec, float(m), pairs

    return score


def _pascal_scorer(iou_threshold: float) -> Scorer:
    """Pascal_VOC.py's per-gt best-det rule over one image's IoU table."""

    def score(_sigma: np.ndarray, _tau: np.ndarray, iou: np.ndarray):
        n, m = iou.shape
        if n == 0 or m == 0:
            return 0.0, 0.0, float(m), []
        best = iou.argmax(1)
        hit = iou[np.arange(n), best] >= iou_threshold
        det_flag = np.zeros(m, bool)
        det_flag[best[hit]] = True
        extra = int(((iou >= iou_threshold).sum(1)[hit] - 1).sum())
        tp = float(hit.sum())
        fp = float(extra + (~det_flag).sum())
        return tp, tp, tp + fp, [(int(g), int(best[g])) for g in np.flatnonzero(hit)]

    return score


def _ranks(mask: np.ndarray, image: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Position of each selected element among the selected ones of its image; -1 where unselected."""
    out = np.full(mask.size, -1, np.int64)
    idx = np.flatnonzero(mask)
    # rank = running count of selected elements minus the count before the image's block
    csum = np.concatenate([[0], np.cumsum(mask)])
    out[idx] = csum[idx] - csum[start[image[idx]]]
    return out


def _evaluate_totaltext(gts, preds, protocol: str, scorer: Scorer, dc_threshold: float, area_eps: float,
                        params: dict) -> DetResult:
    """Shared driver: don't-care filtering, per-image tables, scorer, pooling."""
    p: PackedSets = pack_sets(gts, preds, "buffer0")
    gi, dj, inter = overlaps(p.gt, p.det, len(p.image_ids))
    iod = inter / (p.det.areas[dj] + area_eps) if area_eps else np.divide(
        inter, p.det.areas[dj], out=np.zeros_like(inter), where=p.det.areas[dj] != 0)
    removed = np.zeros(len(p.det), bool)
    removed[dj[p.gt_ignore[gi] & (iod > dc_threshold)]] = True
    g_row = _ranks(~p.gt_ignore, p.gt.image, p.gt_start)
    d_col = _ranks(~removed, p.det.image, p.det_start)
    union = p.gt.areas[gi] + p.det.areas[dj] - inter + area_eps
    iou_all = np.divide(inter, union, out=np.zeros_like(inter), where=union != 0)
    bounds = np.searchsorted(p.gt.image[gi], np.arange(len(p.image_ids) + 1))
    per_image: dict[ImageId, ImageResult] = {}
    for k, image_id in enumerate(p.image_ids):
        g0, gn, d0, dn = p.gt_start[k], p.gt_count[k], p.det_start[k], p.det_count[k]
        care_g = np.flatnonzero(~p.gt_ignore[g0:g0 + gn])
        kept_d = np.flatnonzero(~removed[d0:d0 + dn])
        s = slice(bounds[k], bounds[k + 1])
        sigma, tau = _tables(gi[s], dj[s], inter[s], p.gt.areas, p.det.areas, g_row, d_col,
                             care_g.size, kept_d.size, 2)
        iou = np.zeros((care_g.size, kept_d.size))
        ok = (g_row[gi[s]] >= 0) & (d_col[dj[s]] >= 0)
        iou[g_row[gi[s]][ok], d_col[dj[s]][ok]] = iou_all[s][ok]
        rec, prec, prec_den, pairs = scorer(sigma, tau, iou)
        r, pr = safe_div(rec, care_g.size), safe_div(prec, prec_den)
        per_image[image_id] = ImageResult(
            num_gt=int(gn), num_det=int(dn), num_gt_care=int(care_g.size), num_det_care=int(kept_d.size),
            recall_num=rec, recall_den=float(care_g.size), precision_num=prec, precision_den=prec_den,
            precision=pr, recall=r, hmean=hmean_of(pr, r),
            pairs=[(int(care_g[a]), int(kept_d[b])) for a, b in pairs],
            gt_dont_care=[int(i) for i in np.flatnonzero(p.gt_ignore[g0:g0 + gn])],
            det_dont_care=[int(i) for i in np.flatnonzero(removed[d0:d0 + dn])],
        )
    return pooled_result(protocol, per_image, {**params, "dc_threshold": dc_threshold, "area_eps": area_eps})


def evaluate_deteval(gts: dict[ImageId, list[GtPoly]], preds: dict[ImageId, list[DetPoly]], *,
                     tr: float = 0.7, tp: float = 0.6, k: int = 2, fsc_k: float = 0.8,
                     dc_threshold: float = 0.5, area_eps: float = 1.0) -> DetResult:
    """Total-Text DetEval precision / recall / hmean (see the module docstring)."""
    params = {"tr": tr, "tp": tp, "k": k, "fsc_k": fsc_k}
    return _evaluate_totaltext(gts, preds, "deteval", _deteval_scorer(tr, tp, k, fsc_k), dc_threshold, area_eps, params)


def evaluate_pascal(gts: dict[ImageId, list[GtPoly]], preds: dict[ImageId, list[DetPoly]], *,
                    iou_threshold: float = 0.5, dc_threshold: float = 0.5, area_eps: float = 1.0) -> DetResult:
    """Total-Text Pascal VOC precision / recall / hmean (see the module docstring)."""
    params = {"iou_threshold": iou_threshold}
    return _evaluate_totaltext(gts, preds, "pascal", _pascal_scorer(iou_threshold), dc_threshold, area_eps, params)
