"""ConvLSTM segmentation (paper A §III-D) through the shared fine-tuning framework and evaluate segmentation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from radiofm.cli.main import main
from radiofm.models import create_model, save_checkpoint
from radiofm.models import finetuned as ft
from radiofm.models.convlstm import feature_map, image_to_tokens
from radiofm.tasks.segmentation import build_segmentation_model, load_segmentation_model, predict
from radiofm.train import seeded

OVER = {"token_shape": (16, 4), "hidden_channels": 8, "num_layers": 2, "img_size": (16, 32)}  # 8 tokens


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one torch thread


@pytest.fixture(scope="module")
def msm_ckpt(tmp_path_factory):
    torch.manual_seed(0)
    model = create_model("convlstm-tiny", **OVER)
    folder = tmp_path_factory.mktemp("cseg") / "msm"
    save_checkpoint(folder, model, kind="convlstm-msm", extra={"model_name": "convlstm-tiny"})
    return folder


def _seg_model(msm_ckpt, mode="frozen"):
    info = ft.read_init(msm_ckpt)
    with seeded(0):
        model = build_segmentation_model("convlstm", info["config"])
    if mode != "scratch":
        ft.load_backbone_into(model, msm_ckpt)
    ft.configure_mode(model, mode, k=1)
    return model


def _batch(n=4, seed=0, size=(16, 32)):
    """dB images with an NR band (label 1) and a pulsed LTE band (label 2) at random rows over a noise floor."""
    rng = np.random.default_rng(seed)
    h, w = size
    x = rng.normal(-100, 1, (n, h, w)).astype(np.float32)
    y = np.zeros((n, h, w), np.int64)
    for i in range(n):
        a, b = rng.integers(0, h // 2 - 3), rng.integers(h // 2, h - 3)
        x[i, a : a + 3] += 20
        y[i, a : a + 3] = 1
        x[i, b : b + 3] += 20 * (np.arange(w) % 4 < 2)
        y[i, b : b + 3] = 2
    return torch.from_numpy(x)[:, None], torch.from_numpy(y)


def test_feature_map_concatenates_tokens_along_time():
    torch.manual_seed(0)
    model = create_model("convlstm-tiny", **OVER).eval()
    img = torch.randn(2, 1, 16, 32)
    tokens = image_to_tokens(img, (16, 4))
    assert tokens.shape == (2, 8, 1, 16, 4) and torch.equal(tokens[:, 3, 0], img[:, 0, :, 12:16])
    with torch.no_grad():
        fmap = feature_map(model, img)
        feats = model.forward_features(tokens)
    assert fmap.shape == (2, 8, 16, 32)
    torch.testing.assert_close(fmap[..., 12:16], feats[:, 3])


def test_model_face_and_backbone_loading(msm_ckpt):
    model = _seg_model(msm_ckpt)
    assert model.image_size == (16, 32)
    assert not hasattr(model.backbone, "head")  # the MSM Conv3D is dropped
    trained = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trained and all(n.startswith("head.") for n in trained)
    from safetensors.torch import load_file

    saved = load_file(msm_ckpt / "model.safetensors")
    for k, v in model.backbone.state_dict().items():
        assert torch.equal(v, saved[k])
    x, _ = _batch()
    assert model(x).shape == (4, 3, 16, 32)
    ft.configure_mode(model, "last-k", k=1)
    trained = {n for n, p in model.named_parameters() if p.requires_grad}
    assert any(n.startswith("backbone.backbone.layers.1.") for n in trained)
    assert not any(n.startswith("backbone.backbone.layers.0.") for n in trained)


def test_head_overfits_one_batch(msm_ckpt):
    model = _seg_model(msm_ckpt)
    x, y = _batch()
    with torch.no_grad():
        feats = model.encode(x)  # frozen backbone: fixed features
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.03)
    first = None
    for _ in range(300):
        loss = torch.nn.functional.cross_entropy(model.head(feats), y)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    acc = (model.head(feats).argmax(1) == y).float().mean().item()
    assert loss.item() < 0.2 * first and acc > 0.95


def _nrlte(folder, n, seed):
    x, y = _batch(n, seed, size=(32, 32))
    folder.mkdir(parents=True)
    np.save(folder / "spectrograms.npy", x[:, 0].numpy())
    np.save(folder / "labels.npy", y.numpy().astype(np.uint8))
    (folder / "manifest.json").write_text(json.dumps({"kind": "nrlte-segmentation", "split": "test"}))
    return folder


def test_finetune_and_evaluate_segmentation_cli(msm_ckpt, tmp_path, capsys):
    data = _nrlte(tmp_path / "sd", 6, 1)
    fast = ["--epochs", "2", "--batch-size", "3", "--lr", "0.01", "--no-progress", "--device", "cpu"]
    for mode in ("frozen", "scratch"):
        run = tmp_path / mode
        args = ["finetune", "segmentation", "--init", str(msm_ckpt), "--data", str(data), "--out", str(run)]
        assert main([*args, "--mode", mode, *fast]) == 0
        model, info = load_segmentation_model(run)
        assert info["config"]["backbone_family"] == "convlstm" and info["config"]["head"]["type"] == "conv2d"
        probs = predict(model, np.zeros((1, 20, 40), np.float32) - 100, info=info)  # any resolution in, same out
        assert probs.shape == (1, 3, 20, 40)
        ev = tmp_path / f"ev_{mode}"
        assert main(["evaluate", "segmentation", "--model", str(run), "--data", str(data), "--out", str(ev)]) == 0
        report = json.loads((ev / "segmentation.json").read_text())
        assert np.array(report["counts"]).shape == (3, 3) and np.array(report["binary"]["counts"]).shape == (2, 2)
        assert np.array(report["counts"]).sum() == 6 * 32 * 32
    assert "signal vs noise" in capsys.readouterr().out


def test_lora_is_refused(msm_ckpt, tmp_path, capsys):
    data = _nrlte(tmp_path / "sd", 2, 2)
    argv = ["finetune", "segmentation", "--init", str(msm_ckpt), "--data", str(data), "--out", str(tmp_path / "r")]
    assert main([*argv, "--mode", "lora", "--no-progress"]) == 2
    assert capsys.readouterr().err.startswith("radiofm: error: LoRA")


def test_mix_readout_is_refused(msm_ckpt, tmp_path, capsys):
    data = _nrlte(tmp_path / "sd", 2, 2)
    argv = ["finetune", "segmentation", "--init", str(msm_ckpt), "--data", str(data), "--out", str(tmp_path / "r")]
    assert main([*argv, "--readout", "mix", "--no-progress"]) == 2
    assert "supports only --readout last" in capsys.readouterr().err
    assert not (tmp_path / "r" / "config.json").exists()
