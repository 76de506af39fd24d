"""SynthText (Gupta et al., 800k synthetic scene images), detection / spotting with character boxes.

Native layout: one MATLAB v5 file ``gt.mat`` holding 1 x N cell arrays (loaded as (1, N) object arrays):

- ``imnames{i}``: image path relative to the image root, e.g. ``8/ballet_106_0.jpg``;
- ``wordBB{i}``: word quads, 2 x 4 x K (row 0 = x, row 1 = y, columns = corners clockwise from top-left);
  MATLAB drops the trailing singleton, so a single word is stored as 2 x 4;
- ``charBB{i}``: character quads, 2 x 4 x M, same layout (2 x 4 when M = 1);
- ``txt{i}``: a char matrix (rows padded with spaces) of text *instances*; an instance may hold several
  lines and words. Its whitespace-split words, in order, are the K words of ``wordBB``; their characters
  (whitespace removed), in order, are the M characters of ``charBB``.

Each word becomes a TextInstance with its wordBB quad and its (char, quad) pairs. An entry whose word or
character count disagrees with its boxes is skipped whole: a shifted alignment would silently attach
wrong characters to every later word. Skips name the entry as ``gt.mat:<entry number, 1-based>``.
scipy loads the whole file at once (the full SynthText gt.mat needs a few GB of memory).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import numpy as np
import scipy.io

from stages.convert.parsers.common import locate_image
from stages.dataset.records import ImageRecord, ParseError, Skipped, TextInstance

KEYS = ("imnames", "wordBB", "charBB", "txt")


def parse(annotations: Path, images: Path) -> Iterator[ImageRecord | Skipped]:
    """Yield one ImageRecord per ``gt.mat`` entry; ``annotations`` is gt.mat or the folder holding it,
    ``images`` the root the ``imnames`` paths are relative to."""
    mat_path = Path(annotations)
    if mat_path.is_dir():
        mat_path = mat_path / "gt.mat"
    columns = _load_columns(mat_path)
    for index, (name, word_bb, char_bb, txt) in enumerate(zip(*columns)):
        source = f"{mat_path.name}:{index + 1}"
        yield _entry(Path(images), name, word_bb, char_bb, txt, source)


def _load_columns(mat_path: Path) -> list[np.ndarray]:
    """The four cell arrays, flattened to 1-D object arrays of equal length."""
    gt = load_mat(mat_path)
    missing = [k for k in KEYS if k not in gt]
    if missing:
        found = sorted(k for k in gt if not k.startswith("__"))
        raise ParseError(mat_path, None, f"missing variables {missing}; found {found}")
    columns = [np.asarray(gt[k], dtype=object).ravel() for k in KEYS]
    lengths = {k: len(c) for k, c in zip(KEYS, columns)}
    if len(set(lengths.values())) != 1:
        raise ParseError(mat_path, None, f"cell arrays differ in length: {lengths}")
    return columns


def load_mat(path: Path) -> dict[str, Any]:
    """The variables of a MATLAB v5 file; ParseError when it cannot be read."""
    try:
        return scipy.io.loadmat(str(path))
    # scipy raises OSError, IndexError, ValueError, MatReadError or NotImplementedError (v7.3 files)
    except Exception as err:
        raise ParseError(path, None, f"cannot read as a MATLAB v5 .mat file: {err}") from err


def _entry(images: Path, name: Any, word_bb: Any, char_bb: Any, txt: Any, source: str) -> ImageRecord | Skipped:
    """One gt.mat entry -> an ImageRecord, or a Skipped naming what does not fit."""
    names = strings(name)
    if len(names) != 1:
        return Skipped("malformed_entry", source, f"imnames entry is not one string: {names!r}")
    image = locate_image(images, names[0], source)  # refuses names reaching outside the image folder
    if isinstance(image, Skipped):
        return image
    try:
        words_q, chars_q = quads(word_bb), quads(char_bb)
    except ValueError as err:
        return Skipped("bad_polygon", source, str(err))
    words = [w for s in strings(txt) for w in s.split()]
    if len(words) != len(words_q):
        return Skipped("word_count_mismatch", source, f"{len(words)} words in txt, {len(words_q)} wordBB boxes")
    n_chars = sum(len(w) for w in words)
    if n_chars != len(chars_q):
        return Skipped("char_count_mismatch", source, f"{n_chars} characters in txt, {len(chars_q)} charBB boxes")
    instances, start = [], 0
    for word, quad in zip(words, words_q):
        chars = [(c, _points(q)) for c, q in zip(word, chars_q[start:start + len(word)])]
        start += len(word)
        instances.append(TextInstance(polygon=_points(quad), text=word, chars=chars))
    return ImageRecord(image_path=image, instances=instances, source=source)


def quads(boxes: Any) -> np.ndarray:
    """SynthText box array (2, 4, K) or (2, 4) for K = 1 -> (K, 4, 2) float array of (x, y) corners."""
    arr = np.asarray(boxes, dtype=float)
    if arr.size == 0:
        return np.zeros((0, 4, 2))
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[:2] != (2, 4):
        raise ValueError(f"box array of shape {arr.shape}, expected (2, 4, K) or (2, 4)")
    return arr.transpose(2, 1, 0)


def strings(value: Any) -> list[str]:
    """The strings of a loaded MATLAB char matrix / cell of strings, in order (rows of a char matrix
    come back as one string each)."""
    if isinstance(value, str):
        return [value]
    arr = np.asarray(value)
    if arr.dtype == object:
        return [s for item in arr.ravel() for s in strings(item)]
    if arr.dtype.kind == "U":
        return [str(s) for s in arr.ravel()]
    return []


def _points(quad: np.ndarray) -> list[tuple[float, float]]:
    """(4, 2) array -> [(x, y), ...] of Python floats."""
    return [(float(x), float(y)) for x, y in quad]
