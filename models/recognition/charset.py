"""Character sets of recognizers: which characters a model can output, and what happens to the rest.

Kinds (a model config's ``charset``):

* ``lower36``: ``0-9a-z``, case-insensitive (the academic benchmark setting): labels are lower-cased
  first, so ``"Hello"`` trains as ``"hello"``;
* ``printable94``: the 94 printable ASCII characters ``!`` to ``~`` (no space), case-sensitive;
* ``easyocr_en``: the 96 characters of EasyOCR's English recognizers (``english_g2``), in their class
  order: ``0-9``, the 32 ASCII punctuation characters, the space, ``€``, ``A-Z``, ``a-z``; case-sensitive.
  (A charset file cannot hold the space: blank lines are skipped.)
* ``file``: the characters of a UTF-8 file, one per line (CJK sets for LSVT / ReCTS); blank lines are
  skipped, a line of more than one character or a repeated character is an error naming the line.

**Unknown characters** (not in the set after the kind's case rule) are dropped from a label, and the
label keeps the rest: ``"café!"`` under ``lower36`` is ``"caf"``. A label left empty is not trainable;
data loaders skip and count such samples (``encode`` returns an empty list).

Ids: ``0`` is reserved (the CTC blank, or an attention decoder's padding); the set's characters are
``1 .. size``. Architectures that need more special tokens (end of sequence) put them after ``size``.
"""
from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

LOWER36 = string.digits + string.ascii_lowercase
PRINTABLE94 = "".join(chr(c) for c in range(33, 127))
EASYOCR_EN = string.digits + string.punctuation + " €" + string.ascii_uppercase + string.ascii_lowercase


class CharsetConfig(BaseModel):
    """``kind`` and, for ``file``, the file's ``path``."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["lower36", "printable94", "easyocr_en", "file"] = "lower36"
    path: str | None = None

    @model_validator(mode="after")
    def _path_for_file(self) -> "CharsetConfig":
        if (self.kind == "file") != (self.path is not None):
            raise ValueError("charset: 'path' is required for kind 'file' and only for it")
        return self


class Charset:
    """Encode labels to ids and decode ids to text for one character set."""

    def __init__(self, symbols: str, lower: bool = False):
        self.symbols = symbols
        self.lower = lower
        self._ids = {ch: i + 1 for i, ch in enumerate(symbols)}

    @property
    def size(self) -> int:
        """Number of characters (ids 1..size)."""
        return len(self.symbols)

    def normalise(self, text: str) -> str:
        """``text`` as the model can output it: the case rule applied, unknown characters dropped."""
        if self.lower:
            text = text.lower()
        return "".join(ch for ch in text if ch in self._ids)

    def encode(self, text: str) -> list[int]:
        """Ids of ``normalise(text)`` (empty when nothing of it is in the set)."""
        return [self._ids[ch] for ch in self.normalise(text)]

    def decode(self, ids: list[int]) -> str:
        """Text of ``ids``; 0 and ids past ``size`` (special tokens) are skipped."""
        return "".join(self.symbols[i - 1] for i in ids if 0 < i <= self.size)


def charset_of(config: CharsetConfig | dict) -> Charset:
    """The Charset a config names (file charsets are read once per path)."""
    config = CharsetConfig.model_validate(config) if isinstance(config, dict) else config
    if config.kind == "lower36":
        return Charset(LOWER36, lower=True)
    if config.kind == "printable94":
        return Charset(PRINTABLE94)
    if config.kind == "easyocr_en":
        return Charset(EASYOCR_EN)
    return _file_charset(str(config.path))


@lru_cache(maxsize=8)
def _file_charset(path: str) -> Charset:
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"charset file {path} does not exist")
    seen: dict[str, int] = {}
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
        ch = line.rstrip("\r\n")
        if not ch.strip():
            continue
        if len(ch) != 1:
            raise ValueError(f"{path}:{number}: one character per line expected, got {ch!r}")
        if ch in seen:
            raise ValueError(f"{path}:{number}: {ch!r} repeats line {seen[ch]}")
        seen[ch] = number
    if not seen:
        raise ValueError(f"charset file {path} holds no character")
    return Charset("".join(seen))
