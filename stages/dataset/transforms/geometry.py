"""Geometry shared by the transforms and the synthetic renderer: warps that move an image and its
polygons together.

Coordinate convention: polygons use pixel-CORNER coordinates (pixel (i, j) covers [i, i+1) x [j, j+1),
as COCO does). OpenCV's warps address pixel CENTRES at integer coordinates, so every 3x3 matrix here is
built in corner coordinates and converted with ``to_cv`` just before calling OpenCV; that keeps a
polygon and the pixels it outlines aligned to well under a pixel through any chain of warps.
"""
from __future__ import annotations

from typing import Callable, Sequence

import cv2
import numpy as np

# A displacement field: (xs, ys) float arrays that broadcast together -> (dx, dy) broadcasting to their
# common shape. Images call it with a row (1, w) and a column (h, 1), so a separable field costs
# O(w + h) transcendental calls instead of O(w * h); points call it with two (n,) arrays.
Field = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

_SHIFT = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
_UNSHIFT = np.array([[1.0, 0.0, -0.5], [0.0, 1.0, -0.5], [0.0, 0.0, 1.0]])


def to_cv(matrix: np.ndarray) -> np.ndarray:
    """Convert a 3x3 corner-coordinate transform to OpenCV's pixel-centre convention."""
    return _UNSHIFT @ matrix @ _SHIFT


def translation(tx: float, ty: float) -> np.ndarray:
    """3x3 translation matrix."""
    return np.array([[1.0, 0.0, tx], [0.0, 1.0, ty], [0.0, 0.0, 1.0]])


def rotation_about(angle_deg: float, cx: float, cy: float) -> np.ndarray:
    """3x3 rotation by ``angle_deg`` (counter-clockwise on screen, y pointing down) about (cx, cy)."""
    a = np.deg2rad(angle_deg)
    c, s = np.cos(a), np.sin(a)
    rot = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
    return translation(cx, cy) @ rot @ translation(-cx, -cy)


def apply_matrix(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Map (N, 2) points through a 3x3 (affine or projective) matrix; returns (N, 2) float64."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) == 0:
        return pts.copy()
    homo = np.hstack([pts, np.ones((len(pts), 1))]) @ matrix.T
    return homo[:, :2] / homo[:, 2:3]


def corners(width: float, height: float) -> np.ndarray:
    """The (4, 2) corners of a width x height image in corner coordinates, clockwise from top-left."""
    return np.array([[0.0, 0.0], [width, 0.0], [width, height], [0.0, height]])


def expand_to_fit(matrix: np.ndarray, width: int, height: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Shift ``matrix`` so the whole warped image lands on a canvas just large enough; returns the
    shifted matrix and the canvas (width, height)."""
    mapped = apply_matrix(corners(width, height), matrix)
    # the 1e-6 absorbs rounding (cos 90 deg is 6e-17, not 0) that would add a spurious pixel row.
    x0, y0 = np.floor(mapped.min(axis=0) + 1e-6)
    x1, y1 = np.ceil(mapped.max(axis=0) - 1e-6)
    return translation(-x0, -y0) @ matrix, (int(x1 - x0), int(y1 - y0))


def warp_matrix(image: np.ndarray, matrix: np.ndarray, size: tuple[int, int], fill=0,
                interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Warp an image through a corner-coordinate 3x3 matrix onto a canvas of ``size`` = (w, h);
    uncovered pixels get the constant ``fill`` (a number or a colour tuple)."""
    cv_m = to_cv(matrix)
    border = cv2.BORDER_CONSTANT
    fill = _fill_value(fill, image)
    if abs(cv_m[2, 0]) < 1e-12 and abs(cv_m[2, 1]) < 1e-12 and abs(cv_m[2, 2] - 1.0) < 1e-12:
        return cv2.warpAffine(image, cv_m[:2], size, flags=interpolation, borderMode=border, borderValue=fill)
    return cv2.warpPerspective(image, cv_m, size, flags=interpolation, borderMode=border, borderValue=fill)


def remap_field(image: np.ndarray, field: Field, size: tuple[int, int], offset: tuple[float, float] = (0.0, 0.0),
                fill=0) -> np.ndarray:
    """Warp an image with a displacement field given as a backward map.

    Output pixel p (corner coordinates of its centre) samples the input at ``q + field(q)`` where
    ``q = p - offset``; ``offset`` places the result on a larger canvas of ``size`` = (w, h).
    """
    w, h = size
    xs = (np.arange(w, dtype=np.float32) + np.float32(0.5 - offset[0]))[None, :]  # (1, w)
    ys = (np.arange(h, dtype=np.float32) + np.float32(0.5 - offset[1]))[:, None]  # (h, 1)
    dx, dy = field(xs, ys)
    # back to OpenCV's centre convention: subtract half a pixel.
    half = np.float32(0.5)
    map_x = np.broadcast_to(xs + dx - half, (h, w)).astype(np.float32)
    map_y = np.broadcast_to(ys + dy - half, (h, w)).astype(np.float32)
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                     borderValue=_fill_value(fill, image))


def forward_points(points: np.ndarray, field: Field, offset: tuple[float, float] = (0.0, 0.0),
                   iterations: int = 50, tolerance: float = 1e-4) -> np.ndarray:
    """Where source points land under ``remap_field(.., field, .., offset)``.

    The image warp is a backward map s = q + field(q); a source point s moves to the q solving it,
    found by the fixed-point iteration q <- s - field(q), which converges because every field used here
    has a displacement gradient well below 1 (checked by the callers)."""
    src = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    q = src.copy()
    for _ in range(iterations):
        dx, dy = field(q[:, 0], q[:, 1])
        new = src - np.stack([dx, dy], axis=1)
        done = len(q) == 0 or float(np.abs(new - q).max()) < tolerance
        q = new
        if done:
            break
    return q + np.asarray(offset)


def densify(polygon: np.ndarray, step: float) -> np.ndarray:
    """Insert points along a polygon's edges so no piece is longer than ``step`` px.

    A polygon with an even vertex count is read as 2N points, top side then bottom side (Total-Text /
    CTW1500 order): every edge of each side is split into the same number of pieces and the two closing
    edges are left alone, so the result is again top side then bottom side with equal counts.
    Odd polygons get every edge split on its own. Original vertices are kept."""
    poly = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    n = len(poly)
    if n < 3:
        return poly.copy()
    if n % 2 == 0:
        half = n // 2
        side_edges = [(i, i + 1) for i in range(half - 1)] + [(i, i + 1) for i in range(half, n - 1)]
        longest = max(np.linalg.norm(poly[b] - poly[a]) for a, b in side_edges) if side_edges else 0.0
        pieces = max(1, int(np.ceil(longest / step)))
        top = _split_polyline(poly[:half], pieces)
        bottom = _split_polyline(poly[half:], pieces)
        return np.vstack([top, bottom])
    out = []
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        pieces = max(1, int(np.ceil(np.linalg.norm(b - a) / step)))
        t = np.arange(pieces)[:, None] / pieces
        out.append(a + t * (b - a))
    return np.vstack(out)


def _split_polyline(line: np.ndarray, pieces: int) -> np.ndarray:
    """Split every segment of an open polyline into ``pieces`` equal parts (keeps the end points)."""
    out = [line[:1]]
    t = (np.arange(1, pieces + 1) / pieces)[:, None]
    for a, b in zip(line[:-1], line[1:]):
        out.append(a + t * (b - a))
    return np.vstack(out)


def polygon_area(polygon: np.ndarray) -> float:
    """Absolute area of a simple polygon (shoelace formula)."""
    p = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    if len(p) < 3:
        return 0.0
    x, y = p[:, 0], p[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


_FILL_SHIFT = 4  # cv2.fillPoly fixed-point bits


def fill_polygons(image: np.ndarray, polys: Sequence[np.ndarray], value: float) -> None:
    """Fill float (N, 2) polygons into ``image`` in place, with 1/16-pixel vertex precision."""
    fixed = [np.round(np.asarray(p) * (1 << _FILL_SHIFT)).astype(np.int32).reshape(-1, 1, 2) for p in polys]
    cv2.fillPoly(image, fixed, value, lineType=cv2.LINE_8, shift=_FILL_SHIFT)


def rasterize(polygons: list[np.ndarray], size: tuple[int, int]) -> np.ndarray:
    """A uint8 (h, w) mask, 255 at every pixel whose centre lies inside a polygon (even-odd rule).

    Exact, unlike cv2.fillPoly, which also fills pixels the boundary merely touches (a 1 px bias that
    would hide polygon errors in the tests); cost is O(pixels in the polygon's box x edges)."""
    w, h = size
    mask = np.zeros((h, w), dtype=np.uint8)
    for poly in polygons:
        poly = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
        if len(poly) < 3:
            continue
        x0, y0 = np.maximum(np.floor(poly.min(axis=0)).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(poly.max(axis=0)).astype(int), (w, h))
        if x1 <= x0 or y1 <= y0:
            continue
        px, py = np.meshgrid(np.arange(x0, x1) + 0.5, np.arange(y0, y1) + 0.5)
        inside = np.zeros(px.shape, dtype=bool)
        for (ax, ay), (bx, by) in zip(poly, np.roll(poly, -1, axis=0)):
            if ay == by:
                continue
            crosses = (ay > py) != (by > py)
            x_at = ax + (py - ay) * (bx - ax) / (by - ay)
            inside ^= crosses & (px < x_at)
        mask[y0:y1, x0:x1][inside] = 255
    return mask


def _fill_value(fill, image: np.ndarray):
    """OpenCV wants a 4-tuple border value; a scalar fills every channel."""
    if fill is None:
        fill = 0
    if np.isscalar(fill):
        return (float(fill),) * 4
    values = [float(v) for v in fill]
    return tuple(values + [0.0] * (4 - len(values)))


def clip_to_frame(polygons: list[np.ndarray], ignore: list[bool], width: int, height: int,
                  cut: str = "ignore") -> tuple[list[np.ndarray], list[bool]]:
    """Make every polygon fit a width x height frame, keeping list length and order.

    Inside: unchanged. Partly outside: clipped to the frame (its largest piece) and, when ``cut`` is
    "ignore", marked ignore (a cut word is no longer a whole word); with "keep" its flag is kept.
    Entirely outside (or under 1 px^2 left): an empty (0, 2) polygon marked ignore, which callers drop.
    """
    if cut not in ("ignore", "keep"):
        raise ValueError(f"cut must be 'ignore' or 'keep', got {cut!r}")
    out_polys, out_ignore = [], []
    for poly, ign in zip(polygons, ignore):
        poly = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
        if len(poly) < 3:
            out_polys.append(np.zeros((0, 2)))
            out_ignore.append(True)
            continue
        lo, hi = poly.min(axis=0), poly.max(axis=0)
        if lo[0] >= -1e-6 and lo[1] >= -1e-6 and hi[0] <= width + 1e-6 and hi[1] <= height + 1e-6:
            out_polys.append(poly)
            out_ignore.append(ign)
            continue
        clipped = _clip_polygon(poly, width, height)
        if clipped is None:
            out_polys.append(np.zeros((0, 2)))
            out_ignore.append(True)
        else:
            out_polys.append(clipped)
            out_ignore.append(True if cut == "ignore" else ign)
    return out_polys, out_ignore


def _clip_polygon(poly: np.ndarray, width: int, height: int) -> np.ndarray | None:
    """The largest piece of ``poly`` inside the frame, or None when less than 1 px^2 is left."""
    from shapely.geometry import Polygon, box

    shape = Polygon(poly)
    if not shape.is_valid:
        shape = shape.buffer(0)
    piece = shape.intersection(box(0, 0, width, height))
    if piece.is_empty or piece.area < 1.0:
        return None
    if piece.geom_type != "Polygon":
        parts = [g for g in getattr(piece, "geoms", []) if g.geom_type == "Polygon"]
        if not parts:
            return None
        piece = max(parts, key=lambda g: g.area)
    return np.asarray(piece.exterior.coords, dtype=np.float64)[:-1]
