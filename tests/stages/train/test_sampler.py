"""Mixed-dataset batch sampling: per-batch ratios, determinism, resume and multi-worker slices."""
from __future__ import annotations

from collections import Counter

import pytest

from stages.train.sampler import MixedBatchSampler, apportion, batch_counts


def _counts(batch, n_sets):
    c = Counter(ref.dataset for ref in batch)
    return [c[i] for i in range(n_sets)]


def test_every_batch_holds_each_dataset_in_its_ratio():
    ratios, batch = [0.5, 0.3, 0.2], 8  # quotas 4, 2.4, 1.6 per batch
    sampler = MixedBatchSampler([50, 30, 7], ratios, batch, steps=100, seed=1)
    totals = [0, 0, 0]
    for k, b in enumerate(sampler, start=1):
        counts = _counts(b, 3)
        assert len(b) == batch
        for i, r in enumerate(ratios):
            # each batch: floor or ceil of its quota (never a whole batch from one set by luck)
            assert abs(counts[i] - batch * r) < 1.0 + 1e-9
            totals[i] += counts[i]
            # running totals stay within one image of the exact share
            assert abs(totals[i] - k * batch * r) <= 1.0 + 1e-9
    assert totals == [400, 240, 160]


def test_ratios_are_normalised_and_small_shares_still_appear():
    sampler = MixedBatchSampler([10, 10], [9, 1], batch_size=4, steps=100, seed=0)
    per_set = [sum(_counts(b, 2)[i] for b in sampler) for i in range(2)]
    assert per_set == [360, 40]  # 0.9 / 0.1 of 400 images


def test_each_image_once_per_pass_and_reshuffled_between_passes():
    sampler = MixedBatchSampler([12], [1.0], batch_size=4, steps=6, seed=5)
    draws = [ref.index for b in sampler for ref in b]
    assert sorted(draws[:12]) == list(range(12)) and sorted(draws[12:]) == list(range(12))
    assert draws[:12] != draws[12:]


def test_reproducible_by_seed():
    def run(seed):
        return [[(r.dataset, r.index, r.position) for r in b]
                for b in MixedBatchSampler([20, 9], [0.6, 0.4], 5, 30, seed=seed)]

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_resuming_at_a_step_gives_the_rest_of_the_same_stream():
    full = list(MixedBatchSampler([20, 9], [0.6, 0.4], 5, 30, seed=2))
    tail = list(MixedBatchSampler([20, 9], [0.6, 0.4], 5, 30, seed=2, start_step=17))
    assert len(tail) == 13 and tail == full[17:]


def test_ranks_get_equal_counts_and_disjoint_images_per_step():
    args = ([40, 40], [0.75, 0.25], 4, 10)
    ranks = [list(MixedBatchSampler(*args, seed=0, rank=r, world_size=2)) for r in range(2)]
    for b0, b1 in zip(*ranks):
        assert _counts(b0, 2) == _counts(b1, 2) == [3, 1]
        assert not {(r.dataset, r.index) for r in b0} & {(r.dataset, r.index) for r in b1}
        assert not {r.position for r in b0} & {r.position for r in b1}


def test_apportion_and_counts():
    assert apportion(8, [4.0, 2.4, 1.6]) == [4, 2, 2]
    assert sum(apportion(7, [2.5, 2.5, 2.0])) == 7
    first = list(batch_counts(3, [0.5, 0.5], 4))
    assert first == [[2, 1], [1, 2], [2, 1], [1, 2]]


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="no images"):
        MixedBatchSampler([3, 0], [0.5, 0.5], 2, 1)
    with pytest.raises(ValueError, match="ratios"):
        MixedBatchSampler([3], [0.5, 0.5], 2, 1)
