"""CTC decoding of hand-made frame probabilities (class 0 = blank)."""
from __future__ import annotations

import numpy as np
import pytest

from models.recognition.ctc import beam_search, decode_batch, greedy


def frames(*rows: list[float]) -> np.ndarray:
    """(T, C) logits whose softmax is exactly the given probability rows."""
    return np.log(np.asarray(rows, np.float64))


# Best classes per frame: a a - a b b -  (a=1, b=2): the blank splits the two a's, the b run is one b.
PATH = frames([.1, .8, .05, .05], [.1, .6, .2, .1], [.7, .1, .1, .1], [.05, .9, .03, .02], [.1, .1, .7, .1],
              [.2, .1, .6, .1], [.9, .05, .03, .02])


def test_greedy_collapses_runs_and_keeps_repeats_split_by_a_blank():
    ids, score = greedy(PATH)
    assert ids == [1, 1, 2]
    # each character's probability is the best frame of its run: a 0.8, a 0.9, b 0.7
    assert score == pytest.approx((0.8 + 0.9 + 0.7) / 3)
    assert greedy(PATH, score="product")[1] == pytest.approx(0.8 * 0.9 * 0.7)


def test_greedy_reads_a_held_character_once():
    assert greedy(frames([.1, .9], [.2, .8], [.3, .7]))[0] == [1]


def test_an_all_blank_crop_is_empty_text_scored_by_the_blank():
    ids, score = greedy(frames([.9, .1], [.7, .3]))
    assert ids == [] and score == pytest.approx(0.8)
    assert greedy(frames([.9, .1], [.7, .3]), score="product")[1] == pytest.approx(0.63)


def test_beam_search_sums_alignments_where_greedy_takes_one_path():
    # best path: blank, blank (P 0.36), but "a" has 0.4*0.6 + 0.6*0.4 + 0.4*0.4 = 0.64 over its alignments
    logits = frames([.6, .4], [.6, .4])
    assert greedy(logits)[0] == []
    ids, score = beam_search(logits, beam_width=4, score="product")
    assert ids == [1] and score == pytest.approx(0.64)
    assert beam_search(logits, beam_width=4, score="mean")[1] == pytest.approx(0.64)  # one character


def test_beam_search_needs_a_blank_between_repeated_characters():
    assert beam_search(PATH, beam_width=5)[0] == [1, 1, 2]
    # a a a with no blank frame reads one a
    assert beam_search(frames([.1, .9], [.1, .9], [.1, .9]), beam_width=3)[0] == [1]


def test_beam_search_mean_score_is_the_geometric_mean_per_character():
    logits = frames([.02, .97, .01], [.97, .02, .01], [.02, .01, .97])
    ids, product = beam_search(logits, beam_width=4, score="product")
    _, mean = beam_search(logits, beam_width=4, score="mean")
    assert ids == [1, 2] and mean == pytest.approx(product ** 0.5)


def test_decode_batch_keeps_order_and_rejects_bad_options():
    batch = np.stack([frames([.1, .85, .05], [.9, .05, .05]), frames([.1, .05, .85], [.9, .05, .05])])
    assert [ids for ids, _ in decode_batch(batch)] == [[1], [2]]
    assert [ids for ids, _ in decode_batch(batch, beam_width=3)] == [[1], [2]]
    with pytest.raises(ValueError, match="beam_width must be at least 1"):
        decode_batch(batch, beam_width=0)
    with pytest.raises(ValueError, match="unknown CTC score 'max'; valid: mean, product"):
        decode_batch(batch, score="max")
