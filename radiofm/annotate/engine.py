"""The segmentation model's forward pass in numpy, so that ``radiofm annotate`` need not import torch.

``import torch`` alone takes about 2 s on a 2-core machine, longer than the whole analysis of a 40 ms capture, so
a run that loads the model through torch cannot start in under 2 s (issue 13). :class:`NumpySegmenter` computes
what :func:`radiofm.tasks.segmentation.predict` computes for the architectures ``radiofm finetune segmentation``
builds on the MAE backbone — ViT encoder (readout "last", or "mix": every level layer-normalised and mixed with
softmax weights), LoRA adapters folded into their linears, the transformer head that predicts each patch's
pixels, the anti-aliased bilinear resize to the model's input and back, the softmax over classes — from the
checkpoint's ``config.json`` and ``model.safetensors`` alone. Every formula mirrors the torch modules it stands
for (:mod:`radiofm.models.vit`, :mod:`radiofm.models.mae`, :mod:`radiofm.models.heads`); the tests check the
probabilities against torch's to 1e-4. The exact GELU's erf is Abramowitz & Stegun 7.1.26 (absolute error
below 1.5e-7, under float32 rounding of the activations).

Other checkpoints (another backbone family or head, several input channels, non-float weights) raise
:class:`EngineUnsupported`; ``engine="auto"`` then uses torch. Shapes: N images, B batch, L tokens, D width,
(F, T) the model's input size, p patch side, (gf, gt) the patch grid, C classes.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

import numpy as np

from radiofm.annotate.engine_ops import (
    affine,
    blas_threads,
    gelu_,
    layer_norm,
    resize_matrix,
    sincos_2d,
    softmax_,
    usable_cores,
)
from radiofm.checkpoint_files import CONFIG_FILE, MODEL_FILE, read_checkpoint_info, read_safetensors_header
from radiofm.errors import CheckpointError, ConfigError, DatasetError

ENGINES = ("auto", "torch", "numpy")
_FLOATS = ("F32", "F16", "F64")
_MAX_SIDE = 8192
_MAX_TOKENS = 1 << 16


class EngineUnsupported(ConfigError):
    """The checkpoint is valid but not an architecture the numpy engine computes (use the torch engine)."""


# ----------------------------------------------------------------------------------------------- the model
class _Block:
    """One pre-norm transformer block's weights (linears transposed to (in, out))."""

    def __init__(self, w: dict[str, np.ndarray], prefix: str, heads: int):
        self.heads = heads
        self.n1 = (w[prefix + "norm1.weight"], w[prefix + "norm1.bias"])
        self.n2 = (w[prefix + "norm2.weight"], w[prefix + "norm2.bias"])
        self.qkv = _linear(w, prefix + "attn.qkv")
        self.proj = _linear(w, prefix + "attn.proj")
        self.fc1 = _linear(w, prefix + "mlp.fc1")
        self.fc2 = _linear(w, prefix + "mlp.fc2")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """x: (B, L, D) -> (B, L, D)."""
        B, L, D = x.shape
        H = self.heads
        Dh = D // H
        qkv = affine(layer_norm(x, *self.n1, 1e-6).reshape(B * L, D), self.qkv)
        qkv = qkv.reshape(B, L, 3, H, Dh).transpose(2, 0, 3, 1, 4)  # (3, B, H, L, Dh)
        q = np.multiply(qkv[0], np.float32(1 / math.sqrt(Dh)))  # contiguous copies: BLAS-ready
        k, v = np.ascontiguousarray(qkv[1]), np.ascontiguousarray(qkv[2])
        att = softmax_(q @ k.transpose(0, 1, 3, 2), axis=-1)  # (B, H, L, L)
        out = (att @ v).transpose(0, 2, 1, 3).reshape(B * L, D)
        x = x + affine(out, self.proj).reshape(B, L, D)
        h = gelu_(affine(layer_norm(x, *self.n2, 1e-6).reshape(B * L, D), self.fc1))
        x += affine(h, self.fc2).reshape(B, L, D)
        return x


def _linear(w: dict[str, np.ndarray], name: str) -> tuple[np.ndarray, np.ndarray]:
    return np.ascontiguousarray(w[name + ".weight"].T), w[name + ".bias"]


class NumpySegmenter:
    """A segmentation checkpoint's forward pass in numpy; ``seg(x_db)`` = :func:`~radiofm.tasks.segmentation.predict`.

    Build it with :func:`load_numpy_segmenter`. ``weights`` maps the checkpoint's tensor names to float32 arrays
    (LoRA already folded in), ``arch`` is :func:`architecture` of config.json's "config".
    """

    def __init__(self, weights: dict[str, np.ndarray], arch: Architecture):
        self.image_size, self.patch, self.grid = arch.image_size, arch.patch, arch.grid
        self.num_classes = arch.classes
        self.norm = arch.norm["norm"]
        self.mean_db, self.std_db = float(arch.norm.get("mean_db", 0.0)), float(arch.norm.get("std_db", 1.0))
        w = weights
        self.embed = _linear(w, "backbone.patch_embed")
        self.pos = sincos_2d(arch.width, self.grid)
        self.cls = (w["backbone.cls_token"].reshape(1, 1, -1)).astype(np.float32)  # + the cls row's zero position
        self.blocks = [_Block(w, f"backbone.encoder_blocks.{i}.", arch.heads) for i in range(arch.depth)]
        self.enc_norm = (w["backbone.encoder_norm.weight"], w["backbone.encoder_norm.bias"])
        pre = _head_prefix(arch)
        self.level_weights = softmax_(w["head.level_weights"].astype(np.float32), 0) if arch.readout == "mix" else None
        self.head_proj = _linear(w, pre + "proj")
        self.head_pos = sincos_2d(arch.head_width, self.grid)
        self.head_blocks = [_Block(w, f"{pre}blocks.{i}.", arch.head_heads) for i in range(arch.head_depth)]
        self.head_norm = (w[pre + "norm.weight"], w[pre + "norm.bias"])
        self.pred = _linear(w, pre + "pred")
        self._resize: dict[tuple[int, int, bool], np.ndarray] = {}

    def _matrix(self, n_in: int, n_out: int, antialias: bool) -> np.ndarray:
        key = (n_in, n_out, antialias)
        if key not in self._resize:
            self._resize[key] = resize_matrix(n_in, n_out, antialias=antialias)
        return self._resize[key]

    def _normalize(self, x: np.ndarray) -> np.ndarray:
        if self.norm == "dataset":
            return (x - np.float32(self.mean_db)) / np.float32(self.std_db)
        mean = x.mean(axis=(1, 2), keepdims=True)
        std = np.maximum(x.std(axis=(1, 2), keepdims=True, ddof=1), np.float32(1e-3))
        return (x - mean) / std

    def _tokens(self, x: np.ndarray) -> np.ndarray:
        """Normalised images (B, F, T) -> backbone features (B, L, D) as the head reads them."""
        B = x.shape[0]
        (gf, gt), p = self.grid, self.patch
        patches = x.reshape(B, gf, p, gt, p).transpose(0, 1, 3, 2, 4).reshape(B * gf * gt, p * p)
        h = (patches @ self.embed[0] + self.embed[1]).reshape(B, gf * gt, -1) + self.pos  # level 0
        z = np.concatenate([np.broadcast_to(self.cls, (B, 1, h.shape[2])), h], axis=1)
        mixed = None
        if self.level_weights is not None:
            mixed = self.level_weights[0] * layer_norm(h, None, None, 1e-5)
        for i, blk in enumerate(self.blocks):
            z = blk(z)
            if mixed is not None:
                level = layer_norm(z[:, 1:], *self.enc_norm, 1e-6) if i == len(self.blocks) - 1 else z[:, 1:]
                mixed += self.level_weights[i + 1] * layer_norm(level, None, None, 1e-5)
        if mixed is not None:
            return mixed
        return layer_norm(z, *self.enc_norm, 1e-6)[:, 1:]

    def logits(self, x_db: np.ndarray) -> np.ndarray:
        """dB images (B, F, T) at the model's input size -> logits (B, C, F, T)."""
        tokens = self._tokens(self._normalize(np.asarray(x_db, dtype=np.float32)))
        B, L, D = tokens.shape
        x = (tokens.reshape(B * L, D) @ self.head_proj[0] + self.head_proj[1]).reshape(B, L, -1) + self.head_pos
        for blk in self.head_blocks:
            x = blk(x)
        x = layer_norm(x, *self.head_norm, 1e-6)
        x = x.reshape(B * L, -1) @ self.pred[0] + self.pred[1]
        (gf, gt), p, C = self.grid, self.patch, self.num_classes
        return x.reshape(B, gf, gt, p, p, C).transpose(0, 5, 1, 3, 2, 4).reshape(B, C, gf * p, gt * p)

    def __call__(self, spectrograms_db: np.ndarray, *, batch_size: int = 16) -> np.ndarray:
        """Class probabilities float32 (N, C, H0, W0) for dB spectrograms (N, H0, W0) at any resolution.

        On a machine with several cores the images are split between threads (one per core, each with
        ``batch_size / cores`` images at a time) while numpy's BLAS runs single-threaded: numpy's elementwise work
        then runs on every core too, and OpenBLAS's own threads no longer spin (on 2 cores: ~1.5x the images per
        second at ~2/3 of the CPU time of one thread of Python over a 2-thread BLAS)."""
        x = np.asarray(spectrograms_db)
        if x.ndim != 3 or min(x.shape) < 1:
            raise ConfigError(f"predict expects spectrograms (N, F, T), got shape {x.shape}")
        if not np.isfinite(x).all():
            raise DatasetError("spectrograms contain NaN or Inf values")
        N, H0, W0 = x.shape
        out = np.empty((N, self.num_classes, H0, W0), dtype=np.float32)
        workers = min(usable_cores(), N)
        if workers == 1:
            self._predict_into(x, out, max(1, batch_size))
            return out
        from concurrent.futures import ThreadPoolExecutor

        bounds = np.linspace(0, N, workers + 1).astype(int)
        per = max(1, batch_size // workers)
        with blas_threads(1), ThreadPoolExecutor(workers, thread_name_prefix="radiofm-engine") as pool:
            jobs = [pool.submit(self._predict_into, x[a:b], out[a:b], per) for a, b in zip(bounds, bounds[1:])]
            for job in jobs:
                job.result()
        return out

    def _predict_into(self, x: np.ndarray, out: np.ndarray, batch_size: int) -> None:
        F, T = self.image_size
        H0, W0 = x.shape[1:]
        for s in range(0, len(x), batch_size):
            xb = x[s : s + batch_size].astype(np.float32)
            if (H0, W0) != (F, T):
                xb = self._matrix(H0, F, True) @ xb @ self._matrix(W0, T, True).T  # dsp.resize: anti-aliased
            logits = self.logits(xb)
            if (H0, W0) != (F, T):
                logits = self._matrix(F, H0, False) @ logits @ self._matrix(T, W0, False).T  # F.interpolate
            out[s : s + batch_size] = softmax_(logits, axis=1)


def standardises_each_image(info: dict | None) -> bool:
    """True when the checkpoint (its config.json ``info``) standardises each image: its output does not depend
    on a dB offset (a predictor's ``level_invariant``)."""
    return ((info or {}).get("config", {}).get("input") or {}).get("norm", "per-sample") == "per-sample"


def numpy_predictor(seg: NumpySegmenter, info: dict, *, batch_size: int = 16):
    """A :data:`radiofm.annotate.run.Predictor` around ``seg`` (from :func:`load_numpy_segmenter`)."""

    def run(images: np.ndarray, frames) -> np.ndarray:
        return seg(images, batch_size=batch_size)

    run.level_invariant = standardises_each_image(info)
    return run


# ----------------------------------------------------------------------------------------------- loading
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
    inp = config.get("input") or {"norm": "per-sample"}
    norm_ok = isinstance(inp, dict) and inp.get("norm") in ("per-sample", "dataset")
    if norm_ok and inp["norm"] == "dataset":
        stats = (inp.get("mean_db"), inp.get("std_db"))
        norm_ok = all(isinstance(v, (int, float)) and math.isfinite(v) for v in stats) and stats[1] > 0
    if not norm_ok:
        raise CheckpointError(f"{where}: 'input' must be per-sample or dataset with a finite mean_db and std_db > 0")
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
    pre = _head_prefix(arch)
    if arch.readout == "mix":
        shapes["head.level_weights"] = (arch.depth + 1,)
    shapes.update({pre + "proj.weight": (Dh, D), pre + "proj.bias": (Dh,), pre + "norm.weight": (Dh,)})
    shapes.update({pre + "norm.bias": (Dh,), pre + "pred.weight": (p * p * C, Dh), pre + "pred.bias": (p * p * C,)})
    for i in range(arch.head_depth):
        shapes.update(_block_shapes(f"{pre}blocks.{i}.", Dh, arch.head_mlp_ratio))
    return shapes


def _head_prefix(arch: Architecture) -> str:
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


def load_numpy_segmenter(path: str | Path) -> tuple[NumpySegmenter, dict]:
    """The segmentation checkpoint ``path`` as a :class:`NumpySegmenter` and its info (config.json + "path").

    Distrusted as :func:`radiofm.models.load_checkpoint` distrusts it (bounded config.json, the safetensors header
    checked before any data is read, exact tensor names and shapes, finite values), without torch.
    EngineUnsupported when the architecture is not one this engine computes; CheckpointError when the folder is
    not a valid segmentation checkpoint.
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
    return NumpySegmenter(weights, arch), {**info, "path": str(folder)}


__all__ = [
    "ENGINES",
    "Architecture",
    "EngineUnsupported",
    "NumpySegmenter",
    "expected_shapes",
    "load_numpy_segmenter",
    "architecture",
    "numpy_predictor",
    "standardises_each_image",
]
