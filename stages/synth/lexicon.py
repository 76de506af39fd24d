"""Words for the synthetic generator: a built-in list of common English words and sign-board vocabulary,
or a user's lexicon file (one word or phrase a line, UTF-8), plus generated numbers."""
from __future__ import annotations

from pathlib import Path

import numpy as np

_BUILTIN_TEXT = """
the of and to in is you that it he was for on are as with his they at be this have from or one had by
word but not what all were we when your can said there use each which she do how their if will up
other about out many then them these so some her would make like him into time has look two more write
go see number no way could people my than first water been call who oil its now find long down day did
get come made may part over new sound take only little work know place year live me back give most very
after thing our just name good sentence man think say great where help through much before line right
too mean old any same tell boy follow came want show also around form three small set put end does
another well large must big even such because turn here why ask went men read need land different home
us move try kind hand picture again change off play spell air away animal house point page letter
mother answer found study still learn should world high every near add food between own below country
plant last school father keep tree never start city earth eye light thought head under story saw left
few while along might close something seem next hard open example begin life always those both paper
together got group often run important until children side feet car mile night walk white sea began
grow took river four carry state once book hear stop without second later miss idea enough eat face
watch far really almost let above girl sometimes mountain cut young talk soon list song being leave
family hotel cafe coffee bar restaurant pizza bakery market street road avenue station exit entrance
open closed sale price free parking taxi bus stop hospital pharmacy bank police post office library
museum park garden shop store center plaza hall gate north south east west main central grand royal
new fresh hot cold ice cream tea juice beer wine menu today special daily offer discount best quality
service welcome thank please push pull danger warning caution keep out private no smoking toilet
ladies gentlemen floor level room hostel inn motel bridge tower square church temple school college
university airport terminal platform ticket tickets information office sport fitness club music
cinema theatre gallery studio fashion beauty salon barber shoes books toys games phone mobile computer
repair wash laundry dry clean gold silver diamond jewelry watch time express delivery online
star sun moon king queen city life love happy lucky golden dragon tiger lion eagle ocean blue red green
yellow orange black purple pink brown grey
"""

BUILTIN_WORDS: tuple[str, ...] = tuple(dict.fromkeys(_BUILTIN_TEXT.split()))


def load_lexicon(path: str | Path | None) -> list[str]:
    """The built-in words, or the non-empty stripped lines of ``path``; an empty file is an error."""
    if path is None:
        return list(BUILTIN_WORDS)
    file = Path(path)
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise FileNotFoundError(f"lexicon_file {file}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"lexicon_file {file}: not UTF-8 ({exc})") from None
    words = [line.strip() for line in lines if line.strip()]
    if not words:
        raise ValueError(f"lexicon_file {file}: no words in it")
    return words


def random_number(rng: np.random.Generator) -> str:
    """A number as signs show them: a count, a year, a price, a time or a phone-like group."""
    kind = int(rng.integers(0, 5))
    if kind == 0:
        return str(int(rng.integers(0, 1000)))
    if kind == 1:
        return str(int(rng.integers(1950, 2031)))
    if kind == 2:
        return f"{int(rng.integers(0, 100))}.{int(rng.integers(0, 100)):02d}"
    if kind == 3:
        return f"{int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}"
    return f"{int(rng.integers(100, 1000))}-{int(rng.integers(0, 10000)):04d}"


def sample_text(rng: np.random.Generator, words: list[str], line_fraction: float, number_fraction: float) -> str:
    """One instance's text: a word or number, or (with ``line_fraction``) a line of 2-3 of them, in
    lower, Title or UPPER case."""
    count = int(rng.integers(2, 4)) if rng.random() < line_fraction else 1
    parts = []
    for _ in range(count):
        if rng.random() < number_fraction:
            parts.append(random_number(rng))
        else:
            parts.append(words[int(rng.integers(0, len(words)))])
    text = " ".join(parts)
    case = int(rng.integers(0, 3))
    return text.lower() if case == 0 else text.title() if case == 1 else text.upper()
