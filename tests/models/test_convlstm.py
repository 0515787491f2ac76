"""ConvLSTM backbone (fused vs per-gate), padding, masked token modelling, presets and checkpoints."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from radiofm.errors import ConfigError
from radiofm.models.convlstm import (
    PRESETS,
    ConvLSTMCell,
    ConvLSTMCellPerGate,
    ConvLSTMConfig,
    ConvLSTMModel,
    to_per_gate,
)
from radiofm.models.registry import create_model, list_models

TINY = ConvLSTMConfig(token_shape=(16, 4), hidden_channels=8, num_layers=2)


def _x(B=3, T=6, cfg=TINY, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, T, cfg.in_chans, *cfg.token_shape, generator=g)


def _model(cfg=TINY, seed=0):
    torch.manual_seed(seed)
    return ConvLSTMModel(cfg)


def test_presets_registered():
    assert {"convlstm", "convlstm-tiny"} <= set(list_models())
    paper = create_model("convlstm").config
    assert (paper.num_layers, paper.hidden_channels, paper.kernel_size, paper.activation) == (5, 64, 3, "relu")
    assert paper.token_shape == (256, 16) and paper.out_kernel == (3, 3, 3)
    model = create_model("convlstm-tiny", num_layers=1)
    assert isinstance(model, ConvLSTMModel) and len(model.backbone.layers) == 1


def test_shapes_and_sequence_to_sequence():
    model = _model()
    x = _x()
    feats = model.forward_features(x)
    assert feats.shape == (3, 6, TINY.hidden_channels, *TINY.token_shape)
    y = model(x)
    assert y.shape == x.shape and torch.isfinite(y).all()


def test_one_gate_convolution_per_step():
    cell = ConvLSTMCell(3, 5)
    convs = [m for m in cell.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 1 and convs[0].in_channels == 8 and convs[0].out_channels == 20


def test_fused_equals_per_gate():
    model = _model()
    ref = to_per_gate(model)
    assert all(isinstance(layer, ConvLSTMCellPerGate) for layer in ref.backbone.layers)
    x = _x()
    with torch.no_grad():
        torch.testing.assert_close(ref(x), model(x), rtol=1e-5, atol=1e-6)
    # a single cell step too, with a non-zero state
    fused, per_gate = model.backbone.layers[1], ref.backbone.layers[1]
    h = torch.randn(2, 8, 16, 4)
    c = torch.randn(2, 8, 16, 4)
    inp = torch.randn(2, 8, 16, 4)
    for a, b in zip(fused(inp, (h, c)), per_gate(inp, (h, c))):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_cell_matches_hand_written_lstm(activation):
    cell = ConvLSTMCell(1, 2, kernel_size=1, activation=activation)  # 1×1 kernel: a per-pixel LSTM
    x, h, c = torch.randn(1, 1, 3, 3), torch.randn(1, 2, 3, 3), torch.randn(1, 2, 3, 3)
    w = cell.conv.weight[:, :, 0, 0]  # (8, 3)
    z = torch.einsum("oc,bchw->bohw", w, torch.cat([x, h], 1)) + cell.conv.bias[None, :, None, None]
    i, f, o, g = z.split(2, 1)  # gate order (i, f, o, g)
    act = torch.relu if activation == "relu" else torch.tanh
    c_ref = torch.sigmoid(f) * c + torch.sigmoid(i) * act(g)
    h_ref = torch.sigmoid(o) * act(c_ref)
    h_out, c_out = cell(x, (h, c))
    torch.testing.assert_close(c_out, c_ref)
    torch.testing.assert_close(h_out, h_ref)


def test_padding_does_not_change_real_steps():
    model = _model()
    x = _x(B=3, T=6)
    lengths = torch.tensor([6, 4, 1])
    with torch.no_grad():
        padded = model(x, lengths)
        feats = model.forward_features(x, lengths)
        for b, n in enumerate(lengths.tolist()):
            alone = model(x[b : b + 1, :n])
            torch.testing.assert_close(padded[b : b + 1, :n], alone, rtol=1e-5, atol=1e-6)
            assert (feats[b, n:] == 0).all()
        # changing the padding content changes nothing at real steps
        x2 = x.clone()
        x2[1, 4:] = 100.0
        torch.testing.assert_close(model(x2, lengths)[1, :4], padded[1, :4])


def test_bad_lengths_and_config():
    model = _model()
    with pytest.raises(ValueError):
        model(_x(), torch.tensor([7, 1, 1]))
    with pytest.raises(ValueError):
        model(torch.randn(1, 2, 1, 8, 8))
    with pytest.raises(ConfigError):
        ConvLSTMConfig(activation="gelu")
    with pytest.raises(ConfigError):
        ConvLSTMConfig(kernel_size=2)


def test_config_json_round_trip():
    cfg = PRESETS["convlstm-tiny"]
    d = json.loads(json.dumps(dataclasses.asdict(cfg)))
    assert isinstance(d["token_shape"], list)
    assert ConvLSTMConfig(**d) == cfg


def test_checkpoint_round_trip(tmp_path):
    from radiofm.models.checkpoint import load_checkpoint, save_checkpoint

    model = _model()
    save_checkpoint(tmp_path / "ck", model, kind="convlstm")
    loaded, _ = load_checkpoint(tmp_path / "ck")
    assert isinstance(loaded, ConvLSTMModel) and loaded.config == model.config
    x = _x()
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))


def test_forward_msm_face_and_gradients():
    model = _model()
    x = _x()
    lengths = torch.tensor([6, 3, 2])
    loss, pred, mask = model.forward_msm(x, lengths, 0.2, torch.Generator().manual_seed(0))
    assert loss.ndim == 0 and pred.shape == x.shape and mask.shape == (3, 6)
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_tiny_model_overfits_one_batch():
    """MSM on one padded batch with a fixed mask: the loss falls at least 5x in 60 steps."""
    torch.manual_seed(0)
    model = ConvLSTMModel(ConvLSTMConfig(token_shape=(8, 4), hidden_channels=8, num_layers=2))
    x = torch.randn(2, 5, 1, 8, 4, generator=torch.Generator().manual_seed(0))
    lengths = torch.tensor([5, 3])
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss, _, _ = model.forward_msm(x, lengths, 0.4, torch.Generator().manual_seed(0))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 5


def test_reset_head():
    model = _model()
    model.reset_head(out_chans=3)
    assert model(_x()).shape == (3, 6, 3, *TINY.token_shape) and model.config.out_chans == 3
