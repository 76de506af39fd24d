"""End-to-end tests of the download stage's run() against a real HTTP server on 127.0.0.1."""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from stages.download.errors import ChecksumMismatch, HttpError, SourceMissing, UnsafeArchive
from stages.download.params import DownloadParams
from stages.download.stage import STAGE, run
from tests.stages.download.archives import files_under, md5, sha256, tar_bytes, zip_bytes

FAST = {"backoff_s": 0.01, "timeout_s": 5.0, "http_retries": 2}


def _params(tmp_path: Path, **kw) -> DownloadParams:
    return DownloadParams(name="toy", cache_dir=str(tmp_path / "cache"), **{**FAST, **kw})


def _out(tmp_path: Path, name: str = "out") -> Path:
    out = tmp_path / name
    out.mkdir()
    return out


def _leftovers(out: Path) -> list[str]:
    return [p.name for p in out.iterdir() if p.name.startswith(".extract-")]


def test_stage_def_matches_the_engine_contract():
    assert STAGE.name == "download" and STAGE.version == "1" and STAGE.params is DownloadParams
    assert STAGE.fn is run and STAGE.outputs(None) == ["data"]


def test_zip_and_tar_gz_are_fetched_verified_and_merged_into_data(server, ctx, tmp_path):
    train = zip_bytes({"train/img_1.jpg": b"\xff\xd8jpeg-1", "train/gt_img_1.txt": b"1,1,9,1,9,9,1,9,hello\n"})
    test = tar_bytes([("test/img_2.jpg", b"\xff\xd8jpeg-2"), ("test/gt_img_2.txt", b"2,2,8,2,8,8,2,8,###\n")])
    params = _params(tmp_path, urls=[
        {"url": server.serve("/ic15/train.zip", train), "sha256": sha256(train)},
        {"url": server.serve("/ic15/test.tar.gz", test), "md5": md5(test)},
    ])
    out = _out(tmp_path)
    result = run(params, {}, out, ctx)

    expected = {
        "train/img_1.jpg": b"\xff\xd8jpeg-1", "train/gt_img_1.txt": b"1,1,9,1,9,9,1,9,hello\n",
        "test/img_2.jpg": b"\xff\xd8jpeg-2", "test/gt_img_2.txt": b"2,2,8,2,8,8,2,8,###\n",
    }
    assert files_under(out / "data") == expected
    assert result.outputs == {"data": "data"}
    assert result.counts == {
        "files": 4, "bytes": sum(len(v) for v in expected.values()), "downloaded": 2, "cache_hits": 0,
    }
    assert _leftovers(out) == []
    sources = json.loads((out / "sources.json").read_text())
    assert sources["name"] == "toy"
    assert [s["filename"] for s in sources["sources"]] == ["train.zip", "test.tar.gz"]
    assert sources["sources"][0]["sha256"] == sha256(train) and sources["sources"][1]["md5"] == md5(test)
    # the verified archives are kept in the cache, keyed by checksum
    assert (tmp_path / "cache" / f"sha256-{sha256(train)}" / "train.zip").read_bytes() == train
    assert (tmp_path / "cache" / f"md5-{md5(test)}" / "test.tar.gz").read_bytes() == test


def test_plain_file_is_kept_and_extract_false_keeps_archives(server, ctx, tmp_path):
    labels = b"word_1.png, \"Tiredness\"\n"
    archive = zip_bytes({"a.txt": b"a"})
    params = _params(tmp_path, extract=False, urls=[
        {"url": server.serve("/gt.txt", labels), "sha256": sha256(labels)},
        {"url": server.serve("/dl", archive), "sha256": sha256(archive), "filename": "words.zip"},
    ])
    out = _out(tmp_path)
    result = run(params, {}, out, ctx)
    assert files_under(out / "data") == {"gt.txt": labels, "words.zip": archive}
    assert result.counts["files"] == 2


def test_resume_after_a_cut_connection_sends_range(server, ctx, tmp_path, caplog):
    # incompressible payload so the cut lands in the middle of real data
    payload = os.urandom(300_000)
    archive = tar_bytes([("big/blob.bin", payload)], mode="w")
    url = server.serve("/big.tar", archive)
    server.state.cut_once.add("/big.tar")
    out = _out(tmp_path)
    with caplog.at_level(logging.WARNING, logger="stage.download"):
        result = run(_params(tmp_path, urls=[{"url": url, "sha256": sha256(archive)}]), {}, out, ctx)

    assert server.state.count("/big.tar") == 2
    first, second = (headers for _, headers in server.state.requests)
    assert "Range" not in first
    assert second["Range"] == f"bytes={len(archive) // 2}-"
    assert (out / "data" / "big" / "blob.bin").read_bytes() == payload
    assert result.counts["downloaded"] == 1
    assert any("retry 1/2" in r.getMessage() for r in caplog.records)
    assert not list((tmp_path / "cache").rglob("*.part"))


def test_server_ignoring_range_restarts_cleanly_from_byte_zero(server, ctx, tmp_path):
    payload = os.urandom(200_000)
    url = server.serve("/blob.bin", payload)
    server.state.cut_once.add("/blob.bin")
    server.state.ignore_range = True  # second answer: 200 with the whole body
    out = _out(tmp_path)
    run(_params(tmp_path, urls=[{"url": url, "sha256": sha256(payload)}]), {}, out, ctx)
    assert server.state.requests[1][1]["Range"] == f"bytes={len(payload) // 2}-"
    assert (out / "data" / "blob.bin").read_bytes() == payload


def test_checksum_mismatch_deletes_the_file_and_names_both_digests(server, ctx, tmp_path):
    served = b"this is not the archive you are looking for"
    wrong = sha256(b"the real archive")
    out = _out(tmp_path)
    with pytest.raises(ChecksumMismatch) as info:
        run(_params(tmp_path, urls=[{"url": server.serve("/x.zip", served), "sha256": wrong}]), {}, out, ctx)
    message = str(info.value)
    assert f"expected {wrong}" in message and f"actual {sha256(served)}" in message
    entry = tmp_path / "cache" / f"sha256-{wrong}"
    assert not (entry / "x.zip").exists() and not (entry / "x.zip.part").exists()
    assert not (out / "data").exists()
    assert server.state.count() == 1  # a mismatch is not retried


def test_404_fails_fast_with_url_and_status(server, ctx, tmp_path):
    url = server.base + "/missing.zip"
    with pytest.raises(HttpError) as info:
        run(_params(tmp_path, http_retries=3, backoff_s=5.0, urls=[{"url": url, "md5": "0" * 32}]), {},
            _out(tmp_path), ctx)
    assert info.value.status == 404 and url in str(info.value) and "404" in str(info.value)
    assert server.state.count() == 1


def test_server_errors_are_retried_with_backoff_then_succeed(server, ctx, tmp_path):
    data = b"annotations"
    url = server.serve("/gt.txt", data)
    server.state.fail_status["/gt.txt"] = [503, 500]
    out = _out(tmp_path)
    run(_params(tmp_path, urls=[{"url": url, "sha256": sha256(data)}]), {}, out, ctx)
    assert server.state.count("/gt.txt") == 3
    assert (out / "data" / "gt.txt").read_bytes() == data


def test_mirror_param_replaces_scheme_and_host(server, ctx, tmp_path):
    archive = zip_bytes({"img.jpg": b"jpg"})
    server.serve("/mirror/pub/totaltext.zip", archive)
    params = _params(tmp_path, mirror=server.base + "/mirror/", urls=[
        {"url": "https://datasets.example.invalid/pub/totaltext.zip", "sha256": sha256(archive)},
    ])
    out = _out(tmp_path)
    run(params, {}, out, ctx)
    assert [path for path, _ in server.state.requests] == ["/mirror/pub/totaltext.zip"]
    assert files_under(out / "data") == {"img.jpg": b"jpg"}
    source = json.loads((out / "sources.json").read_text())["sources"][0]
    assert source["url"] == "https://datasets.example.invalid/pub/totaltext.zip"
    assert source["fetched_from"] == server.base + "/mirror/pub/totaltext.zip"


def test_data_mirror_env_is_used_when_no_param(server, ctx, tmp_path, monkeypatch):
    data = b"x" * 10
    server.serve("/files/a.bin", data)
    monkeypatch.setenv("DATA_MIRROR", server.base)
    out = _out(tmp_path)
    run(_params(tmp_path, urls=[{"url": "https://nowhere.example.invalid/files/a.bin", "sha256": sha256(data)}]), {},
        out, ctx)
    assert server.state.count("/files/a.bin") == 1


def test_second_run_is_served_from_the_cache_without_any_request(server, ctx, tmp_path):
    archive = zip_bytes({"gt/a.txt": b"a", "img/a.jpg": b"jpg"})
    params = _params(tmp_path, urls=[{"url": server.serve("/set.zip", archive), "sha256": sha256(archive)}])
    first = run(params, {}, _out(tmp_path, "one"), ctx)
    assert server.state.count() == 1
    second = run(params, {}, _out(tmp_path, "two"), ctx)
    assert server.state.count() == 1
    assert second.counts == {**first.counts, "downloaded": 0, "cache_hits": 1}
    assert files_under(tmp_path / "two" / "data") == files_under(tmp_path / "one" / "data")


def test_a_corrupted_cache_entry_is_fetched_again(server, ctx, tmp_path):
    data = b"labels v1"
    params = _params(tmp_path, urls=[{"url": server.serve("/l.txt", data), "sha256": sha256(data)}])
    run(params, {}, _out(tmp_path, "one"), ctx)
    cached = tmp_path / "cache" / f"sha256-{sha256(data)}" / "l.txt"
    cached.unlink()  # break the hard link shared with one/data before corrupting the cache copy
    cached.write_bytes(b"bit rot")
    result = run(params, {}, _out(tmp_path, "two"), ctx)
    assert server.state.count() == 2 and result.counts["downloaded"] == 1
    assert cached.read_bytes() == data


def test_zip_slip_archive_is_rejected_and_nothing_is_left(server, ctx, tmp_path):
    archive = zip_bytes({"ok.txt": b"fine", "../evil.txt": b"pwned"})
    out = _out(tmp_path)
    params = _params(tmp_path, urls=[{"url": server.serve("/slip.zip", archive), "sha256": sha256(archive)}])
    with pytest.raises(UnsafeArchive) as info:
        run(params, {}, out, ctx)
    assert "slip.zip" in str(info.value) and "'../evil.txt'" in str(info.value)
    assert not (tmp_path / "evil.txt").exists()
    assert sorted(p.name for p in out.iterdir()) == []  # no data/, no temp folder


def test_path_folder_is_reproduced_as_is(ctx, tmp_path):
    src = tmp_path / "mine" / "ctw1500"
    (src / "train_images").mkdir(parents=True)
    (src / "train_images" / "0001.jpg").write_bytes(b"jpg")
    (src / "ctw1500_train_labels.xml").write_text("<Annotations/>")
    out = _out(tmp_path)
    result = run(DownloadParams(name="ctw", path=str(src)), {}, out, ctx)
    assert files_under(out / "data") == {"train_images/0001.jpg": b"jpg", "ctw1500_train_labels.xml": b"<Annotations/>"}
    assert result.counts == {"files": 2, "bytes": 17, "downloaded": 0, "cache_hits": 0}
    assert files_under(src) == files_under(out / "data")  # the user's folder is untouched


def test_path_archive_is_verified_and_extracted(ctx, tmp_path):
    archive = tar_bytes([("Images/Train/img11.jpg", b"jpg11")])
    src = tmp_path / "totaltext.tgz"
    src.write_bytes(archive)
    out = _out(tmp_path)
    run(DownloadParams(name="tt", path=str(src), sha256=sha256(archive)), {}, out, ctx)
    assert files_under(out / "data") == {"Images/Train/img11.jpg": b"jpg11"}


def test_path_archive_with_a_wrong_checksum_fails_but_keeps_the_users_file(ctx, tmp_path):
    src = tmp_path / "art.zip"
    src.write_bytes(zip_bytes({"a.jpg": b"a"}))
    with pytest.raises(ChecksumMismatch):
        run(DownloadParams(name="art", path=str(src), md5="f" * 32), {}, _out(tmp_path), ctx)
    assert src.exists()


def test_missing_path_shows_the_instructions(ctx, tmp_path):
    how = "Register at https://rrc.cvc.uab.es/?ch=4 and download ch4_training_images.zip into ~/data/ic15"
    missing = tmp_path / "nope" / "ic15"
    with pytest.raises(SourceMissing) as info:
        run(DownloadParams(name="ic15", path=str(missing), instructions=how), {}, _out(tmp_path), ctx)
    assert how in str(info.value) and str(missing) in str(info.value)
