"""Downstream models on the ConvLSTM backbone (paper A §III-C, §III-D): forecasting and segmentation parts.

- :class:`ConvLSTMForecaster` — the pretrained model unchanged (ConvLSTM layers + Conv3D, same parameter names,
  so MSM weights load with a plain ``load_state_dict``); the prediction of the next token is **one output token**
  of the Conv3D layer: the first (``readout="first"``, paper A §III-C) or the last (``"last"``). With the
  forward-in-time recurrence and a Conv3D temporal kernel kT, output token 0 sees input tokens 0 .. kT//2 only,
  so with ``readout="first"`` the useful context is 1 + kT//2 tokens (2 for the paper's 3×3×3 kernel), the
  default context; ``"last"`` sees the whole window. Checkpoint kind "forecasting" (builder registered here).
- :func:`feature_map` + :class:`ConvSegHead` — segmentation (paper A §III-D): an image (B, 1, H, T·W) cut into T
  tokens, the backbone's per-token outputs (B, T, D, H, W) laid side by side along time into (B, D, H, T·W),
  then a two-layer Conv2D classifier → per-pixel logits. They plug into the shared fine-tuning framework
  (:mod:`radiofm.tasks.convlstm_segmentation`).
"""

from __future__ import annotations

import dataclasses

import torch
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


@dataclasses.dataclass
class ConvSegHeadConfig:
    in_dim: int = 64  # channels D of the backbone's feature map
    num_classes: int = 3  # 0 noise, 1 NR, 2 LTE
    hidden: int = 64  # channels of the first Conv2D
    kernel: int = 3  # kernel of the first Conv2D ('same' padding); the second is 1×1


class ConvSegHead(nn.Module):
    """Two-layer Conv2D classifier (paper A §III-D): feature map (B, D, H, W) -> logits (B, num_classes, H, W)."""

    def __init__(self, config: ConvSegHeadConfig):
        super().__init__()
        self.config = config
        self.conv1 = nn.Conv2d(config.in_dim, config.hidden, config.kernel, padding=config.kernel // 2)
        self.conv2 = nn.Conv2d(config.hidden, config.num_classes, 1)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.conv2(torch.relu(self.conv1(feats.to(self.conv1.weight.dtype))))


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


register_kind("forecasting", _build_forecaster)
