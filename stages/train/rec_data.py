"""The recognition training data pipeline: DTRB LMDBs -> word-image augmentation -> fitted crops + labels.

Each item is drawn by a ``SampleRef`` of the mixed sampler (so ratios, resume and per-item seeding are
detection's). Per item: decode the crop (and its glyph mask when the LMDB has ``mask-%09d``), run the
augmentation chain, fit it to the model's input geometry (``models.recognition.preprocess.fit_crop``)
and make the architecture's targets. A sample whose label encodes to nothing in the charset (or whose
image does not decode) cannot be trained on: the next index of the same dataset is taken instead and the
item counts it in ``skipped`` (the loop logs the sum as ``train/skipped``).

Augmentation: each transform gets its own generator seeded by (seed, position, transform index), so the
glyph mask goes through exactly the geometric transforms its image did (photometric ones leave it alone)
and uncovered mask borders are 0.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

import numpy as np

from models.recognition.preprocess import fit_crop, pad_batch
from stages.dataset.lmdb_words import LmdbWords
from stages.dataset.transforms.chain import GEOMETRIC, build_transform
from stages.train.sampler import SampleRef

# Online augmentation for word images: small rotation and perspective, blur, noise, colour. Mild on
# purpose: a word turned or warped too far is no longer the word its label says.
DEFAULT_WORD_AUGMENT: list[dict[str, Any]] = [
    {"name": "rotate", "degrees": 4, "expand": True, "p": 0.3},
    {"name": "perspective", "strength": [0.0, 0.08], "expand": True, "p": 0.3},
    {"name": "gaussian_blur", "sigma": [0.3, 1.0], "p": 0.2},
    {"name": "gaussian_noise", "sigma": [2.0, 8.0], "p": 0.2},
    {"name": "brightness", "delta": 0.15, "p": 0.4},
    {"name": "contrast", "factor": [0.75, 1.25], "p": 0.4},
    {"name": "color_shift", "shift": 15, "p": 0.3},
]
MAX_SKIPS = 100  # consecutive untrainable samples before a dataset is declared unusable


class WordAugment:
    """A chain of transforms applied to a crop and, for the geometric ones, to its glyph mask."""

    def __init__(self, spec: Sequence[dict[str, Any]]):
        self.steps = []
        for item in spec:
            transform = build_transform(item)
            on_mask = None
            if item["name"] in GEOMETRIC:
                takes_fill = "fill" in inspect.signature(type(transform).__init__).parameters
                on_mask = build_transform({**item, "fill": 0}) if takes_fill else transform
            self.steps.append((transform, on_mask))

    def __call__(self, image: np.ndarray, mask: np.ndarray | None, seed: Sequence[int]) -> tuple[np.ndarray, Any]:
        """(augmented (h', w', 3) uint8 image, its (h', w') float32 mask or None)."""
        mask3 = None if mask is None else np.repeat((mask * 255).round().astype(np.uint8)[..., None], 3, axis=2)
        for k, (transform, on_mask) in enumerate(self.steps):
            image = transform(image, [], [], np.random.default_rng([*seed, k]))[0]
            if mask3 is not None and on_mask is not None:
                mask3 = on_mask(mask3, [], [], np.random.default_rng([*seed, k]))[0]
        return image, None if mask3 is None else mask3[..., 0].astype(np.float32) / 255.0


class WordDataset:
    """Map-style dataset indexed by ``SampleRef``: fitted word crops with their targets.

    datasets: one ``LmdbWords`` per training input; augment: the chain spec; geometry: ``fit_crop``'s
    keyword arguments (``input_geometry(config)``); targets: the architecture's ``(text, glyph_mask) -> dict``.
    """

    def __init__(self, datasets: Sequence[LmdbWords], augment: Sequence[dict[str, Any]], geometry: dict[str, Any],
                 targets: Callable[[str, np.ndarray | None], dict[str, Any]], seed: int = 0):
        self.datasets = list(datasets)
        self.augment = WordAugment(augment)
        self.geometry = geometry
        self.targets = targets
        self.seed = seed

    def sizes(self) -> list[int]:
        """Number of samples in each dataset."""
        return [len(d) for d in self.datasets]

    def __getitem__(self, ref: SampleRef) -> dict[str, Any]:
        data = self.datasets[ref.dataset]
        for skipped in range(min(MAX_SKIPS, len(data))):
            word = data[(ref.index + skipped) % len(data)]
            if word.image is None:
                continue
            item = self.make_item(word.image, word.label, word.mask, (self.seed, ref.position))
            if int(item["length"]) > 0:
                return item | {"dataset": ref.dataset, "skipped": skipped}
        raise ValueError(f"recognition dataset {data.folder}: {MAX_SKIPS} samples in a row from index {ref.index} "
                         "have no image or no label character in the model's charset")

    def make_item(self, image: np.ndarray, text: str, mask: np.ndarray | None, seed: Sequence[int]) -> dict[str, Any]:
        """One crop augmented and fitted: ``image`` (H, W, 3) uint8 and the architecture's targets; a glyph
        mask is fitted exactly like its image ((H, W) float32)."""
        image, mask = self.augment(image, mask, seed)
        fitted = fit_crop(image, **self.geometry)
        if mask is not None:
            mask3 = np.repeat((mask * 255).round().astype(np.uint8)[..., None], 3, axis=2)
            mask = fit_crop(mask3, **self.geometry)[..., 0].astype(np.float32) / 255.0
        return {"image": np.ascontiguousarray(fitted), **self.targets(text, mask)}


def _fit_width(arrays: list[np.ndarray], width: int) -> np.ndarray:
    """Stack per-pixel arrays that differ only in their last dimension, each zero-padded or cut on the right
    to ``width`` (the batch's image width: a target made without a mask may have the widest input's)."""
    out = np.zeros((len(arrays), *arrays[0].shape[:-1], width), arrays[0].dtype)
    for i, a in enumerate(arrays):
        out[i, ..., : min(width, a.shape[-1])] = a[..., :width]
    return out


def collate_words(items: list[dict[str, Any]], pad: str = "zeros") -> dict[str, Any]:
    """Batch tensors: ``image`` (B, H, Wmax, 3) uint8 padded right (variable width) by ``pad`` (zeros or
    edge: see ``pad_batch``), each target stacked (per-pixel ones zero-padded: a mask or map has nothing to
    learn beyond the crop), ``dataset`` (B,) and ``skipped`` (B,) counts."""
    import torch

    images = pad_batch([it["image"] for it in items], pad)  # (B, H, Wmax, 3)
    out = {"image": torch.from_numpy(images)}
    for key in items[0]:
        if key in ("image", "dataset", "skipped"):
            continue
        values = [np.asarray(it[key]) for it in items]
        out[key] = torch.from_numpy(_fit_width(values, images.shape[2]) if values[0].ndim >= 2 else np.stack(values))
    out["dataset"] = torch.tensor([it["dataset"] for it in items], dtype=torch.long)
    out["skipped"] = torch.tensor([it["skipped"] for it in items], dtype=torch.long)
    return out

