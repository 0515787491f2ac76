"""Reading a segmentation checkpoint for the numpy engine (:mod:`radiofm.annotate.engine`) without torch: its
architecture from config.json (:func:`architecture`), the tensor names and shapes that architecture has
(:func:`expected_shapes`), and the float32 weights with LoRA adapters folded in (:func:`read_segmenter_weights`),
distrusted as :func:`radiofm.models.load_checkpoint` distrusts a checkpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from radiofm.checkpoint_files import (
    CONFIG_FILE,
    MODEL_FILE,
    check_input_norm,
    read_checkpoint_info,
    read_safetensors_header,
)
from radiofm.errors import CheckpointError, ConfigError

_FLOATS = ("F32", "F16", "F64")
_MAX_SIDE = 8192
_MAX_TOKENS = 1 << 16


class EngineUnsupported(ConfigError):
    """The checkpoint is valid but not an architecture the numpy engine computes (use the torch engine)."""


def _int(section: dict, key: str, where: str, *, lo: int = 1, hi: int = _MAX_SIDE, default=None) -> int:
    v = section.get(key, default)
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise CheckpointError(f"{where}: {key} = {str(v)[:40]} is not an integer in {lo}..{hi}")
    return v


class Architecture(NamedTuple):
    """The sizes of a segmentation checkpoint's model, resolved once from its config (defaults as the torch
    model's: :class:`radiofm.models.mae.MAEConfig`, :class:`radiofm.models.heads.SegHeadConfig`)."""

    image_size: tuple[int, int]  # (F, T)
    patch: int  # p
    width: int  # D
    depth: int
    heads: int
    mlp_ratio: float
    head_width: int  # Dh
    head_depth: int
    head_heads: int
    head_mlp_ratio: float
    classes: int  # C
    readout: str  # "last" | "mix"
    norm: dict  # config["input"]: {"norm": "per-sample"} or {"norm": "dataset", "mean_db", "std_db"}

    @property
    def grid(self) -> tuple[int, int]:
        return self.image_size[0] // self.patch, self.image_size[1] // self.patch


def architecture(config: dict, where: str) -> Architecture:
    """The model ``config`` (config.json's "config") describes; EngineUnsupported for architectures the numpy
    engine does not compute, CheckpointError for a malformed config."""
    if (
        not isinstance(config, dict)
        or not isinstance(config.get("backbone"), dict)
        or not isinstance(config.get("head"), dict)
    ):
        raise CheckpointError(f"{where}: config lacks 'backbone' or 'head' (not a fine-tuned model's checkpoint)")
    bb, hd = config["backbone"], config["head"]
    readout, channels = config.get("readout") or "last", config.get("channels") or "joint"
    if config.get("backbone_family") != "mae" or hd.get("type", "transformer") != "transformer":
        raise EngineUnsupported(f"{where}: the numpy engine computes MAE backbones with the transformer head only")
    inp = check_input_norm(config, where)
    if readout not in ("last", "mix") or channels != "joint" or bb.get("in_chans", 1) != 1:
        raise EngineUnsupported(f"{where}: the numpy engine computes 1-channel inputs with readout last or mix")
    ratios = (bb.get("mlp_ratio", 4.0), hd.get("mlp_ratio", 4.0))
    if bb.get("qkv_bias", True) is not True or not all(isinstance(r, (int, float)) and 0 < r <= 64 for r in ratios):
        raise EngineUnsupported(f"{where}: the numpy engine needs qkv biases and MLP ratios in (0, 64]")
    img = bb.get("img_size")
    if not isinstance(img, list) or len(img) != 2:
        raise CheckpointError(f"{where}: backbone img_size must be [F, T]")
    F, T = (_int({"img_size": v}, "img_size", where) for v in img)
    p = _int(bb, "patch_size", where, default=16)
    D, depth = (
        _int(bb, "embed_dim", where, hi=1 << 16, default=192),
        _int(bb, "depth", where, lo=0, hi=1024, default=12),
    )
    heads = _int(bb, "num_heads", where, hi=1024, default=3)
    if F % p or T % p or (F // p) * (T // p) > _MAX_TOKENS or D % heads or D % 4:
        raise CheckpointError(f"{where}: backbone sizes do not fit (image {F}x{T}, patch {p}, width {D}/{heads})")
    grid = [F // p, T // p]
    if list(hd.get("grid_size", grid)) != grid or hd.get("patch_size", p) != p:
        raise CheckpointError(f"{where}: the head's grid or patch size is not the backbone's")
    Dh, C = _int(hd, "embed_dim", where, hi=1 << 16, default=192), _int(hd, "num_classes", where, lo=2, hi=4096)
    hdepth, hheads = _int(hd, "depth", where, lo=0, hi=1024, default=2), _int(hd, "num_heads", where, default=3)
    if Dh % hheads or Dh % 4 or _int(hd, "in_dim", where, hi=1 << 16, default=192) != D:
        raise CheckpointError(f"{where}: head width {Dh} does not fit {hheads} heads or the backbone's {D}")
    if readout == "mix" and hd.get("mix_levels") != depth + 1:
        raise CheckpointError(f"{where}: head mix_levels must be the backbone's depth + 1 = {depth + 1}")
    return Architecture((F, T), p, D, depth, heads, float(ratios[0]), Dh, hdepth, hheads, float(ratios[1]), C,
                        readout, inp)  # fmt: skip


def _block_shapes(prefix: str, d: int, ratio: float) -> dict[str, tuple[int, ...]]:
    """{name: shape} of one :class:`radiofm.models.vit.Block` of width ``d`` under ``prefix``."""
    m = int(round(d * ratio))
    out = {f"{prefix}{norm}.{s}": (d,) for norm in ("norm1", "norm2") for s in ("weight", "bias")}
    for name, (o, i) in {"attn.qkv": (3 * d, d), "attn.proj": (d, d), "mlp.fc1": (m, d), "mlp.fc2": (d, m)}.items():
        out[f"{prefix}{name}.weight"], out[f"{prefix}{name}.bias"] = (o, i), (o,)
    return out


def expected_shapes(arch: Architecture) -> dict[str, tuple[int, ...]]:
    """{tensor name: shape} of the segmentation model ``arch`` describes (LoRA adapters aside)."""
    D, Dh, p, C = arch.width, arch.head_width, arch.patch, arch.classes
    shapes: dict[str, tuple[int, ...]] = {
        "backbone.cls_token": (1, 1, D),
        "backbone.patch_embed.weight": (D, p * p),
        "backbone.patch_embed.bias": (D,),
        "backbone.encoder_norm.weight": (D,),
        "backbone.encoder_norm.bias": (D,),
    }
    for i in range(arch.depth):
        shapes.update(_block_shapes(f"backbone.encoder_blocks.{i}.", D, arch.mlp_ratio))
    pre = head_prefix(arch)
    if arch.readout == "mix":
        shapes["head.level_weights"] = (arch.depth + 1,)
    shapes.update({pre + "proj.weight": (Dh, D), pre + "proj.bias": (Dh,), pre + "norm.weight": (Dh,)})
    shapes.update({pre + "norm.bias": (Dh,), pre + "pred.weight": (p * p * C, Dh), pre + "pred.bias": (p * p * C,)})
    for i in range(arch.head_depth):
        shapes.update(_block_shapes(f"{pre}blocks.{i}.", Dh, arch.head_mlp_ratio))
    return shapes


def head_prefix(arch: Architecture) -> str:
    return "head.inner." if arch.readout == "mix" else "head."  # a LevelMix wraps the head for "mix"


def _fold_lora(weights: dict[str, np.ndarray], lora: dict | None, where: str) -> None:
    """Merge every ``X.lora_a``/``X.lora_b`` pair into ``X.weight`` (as :meth:`LoRALinear.merge`) and drop them."""
    names = sorted(k[: -len(".lora_a")] for k in weights if k.endswith(".lora_a"))
    if names and not lora:
        raise CheckpointError(f"{where}: LoRA tensors in a checkpoint whose config has no 'lora'")
    for name in names:
        a, b = weights.pop(name + ".lora_a"), weights.pop(name + ".lora_b", None)
        w = weights.get(name + ".weight")
        if b is None or w is None or b.shape[1] != a.shape[0] or (b.shape[0], a.shape[1]) != w.shape:
            raise CheckpointError(f"{where}: LoRA tensors of {name[:80]!r} do not fit its weight")
        scaling = float(lora["alpha"]) / int(lora["rank"])
        weights[name + ".weight"] = w + (b @ a) * np.float32(scaling)
    if any(k.endswith(".lora_b") for k in weights):
        raise CheckpointError(f"{where}: a LoRA tensor lora_b without its lora_a")


def read_segmenter_weights(path: str | Path) -> tuple[dict[str, np.ndarray], Architecture, dict]:
    """(float32 weights by tensor name with LoRA folded in, the :class:`Architecture`, info = config.json +
    "path") of the segmentation checkpoint folder ``path``.

    Distrusted as :func:`radiofm.models.load_checkpoint` distrusts it (bounded config.json, the safetensors header
    checked before any data is read, exact tensor names and shapes, finite values), without torch.
    EngineUnsupported when the architecture is not one the numpy engine computes; CheckpointError when the folder
    is not a valid segmentation checkpoint.
    """
    folder = Path(path)
    info = read_checkpoint_info(folder)
    if info["kind"] != "segmentation":
        raise CheckpointError(f"{folder} is a {info['kind']!r} checkpoint, expected 'segmentation'")
    where = str(folder / CONFIG_FILE)
    config = info["config"]
    arch = architecture(config, where)
    shapes = expected_shapes(arch)
    header = read_safetensors_header(folder / MODEL_FILE)
    tied = info.get("tied") or {}
    lora = config.get("lora") or None
    if lora is not None and (not isinstance(lora, dict) or not {"rank", "alpha"} <= set(lora)):
        raise CheckpointError(f"{where}: 'lora' must be null or {{rank, alpha}}")
    if any(dtype not in _FLOATS for dtype, _ in header.values()):
        raise EngineUnsupported(f"{folder / MODEL_FILE}: the numpy engine reads float32/float16/float64 weights only")
    names = {n for n in header if ".lora_" not in n} | {a for a, s in tied.items() if s in header}
    missing, unexpected = sorted(set(shapes) - names), sorted(names - set(shapes))
    if missing or unexpected:
        raise CheckpointError(
            f"tensors in {folder / MODEL_FILE} do not fit the model: "
            f"missing {', '.join(missing[:4]) or 'none'}; unexpected {', '.join(unexpected[:4]) or 'none'}"
        )
    for name, shape in shapes.items():
        got = header[tied.get(name, name) if name not in header else name][1]
        if got != shape:
            raise CheckpointError(
                f"{folder / MODEL_FILE}: tensor {name!r} has shape {list(got)}, expected {list(shape)}"
            )
    from safetensors.numpy import load_file

    try:
        raw = load_file(str(folder / MODEL_FILE))
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise CheckpointError(f"cannot read {folder / MODEL_FILE}: {str(exc).splitlines()[0][:200]}") from None
    for name, arr in raw.items():
        if arr.size and not np.isfinite(arr).all():
            raise CheckpointError(f"{folder / MODEL_FILE}: tensor {name[:80]!r} holds NaN/Inf values")
    weights = {k: v.astype(np.float32, copy=False) for k, v in raw.items()}
    for alias, src in tied.items():
        if src in weights:
            weights[alias] = weights[src]
    _fold_lora(weights, lora, where)
    return weights, arch, {**info, "path": str(folder)}


__all__ = ["Architecture", "EngineUnsupported", "architecture", "expected_shapes", "head_prefix",
           "read_segmenter_weights"]  # fmt: skip
