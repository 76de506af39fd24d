"""Vectorised polygon geometry shared by every detection protocol (shapely 2, numpy).

All polygons of one side (ground truth or detections) over all images are packed into one
``PolygonSet``; ``overlaps`` finds every (gt, det) pair of the same image whose bounding boxes
overlap (dense box matrices, an STRtree for huge images) and computes their intersection areas:
numpy convex clipping when one polygon of the pair is convex (``clip``, the usual quadrilateral
case, ~6x faster than GEOS), else one vectorised shapely call.

How polygons are measured, and why (the official scripts' libraries behave this way):

* **Area** of a polygon is the absolute shoelace sum of its ring as given, for any vertex count and
  either orientation. This is what Polygon3 (``Polygon.area()``, used by the ICDAR/RRC scripts)
  and shapely's ``.area`` of an unrepaired polygon (used by Total-Text's ``polygon_fast.py``) report.
  For a self-intersecting ring the lobes of opposite orientation cancel (a symmetric bow-tie has
  area 0), exactly as in those libraries.
* **Intersections** are taken between repaired polygons; only invalid (self-intersecting,
  degenerate) ones are repaired, by one of two documented rules:

  - ``"make_valid"`` (ICDAR protocols): ``shapely.make_valid`` (GEOS "linework"), which keeps every
    lobe with the even-odd rule: the same region the General Polygon Clipper inside Polygon3 clips
    against (checked: bow-tie & its bounding square = both lobes, area 2 for a 2x2 square).
  - ``"buffer0"`` (Total-Text protocols): ``buffer(0)``, what ``polygon_fast.py`` applies before
    intersecting; on a bow-tie GEOS keeps only one lobe, as the official script then does.

  A polygon whose repair leaves no area (all vertices collinear) intersects nothing.
Nothing here raises on a bad ring: degenerate input yields zero areas, never an exception.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.errors import GEOSException

from .clip import convex_clip_areas, convex_flags

REPAIRS = ("make_valid", "buffer0")
# Above this many (gt, det) box pairs in one image, candidate search switches from a dense
# bounding-box matrix to an STRtree so memory stays bounded.
_DENSE_PAIR_LIMIT = 4_000_000


@dataclass
class PolygonSet:
    """Polygons of one side over all images, concatenated in image order.

    image: (n,) int, the image each polygon belongs to (non-decreasing).
    geoms: (n,) shapely geometries, repaired where invalid (see the module docstring).
    areas: (n,) float64, |shoelace| area of the ring as given.
    bounds: (n, 4) float64, xmin, ymin, xmax, ymax of the vertices.
    coords: (N, 2) all vertices; ring i is coords[offsets[i]:offsets[i + 1]].
    valid: (n,) the ring as given is a valid (simple) polygon; convex: (n,) it is also convex.
    """

    image: np.ndarray
    geoms: np.ndarray
    areas: np.ndarray
    bounds: np.ndarray
    coords: np.ndarray
    offsets: np.ndarray
    valid: np.ndarray
    convex: np.ndarray

    def __len__(self) -> int:
        return int(self.image.shape[0])


def shoelace_areas(coords: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Absolute shoelace areas of rings packed in ``coords`` (N, 2), ring i having counts[i] vertices."""
    if len(counts) == 0:
        return np.zeros(0)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    nxt = np.arange(1, coords.shape[0] + 1)
    nxt[starts + counts - 1] = starts  # the last vertex of each ring wraps to its first
    x, y = coords[:, 0], coords[:, 1]
    cross = x * y[nxt] - x[nxt] * y
    return np.abs(np.add.reduceat(cross, starts)) / 2.0


def build_polygon_set(points: list[np.ndarray], image: np.ndarray, repair: str = "make_valid") -> PolygonSet:
    """Pack (k_i, 2) vertex arrays (already validated, k_i >= 3) into a ``PolygonSet``."""
    if repair not in REPAIRS:
        raise ValueError(f"unknown repair {repair!r}; valid: {', '.join(REPAIRS)}")
    n = len(points)
    if n == 0:
        return PolygonSet(np.zeros(0, np.int64), np.empty(0, object), np.zeros(0), np.zeros((0, 4)),
                          np.zeros((0, 2)), np.zeros(1, np.int64), np.zeros(0, bool), np.zeros(0, bool))
    counts = np.fromiter((p.shape[0] for p in points), np.int64, n)
    coords = np.concatenate(points, axis=0)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    bounds = np.stack([
        np.minimum.reduceat(coords[:, 0], starts), np.minimum.reduceat(coords[:, 1], starts),
        np.maximum.reduceat(coords[:, 0], starts), np.maximum.reduceat(coords[:, 1], starts),
    ], axis=1)
    rings = shapely.linearrings(coords, indices=np.repeat(np.arange(n), counts))
    geoms = shapely.polygons(rings)
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        fixed = shapely.make_valid(geoms[bad]) if repair == "make_valid" else shapely.buffer(geoms[bad], 0)
        geoms[bad] = fixed
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    valid = ~bad
    return PolygonSet(np.asarray(image, np.int64), geoms, shoelace_areas(coords, counts), bounds,
                      coords, offsets, valid, valid & convex_flags(coords, counts))


def _group_slices(image: np.ndarray, num_images: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and count of each image's block in a non-decreasing image index array."""
    counts = np.bincount(image, minlength=num_images)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return starts, counts


def _boxes_overlap(gb: np.ndarray, db: np.ndarray) -> np.ndarray:
    """Elementwise strict overlap of box rows (touching boxes cannot share area)."""
    return (gb[:, 0] < db[:, 2]) & (db[:, 0] < gb[:, 2]) & (gb[:, 1] < db[:, 3]) & (db[:, 1] < gb[:, 3])


def _dense_candidates(gs: PolygonSet, ds: PolygonSet, imgs: np.ndarray, g0: np.ndarray, gn: np.ndarray,
                      d0: np.ndarray, dn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All same-image pairs of the given images, enumerated without a Python loop, then box-filtered."""
    sizes = gn[imgs] * dn[imgs]
    owner = np.repeat(imgs, sizes)  # image of each pair
    local = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    gi = g0[owner] + local // dn[owner]
    dj = d0[owner] + local % dn[owner]
    keep = _boxes_overlap(gs.bounds[gi], ds.bounds[dj])
    return gi[keep], dj[keep]


def _tree_candidates(gs: PolygonSet, ds: PolygonSet, g0: int, gn: int, d0: int,
                     dn: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of one very large image via an STRtree over the detection boxes."""
    tree = shapely.STRtree(shapely.box(*ds.bounds[d0:d0 + dn].T))
    qi, tj = tree.query(shapely.box(*gs.bounds[g0:g0 + gn].T))
    gi, dj = qi + g0, tj + d0
    keep = _boxes_overlap(gs.bounds[gi], ds.bounds[dj])
    return gi[keep], dj[keep]


def overlaps(gs: PolygonSet, ds: PolygonSet, num_images: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every same-image (gt, det) pair with overlapping boxes and its intersection area.

    Returns gi, dj (global indices into ``gs`` / ``ds``, sorted by gi then dj) and inter (float64).
    Pairs whose polygons do not actually overlap are kept with inter = 0.
    """
    g0, gn = _group_slices(gs.image, num_images)
    d0, dn = _group_slices(ds.image, num_images)
    sizes = gn * dn
    gis, djs = [], []
    big = np.flatnonzero(sizes > _DENSE_PAIR_LIMIT)
    small = np.flatnonzero((sizes > 0) & (sizes <= _DENSE_PAIR_LIMIT))
    # Batch the small images so one enumeration never holds more than a few million pairs.
    batch = np.cumsum(sizes[small]) // _DENSE_PAIR_LIMIT
    for b in np.unique(batch):
        gi, dj = _dense_candidates(gs, ds, small[batch == b], g0, gn, d0, dn)
        gis.append(gi)
        djs.append(dj)
    for i in big:
        gi, dj = _tree_candidates(gs, ds, g0[i], gn[i], d0[i], dn[i])
        gis.append(gi)
        djs.append(dj)
    if not gis:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    gi, dj = np.concatenate(gis), np.concatenate(djs)
    order = np.lexsort((dj, gi))
    gi, dj = gi[order], dj[order]
    return gi, dj, pair_areas(gs, ds, gi, dj)


def pair_areas(gs: PolygonSet, ds: PolygonSet, gi: np.ndarray, dj: np.ndarray) -> np.ndarray:
    """Intersection areas of pairs (gs[gi], ds[dj]): numpy convex clipping where one polygon is convex
    and both are valid (see ``clip``), GEOS for the rest."""
    out = np.zeros(gi.size)
    fast = gs.valid[gi] & ds.valid[dj] & (gs.convex[gi] | ds.convex[dj])
    g_verts = gs.offsets[gi + 1] - gs.offsets[gi]
    d_verts = ds.offsets[dj + 1] - ds.offsets[dj]
    # clip by the detection when it is convex and (the gt is not, or it has no more vertices)
    by_det = fast & ds.convex[dj] & (~gs.convex[gi] | (d_verts <= g_verts))
    by_gt = fast & ~by_det
    if by_det.any():
        out[by_det] = convex_clip_areas(gs.coords, gs.offsets, gi[by_det], ds.coords, ds.offsets, dj[by_det])
    if by_gt.any():
        out[by_gt] = convex_clip_areas(ds.coords, ds.offsets, dj[by_gt], gs.coords, gs.offsets, gi[by_gt])
    slow = ~fast
    out[slow] = intersection_areas(gs.geoms[gi[slow]], ds.geoms[dj[slow]])
    return out


def intersection_areas(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise intersection areas of two geometry arrays; never raises.

    GEOS can still throw a TopologyException on nearly-degenerate input; such a pair is retried
    with snap-rounding on a 1e-9 grid, and counts as 0 if even that fails.
    """
    if a.size == 0:
        return np.zeros(0)
    try:
        return np.asarray(shapely.area(shapely.intersection(a, b)), np.float64)
    except GEOSException:
        out = np.zeros(a.size)
        for i, (ga, gb) in enumerate(zip(a, b)):
            try:
                out[i] = shapely.area(shapely.intersection(ga, gb))
            except GEOSException:
                try:
                    out[i] = shapely.area(shapely.intersection(ga, gb, grid_size=1e-9))
                except GEOSException:
                    out[i] = 0.0
        return out


@dataclass
class PackedSets:
    """Ground truths and detections of a whole evaluation, packed for vectorised geometry.

    image_ids: the ground-truth image ids, in the order given; image k is index k below.
    gt / det: the polygon sets; gt_start / gt_count (det_start / det_count): each image's block.
    gt_ignore: (n_gt,) bool don't care; det_score: (n_det,) float64; gt_text / det_text: transcriptions.
    """

    image_ids: list
    gt: PolygonSet
    det: PolygonSet
    gt_ignore: np.ndarray
    det_score: np.ndarray
    gt_text: list[str]
    det_text: list[str]
    gt_start: np.ndarray
    gt_count: np.ndarray
    det_start: np.ndarray
    det_count: np.ndarray


def pack_sets(gts: dict, preds: dict, repair: str) -> PackedSets:
    """Pack ``{image_id: [GtPoly]}`` and ``{image_id: [DetPoly]}``; a prediction id missing from the
    ground truth raises ValueError naming it."""
    unknown = [k for k in preds if k not in gts]
    if unknown:
        shown = ", ".join(repr(k) for k in unknown[:5])
        raise ValueError(f"{len(unknown)} prediction image id(s) not in the ground truth: {shown}")
    ids = list(gts)
    g_lists = [gts[k] for k in ids]
    d_lists = [preds.get(k, ()) for k in ids]
    g_count = np.fromiter((len(v) for v in g_lists), np.int64, len(ids))
    d_count = np.fromiter((len(v) for v in d_lists), np.int64, len(ids))
    g_flat = [g for v in g_lists for g in v]
    d_flat = [d for v in d_lists for d in v]
    img = np.arange(len(ids))
    return PackedSets(
        image_ids=ids,
        gt=build_polygon_set([g.points for g in g_flat], np.repeat(img, g_count), repair),
        det=build_polygon_set([d.points for d in d_flat], np.repeat(img, d_count), repair),
        gt_ignore=np.fromiter((g.ignore for g in g_flat), bool, len(g_flat)),
        det_score=np.fromiter((d.score for d in d_flat), np.float64, len(d_flat)),
        gt_text=[g.text for g in g_flat],
        det_text=[d.text for d in d_flat],
        gt_start=np.concatenate([[0], np.cumsum(g_count)[:-1]]).astype(np.int64) if len(ids) else g_count,
        gt_count=g_count,
        det_start=np.concatenate([[0], np.cumsum(d_count)[:-1]]).astype(np.int64) if len(ids) else d_count,
        det_count=d_count,
    )
