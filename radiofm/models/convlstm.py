"""ConvLSTM backbone and masked spectrogram modelling (MSM), paper A §III (SPEC §3).

A *radio sentence* is a sequence of spectrogram tokens x: (B, T, C, H, W) (H = frequency, W = time inside one
token). The model is a stack of ConvLSTM layers (Shi et al. 2015, in the Keras ``ConvLSTM2D`` form: no peephole
connections, sigmoid gates, ``activation`` in place of tanh for the candidate and the output) followed by one
Conv3D output layer: a sequence in, a sequence of equal length out.

Gates are ordered (i, f, o, g), the three sigmoid gates first so that one sigmoid call covers them, and are
computed with **one convolution per step**: a single
Conv2d(C_in + hidden -> 4·hidden) over concat(x_t, h_{t-1}), then split. :class:`ConvLSTMCellPerGate` is the
textbook reference (four convolutions per step) kept for the benchmark and the equivalence test. (Hoisting the
input half of the convolution out of the time loop, one batched call over all B·T tokens, was measured slower on
CPU: oneDNN is slow for a 1-channel input, and the FLOPs are the same.)

Variable-length batches pass ``lengths`` (B,): positions t >= lengths[b] are padding. The recurrence runs
forward in time, so padding never reaches a real step of the backbone; before the Conv3D head (whose temporal
kernel also looks one step ahead) the features at padding positions are zeroed, exactly the zero padding an
unpadded sequence of that length gets. Real-step outputs therefore do not depend on the padding.

MSM (paper A §III-B) lives in :mod:`radiofm.models.msm`: :func:`~radiofm.models.msm.mask_tokens` replaces ≈20 %
of each sentence's real tokens with white Gaussian noise of that sentence's mean and std, and
:func:`~radiofm.models.msm.msm_loss` is the MSE over masked tokens only. Mask convention, as for the MAE:
**1 = masked**.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from radiofm.errors import ConfigError
from radiofm.models.backbones import BackboneSpec, register_backbone
from radiofm.models.msm import mask_tokens, msm_loss, valid_mask
from radiofm.models.registry import register_family, register_model

ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh}


@dataclass
class ConvLSTMConfig:
    in_chans: int = 1  # channels C of one input token
    token_shape: tuple[int, int] = (256, 16)  # (H, W) of one token: H frequency bins, W time columns
    hidden_channels: int = 64  # kernels per ConvLSTM layer (paper A Table IV: 64)
    num_layers: int = 5  # stacked ConvLSTM layers, each returning the full sequence (Table IV: 5)
    kernel_size: int = 3  # square kernel of every ConvLSTM convolution, 'same' padding (Table IV: 3)
    activation: str = "relu"  # candidate/output activation where Keras ConvLSTM2D applies tanh: "relu" | "tanh"
    out_kernel: tuple[int, int, int] = (3, 3, 3)  # (T, H, W) kernel of the Conv3D output layer, 'same' padding
    out_chans: int = 1  # channels of each output token (1: reconstruct the input spectrogram)
    # (H, T·W) of a whole image cut along time into T tokens, e.g. a segmentation input (paper A §III-D: 256 × 256
    # → 16 tokens of 256 × 16); None -> (token H, 16 · token W). The fine-tuning framework resizes images to it.
    img_size: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        # config.json stores tuples as lists; turn them back so a loaded config equals the saved one
        self.token_shape = tuple(int(v) for v in self.token_shape)
        self.out_kernel = tuple(int(v) for v in self.out_kernel)
        if len(self.token_shape) != 2 or min(self.token_shape) < 1:
            raise ConfigError(f"convlstm: token_shape must be two positive ints, got {self.token_shape}")
        # img_size follows the tokens: None, or a height left over from another token shape (dataclasses.replace
        # after a token_shape override), becomes (token H, 16 · token W)
        if self.img_size is None or int(self.img_size[0]) != self.token_shape[0]:
            self.img_size = (self.token_shape[0], 16 * self.token_shape[1])
        self.img_size = tuple(int(v) for v in self.img_size)
        if len(self.img_size) != 2 or self.img_size[1] < 1 or self.img_size[1] % self.token_shape[1]:
            raise ConfigError(
                f"convlstm: img_size {self.img_size} must be (token height {self.token_shape[0]}, a multiple of the "
                f"token width {self.token_shape[1]})"
            )
        if len(self.out_kernel) != 3 or any(k < 1 or k % 2 == 0 for k in self.out_kernel):
            raise ConfigError(f"convlstm: out_kernel must be three odd positive ints, got {self.out_kernel}")
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ConfigError(f"convlstm: kernel_size must be odd and positive, got {self.kernel_size}")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"convlstm: activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")
        if min(self.in_chans, self.hidden_channels, self.num_layers, self.out_chans) < 1:
            raise ConfigError("convlstm: in_chans, hidden_channels, num_layers and out_chans must be >= 1")


def _lstm_update(gates: torch.Tensor, c: torch.Tensor, act, hidden: int) -> tuple[torch.Tensor, torch.Tensor]:
    """gates: (B, 4·hidden, H, W) pre-activations ordered (i, f, o, g); c: (B, hidden, H, W) -> (h, c)."""
    sig, g = gates.split([3 * hidden, hidden], dim=1)  # split, not slicing: its backward is one cat, no fill
    i, f, o = torch.sigmoid(sig).split(hidden, dim=1)
    c = f * c + i * act(g)
    h = o * act(c)
    return h, c


class ConvLSTMCell(nn.Module):
    """One ConvLSTM layer with fused gates: a single Conv2d(C_in + hidden -> 4·hidden) over concat(x_t, h_{t-1})."""

    def __init__(self, in_channels: int, hidden_channels: int, *, kernel_size: int = 3, activation: str = "relu"):
        super().__init__()
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.act = ACTIVATIONS[activation]
        self.conv = nn.Conv2d(in_channels + hidden_channels, 4 * hidden_channels, kernel_size, padding=kernel_size // 2)
        with torch.no_grad():  # Keras unit_forget_bias: start with the forget gate open
            self.conv.bias.zero_()
            self.conv.bias[hidden_channels : 2 * hidden_channels] = 1.0

    def init_state(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, C_in, H, W) -> zero (h, c), each (B, hidden, H, W)."""
        z = x.new_zeros(x.shape[0], self.hidden_channels, *x.shape[-2:])
        return z, z

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One step, literally conv(concat(x_t, h_{t-1})). x: (B, C_in, H, W) -> (h, c), each (B, hidden, H, W)."""
        h, c = self.init_state(x) if state is None else state
        gates = self.conv(torch.cat([x, h], dim=1))
        return _lstm_update(gates, c, self.act, self.hidden_channels)

    def forward_sequence(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, C_in, H, W) -> h for every step (B, T, hidden, H, W)."""
        state, outs = None, []
        for t in range(x.shape[1]):
            state = self(x[:, t], state)
            outs.append(state[0])
        return torch.stack(outs, dim=1)


class ConvLSTMCellPerGate(nn.Module):
    """Reference ConvLSTM layer: four separate convolutions over concat(x_t, h_{t-1}) per step (i, f, o, g)."""

    def __init__(self, in_channels: int, hidden_channels: int, *, kernel_size: int = 3, activation: str = "relu"):
        super().__init__()
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.act = ACTIVATIONS[activation]
        cin = in_channels + hidden_channels
        self.convs = nn.ModuleList(
            nn.Conv2d(cin, hidden_channels, kernel_size, padding=kernel_size // 2) for _ in range(4)
        )
        with torch.no_grad():  # same bias start as the fused cell: forget gate 1, others 0
            for k, conv in enumerate(self.convs):
                conv.bias.fill_(1.0 if k == 1 else 0.0)

    @torch.no_grad()
    def copy_from(self, fused: ConvLSTMCell) -> ConvLSTMCellPerGate:
        """Take the weights of a fused cell (its output channels split into the four gates)."""
        for conv, w, b in zip(self.convs, fused.conv.weight.chunk(4, 0), fused.conv.bias.chunk(4, 0)):
            conv.weight.copy_(w)
            conv.bias.copy_(b)
        return self

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, C_in, H, W) -> (h, c), each (B, hidden, H, W)."""
        if state is None:
            z = x.new_zeros(x.shape[0], self.hidden_channels, *x.shape[-2:])
            state = (z, z)
        h, c = state
        xh = torch.cat([x, h], dim=1)
        i, f, o, g = (conv(xh) for conv in self.convs)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * self.act(g)
        h = torch.sigmoid(o) * self.act(c)
        return h, c

    def forward_sequence(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, C_in, H, W) -> (B, T, hidden, H, W), stepping the cell T times."""
        state, outs = None, []
        for t in range(x.shape[1]):
            state = self(x[:, t], state)
            outs.append(state[0])
        return torch.stack(outs, dim=1)


CELLS = {"fused": ConvLSTMCell, "per_gate": ConvLSTMCellPerGate}


class ConvLSTM(nn.Module):
    """Stacked ConvLSTM layers: (B, T, C, H, W) -> last layer's hidden states (B, T, hidden, H, W)."""

    def __init__(self, config: ConvLSTMConfig, *, cell: str = "fused"):
        super().__init__()
        cls = CELLS[cell]
        chans = [config.in_chans] + [config.hidden_channels] * config.num_layers
        self.layers = nn.ModuleList(
            cls(cin, cout, kernel_size=config.kernel_size, activation=config.activation)
            for cin, cout in zip(chans[:-1], chans[1:])
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer.forward_sequence(x)
        return x


class ConvLSTMModel(nn.Module):
    """Paper A model: ConvLSTM backbone + Conv3D output layer, (B, T, C, H, W) -> (B, T, out_chans, H, W).

    ``cell="per_gate"`` builds the reference implementation (same maths, slower; not for checkpoints).
    """

    def __init__(self, config: ConvLSTMConfig | None = None, *, cell: str = "fused"):
        super().__init__()
        self.config = config = config or ConvLSTMConfig()
        if cell not in CELLS:
            raise ConfigError(f"convlstm: cell must be one of {sorted(CELLS)}, got {cell!r}")
        self.cell = cell
        self.backbone = ConvLSTM(config, cell=cell)
        k = config.out_kernel
        self.head = nn.Conv3d(config.hidden_channels, config.out_chans, k, padding=tuple(v // 2 for v in k))

    @property
    def token_shape(self) -> tuple[int, int]:
        return self.config.token_shape

    @property
    def layers(self) -> nn.ModuleList:
        """The ConvLSTM layers in depth order (the fine-tuning framework's blocks)."""
        return self.backbone.layers

    def _check_input(self, x: torch.Tensor) -> None:
        c = self.config
        if x.ndim != 5 or x.shape[2] != c.in_chans or tuple(x.shape[-2:]) != c.token_shape:
            raise ValueError(
                f"expected x (B, T, {c.in_chans}, {c.token_shape[0]}, {c.token_shape[1]}), got {tuple(x.shape)}"
            )

    def forward_features(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, T, C, H, W), lengths: (B,) or None -> last layer's outputs (B, T, hidden, H, W), 0 at padding."""
        self._check_input(x)
        feats = self.backbone(x)
        valid = valid_mask(lengths, x.shape[0], x.shape[1], x.device)
        if valid is not None:
            feats = feats * valid[:, :, None, None, None].to(feats.dtype)
        return feats

    def forward_head(self, feats: torch.Tensor) -> torch.Tensor:
        """feats: (B, T, hidden, H, W) -> (B, T, out_chans, H, W) through the Conv3D output layer (linear)."""
        y = self.head(feats.transpose(1, 2))  # Conv3d wants (B, hidden, T, H, W)
        return y.transpose(1, 2)

    def reset_head(self, out_chans: int | None = None) -> None:
        """A freshly initialised Conv3D output layer (``out_chans`` replaces the config's when given)."""
        if out_chans is not None:  # a new config object: never mutate one shared with a preset
            self.config = dataclasses.replace(self.config, out_chans=out_chans)
        k = self.config.out_kernel
        device = self.head.weight.device
        self.head = nn.Conv3d(self.config.hidden_channels, self.config.out_chans, k, padding=tuple(v // 2 for v in k))
        self.head.to(device)

    def forward(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor | None = None,
        *,
        mask_ratio: float | None = None,
        generator: torch.Generator | None = None,
    ):
        """x: (B, T, C, H, W) -> (B, T, out_chans, H, W); outputs at padding positions are meaningless.

        With ``mask_ratio`` this is the MSM step instead, returning :meth:`forward_msm`'s (loss, pred, mask): the
        training loop must go through ``forward`` (a DistributedDataParallel wrapper only syncs gradients there).
        """
        if mask_ratio is not None:
            return self.forward_msm(x, lengths, mask_ratio, generator)
        return self.forward_head(self.forward_features(x, lengths))

    def forward_msm(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor | None = None,
        mask_ratio: float = 0.2,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Masked spectrogram modelling step. x: (B, T, C, H, W) -> (loss, pred (B, T, C, H, W), mask (B, T)).

        The MAE face ``(loss, pred, mask)``; mask 1 = masked. ``generator`` drives the masking only.
        """
        x_masked, mask = mask_tokens(x, lengths, mask_ratio=mask_ratio, generator=generator)
        pred = self.forward_head(self.forward_features(x_masked, lengths))
        return msm_loss(pred, x, mask), pred, mask

    def no_weight_decay(self) -> set[str]:
        return set()


def to_per_gate(model: ConvLSTMModel) -> ConvLSTMModel:
    """A per-gate reference copy of a fused ``model`` with identical weights (for checks and benchmarks)."""
    ref = ConvLSTMModel(model.config, cell="per_gate").to(next(model.parameters()).device)
    for dst, src in zip(ref.backbone.layers, model.backbone.layers):
        dst.copy_from(src)
    ref.head.load_state_dict(model.head.state_dict())
    return ref


PRESETS = {
    "convlstm": ConvLSTMConfig(),  # paper A Table IV: 5 × 64, kernel 3, ReLU, + Conv3D; tokens 256 × 16
    "convlstm-tiny": ConvLSTMConfig(token_shape=(64, 8), hidden_channels=16, num_layers=2),  # CPU / tests
}

register_family("convlstm", ConvLSTMConfig, ConvLSTMModel)
for _name, _config in PRESETS.items():
    register_model(_name, "convlstm", _config)


# ------------------------------------------------------------------------------------ as a fine-tuning backbone


def image_to_tokens(image: torch.Tensor, token_shape: tuple[int, int]) -> torch.Tensor:
    """image (B, C, H, T·W) -> tokens (B, T, C, H, W): token t holds columns [t·W, (t+1)·W)."""
    B, C, H, TW = image.shape
    h, w = token_shape
    if H != h or TW % w:
        raise ValueError(f"expected images (B, C, {h}, T·{w}), got {tuple(image.shape)}")
    return image.reshape(B, C, H, TW // w, w).permute(0, 3, 1, 2, 4)


def feature_map(model: ConvLSTMModel, image: torch.Tensor) -> torch.Tensor:
    """Backbone outputs laid side by side along time (paper A §III-D).

    image (B, C, H, T·W) -> tokens (B, T, C, H, W) -> last ConvLSTM layer (B, T, D, H, W) -> map (B, D, H, T·W).
    """
    feats = model.forward_features(image_to_tokens(image, model.config.token_shape))
    B, T, D, H, W = feats.shape
    return feats.permute(0, 2, 3, 1, 4).reshape(B, D, H, T * W)


def _dense_head(backbone: dict, num_classes: int, opts: dict) -> dict:
    """Paper A §III-D: a two-layer Conv2D classifier on :func:`feature_map`; ``opts["embed_dim"]`` sets its width."""
    return {
        "type": "conv2d",
        "in_dim": int(backbone["hidden_channels"]),
        "num_classes": num_classes,
        "hidden": int(opts.get("embed_dim") or backbone["hidden_channels"]),
        "kernel": 3,
    }


# Checkpoints of kind "convlstm-msm" (radiofm pretrain --model convlstm…) or "convlstm" are backbones; the MSM
# Conv3D output layer (``head``) is dropped; the blocks are the ConvLSTM layers (last-k); the features are the
# per-token outputs side by side, (B, D, H, T·W) for an image (B, 1, H, T·W) of the config's ``img_size``.
register_backbone(
    BackboneSpec(
        family="convlstm",
        kinds=("convlstm-msm", "convlstm"),
        dropped=("head",),
        blocks="layers",
        final=(),
        embed=(),
        lora_targets=(),  # no attention, no linear layer: no LoRA
        features=feature_map,
        dense_head=_dense_head,
    )
)
