"""Readers of detection ground truth and predictions for the offline evaluators.

Every image is keyed by an **image id**: the file name without directories and extension, and
without the prefixes ``gt_`` / ``poly_gt_`` (ground-truth files) or ``res_`` (prediction files).
So ``gt_img_7.txt`` <-> ``res_img_7.txt`` <-> ``img_7.txt`` <-> COCO ``file_name: "test/img_7.jpg"``,
and Total-Text ``poly_gt_img1.mat`` <-> ``img1.mat`` / ``img1.txt``.

Text files (ground truth and predictions) are read under one of two **coordinate rules**
(``coords=``); which one a file follows cannot be told from its lines (``0,0,9,0,9,9,0,9,1,000`` is a
quad with the word ``1,000`` or a 5-point polygon), so the caller says it:

* ``"quad"``, the ICDAR 2015 (RRC) rule, as the official ``rrc_evaluation_funcs.py`` reads it:
  exactly 8 integer coordinates ``x1,y1,...,x4,y4`` (spaces around them allowed), then

  - ground truth and end-to-end predictions (``with_text=True``): ``,transcription``, the whole rest of
    the line, commas included, possibly empty; ``"..."`` is unquoted (``\\"`` and ``\\\\`` escapes);
  - detection predictions: nothing, or ``,confidence`` (a number in [0, 1]), the same for every line
    of a file. A file with confidences is ordered by descending confidence (stable) before matching,
    as the official script does with its ``CONFIDENCES`` option; a transcription is refused, as the
    official detection script refuses it.
* ``"polygon"`` (the default; DetEval, Total-Text and CTW1500 txt files): a variable-length polygon
  ``x1,y1,...,xn,yn`` (n >= 3, ints or floats). Ground truth and end-to-end lines end with a
  transcription: the coordinates are the longest run of leading numeric fields of even length that
  leaves at least one field; a line of numbers only is all coordinates when their count is even (no
  transcription), else its last number is the transcription. Detection lines are ``...[,score]``: an
  odd count of numbers means the last is a score, which must lie in [0, 1].

``order="yx"`` reads polygon-rule prediction lines as ``y1,x1,...,yn,xn``, as Total-Text's official
``Deteval.py`` reads its txt input; ``"xy"`` (the default) as ``x1,y1,...``. Ground truth is always x, y.

Ground truth (``load_gt``):

* ICDAR: a folder or ``.zip`` of ``gt_<id>.txt``; UTF-8 with or without BOM, LF or CRLF, one region a
  line under the coordinate rule; ``###`` = don't care. An empty file is an image without text.
* Total-Text: a folder of ``poly_gt_<id>.mat`` / ``gt_<id>.mat`` (``polygt`` or ``gt`` cell arrays,
  rows ``['x:', xs, 'y:', ys, transcription, orientation]``; orientation ``#`` = don't care, as the
  official scripts read it; a don't-care row with fewer than 3 points is dropped).
* COCO json (the project's detection dataset): ``images[{id, file_name, ...}]``,
  ``annotations[{image_id, segmentation: [[x1, y1, ...]], iscrowd, text, ...}]``; ``iscrowd=1`` =
  don't care; exactly one polygon per annotation.

Predictions (``load_predictions``):

* a folder or ``.zip`` of ``res_<id>.txt`` or ``<id>.txt`` under the coordinate rule; an empty file
  (or an empty zip) means no detections;
* a folder of Total-Text ``<id>.mat`` files holding ``accuInf`` (a cell of (k, 2) x, y contours);
* a predictions json: ``{"images": [{"file_name": "img_7.jpg", "polygons": [[x1, y1, ...], ...],
  "scores": [0.9, ...], "texts": ["WORD", ...]}]}``; ``scores`` and ``texts`` are optional.

Names inside a zip or folder are untrusted: an absolute name, a ``..`` part or a folder entry that
resolves outside the folder (a symlink) is refused. Everything wrong with an input (a damaged zip, a
bad CRC, non-UTF-8 text, a malformed line, a non-finite coordinate, a polygon of fewer than 3 points,
a prediction for an image id absent from the ground truth) raises ``ParseError`` naming the file and
line (or zip member, json path, .mat row). A ground-truth image with no prediction file has no
detections. ``int_coords=True`` truncates coordinates toward zero on load, as the official RRC
script does with ``int()`` (quad-rule coordinates are integers already).
"""
from __future__ import annotations

import json
import math
import re
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Iterator

import numpy as np

from models.metrics.types import DetPoly, GtPoly
from stages.dataset.records import ParseError

COORD_RULES = ("quad", "polygon")
ORDERS = ("xy", "yx")

_GT_NAME = re.compile(r"^(?:poly_)?gt_(.+)$")
_RES_NAME = re.compile(r"^res_(.+)$")
_QUOTED = re.compile(r'^\s*"(.*)"\s*$')
_INT = re.compile(r"^\s*-?[0-9]+\s*$")  # an RRC coordinate: ASCII digits, optional sign
_DRIVE = re.compile(r"^[A-Za-z]:")
# What zipfile (and zlib underneath) raise on a damaged archive or member.
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, struct.error, EOFError, OSError, ValueError,
               NotImplementedError, RuntimeError, OverflowError, IndexError, KeyError)


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


def _unquote(text: str) -> str:
    """A transcription as the RRC scripts read it: ``"a,\\"b\\""`` -> ``a,"b"``; anything else as is."""
    q = _QUOTED.match(text)
    return q.group(1).replace("\\\\", "\\").replace('\\"', '"') if q else text


def _check_rule(coords: str) -> None:
    if coords not in COORD_RULES:
        raise ValueError(f"unknown coordinate rule {coords!r}; valid: {', '.join(COORD_RULES)}")


def parse_gt_line(line: str, file: str, lineno: int, int_coords: bool = False) -> GtPoly:
    """One polygon-rule ground-truth line -> ``GtPoly`` (``###`` = don't care); see the module docstring."""
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
        text = _unquote(",".join(fields[m:]))
    if m < 6:
        raise ParseError(file, lineno, f"expected x1,y1,...,xn,yn,transcription with n >= 3, got {line!r}")
    return GtPoly.from_icdar(_points(nums[:m], int_coords), text)


def _quad(fields: list[str], file: str, lineno: int) -> list[float]:
    """The 8 leading integer coordinates of an ICDAR 2015 line (the RRC regex's rule)."""
    if len(fields) < 8:
        raise ParseError(file, lineno, f"expected 8 integer coordinates x1,y1,...,x4,y4 (ICDAR 2015 rule), "
                                       f"got {len(fields)} fields")
    for col, f in enumerate(fields[:8], 1):
        if not _INT.match(f):
            raise ParseError(file, lineno, f"field {col} is not an integer coordinate: {f!r} (the ICDAR 2015 rule "
                                           "takes exactly 8 integers; polygon files: the polygon rule)")
    return [float(f) for f in fields[:8]]


def parse_quad_text_line(line: str, file: str, lineno: int) -> GtPoly:
    """One ICDAR 2015 line ``x1,y1,...,x4,y4,transcription`` (ground truth or end-to-end result) -> ``GtPoly``.

    The transcription is the whole rest of the line, commas included (``...,1,000`` reads ``1,000``).
    """
    fields = line.split(",")
    coords = _quad(fields, file, lineno)
    if len(fields) == 8:
        raise ParseError(file, lineno, "no transcription after the 8 coordinates (ICDAR 2015: "
                                       "x1,y1,...,x4,y4,transcription)")
    return GtPoly.from_icdar(_points(coords, False), _unquote(",".join(fields[8:])))


def parse_quad_det_line(line: str, file: str, lineno: int) -> tuple[DetPoly, bool]:
    """One ICDAR 2015 detection line ``x1,y1,...,x4,y4[,confidence]`` -> (``DetPoly``, has a confidence)."""
    fields = line.split(",")
    coords = _quad(fields, file, lineno)
    if len(fields) == 8:
        return DetPoly(_points(coords, False)), False
    score = _number(fields[8]) if len(fields) == 9 else None
    if score is None or not 0.0 <= score <= 1.0:
        raise ParseError(file, lineno, f"after the 8 coordinates the ICDAR 2015 detection format allows only a "
                                       f"confidence in [0, 1], got {','.join(fields[8:])!r} (a transcription "
                                       "belongs to the end-to-end protocols)")
    return DetPoly(_points(coords, False), score), True


def parse_det_line(line: str, file: str, lineno: int, int_coords: bool = False) -> DetPoly:
    """One polygon-rule prediction line ``x1,y1,...,xn,yn[,score]`` -> ``DetPoly``; see the module docstring."""
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


def _unsafe(name: str) -> bool:
    """Whether an archive member name could point outside the archive's root."""
    parts = re.split(r"[/\\]", name)
    return name.startswith(("/", "\\")) or bool(_DRIVE.match(name)) or ".." in parts or "\0" in name


def _folder_files(path: Path, suffix: str) -> Iterator[Path]:
    """The visible ``suffix`` files of a folder, sorted, each checked to resolve inside it."""
    root = path.resolve()
    for f in sorted(path.iterdir()):
        if f.name.startswith(".") or f.suffix.lower() != suffix or not (f.is_file() or f.is_symlink()):
            continue
        target = f.resolve()
        if not target.is_relative_to(root):
            raise ParseError(f, None, f"unsafe member: it resolves outside {path} (to {target})")
        if not target.is_file():
            raise ParseError(f, None, "not a regular file")
        yield f


def _zip_members(path: Path, suffix: str) -> Iterator[tuple[str, str, bytes]]:
    """(display name, member name, bytes) of every ``suffix`` member of a zip, sorted; names checked first."""
    try:
        zf = zipfile.ZipFile(path)
    except _ZIP_ERRORS as e:
        raise ParseError(path, None, f"not a zip file, or a damaged one ({e})") from None
    with zf:
        infos = sorted(zf.infolist(), key=lambda i: i.filename)
        for info in infos:
            if _unsafe(info.filename):
                raise ParseError(f"{path}:{info.filename}", None, "unsafe member name (absolute path or '..'): refused")
        for info in infos:
            base = re.split(r"[/\\]", info.filename)[-1]
            if info.is_dir() or not base.lower().endswith(suffix) or base.startswith("."):
                continue
            where = f"{path}:{info.filename}"
            try:
                data = zf.read(info)
            except _ZIP_ERRORS as e:
                raise ParseError(where, None, f"damaged zip member: {e}") from None
            yield where, base, data


def _txt_sources(path: Path) -> Iterator[tuple[str, str, bytes]]:
    """(display name, file name, bytes) of every .txt file in a folder or zip, sorted by name."""
    if path.is_dir():
        for f in _folder_files(path, ".txt"):
            try:
                data = f.read_bytes()
            except OSError as e:
                raise ParseError(f, None, f"cannot read: {e.strerror or e}") from None
            yield str(f), f.name, data
        return
    yield from _zip_members(path, ".txt")


def _add(out: dict, key: str, value: list, where: str, sources: dict | None = None) -> None:
    """Store one image's polygons, refusing a second source for the same image id."""
    if key in out:
        raise ParseError(where, None, f"two files map to the image id {key!r}")
    out[key] = value
    if sources is not None:
        sources[key] = where


def _gt_file(data: bytes, name: str, coords: str, int_coords: bool) -> list[GtPoly]:
    lines = _text_lines(data, name)
    if coords == "quad":
        return [parse_quad_text_line(line, name, n) for n, line in lines]
    return [parse_gt_line(line, name, n, int_coords) for n, line in lines]


def _icdar_gt(path: Path, coords: str, int_coords: bool) -> dict[str, list[GtPoly]]:
    out: dict[str, list[GtPoly]] = {}
    for where, name, data in _txt_sources(path):
        _add(out, image_id(name, _GT_NAME), _gt_file(data, where, coords, int_coords), where)
    if not out:
        raise ParseError(path, None, "holds no ground-truth .txt files")
    return out


def _mat_cells(file: Path, keys: tuple[str, ...]) -> np.ndarray:
    from scipy.io import loadmat  # scipy.io is slow to import; only the .mat paths need it

    try:
        mat = loadmat(str(file))
    except Exception as e:  # scipy raises many types (ValueError, TypeError, OSError, ...) on a corrupt file
        raise ParseError(file, None, f"cannot read .mat file: {type(e).__name__}: {e}") from None
    for k in keys:
        if k in mat and isinstance(mat[k], np.ndarray):
            return mat[k]
    raise ParseError(file, None, f"no variable named {' or '.join(keys)}")


def _cell_str(cell: np.ndarray) -> str:
    return str(cell.ravel()[0]) if getattr(cell, "size", 0) else ""


def _totaltext_row(f: Path, row_no: int, row, int_coords: bool) -> GtPoly | None:
    """One ``polygt`` row -> ``GtPoly``; None for a don't-care row without area."""
    if len(row) < 6:
        raise ParseError(f, row_no, f"row {row_no}: expected 6 cells, got {len(row)}")
    xs, ys = np.asarray(row[1], np.float64).ravel(), np.asarray(row[3], np.float64).ravel()
    ignore = _cell_str(row[5]) == "#"
    if xs.size != ys.size:
        raise ParseError(f, row_no, f"row {row_no}: {xs.size} x values but {ys.size} y values")
    if xs.size < 3:
        if ignore:
            return None  # a don't-care mark without area cannot cover any detection
        raise ParseError(f, row_no, f"row {row_no}: a polygon needs at least 3 points, got {xs.size}")
    return GtPoly(_points(np.stack([xs, ys], 1).ravel().tolist(), int_coords), _cell_str(row[4]), ignore)


def _totaltext_gt(path: Path, int_coords: bool) -> dict[str, list[GtPoly]]:
    out: dict[str, list[GtPoly]] = {}
    for f in _folder_files(path, ".mat"):
        cells = _mat_cells(f, ("polygt", "gt"))
        polys = []
        for row_no, row in enumerate(cells if cells.ndim == 2 else cells.reshape(-1, 1), 1):
            try:
                poly = _totaltext_row(f, row_no, row, int_coords)
            except (TypeError, ValueError, IndexError) as e:  # cells of the wrong type or shape, NaN
                if isinstance(e, ParseError):
                    raise
                raise ParseError(f, row_no, f"row {row_no}: unreadable: {e}") from None
            if poly is not None:
                polys.append(poly)
        _add(out, image_id(f.name, _GT_NAME), polys, str(f))
    return out


def _flat_polygon(seg, where: str, int_coords: bool) -> np.ndarray:
    if not isinstance(seg, list) or len(seg) != 1 or not isinstance(seg[0], list):
        raise ParseError(where, None, "segmentation must be [[x1, y1, ...]] (exactly one polygon)")
    try:
        vals = [float(v) for v in seg[0]]
    except (TypeError, ValueError, OverflowError):
        raise ParseError(where, None, "segmentation holds a non-number") from None
    if len(vals) % 2 or len(vals) < 6 or not all(math.isfinite(v) for v in vals):
        raise ParseError(where, None, f"segmentation needs an even count >= 6 of finite numbers, got {len(vals)}")
    return _points(vals, int_coords)


def _coco_gt(path: Path, int_coords: bool) -> dict[str, list[GtPoly]]:
    doc = _read_json(path)
    if (not isinstance(doc, dict) or not isinstance(doc.get("images"), list)
            or not isinstance(doc.get("annotations"), list)):
        raise ParseError(path, None, "a COCO file needs 'images' and 'annotations' lists")
    out: dict[str, list[GtPoly]] = {}
    by_id: dict = {}
    for i, img in enumerate(doc["images"]):
        if (not isinstance(img, dict) or not isinstance(img.get("id"), (int, str))
                or not isinstance(img.get("file_name"), str)):
            raise ParseError(path, None, f"images[{i}] needs an 'id' (int or str) and a 'file_name' (str)")
        key = image_id(img["file_name"])
        _add(out, key, [], f"{path}: images[{i}]")
        by_id[img["id"]] = key
    for i, ann in enumerate(doc["annotations"]):
        where = f"{path}: annotations[{i}]"
        ref = ann.get("image_id") if isinstance(ann, dict) else None
        if not isinstance(ref, (int, str)) or ref not in by_id:
            raise ParseError(where, None, f"unknown image_id {ann.get('image_id') if isinstance(ann, dict) else ann!r}")
        pts = _flat_polygon(ann.get("segmentation"), where, int_coords)
        out[by_id[ref]].append(GtPoly(pts, str(ann.get("text", "")), bool(ann.get("iscrowd", 0))))
    return out


def _read_json(path: Path):
    try:
        return json.loads(path.read_bytes().decode("utf-8-sig"))
    except json.JSONDecodeError as e:
        raise ParseError(path, e.lineno, f"invalid JSON: {e.msg}") from None
    except UnicodeDecodeError as e:
        raise ParseError(path, None, f"not UTF-8 ({e.reason})") from None
    except RecursionError:
        raise ParseError(path, None, "invalid JSON: nested too deeply") from None


def load_gt(path: str | Path, int_coords: bool = False, coords: str = "polygon") -> dict[str, list[GtPoly]]:
    """Read detection ground truth from an ICDAR folder / zip, a Total-Text .mat folder or a COCO json.

    coords: the coordinate rule of txt files, ``"quad"`` (ICDAR 2015) or ``"polygon"``; see the module docstring.
    """
    _check_rule(coords)
    path = Path(path)
    if not path.exists():
        raise ParseError(path, None, "no such file or folder")
    if path.is_file():
        return _coco_gt(path, int_coords) if path.suffix.lower() == ".json" else _icdar_gt(path, coords, int_coords)
    if any(path.glob("*.txt")):
        return _icdar_gt(path, coords, int_coords)
    if any(path.glob("*.mat")):
        return _totaltext_gt(path, int_coords)
    raise ParseError(path, None, "holds no gt_*.txt nor *.mat files")


def _json_image(img, where: str, with_text: bool, int_coords: bool) -> list[DetPoly]:
    """The detections of one ``images[i]`` entry of a predictions json."""
    if (not isinstance(img, dict) or not isinstance(img.get("file_name"), str)
            or not isinstance(img.get("polygons", []), list)):
        raise ParseError(where, None, "needs a 'file_name' (str) and a 'polygons' list")
    polys = img.get("polygons", [])
    scores, texts = img.get("scores", [1.0] * len(polys)), img.get("texts", [""] * len(polys))
    if not isinstance(scores, list) or not isinstance(texts, list) or not len(scores) == len(texts) == len(polys):
        raise ParseError(where, None, f"{len(polys)} polygons need as many 'scores' and 'texts' (lists)")
    dets = []
    for j, (p, s, t) in enumerate(zip(polys, scores, texts)):
        score = s if isinstance(s, (int, float)) and not isinstance(s, bool) else None
        if score is None or not 0.0 <= score <= 1.0:
            raise ParseError(where, None, f"scores[{j}] must be a number in [0, 1], got {s!r}")
        dets.append(DetPoly(_flat_polygon([p], f"{where}.polygons[{j}]", int_coords), float(score),
                            str(t) if with_text else ""))
    return dets


def _json_predictions(path: Path, with_text: bool, int_coords: bool, sources: dict) -> dict[str, list[DetPoly]]:
    doc = _read_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list):
        raise ParseError(path, None, "a predictions file needs an 'images' list")
    out: dict[str, list[DetPoly]] = {}
    for i, img in enumerate(doc["images"]):
        where = f"{path}: images[{i}]"
        dets = _json_image(img, where, with_text, int_coords)
        _add(out, image_id(img["file_name"]), dets, where, sources)
    return out


def _mat_predictions(path: Path, int_coords: bool, sources: dict) -> dict[str, list[DetPoly]]:
    out: dict[str, list[DetPoly]] = {}
    for f in _folder_files(path, ".mat"):
        dets = []
        for n, c in enumerate(_mat_cells(f, ("accuInf",)).ravel(), 1):
            try:
                arr = np.asarray(c, np.float64)
            except (TypeError, ValueError):
                raise ParseError(f, n, f"contour {n}: not an array of numbers") from None
            if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 3 or not np.isfinite(arr).all():
                raise ParseError(f, n, f"contour {n}: expected a (k >= 3, 2) array of finite numbers, "
                                       f"got shape {arr.shape}")
            dets.append(DetPoly(np.trunc(arr) if int_coords else arr))
        _add(out, image_id(f.name, _RES_NAME), dets, str(f), sources)
    return out


def _txt_predictions(data: bytes, name: str, with_text: bool, coords: str, order: str,
                     int_coords: bool) -> list[DetPoly]:
    """The detections of one prediction txt file under the coordinate rule and order."""
    lines = list(_text_lines(data, name))
    if coords == "quad" and with_text:
        return [DetPoly(g.points, 1.0, g.text) for g in (parse_quad_text_line(line, name, n) for n, line in lines)]
    if coords == "quad":
        return _by_confidence([(n, *parse_quad_det_line(line, name, n)) for n, line in lines], name)
    if with_text:
        dets = [DetPoly(g.points, 1.0, g.text) for g in (parse_gt_line(line, name, n, int_coords) for n, line in lines)]
    else:
        dets = [parse_det_line(line, name, n, int_coords) for n, line in lines]
    if order == "yx":  # Deteval.py's y1,x1,... lines: swap each pair into (x, y)
        for d in dets:
            d.points = d.points[:, ::-1].copy()
    return dets


def _by_confidence(parsed: list[tuple[int, DetPoly, bool]], name: str) -> list[DetPoly]:
    """Quad detections, ordered by descending confidence when the file gives them (all lines or none)."""
    given = [has for _, _, has in parsed]
    if any(given) and not all(given):
        n = parsed[given.index(False) if given[0] else given.index(True)][0]
        raise ParseError(name, n, "some lines give a confidence and some do not: give one on every line or none")
    dets = [d for _, d, _ in parsed]
    # The official script sorts by confidence before its greedy matching; a stable sort keeps ties in file order.
    return sorted(dets, key=lambda d: -d.score) if any(given) else dets


def load_predictions(path: str | Path, gt_ids=None, with_text: bool = False, int_coords: bool = False,
                     coords: str = "polygon", order: str = "xy") -> dict[str, list[DetPoly]]:
    """Read predictions from a txt folder / zip, a Total-Text .mat folder or a predictions json.

    gt_ids: when given, a prediction for any other image id raises ``ParseError`` naming its file.
    with_text: read transcriptions (end-to-end) instead of scores from txt lines.
    coords: the coordinate rule of txt files, ``"quad"`` (ICDAR 2015) or ``"polygon"``.
    order: ``"yx"`` reads polygon-rule txt lines as y, x pairs (Total-Text's ``Deteval.py``); txt only.
    """
    _check_rule(coords)
    if order not in ORDERS:
        raise ValueError(f"unknown coordinate order {order!r}; valid: {', '.join(ORDERS)}")
    path = Path(path)
    if not path.exists():
        raise ParseError(path, None, "no such file or folder")
    sources: dict[str, str] = {}
    is_json = path.is_file() and path.suffix.lower() == ".json"
    is_mat = path.is_dir() and not any(path.glob("*.txt")) and any(path.glob("*.mat"))
    if order == "yx" and (is_json or is_mat or coords == "quad"):
        raise ParseError(path, None, "the y,x order applies to polygon-rule txt predictions only "
                                     "(.mat and json predictions are x,y)")
    if is_json:
        out = _json_predictions(path, with_text, int_coords, sources)
    elif is_mat:
        out = _mat_predictions(path, int_coords, sources)
    else:
        out = {}
        for where, name, data in _txt_sources(path):
            dets = _txt_predictions(data, where, with_text, coords, order, int_coords)
            _add(out, image_id(name, _RES_NAME), dets, where, sources)
    if gt_ids is not None:
        unknown = [k for k in out if k not in gt_ids]
        if unknown:
            example = next(iter(gt_ids), "")
            raise ParseError(sources[unknown[0]], None,
                             f"image id {unknown[0]!r} is not in the ground truth "
                             f"({len(unknown)} unknown in all; ground-truth ids look like {example!r})")
    return out
