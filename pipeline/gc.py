"""``python -m pipeline gc``: remove abandoned staging folders and outputs no plan needs any more.

Garbage is
* **staging** of dead attempts: ``<root>/<stage>/.staging-*`` and ``.trash-*`` (local roots),
  ``<root>/<stage>/<key>/attempt-*`` not named by the key's ``_COMPLETE`` (object stores), the
  folders under ``<tempdir>/scenetext-staging/`` (remote roots' local staging on this machine) and
  ``<key>/`` folders without a marker. An attempt is dead when its owner process, on this host, is
  gone; otherwise when nothing touched it (its heartbeat file included) for longer than the grace period;
* **outputs** (complete ``<stage>/<key>/`` folders) whose key is in no given config's current
  graph, when configs are given, or whose marker is older than ``--older-than`` days.
A live attempt is never garbage, so gc may run while pipelines run.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import pyarrow.fs as pafs

from pipeline.artifacts import ATTEMPT_PREFIX, MARKER, STAGING_PREFIX, TRASH_PREFIX, ArtifactStore, staging_home
from pipeline.attempts import ATTEMPT_FILE, owner_state
from pipeline.stage import StageDef

DEFAULT_GRACE_H = 6.0


@dataclass
class Garbage:
    kind: str  # staging | output
    path: str  # on the store's filesystem (or a local path for the local staging home)
    uri: str
    bytes: int
    reason: str


@dataclass
class _Folder:
    """The files under one folder of a listing (relative path -> info)."""

    path: str
    files: dict[str, pafs.FileInfo]
    created: float | None = None  # the folder's own mtime where the filesystem has one

    @property
    def bytes(self) -> int:
        return sum(info.size or 0 for info in self.files.values())

    @property
    def newest(self) -> float | None:
        times = [i.mtime.timestamp() for i in self.files.values() if i.mtime is not None]
        return max(times, default=self.created)

    def children(self, prefix: str) -> dict[str, "_Folder"]:
        """Sub-folders whose name starts with ``prefix``, by name."""
        subs: dict[str, _Folder] = {}
        for rel, info in self.files.items():
            top, _, rest = rel.partition("/")
            if rest and top.startswith(prefix):
                subs.setdefault(top, _Folder(f"{self.path}/{top}", {})).files[rest] = info
        return subs


def find_garbage(store: ArtifactStore, referenced: set[tuple[str, str]] | None, older_than_days: float | None,
                 grace_s: float, now: float | None = None) -> list[Garbage]:
    """Everything under the store's root that gc would remove, with sizes and the reason.

    ``referenced`` holds the (stage, key) pairs of the given configs' graphs; None keeps every
    output that is not too old.
    """
    now = now or time.time()
    found = []
    for (stage, name), folder in sorted(_list_folders(store.filesystem, store.base).items()):
        if name.startswith(TRASH_PREFIX):
            found.append(Garbage("staging", folder.path, store.display_uri(folder.path), folder.bytes,
                                 "interrupted replacement"))
        elif name.startswith(STAGING_PREFIX):
            reason = _dead_reason(store, folder, grace_s, now)
            if reason:
                found.append(Garbage("staging", folder.path, store.display_uri(folder.path), folder.bytes, reason))
        elif not name.startswith("."):
            found += _key_garbage(store, stage, name, folder, referenced, older_than_days, grace_s, now)
    return found


def find_local_staging(grace_s: float, now: float | None = None) -> list[Garbage]:
    """Abandoned local staging folders of remote roots on this machine (under ``staging_home()``)."""
    now = now or time.time()
    home = staging_home()
    if not home.is_dir():
        return []
    found = []
    for entry in sorted(home.iterdir()):
        folder = _Folder(str(entry), {}, entry.stat().st_mtime)
        files = [p for p in entry.rglob("*") if p.is_file()]
        size, newest = sum(p.stat().st_size for p in files), max([folder.created] + [p.stat().st_mtime for p in files])
        reason = _dead_reason(None, _Folder(str(entry), {}, newest), grace_s, now)
        if reason:
            found.append(Garbage("staging", str(entry), entry.as_uri(), size, reason))
    return found


def remove(store: ArtifactStore | None, item: Garbage) -> None:
    """Delete one piece of garbage; an output loses its marker first, so it stops being a cache hit at once."""
    if store is None:
        shutil.rmtree(item.path, ignore_errors=True)
        return
    if item.kind == "output":
        key_dir = item.path if store.is_local else item.path.rsplit(f"/{ATTEMPT_PREFIX}", 1)[0]
        try:
            store.filesystem.delete_file(f"{key_dir}/{MARKER}")
        except FileNotFoundError:
            pass
    store.delete_dir(item.path)


def _list_folders(fs: pafs.FileSystem, base: str) -> dict[tuple[str, str], _Folder]:
    """Files under ``<base>/<stage>/<name>/`` grouped by (stage, name), from one recursive listing."""
    folders: dict[tuple[str, str], _Folder] = {}
    for info in fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True)):
        parts = info.path[len(base) + 1:].split("/")
        if len(parts) < 2:
            continue
        folder = folders.setdefault((parts[0], parts[1]), _Folder(f"{base}/{parts[0]}/{parts[1]}", {}))
        if info.type == pafs.FileType.File:
            folder.files["/".join(parts[2:])] = info
        elif len(parts) == 2 and info.mtime is not None:
            folder.created = info.mtime.timestamp()  # an empty staging folder still has an age
    return folders


def _key_garbage(store: ArtifactStore, stage: str, key: str, folder: _Folder, referenced: set | None,
                 older_than_days: float | None, grace_s: float, now: float) -> list[Garbage]:
    """Garbage in one ``<stage>/<key>/`` folder: the output itself, or attempts of dead writers in it."""
    if MARKER not in folder.files:
        if not store.is_local:
            return _dead_attempts(store, folder, None, grace_s, now)
        reason = _dead_reason(store, folder, grace_s, now)
        if not reason:
            return []
        return [Garbage("staging", folder.path, store.display_uri(folder.path), folder.bytes,
                        f"incomplete output: {reason}")]
    committed = None if store.is_local else (store.marker(stage, key) or {}).get("attempt")
    dead = [] if store.is_local else _dead_attempts(store, folder, committed, grace_s, now)
    if referenced is not None and (stage, key) not in referenced:
        reason = "not in the plan of any given config"
    elif older_than_days is not None and now - folder.files[MARKER].mtime.timestamp() > older_than_days * 86400:
        reason = f"older than {older_than_days:g} days"
    else:
        return dead
    if store.is_local:
        return [Garbage("output", folder.path, store.uri(stage, key), folder.bytes, reason)]
    attempts = folder.children(ATTEMPT_PREFIX)
    if len(attempts) - 1 - len(dead) > 0:  # another writer is busy with this key now: take only the committed output
        output = attempts.get(f"{ATTEMPT_PREFIX}{committed}", _Folder(f"{folder.path}/{ATTEMPT_PREFIX}{committed}", {}))
        return dead + [Garbage("output", output.path, store.uri(stage, key),
                               output.bytes + folder.files[MARKER].size, reason)]
    return [Garbage("output", folder.path, store.uri(stage, key), folder.bytes, reason)]


def _dead_attempts(store: ArtifactStore, folder: _Folder, committed: str | None, grace_s: float,
                   now: float) -> list[Garbage]:
    """Attempt folders under an object-store key that the marker does not name and whose writer is gone."""
    found = []
    for name, attempt in sorted(folder.children(ATTEMPT_PREFIX).items()):
        reason = None if name == f"{ATTEMPT_PREFIX}{committed}" else _dead_reason(store, attempt, grace_s, now)
        if reason:
            found.append(Garbage("staging", attempt.path, store.display_uri(attempt.path), attempt.bytes, reason))
    return found


def _dead_reason(store: ArtifactStore | None, folder: _Folder, grace_s: float, now: float) -> str | None:
    """Why an attempt folder is abandoned, or None while its writer may still be alive."""
    owner = _read_owner(store, folder.path)
    state = owner_state(owner)
    if state == "dead":
        return f"writer pid {owner['pid']} on {owner['host']} is gone"
    if state == "alive":
        return None
    idle = now - folder.newest if folder.newest is not None else float("inf")
    if idle > grace_s:
        return f"untouched for {idle / 3600:.1f} h (grace {grace_s / 3600:g} h)"
    return None


def _read_owner(store: ArtifactStore | None, path: str) -> dict | None:
    try:
        if store is None:
            return json.loads((Path(path) / ATTEMPT_FILE).read_text())
        with store.filesystem.open_input_stream(f"{path}/{ATTEMPT_FILE}") as stream:
            return json.loads(stream.read().decode())
    except (OSError, ValueError):
        return None


def gc_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline gc", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", dest="configs", action="append", nargs="+", default=[], metavar="C",
                        help="keep the outputs of these configs' current graphs; "
                             "without any, outputs are kept unless too old")
    parser.add_argument("--root", help="artifact root to clean (default: each config's root, else the default root)")
    parser.add_argument("--older-than", type=float, metavar="DAYS",
                        help="also remove outputs completed more than DAYS days ago")
    parser.add_argument("--grace-hours", type=float, default=DEFAULT_GRACE_H,
                        help="staging untouched this long is abandoned when its writer cannot be checked "
                             f"(default {DEFAULT_GRACE_H:g})")
    parser.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")
    return parser


def main_gc(argv: list[str], stages: Mapping[str, StageDef]) -> int:
    """List (and unless --dry-run, remove) garbage under the artifact roots; exit 2 on a bad config or root.
    ``stages``: the stage registry the configs are validated and keyed with."""
    from pipeline.config import ConfigError

    args = gc_parser().parse_args(argv)
    try:
        roots = _roots(args, stages)
        stores = {root: ArtifactStore(root) for root in roots}
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    grace_s = args.grace_hours * 3600
    work: list[tuple[ArtifactStore | None, Garbage]] = []
    for root, referenced in roots.items():
        work += [(stores[root], g) for g in find_garbage(stores[root], referenced, args.older_than, grace_s)]
    work += [(None, g) for g in find_local_staging(grace_s)]
    for _, item in work:
        print(f"{item.kind:<8} {format_size(item.bytes):>10}  {item.uri}  ({item.reason})")
    total = sum(item.bytes for _, item in work)
    if not args.dry_run:
        for store, item in work:
            remove(store, item)
    verb = "would remove" if args.dry_run else "removed"
    print(f"total: {verb} {len(work)} folders, {format_size(total)}" + (" (dry run)" if args.dry_run else ""))
    return 0


def _roots(args: argparse.Namespace, stages: Mapping[str, StageDef]) -> dict[str, set[tuple[str, str]] | None]:
    """Artifact root -> the (stage, key) pairs that configs using it reference (None: no config names it)."""
    from pipeline import paths
    from pipeline.config import PipelineConfig, load_config
    from pipeline.runner import keyed_graph

    roots: dict[str, set[tuple[str, str]] | None] = defaultdict(set)
    for path in (p for group in args.configs for p in group):
        config = load_config(path, stages)
        graph, _ = keyed_graph(config, stages, None)  # the keys a run of the config uses (references resolved)
        root = args.root or paths.resolve_root(config.artifact_root)
        roots[root] |= {(name, node.key) for name, node in graph.nodes.items()}
    if not roots:
        default = PipelineConfig.model_fields["artifact_root"].default
        roots[args.root or paths.resolve_root(default)] = None
    return dict(roots)


def format_size(n: float) -> str:
    """Bytes for humans: 512 B, 1.3 KiB, 2.0 MiB."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
