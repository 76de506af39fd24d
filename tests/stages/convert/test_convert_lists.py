"""The convert stage on word-image lists (textlist, mjsynth; task: rec): the shards parse their own slices
of the list. Checked against the generic path (parse here, records to the shards) on the same list, for
any shard count and slice size, serially and on real Ray tasks."""
from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import lmdb
import numpy as np
import pyarrow.parquet as pq
import pytest

import stages.convert.stage as stage
from pipeline.stage import LocalContext
from stages.convert import list_shards
from stages.convert.list_shards import convert_slice, list_slices, take_images
from stages.convert.parsers import line_format, textlist
from stages.convert.parsers.line_format import count_line_breaks
from stages.convert.stage import ConvertParams, convert, run
from stages.dataset.records import ParseError

MJSYNTH = Path(__file__).resolve().parents[2] / "fixtures" / "mjsynth"


def _digests(out: Path) -> dict[str, str]:
    files = [p for p in sorted(out.rglob("*")) if p.is_file()]
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _labels(out: Path) -> list[str]:
    env = lmdb.open(str(out / "crops.lmdb"), readonly=True, lock=False)
    with env.begin() as txn:
        labels = [txn.get(b"label-%09d" % i).decode() for i in range(1, int(txn.get(b"num-samples")) + 1)]
    env.close()
    return labels


@pytest.fixture(scope="module")
def word_list(tmp_path_factory) -> Path:
    """An input folder: words/ (PNG and JPEG word images, a corrupt and an empty file) and gt.txt, a list
    with a BOM, CRLF and LF ends, tab and space separators, blank, malformed and missing-file lines, a
    ``./`` path, an absolute path under the input (refused: listed names are untrusted), and a label with
    spaces."""
    root = tmp_path_factory.mktemp("list")
    words = root / "words"
    words.mkdir()
    rng = np.random.default_rng(0)
    lines = []
    for i in range(40):
        suffix = ".jpg" if i % 2 else ".png"
        cv2.imwrite(str(words / f"w{i}{suffix}"), rng.integers(0, 255, (16 + i % 5, 30 + i, 3), dtype=np.uint8))
        lines.append(f"words/w{i}{suffix}\tlabel {i}" if i % 3 == 0 else f"words/w{i}{suffix} L{i} extra")
    (words / "corrupt.png").write_bytes(b"\x89PNG not really")
    (words / "empty.jpg").write_bytes(b"")
    lines[5:5] = ["", "words/corrupt.png\tbad", "  ", "no_label_here", "words/gone.png\tgone"]
    lines[20:20] = ["./words/w1.jpg\tdot", f"{words / 'w2.png'}\tabsolute", "words/empty.jpg\tempty"]
    text = "\r\n".join(lines[:25]) + "\r\n" + "\n".join(lines[25:]) + "\n"
    (root / "gt.txt").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    return root


def _params(**kw) -> ConvertParams:
    return ConvertParams(**{"format": "textlist", "annotations": "gt.txt", "images": ".", "task": "rec",
                            "max_bad_fraction": 0.2, **kw})


def test_a_list_gives_the_generic_paths_output(word_list, tmp_path):
    listed = run(_params(shards=2), {"data": word_list}, tmp_path / "list", LocalContext())
    items = textlist.parse(word_list / "gt.txt", word_list)
    generic = convert(items, _params(shards=2), word_list, tmp_path / "generic", LocalContext())
    assert _digests(tmp_path / "list") == _digests(tmp_path / "generic")
    assert listed.counts == generic.counts and listed.extra == generic.extra
    counts = listed.counts
    assert (counts["items"], counts["crops"], counts["bad_items"]) == (46, 41, 5)
    assert (counts["malformed_line"], counts["missing_image"], counts["unreadable_image"],
            counts["empty_image"], counts["unsafe_path"]) == (1, 1, 1, 1, 1)
    assert listed.extra["first_bad"].startswith("gt.txt:7: unreadable_image")
    rows = pq.read_table(tmp_path / "list" / "manifest.parquet").to_pylist()
    assert rows[0] == {"index": 1, "label": "label 0", "width": 30, "height": 16, "source_image": "words/w0.png",
                       "instance": -1}
    by_label = {row["label"]: row["source_image"] for row in rows}
    assert by_label["dot"] == "words/w1.jpg" and "absolute" not in by_label
    assert not (tmp_path / "list" / ".spill").exists()


def test_shard_count_and_slice_size_do_not_change_the_output(word_list, tmp_path, monkeypatch):
    run(_params(shards=1), {"data": word_list}, tmp_path / "one", LocalContext())
    monkeypatch.setattr(stage, "SLICE_BYTES", 40)  # a slice or two per line: many batches
    result = run(_params(shards=3), {"data": word_list}, tmp_path / "many", LocalContext())
    assert _digests(tmp_path / "one") == _digests(tmp_path / "many")
    assert _labels(tmp_path / "many")[:3] == ["label 0", "L1", "L2"] and result.counts["crops"] == 41


def test_ray_tasks_give_the_same_output(word_list, tmp_path, ray_local):
    from pipeline.context import RayStageContext

    run(_params(shards=1), {"data": word_list}, tmp_path / "local", LocalContext())
    ctx = RayStageContext("convert", "test", num_cpus=2, num_gpus=0, run=None)
    run(_params(shards=2), {"data": word_list}, tmp_path / "ray", ctx)
    assert _digests(tmp_path / "local") == _digests(tmp_path / "ray")


def test_mjsynth_fixture(tmp_path):
    params = ConvertParams(format="mjsynth", annotations="annotation.txt", images=".", task="rec",
                           max_bad_fraction=0.6)
    result = run(params, {"data": MJSYNTH}, tmp_path / "out", LocalContext())
    assert _labels(tmp_path / "out") == ["GRAND", "Virgin", "america"]
    counts = result.counts
    assert (counts["items"], counts["missing_image"], counts["empty_image"], counts["malformed_line"]) == (7, 1, 1, 2)
    assert result.extra["first_bad"].startswith("annotation.txt:4: missing_image")
    rows = pq.read_table(tmp_path / "out" / "manifest.parquet").to_pylist()
    assert rows[0]["source_image"] == "2697/6/466_GRAND_34570.jpg"


def test_slices_cover_the_list_and_know_their_line_numbers(tmp_path):
    text = b"a.png x\nb.png y\r\nc.png z\rd.png w\n\ne.png v"  # LF, CRLF, CR; no final line end
    (tmp_path / "gt.txt").write_bytes(text)
    fmt = line_format("textlist", tmp_path / "gt.txt")
    slices = list(list_slices(tmp_path / "gt.txt", tmp_path, tmp_path, fmt, 5))
    assert b"".join(text[s.start:s.end] for s in slices) == text
    assert len(slices) > 2 and all(text[s.end - 1:s.end] == b"\n" for s in slices[:-1])
    assert [s.first_line for s in slices] == [1 + count_line_breaks(text[:s.start]) for s in slices]
    sources = [skip.source for s in slices for skip in convert_slice(s).skipped]
    assert sources == ["gt.txt:1", "gt.txt:2", "gt.txt:3", "gt.txt:4", "gt.txt:6"]  # missing files, by line


def test_a_list_that_is_not_utf8_fails_naming_the_line(tmp_path, monkeypatch):
    lines = [f"w{i}.png L{i}" for i in range(30)]
    lines[23] = "w23.png caf\xe9"
    (tmp_path / "gt.txt").write_bytes("\n".join(lines).encode("latin-1"))
    monkeypatch.setattr(stage, "SLICE_BYTES", 50)
    with pytest.raises(ParseError, match=r"gt.txt:24: not UTF-8"):
        run(_params(), {"data": tmp_path}, tmp_path / "out", LocalContext())
    assert not (tmp_path / "out" / ".spill").exists()
    with pytest.raises(ParseError, match="absent.txt: cannot read"):
        run(_params(annotations="absent.txt"), {"data": tmp_path}, tmp_path / "out2", LocalContext())


def test_images_travel_by_file_only_where_the_shard_sees_the_folder(word_list, tmp_path):
    fmt = line_format("textlist", word_list / "gt.txt")
    first = next(list_slices(word_list / "gt.txt", word_list / ".", word_list, fmt, 1 << 20, tmp_path / "absent"))
    in_band = convert_slice(first)
    assert in_band.spill_file == "" and len(in_band.images) == 41
    (tmp_path / "spill").mkdir()
    spilled = convert_slice(list_shards.ListSlice(**{**first.__dict__, "spill": str(tmp_path / "spill")}))
    assert spilled.images == [] and Path(spilled.spill_file).is_file()
    assert [bytes(view) for view in take_images(spilled)] == in_band.images
    assert not Path(spilled.spill_file).exists()  # mapped, then deleted at once


def test_det_task_and_json_lists_take_the_generic_path(word_list, tmp_path):
    assert line_format("textlist", word_list / "labels.json") is None
    assert line_format("icdar2015", word_list / "gt.txt") is None
    with pytest.raises(ValueError, match="yields word crops.*task: rec"):
        run(_params(task="det"), {"data": word_list}, tmp_path / "det", LocalContext())
