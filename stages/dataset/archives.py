"""Safe extraction of zip and tar (.tar, .tar.gz/.tgz, .tar.bz2, .tar.xz) archives.

Every member is checked before anything is written: absolute names, ``..`` components, special files
and symlinks / hardlinks resolving outside the target are refused (``UnsafeArchive`` names the archive
and the member). Extraction goes into a temp folder beside the target and is then renamed / merged in,
so a failure never leaves a half-extracted folder that looks complete.
"""
from __future__ import annotations

import re
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path

from stages.dataset.errors import DataFileError, UnsafeArchive
from stages.dataset.tree import merge_tree

_SUFFIX_KIND = {
    ".zip": "zip", ".tar": "tar", ".tar.gz": "tar", ".tgz": "tar",
    ".tar.bz2": "tar", ".tbz2": "tar", ".tar.xz": "tar", ".txz": "tar",
}
_MAX_LINK_HOPS = 32


def archive_kind(path: Path) -> str | None:
    """'zip', 'tar' or None (a plain file): by suffix, else by content for names without a known suffix."""
    name = path.name.lower()
    for suffix, kind in _SUFFIX_KIND.items():
        if name.endswith(suffix):
            return kind
    if zipfile.is_zipfile(path):
        return "zip"
    if tarfile.is_tarfile(path):
        return "tar"
    return None


def extract_archive(archive: Path, dest: Path, kind: str) -> None:
    """Check every member, extract into a temp folder beside ``dest``, then move it into ``dest``
    (renamed when ``dest`` does not exist yet, merged into it otherwise)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".extract-{archive.name}-", dir=dest.parent))
    try:
        try:
            if kind == "zip":
                _extract_zip(archive, tmp)
            else:
                _extract_tar(archive, tmp)
        except (zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
            raise DataFileError(f"{archive}: not a readable {kind} archive: {exc}") from None
        merge_tree(tmp, dest, source=str(archive))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _extract_zip(archive: Path, target: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            reason = bad_name(info.filename)
            if reason:
                raise UnsafeArchive(str(archive), info.filename, reason)
        # zipfile writes a zip "symlink" entry as a small regular file holding its target: harmless.
        zf.extractall(target)


def _extract_tar(archive: Path, target: Path) -> None:
    with tarfile.open(archive) as tf:
        members = tf.getmembers()
        check_tar_members(members, str(archive))
        if not hasattr(tarfile, "data_filter"):  # Python < 3.10.12 / 3.11.4: the checks above stand alone
            tf.extractall(target, members=members)
            return
        # The stdlib 'data' filter repeats the containment checks on the real file system (defence in depth)
        # and drops setuid bits and ownership.
        try:
            tf.extractall(target, members=members, filter="data")
        except tarfile.FilterError as exc:
            member = getattr(getattr(exc, "tarinfo", None), "name", "?")
            raise UnsafeArchive(str(archive), member, str(exc)) from None


def bad_name(name: str) -> str | None:
    """Why a member name is unsafe (absolute, drive letter, ``..`` component, NUL), or None if it is fine."""
    if not name:
        return "empty name"
    if "\0" in name:
        return "NUL byte in the name"
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "absolute path"
    if ".." in re.split(r"[/\\]", name):
        return "'..' path component"
    return None


def _parts(name: str) -> tuple[str, ...]:
    return tuple(p for p in name.split("/") if p not in ("", "."))


def check_tar_members(members: list[tarfile.TarInfo], archive: str) -> None:
    """Refuse the archive if any member is unsafe; links are judged once every link is known, since the OS
    resolves a symlink when it is used, after later members exist."""
    links = {}  # member parts -> raw symlink target
    for m in members:
        reason = bad_name(m.name)
        if reason is None and not (m.isfile() or m.isdir() or m.issym() or m.islnk()):
            reason = "device, fifo or other special file"
        if reason is None and m.issym() and m.linkname.startswith("/"):
            reason = f"symlink to absolute path {m.linkname!r}"
        if reason:
            raise UnsafeArchive(archive, m.name, reason)
        if m.issym():
            links[_parts(m.name)] = m.linkname
    for m in members:
        parts = _parts(m.name)
        through = next((p for p in (parts[:i] for i in range(1, len(parts))) if p in links), None)
        if through is not None:
            raise UnsafeArchive(archive, m.name, f"path goes through symlink {'/'.join(through)!r}")
        if parts in links and not m.issym():
            raise UnsafeArchive(archive, m.name, "would be written through a symlink of the same name")
        # a symlink's target is relative to its folder, a hardlink's to the archive root
        if (m.issym() or m.islnk()) and _resolve(parts[:-1] if m.issym() else (), m.linkname, links, 0) is None:
            kind = "symlink" if m.issym() else "hardlink"
            reason = f"{kind} target {m.linkname!r} resolves outside the archive folder (or loops)"
            raise UnsafeArchive(archive, m.name, reason)


def _resolve(start: tuple[str, ...], target: str, links: dict, hops: int) -> tuple[str, ...] | None:
    """Follow ``target`` from folder ``start`` as the OS would once all of the archive's symlinks exist;
    the resulting path inside the root, or None if it leaves the root (or loops)."""
    if hops > _MAX_LINK_HOPS or target.startswith("/"):
        return None
    cur = list(start)
    for comp in target.split("/"):
        if comp in ("", "."):
            continue
        if comp == "..":
            if not cur:
                return None
            cur.pop()
            continue
        cur.append(comp)
        if tuple(cur) in links:  # a symlink: continue from where it points
            resolved = _resolve(tuple(cur[:-1]), links[tuple(cur)], links, hops + 1)
            if resolved is None:
                return None
            cur = list(resolved)
    return tuple(cur)
