"""The training data pipeline: COCO detection sets -> online augmentation -> the architecture's target maps.

All the per-image work (decode, augmentation chain, fit into the square crop, ``make_targets``) runs in
DataLoader worker processes; the training process only receives ready uint8 images and float32 maps.
Each item's random generator is seeded by (seed, stream position) (see ``sampler``), so the same step
gives the same augmented batch on a resumed run and with any number of loader workers.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import cv2
import numpy as np

from stages.dataset.images import read_rgb
from stages.dataset.layout import read_detection_set
from stages.dataset.transforms.base import drop_empty
from stages.dataset.transforms.chain import build_chain
from stages.dataset.transforms.spatial import Resize
from stages.train.sampler import SampleRef


@dataclass
class Sample:
    """One annotated image: path, and per instance a (N, 2) float32 polygon, a don't-care flag, a weight
    and its transcription ('' when unknown)."""

    image_path: Path
    polygons: list[np.ndarray]
    ignore: list[bool]
    weights: list[float]
    texts: list[str] = field(default_factory=list)


class PackedSamples:
    """The samples of one dataset in a few flat numpy arrays instead of millions of small objects.

    DataLoader workers are forked: every Python object they touch gets its page copied (reference
    counts), so a SynthText-sized list of per-polygon arrays would be duplicated in every worker. Flat
    arrays are shared untouched. ``samples[i]`` rebuilds the ``Sample`` of image ``i``.
    """

    def __init__(self, paths: list[str], counts: list[int], sizes: list[int], coords: list[np.ndarray],
                 ignore: list[bool], weights: list[float], texts: list[str] | None = None):
        self.paths = np.array(paths)  # (n_images,) fixed-width str
        self.first = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)  # (n_images + 1,) instance offsets
        self.vertex = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)  # (n_inst + 1,) vertex offsets
        self.coords = np.concatenate(coords).astype(np.float32) if coords else np.zeros((0, 2), np.float32)
        self.ignore = np.asarray(ignore, bool)
        self.weights = np.asarray(weights, np.float32)
        # fixed-width unicode: one flat buffer the forked workers share, like the arrays above
        self.texts = np.array(texts if texts is not None else [""] * len(self.ignore), dtype=str)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> Sample:
        if not -len(self) <= i < len(self):
            raise IndexError(f"sample {i} out of range ({len(self)} images)")
        i %= len(self)
        a, b = int(self.first[i]), int(self.first[i + 1])
        polys = [self.coords[self.vertex[k]:self.vertex[k + 1]] for k in range(a, b)]
        return Sample(Path(str(self.paths[i])), polys, self.ignore[a:b].tolist(),
                      [float(w) for w in self.weights[a:b]], [str(t) for t in self.texts[a:b]])


def read_samples(path: Path) -> PackedSamples:
    """Every image of a COCO detection set, with its instances; ``iscrowd`` marks don't care and the
    COCO ``weight`` (default 1) is each instance's loss weight."""
    paths, counts, sizes, coords, ignore, weights, texts = [], [], [], [], [], [], []
    for rec in read_detection_set(path):
        paths.append(str(rec.image_path))
        counts.append(len(rec.instances))
        for inst in rec.instances:
            coords.append(np.asarray(inst.polygon, np.float32).reshape(-1, 2))
            sizes.append(len(coords[-1]))
            ignore.append(bool(inst.ignore))
            weights.append(float(inst.weight))
            texts.append(inst.text)
    if not paths:
        raise ValueError(f"dataset {path}: its annotations.json lists no images")
    return PackedSamples(paths, counts, sizes, coords, ignore, weights, texts)


class MixedDataset:
    """Map-style dataset indexed by ``SampleRef``: augmented square crops with their target maps.

    datasets: the samples of each training set (``read_samples``); chain: augmentation spec (list of
    transform dicts); image_size: crop side; targets: the architecture's target maker
    (``models.build.target_maker``; one with a true ``needs_texts`` attribute is also given the kept
    instances' transcriptions as ``texts=``); seed: base of every item's random generator.
    """

    def __init__(self, datasets: Sequence[PackedSamples], chain: list[dict[str, Any]], image_size: int,
                 targets: Callable[..., dict[str, np.ndarray]], seed: int = 0):
        self.datasets = list(datasets)
        self.chain = build_chain(chain)
        self.fit = Resize((image_size, image_size), keep_ratio=True, fill=0)
        self.image_size = image_size
        self.targets = targets
        self.seed = seed

    def sizes(self) -> list[int]:
        """Number of images in each dataset."""
        return [len(d) for d in self.datasets]

    def __getitem__(self, ref: SampleRef) -> dict[str, Any]:
        sample = self.datasets[ref.dataset][ref.index]
        rng = np.random.default_rng([self.seed, ref.position])
        return self.make_item(read_rgb(sample.image_path), sample, rng) | {"dataset": ref.dataset}

    def make_item(self, image: np.ndarray, sample: Sample, rng: np.random.Generator) -> dict[str, Any]:
        """Augment one decoded image and build its targets: ``image`` (S, S, 3) uint8 and the
        architecture's (S, S) float32 target maps."""
        image, polys, ignore = self.chain(image, sample.polygons, sample.ignore, rng)
        # transforms keep the instances' order, so the parallel lists are filtered alongside
        texts = sample.texts or [""] * len(polys)  # a hand-made Sample may carry no texts
        polys, ignore, weights, texts = drop_empty(polys, ignore, sample.weights, texts)
        image, polys, ignore = self.fit(image, polys, ignore, rng)
        size = self.image_size
        extra = {"texts": texts} if getattr(self.targets, "needs_texts", False) else {}
        maps = self.targets(size, size, polys, ignore, weights, **extra)
        return {"image": np.ascontiguousarray(image), **maps}


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack items into tensors: ``image`` (B, S, S, 3) uint8, maps (B, S, S) float32, ``dataset`` (B,)."""
    import torch

    out = {key: torch.from_numpy(np.stack([it[key] for it in items])) for key in items[0] if key != "dataset"}
    out["dataset"] = torch.tensor([it["dataset"] for it in items], dtype=torch.long)
    return out


def worker_init(_: int) -> None:
    """DataLoader worker set-up: one torch thread each, the processes themselves are the parallelism."""
    import torch

    torch.set_num_threads(1)
    # Lower priority than the training process: on a busy machine the loader, which runs ahead by
    # several batches, yields the CPU to the model instead of slowing every step.
    os.nice(5)


def make_loader(dataset: Any, sampler: Any, workers: int, prefetch: int = 4, pin_memory: bool = False,
                collate: Callable[[list[dict[str, Any]]], dict[str, Any]] = collate) -> Any:
    """A DataLoader running ``dataset`` over ``sampler``'s batches in ``workers`` processes
    (``pin_memory`` for fast, asynchronous copies to a GPU; ``collate``: the task's batching)."""
    from torch.utils.data import DataLoader

    if workers:
        # Workers are forked: an OpenCV thread pool alive in this process at fork time leaves locked
        # state in the children, which hang in their first parallel cv2 call (seen in cv2.setNumThreads).
        # Single-threaded OpenCV here (it only resizes validation images) means no pool to inherit.
        cv2.setNumThreads(1)
    extra = {"prefetch_factor": prefetch, "persistent_workers": False, "worker_init_fn": worker_init} if workers else {}
    return DataLoader(dataset, batch_sampler=sampler, num_workers=workers, collate_fn=collate, pin_memory=pin_memory,
                      **extra)
