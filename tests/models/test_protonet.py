"""Prototypical network: filter bank, normalisations, prototypes and distances, checkpoints."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from radiofm.errors import ConfigError
from radiofm.models import create_model, save_checkpoint
from radiofm.models.protonet import (
    ProtoNetConfig,
    augment_iq,
    minmax_frames,
    proto_logits,
    prototypes,
    squared_distances,
    support_standardise,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def test_shapes_and_head():
    m = create_model("protobeam-tiny", n_classes=5)
    x = torch.randn(3, 2, 2048)
    assert m(x).shape == (3, 16) and m.classify(x).shape == (3, 5)
    with pytest.raises(ConfigError, match="no classification head"):
        create_model("protobeam-tiny").classify(x)
    with pytest.raises(ConfigError, match=r"expected frames \(B, 2, L\)"):
        m(torch.randn(3, 2048))


def test_minmax_per_frame_and_channel():
    x = torch.tensor([[[0.0, 1.0, 2.0], [5.0, 5.0, 5.0]], [[-3.0, 0.0, 1.0], [2.0, 4.0, 3.0]]])
    y = minmax_frames(x)
    assert torch.allclose(y[0, 0], torch.tensor([-1.0, 0.0, 1.0])) and torch.all(y[0, 1] == 0)
    assert torch.allclose(y[1, 0], torch.tensor([-1.0, 0.5, 1.0])) and torch.allclose(
        y[1, 1], torch.tensor([-1.0, 1.0, 0.0])
    )


def test_dft_filter_bank_finds_a_tone():
    m = create_model("protobeam", data_norm=False)
    n = torch.arange(2048)
    f = 16 / 128  # cycles per sample: bin 64 + 16 of 128 filters spread over [-0.5, 0.5)
    x = torch.stack([torch.cos(2 * torch.pi * f * n), torch.sin(2 * torch.pi * f * n)])[None]
    spec = m.log_spectrum(x)[0]
    assert int(spec.argmax()) == 64 + 16 and spec.max() - spec.median() > 20  # a clean peak, tens of dB up


def test_prototype_normalisation_is_unit_norm():
    emb = torch.randn(12, 7) * 5
    labels = torch.arange(3).repeat_interleave(4)
    p = prototypes(emb, labels, 3, normalize=True)
    assert torch.allclose(p.norm(dim=1), torch.ones(3), atol=1e-6)
    raw = prototypes(emb, labels, 3, normalize=False)
    assert torch.allclose(raw[1], emb[4:8].mean(0)) and torch.allclose(p[2], raw[2] / raw[2].norm())
    with pytest.raises(ConfigError, match="at least one support example"):
        prototypes(emb, torch.zeros(12, dtype=torch.long), 3, normalize=False)


def test_distance_softmax_by_hand():
    q = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    p = torch.tensor([[0.0, 0.0], [1.0, 1.0], [3.0, 0.0]])
    d = squared_distances(q, p)
    assert torch.allclose(d, torch.tensor([[1.0, 1.0, 4.0], [4.0, 2.0, 13.0]]))
    probs = torch.softmax(proto_logits(q, p), dim=1)
    e = np.exp(-np.array([[1.0, 1.0, 4.0], [4.0, 2.0, 13.0]]))
    assert np.allclose(probs.numpy(), e / e.sum(1, keepdims=True), atol=1e-6)


def test_augmentation_rotates_and_scales():
    x = torch.randn(4, 2, 64)
    g = torch.Generator().manual_seed(0)
    y = augment_iq(x, g, scale_range=(2.0, 2.0))
    assert torch.allclose((y**2).sum((1, 2)), 4 * (x**2).sum((1, 2)), rtol=1e-5)  # energy x scale²
    assert not torch.allclose(y, 2 * x)
    assert torch.equal(y, augment_iq(x, torch.Generator().manual_seed(0), scale_range=(2.0, 2.0)))


def test_bad_config():
    with pytest.raises(ConfigError):
        ProtoNetConfig(in_chans=3)
    with pytest.raises(ConfigError):
        ProtoNetConfig(frame_len=64, filter_len=128)


def test_checkpoint_loads_by_itself(tmp_path):
    m = create_model("protobeam-tiny", proto_norm=False)
    save_checkpoint(tmp_path / "run", m, kind="protobeam")
    x = torch.randn(2, 2, 2048)
    m.eval()
    np.save(tmp_path / "x.npy", x.numpy())
    np.save(tmp_path / "y.npy", m(x).detach().numpy())
    code = (
        "import numpy as np, torch; from radiofm.models import load_checkpoint; "
        f"m, info = load_checkpoint({str(tmp_path / 'run')!r}); "
        f"y = m(torch.from_numpy(np.load({str(tmp_path / 'x.npy')!r}))).detach().numpy(); "
        f"assert np.allclose(y, np.load({str(tmp_path / 'y.npy')!r}), atol=1e-5); "
        "assert info['family'] == 'protonet' and m.config.proto_norm is False"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cosine_prototype_norm_scaled_distance_by_hand():
    m = create_model("protobeam-tiny", proto_norm_mode="cosine", proto_scale=5.0, learn_scale=False)
    x = torch.randn(6, 2, 2048)
    m.eval()
    emb = m(x)
    assert torch.allclose(emb.norm(dim=1), torch.ones(6), atol=1e-5)  # embeddings on the unit sphere
    assert not m.log_scale.requires_grad and abs(m.scale().item() - 5.0) < 1e-5
    q = torch.tensor([[0.6, 0.8], [1.0, 0.0]])
    p = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # unit vectors: ‖q − p‖² = 2 − 2 cos; q0·p = (0.6, 0.8), q1·p = (1, 0)
    hand = -5.0 * np.array([[2 - 2 * 0.6, 2 - 2 * 0.8], [0.0, 2.0]])
    assert np.allclose(m.proto_logits(q, p).numpy(), hand, atol=1e-6)
    learned = create_model("protobeam-tiny", proto_norm_mode="cosine", proto_scale=10.0)
    assert learned.log_scale.requires_grad and abs(learned.scale().item() - 10.0) < 1e-4
    # the first mode: only prototypes unit-norm, scale 1, no extra parameter
    old = create_model("protobeam-tiny")
    assert not hasattr(old, "log_scale") and old.scale() == 1.0
    assert not torch.allclose(create_model("protobeam-tiny").eval()(x).norm(dim=1), torch.ones(6))
    with pytest.raises(ConfigError, match="proto_norm_mode"):
        ProtoNetConfig(proto_norm_mode="sphere")
    with pytest.raises(ConfigError, match="proto_scale"):
        ProtoNetConfig(proto_scale=0.0)


def test_support_standardisation_by_hand():
    support = torch.tensor([[1.0, 10.0], [3.0, 10.0], [5.0, 13.0], [7.0, 15.0]])
    query = torch.tensor([[4.0, 12.0]])
    s, q = support_standardise(support, query)
    # dim 0: mean 4, population std √5; dim 1: mean 12, std √4.5
    sd = torch.tensor([5**0.5, 4.5**0.5]) + 1e-3
    assert torch.allclose(s, (support - torch.tensor([4.0, 12.0])) / sd)
    assert torch.allclose(q, torch.zeros(1, 2)) and torch.allclose(s.mean(0), torch.zeros(2), atol=1e-6)
    # a constant dimension stays finite
    s1, _ = support_standardise(torch.ones(3, 2), torch.ones(1, 2))
    assert torch.isfinite(s1).all()


def test_support_mode_logits_by_hand_and_invariant_to_a_shift_of_the_new_unit():
    m = create_model("protobeam-tiny", proto_norm_mode="support", proto_scale=8.0, learn_scale=False)
    assert m.config.test_norm == "support" and abs(float(m.scale()) - 8.0 / 16) < 1e-6  # s / D
    g = torch.Generator().manual_seed(1)
    support = torch.randn(6, 16, generator=g)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    query = torch.randn(4, 16, generator=g)
    logits = m.episode_logits(support, labels, query, 3)
    s, q = support_standardise(support, query)
    p = torch.stack([s[labels == c].mean(0) for c in range(3)])  # plain means, not unit norm
    assert torch.allclose(logits, -(8.0 / 16) * squared_distances(q, p), atol=1e-5)
    # a new front end that shifts and stretches every dimension gives the same logits
    a, b = torch.rand(16, generator=g) + 0.5, torch.randn(16, generator=g)
    moved = m.episode_logits(support * a + b, labels, query * a + b, 3)
    assert torch.allclose(moved, logits, rtol=2e-3)  # up to the eps added to the std
    # the support mode keeps the embedding's length (no unit norm)
    assert not torch.allclose(m.eval()(torch.randn(3, 2, 2048)).norm(dim=1), torch.ones(3))


def test_checkpoint_without_the_cosine_fields_loads_as_before(tmp_path):
    import json

    from radiofm.models import load_checkpoint

    m = create_model("protobeam-tiny").eval()
    save_checkpoint(tmp_path / "run", m, kind="protobeam")
    cfg_path = tmp_path / "run" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    for key in ("proto_norm_mode", "proto_scale", "learn_scale"):
        cfg["config"].pop(key)
    cfg_path.write_text(json.dumps(cfg))
    loaded, _ = load_checkpoint(tmp_path / "run")
    x = torch.randn(2, 2, 2048)
    assert loaded.config.proto_norm_mode == "prototypes" and torch.allclose(loaded(x), m(x), atol=1e-5)
