"""IIIT5K parser on a testdata.mat in the native struct-array layout (built by make_fixture.py)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from stages.convert.parsers import get_parser, iiit5k
from stages.dataset.records import CropRecord, ParseError, Skipped

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "iiit5k"


def test_reads_fixture():
    items = list(get_parser("iiit5k")(FIXTURE / "testdata.mat", FIXTURE))
    crops = [i for i in items if isinstance(i, CropRecord)]
    assert [(c.label, c.image_path.relative_to(FIXTURE).as_posix(), c.source) for c in crops] == [
        ("GRAND", "test/1002_1.png", "testdata.mat:1"),
        ("HOTEL", "test/1002_2.png", "testdata.mat:2"),
        ("03/09/2009", "test/1009_1.png", "testdata.mat:3"),
        ("PACIFIC", "test/1015_1.png", "testdata.mat:4"),  # no such file: the convert stage skips it on reading
    ]
    assert [(s.reason, s.source) for s in items if isinstance(s, Skipped)] == [("malformed_entry", "testdata.mat:5")]


def test_reads_char_bound_variant(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "1009_2.png").write_bytes(b"png")
    table = np.zeros((1, 1), dtype=[("ImgName", "O"), ("chars", "O"), ("charBB", "O")])
    table[0, 0] = ("train/1009_2.png", "You", np.array([[1.0, 2.0, 10.0, 20.0]] * 3))
    scipy.io.savemat(tmp_path / "trainCharBound.mat", {"trainCharBound": table})
    (crop,) = iiit5k.parse(tmp_path / "trainCharBound.mat", tmp_path)
    assert (crop.label, crop.image_path) == ("You", tmp_path / "train" / "1009_2.png")


def test_unusable_input_raises(tmp_path):
    scipy.io.savemat(tmp_path / "other.mat", {"x": np.zeros((2, 2))})
    with pytest.raises(ParseError, match="ImgName"):
        list(iiit5k.parse(tmp_path / "other.mat", tmp_path))
    with pytest.raises(ParseError):
        list(iiit5k.parse(tmp_path / "absent.mat", tmp_path))
