"""Checkpoint folders: round trips, training state, errors, no pickle, atomicity, backbone loading."""

import json
import random

import numpy as np
import pytest
import safetensors.torch
import torch
from torch import nn

from radiofm.errors import CheckpointError, OutputError
from radiofm.models import checkpoint as ckpt_mod
from radiofm.models import (
    create_model,
    flatten_state_dict,
    load_backbone_weights,
    load_checkpoint,
    load_train_state,
    register_kind,
    save_checkpoint,
    unflatten_state_dict,
)


def tiny():
    torch.manual_seed(0)
    return create_model("vit-tiny", img_size=(32, 48), depth=2, decoder_depth=1)


def x_batch():
    return torch.randn(2, 1, 32, 48, generator=torch.Generator().manual_seed(1))


def only_safe_files(folder):
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files and all(p.suffix in {".safetensors", ".json"} for p in files), files


def test_round_trip_identical_outputs(tmp_path):
    model = tiny().eval()
    folder = save_checkpoint(tmp_path / "ck", model, kind="mae", extra={"epoch": 3})
    loaded, info = load_checkpoint(folder, expect_kind="mae")
    assert info["family"] == "mae" and info["kind"] == "mae" and info["extra"] == {"epoch": 3}
    assert loaded.config == model.config
    x = x_batch()
    a = model(x, generator=torch.Generator().manual_seed(5))
    b = loaded(x, generator=torch.Generator().manual_seed(5))
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    assert torch.equal(model.forward_features(x), loaded.forward_features(x))
    meta = json.loads((folder / "config.json").read_text())
    assert meta["format"] == "radiofm-checkpoint" and meta["version"] == 1
    assert meta["config"]["img_size"] == [32, 48]
    only_safe_files(folder)
    torch.manual_seed(3)  # loading draws nothing from the caller's global stream (the build's draws are discarded)
    expected = torch.rand(3)
    torch.manual_seed(3)
    load_checkpoint(folder)
    assert torch.equal(torch.rand(3), expected)


def adamw_step(model, opt, sched, x):
    loss, _, _ = model(x, generator=torch.Generator().manual_seed(9))
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    return loss.detach()


def test_train_state_round_trip_adamw(tmp_path):
    model = tiny()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    x = x_batch()
    for _ in range(2):
        adamw_step(model, opt, sched, x)
    rngs = {"torch": torch.Generator().manual_seed(4), "numpy": np.random.default_rng(4), "python": random.Random(4)}
    state = {"optimizer": opt, "scheduler": sched, "step": 2, "epoch": 0, "rng": rngs, "hp": {"lr": 1e-3}}
    folder = save_checkpoint(tmp_path / "ck", model, kind="mae", train_state=state)
    only_safe_files(folder)

    # reference: continue the original run
    ref_loss = adamw_step(model, opt, sched, x)
    ref_params = [p.detach().clone() for p in model.parameters()]
    ref_draws = (torch.rand(3, generator=rngs["torch"]), rngs["numpy"].random(3), rngs["python"].random())

    # resume from disk
    model2, _ = load_checkpoint(folder)
    model2.train()
    opt2 = torch.optim.AdamW(model2.parameters(), lr=1.0)
    sched2 = torch.optim.lr_scheduler.CosineAnnealingLR(opt2, T_max=10)
    restored = load_train_state(folder)
    opt2.load_state_dict(restored["optimizer"])
    sched2.load_state_dict(restored["scheduler"])
    assert restored["step"] == 2 and restored["hp"] == {"lr": 1e-3}
    assert restored["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.95)
    loss2 = adamw_step(model2, opt2, sched2, x)
    assert torch.equal(loss2, ref_loss)
    assert all(torch.equal(a, b) for a, b in zip(ref_params, model2.parameters()))
    r = restored["rng"]
    assert torch.equal(torch.rand(3, generator=r["torch"]), ref_draws[0])
    assert np.array_equal(r["numpy"].random(3), ref_draws[1]) and r["python"].random() == ref_draws[2]


def test_flatten_round_trip_exact():
    model = nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters())
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    sd = opt.state_dict()
    tensors, meta = flatten_state_dict(sd)
    json.dumps(meta)
    back = unflatten_state_dict(tensors, json.loads(json.dumps(meta)))
    assert back["param_groups"] == sd["param_groups"]
    assert set(back["state"]) == {0, 1}
    for i in (0, 1):
        for k, v in sd["state"][i].items():
            assert torch.equal(back["state"][i][k], v) and back["state"][i][k].dtype == v.dtype


def test_no_train_state_gives_none(tmp_path):
    folder = save_checkpoint(tmp_path / "ck", tiny(), kind="mae")
    assert load_train_state(folder) is None
    assert not (folder / "train_state").exists()


def test_errors(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="not a radiofm checkpoint"):
        load_checkpoint(tmp_path / "empty")
    folder = save_checkpoint(tmp_path / "ck", tiny(), kind="mae")
    with pytest.raises(CheckpointError, match="config.json is a file, not a checkpoint folder"):
        load_checkpoint(folder / "config.json")
    with pytest.raises(CheckpointError, match=r"is a 'mae' checkpoint, expected 'segmentation'"):
        load_checkpoint(folder, expect_kind="segmentation")
    (folder / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="malformed"):
        load_checkpoint(folder)


def test_tensor_mismatch(tmp_path):
    folder = save_checkpoint(tmp_path / "ck", tiny(), kind="mae")
    tensors = safetensors.torch.load_file(str(folder / "model.safetensors"))
    del tensors["cls_token"]
    tensors["patch_embed.weight"] = torch.zeros(3, 3)
    safetensors.torch.save_file(tensors, str(folder / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"missing: cls_token.*wrong shape: patch_embed.weight"):
        load_checkpoint(folder)


def test_atomic_failure_leaves_nothing(tmp_path, monkeypatch):
    calls = []
    real = safetensors.torch.save_file

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the model file is written, the training state fails
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(ckpt_mod.safetensors.torch, "save_file", failing)
    opt = torch.optim.AdamW(tiny().parameters())
    with pytest.raises(OutputError, match="disk full"):
        save_checkpoint(tmp_path / "ck", tiny(), kind="mae", train_state={"optimizer": opt})
    assert list(tmp_path.iterdir()) == []


def test_unstorable_train_state(tmp_path):
    with pytest.raises(CheckpointError, match="without pickle"):
        save_checkpoint(tmp_path / "ck", tiny(), kind="mae", train_state={"fn": object()})
    assert list(tmp_path.iterdir()) == []


class _Tied(nn.Module):
    def __init__(self, config=None):
        super().__init__()
        self.config = config
        self.a = nn.Linear(4, 4)
        self.b = nn.Linear(4, 4)
        self.b.weight = self.a.weight


def test_tied_weights_and_kind_builder(tmp_path, monkeypatch):
    monkeypatch.setattr(ckpt_mod, "_KIND_BUILDERS", dict(ckpt_mod._KIND_BUILDERS))
    register_kind("tied-test", lambda config, extra: _Tied())
    model = _Tied()
    folder = save_checkpoint(tmp_path / "ck", model, kind="tied-test")
    loaded, info = load_checkpoint(folder, expect_kind="tied-test")
    assert info["family"] is None and info["tied"] == {"b.weight": "a.weight"}
    assert torch.equal(loaded.a.weight, model.a.weight) and loaded.b.weight is loaded.a.weight


class _Seg(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = tiny()
        self.head = nn.Linear(192, 3)


def test_load_backbone_weights(tmp_path):
    src = tiny()
    with torch.no_grad():
        src.cls_token.fill_(0.5)
    folder = save_checkpoint(tmp_path / "ck", src, kind="mae")
    seg = _Seg()
    report = load_backbone_weights(seg, folder, prefix="backbone.")
    assert report["missing"] == ["head.bias", "head.weight"] and report["unexpected"] == []
    assert torch.equal(seg.backbone.cls_token, src.cls_token)
    # the encoder alone inside a module without decoder: decoder keys are expected-unexpected
    enc = tiny()
    del enc.decoder_blocks, enc.decoder_embed, enc.decoder_norm, enc.decoder_pred, enc.mask_token
    enc.head = nn.Linear(1, 1)
    report = load_backbone_weights(enc, folder)
    assert "mask_token" in report["unexpected"]
    with pytest.raises(CheckpointError, match=r"missing: head.bias"):
        load_backbone_weights(seg, folder, prefix="backbone.", expected_missing=())
    with pytest.raises(CheckpointError, match=r"unexpected: decoder_.*19 in all"):
        load_backbone_weights(enc, folder, expected_unexpected=())


def test_backbone_shape_mismatch_counts_as_expected_missing(tmp_path):
    folder = save_checkpoint(tmp_path / "ck", tiny(), kind="mae")
    three = create_model("vit-tiny", img_size=(32, 48), depth=2, decoder_depth=1, in_chans=3)
    with pytest.raises(
        CheckpointError, match=r"wrong shape: decoder_pred.*patch_embed.weight \(192, 256\)->\(192, 768\)"
    ):
        load_backbone_weights(three, folder, expected_missing=())
    report = load_backbone_weights(three, folder, expected_missing=("patch_embed.", "decoder_pred."))
    assert report["missing"] == ["decoder_pred.bias", "decoder_pred.weight", "patch_embed.weight"]
    assert "encoder_blocks.0.attn.qkv.weight" in report["loaded"]


def test_loading_never_unpickles(tmp_path, monkeypatch):
    import pickle

    opt = torch.optim.AdamW(tiny().parameters())
    folder = save_checkpoint(tmp_path / "ck", tiny(), kind="mae", train_state={"optimizer": opt, "step": 1})

    def forbidden(*args, **kwargs):
        raise AssertionError("unpickling attempted")

    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    load_checkpoint(folder)
    assert load_train_state(folder)["step"] == 1
