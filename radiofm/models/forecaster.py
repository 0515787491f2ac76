"""The ConvLSTM forecaster (paper A §III-C) and the persistence baseline; checkpoint kind "forecasting".

:class:`ConvLSTMForecaster` is the pretrained model unchanged (ConvLSTM layers + Conv3D, same parameter names,
so MSM weights load with a plain ``load_state_dict``); the prediction of the next token is **one output token**
of the Conv3D layer: the first (``readout="first"``, paper A §III-C) or the last (``"last"``). With the
forward-in-time recurrence and a Conv3D temporal kernel kT, output token 0 sees input tokens 0 .. kT//2 only,
so with ``readout="first"`` the useful context is 1 + kT//2 tokens (2 for the paper's 3×3×3 kernel), the
default context; ``"last"`` sees the whole window. What trains is set by the one
:func:`radiofm.models.finetuned.configure_mode` (no LoRA: the ConvLSTM has no attention layer).
"""

from __future__ import annotations

import torch

from radiofm.errors import ConfigError
from radiofm.models.backbones import BackboneSpec, backbone_spec
from radiofm.models.checkpoint import register_kind
from radiofm.models.convlstm import ConvLSTMConfig, ConvLSTMModel
from radiofm.models.registry import config_from_dict

KIND = "forecasting"
TOKEN_READOUTS = ("first", "last")  # which Conv3D output token is the forecast


class ConvLSTMForecaster(ConvLSTMModel):
    """Next-token forecaster: context window x (B, n, C, H, W) -> predicted next token (B, out_chans, H, W)."""

    def __init__(self, config: ConvLSTMConfig | None = None, *, readout: str = "first", context: int = 2):
        super().__init__(config)
        if readout not in TOKEN_READOUTS:
            raise ConfigError(f"forecasting readout must be one of {', '.join(TOKEN_READOUTS)}, got {readout!r}")
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

    @property
    def spec(self) -> BackboneSpec:
        """The ConvLSTM backbone spec: :func:`radiofm.models.finetuned.configure_mode` sets what trains from it
        (``frozen``: the Conv3D only; ``last-k``: + the last k ConvLSTM layers; ``full``/``scratch``: all)."""
        return backbone_spec("convlstm")


def persistence(x: torch.Tensor, steps: int = 4) -> torch.Tensor:
    """Persistence baseline: the last context token repeated. x (B, n, C, H, W) -> (B, steps, C, H, W)."""
    return x[:, -1:].expand(-1, steps, *x.shape[2:]).clone()


def _build_forecaster(config: dict, extra: dict) -> ConvLSTMForecaster:
    settings = (extra.get("forecast") or {}).get("model") or {}
    return ConvLSTMForecaster(config_from_dict("convlstm", config), **settings)


register_kind(KIND, _build_forecaster)

__all__ = ["KIND", "TOKEN_READOUTS", "ConvLSTMForecaster", "persistence"]
