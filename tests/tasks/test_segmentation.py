"""Segmentation task: head, loss, metrics, augmentation, checkpoint round trip, predict, the fine-tuning config."""

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from radiofm.errors import CheckpointError, ConfigError, DatasetError
from radiofm.models import create_model, save_checkpoint
from radiofm.models.backbones import BACKBONES
from radiofm.models.finetuned import configure_mode
from radiofm.models.heads import LevelMix, SegHeadConfig, TransformerSegHead
from radiofm.tasks import segmentation as seg
from radiofm.tasks.metrics import confusion_matrix
from radiofm.tasks.segmentation_eval import segmentation_metrics

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one torch thread


def _tiny_model(mode="frozen", readout="last", **head):
    torch.manual_seed(0)
    mae = create_model("vit-tiny", img_size=(32, 32), depth=2, decoder_depth=1)
    cfg = {k: (list(v) if isinstance(v, tuple) else v) for k, v in mae.config.__dict__.items()}
    model = seg.build_segmentation_model("mae", cfg, head={"embed_dim": 32, "num_heads": 2, **head}, readout=readout)
    model.backbone.load_state_dict(
        {k: v for k, v in mae.state_dict().items() if not k.startswith(BACKBONES["mae"].dropped)}
    )
    configure_mode(model, mode, lora_rank=2)
    return model


def test_head_shapes():
    head = TransformerSegHead(SegHeadConfig(in_dim=24, grid_size=(2, 3), patch_size=4, embed_dim=16, num_heads=2))
    out = head(torch.randn(5, 6, 24))
    assert out.shape == (5, 3, 8, 12)
    with pytest.raises(Exception, match="expects 2x3=6 tokens"):
        head(torch.randn(5, 7, 24))


def test_head_overfits_one_batch():
    model = _tiny_model("frozen")
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 1, 32, 32, generator=g) * 5
    y = torch.zeros(2, 32, 32, dtype=torch.long)
    y[0, 4:12] = 1  # frequency bands, as in the NR/LTE labels
    y[0, 20:30] = 2
    y[1, 10:26] = 2
    task = seg.SegmentationTask(label_smoothing=0.1, augment=False)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    first = None
    for _ in range(60):
        loss, metrics = task.step(model, {"x": x, "y": y}, generator=g, train=True)
        first = first if first is not None else float(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.5 * first
    assert metrics["pixel_acc"] > 0.97


def test_encoder_levels_and_level_mix():
    model = _tiny_model("frozen", readout="mix")
    bb = model.backbone
    x = torch.randn(3, 1, 32, 32)
    with torch.no_grad():
        levels = bb.forward_levels(x)
        assert levels.shape == (3, 3, 4, 192)  # depth 2 -> patch embedding + 2 blocks; 2x2 patches of 16
        torch.testing.assert_close(levels[:, -1], bb.forward_features(x))  # last level = the usual readout
        torch.testing.assert_close(levels[:, 0], bb.patch_embed(bb.patchify(x)) + bb.pos_embed[:, 1:])
        mix = model.head
        assert isinstance(mix, LevelMix) and mix.levels == 3
        mixed = mix.mix(levels)  # equal weights at the start: the mean of the normalised levels
        torch.testing.assert_close(mixed, F.layer_norm(levels, (192,)).mean(1))
        mix.level_weights.copy_(torch.tensor([0.0, 0.0, 50.0]))  # all weight on the last level
        torch.testing.assert_close(mix.mix(levels), F.layer_norm(levels[:, -1], (192,)), atol=1e-4, rtol=1e-4)
        assert model(x).shape == (3, 3, 32, 32)
    with pytest.raises(ConfigError, match="expects \\(B, 3, L, D\\)"):
        mix.mix(levels[:, :2])
    # frozen: only the head (mix weights included) trains
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert "head.level_weights" in trainable and all(n.startswith("head.") for n in trainable)


def test_mix_readout_checkpoint_round_trip(tmp_path):
    model = _tiny_model("frozen", readout="mix")
    with torch.no_grad():
        model.head.level_weights.copy_(torch.tensor([1.0, -1.0, 0.5]))
    folder = save_checkpoint(tmp_path / "seg", model, kind="segmentation")
    loaded, info = seg.load_segmentation_model(folder)
    assert info["config"]["readout"] == "mix" and info["config"]["head"]["mix_levels"] == 3
    x = torch.randn(2, 1, 32, 32) * 4 - 20
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model.eval()(x))
    with pytest.raises(ConfigError, match="readout must be one of"):
        _tiny_model("frozen", readout="middle")


def test_label_smoothing_loss_by_hand():
    logits = torch.tensor([[[[2.0, 0.0]], [[0.0, 1.0]], [[-1.0, 0.5]]]])  # (1, 3, 1, 2)
    target = torch.tensor([[[0, 2]]])
    a, C = 0.1, 3
    expected = 0.0
    for j in range(2):
        z = logits[0, :, 0, j].tolist()
        lse = math.log(sum(math.exp(v) for v in z))
        logp = [v - lse for v in z]
        t = int(target[0, 0, j])
        expected += -sum(((k == t) * (1 - a) + a / C) * logp[k] for k in range(C))
    expected /= 2
    got = seg.label_smoothing_ce(logits, target, smoothing=a)
    assert float(got) == pytest.approx(expected, rel=1e-6)
    assert float(got) == pytest.approx(float(F.cross_entropy(logits, target, label_smoothing=a)), rel=1e-6)
    w = torch.tensor([1.0, 2.0, 3.0])  # weighted mean: pixel losses times the weight of their true class
    per = [-sum(((k == t) * (1 - a) + a / C) * float(F.log_softmax(logits[0, :, 0, j], 0)[k]) for k in range(C))
           for j, t in enumerate([0, 2])]  # fmt: skip
    weighted = (1.0 * per[0] + 3.0 * per[1]) / 4.0
    assert float(seg.label_smoothing_ce(logits, target, smoothing=a, weight=w)) == pytest.approx(weighted, rel=1e-6)


def test_confusion_metrics_by_hand():
    truth = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    pred = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 0])
    cm = confusion_matrix(truth, pred, 3)
    np.testing.assert_array_equal(cm, [[3, 1, 0], [0, 2, 1], [1, 0, 2]])
    m = segmentation_metrics(cm)
    assert m["per_class_accuracy"] == pytest.approx({"noise": 0.75, "NR": 2 / 3, "LTE": 2 / 3})
    assert m["mean_class_accuracy"] == pytest.approx((0.75 + 2 / 3 + 2 / 3) / 3)
    assert m["iou"] == pytest.approx({"noise": 3 / 5, "NR": 2 / 4, "LTE": 2 / 4})
    assert m["mean_iou"] == pytest.approx((0.6 + 0.5 + 0.5) / 3)
    assert m["pixel_accuracy"] == pytest.approx(0.7)
    assert m["row_normalised"][0] == pytest.approx([0.75, 0.25, 0.0])
    b = m["binary"]
    assert b["counts"] == [[3, 1], [1, 5]]
    assert b["per_class_accuracy"] == pytest.approx({"noise": 0.75, "signal": 5 / 6})
    assert b["pixel_accuracy"] == pytest.approx(0.8)
    absent = segmentation_metrics(confusion_matrix([0, 0, 1], [0, 1, 1], 3))
    assert absent["per_class_accuracy"]["LTE"] is None and absent["mean_class_accuracy"] == pytest.approx(0.75)
    json.dumps(absent)  # no NaN in the report
    with pytest.raises(DatasetError, match="labels outside"):
        confusion_matrix([0, 3], [0, 0], 3)


def test_augmentation_is_seeded_and_label_preserving():
    g = torch.Generator().manual_seed(3)
    y = torch.zeros(4, 16, 16, dtype=torch.long)
    y[:, 3:7] = 1
    y[:, 10:12] = 2
    x = torch.full((4, 1, 16, 16), -10.0) + 20.0 * (y > 0)[:, None]
    xa, ya = seg.augment_batch(x, y, torch.Generator().manual_seed(3))
    xb, yb = seg.augment_batch(x, y, torch.Generator().manual_seed(3))
    torch.testing.assert_close(xa, xb)
    assert torch.equal(ya, yb)
    for i in range(4):  # the same pixels move: each sample keeps its class histogram, signal stays above noise
        assert torch.equal(torch.bincount(ya[i].ravel(), minlength=3), torch.bincount(y[i].ravel(), minlength=3))
        hi, lo = xa[i, 0][ya[i] > 0], xa[i, 0][ya[i] == 0]
        assert hi.min() > lo.max()
    assert g.initial_seed() == 3


def test_checkpoint_round_trip_and_predict(tmp_path):
    model = _tiny_model("lora")
    with torch.no_grad():
        for n, p in model.named_parameters():
            if ".lora_b" in n:
                p.normal_(std=0.05)
    folder = save_checkpoint(tmp_path / "seg", model, kind="segmentation", extra={"x": 1})
    loaded, info = seg.load_segmentation_model(folder)
    assert info["kind"] == "segmentation" and info["config"]["lora"] == {"rank": 2, "alpha": 2.0}
    x = torch.randn(2, 1, 32, 32) * 4 - 20
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model.eval()(x), atol=1e-5, rtol=1e-4)  # LoRA merged on load
    specs = np.random.default_rng(0).normal(-20, 4, size=(3, 64, 48)).astype(np.float32)
    probs = seg.predict(loaded, specs, info=info, batch_size=2)
    assert probs.shape == (3, 3, 64, 48) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    shifted = seg.predict(loaded, specs + 30.0, info=info)  # per-sample normalisation: the power scale drops out
    np.testing.assert_allclose(shifted, probs, atol=1e-4)
    with pytest.raises(DatasetError, match="NaN or Inf"):
        seg.predict(loaded, np.full((1, 32, 32), np.nan), info=info)


def test_load_segmentation_model_rejects_other_kinds(tmp_path):
    save_checkpoint(tmp_path / "mae", create_model("vit-tiny", img_size=(32, 32), depth=1), kind="mae")
    with pytest.raises(CheckpointError, match="is a 'mae' checkpoint, expected 'segmentation'"):
        seg.load_segmentation_model(tmp_path / "mae")


def test_augmented_views_are_fixed_copies():
    y = torch.zeros(16, 16, dtype=torch.long)
    y[3:7] = 1
    items = [{"x": torch.randn(1, 16, 16) - 20, "y": y} for _ in range(3)]
    views = seg.AugmentedViews(items, 2, seed=0)
    assert len(views) == 6
    assert views[1]["x"] is items[1]["x"]  # view 0: the item itself
    a, b = views[4], views[4]
    torch.testing.assert_close(a["x"], b["x"])  # the same augmented copy every time it is read
    assert a["x"].shape == (1, 16, 16) and a["y"].shape == (16, 16)
    assert not torch.allclose(a["x"], items[1]["x"])


def test_segmentation_config_validation(tmp_path):
    with pytest.raises(ConfigError, match="label-smoothing"):
        seg.SegmentationConfig(init=tmp_path, label_smoothing=1.0)
    with pytest.raises(ConfigError, match="cache-views"):
        seg.SegmentationConfig(init=tmp_path, cache_views=0)
    with pytest.raises(ConfigError, match="needs --init"):
        seg.SegmentationConfig()
    cfg = seg.SegmentationConfig(init=tmp_path, readout="mix", mode="last-k", k=1)
    assert (cfg.mode, cfg.k, cfg.readout, cfg.cache_features) == ("last-k", 1, "mix", True)


def test_quantize_dynamic_close_to_float_and_original_untouched():
    model = _tiny_model("frozen", readout="mix").eval()
    q = seg.quantize_dynamic(model)
    assert isinstance(model.backbone.encoder_blocks[0].mlp.fc1, torch.nn.Linear)  # a copy was quantised
    assert not isinstance(q.backbone.encoder_blocks[0].mlp.fc1, torch.nn.Linear)
    x = np.random.default_rng(0).normal(-20, 4, (3, 32, 32)).astype(np.float32)
    info = {"config": {"classes": ["noise", "NR", "LTE"]}}
    a, b = seg.predict(model, x, info=info), seg.predict(q, x, info=info)
    assert a.shape == b.shape and np.abs(a - b).max() < 0.05
    with pytest.raises(ConfigError, match="int8"):
        seg.quantize_dynamic(model, "int4")


def test_signal_balanced_weights_keep_noise_and_balance_nr_against_lte():
    class_weights = seg.class_weights
    counts = np.array([700, 240, 60])
    w = class_weights(counts, "signal-balanced")
    assert w[0] == 1.0 and w[1] * 240 == pytest.approx(w[2] * 60)  # NR and LTE weigh the same in total
    assert w[1] * 240 + w[2] * 60 == pytest.approx(300)  # signal keeps its unweighted total against noise
    inv = class_weights(counts, "inverse-frequency")
    assert inv[0] < 1.0 and inv[0] * 700 == pytest.approx(inv[1] * 240, rel=1e-4)
    assert class_weights(counts, "none") is None and class_weights(np.array([9, 5, 0]), "signal-balanced") == [1.0] * 3
