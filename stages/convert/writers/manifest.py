"""Parquet manifests: one row per image (detection) or per crop (recognition), streamed in row groups.

These tables are what Ray Data and the samplers read; they never hold pixels, only where to find them.
"""
from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.parquet as pq

# One row per image of a detection set; file_name is relative to the set's images/ folder.
IMAGE_SCHEMA = pa.schema([
    ("file_name", pa.string()),
    ("width", pa.int32()),
    ("height", pa.int32()),
    ("n_instances", pa.int32()),
    ("n_ignore", pa.int32()),
    ("digest", pa.string()),  # sha256 of the image file's bytes
    ("source", pa.string()),  # annotation file (and line) the image came from
])

# One row per word crop; index is the crop's 1-based LMDB key number.
CROP_SCHEMA = pa.schema([
    ("index", pa.int64()),
    ("label", pa.string()),
    ("width", pa.int32()),
    ("height", pa.int32()),
    ("source_image", pa.string()),  # the scene image (or crop file) it was cut from
    ("instance", pa.int32()),  # position of the instance in its image record; -1 for ready-made crops
])

DEFAULT_ROW_GROUP = 10_000


class ManifestWriter:
    """Append rows (dicts) to a Parquet file; holds at most one row group in memory.

    With no schema given, the first row group's inferred schema is used for the whole file.
    """

    def __init__(self, path: Path, schema: pa.Schema | None = None, row_group_size: int = DEFAULT_ROW_GROUP):
        self.path = Path(path)
        self.schema = schema
        self.rows_written = 0
        self._row_group_size = row_group_size
        self._buffer: list[dict[str, Any]] = []
        self._writer: pq.ParquetWriter | None = None
        self._closed = False

    def __enter__(self) -> "ManifestWriter":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        elif self._writer is not None:
            self._writer.close()

    def write(self, row: dict[str, Any]) -> None:
        """Queue one row; a full row group is written out."""
        self._buffer.append(row)
        if len(self._buffer) >= self._row_group_size:
            self._flush()

    def close(self) -> int:
        """Write the last row group and the footer; returns the number of rows. An empty manifest still
        gets a valid file (needs a schema). Closing twice is harmless."""
        if self._closed:
            return self.rows_written
        self._closed = True
        if self._buffer or self._writer is None:
            self._flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        return self.rows_written

    def _flush(self) -> None:
        if self.schema is None:
            if not self._buffer:
                raise ValueError(f"{self.path}: no rows and no schema; cannot write an empty manifest")
            self.schema = pa.Table.from_pylist(self._buffer).schema
        # Column lists, then one conversion per column: several times cheaper than Table.from_pylist.
        columns = {name: [row.get(name) for row in self._buffer] for name in self.schema.names}
        table = pa.Table.from_pydict(columns, schema=self.schema)
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self.path, self.schema)
        if table.num_rows:
            self._writer.write_table(table, row_group_size=self._row_group_size)
        self.rows_written += table.num_rows
        self._buffer.clear()


def write_manifest(rows: Iterable[dict[str, Any]], path: Path, schema: pa.Schema | None = None,
                   row_group_size: int = DEFAULT_ROW_GROUP) -> int:
    """Stream ``rows`` into a Parquet file at ``path`` in row groups; returns the row count.

    ``schema`` fixes column types (see ``IMAGE_SCHEMA``, ``CROP_SCHEMA``); without it, it is inferred from
    the first row group. Keys missing from a row are written as nulls.
    """
    with ManifestWriter(path, schema, row_group_size) as writer:
        for row in rows:
            writer.write(row)
    return writer.rows_written
