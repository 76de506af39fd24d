"""Reader of existing deep-text-recognition-benchmark LMDBs, on an LMDB built here with the lmdb package."""
from __future__ import annotations

from pathlib import Path

import lmdb
import pytest

from stages.convert.parsers import get_parser
from stages.dataset import lmdb_reader
from stages.dataset.records import CropRecord, ParseError, Skipped

CROPS = Path(__file__).resolve().parents[2] / "fixtures" / "textlist" / "imgs"


def _write_lmdb(path: Path, entries: dict[bytes, bytes]) -> Path:
    env = lmdb.open(str(path), map_size=1 << 22)
    with env.begin(write=True) as txn:
        for key, value in entries.items():
            txn.put(key, value)
    env.close()
    return path


def test_reads_samples_in_order(tmp_path):
    grand = (CROPS / "1223731.jpg").read_bytes()
    hotel = (CROPS / "1223733.jpg").read_bytes()
    db = _write_lmdb(tmp_path / "benchmark", {
        b"num-samples": b"6",
        b"image-000000001": grand, b"label-000000001": b"GRAND",
        b"image-000000002": hotel, b"label-000000002": "Café".encode("utf-8"),
        b"image-000000003": hotel,  # no label
        b"image-000000004": hotel, b"label-000000004": b"\xff\xfe",  # not UTF-8
        b"label-000000005": b"LOST",  # no image
        b"image-000000006": b"", b"label-000000006": b"EMPTY",
    })
    items = list(get_parser("lmdb")(db, tmp_path / "unused"))
    crops = [i for i in items if isinstance(i, CropRecord)]
    assert [(c.label, c.source, c.image_path) for c in crops] == [
        ("GRAND", "benchmark:1", None), ("Café", "benchmark:2", None)]
    assert [c.mask_bytes for c in crops] == [None, None]  # the DTRB layout has no masks
    assert crops[0].image_bytes == grand and crops[1].image_bytes == hotel
    assert [(s.reason, s.source) for s in items if isinstance(s, Skipped)] == [
        ("missing_label", "benchmark:3"), ("bad_label", "benchmark:4"),
        ("missing_image", "benchmark:5"), ("empty_image", "benchmark:6")]


def test_unusable_input_raises(tmp_path):
    with pytest.raises(ParseError, match="data.mdb"):
        list(lmdb_reader.parse(tmp_path))
    _write_lmdb(tmp_path / "nocount", {b"image-000000001": b"x"})
    with pytest.raises(ParseError, match="num-samples"):
        list(lmdb_reader.parse(tmp_path / "nocount"))
    _write_lmdb(tmp_path / "badcount", {b"num-samples": b"ten"})
    with pytest.raises(ParseError, match="integer"):
        list(lmdb_reader.parse(tmp_path / "badcount"))
