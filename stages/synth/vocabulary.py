"""Texts of synthetic word images: real words, random strings and numbers, with held-out words.

Word lists (``words.lexicon``):

* ``english-words``: the GCIDE list of the PyPI package ``english-words`` (pinned in pyproject.toml; about
  114k lower-case entries), letters only. Debian's ``wamerican`` is not used: it is not installed on
  every machine and the project's setup cannot rely on apt.
* ``builtin``: the short list of common and sign-board words in ``stages/synth/lexicon.py``.
* ``file``: the synth stage's ``lexicon_file`` (one word a line).

Words outside ``word_length`` are dropped; the list is sorted and de-duplicated so a seed gives the same
texts on every machine.

**Held-out texts**: every text falls on one side of a fixed partition, by the CRC-32 of its normalised
form (lower case, letters and digits only, the standard accuracy rule) against ``held_out_fraction``.
A held-out split draws only held-out texts and every other split only the rest (also in a stage without
held-out splits), so no label of a held-out split appears in any other split, of this stage or of another
with the same ``held_out_fraction``, under any case: its accuracy measures words never seen in training.
Random strings and numbers are partitioned the same way.
"""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from stages.synth.lexicon import BUILTIN_WORDS, load_lexicon, random_number

_LETTERS = re.compile(r"^[^\W\d_]+$")  # words of letters only (any script): no digits, hyphens, apostrophes
_NOT_ALNUM = re.compile(r"[\W_]+")
_MAX_DRAWS = 1000  # a sampler that finds no text of its side in this many draws has a bad config


@dataclass(frozen=True)
class TextSource:
    """What a split's texts are drawn from (plain values: shards pickle it)."""

    words: tuple[str, ...]
    random_fraction: float
    number_fraction: float
    random_chars: str
    random_length: tuple[int, int]
    case_weights: tuple[float, float, float]  # lower, Title, UPPER
    held_out_fraction: float
    partition: bool  # False: every text is allowed (the stage always partitions)
    held_out: bool  # which side of the partition this split draws from
    punctuation_fraction: float = 0.0  # words and random strings ending in one of ``punctuation``
    punctuation: str = ""


def load_words(lexicon: str, lexicon_file: str | None, length: tuple[int, int]) -> tuple[str, ...]:
    """The sorted word list of ``lexicon`` (see the module doc), words of ``length`` letters only."""
    if lexicon == "english-words":
        words = _english_words()
    elif lexicon == "builtin":
        words = BUILTIN_WORDS
    elif lexicon == "file":
        if lexicon_file is None:
            raise ValueError("words.lexicon is 'file' but the stage's lexicon_file is not set")
        words = load_lexicon(lexicon_file)
    else:
        raise ValueError(f"unknown words.lexicon {lexicon!r}; valid: english-words, builtin, file")
    kept = sorted({w for w in words if _LETTERS.match(w) and length[0] <= len(w) <= length[1]})
    if not kept:
        raise ValueError(f"words.lexicon {lexicon!r}: no word of {length[0]}-{length[1]} letters in it")
    return tuple(kept)


@lru_cache(maxsize=1)
def _english_words() -> tuple[str, ...]:
    try:
        from english_words import get_english_words_set
    except ImportError:
        raise ImportError("words.lexicon 'english-words' needs the PyPI package english-words "
                          "(a project dependency: reinstall the project, or use lexicon: builtin)") from None
    return tuple(sorted(get_english_words_set(["gcide"], alpha=True, lower=True)))


def normalise(text: str) -> str:
    """The form accuracy is judged on (lower case, letters and digits only); also the partition's key."""
    return _NOT_ALNUM.sub("", text.lower())


def is_held_out(text: str, fraction: float) -> bool:
    """Whether ``text`` falls in the held-out part of the partition (a fixed function of its normal form)."""
    return zlib.crc32(normalise(text).encode("utf-8")) < fraction * 2**32


def sample_text(source: TextSource, rng: np.random.Generator) -> str:
    """One text of the source's side of the partition: a word, a random string or a number, cased."""
    for _ in range(_MAX_DRAWS):
        text = _draw(source, rng)
        if normalise(text) and (not source.partition
                                or is_held_out(text, source.held_out_fraction) == source.held_out):
            return text
    side = "held-out" if source.held_out else "training"
    raise ValueError(f"no {side} text found in {_MAX_DRAWS} draws: check words.held_out_fraction and the word list")


def _draw(source: TextSource, rng: np.random.Generator) -> str:
    kind = rng.random()
    if kind < source.number_fraction:
        return random_number(rng)  # numbers keep their punctuation and are never cased
    if kind < source.number_fraction + source.random_fraction:
        low, high = source.random_length
        chars = rng.choice(len(source.random_chars), size=int(rng.integers(low, high + 1)))
        text = "".join(source.random_chars[int(c)] for c in chars)
    else:
        text = source.words[int(rng.integers(0, len(source.words)))]
    case = int(rng.choice(3, p=np.asarray(source.case_weights) / sum(source.case_weights)))
    text = text.lower() if case == 0 else text.capitalize() if case == 1 else text.upper()
    if source.punctuation and source.punctuation_fraction > 0:  # off: the draws (and texts) of before
        mark = source.punctuation[int(rng.integers(0, len(source.punctuation)))]
        if rng.random() < source.punctuation_fraction:
            # The mark is not in the normal form, so the held-out partition is the same with or without it.
            text += mark
    return text
