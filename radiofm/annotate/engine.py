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

import numpy as np

from radiofm.annotate.engine_checkpoint import (
    Architecture,
    EngineUnsupported,
    architecture,
    expected_shapes,
    head_prefix,
    read_segmenter_weights,
)
from radiofm.annotate.engine_ops import affine, gelu_, layer_norm, resize_matrix, sincos_2d, softmax_
from radiofm.dsp.threads import blas_threads, usable_cores
from radiofm.errors import ConfigError, DatasetError

ENGINES = ("auto", "torch", "numpy")


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
        pre = head_prefix(arch)
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


def load_numpy_segmenter(path: str | Path) -> tuple[NumpySegmenter, dict]:
    """The segmentation checkpoint ``path`` as a :class:`NumpySegmenter` and its info (config.json + "path"); read
    and checked by :func:`radiofm.annotate.engine_checkpoint.read_segmenter_weights` (EngineUnsupported when the
    architecture is not one this engine computes, CheckpointError when the folder is not a valid segmentation
    checkpoint)."""
    weights, arch, info = read_segmenter_weights(path)
    return NumpySegmenter(weights, arch), info


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
