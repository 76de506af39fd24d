"""Cut word images out of scene images: perspective warp for quads, strip-wise rectification for curved text.

Conventions (image pixels, y down):
- a quad is reordered to top-left, top-right, bottom-right, bottom-left, its top edge being one of the two
  long edges (the reading direction of a word), pointing rightwards, so a rotated word comes out horizontal;
- a curved polygon has an even number (>= 6) of vertices: the first half runs along the top side from left
  to right, the second half back along the bottom side from right to left (Total-Text / CTW1500 layout);
- anything else (3 or 5 points, odd counts) is cropped through its minimum-area rotated rectangle.
"""
from __future__ import annotations

import cv2
import numpy as np

Point = tuple[float, float]

# When the two edge pairs of a quad differ by less than this ratio the box is "square-ish" (a single
# character): the edge closest to horizontal is taken as the top rather than the longer one.
_SQUARE_RATIO = 1.15
_MIN_SIDE = 2  # px: narrower or lower crops carry no readable text
_MIN_AREA = 1.0  # px^2


def crop_instance(image: np.ndarray, polygon: list[Point]) -> np.ndarray | None:
    """Rectified crop (h, w[, c]) of ``polygon`` from ``image`` (H, W[, C]); None for a degenerate instance."""
    pts = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)  # (N, 2)
    if len(pts) < 3 or not np.isfinite(pts).all():
        return None
    if len(pts) >= 6 and len(pts) % 2 == 0:
        if _area(pts) < _MIN_AREA:
            return None
        half = len(pts) // 2
        return _rectify_curved(image, pts[:half], pts[half:][::-1])
    if len(pts) != 4:
        pts = cv2.boxPoints(cv2.minAreaRect(pts.astype(np.float32))).astype(np.float64)  # (4, 2)
    quad = order_quad(pts)  # area measured after reordering: a quad given in bow-tie order still counts
    return _warp_quad(image, quad) if _area(quad) >= _MIN_AREA else None


def encode_crop(crop: np.ndarray, fmt: str = "jpg", quality: int = 95) -> bytes:
    """Encode a crop as JPEG (``fmt="jpg"``, lossy, small) or PNG (``"png"``, lossless)."""
    if fmt in ("jpg", "jpeg"):
        ok, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, quality])
    elif fmt == "png":
        ok, buf = cv2.imencode(".png", crop, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    else:
        raise ValueError(f"unknown crop format {fmt!r}; valid: ['jpg', 'png']")
    if not ok:
        raise ValueError(f"OpenCV could not encode a crop of shape {crop.shape} as {fmt}")
    return buf.tobytes()


def order_quad(pts: np.ndarray) -> np.ndarray:
    """Reorder 4 points (4, 2) to top-left, top-right, bottom-right, bottom-left of the word they enclose."""
    center = pts.mean(axis=0)
    # Sorting by angle around the centre gives a clockwise cycle on screen (atan2 grows clockwise when y
    # points down), whatever the input order was.
    angles = np.arctan2(pts[:, 1] - center[1], pts[:, 0] - center[0])
    cyc = pts[np.argsort(angles, kind="stable")]
    edges = np.roll(cyc, -1, axis=0) - cyc  # edge k runs from vertex k to k+1
    lengths = np.hypot(edges[:, 0], edges[:, 1])
    pair_len = [lengths[0] + lengths[2], lengths[1] + lengths[3]]  # the two opposite-edge pairs
    if max(pair_len) < _SQUARE_RATIO * min(pair_len):
        # Square-ish: the top is on the pair whose edges lie closest to horizontal.
        flatness = [abs(edges[k, 0]) / max(lengths[k], 1e-9) for k in (0, 1)]
        pair = int(np.argmax(flatness))
    else:
        pair = int(np.argmax(pair_len))
    # Of the pair's two edges, the top one points rightwards (the other, traversed clockwise, points left).
    top = pair if edges[pair, 0] > edges[pair + 2, 0] else pair + 2
    return np.roll(cyc, -top, axis=0)


def _warp_quad(image: np.ndarray, quad: np.ndarray) -> np.ndarray | None:
    """Perspective-warp an ordered quad (TL, TR, BR, BL) to an upright rectangle."""
    tl, tr, br, bl = quad
    width = int(round((np.hypot(*(tr - tl)) + np.hypot(*(br - bl))) / 2))
    height = int(round((np.hypot(*(bl - tl)) + np.hypot(*(br - tr))) / 2))
    if width < _MIN_SIDE or height < _MIN_SIDE:
        return None
    dst = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), dst)
    return cv2.warpPerspective(image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)


def _rectify_curved(image: np.ndarray, top: np.ndarray, bottom: np.ndarray) -> np.ndarray | None:
    """Unroll the band between two polylines (M, 2), both running left to right, into a rectangle.

    Both sides are resampled at the same fractions of their arc length, so point i of the top matches point
    i of the bottom; each strip between matched pairs i and i+1 is warped on its own and the strips are laid
    side by side. Neighbouring strips share their boundary segment, so the pieces join without gaps.
    """
    n = max(len(top), len(bottom))
    top, bottom = _resample(top, n), _resample(bottom, n)  # (n, 2) each
    height = int(round(float(np.mean(np.hypot(*(bottom - top).T)))))
    seg = (np.hypot(*np.diff(top, axis=0).T) + np.hypot(*np.diff(bottom, axis=0).T)) / 2  # (n-1,)
    # Round the running x positions, not each width, so the total width does not drift.
    xs = np.round(np.concatenate([[0.0], np.cumsum(seg)])).astype(int)  # (n,)
    if xs[-1] < _MIN_SIDE or height < _MIN_SIDE:
        return None
    strips = []
    for i in range(n - 1):
        w = int(xs[i + 1] - xs[i])
        if w < 1:
            continue
        src = np.array([top[i], top[i + 1], bottom[i + 1], bottom[i]], dtype=np.float32)
        dst = np.array([[0, 0], [w, 0], [w, height], [0, height]], dtype=np.float32)
        matrix = cv2.getPerspectiveTransform(src, dst)
        strips.append(cv2.warpPerspective(image, matrix, (w, height), flags=cv2.INTER_LINEAR,
                                          borderMode=cv2.BORDER_REPLICATE))
    return np.concatenate(strips, axis=1) if strips else None


def _resample(line: np.ndarray, n: int) -> np.ndarray:
    """``n`` points (n, 2) spaced evenly by arc length along a polyline (M, 2), ends included."""
    seg = np.hypot(*np.diff(line, axis=0).T)  # (M-1,)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    if arc[-1] <= 0:
        return np.repeat(line[:1], n, axis=0)
    at = np.linspace(0.0, arc[-1], n)
    return np.stack([np.interp(at, arc, line[:, 0]), np.interp(at, arc, line[:, 1])], axis=1)


def _area(pts: np.ndarray) -> float:
    x, y = pts[:, 0], pts[:, 1]
    return abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2.0

