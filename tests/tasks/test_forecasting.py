"""Forecasting (paper A §III-C): the RB metric over horizons, the forecaster's face, rollout, baselines."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from radiofm.data.windows import ForecastWindows
from radiofm.errors import ConfigError
from radiofm.models.convlstm import ConvLSTMConfig
from radiofm.models.finetuned import configure_mode, trainable_parameters
from radiofm.models.forecaster import ConvLSTMForecaster, persistence
from radiofm.tasks.forecasting import ForecastTask, default_blocks, evaluate_forecasting, summary

CFG = ConvLSTMConfig(token_shape=(8, 4), hidden_channels=4, num_layers=2)


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one torch thread


def _forecaster(readout="first", context=2, seed=0):
    torch.manual_seed(seed)
    return ConvLSTMForecaster(CFG, readout=readout, context=context)


def _x(B=2, n=3, seed=0):
    return torch.randn(B, n, 1, *CFG.token_shape, generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------------------------------ the RB metric

Z = np.zeros((4, 4), np.float32)
LOWER_RIGHT = Z.copy()
LOWER_RIGHT[2:, 2:] = 9.0  # one occupied 2×2 block: (1, 1)
DIAGONAL = LOWER_RIGHT.copy()
DIAGONAL[:2, :2] = 9.0  # two occupied blocks: (0, 0) and (1, 1)
UPPER_LEFT = Z.copy()
UPPER_LEFT[:2, :2] = 9.0  # (0, 0)


def _window(last_context, target):
    """A window whose persistence prediction is ``last_context``: x (2, 1, 4, 4), y (1, 1, 4, 4)."""
    x = torch.from_numpy(np.stack([Z, last_context]))[:, None]
    return x, torch.from_numpy(target)[None, None]


def test_rb_metric_hand_computed():
    """Counts are summed over windows, then turned into rates (not an average of per-window rates).

    Window 1: truth LOWER_RIGHT (μ 2.25, σ 3.90, δ 4.20 → block (1,1) occupied); persistence predicts DIAGONAL
    (μ 4.5, σ 4.5, δ 6.75 → (0,0) and (1,1)): TP 1, FP 1, FN 0, TN 2.
    Window 2: truth UPPER_LEFT → (0,0); predicted LOWER_RIGHT → (1,1): TP 0, FP 1, FN 1, TN 2.
    Pooled: TP 1, FP 2, FN 1, TN 4 → detection 1/2, false alarm 2/6, precision 1/3, F1 2/5.
    """
    windows = [_window(DIAGONAL, LOWER_RIGHT), _window(LOWER_RIGHT, UPPER_LEFT)]
    res = evaluate_forecasting({"persistence": None}, windows, freq_blocks=[2], time_blocks=[2], horizons=1)
    cell = res["persistence"]["grid"][0][0][0]
    assert cell["block"] == [2, 2]
    assert (cell["tp"], cell["fp"], cell["fn"], cell["tn"]) == (1, 2, 1, 4)
    assert cell["detection_rate"] == pytest.approx(0.5)
    assert cell["false_alarm_rate"] == pytest.approx(2 / 6)
    assert cell["precision"] == pytest.approx(1 / 3)
    assert cell["f1"] == pytest.approx(0.4)  # the mean of the per-window F1s would be 1/3
    # 1×1 blocks on window 1 alone: truth pixels > 4.20 are the 4 nines; prediction's > 6.75 are its 8 nines
    one = evaluate_forecasting({"p": None}, windows[:1], freq_blocks=[1], time_blocks=[1], horizons=1)
    c1 = one["p"]["grid"][0][0][0]
    assert (c1["tp"], c1["fp"], c1["fn"], c1["tn"]) == (4, 4, 0, 8)
    assert summary(one["p"])[0]["detection_rate"] == 1.0


def test_rb_metric_over_horizons_and_resolutions():
    """A grid per horizon; persistence is exact at horizon 1 and misses at horizon 2 where the truth moves."""
    x = torch.from_numpy(np.stack([Z, LOWER_RIGHT]))[:, None]
    y = torch.from_numpy(np.stack([LOWER_RIGHT, UPPER_LEFT]))[:, None]
    res = evaluate_forecasting({"p": None}, [(x, y)], freq_blocks=[1, 2], time_blocks=[1, 2, 4], horizons=2)
    grid = res["p"]["grid"]
    assert len(grid) == 2 and len(grid[0]) == 2 and len(grid[0][0]) == 3
    assert [[c["block"] for c in row] for row in grid[0]] == [[[1, 1], [1, 2], [1, 4]], [[2, 1], [2, 2], [2, 4]]]
    h1 = [c for row in grid[0] for c in row if c["detection_rate"] is not None]
    assert h1 and all(c["detection_rate"] == 1.0 and c["false_alarm_rate"] == 0.0 for c in h1)
    assert grid[1][1][1]["detection_rate"] == 0.0 and grid[1][1][1]["false_alarm_rate"] == pytest.approx(1 / 3)
    assert res["p"]["mse"][0] == 0.0 and res["p"]["mse"][1] > 0


def test_persistence_is_exact_on_a_constant_sequence():
    pattern = np.random.default_rng(0).normal(size=CFG.token_shape).astype(np.float32)
    seq = torch.from_numpy(np.broadcast_to(pattern, (7, *CFG.token_shape)).copy())[:, None]  # (7, 1, H, W)
    pred = persistence(seq[None, :3], 4)
    assert pred.shape == (1, 4, 1, *CFG.token_shape) and torch.equal(pred[0], seq[3:7])
    res = evaluate_forecasting(
        {"p": None}, [(seq[:3], seq[3:7])], freq_blocks=default_blocks(8), time_blocks=default_blocks(4), horizons=4
    )
    for row in summary(res["p"]):
        assert row["detection_rate"] == 1.0 and row["false_alarm_rate"] == 0.0 and row["f1"] == 1.0
        assert row["mse"] == 0.0


# ------------------------------------------------------------------------------------------ the forecaster


def test_first_token_prediction_shape_and_reach():
    model = _forecaster("first", context=4).eval()
    x = _x(n=4)
    with torch.no_grad():
        y = model(x)
        assert y.shape == (2, 1, *CFG.token_shape)
        # the first Conv3D output sees tokens 0 and 1 only (kernel 3 in time, forward recurrence)
        x2 = x.clone()
        x2[:, 2:] += 5.0
        torch.testing.assert_close(model(x2), y)
        # it *is* output token 0 of the unchanged sequence-to-sequence model
        full = model.forward_head(model.forward_features(x))
        torch.testing.assert_close(full[:, 0], y)
        last = _forecaster("last", context=4).eval()
        assert not torch.allclose(last(x2), last(x))


def test_rollout_four_tokens_feeds_predictions_back():
    model = _forecaster("last", context=3).eval()
    x = _x(n=5)
    out = model.rollout(x, 4)
    assert out.shape == (2, 4, 1, *CFG.token_shape) and torch.isfinite(out).all()
    with torch.no_grad():
        w = x[:, -3:]
        for h in range(4):
            p = model(w)
            torch.testing.assert_close(out[:, h], p)
            w = torch.cat([w[:, 1:], p[:, None]], dim=1)


def test_frozen_mode_trains_only_the_conv3d():
    model = _forecaster()
    configure_mode(model, "frozen")
    assert trainable_parameters(model) == ["head.weight", "head.bias"]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    x, y = _x(n=2), _x(n=1, seed=1)
    loss, _ = ForecastTask().step(model, (x, y), generator=torch.Generator(), train=True)
    loss.backward()
    assert all(p.grad is None for n, p in model.named_parameters() if n.startswith("backbone."))
    opt.step()
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("backbone."))
    assert not torch.equal(before["head.weight"], after["head.weight"])


def test_other_modes():
    model = _forecaster()
    configure_mode(model, "last-k", k=1)
    assert set(trainable_parameters(model)) == {
        n for n, _ in model.named_parameters() if n.startswith(("head.", "backbone.layers.1."))
    }
    configure_mode(model, "scratch")
    assert len(trainable_parameters(model)) == len(list(model.parameters()))
    with pytest.raises(ConfigError, match="LoRA"):
        configure_mode(model, "lora")
    with pytest.raises(ConfigError, match="--k must be in 1..2"):
        configure_mode(model, "last-k", k=3)
    with pytest.raises(ConfigError):
        ConvLSTMForecaster(CFG, readout="middle")


class _Sentences:
    """Stand-in for a SentenceDataset: sentence i has lengths[i] tokens whose values are their index."""

    def __init__(self, lengths):
        self.lengths = np.asarray(lengths)

    def __getitem__(self, i):
        return torch.arange(self.lengths[i], dtype=torch.float32)[:, None, None, None].expand(-1, 1, 2, 2)


def test_forecast_windows():
    ds = _Sentences([7, 3, 6])
    w = ForecastWindows(ds, [0, 1, 2], context=2, horizon=4)
    assert w.items == [(0, 0), (0, 1), (2, 0)]  # a sentence needs context + horizon tokens
    x, y = w[1]
    assert x[:, 0, 0, 0].tolist() == [1.0, 2.0] and y[:, 0, 0, 0].tolist() == [3.0, 4.0, 5.0, 6.0]
    assert len(ForecastWindows(ds, [0], context=2, horizon=1, stride=2)) == 3


class _Grouped:
    """Stand-in for a SentenceDataset's split inputs: 12 sentences from ``n_rec`` recordings."""

    def __init__(self, n_rec):
        self.sources = np.arange(12) % n_rec
        self.manifest = {"key": "k"}

    def __len__(self):
        return 12


def test_paper_a_split_by_recording_and_by_sentence():
    from radiofm.data.sentences import PAPER_A_SPLIT
    from radiofm.errors import DatasetError
    from radiofm.tasks.pretrain_convlstm import make_split

    split = make_split(_Grouped(10), PAPER_A_SPLIT, seed=0)
    parts = split["indices"]
    assert sorted(sum(parts.values(), [])) == list(range(12))
    owner = {i: name for name, idx in parts.items() for i in idx}
    assert all(owner[i] == owner[i + 10] for i in (0, 1))  # sentences 0/10 and 1/11 share a recording
    with pytest.raises(DatasetError, match="forecast_test"):
        make_split(_Grouped(3), PAPER_A_SPLIT, seed=0)
    by_sentence = make_split(_Grouped(3), PAPER_A_SPLIT, seed=0, by="sentence")["indices"]
    assert [len(v) for v in by_sentence.values()] == [6, 5, 1]


def test_msm_task_goes_through_forward():
    """The pretraining step calls ``model(...)`` (what DDP wraps) and equals ``forward_msm`` for the same draws."""
    from radiofm.models.convlstm import ConvLSTMModel
    from radiofm.tasks.pretrain_convlstm import ConvLSTMPretrainTask

    torch.manual_seed(0)
    model = ConvLSTMModel(CFG)
    x, lengths = _x(B=3, n=5), torch.tensor([5, 3, 4])
    calls = []
    model.register_forward_hook(lambda m, a, kw_out: calls.append(1))
    loss, metrics = ConvLSTMPretrainTask(0.4).step(
        model, (x, lengths), generator=torch.Generator().manual_seed(3), train=True
    )
    assert calls == [1] and metrics["masked_tokens"].item() == pytest.approx((2 + 1 + 2) / 3)
    ref, _, _ = model.forward_msm(x, lengths, 0.4, torch.Generator().manual_seed(3))
    torch.testing.assert_close(loss, ref)


def test_a_runs_data_record_and_split_are_checked_before_use():
    """The --init run's extra.data and split came from its config.json: a stray key, a zero std or a negative
    index crashed, or (negative indices) trained on the pretraining part's sentences (session 56)."""
    from radiofm.errors import CheckpointError
    from radiofm.tasks.pretrain_convlstm import check_split_indices, read_data_record

    good = {"data": {"config": {"slice_s": 0.002}, "seed": 3, "stats": {"mean_db": -80.0, "std_db": 9.0}}}
    sconfig, seed, stats = read_data_record(good, "run")
    assert sconfig.slice_s == 0.002 and seed == 3 and stats["std_db"] == 9.0
    assert read_data_record({}, "run") == (None, None, None)
    for data, match in [
        ({"config": {"slices": 2}}, "unknown SentenceConfig field"),
        ({"config": {"slice_s": -1.0}}, "sentence config"),
        ({"seed": "zero"}, "not a seed"),
        ({"stats": {"mean_db": 0.0, "std_db": 0.0}}, "std_db >="),
        ({"stats": {"mean_db": 0.0, "std_db": 1e-320}}, "std_db >="),
        ({"config": {"height": 64.0}}, "height"),
        ({"stats": {"mean_db": float("nan"), "std_db": 1.0}}, "finite"),
        ("folder", "not an object"),
    ]:
        with pytest.raises(CheckpointError, match=match):
            read_data_record({"data": data}, "run")
    check_split_indices({"indices": {"forecast_test": [0, 4]}}, ("forecast_test",), 5, "run")
    for idx in ([5], [-1], [1.0], "0-4"):
        with pytest.raises(CheckpointError, match="forecast_test"):
            check_split_indices({"indices": {"forecast_test": idx}}, ("forecast_test",), 5, "run")
