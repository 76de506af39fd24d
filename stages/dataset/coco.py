"""Detection sets as COCO JSON, written as a stream and read back into ``ImageRecord``s.

Layout: ``images[{id,file_name,width,height}]``, ``annotations[{id,image_id,category_id:1,
segmentation:[[x1,y1,...]],bbox:[x,y,w,h],area,iscrowd,text,language,weight}]``,
``categories:[{id:1,name:"text"}]``. ``iscrowd=1`` marks a don't-care instance; ids are 1-based in
record order. An instance with per-character boxes also gets ``chars: [{text, polygon:[x1,y1,...]}]``
(readers that do not know the key ignore it). pycocotools loads the file as is.
"""
from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Iterable, Iterator

from stages.dataset.images import image_size
from stages.dataset.records import ImageRecord, TextInstance

CATEGORIES = [{"id": 1, "name": "text"}]


class CocoWriter:
    """Write a COCO file record by record without keeping the dataset in memory.

    Image entries go straight into the output; annotation entries into a side file that is appended after
    them on close (COCO puts all images before all annotations, but we only see each record once).
    """

    def __init__(self, out_json: Path, image_root: Path):
        self.out_json = Path(out_json)
        self.image_root = Path(image_root)
        self.out_json.parent.mkdir(parents=True, exist_ok=True)
        self._side_path = self.out_json.with_name(self.out_json.name + ".annotations.tmp")
        self._out: IO[str] = open(self.out_json, "w", encoding="utf-8")
        self._side: IO[str] = open(self._side_path, "w+", encoding="utf-8")
        self._out.write('{"images":[')
        self.counts = {"images": 0, "annotations": 0, "ignore": 0}

    def __enter__(self) -> "CocoWriter":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self._out.close()
            self._side.close()
            self._side_path.unlink(missing_ok=True)

    def add(self, rec: ImageRecord) -> int:
        """Append one image and its instances; returns the image id. Reads the image header when the
        record's size is unknown (the stored-frame size, as every reader of the project sees the image)."""
        width, height = (rec.width, rec.height) if rec.width > 0 and rec.height > 0 else image_size(rec.image_path)
        image_id = self.counts["images"] + 1
        entry = {"id": image_id, "file_name": self._file_name(rec.image_path), "width": width, "height": height}
        self._out.write(("" if image_id == 1 else ",") + _dumps(entry))
        for inst in rec.instances:
            ann_id = self.counts["annotations"] + 1
            self._side.write(("" if ann_id == 1 else ",") + _dumps(annotation_entry(inst, ann_id, image_id)))
            self.counts["annotations"] += 1
            self.counts["ignore"] += int(inst.ignore)
        self.counts["images"] = image_id
        return image_id

    def close(self) -> dict[str, int]:
        """Finish the file: annotations after the images, then the categories. Returns the counts."""
        if not self._out.closed:
            self._out.write('],"annotations":[')
            self._side.flush()
            self._side.seek(0)
            shutil.copyfileobj(self._side, self._out)
            self._out.write('],"categories":' + _dumps(CATEGORIES) + "}\n")
            self._out.close()
            self._side.close()
            self._side_path.unlink(missing_ok=True)
        return dict(self.counts)

    def _file_name(self, image_path: Path) -> str:
        path = Path(image_path)
        if not path.is_absolute():
            return path.as_posix()
        try:
            return path.relative_to(self.image_root).as_posix()
        except ValueError:
            raise ValueError(f"image {path} is not under the COCO image root {self.image_root}") from None


def write_coco(records: Iterable[ImageRecord], out_json: Path, image_root: Path) -> dict[str, int]:
    """Write ``records`` as a COCO file; ``file_name`` is each image path relative to ``image_root``.

    Returns ``{"images": n, "annotations": m, "ignore": k}``.
    """
    with CocoWriter(out_json, image_root) as writer:
        for rec in records:
            writer.add(rec)
    return writer.close()


def annotation_entry(inst: TextInstance, ann_id: int, image_id: int) -> dict[str, Any]:
    """The COCO annotation dict of one instance (bbox and area computed from its polygon)."""
    xs = [float(x) for x, _ in inst.polygon]
    ys = [float(y) for _, y in inst.polygon]
    x0, y0 = min(xs), min(ys)
    entry: dict[str, Any] = {
        "id": ann_id,
        "image_id": image_id,
        "category_id": 1,
        "segmentation": [_flat(inst.polygon)],
        "bbox": [_num(x0), _num(y0), _num(max(xs) - x0), _num(max(ys) - y0)],
        "area": _num(_shoelace(xs, ys)),
        "iscrowd": int(inst.ignore),
        "text": inst.text,
        "language": inst.language,
        "weight": float(inst.weight),
    }
    if inst.chars:
        entry["chars"] = [{"text": ch, "polygon": _flat(poly)} for ch, poly in inst.chars]
    return entry


def read_coco(path: Path, image_root: Path | None = None) -> Iterator[ImageRecord]:
    """Yield the file's images as ``ImageRecord``s, in image order (inverse of ``write_coco``).

    ``image_path`` is ``image_root / file_name``, or the bare ``file_name`` when no root is given.
    """
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    by_image: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for ann in data.get("annotations", []):
        by_image[ann["image_id"]].append(ann)
    for img in data["images"]:
        anns = sorted(by_image.get(img["id"], []), key=lambda a: a["id"])
        name = Path(img["file_name"])
        yield ImageRecord(
            image_path=image_root / name if image_root is not None else name,
            width=int(img.get("width", 0)),
            height=int(img.get("height", 0)),
            instances=[_instance(ann, path) for ann in anns],
            source=f"{path}:image {img['id']}",
        )


def _instance(ann: dict[str, Any], path: Path) -> TextInstance:
    seg = ann.get("segmentation")
    if not isinstance(seg, list) or not seg or not isinstance(seg[0], list):
        raise ValueError(f"{path}: annotation {ann.get('id')} has no polygon segmentation")
    return TextInstance(
        polygon=_pairs(seg[0]),
        text=ann.get("text", ""),
        ignore=bool(ann.get("iscrowd", 0)),
        language=ann.get("language", ""),
        weight=float(ann.get("weight", 1.0)),
        chars=[(c["text"], _pairs(c["polygon"])) for c in ann.get("chars", [])],
    )


def _flat(polygon: list[tuple[float, float]]) -> list[float | int]:
    return [_num(v) for point in polygon for v in point]


def _pairs(flat: list[float]) -> list[tuple[float, float]]:
    return [(float(flat[i]), float(flat[i + 1])) for i in range(0, len(flat) - 1, 2)]


def _num(value: float) -> float | int:
    # Whole numbers as ints: ICDAR-style integer coordinates stay short in the JSON.
    value = float(value)
    return int(value) if value.is_integer() else value


def _shoelace(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    return abs(sum(xs[i] * ys[(i + 1) % n] - xs[(i + 1) % n] * ys[i] for i in range(n))) / 2.0


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


__all__ = ["CATEGORIES", "CocoWriter", "annotation_entry", "read_coco", "write_coco"]
