"""Generic word-image lists, recognition: SVTP, CUTE80, IIIT5K / IC13 / IC15 lists as redistributed,
and MMOCR-prepared sets.

Two native layouts, chosen by the annotation file's suffix:

1. Text lists (any suffix but ``.json``), one word image per line, the path relative to ``images``:

   - a line with a TAB: the path is everything before the first tab, the label everything after it,
     verbatim (it may contain spaces), e.g. ``word_7.png<TAB>New York``;
   - otherwise fields are split on whitespace: the path is the first field, the label the second, and
     further fields are ignored. This reads ``13_15_0_par.jpg WYNDHAM`` (SVTP) and
     ``timage/001.jpg RONALDO 1 RONALDO`` (CUTE80 as distributed, with a case flag and a repeat of the
     label). A space-separated list therefore cannot carry labels with spaces: write those with a tab.

   Blank lines are skipped; a line with a path but no label is a ``malformed_line``. UTF-8, BOM allowed.

2. MMOCR 1.x recognition JSON (``*.json``, e.g. ``textrecog_train.json`` / ``labels.json``)::

       {"metainfo": {...}, "data_list": [{"img_path": "1223731.jpg", "instances": [{"text": "GRAND"}]}]}

   Skips name the item as ``<file>:data_list/<index, 0-based>``.

Image files are not touched here: the convert stage's shards read every image anyway, and report a
missing, empty or undecodable one (``missing_image`` / ``empty_image`` / ``unreadable_image``). A check
here would cost the single-threaded parse one file-system call per word.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from stages.convert.parsers.common import join_name
from stages.convert.parsers.line_format import LineFormat, parse_line_list
from stages.dataset.names import SafeJoiner
from stages.dataset.records import CropRecord, ParseError, Skipped


def parse(annotations: Path, images: Path) -> Iterator[CropRecord | Skipped]:
    """Yield one CropRecord per listed word image; ``annotations`` is a text list or an MMOCR JSON file,
    ``images`` the folder its paths are relative to."""
    annotations, images = Path(annotations), Path(images)
    if is_line_list(annotations):
        yield from parse_line_list(annotations, images, LINES)
    else:
        yield from _parse_mmocr_json(annotations, images)


def split_line(line: str) -> tuple[str, str] | None:
    """(path, label) of one list line by the rule in the module docstring; None when it has no label."""
    if "\t" in line:
        path, label = line.split("\t", 1)
        path = path.strip()
    else:
        fields = line.split()
        if len(fields) < 2:
            return None
        path, label = fields[0], fields[1]
    if not path or not label:
        return None
    return path, label


LINES = LineFormat(split_line, "'path<TAB or space>label'")


def is_line_list(annotations: Path) -> bool:
    """Whether ``annotations`` is a text list (layout 1) rather than MMOCR JSON (layout 2)."""
    return Path(annotations).suffix.lower() != ".json"


def crop(image: Path, label: str, source: str) -> CropRecord:
    """The CropRecord of one word image (whether the file is usable is decided when it is read)."""
    return CropRecord(label=label, image_path=image, source=source)


def _parse_mmocr_json(file: Path, images: Path) -> Iterator[CropRecord | Skipped]:
    """MMOCR 1.x ``data_list`` items -> CropRecords."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise ParseError(file, None, f"cannot read: {err}") from err
    except json.JSONDecodeError as err:
        raise ParseError(file, err.lineno, f"invalid JSON: {err.msg}") from err
    items = data.get("data_list") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ParseError(file, None, "expected an MMOCR recognition JSON with a 'data_list' list")
    joiner = SafeJoiner(images)
    for index, item in enumerate(items):
        source = f"{file.name}:data_list/{index}"
        pair = _mmocr_item(item)
        if pair is None:
            yield Skipped("malformed_entry", source, f"expected img_path and instances[0].text: {item!r}"[:200])
            continue
        image = join_name(joiner, pair[0], source)  # names from the file are untrusted
        yield image if isinstance(image, Skipped) else crop(image, pair[1], source)


def _mmocr_item(item: Any) -> tuple[str, str] | None:
    """(img_path, text) of one MMOCR data_list item; None when malformed."""
    if not isinstance(item, dict):
        return None
    path, instances = item.get("img_path"), item.get("instances")
    if not isinstance(path, str) or not path or not isinstance(instances, list) or not instances:
        return None
    text = instances[0].get("text") if isinstance(instances[0], dict) else None
    return (path, text) if isinstance(text, str) and text else None
