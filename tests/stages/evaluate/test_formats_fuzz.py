"""Fuzzing of the evaluation loaders: random and mutated ground-truth and prediction files raise nothing
but the project's ``ParseError``. The example budget per test keeps the module at a few seconds; set
``SCENETEXT_FUZZ_EXAMPLES`` (e.g. 2000) for a longer hunt."""
from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from stages.dataset.records import ParseError
from stages.evaluate.formats import load_gt, load_predictions

FX = Path(__file__).resolve().parents[2] / "fixtures"
EXAMPLES = int(os.environ.get("SCENETEXT_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                derandomize="SCENETEXT_FUZZ_EXAMPLES" not in os.environ,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

GT_TXT = ('1,1,9,1,9,9,1,9,Hello\r\n0,0,10,0,10,10,0,10,1,000\r\n5,5,6,5,6,6,5,6,###\r\n'
          '2,2,3,2,3,3,2,3,"a,\\"b"\r\n').encode()
RES_TXT = b"1,1,9,1,9,9,1,9,0.9\n0,0,10,0,10,10,0,10,0.5\n"
COCO = json.dumps({"images": [{"id": 1, "file_name": "img_1.jpg"}, {"id": 2, "file_name": "img_2.jpg"}],
                   "annotations": [{"image_id": 1, "segmentation": [[0, 0, 5, 0, 5, 5]], "iscrowd": 0, "text": "a"},
                                   {"image_id": 2, "segmentation": [[1, 1, 4, 1, 4, 4, 1, 4]], "iscrowd": 1}]}).encode()
PRED_JSON = json.dumps({"images": [{"file_name": "img_1.jpg", "polygons": [[0, 0, 5, 0, 5, 5]], "scores": [0.5],
                                    "texts": ["a"]}]}).encode()
# Characters that make up (and break) coordinate lines.
LINE_CHARS = st.sampled_from(list("0123456789,,,,-.e \t\"\\#\r\n")
                             + ["nan", "inf", "1e999", "\u00e9", "\ufeff", "\x00"])


def _zip(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    """``seed`` with a few random byte flips, insertions, deletions or a truncation."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(("flip", "insert", "delete", "truncate")))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 16))]
        else:
            del data[at:]
    return bytes(data)


def text_file() -> st.SearchStrategy[bytes]:
    """Random coordinate-like text, random bytes, or a mutated valid file."""
    lines = st.lists(LINE_CHARS, max_size=60).map(lambda cs: "".join(cs).encode("utf-8"))
    return st.one_of(lines, st.binary(max_size=200), mutated(GT_TXT), mutated(RES_TXT))


def _only_parse_errors(fn, *args, **kwargs) -> None:
    try:
        fn(*args, **kwargs)
    except ParseError:
        pass


@FUZZ
@given(data=text_file(), coords=st.sampled_from(("quad", "polygon")), with_text=st.booleans(),
       order=st.sampled_from(("xy", "yx")))
def test_txt_files(data, coords, with_text, order):
    with tempfile.TemporaryDirectory() as tmp:
        gt, res = Path(tmp, "gt"), Path(tmp, "res")
        gt.mkdir(), res.mkdir()
        (gt / "gt_img_1.txt").write_bytes(data)
        (res / "res_img_1.txt").write_bytes(data)
        _only_parse_errors(load_gt, gt, coords=coords)
        if order == "yx" and coords == "quad":
            return  # refused up front, tested elsewhere
        _only_parse_errors(load_predictions, res, gt_ids={"img_1": []}, with_text=with_text, coords=coords, order=order)


@FUZZ
@given(data=st.one_of(mutated(_zip({"gt_img_1.txt": GT_TXT, "gt_img_2.txt": RES_TXT})),
                      mutated(_zip({"res_img_1.txt": RES_TXT}, zipfile.ZIP_STORED)), st.binary(max_size=300)),
       coords=st.sampled_from(("quad", "polygon")))
def test_zip_files(data, coords):
    with tempfile.TemporaryDirectory() as tmp:
        z = Path(tmp, "f.zip")
        z.write_bytes(data)
        _only_parse_errors(load_gt, z, coords=coords)
        _only_parse_errors(load_predictions, z, gt_ids={"img_1": [], "img_2": []}, coords=coords)


@FUZZ
@given(data=st.one_of(mutated(COCO), mutated(PRED_JSON), st.binary(max_size=200),
                      st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=5),
                                   lambda kids: st.lists(kids, max_size=4) | st.dictionaries(
                                       st.sampled_from(["images", "annotations", "id", "file_name", "image_id",
                                                        "segmentation", "polygons", "scores", "texts", "iscrowd"]),
                                       kids, max_size=5), max_leaves=20).map(lambda d: json.dumps(d).encode())),
       with_text=st.booleans())
def test_json_files(data, with_text):
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp, "f.json")
        p.write_bytes(data)
        _only_parse_errors(load_gt, p)
        _only_parse_errors(load_predictions, p, with_text=with_text)


MAT_GT = (FX / "totaltext_eval" / "Groundtruth" / "poly_gt_img1.mat").read_bytes()
MAT_PRED = (FX / "totaltext_eval" / "Prediction" / "img1.mat").read_bytes()


@settings(FUZZ, max_examples=max(10, EXAMPLES // 4))
@given(data=st.one_of(mutated(MAT_GT), mutated(MAT_PRED), st.binary(max_size=200)))
def test_mat_files(data):
    with tempfile.TemporaryDirectory() as tmp:
        gt, pred = Path(tmp, "gt"), Path(tmp, "pred")
        gt.mkdir(), pred.mkdir()
        (gt / "poly_gt_img1.mat").write_bytes(data)
        (pred / "img1.mat").write_bytes(data)
        _only_parse_errors(load_gt, gt)
        _only_parse_errors(load_predictions, pred)
