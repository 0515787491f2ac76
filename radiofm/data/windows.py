"""Fixed-length windows of radio sentences for forecasting: a context of tokens in, the next tokens out.

Window j of a sentence x (T, 1, H, W) with start s: input x[s : s+n], targets x[s+n : s+n+horizon].
"""

from __future__ import annotations

import torch

from radiofm.errors import ConfigError


class ForecastWindows(torch.utils.data.Dataset):
    """Fixed-length windows of sentences: item j -> (x (context, 1, H, W), y (horizon, 1, H, W))."""

    def __init__(self, sentences, indices, *, context: int, horizon: int, stride: int = 1):
        if context < 1 or horizon < 1 or stride < 1:
            raise ConfigError(f"need context, horizon, stride >= 1, got {context}, {horizon}, {stride}")
        self.sentences, self.context, self.horizon = sentences, context, horizon
        lengths = sentences.lengths
        self.items = [(int(i), s) for i in indices for s in range(0, int(lengths[i]) - context - horizon + 1, stride)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, j: int):
        i, s = self.items[j]
        x = self.sentences[i]
        n = self.context
        return x[s : s + n], x[s + n : s + n + self.horizon]
