"""SVT (Street View Text, Wang et al.), detection / spotting.

Native layout: ``train.xml`` / ``test.xml`` beside an ``img/`` folder::

    <tagset>
      <image>
        <imageName>img/14_03.jpg</imageName>
        <address>...</address> <lex>LIVING,ROOM,...</lex>
        <Resolution x="1280" y="880"/>
        <taggedRectangles>
          <taggedRectangle height="75" width="236" x="375" y="253"><tag>LIVING</tag></taggedRectangle>
        </taggedRectangles>
      </image>
    </tagset>

SVT is a word-spotting set, so ``parse`` yields ImageRecords (each rectangle as a 4-point polygon, clockwise
from top-left, tags kept as written: upper case); the SVT *recognition* benchmark's word images are cut
from these records by the convert stage's crop writer, not read here. ``Resolution`` gives the image size.
``images`` is the folder ``imageName`` is relative to (the one holding ``img/``); the basename alone is
tried too. The lexicons are not kept. Skips name the XML line of the element.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator
from xml.parsers import expat

from stages.convert.parsers.common import locate_image
from stages.dataset.records import ImageRecord, ParseError, Skipped, TextInstance


@dataclass
class _Rect:
    attrs: dict[str, str]
    line: int
    tag: str = ""


@dataclass
class _Image:
    line: int
    name: str = ""
    resolution: dict[str, str] = field(default_factory=dict)
    rects: list[_Rect] = field(default_factory=list)


def parse(annotations: Path, images: Path) -> Iterator[ImageRecord | Skipped]:
    """Yield one ImageRecord per ``<image>`` of an SVT XML file (``annotations``)."""
    annotations, images = Path(annotations), Path(images)
    for entry in read_xml(annotations):
        yield from _record(entry, images, annotations.name)


def read_xml(path: Path) -> list[_Image]:
    """The ``<image>`` elements of an SVT XML file, with the line each element starts on.
    (expat directly, because ElementTree does not report line numbers.)"""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ParseError(path, None, f"cannot read: {err}") from err
    collector = _Collector(expat.ParserCreate())
    try:
        collector.parser.Parse(data, True)
    except expat.ExpatError as err:
        raise ParseError(path, err.lineno, f"invalid XML: {expat.ErrorString(err.code)}") from err
    except (LookupError, ValueError) as err:  # an XML declaration naming an unknown encoding
        raise ParseError(path, collector.parser.CurrentLineNumber, f"invalid XML: {err}") from err
    if collector.root != "tagset":
        raise ParseError(path, None, f"root element is <{collector.root}>, expected <tagset>")
    return collector.images


class _Collector:
    """expat callbacks that gather images, rectangles and their tags."""

    def __init__(self, parser: expat.XMLParserType):
        self.parser = parser
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.chars
        self.root = ""
        self.images: list[_Image] = []
        self.image: _Image | None = None
        self.rect: _Rect | None = None
        self.text: list[str] = []

    def start(self, name: str, attrs: dict[str, str]) -> None:
        line = self.parser.CurrentLineNumber
        self.root = self.root or name
        self.text = []
        if name == "image":
            self.image = _Image(line=line)
        elif name == "Resolution" and self.image is not None:
            self.image.resolution = attrs
        elif name == "taggedRectangle":
            self.rect = _Rect(attrs=attrs, line=line)

    def end(self, name: str) -> None:
        text = "".join(self.text).strip()
        if name == "imageName" and self.image is not None:
            self.image.name = text
        elif name == "tag" and self.rect is not None:
            self.rect.tag = text
        elif name == "taggedRectangle" and self.rect is not None and self.image is not None:
            self.image.rects.append(self.rect)
            self.rect = None
        elif name == "image" and self.image is not None:
            self.images.append(self.image)
            self.image = None

    def chars(self, data: str) -> None:
        self.text.append(data)


def _record(entry: _Image, images: Path, file: str) -> Iterator[ImageRecord | Skipped]:
    """One ``<image>`` -> Skipped rectangles, then its ImageRecord (or one Skipped for the image)."""
    if not entry.name:
        yield Skipped("malformed_entry", f"{file}:{entry.line}", "<image> without <imageName>")
        return
    image = locate_image(images, entry.name, f"{file}:{entry.line}", basename_fallback=True)
    if isinstance(image, Skipped):  # missing, or a name reaching outside the image folder
        yield image
        return
    instances = []
    for rect in entry.rects:
        try:
            x, y, w, h = (float(rect.attrs[k]) for k in ("x", "y", "width", "height"))
        except (KeyError, ValueError):
            yield Skipped("bad_rectangle", f"{file}:{rect.line}", f"taggedRectangle attributes {rect.attrs}")
            continue
        polygon = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
        instances.append(TextInstance(polygon=polygon, text=rect.tag))
    width, height = (_int(entry.resolution.get(k)) for k in ("x", "y"))
    yield ImageRecord(image_path=image, width=width, height=height, instances=instances,
                      source=f"{file}:{entry.line}")


def _int(value: str | None) -> int:
    """A Resolution attribute as an int; 0 (unknown) when absent or malformed."""
    try:
        return max(int(float(value)), 0) if value is not None else 0
    except ValueError:
        return 0
