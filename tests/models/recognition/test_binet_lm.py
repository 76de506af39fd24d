"""BINet's bidirectional cloze language model: it never sees its own position, and it fixes spelling."""
from __future__ import annotations

import torch

from models.recognition.binet_lm import BidirectionalLM, word_lengths
from models.recognition.charset import charset_of
from models.recognition.eos_sequences import with_eos

CHARSET = charset_of({"kind": "lower36"})
EOS, CLASSES, STEPS = CHARSET.size + 1, CHARSET.size + 2, 7
VOCABULARY = ["hello", "world", "scene", "text", "model"]


def _one_hot(words: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, STEPS, CLASSES) one-hot words + EOS, and their ids with EOS (padding 0)."""
    label = torch.tensor([CHARSET.encode(w) + [0] * (STEPS - 1 - len(w)) for w in words])
    ids = with_eos(label, torch.tensor([len(w) for w in words]), EOS)
    return torch.nn.functional.one_hot(ids, CLASSES).float(), ids


def _corrupt(probs: torch.Tensor, ids: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each word with one character replaced by a random other character."""
    probs = probs.clone()
    for row in range(len(ids)):
        length = int((ids[row] == EOS).nonzero()[0])
        pos = int(torch.randint(length, (1,), generator=generator))
        wrong = int(torch.randint(1, EOS, (1,), generator=generator))
        probs[row, pos] = torch.nn.functional.one_hot(torch.tensor(wrong), CLASSES).float()
    return probs


def test_a_position_never_sees_its_own_input():
    torch.manual_seed(0)
    lm = BidirectionalLM(CLASSES, STEPS, dim=32, heads=4, layers=2, feedforward=64, dropout=0.0).eval()
    probs, ids = _one_hot(["hello"])
    changed = probs.clone()
    changed[0, 2] = torch.nn.functional.one_hot(torch.tensor(5), CLASSES).float()  # "he?lo"
    lengths = word_lengths(probs, EOS)
    assert lengths.tolist() == [6]
    before, after = lm(probs, lengths)[1], lm(changed, lengths)[1]
    assert torch.allclose(before[0, 2], after[0, 2], atol=1e-6)  # the cloze mask hides position 2 from itself
    assert not torch.allclose(before[0, 1], after[0, 1], atol=1e-3)  # its neighbours do read it


def test_word_lengths_count_up_to_the_first_eos():
    probs, _ = _one_hot(["text", "hello"])
    assert word_lengths(probs, EOS).tolist() == [5, 6]
    assert word_lengths(torch.zeros(1, STEPS, CLASSES), EOS).tolist() == [STEPS]  # no EOS: the whole row


def test_the_language_model_corrects_a_one_character_error():
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    lm = BidirectionalLM(CLASSES, STEPS, dim=64, heads=4, layers=2, feedforward=128, dropout=0.0)
    clean, ids = _one_hot(VOCABULARY * 4)
    optimiser = torch.optim.Adam(lm.parameters(), lr=2e-3)
    for _ in range(300):
        noisy = _corrupt(clean, ids, generator)
        logits = lm(noisy, word_lengths(noisy, EOS))[1]
        ce = torch.nn.functional.cross_entropy(logits.flatten(0, 1), ids.flatten(), ignore_index=0)
        optimiser.zero_grad()
        ce.backward()
        optimiser.step()
    lm.eval()
    typos = ["hellp", "wprld", "scane", "tezt", "modal"]
    probs, _ = _one_hot(typos)
    with torch.no_grad():
        best = lm(probs, word_lengths(probs, EOS))[1].argmax(-1)
    read = []
    for row in best.tolist():
        read.append(CHARSET.decode(row[: row.index(EOS)] if EOS in row else row))
    assert read == VOCABULARY
