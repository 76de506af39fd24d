"""Every convert parser fed random bytes and mutated fixture files: it yields records and skips or raises
``ParseError``, never anything else (property-based, hypothesis).

The example budget per test is ``SCENETEXT_FUZZ_EXAMPLES`` (default 25: the module runs in well under 30 s);
a nightly run sets it higher, e.g. ``SCENETEXT_FUZZ_EXAMPLES=2000``.
"""
from __future__ import annotations

import os
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from stages.convert.parsers import PARSERS
from stages.convert.validate import validate_record
from stages.dataset.records import CropRecord, ImageRecord, ParseError, Skipped

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
EXAMPLES = int(os.environ.get("SCENETEXT_FUZZ_EXAMPLES", "25"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                derandomize="SCENETEXT_FUZZ_EXAMPLES" not in os.environ,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# format -> (file name the parser is given, fixture files whose bytes are mutated). The name's suffix is
# what the parser dispatches on; "data.mdb" goes into an LMDB folder.
SEEDS: dict[str, tuple[str, list[str]]] = {
    "icdar2013": ("gt_img_1.txt", ["icdar2013/test/gt_img_1.txt"]),
    "icdar2015": ("gt_img_1.txt", ["icdar2015/gt/gt_img_1.txt", "icdar2015/gt/gt_img_108.txt"]),
    "totaltext": ("poly_gt_img1.txt", ["totaltext/txt/poly_gt_img1.txt"]),
    "ctw1500": ("0001001.txt", ["ctw1500/test/0001001.txt", "ctw1500/legacy/0005.txt"]),
    "art": ("train_labels.json", ["art/train_labels.json"]),
    "lsvt": ("train_full_labels.json", ["lsvt/train_full_labels.json"]),
    "mlt": ("gt_img_5.txt", ["mlt/gt/gt_img_5.txt", "mlt/gt/tr_img_00001.txt"]),
    "rects": ("train_ReCTS_000001.json", ["rects/train_ReCTS_000001.json"]),
    "rctw17": ("image_0.txt", ["rctw17/gt/image_0.txt"]),
    "synthtext": ("gt.mat", ["synthtext/gt.mat"]),
    "textocr": ("TextOCR_0.1_train.json", ["textocr/TextOCR_0.1_train.json"]),
    "cocotext": ("cocotext.v2.json", ["cocotext/cocotext.v2.json"]),
    "mjsynth": ("annotation.txt", ["mjsynth/annotation.txt"]),
    "iiit5k": ("testdata.mat", ["iiit5k/testdata.mat"]),
    "svt": ("train.xml", ["svt/train.xml"]),
    "textlist": ("old_label.txt", ["textlist/old_label.txt"]),
    "mmocr_textdet": ("textdet_test.json", ["mmocr/textdet_test.json", "mmocr/textspotting_test.json"]),
    "mmocr_textrecog": ("textrecog_test.json", ["mmocr/textrecog_labels.json"]),
    "paddleocr_det": ("Label.txt", ["paddleocr/Label.txt"]),
    "paddleocr_rec": ("rec_gt.txt", ["paddleocr/rec_gt.txt"]),
    "lmdb": ("data.mdb", []),  # LMDB trusts its pages (a corrupted valid file can crash the C library): bytes only
}
# The same formats read from other layouts: a .mat per image, a ctw1500 xml, an MMOCR json list, a zip.
EXTRA_SEEDS: dict[str, tuple[str, list[str]]] = {
    "totaltext": ("poly_gt_img1.mat", ["totaltext/mat/poly_gt_img1.mat", "totaltext/mat/gt_img3.mat"]),
    "ctw1500": ("0200.xml", ["ctw1500/train/0200.xml"]),
    "textlist": ("labels.json", ["textlist/labels.json"]),
    "icdar2015": ("gt.zip", ["icdar2015_gt/gt.zip"]),
}


def test_every_parser_has_seeds():
    assert sorted(SEEDS) == sorted(PARSERS)
    for name, files in [*SEEDS.values(), *EXTRA_SEEDS.values()]:
        assert all((FIXTURES / f).is_file() for f in files), name


def _cases() -> list[tuple[str, str, list[str]]]:
    return [(fmt, *SEEDS[fmt]) for fmt in sorted(SEEDS)] + [(fmt, *EXTRA_SEEDS[fmt]) for fmt in sorted(EXTRA_SEEDS)]


def _consume(fmt: str, file_name: str, data: bytes) -> None:
    """Parse ``data`` written as ``file_name``; fail on any exception but ParseError or any odd item."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "images").mkdir()
        target = root / ("lmdb" if fmt == "lmdb" else "") / file_name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        annotations = target.parent if fmt == "lmdb" else target
        try:
            items = list(PARSERS[fmt](annotations, root / "images"))
        except ParseError as err:
            assert str(err), "a ParseError names the file"
            return
        for item in items:
            assert isinstance(item, (ImageRecord, CropRecord, Skipped)), type(item)
            if isinstance(item, ImageRecord):
                validate_record(item, Counter())  # the records a parser lets through survive the checks


_MUTATION = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 1 << 20), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.integers(0, 1 << 20), st.integers(0, 0)),
    st.tuples(st.just("insert"), st.integers(0, 1 << 20), st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), st.integers(0, 1 << 20), st.integers(1, 64)),
    st.tuples(st.just("text"), st.integers(0, 1 << 20),
              st.sampled_from([b"NaN", b"-inf", b"1e309", b"..", b"../x.jpg", b"/etc/passwd", b"\xff\xfe", b"\x00",
                               b"[]", b"{}", b"null", b"-1", b"99999999999", b'"', b",", b"\n", b"\r", b"<", b"]]"])),
)


def _mutate(data: bytes, mutations: list[tuple]) -> bytes:
    out = bytearray(data)
    for kind, where, what in mutations:
        at = where % (len(out) + 1)
        if kind == "flip" and out:
            out[at % len(out)] ^= what
        elif kind == "cut":
            del out[at:]
        elif kind in ("insert", "text"):
            out[at:at] = what
        elif kind == "delete":
            del out[at:at + what]
    return bytes(out)


@pytest.mark.parametrize("fmt, file_name, seeds", _cases(), ids=lambda v: v if isinstance(v, str) else None)
@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes(fmt, file_name, seeds, data):
    _consume(fmt, file_name, data)


@pytest.mark.parametrize("fmt, file_name, seeds", [c for c in _cases() if c[2]],
                         ids=lambda v: v if isinstance(v, str) else None)
@FUZZ
@given(choice=st.integers(0, 7), mutations=st.lists(_MUTATION, min_size=1, max_size=6))
def test_mutated_fixtures(fmt, file_name, seeds, choice, mutations):
    _consume(fmt, file_name, _mutate((FIXTURES / seeds[choice % len(seeds)]).read_bytes(), mutations))
