"""Random access to a recognition LMDB (DTRB layout) for training and evaluation.

``lmdb_reader.parse`` streams an LMDB once (conversion); training draws samples by index from many
processes, so ``LmdbWords`` opens the environment lazily in each process that reads (an LMDB handle
must not cross a ``fork``) and reads one sample per call. Keys: ``num-samples``, ``image-%09d``,
``label-%09d`` and, from the project's synth, the optional ``mask-%09d`` (8-bit PNG, the image's size,
255 = glyph); indices here are 0-based (key ``k + 1``). Other keys are ignored.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import lmdb
import numpy as np

from stages.dataset.images import decode_image


@dataclass
class Word:
    """One sample: RGB (h, w, 3) uint8 crop (None when it does not decode), its label, its glyph mask
    ((h, w) float32 in [0, 1], None when the LMDB has none)."""

    image: np.ndarray | None
    label: str
    mask: np.ndarray | None


def lmdb_folder(path: Path | str) -> Path:
    """The LMDB environment folder of a dataset input: the folder itself when it holds ``data.mdb``, else
    its ``lmdb/``, ``words.lmdb/`` or ``crops.lmdb/`` subfolder (stage outputs that also hold other files;
    ``crops.lmdb/`` is the word crops of a synth scene split or a detection convert)."""
    path = Path(path)
    for folder in (path, path / "lmdb", path / "words.lmdb", path / "crops.lmdb"):
        if (folder / "data.mdb").is_file():
            return folder
    raise FileNotFoundError(f"recognition dataset {path}: no LMDB "
                            "(no data.mdb in it, its lmdb/, words.lmdb/ or crops.lmdb/)")


_ENVS: dict[tuple[int, str], lmdb.Environment] = {}  # (process id, folder) -> its open environment


def _open(folder: Path) -> lmdb.Environment:
    """This process's read-only handle on ``folder`` (LMDB allows one environment per folder and process,
    so every reader of the folder in the process shares it; a forked child opens its own)."""
    key = (os.getpid(), str(Path(folder).resolve()))
    if key not in _ENVS:
        # A DataLoader worker forked from a process that had the folder open inherits that handle, and
        # lmdb refuses a second one ("already open in this process"): close the inherited copy (this
        # process's own mapping and file descriptor only) before opening its own.
        for inherited in [k for k in _ENVS if k[1] == key[1]]:
            _ENVS.pop(inherited).close()
        _ENVS[key] = lmdb.open(key[1], readonly=True, lock=False, readahead=False, meminit=False, max_readers=64)
    return _ENVS[key]


class LmdbWords:
    """The samples of one LMDB by 0-based index; picklable (each process opens its own handle)."""

    def __init__(self, path: Path | str):
        self.folder = lmdb_folder(path)
        with _open(self.folder).begin() as txn:
            raw = txn.get(b"num-samples")
        if raw is None or not raw.strip().isdigit():
            raise ValueError(f"recognition dataset {self.folder}: 'num-samples' missing or not a count: {raw!r}")
        self.count = int(raw)

    def __len__(self) -> int:
        return self.count

    def raw(self, index: int) -> tuple[bytes | None, bytes | None, bytes | None]:
        """(image bytes, label bytes, mask bytes) of sample ``index``; None for a missing key."""
        if not 0 <= index < self.count:
            raise IndexError(f"{self.folder}: sample {index} out of range ({self.count} samples)")
        key = index + 1
        with _open(self.folder).begin(buffers=False) as txn:
            return txn.get(b"image-%09d" % key), txn.get(b"label-%09d" % key), txn.get(b"mask-%09d" % key)

    def __getitem__(self, index: int) -> Word:
        image, label, mask = self.raw(index)
        bgr = decode_image(image) if image else None
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if bgr is not None else None
        glyphs = decode_image(mask, gray=True) if mask else None
        if glyphs is not None and rgb is not None and glyphs.shape != rgb.shape[:2]:
            glyphs = None  # a mask that does not fit its image is no mask
        text = label.decode("utf-8", errors="replace") if label else ""
        return Word(rgb, text, None if glyphs is None else glyphs.astype(np.float32) / 255.0)

    def words(self, limit: int | None = None) -> Iterator[Word]:
        """The first ``limit`` samples (all when None), in order."""
        for index in range(min(self.count, limit or self.count)):
            yield self[index]
