"""Recognition metrics (modes, character P/R, 1-NED) and ICDAR 2015 end-to-end transcription rules."""
from __future__ import annotations

import pytest

from models.metrics import DetPoly, GtPoly, evaluate_e2e, normalize_text, recognition_metrics
from models.metrics.e2e import dictionary_form, in_dictionary, transcription_match
from models.metrics.recognition import edit_distance, lcs_length


def test_normalisation_modes():
    assert normalize_text("Hello, World!", "exact") == "Hello, World!"
    assert normalize_text("Hello, World!", "ignore_case") == "hello, world!"
    assert normalize_text("Hello, World! 03/09", "ignore_case_symbol") == "helloworld0309"
    assert normalize_text("Café", "ignore_case_symbol") == "café"  # letters beyond ASCII are kept
    with pytest.raises(ValueError, match="ignore_case_symbol"):
        normalize_text("x", "fuzzy")


def test_word_accuracy_per_mode():
    gts = ["GRAND", "Hotel", "03/09/2009", "it's"]
    preds = ["GRAND", "HOTEL", "03092009", "its"]
    assert recognition_metrics(gts, preds, "exact")["word_acc"] == 0.25
    assert recognition_metrics(gts, preds, "ignore_case")["word_acc"] == 0.5
    r = recognition_metrics(gts, preds, "ignore_case_symbol")
    assert r["word_acc"] == 1.0 and r["num_correct"] == 4 and r["num_samples"] == 4


def test_edit_distance_and_lcs():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3 and edit_distance("abc", "abc") == 0
    assert lcs_length("abcde", "ace") == 3 and lcs_length("abc", "") == 0


def test_char_precision_recall_and_ned():
    r = recognition_metrics(["hello", "abc"], ["helo", "abcd"], "exact")
    # LCS: 4 + 3 = 7; pred chars 8; gt chars 8
    assert r["char_precision"] == pytest.approx(7 / 8) and r["char_recall"] == pytest.approx(7 / 8)
    # 1-NED: 1 - 1/5 and 1 - 1/4, averaged
    assert r["one_minus_ned"] == pytest.approx((0.8 + 0.75) / 2)


def test_empty_strings():
    r = recognition_metrics(["", "", "ab"], ["", "x", ""], "exact")
    # empty vs empty = 1.0 (documented); empty vs non-empty = 0
    assert r["one_minus_ned"] == pytest.approx(1 / 3)
    assert r["word_acc"] == pytest.approx(1 / 3)
    # a gt made of symbols only is empty after normalisation: matches an empty prediction
    assert recognition_metrics(["!!"], [""], "ignore_case_symbol")["one_minus_ned"] == 1.0
    empty = recognition_metrics([], [], "exact")
    assert empty["word_acc"] == 0.0 and empty["num_samples"] == 0
    with pytest.raises(ValueError, match="2 ground truths but 1"):
        recognition_metrics(["a", "b"], ["a"])


def test_transcription_match_rules():
    assert transcription_match("Hello", "HELLO")
    assert transcription_match("hello!", "hello") and transcription_match("(hello", "hello")
    assert transcription_match('"hello"', "hello")
    assert not transcription_match("hel.lo", "hello")  # inside: not removed
    assert not transcription_match("hello!!", "hello")  # one character per end at most
    assert not transcription_match("hello", "hello!")  # only the ground truth is trimmed
    assert not transcription_match("", "a") and transcription_match("", "")


def test_word_spotting_dictionary():
    assert not in_dictionary("ab")  # shorter than 3: don't care
    assert in_dictionary("abc") and in_dictionary("Zürich")
    assert not in_dictionary("a-b c") and not in_dictionary("1996")
    assert dictionary_form("Tom's") == "Tom" and dictionary_form("-word-") == "word"
    assert dictionary_form("(word).") == "word"


def box(x):
    return [(x, 0), (x + 10, 0), (x + 10, 10), (x, 10)]


def test_end_to_end_generic_and_word_spotting():
    gts = {"a": [GtPoly(box(0), "Hello!"), GtPoly(box(20), "of"), GtPoly(box(40), "###", True),
                 GtPoly(box(60), "World")]}
    preds = {"a": [DetPoly(box(0), text="hello"), DetPoly(box(20), text="OF"), DetPoly(box(40), text="x"),
                   DetPoly(box(60), text="Word")]}
    g = evaluate_e2e(gts, preds)
    # 3 cared gts, 3 cared dets (the one on ### is don't care); correct: Hello!, of
    assert (g.recall_num, g.recall_den, g.precision_den) == (2, 3, 3)
    ws = evaluate_e2e(gts, preds, word_spotting=True)
    # "of" is too short: don't care, and so is the detection on it; "Hello!" -> "Hello" matches
    assert (ws.recall_num, ws.recall_den, ws.precision_den) == (1, 2, 2)
    assert ws.per_image["a"].gt_dont_care == [1, 2] and ws.per_image["a"].det_dont_care == [1, 2]


def test_wrong_transcription_still_consumes_the_geometric_match():
    gts = {"a": [GtPoly(box(0), "cat")]}
    preds = {"a": [DetPoly(box(0), text="dog"), DetPoly(box(1), text="cat")]}
    r = evaluate_e2e(gts, preds)
    assert r.recall == 0.0 and r.precision == 0.0  # "cat" det arrives after the gt was taken
