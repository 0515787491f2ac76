"""1-channel MAE -> C-channel input: exact equivalence on replicated input, state dicts, grids, backbones."""

import pytest
import torch

from radiofm.errors import ConfigError
from radiofm.models import create_model
from radiofm.models.adapt import adapt_patch_embed, adapt_state_dict
from radiofm.models.vit import sincos_pos_embed_2d

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = dict(embed_dim=32, depth=2, num_heads=2, decoder_embed_dim=16, decoder_depth=1, decoder_num_heads=2)


@pytest.fixture(scope="module")
def mae():
    torch.manual_seed(0)
    return create_model("vit-tiny", img_size=(32, 48), **TINY).eval()


def test_mean_adapted_features_on_replicated_input_equal_the_original(mae):
    m3 = adapt_patch_embed(mae, 3)
    assert m3.config.in_chans == 3 and not m3.training
    x = torch.randn(2, 1, 32, 48)
    with torch.no_grad():
        ref = mae.forward_features(x)
        out = m3.forward_features(x.repeat(1, 3, 1, 1))
        levels = m3.forward_levels(x.repeat(1, 3, 1, 1))
    torch.testing.assert_close(out, ref, atol=2e-5, rtol=1e-5)
    torch.testing.assert_close(levels, mae.forward_levels(x), atol=2e-5, rtol=1e-5)
    different = torch.randn(2, 3, 32, 48)  # distinct channels embed as their mean
    with torch.no_grad():
        torch.testing.assert_close(
            m3.forward_features(different), mae.forward_features(different.mean(1, keepdim=True)), atol=2e-5, rtol=1e-5
        )


def test_replicate_sums_the_channels(mae):
    m3 = adapt_patch_embed(mae, 3, "replicate")
    x = torch.randn(1, 1, 32, 48)
    with torch.no_grad():
        torch.testing.assert_close(
            m3.forward_features(x.repeat(1, 3, 1, 1) / 3), mae.forward_features(x), atol=2e-5, rtol=1e-5
        )


def test_the_decoder_reconstructs_every_channel_like_the_original(mae):
    m3 = adapt_patch_embed(mae, 3)
    x = torch.randn(2, 1, 32, 48)
    with torch.no_grad():
        loss1, pred1, mask1 = mae(x, 0.75, generator=torch.Generator().manual_seed(3))
        loss3, pred3, mask3 = m3(x.repeat(1, 3, 1, 1), 0.75, generator=torch.Generator().manual_seed(3))
    assert torch.equal(mask1, mask3)
    torch.testing.assert_close(loss3, loss1, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(m3.unpatchify(pred3), mae.unpatchify(pred1).repeat(1, 3, 1, 1), atol=2e-5, rtol=1e-5)


def test_state_dict_with_a_prefix_and_back_to_one_channel(mae):
    state = {f"backbone.{k}": v for k, v in mae.state_dict().items()}
    wide = adapt_state_dict(state, 3)
    assert wide["backbone.patch_embed.weight"].shape == (32, 16 * 16 * 3)
    assert wide["backbone.decoder_pred.weight"].shape == (16 * 16 * 3, 16)
    assert wide["backbone.encoder_norm.weight"] is state["backbone.encoder_norm.weight"]  # others untouched
    assert set(adapt_patch_embed(state, 3)) == set(state)
    narrow = adapt_state_dict(wide, 1, from_chans=3)  # summing the widened kernel gives the original back
    torch.testing.assert_close(narrow["backbone.patch_embed.weight"], state["backbone.patch_embed.weight"])
    torch.testing.assert_close(narrow["backbone.decoder_pred.bias"], state["backbone.decoder_pred.bias"])


def test_another_grid_gets_its_own_sincos_positions_and_the_same_weights(mae):
    m = adapt_patch_embed(mae, 3, img_size=(64, 48))
    assert m.grid_size == (4, 3)
    torch.testing.assert_close(m.pos_embed[0], sincos_pos_embed_2d(32, (4, 3), cls_token=True))
    assert "pos_embed" not in m.state_dict()  # rebuilt from the config, never stored: nothing to interpolate
    torch.testing.assert_close(m.encoder_blocks[1].attn.qkv.weight, mae.encoder_blocks[1].attn.qkv.weight)
    with torch.no_grad():
        assert m.forward_features(torch.randn(1, 3, 64, 48)).shape == (1, 12, 32)


def test_a_backbone_stays_a_backbone(mae):
    import copy

    backbone = copy.deepcopy(mae)
    for name in ("decoder_embed", "mask_token", "decoder_pos_embed", "decoder_blocks", "decoder_norm", "decoder_pred"):
        delattr(backbone, name)
    m3 = adapt_patch_embed(backbone, 3)
    assert not hasattr(m3, "decoder_pred") and not hasattr(m3, "mask_token")
    assert set(m3.state_dict()) == set(backbone.state_dict())


def test_bad_requests_raise_config_errors(mae):
    with pytest.raises(ConfigError, match="method"):
        adapt_patch_embed(mae, 3, "median")
    with pytest.raises(ConfigError, match="patch_embed"):
        adapt_state_dict({"head.weight": torch.zeros(2, 2)}, 3)
    with pytest.raises(ConfigError, match="MaskedAutoencoderViT"):
        adapt_patch_embed(torch.nn.Linear(2, 2), 3)
    with pytest.raises(ConfigError):
        adapt_patch_embed(mae, 0)


def test_load_adapted_backbone_keeps_the_pretrained_output_on_replicated_input(mae, tmp_path):
    from radiofm.models import save_checkpoint
    from radiofm.models.adapt import load_adapted_backbone
    from radiofm.models.finetuned import rebuild

    save_checkpoint(tmp_path / "mae", mae, kind="mae")
    cfg = {k: (list(v) if isinstance(v, tuple) else v) for k, v in mae.config.__dict__.items()}
    head = {"type": "pooled", "in_dim": 32, "out_dim": 6}
    model = rebuild(
        {
            "task": "sensing",
            "backbone_family": "mae",
            "backbone": {**cfg, "in_chans": 3},
            "head": head,
            "input": {"norm": "dataset", "mean_db": 0.0, "std_db": 1.0},
            "readout": "last",
            "lora": None,
        }
    )
    result = load_adapted_backbone(model, tmp_path / "mae")
    assert result["adapted"] == ["backbone.patch_embed.weight"]
    assert not [k for k in result["missing"] if "backbone" in k]
    x = torch.randn(2, 1, 32, 48)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model.encode(x.repeat(1, 3, 1, 1)), mae.forward_features(x), atol=2e-5, rtol=1e-5)
