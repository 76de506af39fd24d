"""Mixed-dataset batch sampling: every batch holds each dataset's share, not a concatenation's luck.

Per batch of ``B`` images, dataset ``i`` gets ``floor`` or ``ceil`` of ``B * ratio_i`` images; the
rounding carries the remainder over to the next batches (error diffusion), so over ``k`` batches each
dataset has had ``k * B * ratio_i`` images within one image. Within a dataset images come from a
fresh seeded permutation per pass (epoch), so every image is seen once per pass.

Everything is a function of (seed, step): ``batches(start_step)`` resumes mid-run exactly where an
interrupted run stopped, and each item carries a ``position`` (its index in the global stream) that
seeds its augmentation, so resumed runs see the same augmented images whatever the DataLoader timing.

With several training workers the global batch is ``B * world_size``: dataset ``i`` contributes
``world_size * count_i`` images and rank ``r`` takes the ``r``-th slice of each, so every rank's batch
has the same counts and no image is shared between ranks in a step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np


@dataclass(frozen=True)
class SampleRef:
    """One item of a batch: which dataset, which image in it, and its global stream position."""

    dataset: int
    index: int
    position: int


def apportion(total: int, quotas: Sequence[float]) -> list[int]:
    """Split ``total`` into integers close to ``quotas`` (which sum to ``total``): floors first, then the
    largest fractional parts (earlier datasets win ties)."""
    floors = [max(0, math.floor(q)) for q in quotas]
    left = total - sum(floors)
    order = sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - floors[i]), i))
    for i in order[: max(0, left)]:
        floors[i] += 1
    return floors


def batch_counts(batch_size: int, ratios: Sequence[float], steps: int) -> Iterator[list[int]]:
    """Per-dataset counts of each of ``steps`` batches, with the rounding error carried forward."""
    debt = [0.0] * len(ratios)  # images owed to each dataset so far (target - given)
    for _ in range(steps):
        quotas = [batch_size * r + d for r, d in zip(ratios, debt)]
        counts = apportion(batch_size, quotas)
        debt = [q - c for q, c in zip(quotas, counts)]
        yield counts


class MixedBatchSampler:
    """Batches of ``SampleRef`` for one rank, from ``start_step`` to ``steps`` (exclusive).

    sizes: number of images of each dataset; ratios: their shares (normalised here).
    batch_size: images per rank per step; rank / world_size: this worker among the training workers.
    """

    def __init__(self, sizes: Sequence[int], ratios: Sequence[float], batch_size: int, steps: int,
                 seed: int = 0, rank: int = 0, world_size: int = 1, start_step: int = 0):
        if len(sizes) != len(ratios) or not sizes:
            raise ValueError(f"MixedBatchSampler: {len(sizes)} dataset sizes but {len(ratios)} ratios")
        empty = [i for i, n in enumerate(sizes) if n <= 0]
        if empty:
            raise ValueError(f"MixedBatchSampler: dataset(s) {empty} have no images")
        if not 0 <= rank < world_size:
            raise ValueError(f"MixedBatchSampler: rank {rank} outside world of {world_size}")
        total = float(sum(ratios))
        self.sizes = [int(n) for n in sizes]
        self.ratios = [r / total for r in ratios]
        self.batch_size, self.steps, self.seed = batch_size, steps, seed
        self.rank, self.world_size, self.start_step = rank, world_size, start_step
        self._perms: dict[tuple[int, int], np.ndarray] = {}

    def __len__(self) -> int:
        return max(0, self.steps - self.start_step)

    def __iter__(self) -> Iterator[list[SampleRef]]:
        consumed = [0] * len(self.sizes)  # global images drawn so far from each dataset
        for step, counts in enumerate(batch_counts(self.batch_size, self.ratios, self.steps)):
            if step >= self.start_step:
                yield self._batch(step, counts, consumed)
            for i, c in enumerate(counts):
                consumed[i] += c * self.world_size

    def _batch(self, step: int, counts: list[int], consumed: list[int]) -> list[SampleRef]:
        batch = []
        base = step * self.batch_size * self.world_size  # first global position of this step
        offset = self.rank * self.batch_size
        for i, count in enumerate(counts):
            start = consumed[i] + self.rank * count
            for k in range(count):
                batch.append(SampleRef(i, self.index(i, start + k), base + offset + len(batch)))
        return batch

    def index(self, dataset: int, draw: int) -> int:
        """The image index of the ``draw``-th image taken from ``dataset`` (a new permutation per pass)."""
        n = self.sizes[dataset]
        epoch, slot = divmod(draw, n)
        key = (dataset, epoch)
        perm = self._perms.get(key)
        if perm is None:
            if len(self._perms) > 4 * len(self.sizes):  # only the current passes are needed
                self._perms.clear()
            perm = np.random.default_rng([self.seed, dataset, epoch]).permutation(n)
            self._perms[key] = perm
        return int(perm[slot])
