"""Ensemble fusion of polygon sets (numpy / shapely / cv2 / pyclipper; no torch).

An image has ``S`` polygon sets, one per *source*: a model under one test-time view (``S = K x T``).
Fusion turns them into one set of instances, each with how many sources agree on it:

1. **Cluster by IoU.** All detections are visited best score first; an unassigned one seeds a
   cluster, which then takes, from every *other* source, that source's unassigned detection of
   highest IoU with the seed if that IoU is >= ``iou_threshold``. A cluster therefore holds at most one
   detection per source, so its size is a vote count.
2. **Count votes.** ``votes`` = distinct sources in the cluster; ``agreement = votes / S``.
3. **Fuse the members weighted by score** (``outline="mean"``, the default; ``outline="best"`` keeps the
   best-scoring member's polygon instead, for ensembles whose members differ in quality). One member:
   its polygon. Members with the same vertex count (quadrilaterals, or a model agreeing with itself):
   each ring is aligned to the best-scoring
   one (same orientation, cyclic shift of least squared distance) and the vertices averaged with the
   scores as weights, kept when the result is a simple polygon overlapping the best member. Otherwise
   the **signed distance fields** of the members (negative inside) are averaged with the scores as
   weights on a local raster and the fused outline is the zero level set: for two members it runs
   midway between their outlines, for identical members it is their outline (to raster precision).
4. The instance's ``score`` is the members' mean score and its ``quality`` the mean score over *all*
   sources, an absent source counting 0: ``quality = score * agreement``. ``weights`` turns it into
   a loss weight.

Polygons are (N, 2) float arrays of (x, y) in original-image pixels (pixel centres at integers, the
``cv2.fillPoly`` convention of ``models.detection.db_targets``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import cv2
import numpy as np
import shapely

from stages.dataset.transforms.geometry import fill_polygons

RASTER = 4.0  # raster cells per pixel for distance-field fusion (outline error <= 1/8 px)
RASTER_MAX_SIDE = 512  # ... but at most this many cells along the cluster's longer side
_PAD = 2  # pixels of margin around a cluster's box on the raster


@dataclass
class Detection:
    """One polygon from one source: (N, 2) float64 vertices and the detector's score in [0, 1]."""

    polygon: np.ndarray
    score: float

    def __post_init__(self) -> None:
        self.polygon = np.asarray(self.polygon, np.float64).reshape(-1, 2)
        self.score = float(self.score)


@dataclass
class FusedInstance:
    """One fused text instance.

    polygon: (N, 2) float64; score: mean score of the members; votes: distinct sources in the cluster;
    num_sources: S, the sources fused; members: (source, index into that source's list) per member.
    """

    polygon: np.ndarray
    score: float
    votes: int
    num_sources: int
    members: list[tuple[int, int]] = field(default_factory=list)

    @property
    def agreement(self) -> float:
        """Share of the sources that voted for this instance, in (0, 1]."""
        return self.votes / self.num_sources

    @property
    def quality(self) -> float:
        """Mean score over all sources, an absent source scoring 0 (= score x agreement)."""
        return self.score * self.agreement


def fuse(sources: Sequence[Sequence[Detection]], iou_threshold: float = 0.5,
         outline: str = "mean") -> list[FusedInstance]:
    """Fuse the polygon sets of one image (one list per source); best quality first. ``outline``: "mean"
    fuses the members' outlines weighted by score, "best" keeps the best-scoring member's (the seed)."""
    flat = [(s, i, det) for s, dets in enumerate(sources) for i, det in enumerate(dets)]
    if not flat:
        return []
    polys = [det.polygon for _, _, det in flat]
    scores = np.array([det.score for _, _, det in flat])
    source = np.array([s for s, _, _ in flat])
    clusters = cluster(polys, scores, source, iou_threshold)
    out = []
    for members in clusters:
        member_scores = scores[members]
        polygon = (polys[members[0]] if outline == "best"  # the seed: the cluster's best score
                   else fuse_polygons([polys[m] for m in members], member_scores))
        polygon = clean_ring(polygon) if polygon is not None else None
        if polygon is None:
            continue
        out.append(FusedInstance(polygon, float(member_scores.mean()), len(members), len(sources),
                                 [(flat[m][0], flat[m][1]) for m in members]))
    out.sort(key=lambda inst: (-inst.quality, -inst.votes))
    return out


def clean_ring(poly: np.ndarray, decimals: int = 2) -> np.ndarray | None:
    """The ring rounded to ``decimals``, repeated consecutive vertices removed (post-processing clips
    polygons to the frame, which stacks vertices on its border); None when < 3 vertices or no area."""
    pts = np.round(np.asarray(poly, np.float64).reshape(-1, 2), decimals)
    keep = np.any(pts != np.roll(pts, 1, axis=0), axis=1)
    pts = pts[keep] if keep.any() else pts[:1]
    if len(pts) < 3:
        return None
    x, y = pts[:, 0], pts[:, 1]
    if float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) == 0.0:
        return None
    return pts


def cluster(polys: Sequence[np.ndarray], scores: np.ndarray, source: np.ndarray,
            iou_threshold: float) -> list[list[int]]:
    """Greedy clusters (lists of detection indices, seed first) holding at most one detection per source."""
    iou = iou_matrix(polys, polys)
    assigned = np.zeros(len(polys), bool)
    clusters = []
    for seed in np.argsort(-scores, kind="stable"):
        if assigned[seed]:
            continue
        assigned[seed] = True
        members = [int(seed)]
        candidate = (~assigned) & (source != source[seed]) & (iou[seed] >= iou_threshold)
        for s in np.unique(source[candidate]):
            pick = np.flatnonzero(candidate & (source == s))
            best = int(pick[np.argmax(iou[seed, pick])])
            members.append(best)
            assigned[best] = True
        clusters.append(members)
    return clusters


def iou_matrix(polys_a: Sequence[np.ndarray], polys_b: Sequence[np.ndarray]) -> np.ndarray:
    """(len(a), len(b)) IoU of every pair; invalid rings are repaired (``make_valid``), degenerate ones
    have IoU 0 with everything."""
    out = np.zeros((len(polys_a), len(polys_b)))
    if not len(polys_a) or not len(polys_b):
        return out
    ga, gb = _geoms(polys_a), _geoms(polys_b)
    ba, bb = shapely.bounds(ga), shapely.bounds(gb)  # (n, 4) xmin, ymin, xmax, ymax
    overlap = ((ba[:, None, 0] <= bb[None, :, 2]) & (bb[None, :, 0] <= ba[:, None, 2])
               & (ba[:, None, 1] <= bb[None, :, 3]) & (bb[None, :, 1] <= ba[:, None, 3]))
    i, j = np.nonzero(overlap)
    if i.size == 0:
        return out
    inter = shapely.area(shapely.intersection(ga[i], gb[j]))
    union = shapely.area(ga)[i] + shapely.area(gb)[j] - inter
    out[i, j] = np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
    return out


def _geoms(polys: Sequence[np.ndarray]) -> np.ndarray:
    geoms = np.empty(len(polys), dtype=object)
    geoms[:] = [shapely.Polygon(np.asarray(p, np.float64).reshape(-1, 2)) for p in polys]
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    return geoms


def fuse_polygons(polys: Sequence[np.ndarray], scores: np.ndarray) -> np.ndarray | None:
    """The score-weighted fusion of a cluster's polygons (see the module docstring); None if nothing is left."""
    polys = [np.asarray(p, np.float64).reshape(-1, 2) for p in polys]
    weights = np.maximum(np.asarray(scores, np.float64), 1e-6)
    if len(polys) == 1:
        return polys[0].copy()
    best = int(np.argmax(weights))
    if len({len(p) for p in polys}) == 1:
        averaged = _average_vertices(polys, weights, best)
        if averaged is not None:
            return averaged
    return _average_distance_fields(polys, weights)


def _average_vertices(polys: list[np.ndarray], weights: np.ndarray, ref: int) -> np.ndarray | None:
    """Weighted vertex mean after aligning every ring to ``polys[ref]``; None if it is not a simple
    polygon overlapping the reference by half."""
    target = _clockwise(polys[ref])
    aligned = [_align(_clockwise(p), target) for p in polys]
    mean = np.tensordot(weights / weights.sum(), np.stack(aligned), axes=1)  # (N, 2)
    geom = shapely.Polygon(mean)
    if not geom.is_valid or geom.area <= 0 or iou_matrix([mean], [target])[0, 0] < 0.5:
        return None
    return mean


def _clockwise(poly: np.ndarray) -> np.ndarray:
    """The ring in clockwise order on screen (y down): sum (x2 - x1)(y2 + y1) < 0."""
    nxt = np.roll(poly, -1, axis=0)
    return poly[::-1].copy() if float(np.sum((nxt[:, 0] - poly[:, 0]) * (nxt[:, 1] + poly[:, 1]))) > 0 else poly


def _align(poly: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``poly`` cyclically shifted so its vertices lie closest (squared distance) to ``target``'s."""
    costs = [float(np.sum((np.roll(poly, -k, axis=0) - target) ** 2)) for k in range(len(poly))]
    return np.roll(poly, -int(np.argmin(costs)), axis=0)


def _average_distance_fields(polys: list[np.ndarray], weights: np.ndarray) -> np.ndarray | None:
    """Zero level set of the weighted mean signed distance field (negative inside) of the polygons."""
    stacked = np.concatenate(polys)
    origin = np.floor(stacked.min(axis=0)) - _PAD  # (x, y) of raster cell (0, 0)
    extent = np.ceil(stacked.max(axis=0)) + _PAD - origin
    f = min(RASTER, RASTER_MAX_SIDE / float(extent.max()))  # raster cells per pixel
    w, h = int(np.ceil(extent[0] * f)) + 1, int(np.ceil(extent[1] * f)) + 1
    field_sum = np.zeros((h, w), np.float32)
    for poly, weight in zip(polys, weights):
        mask = np.zeros((h, w), np.uint8)
        fill_polygons(mask, [(poly - origin) * f], 1)
        field_sum += float(weight) * _signed_distance(mask)
    inside = (field_sum <= 0).astype(np.uint8)
    contours, _ = cv2.findContours(inside, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    contour = max(contours, key=cv2.contourArea)
    approx = cv2.approxPolyDP(contour, max(0.5, 0.25 * f), True).reshape(-1, 2).astype(np.float64)
    if len(approx) < 3:
        return None
    # fillPoly fills every cell whose centre is on or inside the outline, so the centres of the region's
    # edge cells lie on the outline: the contour needs no half-cell correction.
    return approx / f + origin


def _signed_distance(mask: np.ndarray) -> np.ndarray:
    """(H, W) float32 signed distance (cells) to the outline through the region's edge-cell centres:
    0 on the edge cells, negative deeper inside, positive outside."""
    outside = cv2.distanceTransform((mask == 0).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    inside = cv2.distanceTransform(mask, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return np.where(mask > 0, 1.0 - inside, outside).astype(np.float32)
