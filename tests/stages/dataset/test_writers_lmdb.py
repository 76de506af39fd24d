"""LMDB writer: read back the way deep-text-recognition-benchmark's LmdbDataset reads it."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import cv2
import lmdb
import numpy as np
import pytest
from PIL import Image

from stages.dataset.lmdb_writer import LmdbWriter


def _read_like_dtrb(root: Path) -> list[tuple[Image.Image, str]]:
    """What that project's LmdbDataset does: open read-only without a lock, read num-samples, then for each
    1-based index the image (decoded with PIL, converted to RGB) and its UTF-8 label."""
    env = lmdb.open(str(root), max_readers=32, readonly=True, lock=False, readahead=False, meminit=False)
    samples = []
    with env.begin(write=False) as txn:
        n = int(txn.get(b"num-samples"))
        for index in range(1, n + 1):
            label = txn.get(b"label-%09d" % index).decode("utf-8")
            image = Image.open(io.BytesIO(txn.get(b"image-%09d" % index))).convert("RGB")
            samples.append((image, label))
    env.close()
    return samples


def _png(width: int, height: int, value: int) -> bytes:
    ok, buf = cv2.imencode(".png", np.full((height, width, 3), value, np.uint8))
    assert ok
    return buf.tobytes()


def test_round_trip_in_dtrb_layout(tmp_path):
    labels = ["HELLO", "world", "中文", "a b"]
    with LmdbWriter(tmp_path / "db", commit_every=3) as writer:
        indices = [writer.put(_png(10 + i, 8, 40 * i), label) for i, label in enumerate(labels)]
    assert indices == [1, 2, 3, 4]
    samples = _read_like_dtrb(tmp_path / "db")
    assert [label for _, label in samples] == labels
    assert [image.size for image, _ in samples] == [(10, 8), (11, 8), (12, 8), (13, 8)]
    assert samples[2][0].getpixel((0, 0)) == (80, 80, 80)
    env = lmdb.open(str(tmp_path / "db"), readonly=True, lock=False)
    with env.begin() as txn:
        assert txn.get(b"num-samples") == b"4"
        assert txn.get(b"image-000000000") is None and txn.get(b"label-000000005") is None
        assert cv2.imdecode(np.frombuffer(txn.get(b"image-000000001"), np.uint8), cv2.IMREAD_GRAYSCALE).shape == (8, 10)
    env.close()


def test_map_grows_when_full(tmp_path):
    payload = np.random.default_rng(0).integers(0, 255, 20_000, dtype=np.uint8).tobytes()
    with LmdbWriter(tmp_path / "db", map_size=64 * 1024, commit_every=4) as writer:
        for i in range(50):  # ~1 MB into a 64 KiB map
            writer.put(payload, f"w{i}")
    env = lmdb.open(str(tmp_path / "db"), readonly=True, lock=False)
    with env.begin() as txn:
        assert int(txn.get(b"num-samples")) == 50
        assert txn.get(b"image-000000050") == payload and txn.get(b"label-000000050") == b"w49"
    env.close()


def test_same_puts_give_identical_files(tmp_path):
    digests = []
    for name in ("a", "b"):
        with LmdbWriter(tmp_path / name, map_size=32 * 1024, commit_every=2) as writer:
            for i in range(20):
                writer.put(_png(20, 10, i), f"label{i}")
        assert sorted(p.name for p in (tmp_path / name).iterdir()) == ["data.mdb"]  # no lock.mdb
        digests.append(hashlib.sha256((tmp_path / name / "data.mdb").read_bytes()).hexdigest())
    assert digests[0] == digests[1]


def test_put_many_commits_where_single_puts_do(tmp_path):
    """Blocks of any size (and memoryviews for images) give the file one put at a time gives."""
    images, labels = [_png(20, 10, i) for i in range(23)], [f"label{i}" for i in range(23)]
    with LmdbWriter(tmp_path / "one", map_size=32 * 1024, commit_every=4) as writer:
        for image, label in zip(images, labels):
            writer.put(image, label)
    with LmdbWriter(tmp_path / "blocks", map_size=32 * 1024, commit_every=4) as writer:
        firsts = [writer.put_many([memoryview(image) for image in images[start:start + 7]],
                                  [label.encode() for label in labels[start:start + 7]])
                  for start in range(0, 23, 7)]
    assert firsts == [1, 8, 15, 22]
    assert (tmp_path / "one" / "data.mdb").read_bytes() == (tmp_path / "blocks" / "data.mdb").read_bytes()
    with pytest.raises(ValueError, match="2 images but 1 labels"):
        LmdbWriter(tmp_path / "bad").put_many(images[:2], [b"x"])


def test_failure_inside_the_block_leaves_no_num_samples(tmp_path):
    with pytest.raises(RuntimeError):
        with LmdbWriter(tmp_path / "db", commit_every=1) as writer:
            writer.put(_png(4, 4, 0), "x")
            raise RuntimeError("boom")
    env = lmdb.open(str(tmp_path / "db"), readonly=True, lock=False)
    with env.begin() as txn:
        assert txn.get(b"num-samples") is None
    env.close()
    with pytest.raises(ValueError, match="closed"):
        writer.put(b"", "y")


def test_glyph_masks_are_stored_beside_their_samples_and_read_back(tmp_path):
    from stages.dataset.lmdb_reader import parse

    mask = _png(12, 8, 255)
    with LmdbWriter(tmp_path / "db", commit_every=2) as writer:
        writer.put(_png(12, 8, 10), "one", mask_bytes=mask)
        writer.put(_png(12, 8, 20), "two")  # a sample without a mask: no mask key
        writer.put_many([_png(12, 8, 30)], [b"three"], [mask])
    records = list(parse(tmp_path / "db"))
    assert [(r.label, r.mask_bytes) for r in records] == [("one", mask), ("two", None), ("three", mask)]
    assert len(_read_like_dtrb(tmp_path / "db")) == 3  # DTRB's reader ignores the extra keys
    with pytest.raises(ValueError, match="1 images but 1 labels and 2 masks"):
        LmdbWriter(tmp_path / "bad").put_many([b"x"], [b"y"], [b"m", b"n"])
