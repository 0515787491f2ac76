"""The pooled-token head (CSI sensing, positioning): shapes, registry round trip, bad input."""

import pytest
import torch

from radiofm.errors import ConfigError
from radiofm.models.heads import PooledHead, PooledHeadConfig, build_head


def test_linear_and_mlp_shapes_and_the_registry():
    lin = build_head({"type": "pooled", "in_dim": 8, "out_dim": 6})
    mlp = build_head({"type": "pooled", "in_dim": 8, "out_dim": 3, "hidden": [16]})
    assert isinstance(lin, PooledHead) and len([m for m in lin.mlp if isinstance(m, torch.nn.Linear)]) == 1
    assert len([m for m in mlp.mlp if isinstance(m, torch.nn.Linear)]) == 2
    x = torch.randn(4, 5, 8)
    assert lin(x).shape == (4, 6) and mlp(x).shape == (4, 3)
    # mean pooling: the token order does not matter
    torch.testing.assert_close(lin(x), lin(x.flip(1)))


def test_groups_pool_each_channel_apart():
    torch.manual_seed(0)
    head = PooledHead(PooledHeadConfig(in_dim=8, out_dim=3, groups=2))
    a, b = torch.randn(4, 5, 8), torch.randn(4, 5, 8)
    x = torch.cat([a, b], dim=1)  # channel-major: 5 tokens of channel 0, then 5 of channel 1
    norm = torch.nn.functional.layer_norm
    pooled = torch.cat([norm(a.mean(1), (8,), eps=1e-6), norm(b.mean(1), (8,), eps=1e-6)], dim=1)
    torch.testing.assert_close(head(x), head.mlp(pooled))
    torch.testing.assert_close(head(x), head(torch.cat([a.flip(1), b], dim=1)))  # order within a group: free
    assert not torch.allclose(head(x), head(torch.cat([b, a], dim=1)))  # which channel: kept
    one = PooledHead(PooledHeadConfig(in_dim=8, out_dim=3))
    torch.testing.assert_close(one(x), one.mlp(norm(x.mean(1), (8,), eps=1e-6)))  # groups=1: the plain mean
    with pytest.raises(ConfigError, match="multiple of 2"):
        head(torch.randn(2, 5, 8))
    with pytest.raises(ConfigError):
        PooledHeadConfig(in_dim=8, groups=0)


def test_bad_configs_and_inputs():
    with pytest.raises(ConfigError):
        PooledHeadConfig(in_dim=8, out_dim=0)
    with pytest.raises(ConfigError):
        PooledHeadConfig(in_dim=8, hidden=(0,))
    with pytest.raises(ConfigError, match="expects"):
        PooledHead(PooledHeadConfig(in_dim=8))(torch.randn(2, 3, 7))
