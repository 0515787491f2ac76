"""Adapt a pretrained single-channel MAE to C-channel input (CSI sensing: 3 receive antennas, paper B §III-C).

The MAE's patch embedding is a linear map on flattened patches in (row, column, channel) order, weight
(D, p·p·C). A spectrogram MAE has C = 1; NTU-Fi CSI has C = 3. Two ways to widen the kernel:

- ``"mean"`` (default): every channel gets the 1-channel kernel divided by C. An input whose C channels are
  identical embeds exactly as the 1-channel input did, and in general the embedding is that of the channel
  mean: the pretrained blocks see activations of the scale they were trained on. (The same rule as timm's
  ``adapt_input_conv`` when it repeats a kernel over more channels and rescales by the channel ratio.)
- ``"replicate"``: every channel gets the full 1-channel kernel, so the embedding is that of the channel sum;
  C identical channels give C times the 1-channel embedding. Useful only when the input is scaled by 1/C.

A source with C0 > 1 channels is first collapsed to one kernel (the sum over its channels: the kernel that
gives the same embedding on a grey input), then widened. The decoder's output layer (P = p·p·C values per
patch) is widened the matching way: its rows are replicated per channel (mean of the source rows when
C0 > 1), so a replicated input is reconstructed identically in every channel and pretraining can continue.

Positional embeddings need no resizing here: :class:`~radiofm.models.mae.MaskedAutoencoderViT` builds its
fixed 2-D sin-cos embeddings from the config (image size, patch size) as non-persistent buffers, so they are
not in checkpoints and a model built for another grid (``img_size=``) computes the right ones for it. That is
how we read paper B's "the positional embeddings are modified to align with the new input"; there is no
learned embedding to interpolate, hence no ``resize_pos_embed``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import torch
from torch import nn

from radiofm.errors import ConfigError

METHODS = ("mean", "replicate")


def _widen_embed(w: torch.Tensor, from_chans: int, in_chans: int, method: str, key: str) -> torch.Tensor:
    """(D, pp*C0) -> (D, pp*C): collapse C0 by summing, then spread over C channels (÷C for "mean")."""
    d, n = w.shape
    if n % from_chans:
        raise ConfigError(f"{key}: {n} inputs are not a whole number of patches of {from_chans} channel(s)")
    one = w.reshape(d, n // from_chans, from_chans).sum(-1)  # (D, pp)
    wide = one[:, :, None].expand(d, n // from_chans, in_chans)
    if method == "mean":
        wide = wide / in_chans
    return wide.reshape(d, -1).contiguous()


def _widen_pred(t: torch.Tensor, from_chans: int, in_chans: int, key: str) -> torch.Tensor:
    """decoder_pred weight (pp*C0, Dd) or bias (pp*C0,) -> (pp*C, ...): rows averaged over C0, replicated over C."""
    n = t.shape[0]
    if n % from_chans:
        raise ConfigError(f"{key}: {n} outputs are not a whole number of patches of {from_chans} channel(s)")
    one = t.reshape(n // from_chans, from_chans, *t.shape[1:]).mean(1)  # (pp, ...)
    return one.unsqueeze(1).expand(n // from_chans, in_chans, *t.shape[1:]).reshape(-1, *t.shape[1:]).contiguous()


def adapt_state_dict(
    state: Mapping[str, torch.Tensor], in_chans: int, *, method: str = "mean", from_chans: int = 1
) -> dict[str, torch.Tensor]:
    """A copy of an MAE state dict with ``*patch_embed.weight`` widened to ``in_chans`` (any key prefix, e.g.
    ``backbone.``) and ``*decoder_pred.weight/.bias`` widened to match; every other tensor is shared, unchanged."""
    if method not in METHODS:
        raise ConfigError(f"adapt method must be one of {', '.join(METHODS)}, got {method!r}")
    if int(in_chans) < 1 or int(from_chans) < 1:
        raise ConfigError(f"channel counts must be >= 1, got in_chans={in_chans}, from_chans={from_chans}")
    out = dict(state)
    found = False
    for key, t in state.items():
        if key.endswith("patch_embed.weight"):
            out[key] = _widen_embed(t, from_chans, int(in_chans), method, key)
            found = True
        elif key.endswith("decoder_pred.weight") or key.endswith("decoder_pred.bias"):
            out[key] = _widen_pred(t, from_chans, int(in_chans), key)
    if not found:
        raise ConfigError("no patch_embed.weight in the state dict: not a ViT MAE (or its backbone)")
    return out


def adapt_patch_embed(
    state_dict_or_model: Mapping[str, torch.Tensor] | nn.Module,
    in_chans: int,
    method: str = "mean",
    *,
    img_size: tuple[int, int] | None = None,
) -> dict[str, torch.Tensor] | nn.Module:
    """Turn a 1-channel MAE (or its state dict) into one taking ``in_chans`` channels.

    A state dict gives a new state dict (:func:`adapt_state_dict`, source channels = 1). A
    :class:`~radiofm.models.mae.MaskedAutoencoderViT` gives a new model with ``config.in_chans = in_chans``
    (and ``img_size`` when given: new sin-cos positions, same weights), the adapted weights loaded, the same
    train/eval mode, and the same pretraining-only parts removed when the source had them removed (a
    fine-tuning backbone stays a backbone).
    """
    if not isinstance(state_dict_or_model, nn.Module):
        return adapt_state_dict(state_dict_or_model, in_chans, method=method)
    from radiofm.models.mae import MaskedAutoencoderViT

    src = state_dict_or_model
    if not isinstance(src, MaskedAutoencoderViT):
        raise ConfigError(f"adapt_patch_embed needs a MaskedAutoencoderViT, got {type(src).__name__}")
    changes = {"in_chans": int(in_chans)}
    if img_size is not None:
        changes["img_size"] = tuple(int(v) for v in img_size)
    config = dataclasses.replace(src.config, **changes)
    model = MaskedAutoencoderViT(config)
    own = [*model.named_children(), *model.named_parameters(recurse=False), *model.named_buffers(recurse=False)]
    for name in [n for n, _ in own]:
        if not hasattr(src, name):
            delattr(model, name)
    state = adapt_state_dict(src.state_dict(), in_chans, method=method, from_chans=src.config.in_chans)
    model.load_state_dict(state, strict=True)
    model.to(next(src.parameters()).device)
    return model.train(src.training)


def load_adapted_backbone(model: nn.Module, init, *, method: str = "mean") -> dict[str, list[str]]:
    """Copy a pretrained MAE checkpoint ``init`` into ``model.backbone`` (a fine-tuned model, e.g.
    :class:`~radiofm.models.finetuned.FineTuneModel`) whose backbone takes ``in_chans`` channels.

    With the same channel count this is :func:`radiofm.models.finetuned.load_backbone_into`'s strict load; with
    another, every tensor but the patch embedding is loaded strictly and the embedding is widened by
    :func:`adapt_state_dict` (``method``). Returns {"loaded", "missing", "unexpected", "adapted"}.
    """
    from safetensors import safe_open

    from radiofm.errors import CheckpointError
    from radiofm.models.backbones import backbone_spec
    from radiofm.models.checkpoint import MODEL_FILE, load_backbone_weights, read_checkpoint_info

    spec = backbone_spec(model.config["backbone_family"])
    info = read_checkpoint_info(init)
    src = int(info["config"].get("in_chans", 1))
    dst = int(model.config["backbone"].get("in_chans", 1))
    if src == dst:
        result = load_backbone_weights(model, init, prefix="backbone.", expected_unexpected=spec.dropped)
        return {**result, "adapted": []}
    key = "patch_embed.weight"
    result = load_backbone_weights(
        model, init, prefix="backbone.", expected_missing=("head.", f"backbone.{key}"), expected_unexpected=spec.dropped
    )
    try:
        with safe_open(str(init) + "/" + MODEL_FILE, framework="pt") as fh:
            weight = fh.get_tensor(key)
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"{init}: cannot read {key} ({str(exc).splitlines()[0] if str(exc) else exc})") from None
    wide = adapt_state_dict({key: weight}, dst, method=method, from_chans=src)[key]
    target = model.backbone.patch_embed.weight
    if wide.shape != target.shape:
        raise CheckpointError(f"{init}: {key} {tuple(weight.shape)} cannot be adapted to {tuple(target.shape)}")
    with torch.no_grad():
        target.copy_(wide)
    missing = [k for k in result["missing"] if k != f"backbone.{key}"]
    return {"loaded": [*result["loaded"], f"backbone.{key}"], "missing": missing,
            "unexpected": result["unexpected"], "adapted": [f"backbone.{key}"]}  # fmt: skip


__all__ = ["METHODS", "adapt_patch_embed", "adapt_state_dict", "load_adapted_backbone"]
