"""Safe extraction: unsafe members are refused before anything is written; safe archives merge."""
from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from stages.dataset.archives import archive_kind, extract_archive
from stages.dataset.errors import DataFileError, UnsafeArchive
from tests.stages.download.archives import files_under, link, tar_bytes, zip_bytes


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / "archives" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path


def _assert_rejected(tmp_path: Path, archive: Path, kind: str, member: str) -> None:
    dest = tmp_path / "out" / "data"
    with pytest.raises(UnsafeArchive) as info:
        extract_archive(archive, dest, kind)
    assert info.value.member == member and info.value.archive == str(archive)
    assert archive.name in str(info.value) and repr(member) in str(info.value)
    assert not dest.exists()
    assert list((tmp_path / "out").iterdir()) == []  # the temp folder is gone too
    assert not (tmp_path / "evil.txt").exists()


@pytest.mark.parametrize("member",
                         ["../evil.txt", "/tmp/abs_evil.txt", "a/../../evil.txt", "C:/evil.txt", "..\\evil.txt"])
def test_zip_with_an_escaping_member_is_rejected(tmp_path, member):
    archive = _write(tmp_path, "bad.zip", zip_bytes({"good.txt": b"ok", member: b"pwned"}))
    _assert_rejected(tmp_path, archive, "zip", member)


@pytest.mark.parametrize("member", ["../evil.txt", "/tmp/abs_evil.txt"])
def test_tar_with_an_escaping_member_is_rejected(tmp_path, member):
    archive = _write(tmp_path, "bad.tar.gz", tar_bytes([("good.txt", b"ok"), (member, b"pwned")]))
    _assert_rejected(tmp_path, archive, "tar", member)


@pytest.mark.parametrize("entries, bad", [
    ([link("up", "../../etc")], "up"),  # relative symlink leaving the folder
    ([link("etc", "/etc")], "etc"),  # absolute symlink
    ([("d/f.txt", b"x"), link("d/up", "../..")], "d/up"),
    ([link("h", "../evil.txt", hard=True)], "h"),  # hardlink outside
    # chains that only escape once every link exists: a -> ., b -> ., c -> a/b/..
    ([link("a", "."), link("b", "."), link("c", "a/b/..")], "c"),
    ([link("c", "x/.."), link("x", ".")], "c"),  # the link it relies on comes later
    ([link("loop1", "loop2"), link("loop2", "loop1")], "loop1"),
    ([link("sub", "."), ("sub/evil.txt", b"x")], "sub/evil.txt"),  # writing through a symlink
])
def test_tar_links_escaping_the_folder_are_rejected(tmp_path, entries, bad):
    archive = _write(tmp_path, "links.tar", tar_bytes([("keep.txt", b"ok"), *entries], mode="w"))
    _assert_rejected(tmp_path, archive, "tar", bad)


def test_tar_special_files_are_rejected(tmp_path):
    fifo = tarfile.TarInfo("pipe")
    fifo.type = tarfile.FIFOTYPE
    archive = _write(tmp_path, "fifo.tar", tar_bytes([fifo], mode="w"))
    _assert_rejected(tmp_path, archive, "tar", "pipe")


def test_links_inside_the_folder_are_extracted(tmp_path):
    archive = _write(tmp_path, "ok.tar.gz", tar_bytes([
        ("imgs/1.jpg", b"one"), link("imgs/latest.jpg", "1.jpg"), link("alias", "imgs"),
    ]))
    dest = tmp_path / "data"
    extract_archive(archive, dest, "tar")
    assert (dest / "imgs" / "latest.jpg").is_symlink()
    assert (dest / "imgs" / "latest.jpg").read_bytes() == b"one"
    assert (dest / "alias" / "1.jpg").read_bytes() == b"one"


def test_archives_merge_and_identical_duplicates_are_fine(tmp_path):
    dest = tmp_path / "data"
    extract_archive(_write(tmp_path, "a.zip", zip_bytes({"imgs/1.jpg": b"1", "README": b"same"})), dest, "zip")
    extract_archive(_write(tmp_path, "b.tgz", tar_bytes([("imgs/2.jpg", b"2"), ("README", b"same")])), dest, "tar")
    assert files_under(dest) == {"imgs/1.jpg": b"1", "imgs/2.jpg": b"2", "README": b"same"}


def test_a_conflicting_file_fails_before_anything_of_that_archive_moves(tmp_path):
    dest = tmp_path / "data"
    extract_archive(_write(tmp_path, "a.zip", zip_bytes({"gt/1.txt": b"v1"})), dest, "zip")
    second = _write(tmp_path, "b.zip", zip_bytes({"gt/0.txt": b"new", "gt/1.txt": b"v2"}))
    with pytest.raises(DataFileError, match=r"b\.zip: member 'gt/1\.txt' conflicts"):
        extract_archive(second, dest, "zip")
    assert files_under(dest) == {"gt/1.txt": b"v1"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["archives", "data"]


def test_a_corrupt_archive_fails_with_its_name(tmp_path):
    archive = _write(tmp_path, "broken.zip", b"PK\x03\x04 truncated")
    with pytest.raises(DataFileError, match=r"broken\.zip: not a readable zip archive"):
        extract_archive(archive, tmp_path / "data", "zip")
    assert not (tmp_path / "data").exists()


def test_archive_kind_by_suffix_then_by_content(tmp_path):
    assert archive_kind(_write(tmp_path, "x.TGZ", b"")) == "tar"
    assert archive_kind(_write(tmp_path, "x.tar.xz", b"")) == "tar"
    assert archive_kind(_write(tmp_path, "download", zip_bytes({"a": b"a"}))) == "zip"
    assert archive_kind(_write(tmp_path, "blob", tar_bytes([("a", b"a")]))) == "tar"
    assert archive_kind(_write(tmp_path, "gt.txt", b"1,2,3,4,5,6,7,8,word\n")) is None
