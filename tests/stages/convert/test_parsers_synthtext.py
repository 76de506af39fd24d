"""SynthText parser on a gt.mat in the native layout (built by tests/fixtures/synthtext/make_fixture.py
from real SynthText crops and character quads)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from stages.convert.parsers import get_parser, synthtext
from stages.dataset.records import ImageRecord, ParseError, Skipped

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "synthtext"


def _cell(values: list) -> np.ndarray:
    arr = np.empty((1, len(values)), dtype=object)
    for i, v in enumerate(values):
        arr[0, i] = v
    return arr


def test_reads_fixture():
    items = list(get_parser("synthtext")(FIXTURE / "gt.mat", FIXTURE / "imgs"))
    assert [type(i).__name__ for i in items] == ["ImageRecord", "ImageRecord", "Skipped", "Skipped"]
    assert [(s.reason, s.source) for s in items[2:]] == [("missing_image", "gt.mat:3"),
                                                          ("word_count_mismatch", "gt.mat:4")]
    single, multi = items[0], items[1]

    # Entry 1: wordBB stored as 2x4 (one word); char quads are the toy set's char_box values.
    assert single.image_path == FIXTURE / "imgs" / "1" / "resort_88_101_1.png" and single.source == "gt.mat:1"
    (word,) = single.instances
    assert word.text == "From:" and not word.ignore
    assert word.polygon == [(11.0, 0.0), (69.0, 2.0), (63.0, 12.0), (0.0, 12.0)]
    assert [c for c, _ in word.chars] == list("From:")
    assert word.chars[0][1] == [(11.0, 0.0), (22.0, 0.0), (12.0, 12.0), (0.0, 12.0)]

    # Entry 2: txt ["out\nthe", "fast   "] -> three words, chars split per word in order.
    assert [i.text for i in multi.instances] == ["out", "the", "fast"]
    assert ["".join(c for c, _ in i.chars) for i in multi.instances] == ["out", "the", "fast"]
    # 'o' of "out": toy char_box [0,5, 7,5, 9,15, 2,15] pasted at (5, 5).
    assert multi.instances[0].chars[0][1] == [(5.0, 10.0), (12.0, 10.0), (14.0, 20.0), (7.0, 20.0)]
    # 'f' of "fast": toy [22,19, 30,15, 20,51, 12,54] pasted at (5 + 24 + 5 + 39 + 5, 5) = (78, 5).
    assert multi.instances[2].chars[0][1] == [(100.0, 24.0), (108.0, 20.0), (98.0, 56.0), (90.0, 59.0)]


def test_single_char_and_char_mismatch(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"x")
    quad = np.array([[1.0, 9.0, 9.0, 1.0], [2.0, 2.0, 8.0, 8.0]])  # (2, 4): x row, y row
    scipy.io.savemat(tmp_path / "gt.mat", {
        "imnames": _cell(["a.jpg", "a.jpg"]),
        "wordBB": _cell([quad, np.stack([quad, quad], axis=2)]),
        "charBB": _cell([quad, np.stack([quad, quad], axis=2)]),  # entry 2: 2 boxes for 3 characters
        "txt": _cell([np.array(["I"]), np.array(["I am"])]),
    })
    record, skipped = list(synthtext.parse(tmp_path, tmp_path))  # a folder holding gt.mat works too
    assert isinstance(record, ImageRecord) and record.instances[0].text == "I"
    assert record.instances[0].chars == [("I", [(1.0, 2.0), (9.0, 2.0), (9.0, 8.0), (1.0, 8.0)])]
    assert isinstance(skipped, Skipped) and (skipped.reason, skipped.source) == ("char_count_mismatch", "gt.mat:2")


def test_quads_layout():
    boxes = np.arange(24, dtype=float).reshape(2, 4, 3)  # x = boxes[0, corner, k], y = boxes[1, corner, k]
    q = synthtext.quads(boxes)
    assert q.shape == (3, 4, 2) and tuple(q[2, 1]) == (boxes[0, 1, 2], boxes[1, 1, 2])
    assert synthtext.quads(boxes[:, :, 0]).shape == (1, 4, 2)
    with pytest.raises(ValueError):
        synthtext.quads(np.zeros((3, 4)))


def test_unusable_input_raises(tmp_path):
    (tmp_path / "gt.mat").write_bytes(b"not a MATLAB file at all")
    with pytest.raises(ParseError):
        list(synthtext.parse(tmp_path / "gt.mat", tmp_path))
    scipy.io.savemat(tmp_path / "other.mat", {"imnames": _cell(["a.jpg"])})
    with pytest.raises(ParseError, match="missing variables"):
        list(synthtext.parse(tmp_path / "other.mat", tmp_path))
