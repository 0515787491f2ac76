"""The fine-tuned model: each mode trains exactly what it says; backbone loading is strict; LoRA."""

import dataclasses

import pytest
import torch

from radiofm.errors import CheckpointError, ConfigError
from radiofm.models import create_model, save_checkpoint
from radiofm.models import finetuned as ft
from radiofm.models.backbones import BACKBONES
from radiofm.models.lora import LoRALinear, apply_lora, merge_lora, unmerge_lora
from radiofm.tasks.segmentation import build_segmentation_model

DEPTH = 2


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one torch thread


def _tiny_mae(**over):
    torch.manual_seed(0)
    return create_model("vit-tiny", **{"img_size": (32, 32), "depth": DEPTH, "decoder_depth": 1, **over})


@pytest.fixture(scope="module")
def mae_ckpt(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ft") / "mae"
    save_checkpoint(folder, _tiny_mae(), kind="mae", extra={"model_name": "vit-tiny"})
    return folder


def _model(mae_ckpt, mode="frozen", **kw):
    info = ft.read_init(mae_ckpt)
    model = build_segmentation_model("mae", info["config"], head={"embed_dim": 32, "num_heads": 2, "depth": 1})
    if mode != "scratch":
        ft.load_backbone_into(model, mae_ckpt)
    ft.configure_mode(model, mode, **kw)
    return model


def _trainable(model):
    return {n for n, p in model.named_parameters() if p.requires_grad}


def _names(model):
    return {n for n, _ in model.named_parameters()}


def test_frozen_trains_only_the_head(mae_ckpt):
    model = _model(mae_ckpt, "frozen")
    assert _trainable(model) == {n for n in _names(model) if n.startswith("head.")}
    assert model.backbone_frozen
    model.train()
    assert model.head.training and not model.backbone.training  # frozen backbone stays in eval mode
    x = torch.randn(2, 1, 32, 32)
    model(x).sum().backward()
    assert all(p.grad is None for p in model.backbone.parameters())
    assert all(p.grad is not None for p in model.head.parameters())


def test_last_k_trains_last_blocks_and_final_norm(mae_ckpt):
    model = _model(mae_ckpt, "last-k", k=1)
    expected = {
        n
        for n in _names(model)
        if n.startswith(("head.", f"backbone.encoder_blocks.{DEPTH - 1}.", "backbone.encoder_norm."))
    }
    assert _trainable(model) == expected
    assert not any(n.startswith(("backbone.encoder_blocks.0.", "backbone.patch_embed")) for n in _trainable(model))
    with pytest.raises(ConfigError, match="--k must be in 1..2"):
        _model(mae_ckpt, "last-k", k=DEPTH + 1)


def test_lora_trains_only_adapters_and_head(mae_ckpt):
    ref = _model(mae_ckpt, "frozen")
    model = _model(mae_ckpt, "lora", lora_rank=4)
    trainable = _trainable(model)
    assert trainable == {n for n in _names(model) if n.startswith("head.") or ".lora_" in n}
    lora = [n for n in trainable if ".lora_" in n]
    assert len(lora) == DEPTH * 2 * 2  # qkv and proj per block, A and B each
    assert all(".attn.qkv." in n or ".attn.proj." in n for n in lora)
    assert model.config["lora"] == {"rank": 4, "alpha": 4.0}
    model.head.load_state_dict(ref.head.state_dict())
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():  # B starts at zero: the adapted model computes what the frozen one did
        torch.testing.assert_close(model.eval()(x), ref.eval()(x))


def test_full_trains_everything_with_layer_decay(mae_ckpt):
    model = _model(mae_ckpt, "full")
    assert _trainable(model) == _names(model)
    scales = ft.layer_decay_scales(model, 0.5)
    assert scales["backbone.encoder_blocks.0.attn.qkv.weight"] == 0.5**DEPTH
    assert scales[f"backbone.encoder_blocks.{DEPTH - 1}.mlp.fc1.bias"] == 0.5
    assert scales["backbone.patch_embed.weight"] == 0.5 ** (DEPTH + 1)
    assert not any(n.startswith(("head.", "backbone.encoder_norm")) for n in scales)  # scale 1


def test_scratch_is_random_and_fully_trainable(mae_ckpt):
    from safetensors.torch import load_file

    model = _model(mae_ckpt, "scratch")
    assert _trainable(model) == _names(model)
    saved = load_file(mae_ckpt / "model.safetensors")
    mine = model.backbone.state_dict()
    for key in ("patch_embed.weight", "encoder_blocks.0.attn.qkv.weight", "encoder_blocks.1.mlp.fc2.weight"):
        assert not torch.allclose(mine[key], saved[key])
    loaded = _model(mae_ckpt, "frozen").backbone.state_dict()
    torch.testing.assert_close(loaded["encoder_blocks.0.attn.qkv.weight"], saved["encoder_blocks.0.attn.qkv.weight"])


def test_backbone_loading_is_exact(mae_ckpt, tmp_path):
    info = ft.read_init(mae_ckpt)
    model = build_segmentation_model("mae", info["config"])
    report = ft.load_backbone_into(model, mae_ckpt)
    assert report["missing"] and all(k.startswith("head.") for k in report["missing"])
    assert report["unexpected"] and all(k.startswith(("decoder_", "mask_token")) for k in report["unexpected"])
    deeper = tmp_path / "deeper"  # an extra encoder block has no place in the model
    save_checkpoint(deeper, _tiny_mae(depth=DEPTH + 1), kind="mae")
    with pytest.raises(CheckpointError, match=r"unexpected: encoder_blocks\.2\."):
        ft.load_backbone_into(model, deeper)
    shallower = tmp_path / "shallower"  # a missing encoder block
    save_checkpoint(shallower, _tiny_mae(depth=DEPTH - 1), kind="mae")
    with pytest.raises(CheckpointError, match=r"missing: backbone\.encoder_blocks\.1\."):
        ft.load_backbone_into(model, shallower)
    wider = tmp_path / "wider"
    save_checkpoint(wider, _tiny_mae(embed_dim=96, num_heads=3), kind="mae")
    with pytest.raises(CheckpointError, match="wrong shape"):
        ft.load_backbone_into(model, wider)


def test_read_init_rejects_non_backbones(mae_ckpt, tmp_path):
    info = ft.read_init(mae_ckpt)
    seg = tmp_path / "seg"
    save_checkpoint(seg, build_segmentation_model("mae", info["config"]), kind="segmentation")
    with pytest.raises(CheckpointError, match="is a 'segmentation' checkpoint, expected a pretrained backbone"):
        ft.read_init(seg)
    with pytest.raises(CheckpointError, match="does not exist"):
        ft.read_init(tmp_path / "nope")


def test_lora_linear_merge_unmerge():
    torch.manual_seed(0)
    base = torch.nn.Linear(8, 6)
    layer = LoRALinear.from_linear(base, rank=2, alpha=4)
    x = torch.randn(3, 8)
    torch.testing.assert_close(layer(x), base(x))
    with torch.no_grad():
        layer.lora_b.normal_()
    expected = base(x) + 2.0 * (x @ layer.lora_a.T @ layer.lora_b.T)
    torch.testing.assert_close(layer(x), expected)
    w0 = layer.weight.detach().clone()
    mod = torch.nn.Sequential(layer)
    assert merge_lora(mod) == 1
    torch.testing.assert_close(layer(x), expected)
    assert unmerge_lora(mod) == 1
    torch.testing.assert_close(layer.weight, w0)
    with pytest.raises(ConfigError, match="no linear layer"):
        apply_lora(torch.nn.Sequential(torch.nn.ReLU()), rank=2)
    with pytest.raises(ConfigError, match="LoRA rank"):
        LoRALinear(4, 4, rank=5)


def test_mode_validation(mae_ckpt):
    model = _model(mae_ckpt, "frozen")
    with pytest.raises(ConfigError, match="mode must be one of"):
        ft.configure_mode(model, "linear")
    with pytest.raises(ConfigError, match="layer-decay"):
        ft.layer_decay_scales(model, 1.5)
    assert dataclasses.is_dataclass(BACKBONES["mae"])


def test_lora_adapters_are_drawn_from_the_seed(mae_ckpt):
    """LoRA's A matrices come from SeedSequence([seed, 13]), not the global torch RNG (before issue 9 they did:
    two identical ``--mode lora`` commands trained different adapters)."""

    def adapters(seed):
        model = _model(mae_ckpt, "frozen")
        ft.configure_mode(model, "lora", lora_rank=4, seed=seed)
        return {n: p.detach().clone() for n, p in model.named_parameters() if ".lora_a" in n}

    a = adapters(3)
    torch.rand(5)  # global RNG draws in between change nothing
    b, c = adapters(3), adapters(4)
    assert a and all(torch.equal(a[n], b[n]) for n in a)
    assert not any(torch.equal(a[n], c[n]) for n in a)


def test_separate_channels_encode_each_channel_with_the_shared_backbone():
    backbone = ft.build_backbone("mae", dataclasses.asdict(_tiny_mae().config))
    head = {"type": "pooled", "in_dim": backbone.config.embed_dim, "out_dim": 3, "groups": 4}
    inp = {"norm": "dataset", "mean_db": 0.0, "std_db": 1.0}
    config = {"task": "positioning", "backbone_family": "mae", "backbone": dataclasses.asdict(backbone.config),
              "head": head, "input": inp, "channels": "separate"}  # fmt: skip
    model = ft.rebuild(config)
    model.backbone.load_state_dict(backbone.state_dict())
    ft.configure_mode(model, "frozen")
    x = torch.randn(2, 4, 32, 32)
    tokens = model.encode(x)
    alone = [backbone.forward_features(x[:, c : c + 1]) for c in range(4)]  # (2, L, D) each
    torch.testing.assert_close(tokens, torch.cat(alone, dim=1))
    assert model(x).shape == (2, 3)
    with pytest.raises(ConfigError, match="separate"):  # a 4-channel backbone cannot take one channel at a time
        ft.rebuild({**config, "backbone": {**config["backbone"], "in_chans": 4}})
    with pytest.raises(ConfigError, match="channels must be one of"):
        ft.rebuild({**config, "channels": "interleaved"})
