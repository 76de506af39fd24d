"""Font discovery and loading for the synthetic generator.

Order of preference: a configured font folder (all its .ttf/.otf/.ttc files), else the Latin text
fonts of Debian's DejaVu / Liberation / Noto packages under /usr/share/fonts, else Pillow's built-in
scalable font. Lists are sorted so the same machine gives the same choice for the same seed.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

from stages.synth.folders import configured_files

SYSTEM_FONT_ROOT = Path("/usr/share/fonts")
BUILTIN = "<pillow-default>"
_FONT_SUFFIXES = {".ttf", ".otf", ".ttc"}
# Latin text faces only (Noto ships hundreds of script and emoji fonts), and no hairline weights,
# which would be too faint at the small sizes the generator uses.
_SYSTEM_FAMILIES = re.compile(r"^(DejaVu(Sans|Serif)|Liberation(Sans|Serif|Mono)|Noto(Sans|Serif|SansMono)-)")
_TOO_THIN = re.compile(r"(ExtraLight|Thin|Light|Hairline)", re.IGNORECASE)


def find_fonts(font_dir: str | Path | None = None, system_root: Path = SYSTEM_FONT_ROOT) -> list[str]:
    """The font files to draw from (sorted paths as strings), or ``[BUILTIN]`` when none are found.

    A configured ``font_dir`` that holds no font file is an error (a typo should not silently fall back).
    """
    if font_dir is not None:
        return configured_files(font_dir, _FONT_SUFFIXES, "font_dir", ".ttf/.otf/.ttc files in it")
    return list(_system_fonts(str(system_root))) or [BUILTIN]


@lru_cache(maxsize=4)
def _system_fonts(root: str) -> tuple[str, ...]:
    base = Path(root)
    if not base.is_dir():
        return ()
    return tuple(sorted(str(p) for p in base.rglob("*") if p.suffix.lower() in _FONT_SUFFIXES
                        and _SYSTEM_FAMILIES.match(p.name) and not _TOO_THIN.search(p.name)))


@lru_cache(maxsize=512)
def load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    """A FreeType font at ``size`` px (cached per process: loading a face costs ~1 ms)."""
    if path == BUILTIN:
        return ImageFont.load_default(size=size)
    try:
        return ImageFont.truetype(path, size=size)
    except OSError as exc:
        raise OSError(f"font {path}: cannot be loaded ({exc})") from None
