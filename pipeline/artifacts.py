"""Content-addressed stage outputs under an artifact root (a local path or any pyarrow.fs URI).

Layout: ``<root>/<stage>/<key>/`` holds the stage's outputs, ``manifest.json`` and, last of all,
the ``_COMPLETE`` marker. A stage writes into a staging folder that is renamed into place only after
it returned, and the marker is written after the rename, so an interrupted stage never looks
finished: no marker, no cache hit.

On a local root the stage writes straight into ``<root>/<stage>/.staging-<key>-<id>``; on a remote
root (s3://, a shared filesystem URI) it writes into a local temp folder that is uploaded first.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs

MARKER = "_COMPLETE"
MANIFEST = "manifest.json"


@dataclass
class Staging:
    """A folder a stage may write into, and where it will land once committed."""

    stage: str
    key: str
    local_dir: Path  # what the stage writes into
    remote_dir: str | None  # staging path on a remote filesystem, None when local


class ArtifactStore:
    """Reads and writes stage outputs; picklable, so Ray workers get it by value."""

    def __init__(self, root: str, cache_dir: str | None = None):
        self.root = root
        self._fs, self._base = _filesystem(root)
        self.is_local = isinstance(self._fs, pafs.LocalFileSystem)
        self.cache_dir = Path(cache_dir or tempfile.gettempdir()) / "scenetext-inputs"

    def __reduce__(self):
        return (ArtifactStore, (self.root, str(self.cache_dir.parent)))

    # --- addresses -----------------------------------------------------------------------
    def path(self, stage: str, key: str) -> str:
        """Filesystem path (without scheme) of a stage output folder."""
        return f"{self._base}/{stage}/{key}"

    def uri(self, stage: str, key: str) -> str:
        """A URI for humans and MLflow tags."""
        if self.is_local:
            return Path(self.path(stage, key)).as_uri()
        return f"{self.root.rstrip('/')}/{stage}/{key}"

    # --- reading -------------------------------------------------------------------------
    def is_complete(self, stage: str, key: str) -> bool:
        info = self._fs.get_file_info(f"{self.path(stage, key)}/{MARKER}")
        return info.type == pafs.FileType.File

    def read_manifest(self, stage: str, key: str) -> dict[str, Any]:
        with self._fs.open_input_stream(f"{self.path(stage, key)}/{MANIFEST}") as stream:
            return json.loads(stream.read().decode())

    def local_output(self, stage: str, key: str, output: str) -> Path:
        """A local path of one output of a complete stage; remote outputs are downloaded once."""
        rel = self.read_manifest(stage, key)["outputs"][output]["path"]
        if self.is_local:
            return Path(self.path(stage, key)) / rel
        target = self.cache_dir / stage / key
        if not (target / MARKER).exists():
            partial = target.with_name(f".{key}-{uuid.uuid4().hex[:8]}")
            pafs.copy_files(self.path(stage, key), str(partial), source_filesystem=self._fs,
                            destination_filesystem=pafs.LocalFileSystem())
            partial.rename(target) if not target.exists() else shutil.rmtree(partial)
        return target / rel

    # --- writing -------------------------------------------------------------------------
    def begin(self, stage: str, key: str, attempt: str | None = None) -> Staging:
        """A fresh, empty folder for one attempt of a stage; leftovers of killed attempts are removed.
        ``attempt`` names the folder (the driver passes it so it can remove the folder after a cancel)."""
        token = attempt or uuid.uuid4().hex[:8]
        self._remove_stale_staging(stage, key)
        if self.is_local:
            local = Path(self._base) / stage / f".staging-{key}-{token}"
            local.mkdir(parents=True)
            return Staging(stage, key, local, None)
        local = Path(tempfile.mkdtemp(prefix=f"{stage}-{key[:8]}-"))
        return Staging(stage, key, local, f"{self._base}/{stage}/.staging-{key}-{token}")

    def commit(self, staging: Staging, manifest: dict[str, Any]) -> str:
        """Write the manifest, move the staging folder into place, then mark it complete."""
        (staging.local_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
        source = str(staging.local_dir)
        if staging.remote_dir is not None:
            pafs.copy_files(source, staging.remote_dir, source_filesystem=pafs.LocalFileSystem(), destination_filesystem=self._fs)
            shutil.rmtree(staging.local_dir, ignore_errors=True)
            source = staging.remote_dir
        final = self.path(staging.stage, staging.key)
        self._replace(source, final)
        with self._fs.open_output_stream(f"{final}/{MARKER}") as out:
            out.write(manifest.get("finished_at", "").encode())
        return self.uri(staging.stage, staging.key)

    def abort(self, staging: Staging) -> None:
        """Drop a failed attempt's staging folder."""
        shutil.rmtree(staging.local_dir, ignore_errors=True)
        if staging.remote_dir is not None:
            self._delete(staging.remote_dir)

    def discard(self, stage: str, key: str, attempt: str) -> None:
        """Remove the staging folder of one attempt, if it is still there (a cancelled or killed stage)."""
        self._delete(f"{self._base}/{stage}/.staging-{key}-{attempt}")

    def _replace(self, source: str, final: str) -> None:
        # An existing folder for the same key is either incomplete (a killed attempt got past the
        # rename but not the marker) or being forced; either way it is replaced whole.
        if self._fs.get_file_info(final).type != pafs.FileType.NotFound:
            trash = f"{final}.trash-{uuid.uuid4().hex[:8]}"
            self._fs.move(final, trash)
            self._delete(trash)
        self._fs.move(source, final)

    def _remove_stale_staging(self, stage: str, key: str) -> None:
        selector = pafs.FileSelector(f"{self._base}/{stage}", allow_not_found=True)
        for info in self._fs.get_file_info(selector):
            if info.base_name.startswith(f".staging-{key}-"):
                self._delete(info.path)

    def _delete(self, path: str) -> None:
        try:
            self._fs.delete_dir(path)
        except (FileNotFoundError, OSError):
            pass


def _filesystem(root: str) -> tuple[pafs.FileSystem, str]:
    if "://" in root:
        return pafs.FileSystem.from_uri(root)
    path = os.path.abspath(os.path.expanduser(root))
    return pafs.LocalFileSystem(), path


def file_sha256(path: Path | str) -> str:
    """Hex sha256 of a file's bytes, read in blocks."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def describe_output(path: Path) -> dict[str, Any]:
    """Size, file count and content digest of one output (a file or a folder).

    The digest is sha256 over the sorted (relative path, file sha256) pairs, so it names the
    content, not the location: MLflow lineage uses it as the dataset digest.
    """
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    total = 0
    for file in files:
        rel = "." if file == path else file.relative_to(path).as_posix()
        digest.update(f"{rel}\0{file_sha256(file)}\n".encode())
        total += file.stat().st_size
    return {"bytes": total, "files": len(files), "digest": digest.hexdigest()}
