"""Downstream models on the ConvLSTM backbone (paper A §III-C, §III-D): forecasting and segmentation.

Both keep the pretrained model's parameter names (``backbone.*``), so MSM weights load with a plain
``load_state_dict`` and a checkpoint of either rebuilds from its own ``config.json`` (builders registered
here with :func:`radiofm.models.checkpoint.register_kind`).

- :class:`ConvLSTMForecaster` — the pretrained model unchanged (5 ConvLSTM + Conv3D); the prediction of the
  next token is **one output token** of the Conv3D layer: the first (``readout="first"``, paper A §III-C) or the
  last (``"last"``). With the forward-in-time recurrence and a Conv3D temporal kernel of kT, output token 0 sees
  input tokens 0 .. kT//2 only, so with ``readout="first"`` the useful context is 1 + kT//2 tokens (2 for the
  paper's 3×3×3 kernel) — the default context. ``"last"`` sees the whole window.
- :class:`ConvLSTMSegmenter` — frozen backbone; per-token features (B, T, D, H, W) laid side by side along
  time into one map (B, D, H, T·W), then a two-layer Conv2D classifier → per-pixel logits (B, K, H, T·W).
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from radiofm.errors import ConfigError
from radiofm.models.checkpoint import register_kind
from radiofm.models.convlstm import ConvLSTMConfig, ConvLSTMModel
from radiofm.models.registry import config_from_dict

READOUTS = ("first", "last")
MODES = ("frozen", "last-k", "full", "scratch")  # what a fine-tune may train (ConvLSTM has no attention: no LoRA)


class ConvLSTMForecaster(ConvLSTMModel):
    """Next-token forecaster: context window x (B, n, C, H, W) -> predicted next token (B, out_chans, H, W)."""

    def __init__(self, config: ConvLSTMConfig | None = None, *, readout: str = "first", context: int = 2):
        super().__init__(config)
        if readout not in READOUTS:
            raise ConfigError(f"forecasting readout must be one of {', '.join(READOUTS)}, got {readout!r}")
        if context < 1:
            raise ConfigError(f"forecasting context must be at least 1 token, got {context}")
        self.readout = readout
        self.context = int(context)

    def forecast_settings(self) -> dict:
        return {"readout": self.readout, "context": self.context}

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        """x: (B, n, C, H, W) context tokens -> (B, out_chans, H, W) prediction of token n."""
        if self.readout == "first":
            # output 0 of the 'same'-padded Conv3D depends on features 0..kT//2 only: skip the rest of the window
            reach = self.config.out_kernel[0] // 2 + 1
            x = x[:, :reach]
        feats = self.forward_features(x)
        y = self.forward_head(feats)  # (B, n, out_chans, H, W)
        return y[:, 0] if self.readout == "first" else y[:, -1]

    @torch.no_grad()
    def rollout(self, x: torch.Tensor, steps: int = 4) -> torch.Tensor:
        """Autoregressive forecast: x (B, n, C, H, W) -> (B, steps, C, H, W), each prediction fed back as input.

        The window keeps its length: after each step the oldest token drops out and the prediction joins.
        """
        window = x[:, -self.context :]
        preds = []
        for _ in range(steps):
            p = self(window)
            preds.append(p)
            window = torch.cat([window[:, 1:], p[:, None].to(window.dtype)], dim=1)
        return torch.stack(preds, dim=1)

    def set_trainable(self, mode: str, *, k: int = 1) -> list[str]:
        """Choose what trains: "frozen" (Conv3D only), "last-k" (+ the last k ConvLSTM layers), "full"/"scratch".

        Returns the names of the trainable parameters.
        """
        return _set_trainable(self, mode, k=k, head_prefixes=("head.",))


def persistence(x: torch.Tensor, steps: int = 4) -> torch.Tensor:
    """Persistence baseline: the last context token repeated. x (B, n, C, H, W) -> (B, steps, C, H, W)."""
    return x[:, -1:].expand(-1, steps, *x.shape[2:]).clone()


# --------------------------------------------------------------------------------------------- segmentation


@dataclasses.dataclass
class SegHeadConfig:
    num_classes: int = 3  # 0 noise, 1 NR, 2 LTE
    head_channels: int = 64  # width of the first Conv2D
    head_kernel: int = 3  # kernel of the first Conv2D ('same' padding); the second is 1×1


class ConvLSTMSegmenter(nn.Module):
    """Frozen ConvLSTM backbone + two-layer Conv2D classifier (paper A §III-D).

    Input: an image (B, 1, H, T·W) cut along time into T tokens (B, T, 1, H, W), or the tokens directly.
    Output: logits (B, num_classes, H, T·W) — the face of the ViT segmenter, so ``evaluate segmentation`` can
    use either. ``config`` is the backbone's ConvLSTMConfig (the checkpoint stores it); ``head`` the SegHeadConfig.
    """

    def __init__(self, config: ConvLSTMConfig | None = None, head: SegHeadConfig | None = None):
        super().__init__()
        self.config = config = config or ConvLSTMConfig()
        self.head_config = head = head or SegHeadConfig()
        # the pretrained model's own parts under their own names (backbone.*), its Conv3D dropped
        self.backbone = ConvLSTMModel(config).backbone
        d = config.hidden_channels
        self.classifier = nn.Sequential(
            nn.Conv2d(d, head.head_channels, head.head_kernel, padding=head.head_kernel // 2),
            nn.ReLU(inplace=True),
            nn.Conv2d(head.head_channels, head.num_classes, 1),
        )

    @property
    def num_classes(self) -> int:
        return self.head_config.num_classes

    @property
    def token_shape(self) -> tuple[int, int]:
        return self.config.token_shape

    def image_size(self, n_tokens: int) -> tuple[int, int]:
        h, w = self.config.token_shape
        return h, n_tokens * w

    def tokens(self, image: torch.Tensor) -> torch.Tensor:
        """image (B, C, H, T·W) -> tokens (B, T, C, H, W): token t holds columns [t·W, (t+1)·W)."""
        B, C, H, TW = image.shape
        h, w = self.config.token_shape
        if (C, H) != (self.config.in_chans, h) or TW % w:
            raise ValueError(f"expected images (B, {self.config.in_chans}, {h}, T·{w}), got {tuple(image.shape)}")
        return image.reshape(B, C, H, TW // w, w).permute(0, 3, 1, 2, 4)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """x: image (B, C, H, T·W) or tokens (B, T, C, H, W) -> feature map (B, D, H, T·W)."""
        tokens = self.tokens(x) if x.ndim == 4 else x
        feats = self.backbone(tokens)  # (B, T, D, H, W)
        B, T, D, H, W = feats.shape
        return feats.permute(0, 2, 3, 1, 4).reshape(B, D, H, T * W)  # tokens side by side along time

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, C, H, T·W) -> logits (B, num_classes, H, T·W)."""
        return self.classifier(self.forward_features(x))

    def set_trainable(self, mode: str, *, k: int = 1) -> list[str]:
        """"frozen": classifier only (paper A); "last-k": + last k ConvLSTM layers; "full"/"scratch": all."""
        return _set_trainable(self, mode, k=k, head_prefixes=("classifier.",))

    def no_weight_decay(self) -> set[str]:
        return set()


def segmentation_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-pixel cross entropy (paper A eq. 3): logits (B, K, H, W), labels (B, H, W) int64."""
    return F.cross_entropy(logits, labels)


def _set_trainable(model: nn.Module, mode: str, *, k: int, head_prefixes: tuple[str, ...]) -> list[str]:
    if mode not in MODES:
        raise ConfigError(
            f"ConvLSTM fine-tuning mode must be one of {', '.join(MODES)}, got {mode!r}"
            + (" (LoRA needs attention layers; the ConvLSTM has none)" if mode == "lora" else "")
        )
    layers = model.backbone.layers
    if mode == "last-k" and not 1 <= k <= len(layers):
        raise ConfigError(f"--last-k must be in 1..{len(layers)} for this backbone, got {k}")
    open_layers = {f"backbone.layers.{i}." for i in range(len(layers) - k, len(layers))} if mode == "last-k" else set()
    names = []
    for name, p in model.named_parameters():
        train = mode in ("full", "scratch") or name.startswith(head_prefixes) or name.startswith(tuple(open_layers))
        p.requires_grad_(train)
        if train:
            names.append(name)
    return names


# --------------------------------------------------------------------------------------------- checkpoints


def _build_forecaster(config: dict, extra: dict) -> ConvLSTMForecaster:
    settings = (extra.get("forecast") or {}).get("model") or {}
    return ConvLSTMForecaster(config_from_dict("convlstm", config), **settings)


def _build_segmenter(config: dict, extra: dict) -> ConvLSTMSegmenter:
    try:
        head = SegHeadConfig(**(extra.get("seg_head") or {}))
    except TypeError as exc:
        raise ConfigError(f"invalid segmentation head settings: {exc}") from None
    return ConvLSTMSegmenter(config_from_dict("convlstm", config), head)


register_kind("forecasting", _build_forecaster)
register_kind("convlstm-segmentation", _build_segmenter)
