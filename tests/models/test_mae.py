"""MAE: shapes, masking, the masked-only loss, overfitting one batch, errors, reproducibility."""

import pytest
import torch

from radiofm.errors import ConfigError
from radiofm.models import create_model, get_config, list_models
from radiofm.models.mae import MAEConfig, MaskedAutoencoderViT
from radiofm.models.vit import sincos_pos_embed_2d

MAE_MODELS = [name for name in list_models() if isinstance(get_config(name), MAEConfig)]
IMG = (32, 48)  # non-square: grid 2 x 3


def tiny(name="vit-tiny", **kw):
    torch.manual_seed(0)
    return create_model(name, **{"img_size": IMG, "depth": 2, "decoder_depth": 1, **kw})


def batch(b=2, c=1, size=IMG, seed=1):
    return torch.randn(b, c, *size, generator=torch.Generator().manual_seed(seed))


def test_presets_registered():
    assert {"vit-tiny", "vit-s", "vit-m", "vit-l"} <= set(MAE_MODELS)
    cfg = get_config("vit-s")
    assert (cfg.embed_dim, cfg.depth, cfg.num_heads) == (512, 12, 8)
    assert (cfg.decoder_embed_dim, cfg.decoder_depth, cfg.decoder_num_heads) == (256, 8, 16)
    assert (cfg.patch_size, cfg.img_size, cfg.in_chans) == (16, (224, 224), 1)


@pytest.mark.parametrize("name", MAE_MODELS)
def test_forward_backward_shapes(name):
    model = tiny(name)
    x = batch()
    assert model.grid_size == (2, 3)
    loss, pred, mask = model(x, mask_ratio=0.5, generator=torch.Generator().manual_seed(0))
    assert pred.shape == (2, 6, 16 * 16) and mask.shape == (2, 6)
    assert torch.isfinite(loss)
    assert torch.all(mask.sum(1) == 3)  # int(6 * 0.5) kept
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    feats = model.forward_features(x)
    assert feats.shape == (2, 6, model.config.embed_dim)
    latent, mask, ids_restore = model.forward_encoder(x, 0.5)
    assert latent.shape == (2, 1 + 3, model.config.embed_dim) and ids_restore.shape == (2, 6)


def test_mask_fraction_and_restore():
    model = tiny(img_size=(64, 64))  # L = 16
    ids_keep, mask, ids_restore = model.random_masking(4, 0.75, device=torch.device("cpu"))
    assert ids_keep.shape == (4, 4) and torch.all(mask.sum(1) == 12)
    assert torch.all(mask.gather(1, ids_keep) == 0)  # kept patches are the unmasked ones
    ids_shuffle = torch.argsort(ids_restore, dim=1)
    assert torch.equal(ids_shuffle[:, :4], ids_keep)


def test_patchify_layout_and_inverse():
    model = tiny(in_chans=2)
    x = batch(c=2)
    patches = model.patchify(x)
    assert patches.shape == (2, 6, 16 * 16 * 2)
    # patch (row 1, column 2) is index 1 * 3 + 2, flattened as (row-in-patch, column-in-patch, channel)
    assert torch.equal(patches[:, 5], x[:, :, 16:32, 32:48].permute(0, 2, 3, 1).reshape(2, -1))
    assert torch.equal(model.unpatchify(patches), x)


def test_loss_uses_masked_patches_only():
    model = tiny()
    x = batch()
    loss, pred, mask = model(x, generator=torch.Generator().manual_seed(3))
    target = model.patchify(x)
    by_hand = (((pred - target) ** 2).mean(-1) * mask).sum() / mask.sum()
    torch.testing.assert_close(loss, by_hand)
    changed = pred.detach().clone()
    changed[mask == 0] += 10.0  # visible patches: no effect on the loss
    torch.testing.assert_close(model.forward_loss(x, changed, mask), loss.detach())
    changed[mask == 1] += 1.0  # masked patches: they are the loss
    assert model.forward_loss(x, changed, mask) > loss + 0.5


def test_norm_pix_loss_finite():
    model = tiny(norm_pix_loss=True)
    loss, _, _ = model(batch())
    assert torch.isfinite(loss)


def test_overfits_one_batch():
    model = tiny()
    x = batch(b=4)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(30):
        loss, _, _ = model(x, generator=torch.Generator().manual_seed(0))  # one fixed mask: memorisable
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_generator_reproducible():
    model = tiny().eval()
    x = batch()
    a = model(x, generator=torch.Generator().manual_seed(7))
    b = model(x, generator=torch.Generator().manual_seed(7))
    c = model(x, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a[0], b[0]) and torch.equal(a[2], b[2])
    assert not torch.equal(a[2], c[2])


@pytest.mark.parametrize("ratio", [0.0, 1.0, -0.1, 1.5, 0.99])
def test_bad_mask_ratio(ratio):
    model = tiny()  # L = 6: 0.99 keeps no patch
    with pytest.raises(ConfigError, match="mask_ratio"):
        model(batch(), mask_ratio=ratio)


def test_bad_input_sizes():
    model = tiny()
    with pytest.raises(ConfigError, match="multiple of patch size"):
        model(torch.randn(1, 1, 30, 48))
    with pytest.raises(ConfigError, match="does not match"):
        model(torch.randn(1, 1, 48, 32))
    with pytest.raises(ConfigError, match="multiple of patch size"):
        MaskedAutoencoderViT(MAEConfig(img_size=(30, 48)))
    with pytest.raises(ConfigError):
        MAEConfig(embed_dim=190, num_heads=2)


def test_pos_embed_fixed_and_rectangular():
    model = tiny()
    names = {n for n, _ in model.named_parameters()}
    assert "pos_embed" not in names and "decoder_pos_embed" not in names
    assert model.pos_embed.shape == (1, 1 + 6, model.config.embed_dim)
    emb = sincos_pos_embed_2d(8, (2, 3))
    assert emb.shape == (6, 8)
    assert len({tuple(row.tolist()) for row in emb}) == 6  # every grid position distinct
    assert torch.equal(emb[0, :4], emb[1, :4]) and not torch.equal(emb[0, 4:], emb[1, 4:])  # row half, column half


def test_no_weight_decay_names_exist():
    model = tiny()
    names = {n for n, _ in model.named_parameters()}
    assert model.no_weight_decay() <= names
    assert len(model.encoder_blocks) == 2


@pytest.mark.parametrize("decoder_depth,norm_pix", [(2, False), (1, True), (0, False)])
def test_masked_only_head_gives_the_full_heads_loss_and_gradients(decoder_depth, norm_pix):
    model = tiny(img_size=(64, 48), decoder_depth=decoder_depth, norm_pix_loss=norm_pix)  # L = 12
    x = batch(b=3, size=(64, 48))
    full, pred, mask = model(x, mask_ratio=0.75, generator=torch.Generator().manual_seed(5))
    grads_full = torch.autograd.grad(full, list(model.parameters()), allow_unused=True)
    part, none, mask2 = model(x, mask_ratio=0.75, generator=torch.Generator().manual_seed(5), full_pred=False)
    grads_part = torch.autograd.grad(part, list(model.parameters()), allow_unused=True)
    assert none is None and pred.shape == (3, 12, 256) and torch.equal(mask, mask2)
    torch.testing.assert_close(part, full, rtol=1e-5, atol=1e-6)
    for (name, _), a, b in zip(model.named_parameters(), grads_full, grads_part):
        assert (a is None) == (b is None), name
        if a is not None:
            torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-6, msg=name)


def test_block_rows_are_the_full_blocks_rows():
    from radiofm.models.vit import Block, gather_rows

    torch.manual_seed(0)
    blk = Block(32, 4)
    x = torch.randn(2, 7, 32)
    rows = torch.tensor([[6, 0, 3], [1, 2, 5]])
    torch.testing.assert_close(blk(x, rows), gather_rows(blk(x), rows), rtol=1e-5, atol=1e-6)
