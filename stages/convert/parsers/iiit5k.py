"""IIIT 5K-Word (Mishra et al.), recognition.

Native layout: ``traindata.mat`` / ``testdata.mat`` (MATLAB v5) beside ``train/`` and ``test/``. Each holds
one 1 x N struct array named like the file (``traindata`` / ``testdata``) with fields

- ``ImgName``: image path relative to the dataset root, e.g. ``train/1009_2.png``;
- ``GroundTruth``: the word, case kept;
- ``smallLexi`` / ``mediumLexi``: 50- and 1000-word lexicons (cells of strings), not kept here.

``trainCharBound.mat`` / ``testCharBound.mat`` (fields ``ImgName``, ``chars``, ``charBB``) read the same way,
with ``chars`` as the label. Skips name the entry as ``<file>:<entry number, 1-based>``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import numpy as np

from stages.convert.parsers.common import join_name
from stages.convert.parsers.synthtext import load_mat, strings
from stages.convert.parsers.textlist import crop
from stages.dataset.names import SafeJoiner
from stages.dataset.records import CropRecord, ParseError, Skipped

LABEL_FIELDS = ("GroundTruth", "chars")  # *data.mat, *CharBound.mat


def parse(annotations: Path, images: Path) -> Iterator[CropRecord | Skipped]:
    """Yield one CropRecord per struct entry of an IIIT5K ``.mat`` file (``annotations``); ``images`` is
    the dataset root the ``ImgName`` paths are relative to."""
    annotations, images = Path(annotations), Path(images)
    table, label_field = _load_table(annotations)
    joiner = SafeJoiner(images)
    for index, entry in enumerate(table.ravel()):
        source = f"{annotations.name}:{index + 1}"
        names, labels = strings(entry["ImgName"]), strings(entry[label_field])
        if len(names) != 1 or len(labels) != 1 or not names[0] or not labels[0]:
            yield Skipped("malformed_entry", source, f"ImgName {names!r}, {label_field} {labels!r}")
            continue
        image = join_name(joiner, names[0], source)  # names from the file are untrusted
        yield image if isinstance(image, Skipped) else crop(image, labels[0], source)


def _load_table(path: Path) -> tuple[np.ndarray, str]:
    """The struct array with an ``ImgName`` field and a label field, and that label field's name."""
    mat = load_mat(path)
    for name, value in mat.items():
        fields = _fields(value)
        label = next((f for f in LABEL_FIELDS if f in fields), None)
        if not name.startswith("__") and "ImgName" in fields and label is not None:
            return value, label
    found = {k: _fields(v) for k, v in mat.items() if not k.startswith("__")}
    raise ParseError(path, None, f"no struct array with ImgName and one of {LABEL_FIELDS}; found {found}")


def _fields(value: Any) -> tuple[str, ...]:
    """Field names of a loaded MATLAB struct array; () for anything else."""
    names = getattr(getattr(value, "dtype", None), "names", None)
    return tuple(names) if names else ()
