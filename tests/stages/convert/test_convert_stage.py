"""The convert stage end to end: the real ICDAR 2015 parser on its fixture, hand-built records for bad input,
serial (LocalContext) and parallel (real Ray tasks) runs giving byte-identical outputs."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import cv2
import lmdb
import numpy as np
import pyarrow.parquet as pq
import pytest
from pycocotools.coco import COCO
from pydantic import ValidationError

from pipeline.stage import LocalContext
from stages.convert.stage import STAGE, ConvertParams, convert, output_names, run
from stages.dataset.records import CropRecord, ImageRecord, Skipped, TextInstance

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "icdar2015" / "gt"
IC15_IMAGES = ["img_1", "img_40", "img_68", "img_108", "img_415"]


def _noise_image(path: Path, width: int, height: int, seed: int) -> None:
    image = np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8)
    cv2.imwrite(str(path), cv2.GaussianBlur(image, (5, 5), 0))  # blurred: realistic JPEG sizes


@pytest.fixture(scope="module")
def ic15_input(tmp_path_factory) -> Path:
    """A download-stage-like folder: gt/ (the real ICDAR 2015 test files) and images/ (1280 x 720 stand-ins)."""
    root = tmp_path_factory.mktemp("ic15")
    shutil.copytree(FIXTURE, root / "gt")
    (root / "images").mkdir()
    for seed, stem in enumerate(IC15_IMAGES):
        _noise_image(root / "images" / f"{stem}.jpg", 1280, 720, seed)
    return root


def _params(**kw) -> ConvertParams:
    return ConvertParams(**{"format": "icdar2015", "annotations": "gt", "images": "images", **kw})


def _digests(out: Path) -> dict[str, str]:
    files = [p for p in sorted(out.rglob("*")) if p.is_file()]
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _read_lmdb(root: Path) -> list[tuple[bytes, str]]:
    env = lmdb.open(str(root), readonly=True, lock=False, readahead=False, meminit=False)
    with env.begin() as txn:
        n = int(txn.get(b"num-samples"))
        rows = [(txn.get(b"image-%09d" % i), txn.get(b"label-%09d" % i).decode()) for i in range(1, n + 1)]
    env.close()
    return rows


def test_det_with_crops_on_icdar2015(ic15_input, tmp_path):
    result = run(_params(crops=True), {"data": ic15_input}, tmp_path, LocalContext(num_cpus=2))
    assert result.outputs == {"images": "images", "annotations": "annotations.json", "manifest": "manifest.parquet",
                              "crops": "crops.lmdb", "crops_manifest": "crops.parquet"}
    assert set(result.outputs) == set(STAGE.outputs(_params(crops=True)))
    # 5 files, 74 lines, 42 of them '###'; every quad of the test GT is valid and inside 1280 x 720.
    assert result.counts["items"] == 5 and result.counts["bad_items"] == 0
    assert (result.counts["images"], result.counts["instances"], result.counts["ignored_instances"]) == (5, 74, 42)
    assert result.counts["crops"] == 32

    coco = COCO(str(tmp_path / "annotations.json"))
    assert [coco.imgs[i]["file_name"] for i in sorted(coco.imgs)] == [
        f"{s}.jpg" for s in ["img_1", "img_40", "img_68", "img_108", "img_415"]]
    assert coco.imgs[1]["width"] == 1280 and coco.imgs[1]["height"] == 720
    assert len(coco.getAnnIds(iscrowd=False)) == 32
    cafe = [a for a in coco.anns.values() if a["text"] == "CAFÉ"]
    assert len(cafe) == 1 and coco.annToMask(cafe[0]).sum() > 0.5 * cafe[0]["area"]
    for stem in IC15_IMAGES:  # hard links, not copies
        assert (tmp_path / "images" / f"{stem}.jpg").samefile(ic15_input / "images" / f"{stem}.jpg")

    manifest = pq.read_table(tmp_path / "manifest.parquet").to_pylist()
    assert [(r["file_name"], r["n_instances"], r["n_ignore"]) for r in manifest][:2] == [("img_1.jpg", 8, 8),
                                                                                         ("img_40.jpg", 7, 1)]
    assert manifest[0]["digest"] == hashlib.sha256((ic15_input / "images" / "img_1.jpg").read_bytes()).hexdigest()

    crops = _read_lmdb(tmp_path / "crops.lmdb")
    labels = [label for _, label in crops]
    assert "CAFÉ" in labels and "$5,50" in labels and "B1," in labels and "###" not in labels
    crop_rows = pq.read_table(tmp_path / "crops.parquet").to_pylist()
    assert [r["label"] for r in crop_rows] == labels and [r["index"] for r in crop_rows] == list(range(1, 33))
    first = cv2.imdecode(np.frombuffer(crops[0][0], np.uint8), cv2.IMREAD_COLOR)
    assert first.shape[:2] == (crop_rows[0]["height"], crop_rows[0]["width"])
    assert crop_rows[0]["source_image"] == "img_40.jpg"


def test_same_input_gives_identical_bytes_for_any_shard_count(ic15_input, tmp_path):
    digests = []
    for shards in (1, 3):
        out = tmp_path / f"s{shards}"
        run(_params(crops=True, shards=shards), {"data": ic15_input}, out, LocalContext())
        digests.append(_digests(out))
    assert "crops.lmdb/data.mdb" in digests[0] and "annotations.json" in digests[0]
    assert digests[0] == digests[1]


def test_ray_tasks_give_the_same_output(ic15_input, tmp_path, ray_local):
    from pipeline.context import RayStageContext

    local, remote = tmp_path / "local", tmp_path / "ray"
    run(_params(crops=True), {"data": ic15_input}, local, LocalContext())
    ctx = RayStageContext("convert", "test", num_cpus=2, num_gpus=0, run=None)
    result = run(_params(crops=True, shards=2), {"data": ic15_input}, remote, ctx)
    assert result.counts["crops"] == 32
    assert _digests(local) == _digests(remote)


def _word_files(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"word_{i}.png"
        cv2.imwrite(str(path), np.full((16, 40 + i, 3), 8 * i, np.uint8))
        paths.append(path)
    return paths


def test_rec_stores_ready_crops_unchanged_and_skips_bad_ones(tmp_path):
    words = _word_files(tmp_path / "in" / "words", 30)
    (tmp_path / "in" / "words" / "broken.png").write_bytes(b"\x89PNG broken")
    items = [CropRecord(f"label{i}", image_path=p, source=f"list.txt:{i + 1}") for i, p in enumerate(words)]
    items.insert(3, CropRecord("bad", image_path=tmp_path / "in" / "words" / "broken.png", source="list.txt:99"))
    (tmp_path / "in" / "words" / "empty.png").write_bytes(b"")  # zero-byte files occur in MJSynth
    items.insert(7, CropRecord("empty", image_path=tmp_path / "in" / "words" / "empty.png", source="list.txt:98"))
    items.insert(9, CropRecord("gone", image_path=tmp_path / "in" / "words" / "gone.png", source="list.txt:97"))
    items.append(CropRecord("inline", image_bytes=words[0].read_bytes(), source="db:1"))
    params = ConvertParams(format="icdar2015", annotations="list.txt", images="words", task="rec", shards=2,
                           max_bad_fraction=0.2)
    result = convert(iter(items), params, tmp_path / "in", tmp_path / "out", LocalContext())
    assert result.outputs == {"crops": "crops.lmdb", "manifest": "manifest.parquet"}
    assert result.counts["crops"] == 31 and result.counts["bad_items"] == 3
    assert (result.counts["unreadable_image"], result.counts["empty_image"],
            result.counts["missing_image"]) == (1, 1, 1)
    assert result.extra["first_bad"].startswith("list.txt:99: unreadable_image")
    stored = _read_lmdb(tmp_path / "out" / "crops.lmdb")
    assert [label for _, label in stored] == [f"label{i}" for i in range(30)] + ["inline"]
    assert stored[5][0] == words[5].read_bytes()  # ready-made images are not re-encoded
    rows = pq.read_table(tmp_path / "out" / "manifest.parquet").to_pylist()
    assert rows[5] == {"index": 6, "label": "label5", "width": 45, "height": 16, "source_image": "word_5.png",
                       "instance": -1}


def _scene(tmp_path: Path, n_good: int) -> tuple[Path, list]:
    """n_good readable images with one fine word each, plus one missing, one corrupt image and one image
    whose only polygon is degenerate; returns (input root, items)."""
    root = tmp_path / "in"
    (root / "images").mkdir(parents=True)
    items: list = []
    for i in range(n_good):
        _noise_image(root / "images" / f"g{i}.png", 64, 48, i)
        items.append(ImageRecord(root / "images" / f"g{i}.png", instances=[
            TextInstance([(-4, 5), (40, 5), (40, 20), (-4, 20)], f"w{i}")], source=f"gt_g{i}.txt"))
    (root / "images" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    _noise_image(root / "images" / "flat.png", 64, 48, 99)
    items += [
        Skipped("missing_image", "gt_missing.txt", "no image with stem missing"),
        ImageRecord(root / "images" / "corrupt.jpg", source="gt_corrupt.txt"),
        ImageRecord(root / "images" / "flat.png", instances=[TextInstance([(1, 1), (2, 2), (3, 3)], "x")],
                    source="gt_flat.txt:1"),
    ]
    return root, items


def test_bad_items_are_counted_below_the_limit(tmp_path):
    root, items = _scene(tmp_path, 60)  # 3 bad of 63 = 4.8%
    result = convert(items, _params(crops=True), root, tmp_path / "out", LocalContext())
    counts = result.counts
    assert (counts["items"], counts["bad_items"], counts["images"]) == (63, 3, 61)
    assert counts["missing_image"] == 1 and counts["unreadable_image"] == 1 and counts["zero_area"] == 1
    assert counts["clipped"] == 60 and counts["crops"] == 60
    assert result.metrics["data/bad_fraction"] == pytest.approx(3 / 63)
    assert result.extra["first_bad"].startswith("gt_missing.txt: missing_image")
    ann = json.loads((tmp_path / "out" / "annotations.json").read_text())
    assert ann["annotations"][0]["segmentation"] == [[0, 5, 40, 5, 40, 20, 0, 20]]


def test_too_many_bad_items_fail_naming_the_first(tmp_path):
    root, items = _scene(tmp_path, 20)  # 3 bad of 23 = 13%
    with pytest.raises(ValueError) as err:
        convert(items, _params(), root, tmp_path / "out", LocalContext())
    message = str(err.value)
    assert "3 of 23 items are bad" in message and "first: gt_missing.txt: missing_image" in message
    assert "'unreadable_image': 1" in message and "'zero_area': 1" in message
    convert(items, _params(max_bad_fraction=0.2), root, tmp_path / "ok", LocalContext())


def test_det_refuses_a_recognition_set_and_empty_input(tmp_path):
    with pytest.raises(ValueError, match="yields word crops.*task: rec"):
        convert([CropRecord("a", image_path=tmp_path / "a.png", source="l.txt:1")], _params(), tmp_path,
                tmp_path / "out", LocalContext())
    with pytest.raises(ValueError, match="no items"):
        convert([], _params(), tmp_path, tmp_path / "out2", LocalContext())


def test_params_are_validated():
    with pytest.raises(ValidationError, match="unknown dataset format 'nope'; valid formats: .*icdar2015"):
        ConvertParams(format="nope", annotations="a", images="b")
    with pytest.raises(ValidationError, match="relative to the input folder"):
        ConvertParams(format="icdar2015", annotations="/abs/gt", images="b")
    with pytest.raises(ValidationError, match="extra"):
        ConvertParams(format="icdar2015", annotations="a", images="b", colour="red")
    assert output_names(_params(task="rec")) == ["crops", "manifest"]
    assert output_names(_params()) == ["images", "annotations", "manifest"]


def test_many_small_windows_keep_record_order(tmp_path, monkeypatch):
    import stages.convert.stage as stage

    words = _word_files(tmp_path / "in" / "words", 25)
    items = [CropRecord(f"w{i}", image_path=p, source=f"l:{i}") for i, p in enumerate(words)]
    params = ConvertParams(format="icdar2015", annotations="l", images="words", task="rec", shards=3)
    convert(items, params, tmp_path / "in", tmp_path / "one_window", LocalContext())
    monkeypatch.setattr(stage, "WINDOW_COST", 2)  # 6 items a window: 5 windows, 3 slices each
    convert(items, params, tmp_path / "in", tmp_path / "windows", LocalContext())
    assert [label for _, label in _read_lmdb(tmp_path / "windows" / "crops.lmdb")] == [f"w{i}" for i in range(25)]
    assert _digests(tmp_path / "one_window") == _digests(tmp_path / "windows")
