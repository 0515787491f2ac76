"""ViT masked autoencoder for masked spectrogram modelling (paper B, after He et al. 2021).

Shapes: B batch, C channels, F x T = H x W image (frequency rows, time columns), p patch side,
grid (gf, gt) = (F/p, T/p), L = gf * gt patches, K = int(L * (1 - mask_ratio)) visible patches,
D encoder width, Dd decoder width, P = p*p*C values per patch.

Mask convention (used everywhere below): ``mask`` is (B, L) float with **1 = masked** (hidden from the
encoder, reconstructed and scored) and 0 = visible.

Patches are flattened in (row-in-patch, column-in-patch, channel) order, and the patch embedding is a
linear layer on those flattened patches, so the encoder embeds only the K visible patches.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from radiofm.errors import ConfigError
from radiofm.models.backbones import BackboneSpec, register_backbone
from radiofm.models.registry import register_family, register_model
from radiofm.models.vit import Block, check_grid, gather_rows, init_vit_weights, sincos_pos_embed_2d


def visible_patches(num_patches: int, mask_ratio: float) -> int:
    """K = int(L (1 - mask_ratio)), the patches the encoder sees; ConfigError for a ratio outside (0, 1) or one that
    leaves none (checked before a pretraining's data is built too, :mod:`radiofm.tasks.pretrain_mae`)."""
    if not 0.0 < float(mask_ratio) < 1.0:
        raise ConfigError(f"mask_ratio must be strictly between 0 and 1, got {mask_ratio}")
    keep = int(num_patches * (1 - mask_ratio))
    if keep < 1:
        raise ConfigError(f"mask_ratio {mask_ratio} leaves no visible patch out of {num_patches}")
    return keep


@dataclass
class MAEConfig:
    in_chans: int = 1  # input channels C (1 for a spectrogram)
    img_size: tuple[int, int] = (224, 224)  # input (F, T) in pixels; both multiples of patch_size, need not be equal
    patch_size: int = 16  # square patch side p in pixels
    embed_dim: int = 192  # encoder width D (multiple of 4 and of num_heads)
    depth: int = 12  # encoder transformer blocks
    num_heads: int = 3  # encoder attention heads
    decoder_embed_dim: int = 128  # decoder width Dd (multiple of 4 and of decoder_num_heads)
    decoder_depth: int = 4  # decoder transformer blocks
    decoder_num_heads: int = 4  # decoder attention heads
    mlp_ratio: float = 4.0  # MLP hidden width / block width
    norm_pix_loss: bool = False  # score patches normalised to zero mean, unit variance (per patch)
    qkv_bias: bool = True  # bias in the fused qkv projections

    def __post_init__(self) -> None:
        self.img_size = tuple(int(s) for s in self.img_size)  # JSON gives a list
        if len(self.img_size) != 2:
            raise ConfigError(f"img_size must be (F, T), got {self.img_size}")
        check_grid(self.img_size, self.patch_size)
        for dim, heads, what in (
            (self.embed_dim, self.num_heads, "embed_dim"),
            (self.decoder_embed_dim, self.decoder_num_heads, "decoder_embed_dim"),
        ):
            if dim <= 0 or heads <= 0 or dim % heads or dim % 4:
                raise ConfigError(f"{what}={dim} must be a positive multiple of 4 and of its {heads} heads")
        if self.in_chans <= 0 or self.depth < 0 or self.decoder_depth < 0 or self.mlp_ratio <= 0:
            raise ConfigError(f"invalid MAEConfig: {self}")


class MaskedAutoencoderViT(nn.Module):
    """Asymmetric ViT encoder/decoder: the encoder sees visible patches only, the decoder all of them."""

    def __init__(self, config: MAEConfig):
        super().__init__()
        self.config = config
        c = config
        self.patch_size = c.patch_size
        self.grid_size = check_grid(c.img_size, c.patch_size)  # (gf, gt)
        self.num_patches = self.grid_size[0] * self.grid_size[1]  # L
        patch_dim = c.patch_size * c.patch_size * c.in_chans  # P

        # encoder
        self.patch_embed = nn.Linear(patch_dim, c.embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c.embed_dim))
        # fixed sin-cos embeddings, recomputed from the config: not learned, not stored in checkpoints
        self.register_buffer("pos_embed", sincos_pos_embed_2d(c.embed_dim, self.grid_size, cls_token=True)[None], False)
        block = dict(mlp_ratio=c.mlp_ratio, qkv_bias=c.qkv_bias)
        self.encoder_blocks = nn.ModuleList([Block(c.embed_dim, c.num_heads, **block) for _ in range(c.depth)])
        self.encoder_norm = nn.LayerNorm(c.embed_dim, eps=1e-6)

        # decoder
        self.decoder_embed = nn.Linear(c.embed_dim, c.decoder_embed_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, c.decoder_embed_dim))
        dec_pos = sincos_pos_embed_2d(c.decoder_embed_dim, self.grid_size, cls_token=True)[None]
        self.register_buffer("decoder_pos_embed", dec_pos, False)
        self.decoder_blocks = nn.ModuleList(
            [Block(c.decoder_embed_dim, c.decoder_num_heads, **block) for _ in range(c.decoder_depth)]
        )
        self.decoder_norm = nn.LayerNorm(c.decoder_embed_dim, eps=1e-6)
        self.decoder_pred = nn.Linear(c.decoder_embed_dim, patch_dim)

        self.apply(init_vit_weights)
        nn.init.normal_(self.cls_token, std=0.02)
        nn.init.normal_(self.mask_token, std=0.02)

    # ------------------------------------------------------------------ patches
    def _check_input(self, x: torch.Tensor) -> None:
        c = self.config
        if x.ndim != 4:
            raise ConfigError(f"MAE input must be (B, C, F, T), got shape {tuple(x.shape)}")
        _, ch, h, w = x.shape
        if h % self.patch_size or w % self.patch_size:
            raise ConfigError(f"input size {h}x{w} is not a multiple of patch size {self.patch_size}")
        if (ch, h, w) != (c.in_chans, *c.img_size):
            raise ConfigError(
                f"input {ch}x{h}x{w} does not match the model's {c.in_chans}x{c.img_size[0]}x{c.img_size[1]}"
            )

    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, C, F, T) -> (B, L, p*p*C), patches row-major over the (F/p, T/p) grid."""
        self._check_input(x)
        B, C, H, W = x.shape
        p = self.patch_size
        gf, gt = H // p, W // p
        x = x.reshape(B, C, gf, p, gt, p).permute(0, 2, 4, 3, 5, 1)  # (B, gf, gt, p, p, C)
        return x.reshape(B, gf * gt, p * p * C)

    def unpatchify(self, patches: torch.Tensor) -> torch.Tensor:
        """patches: (B, L, p*p*C) -> (B, C, F, T); the inverse of :meth:`patchify`."""
        B, L, _ = patches.shape
        p, C = self.patch_size, self.config.in_chans
        gf, gt = self.grid_size
        if L != gf * gt or patches.shape[2] != p * p * C:
            raise ConfigError(f"cannot unpatchify {tuple(patches.shape)} onto grid {gf}x{gt} of {p}x{p}x{C} patches")
        x = patches.reshape(B, gf, gt, p, p, C).permute(0, 5, 1, 3, 2, 4)  # (B, C, gf, p, gt, p)
        return x.reshape(B, C, gf * p, gt * p)

    # ------------------------------------------------------------------ masking
    def random_masking(
        self, batch_size: int, mask_ratio: float, *, device: torch.device, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Uniform random masking by sorting noise.

        Returns ids_keep (B, K) (visible patch indices, in shuffled order), mask (B, L) float (1 = masked),
        ids_restore (B, L) (position of each patch in the shuffled order; undoes the shuffle).
        """
        ids_shuffle, ids_restore, len_keep = self._shuffle(batch_size, mask_ratio, device, generator)
        return ids_shuffle[:, :len_keep], (ids_restore >= len_keep).float(), ids_restore

    def mask_noise(
        self, batch_size: int, *, device: torch.device, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """The (B, L) uniform noise whose order picks the masked patches: what :meth:`forward` draws from
        ``generator``, drawn ahead (a batch split across threads passes each part its rows as ``noise``)."""
        gen_device = generator.device if generator is not None else device
        return torch.rand(batch_size, self.num_patches, generator=generator, device=gen_device).to(device)

    def _shuffle(
        self,
        batch_size: int,
        mask_ratio: float,
        device: torch.device,
        generator: torch.Generator | None,
        noise: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, int]:
        """ids_shuffle (B, L) (patch indices by ascending noise; the first K are kept), ids_restore (B, L) (its
        inverse), K. ``noise``: (B, L) drawn ahead (:meth:`mask_noise`), else drawn here from ``generator``."""
        L = self.num_patches
        len_keep = visible_patches(L, mask_ratio)
        if noise is None:
            noise = self.mask_noise(batch_size, device=device, generator=generator)
        elif tuple(noise.shape) != (batch_size, L):
            raise ConfigError(f"mask noise must be ({batch_size}, {L}), got {tuple(noise.shape)}")
        ids_shuffle = torch.argsort(noise, dim=1)  # ascending: the first len_keep are kept
        return ids_shuffle, torch.argsort(ids_shuffle, dim=1), len_keep

    # ------------------------------------------------------------------ encoder / decoder
    def _encode(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens: (B, N, D) patch tokens with positions added -> (B, 1 + N, D) after cls, blocks and norm."""
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(tokens.shape[0], -1, -1)  # (B, 1, D)
        x = torch.cat([cls, tokens], dim=1)
        for blk in self.encoder_blocks:
            x = blk(x)
        return self.encoder_norm(x)

    def forward_encoder(
        self, x: torch.Tensor, mask_ratio: float, *, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x: (B, C, F, T) -> latent (B, 1 + K, D) (cls first), mask (B, L) (1 = masked), ids_restore (B, L)."""
        return self._encode_masked(self.patchify(x), mask_ratio, generator)

    def _encode_masked(
        self, patches: torch.Tensor, mask_ratio: float, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """patches: (B, L, P) -> as :meth:`forward_encoder`; only the K visible patches are embedded."""
        ids_keep, mask, ids_restore = self.random_masking(
            patches.shape[0], mask_ratio, device=patches.device, generator=generator
        )
        return self._encode_visible(patches, ids_keep), mask, ids_restore

    def _encode_visible(self, patches: torch.Tensor, ids_keep: torch.Tensor) -> torch.Tensor:
        """patches: (B, L, P), ids_keep: (B, K) -> latent (B, 1 + K, D)."""
        tokens = self.patch_embed(gather_rows(patches, ids_keep)) + self.pos_embed[0, 1:][ids_keep]  # (B, K, D)
        return self._encode(tokens)

    def forward_decoder(self, latent: torch.Tensor, ids_restore: torch.Tensor) -> torch.Tensor:
        """latent: (B, 1 + K, D), ids_restore: (B, L) -> pred (B, L, p*p*C) for every patch, in grid order."""
        x = self._decoder_tokens(latent, ids_restore)
        for blk in self.decoder_blocks:
            x = blk(x)
        return self.decoder_pred(self.decoder_norm(x[:, 1:]))  # (B, L, P), cls dropped

    def _decoder_tokens(self, latent: torch.Tensor, ids_restore: torch.Tensor) -> torch.Tensor:
        """latent: (B, 1 + K, D) -> decoder input (B, 1 + L, Dd): cls, then every patch in grid order."""
        x = self.decoder_embed(latent)  # (B, 1 + K, Dd)
        B, n, Dd = x.shape
        L = ids_restore.shape[1]
        mask_tokens = self.mask_token.to(x.dtype).expand(B, L + 1 - n, Dd)  # (B, L - K, Dd)
        shuffled = torch.cat([x[:, 1:], mask_tokens], dim=1)  # (B, L, Dd) in shuffled order
        restored = gather_rows(shuffled, ids_restore)  # (B, L, Dd) grid order
        return torch.cat([x[:, :1], restored], dim=1) + self.decoder_pos_embed  # (B, 1 + L, Dd)

    def _masked_only_loss(
        self, patches: torch.Tensor, ids_shuffle: torch.Tensor, ids_restore: torch.Tensor, len_keep: int
    ) -> torch.Tensor:
        """The training loss with the decoder's last block, norm and prediction head run on masked patches only.

        patches: (B, L, P); ids_shuffle, ids_restore: (B, L) as :meth:`_shuffle`. Equal to :meth:`forward`'s loss up
        to float rounding: the loss ignores the visible patches' predictions, so they are never computed.
        """
        ids_masked = ids_shuffle[:, len_keep:]  # (B, M), M = L - K
        x = self._decoder_tokens(self._encode_visible(patches, ids_shuffle[:, :len_keep]), ids_restore)
        rows = ids_masked + 1  # token index: cls first
        blocks = list(self.decoder_blocks)
        for blk in blocks[:-1]:
            x = blk(x)
        x = blocks[-1](x, rows) if blocks else gather_rows(x, rows)  # (B, M, Dd)
        pred = self.decoder_pred(self.decoder_norm(x))  # (B, M, P)
        target = gather_rows(patches, ids_masked)  # (B, M, P)
        if self.config.norm_pix_loss:
            target = self._norm_pix(target)
        return (pred.float() - target.float()).pow(2).mean()

    @staticmethod
    def _norm_pix(target: torch.Tensor) -> torch.Tensor:
        mean = target.mean(dim=-1, keepdim=True)
        var = target.var(dim=-1, keepdim=True)
        return (target - mean) / (var + 1e-6) ** 0.5

    def forward_loss(self, x: torch.Tensor, pred: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean over masked patches of the per-patch mean squared error (paper B eq. 1).

        x: (B, C, F, T); pred: (B, L, P); mask: (B, L) with 1 = masked. Returns a scalar.
        """
        return self._patch_loss(self.patchify(x), pred, mask)

    def _patch_loss(self, target: torch.Tensor, pred: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """target, pred: (B, L, P); mask: (B, L) -> scalar, as :meth:`forward_loss`."""
        if self.config.norm_pix_loss:
            target = self._norm_pix(target)
        per_patch = (pred.float() - target.float()).pow(2).mean(dim=-1)  # (B, L)
        return (per_patch * mask).sum() / mask.sum()

    def forward(
        self,
        x: torch.Tensor,
        mask_ratio: float = 0.75,
        *,
        generator: torch.Generator | None = None,
        full_pred: bool = True,
        noise: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """x: (B, C, F, T) -> (loss scalar, pred (B, L, p*p*C), mask (B, L) with 1 = masked).

        ``full_pred=False`` (training): pred is None and the decoder's last block and head run on the masked
        patches only (:meth:`_masked_only_loss`); the loss and the mask are the same (to float rounding).
        ``noise``: the masking noise drawn ahead (:meth:`mask_noise`) instead of from ``generator``.
        """
        patches = self.patchify(x)  # (B, L, P), shared by the encoder and the loss
        B = patches.shape[0]
        ids_shuffle, ids_restore, len_keep = self._shuffle(B, mask_ratio, patches.device, generator, noise)
        if full_pred:
            latent = self._encode_visible(patches, ids_shuffle[:, :len_keep])
            mask = (ids_restore >= len_keep).float()
            pred = self.forward_decoder(latent, ids_restore)
            return self._patch_loss(patches, pred, mask), pred, mask
        loss = self._masked_only_loss(patches, ids_shuffle, ids_restore, len_keep)
        return loss, None, (ids_restore >= len_keep).float()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder on all patches, no masking (fine-tuning): x (B, C, F, T) -> (B, L, D), normed, no cls token."""
        tokens = self.patch_embed(self.patchify(x)) + self.pos_embed[:, 1:]  # (B, L, D)
        return self._encode(tokens)[:, 1:]

    def forward_levels(self, x: torch.Tensor) -> torch.Tensor:
        """Every level of the encoder on all patches: x (B, C, F, T) -> (B, depth + 1, L, D), no cls token.

        Level 0 is the patch embedding (with positions), level i the output of block i; the last level is
        normed, i.e. equal to :meth:`forward_features`. Frozen-feature readouts that mix levels use this.
        """
        h = self.patch_embed(self.patchify(x)) + self.pos_embed[:, 1:]
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(h.shape[0], -1, -1)
        levels = [h]
        h = torch.cat([cls, h], dim=1)
        for i, blk in enumerate(self.encoder_blocks):
            h = blk(h)
            levels.append(self.encoder_norm(h)[:, 1:] if i == len(self.encoder_blocks) - 1 else h[:, 1:])
        return torch.stack(levels, dim=1)

    def no_weight_decay(self) -> set[str]:
        """Parameter names exempt from weight decay (tokens; norms and biases are usually added by the caller)."""
        return {"cls_token", "mask_token"}


register_family("mae", MAEConfig, MaskedAutoencoderViT)

_PRESETS = {  # name: (embed_dim, depth, num_heads, decoder_embed_dim, decoder_depth, decoder_num_heads), SPEC §3
    "vit-tiny": (192, 12, 3, 128, 4, 4),
    "vit-s": (512, 12, 8, 256, 8, 16),
    "vit-m": (768, 12, 12, 512, 8, 16),
    "vit-l": (1024, 24, 16, 512, 8, 16),
}
for _name, _dims in _PRESETS.items():
    _fields = ("embed_dim", "depth", "num_heads", "decoder_embed_dim", "decoder_depth", "decoder_num_heads")
    register_model(_name, "mae", dataclasses.replace(MAEConfig(), **dict(zip(_fields, _dims))))


def _dense_head(backbone: dict, num_classes: int, opts: dict) -> dict:
    """Paper B's segmentation head on the encoder tokens: a transformer head predicting each patch's pixels."""
    p = int(backbone["patch_size"])
    grid = [int(backbone["img_size"][0]) // p, int(backbone["img_size"][1]) // p]
    return {
        "type": "transformer",
        "in_dim": int(backbone["embed_dim"]),
        "grid_size": grid,
        "patch_size": p,
        "num_classes": num_classes,
        "embed_dim": int(opts.get("embed_dim") or backbone["embed_dim"]),
        "depth": int(opts.get("depth", 2)),
        "num_heads": int(opts.get("num_heads") or backbone.get("num_heads", 4)),
    }


register_backbone(
    BackboneSpec(
        family="mae",
        kinds=("mae",),
        dropped=("decoder_embed", "mask_token", "decoder_pos_embed", "decoder_blocks", "decoder_norm", "decoder_pred"),
        blocks="encoder_blocks",
        final=("encoder_norm",),
        embed=("patch_embed", "cls_token", "pos_embed"),
        lora_targets=("attn.qkv", "attn.proj"),
        features=lambda m, x: m.forward_features(x),  # (B, C, F, T) -> (B, L, D)
        levels=lambda m, x: m.forward_levels(x),  # (B, C, F, T) -> (B, depth + 1, L, D)
        n_levels=lambda c: int(c["depth"]) + 1,
        dense_head=_dense_head,
    )
)
