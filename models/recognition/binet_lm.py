"""BINet's language model: a bidirectional cloze network over a word's character probabilities.

ABINet's BCN: each position's query is only its position encoding, and it reads the *other* positions'
characters (keys / values = projected probabilities + position) through cross-attention whose mask hides
the position itself (a cloze test: predict a character from its context on both sides). There is no
self-attention among the queries, which would let a position see itself through another one. Keys past
the predicted word end (its first EOS) are hidden too, so padding does not vote.

Input probabilities are detached by the caller (ABINet's "blocking gradient flow"), so the LM learns
spelling, not to prop up the vision model.
"""
from __future__ import annotations

import torch
from torch import nn

from models.recognition.positional import sinusoid_1d


class ClozeLayer(nn.Module):
    """Cross-attention (query: position state, memory: tokens) + feed-forward, post-norm residuals."""

    def __init__(self, dim: int, heads: int, feedforward: int, dropout: float):
        super().__init__()
        self.attention = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, feedforward), nn.ReLU(), nn.Dropout(dropout),
                                nn.Linear(feedforward, dim))
        self.dropout = nn.Dropout(dropout)

    def forward(self, query: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, T, D) query and memory; ``mask`` (B * heads, T, T) True where a key is hidden."""
        attended = self.attention(query, memory, memory, attn_mask=mask, need_weights=False)[0]
        query = self.norm1(query + self.dropout(attended))
        return self.norm2(query + self.dropout(self.ff(query)))


class BidirectionalLM(nn.Module):
    """``forward(probs (B, T, V), lengths (B,))`` -> (features (B, T, D), logits (B, T, V))."""

    def __init__(self, num_classes: int, steps: int, dim: int, heads: int, layers: int, feedforward: int,
                 dropout: float = 0.1):
        super().__init__()
        self.heads, self.steps = heads, steps
        self.project = nn.Linear(num_classes, dim, bias=False)  # probabilities -> a soft character embedding
        self.register_buffer("position", sinusoid_1d(steps, dim), persistent=False)
        self.layers = nn.ModuleList(ClozeLayer(dim, heads, feedforward, dropout) for _ in range(layers))
        self.classify = nn.Linear(dim, num_classes)

    def mask(self, lengths: torch.Tensor) -> torch.Tensor:
        """(B * heads, T, T) bool: hide the query's own position and keys at or past ``lengths``.

        ``lengths`` (word + EOS) are clamped to at least 2, so no query is left with every key hidden.
        """
        steps = self.steps
        index = torch.arange(steps, device=lengths.device)
        own = index[:, None] == index[None, :]  # (T, T)
        past_end = index[None, :] >= lengths.clamp(2, steps)[:, None]  # (B, T) keys after the word
        hidden = own[None] | past_end[:, None, :]  # (B, T, T)
        return hidden.repeat_interleave(self.heads, 0)

    def forward(self, probs: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        memory = self.project(probs) + self.position
        query = self.position.expand(probs.shape[0], -1, -1)
        mask = self.mask(lengths)
        for layer in self.layers:
            query = layer(query, memory, mask)
        return query, self.classify(query)


def word_lengths(probs: torch.Tensor, eos: int) -> torch.Tensor:
    """(B,) int64: index of the first argmax EOS + 1 (the word and its EOS); T when there is none."""
    is_eos = probs.argmax(-1) == eos  # (B, T)
    steps = probs.shape[1]
    first = torch.where(is_eos.any(1), is_eos.float().argmax(1), torch.full_like(is_eos[:, 0], steps - 1,
                                                                                 dtype=torch.long))
    return first.long() + 1
