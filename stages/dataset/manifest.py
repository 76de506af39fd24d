"""Parquet manifests: one row per image (detection) or per crop (recognition), streamed in row groups.

These tables are what Ray Data and the samplers read; they never hold pixels, only where to find them.
"""
from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any, Iterable, Sequence

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
    """Append rows to a Parquet file, one dict at a time (``write``) or a block of columns at a time
    (``write_columns``); holds at most one row group (plus the block being added) in memory.

    Row groups hold exactly ``row_group_size`` rows (the last one fewer) however the rows were added, so the
    same rows give the same file. With no schema given, the first row group's inferred schema is used for
    the whole file.
    """

    def __init__(self, path: Path, schema: pa.Schema | None = None, row_group_size: int = DEFAULT_ROW_GROUP):
        self.path = Path(path)
        self.schema = schema
        self.rows_written = 0
        self._row_group_size = row_group_size
        self._rows: list[dict[str, Any]] = []  # from write(), not yet a table
        self._tables: list[pa.Table] = []  # earlier rows, in order before self._rows
        self._buffered = 0
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
        self._rows.append(row)
        self._buffered += 1
        if self._buffered >= self._row_group_size:
            self._flush()

    def write_columns(self, columns: dict[str, Sequence[Any]]) -> None:
        """Queue a block of rows given column by column (every schema column, equal lengths): for many rows
        several times cheaper than a dict per row. Needs the schema."""
        if self.schema is None:
            raise ValueError(f"{self.path}: write_columns needs a schema")
        self.write_table(pa.Table.from_pydict({name: columns[name] for name in self.schema.names},
                                              schema=self.schema))

    def write_table(self, table: pa.Table) -> None:
        """Queue a block of rows as an Arrow table with exactly the manifest's schema."""
        self._tables_from_rows()  # rows queued by write() go first (and may fix the schema)
        self.schema = self.schema or table.schema
        if not table.schema.equals(self.schema):
            raise ValueError(f"{self.path}: a block's schema differs from the manifest's:\n{table.schema}\n"
                             f"expected:\n{self.schema}")
        self._tables.append(table)
        self._buffered += table.num_rows
        if self._buffered >= self._row_group_size:
            self._flush()

    def close(self) -> int:
        """Write the last row group and the footer; returns the number of rows. An empty manifest still
        gets a valid file (needs a schema). Closing twice is harmless."""
        if self._closed:
            return self.rows_written
        self._closed = True
        if self._buffered or self._writer is None:
            self._flush(final=True)
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        return self.rows_written

    def _tables_from_rows(self) -> None:
        """Turn the rows queued by ``write`` into a table (inferring the schema if there is none yet)."""
        if not self._rows:
            return
        if self.schema is None:
            self.schema = pa.Table.from_pylist(self._rows).schema
        # Column lists, then one conversion per column: several times cheaper than Table.from_pylist.
        columns = {name: [row.get(name) for row in self._rows] for name in self.schema.names}
        self._tables.append(pa.Table.from_pydict(columns, schema=self.schema))
        self._rows = []

    def _flush(self, final: bool = False) -> None:
        """Write the whole row groups buffered (and on ``final`` the rest); keep the remainder."""
        self._tables_from_rows()
        if self.schema is None:
            raise ValueError(f"{self.path}: no rows and no schema; cannot write an empty manifest")
        table = pa.concat_tables(self._tables) if self._tables else self.schema.empty_table()
        size = table.num_rows if final else table.num_rows - table.num_rows % self._row_group_size
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self.path, self.schema)
        if size:
            # One chunk per column: how the blocks arrived must not show in the file's pages.
            self._writer.write_table(table.slice(0, size).combine_chunks(), row_group_size=self._row_group_size)
        self.rows_written += size
        rest = table.slice(size)
        self._tables = [rest] if rest.num_rows else []
        self._buffered = rest.num_rows


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
