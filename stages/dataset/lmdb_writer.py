"""Write a recognition LMDB in the deep-text-recognition-benchmark layout.

Keys (1-based): ``image-%09d`` -> encoded image bytes, ``label-%09d`` -> UTF-8 label, and ``num-samples``
-> the sample count as ASCII digits, written last so a half-written database is recognisably incomplete.
That project's ``LmdbDataset``, ABINet/BINet and MMOCR read it unchanged.

An optional ``mask-%09d`` per sample holds the word's glyph mask (an 8-bit PNG the size of the image,
255 = glyph pixel) for recognizers with a text-segmentation branch; readers that do not know the key
ignore it.
"""
from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Sequence

import lmdb

DEFAULT_MAP_SIZE = 1 << 30  # 1 GiB to start; doubled whenever a commit does not fit


class LmdbWriter:
    """Append (image, label) samples to a new LMDB folder; use as a context manager.

    Samples are buffered and committed every ``commit_every`` puts, so memory holds at most one batch.
    The environment is opened without a lock file: one writer owns the folder while it is being built,
    and leaving no ``lock.mdb`` (which records process ids) keeps the output byte-identical across runs.

    Commits do not wait for the disk: after each one a background thread flushes the data file
    (``fdatasync``) while the caller prepares the next batch, and ``close`` makes the whole database
    durable. Flushing only at the end would leave the whole database's write-back to ``close``, where
    nothing else can run beside it.
    """

    def __init__(self, path: Path | str, map_size: int = DEFAULT_MAP_SIZE, commit_every: int = 1000):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._env = lmdb.open(str(self.path), map_size=map_size, lock=False, sync=False, meminit=True)
        self._data_fd = os.open(self.path / "data.mdb", os.O_RDONLY)
        self._flusher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lmdb-flush")
        self._flushing: Future | None = None
        self._commit_every = commit_every
        self._pending: list[tuple[bytes, bytes]] = []
        self._count = 0
        self._closed = False

    def __enter__(self) -> "LmdbWriter":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    @property
    def count(self) -> int:
        """Samples put so far."""
        return self._count

    def put(self, image_bytes: bytes, label: str, mask_bytes: bytes | None = None) -> int:
        """Queue one sample (and its encoded glyph mask, if any); returns its 1-based index (the ``%09d``
        in its keys)."""
        masks = None if mask_bytes is None else (mask_bytes,)
        return self.put_many((image_bytes,), (label.encode("utf-8"),), masks)

    def put_many(self, images: Sequence[bytes], labels: Sequence[bytes],
                 masks: Sequence[bytes] | None = None) -> int:
        """Queue samples in order, labels already UTF-8, with their ``mask-%09d`` values when ``masks`` is
        given; returns the first one's index. Commits fall every ``commit_every`` samples however the
        samples were grouped, so the same samples give the same file."""
        if self._closed:
            raise ValueError(f"{self.path}: LmdbWriter is closed")
        if len(images) != len(labels) or (masks is not None and len(masks) != len(images)):
            raise ValueError(f"{self.path}: {len(images)} images but {len(labels)} labels"
                             + ("" if masks is None else f" and {len(masks)} masks"))
        first = self._count + 1
        pending = self._pending
        for k, (image, label) in enumerate(zip(images, labels)):
            self._count += 1
            pending.append((b"image-%09d" % self._count, image))
            pending.append((b"label-%09d" % self._count, label))
            if masks is not None:
                pending.append((b"mask-%09d" % self._count, masks[k]))
            if self._count % self._commit_every == 0:
                self._flush()
                self._flush_in_background()
        return first

    def close(self) -> None:
        """Commit what is pending, write ``num-samples``, flush to disk and close."""
        if self._closed:
            return
        self._pending.append((b"num-samples", str(self._count).encode("ascii")))
        self._flush()
        self._stop_flusher()
        self._env.sync(True)
        self._env.close()
        self._closed = True

    def abort(self) -> None:
        """Close without committing pending samples or ``num-samples`` (the output is incomplete)."""
        if not self._closed:
            self._pending.clear()
            self._stop_flusher()
            self._env.close()
            self._closed = True

    def _flush_in_background(self) -> None:
        """Start writing committed pages to disk unless the previous flush is still running."""
        if self._flushing is None or self._flushing.done():
            if self._flushing is not None:
                self._flushing.result()  # an I/O error surfaces here, not at close
            self._flushing = self._flusher.submit(os.fdatasync, self._data_fd)

    def _stop_flusher(self) -> None:
        # A failed background flush needs no report here: close's final sync meets the same I/O error.
        self._flusher.shutdown(wait=True)
        os.close(self._data_fd)

    def _flush(self) -> None:
        """Write the pending batch in one transaction, growing the map until it fits."""
        while self._pending:
            try:
                with self._env.begin(write=True) as txn:
                    txn.cursor().putmulti(self._pending)  # one call into C for the whole batch
                self._pending.clear()
            except lmdb.MapFullError:
                # The failed transaction was aborted, so nothing of the batch is in the file: retry it whole.
                self._env.set_mapsize(self._env.info()["map_size"] * 2)
