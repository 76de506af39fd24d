"""Readers of detection ground truth and predictions for the offline evaluators.

Every image is keyed by an **image id**: the file name without directories and extension, and
without the prefixes ``gt_`` / ``poly_gt_`` (ground-truth files) or ``res_`` (prediction files).
So ``gt_img_7.txt`` <-> ``res_img_7.txt`` <-> ``img_7.txt`` <-> COCO ``file_name: "test/img_7.jpg"``,
and Total-Text ``poly_gt_img1.mat`` <-> ``img1.mat`` / ``img1.txt``.

Ground truth (``load_gt``):

* ICDAR: a folder or ``.zip`` of ``gt_<id>.txt``; UTF-8 with or without BOM, LF or CRLF; one region a
  line: ``x1,y1,...,xn,yn,transcription`` (n >= 3, ints or floats; ``###`` = don't care). The
  transcription may contain commas and may be double-quoted (``"a,b"``, with ``\\"`` and ``\\\\``
  escapes, as the RRC format allows). Where the coordinates end: the longest run of leading numeric
  fields of even length that leaves at least one field; a line of numbers only is all coordinates
  when their count is even (no transcription), else its last number is the transcription.
* Total-Text: a folder of ``poly_gt_<id>.mat`` / ``gt_<id>.mat`` (``polygt`` or ``gt`` cell arrays,
  rows ``['x:', xs, 'y:', ys, transcription, orientation]``; orientation ``#`` = don't care, as the
  official scripts read it; a don't-care row with fewer than 3 points is dropped).
* COCO json (the project's detection dataset): ``images[{id, file_name, ...}]``,
  ``annotations[{image_id, segmentation: [[x1, y1, ...]], iscrowd, text, ...}]``; ``iscrowd=1`` =
  don't care; exactly one polygon per annotation.

Predictions (``load_predictions``):

* a folder or ``.zip`` of ``res_<id>.txt`` or ``<id>.txt``: one polygon a line,
  ``x1,y1,...,xn,yn[,score]`` (n >= 3, ints or floats). An odd count of numbers means the last is a
  score, which must lie in [0, 1]: that is how an odd coordinate count is caught. For end-to-end
  evaluation (``with_text=True``) lines are ``x1,y1,...,xn,yn,transcription`` (read as ground truth).
* a folder of Total-Text ``<id>.mat`` files holding ``accuInf`` (a cell of (k, 2) x, y contours).
* a predictions json: ``{"images": [{"file_name": "img_7.jpg", "polygons": [[x1, y1, ...], ...],
  "scores": [0.9, ...], "texts": ["WORD", ...]}]}``; ``scores`` and ``texts`` are optional.

A prediction for an image id absent from the ground truth, a malformed line, an odd coordinate
count or a non-UTF-8 file raises ``ParseError`` naming the file and line. A ground-truth image with
no prediction file has no detections. ``int_coords=True`` truncates coordinates toward zero on load,
as the official RRC script does with ``int()``.
"""
from __future__ import annotations

import json
import math
import re
import zipfile
from pathlib import Path
from typing import Iterator

import numpy as np

from stages.convert.records import ParseError

from .metrics.types import DetPoly, GtPoly

_GT_NAME = re.compile(r"^(?:poly_)?gt_(.+)$")
_RES_NAME = re.compile(r"^res_(.+)$")
_QUOTED = re.compile(r'^\s*"(.*)"\s*$')


def image_id(name: str, prefix: re.Pattern | None = None) -> str:
    """The image id of a file name: its stem, less a ``gt_`` / ``poly_gt_`` / ``res_`` prefix."""
    stem = Path(name).name.rsplit(".", 1)[0]
    m = prefix.match(stem) if prefix is not None else None
    return m.group(1) if m else stem


def _number(field: str) -> float | None:
    """A finite float, or None when the field is not a number."""
    try:
        v = float(field)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _points(values: list[float], int_coords: bool) -> np.ndarray:
    arr = np.asarray(values, np.float64).reshape(-1, 2)
    return np.trunc(arr) if int_coords else arr


def parse_gt_line(line: str, file: str, lineno: int, int_coords: bool = False) -> GtPoly:
    """One ICDAR-style ground-truth line -> ``GtPoly`` (``###`` = don't care); see the module docstring."""
    fields = line.split(",")
    nums: list[float] = []
    for f in fields:
        v = _number(f)
        if v is None:
            break
        nums.append(v)
    if len(nums) == len(fields) and len(nums) % 2 == 0:
        m, text = len(nums), ""
    else:
        m = min(len(nums), len(fields) - 1)
        m -= m % 2
        text = ",".join(fields[m:])
        q = _QUOTED.match(text)
        if q:
            text = q.group(1).replace("\\\\", "\\").replace('\\"', '"')
    if m < 6:
        raise ParseError(file, lineno, f"expected x1,y1,...,xn,yn,transcription with n >= 3, got {line!r}")
    return GtPoly.from_icdar(_points(nums[:m], int_coords), text)


def parse_det_line(line: str, file: str, lineno: int, int_coords: bool = False) -> DetPoly:
    """One prediction line ``x1,y1,...,xn,yn[,score]`` -> ``DetPoly``; see the module docstring."""
    fields = line.split(",")
    nums = []
    for col, f in enumerate(fields, 1):
        v = _number(f)
        if v is None:
            raise ParseError(file, lineno, f"field {col} is not a number: {f!r}")
        nums.append(v)
    score = 1.0
    if len(nums) % 2:
        score = nums.pop()
        if not 0.0 <= score <= 1.0:
            raise ParseError(file, lineno, f"odd number of values ({len(nums) + 1}): the last one, {score:g}, "
                                           "would be a score but is not in [0, 1]")
    if len(nums) < 6:
        raise ParseError(file, lineno, f"a polygon needs at least 3 points (6 coordinates), got {len(nums)}")
    return DetPoly(_points(nums, int_coords), score)


def _text_lines(data: bytes, file: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, line) of a UTF-8 file, BOM and CR stripped, blank lines skipped."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ParseError(file, None, f"not UTF-8 ({e.reason} at byte {e.start})") from None
    for n, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if line.strip():
            yield n, line


def _txt_sources(path: Path) -> Iterator[tuple[str, bytes]]:
    """(display name, bytes) of every .txt file in a folder or zip, sorted by name."""
    if path.is_dir():
        for f in sorted(path.iterdir()):
            if f.is_file() and f.suffix.lower() == ".txt" and not f.name.startswith("."):
                yield str(f), f.read_bytes()
        return
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ParseError(path, None, "not a zip file") from None
    with zf:
        for info in sorted(zf.infolist(), key=lambda i: i.filename):
            base = info.filename.rsplit("/", 1)[-1]
            if not info.is_dir() and base.lower().endswith(".txt") and not base.startswith("."):
                yield f"{path}:{info.filename}", zf.read(info)


def _add(out: dict, key: str, value: list, where: str, sources: dict | None = None) -> None:
    """Store one image's polygons, refusing a second source for the same image id."""
    if key in out:
        raise ParseError(where, None, f"two files map to the image id {key!r}")
    out[key] = value
    if sources is not None:
        sources[key] = where


def _icdar_gt(path: Path, int_coords: bool) -> dict[str, list[GtPoly]]:
    out: dict[str, list[GtPoly]] = {}
    for name, data in _txt_sources(path):
        polys = [parse_gt_line(line, name, n, int_coords) for n, line in _text_lines(data, name)]
        _add(out, image_id(name.rsplit(":", 1)[-1], _GT_NAME), polys, name)
    return out


def _mat_cells(file: Path, keys: tuple[str, ...]) -> np.ndarray:
    from scipy.io import loadmat  # scipy.io is slow to import; only the .mat paths need it

    try:
        mat = loadmat(str(file))
    except Exception as e:  # scipy raises several types for a corrupt file
        raise ParseError(file, None, f"cannot read .mat file: {e}") from None
    for k in keys:
        if k in mat:
            return mat[k]
    raise ParseError(file, None, f"no variable named {' or '.join(keys)}")


def _cell_str(cell: np.ndarray) -> str:
    return str(cell.ravel()[0]) if getattr(cell, "size", 0) else ""


def _totaltext_gt(path: Path, int_coords: bool) -> dict[str, list[GtPoly]]:
    out: dict[str, list[GtPoly]] = {}
    for f in sorted(path.glob("*.mat")):
        cells = _mat_cells(f, ("polygt", "gt"))
        polys = []
        for row_no, row in enumerate(cells, 1):
            if len(row) < 6:
                raise ParseError(f, row_no, f"row {row_no}: expected 6 cells, got {len(row)}")
            xs, ys = np.asarray(row[1], np.float64).ravel(), np.asarray(row[3], np.float64).ravel()
            ignore = _cell_str(row[5]) == "#"
            if xs.size != ys.size:
                raise ParseError(f, row_no, f"row {row_no}: {xs.size} x values but {ys.size} y values")
            if xs.size < 3:
                if ignore:
                    continue  # a don't-care mark without area cannot cover any detection
                raise ParseError(f, row_no, f"row {row_no}: a polygon needs at least 3 points, got {xs.size}")
            polys.append(GtPoly(_points(np.stack([xs, ys], 1).ravel().tolist(), int_coords), _cell_str(row[4]), ignore))
        _add(out, image_id(f.name, _GT_NAME), polys, str(f))
    return out


def _flat_polygon(seg, where: str, int_coords: bool) -> np.ndarray:
    if not isinstance(seg, list) or len(seg) != 1 or not isinstance(seg[0], list):
        raise ParseError(where, None, "segmentation must be [[x1, y1, ...]] (exactly one polygon)")
    try:
        vals = [float(v) for v in seg[0]]
    except (TypeError, ValueError):
        raise ParseError(where, None, "segmentation holds a non-number") from None
    if len(vals) % 2 or len(vals) < 6 or not all(math.isfinite(v) for v in vals):
        raise ParseError(where, None, f"segmentation needs an even count >= 6 of finite numbers, got {len(vals)}")
    return _points(vals, int_coords)


def _coco_gt(path: Path, int_coords: bool) -> dict[str, list[GtPoly]]:
    doc = _read_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list) or not isinstance(doc.get("annotations"), list):
        raise ParseError(path, None, "a COCO file needs 'images' and 'annotations' lists")
    out: dict[str, list[GtPoly]] = {}
    by_id: dict = {}
    for i, img in enumerate(doc["images"]):
        if not isinstance(img, dict) or "id" not in img or "file_name" not in img:
            raise ParseError(path, None, f"images[{i}] needs 'id' and 'file_name'")
        key = image_id(img["file_name"])
        _add(out, key, [], f"{path}: images[{i}]")
        by_id[img["id"]] = key
    for i, ann in enumerate(doc["annotations"]):
        where = f"{path}: annotations[{i}]"
        if not isinstance(ann, dict) or ann.get("image_id") not in by_id:
            raise ParseError(where, None, f"unknown image_id {ann.get('image_id') if isinstance(ann, dict) else ann!r}")
        pts = _flat_polygon(ann.get("segmentation"), where, int_coords)
        out[by_id[ann["image_id"]]].append(GtPoly(pts, str(ann.get("text", "")), bool(ann.get("iscrowd", 0))))
    return out


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as e:
        raise ParseError(path, e.lineno, f"invalid JSON: {e.msg}") from None
    except UnicodeDecodeError as e:
        raise ParseError(path, None, f"not UTF-8 ({e.reason})") from None


def load_gt(path: str | Path, int_coords: bool = False) -> dict[str, list[GtPoly]]:
    """Read detection ground truth from an ICDAR folder / zip, a Total-Text .mat folder or a COCO json."""
    path = Path(path)
    if not path.exists():
        raise ParseError(path, None, "no such file or folder")
    if path.is_file():
        return _coco_gt(path, int_coords) if path.suffix.lower() == ".json" else _icdar_gt(path, int_coords)
    if any(path.glob("*.txt")):
        return _icdar_gt(path, int_coords)
    if any(path.glob("*.mat")):
        return _totaltext_gt(path, int_coords)
    raise ParseError(path, None, "holds no gt_*.txt nor *.mat files")


def _json_predictions(path: Path, with_text: bool, int_coords: bool, sources: dict) -> dict[str, list[DetPoly]]:
    doc = _read_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list):
        raise ParseError(path, None, "a predictions file needs an 'images' list")
    out: dict[str, list[DetPoly]] = {}
    for i, img in enumerate(doc["images"]):
        where = f"{path}: images[{i}]"
        if not isinstance(img, dict) or "file_name" not in img or not isinstance(img.get("polygons", []), list):
            raise ParseError(where, None, "needs 'file_name' and a 'polygons' list")
        polys = img.get("polygons", [])
        scores, texts = img.get("scores", [1.0] * len(polys)), img.get("texts", [""] * len(polys))
        if len(scores) != len(polys) or len(texts) != len(polys):
            raise ParseError(where, None, f"{len(polys)} polygons but {len(scores)} scores and {len(texts)} texts")
        dets = [DetPoly(_flat_polygon([p], f"{where}.polygons[{j}]", int_coords), float(s), str(t) if with_text else "")
                for j, (p, s, t) in enumerate(zip(polys, scores, texts))]
        _add(out, image_id(img["file_name"]), dets, where, sources)
    return out


def _mat_predictions(path: Path, int_coords: bool, sources: dict) -> dict[str, list[DetPoly]]:
    out: dict[str, list[DetPoly]] = {}
    for f in sorted(path.glob("*.mat")):
        dets = []
        for n, c in enumerate(_mat_cells(f, ("accuInf",)).ravel(), 1):
            arr = np.asarray(c, np.float64)
            if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 3:
                raise ParseError(f, n, f"contour {n}: expected a (k >= 3, 2) array, got shape {arr.shape}")
            dets.append(DetPoly(np.trunc(arr) if int_coords else arr))
        _add(out, image_id(f.name, _RES_NAME), dets, str(f), sources)
    return out


def load_predictions(path: str | Path, gt_ids=None, with_text: bool = False,
                     int_coords: bool = False) -> dict[str, list[DetPoly]]:
    """Read predictions from a txt folder / zip, a Total-Text .mat folder or a predictions json.

    gt_ids: when given, a prediction for any other image id raises ``ParseError`` naming its file.
    with_text: read transcriptions (end-to-end) instead of scores from txt lines.
    """
    path = Path(path)
    if not path.exists():
        raise ParseError(path, None, "no such file or folder")
    sources: dict[str, str] = {}
    if path.is_file() and path.suffix.lower() == ".json":
        out = _json_predictions(path, with_text, int_coords, sources)
    elif path.is_dir() and not any(path.glob("*.txt")) and any(path.glob("*.mat")):
        out = _mat_predictions(path, int_coords, sources)
    else:
        out = {}
        for name, data in _txt_sources(path):
            if with_text:
                dets = [DetPoly(g.points, 1.0, g.text) for g in
                        (parse_gt_line(line, name, n, int_coords) for n, line in _text_lines(data, name))]
            else:
                dets = [parse_det_line(line, name, n, int_coords) for n, line in _text_lines(data, name)]
            _add(out, image_id(name.rsplit(":", 1)[-1], _RES_NAME), dets, name, sources)
    if gt_ids is not None:
        unknown = [k for k in out if k not in gt_ids]
        if unknown:
            example = next(iter(gt_ids), "")
            raise ParseError(sources[unknown[0]], None, f"image id {unknown[0]!r} is not in the ground truth "
                                                        f"({len(unknown)} unknown in all; ground-truth ids look like {example!r})")
    return out
