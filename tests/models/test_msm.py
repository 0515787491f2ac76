"""Masked spectrogram modelling of radio sentences: the padding mask, token masking and the MSM loss."""

from __future__ import annotations

import pytest
import torch

from radiofm.errors import ConfigError
from radiofm.models.msm import mask_tokens, msm_loss, valid_mask


def _x(B=3, T=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, T, 1, 16, 4, generator=g)


def test_valid_mask_marks_real_steps_and_refuses_bad_lengths():
    assert valid_mask(None, 2, 4, "cpu") is None
    m = valid_mask(torch.tensor([4, 2]), 2, 4, "cpu")
    assert m.tolist() == [[True] * 4, [True, True, False, False]]
    for bad in ([0, 2], [5, 2], [1, 2, 3]):
        with pytest.raises(ValueError):
            valid_mask(torch.tensor(bad), 2, 4, "cpu")


def test_mask_tokens_replaces_exactly_the_chosen_real_tokens():
    B, T = 4, 10
    x = _x(B=B, T=T) * 3.0 + 5.0
    lengths = torch.tensor([10, 7, 3, 1])
    g = torch.Generator().manual_seed(1)
    xm, mask = mask_tokens(x, lengths, mask_ratio=0.2, generator=g)
    assert mask.dtype == torch.bool and mask.shape == (B, T)
    assert mask.sum(1).tolist() == [2, 1, 1, 1]  # round(0.2·n), at least one
    pad = torch.arange(T)[None] >= lengths[:, None]
    assert not (mask & pad).any()  # never padding
    assert torch.equal(xm[~mask], x[~mask])  # unmasked (and padding) bit-identical
    assert (xm[mask] != x[mask]).all()
    # deterministic from the generator
    xm2, mask2 = mask_tokens(x, lengths, mask_ratio=0.2, generator=torch.Generator().manual_seed(1))
    assert torch.equal(mask, mask2) and torch.equal(xm, xm2)


def test_mask_noise_matches_sentence_statistics():
    T = 8
    lengths = torch.tensor([8, 5])
    x = torch.randn(2, T, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    x[0] = x[0] * 2.0 + 3.0
    x[1] = x[1] * 0.5 - 1.0
    x[1, 5:] = 1000.0  # padding must not enter the statistics
    xm, mask = mask_tokens(x, lengths, mask_ratio=0.5, generator=torch.Generator().manual_seed(2))
    for b, n in enumerate(lengths.tolist()):
        real = x[b, :n]
        noise = xm[b][mask[b]]
        assert abs(noise.mean().item() - real.mean().item()) < 0.1 * real.std().item()
        assert noise.std().item() == pytest.approx(real.std().item(), rel=0.05)


def test_mask_ratio_validation():
    with pytest.raises(ConfigError):
        mask_tokens(_x(), mask_ratio=0.0)


def test_msm_loss_ignores_unmasked_tokens():
    x = _x(B=2, T=5)
    pred = torch.randn_like(x)
    mask = torch.zeros(2, 5, dtype=torch.bool)
    mask[0, 1] = mask[1, 3] = True
    loss = msm_loss(pred, x, mask)
    pred2 = pred.clone()
    pred2[~mask] += 123.0
    assert msm_loss(pred2, x, mask).item() == pytest.approx(loss.item())
    expected = ((pred[0, 1] - x[0, 1]) ** 2).mean() / 2 + ((pred[1, 3] - x[1, 3]) ** 2).mean() / 2
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
