"""The unlabeled image set: whatever form the input takes, a list of image files with stable keys.

Accepted inputs (a stage input's folder or file):

- a **dataset folder** holding ``annotations.json`` (COCO) and ``images/``: its listed images (what synth,
  convert and augment write; the annotations themselves are never read as labels);
- a **folder** with an ``images/`` subfolder, or any folder of image files (searched recursively);
  a folder holding no image but archives (a download stage run without extraction) has them unpacked;
- an **archive** (zip, tar, tar.gz/bz2/xz): unpacked safely (``stages.dataset.archives``) into scratch;
- a **manifest**: COCO ``.json``; Parquet with a ``file_name`` (or ``path`` / ``image_path``) column,
  relative to the ``images/`` folder beside it (convert's ``manifest.parquet``) or to its own folder;
  or a ``.txt`` list of paths, one a line.

Each image's key is its path relative to the image root (POSIX): it becomes its ``file_name`` in the
pseudo-labeled COCO file, so sub-folders survive and keys are unique. Files listed but missing or
undecodable are not detected here: the inference shards skip and count them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from stages.dataset.images import IMAGE_SUFFIXES
from stages.dataset.layout import ANNOTATIONS, IMAGES

MANIFEST = "manifest.parquet"
_PATH_COLUMNS = ("file_name", "path", "image_path")
_LIST_SUFFIXES = (".txt", ".lst")


@dataclass(frozen=True)
class ImageEntry:
    """One unlabeled image: ``key`` (relative POSIX path, the output file name) and its file."""

    key: str
    path: Path


@dataclass
class UnlabeledSet:
    """The images of the unlabeled input and how they were found (``kind``)."""

    root: Path
    entries: list[ImageEntry]
    kind: str


def resolve_unlabeled(path: Path, scratch: Path) -> UnlabeledSet:
    """List the images of ``path`` (see the module docstring); archives are unpacked under ``scratch``."""
    path = Path(path)
    if path.is_file():
        return _from_file(path, scratch)
    if not path.is_dir():
        raise FileNotFoundError(f"pseudo_label: unlabeled input {path} does not exist")
    if (path / ANNOTATIONS).is_file():
        return _from_coco(path / ANNOTATIONS)
    if (path / MANIFEST).is_file():
        return _from_parquet(path / MANIFEST)
    if (path / IMAGES).is_dir():
        return _from_folder(path / IMAGES, "images_folder")
    found = _from_folder(path, "folder")
    if found.entries:
        return found
    archives = sorted(p for p in path.iterdir() if p.is_file() and _archive_kind(p))
    if archives:
        return _unpack(archives, scratch)
    raise ValueError(f"pseudo_label: unlabeled input {path} holds no image files ({'/'.join(IMAGE_SUFFIXES)}), "
                     f"no {ANNOTATIONS}, {MANIFEST} or archive")


def _from_file(path: Path, scratch: Path) -> UnlabeledSet:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _from_coco(path)
    if suffix == ".parquet":
        return _from_parquet(path)
    if suffix in _LIST_SUFFIXES:
        return _from_list(path)
    if _archive_kind(path):
        return _unpack([path], scratch)
    raise ValueError(f"pseudo_label: unlabeled input {path}: not a folder, archive, .json, .parquet or .txt list")


def _archive_kind(path: Path) -> str | None:
    from stages.dataset.archives import archive_kind

    if path.suffix.lower() in (".json", ".parquet", *_LIST_SUFFIXES, *IMAGE_SUFFIXES):
        return None
    return archive_kind(path)


def _unpack(archives: list[Path], scratch: Path) -> UnlabeledSet:
    """Unpack each archive into ``scratch/<archive name>/`` and list the images found there."""
    from stages.dataset.archives import extract_archive

    scratch.mkdir(parents=True, exist_ok=True)
    for archive in archives:
        extract_archive(archive, scratch / archive.name, _archive_kind(archive))
    found = _from_folder(scratch, "archive")
    if not found.entries:
        raise ValueError(f"pseudo_label: archive(s) {[a.name for a in archives]} hold no image files")
    return found


def _from_folder(root: Path, kind: str) -> UnlabeledSet:
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    return UnlabeledSet(root, [ImageEntry(p.relative_to(root).as_posix(), p) for p in files], kind)


def _from_coco(ann: Path) -> UnlabeledSet:
    try:
        data = json.loads(ann.read_text(encoding="utf-8"))
        names = [str(img["file_name"]) for img in data["images"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"pseudo_label: {ann}: not a COCO file with images[].file_name ({exc})") from None
    root = _image_root(ann)
    return UnlabeledSet(root, _entries(root, names, str(ann)), "coco")


def _from_parquet(manifest: Path) -> UnlabeledSet:
    import pyarrow.parquet as pq

    schema = pq.read_schema(manifest)
    column = next((c for c in _PATH_COLUMNS if c in schema.names), None)
    if column is None:
        raise ValueError(f"pseudo_label: {manifest}: no image path column (one of {list(_PATH_COLUMNS)}); "
                         f"columns are {schema.names}")
    names = [str(v) for v in pq.read_table(manifest, columns=[column]).column(column).to_pylist() if v]
    root = _image_root(manifest)
    return UnlabeledSet(root, _entries(root, names, str(manifest)), "manifest")


def _image_root(index: Path) -> Path:
    """Where the names of an annotation file or manifest are relative to: ``images/`` beside it, else its folder."""
    return index.parent / IMAGES if (index.parent / IMAGES).is_dir() else index.parent


def _from_list(listing: Path) -> UnlabeledSet:
    names = [line.strip() for line in listing.read_text(encoding="utf-8").splitlines()]
    return UnlabeledSet(listing.parent, _entries(listing.parent, [n for n in names if n and not n.startswith("#")],
                                                 str(listing)), "list")


def _entries(root: Path, names: list[str], source: str) -> list[ImageEntry]:
    """Entries for names relative to ``root`` (absolute names keep their path, keyed by file name)."""
    entries, seen = [], {}
    for name in names:
        path = Path(name)
        if path.is_absolute():
            full, key = path, path.name
        else:
            full, key = root / path, path.as_posix()
        if ".." in Path(key).parts:
            raise ValueError(f"pseudo_label: {source}: image name {name!r} leaves the image folder")
        if key in seen:
            if seen[key] == full:
                continue  # the same image listed twice
            raise ValueError(f"pseudo_label: {source}: {seen[key]} and {full} would both be named {key!r}")
        seen[key] = full
        entries.append(ImageEntry(key, full))
    if not entries:
        raise ValueError(f"pseudo_label: {source} lists no images")
    return entries
