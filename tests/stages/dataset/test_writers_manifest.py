"""Parquet manifests: streamed in row groups, typed by the given schema, readable by pyarrow."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stages.dataset.manifest import CROP_SCHEMA, IMAGE_SCHEMA, ManifestWriter, write_manifest


def _image_rows(n: int):
    for i in range(n):
        yield {"file_name": f"img_{i}.jpg", "width": 640, "height": 480, "n_instances": i % 5,
               "n_ignore": i % 2, "digest": f"{i:064x}", "source": f"gt_img_{i}.txt"}


def test_rows_are_written_in_row_groups(tmp_path):
    n = write_manifest(_image_rows(25), tmp_path / "m.parquet", IMAGE_SCHEMA, row_group_size=10)
    assert n == 25
    meta = pq.ParquetFile(tmp_path / "m.parquet").metadata
    assert meta.num_rows == 25 and meta.num_row_groups == 3
    table = pq.read_table(tmp_path / "m.parquet")
    assert table.schema.equals(IMAGE_SCHEMA)
    assert table.column("file_name").to_pylist()[:2] == ["img_0.jpg", "img_1.jpg"]
    assert sum(table.column("n_instances").to_pylist()) == sum(i % 5 for i in range(25))


def test_the_generator_is_consumed_lazily(tmp_path):
    """Row groups are flushed while rows are still being produced: nothing forces the whole list."""
    seen_on_disk = []

    def rows():
        for i, row in enumerate(_image_rows(30)):
            if i == 25:
                seen_on_disk.append((tmp_path / "m.parquet").exists())
            yield row

    write_manifest(rows(), tmp_path / "m.parquet", IMAGE_SCHEMA, row_group_size=10)
    assert seen_on_disk == [True]


def test_schema_is_inferred_and_missing_keys_are_null(tmp_path):
    rows = [{"index": 1, "label": "a"}, {"index": 2}]
    write_manifest(rows, tmp_path / "inferred.parquet")
    assert pq.read_table(tmp_path / "inferred.parquet").to_pylist() == [{"index": 1, "label": "a"},
                                                                         {"index": 2, "label": None}]
    write_manifest([{"index": 7, "label": "x", "width": 30, "height": 10, "source_image": "i.jpg",
                     "instance": -1}], tmp_path / "crops.parquet", CROP_SCHEMA)
    table = pq.read_table(tmp_path / "crops.parquet")
    assert table.schema.field("index").type == pa.int64() and table.column("instance").to_pylist() == [-1]


def test_empty_manifest(tmp_path):
    assert write_manifest([], tmp_path / "empty.parquet", CROP_SCHEMA) == 0
    table = pq.read_table(tmp_path / "empty.parquet")
    assert table.num_rows == 0 and table.schema.equals(CROP_SCHEMA)
    with pytest.raises(ValueError, match="no rows and no schema"):
        write_manifest([], tmp_path / "none.parquet")


def test_closing_twice_keeps_the_file(tmp_path):
    writer = ManifestWriter(tmp_path / "m.parquet", IMAGE_SCHEMA)
    for row in _image_rows(3):
        writer.write(row)
    assert writer.close() == 3 and writer.close() == 3
    assert pq.read_table(tmp_path / "m.parquet").num_rows == 3


def test_blocks_of_columns_and_tables_give_the_file_rows_give(tmp_path):
    """Row groups hold row_group_size rows however the rows arrived, so the bytes are the same."""
    rows = [{"index": i + 1, "label": f"w{i}", "width": 30 + i, "height": 10, "source_image": f"{i}.jpg",
             "instance": -1} for i in range(23)]
    write_manifest(rows, tmp_path / "rows.parquet", CROP_SCHEMA, row_group_size=10)
    with ManifestWriter(tmp_path / "mixed.parquet", CROP_SCHEMA, row_group_size=10) as writer:
        writer.write(rows[0])
        writer.write_columns({name: [row[name] for row in rows[1:8]] for name in CROP_SCHEMA.names})
        writer.write_table(pa.Table.from_pylist(rows[8:21], schema=CROP_SCHEMA))
        for row in rows[21:]:
            writer.write(row)
    assert pq.ParquetFile(tmp_path / "mixed.parquet").metadata.num_row_groups == 3
    assert (tmp_path / "rows.parquet").read_bytes() == (tmp_path / "mixed.parquet").read_bytes()


def test_a_block_with_another_schema_is_refused(tmp_path):
    writer = ManifestWriter(tmp_path / "m.parquet", CROP_SCHEMA)
    with pytest.raises(ValueError, match="m.parquet: a block's schema differs"):
        writer.write_table(pa.table({"index": [1]}))
    with pytest.raises(ValueError, match="write_columns needs a schema"):
        ManifestWriter(tmp_path / "n.parquet").write_columns({"index": [1]})
