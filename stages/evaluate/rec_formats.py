"""Readers of recognition ground truth and predictions for ``eval-rec``.

Ground truth (``load_rec_gt``) gives (name, label) pairs in dataset order:

* an LMDB folder in the deep-text-recognition-benchmark layout (``data.mdb``; keys ``num-samples``,
  ``label-%09d``, 1-based): sample i is named ``image-%09d`` (its image key) and has index i;
* a labels file: one sample a line, ``name<TAB>label`` or ``name label`` (split at the first tab if
  the line has one, else at the first space; the label may hold spaces). Sample i is the i-th
  non-blank line (1-based).

Predictions (``load_rec_preds``): a text file in the same form, ``key<TAB or space>prediction``; a
line holding only a key is an empty prediction. Keys are sample names, or else 1-based indices:
when every key is a ground-truth name they are matched by name, otherwise every key must be an
integer index in range. Files are UTF-8 (a BOM is allowed), LF or CRLF.

``align`` pairs them: a ground-truth sample with no prediction counts as the empty prediction (and
is counted in ``num_missing``); an unknown key or a duplicate key raises ``ParseError`` naming the
file and line.
"""
from __future__ import annotations

from pathlib import Path

from stages.dataset.records import ParseError


def _lines(path: Path) -> list[tuple[int, str]]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ParseError(path, None, f"not UTF-8 ({e.reason} at byte {e.start})") from None
    return [(n, line.rstrip("\r")) for n, line in enumerate(text.split("\n"), 1) if line.rstrip("\r").strip()]


def split_key(line: str) -> tuple[str, str | None]:
    """Split ``key<TAB>value`` (or ``key value``) at the first tab, else the first space."""
    sep = "\t" if "\t" in line else " "
    key, found, value = line.partition(sep)
    return key, (value if found else None)


def _lmdb_labels(path: Path) -> list[tuple[str, str]]:
    import lmdb  # only the LMDB path needs it

    try:
        env = lmdb.open(str(path), readonly=True, lock=False, readahead=False, meminit=False)
    except lmdb.Error as e:
        raise ParseError(path, None, f"cannot open LMDB: {e}") from None
    try:
        with env.begin() as txn:
            raw = txn.get(b"num-samples")
            if raw is None:
                raise ParseError(path, None, "LMDB has no 'num-samples' key")
            try:
                n = int(raw.decode())
            except ValueError:
                raise ParseError(path, None, f"'num-samples' is not an integer: {raw!r}") from None
            out = []
            for i in range(1, n + 1):
                label = txn.get(f"label-{i:09d}".encode())
                if label is None:
                    raise ParseError(path, None, f"missing key label-{i:09d} (num-samples = {n})")
                out.append((f"image-{i:09d}", label.decode("utf-8")))
            return out
    finally:
        env.close()


def load_rec_gt(path: str | Path) -> list[tuple[str, str]]:
    """(name, label) of every ground-truth sample, from an LMDB folder or a labels file."""
    path = Path(path)
    if not path.exists():
        raise ParseError(path, None, "no such file or folder")
    if path.is_dir():
        if not (path / "data.mdb").exists():
            raise ParseError(path, None, "a folder ground truth must be an LMDB (no data.mdb)")
        return _lmdb_labels(path)
    out = []
    for n, line in _lines(path):
        key, label = split_key(line)
        if label is None:
            raise ParseError(path, n, f"expected 'name<TAB>label', got {line!r}")
        out.append((key, label))
    return out


def load_rec_preds(path: str | Path) -> list[tuple[int, str, str]]:
    """(line number, key, prediction) of every prediction line."""
    path = Path(path)
    if not path.is_file():
        raise ParseError(path, None, "no such file")
    return [(n, key, value or "") for n, (key, value) in ((n, split_key(line)) for n, line in _lines(path))]


def align(gt: list[tuple[str, str]], preds: list[tuple[int, str, str]],
          pred_file: str | Path) -> tuple[list[str], list[str], int]:
    """Ground-truth labels, the matching predictions (missing = '') and the count of missing ones."""
    names = {name: i for i, (name, _) in enumerate(gt)}
    if len(names) != len(gt):
        raise ParseError(pred_file, None, "the ground truth repeats a sample name; key predictions by index")
    by_name = all(key in names for _, key, _ in preds)
    if not by_name:
        # keys are indices then; report the first key that is neither a name nor an index in range
        for n, key, _ in preds:
            if key not in names and not (key.isdigit() and 1 <= int(key) <= len(gt)):
                raise ParseError(pred_file, n, f"unknown sample {key!r}: neither a ground-truth name "
                                               f"nor an index 1..{len(gt)}")
        named = next(((n, key) for n, key, _ in preds if not key.isdigit()), None)
        if named is not None:
            raise ParseError(pred_file, named[0], f"key {named[1]!r} is a name but other keys are indices; "
                                                  "use one kind of key")
    out: list[str | None] = [None] * len(gt)
    for n, key, value in preds:
        i = names[key] if by_name else int(key) - 1
        if out[i] is not None:
            raise ParseError(pred_file, n, f"second prediction for sample {key!r}")
        out[i] = value
    missing = sum(v is None for v in out)
    return [label for _, label in gt], [v or "" for v in out], missing
