"""Numerics of the numpy inference engine (:mod:`radiofm.annotate.engine`): torch's GELU, LayerNorm, softmax,
fixed sine-cosine positions and bilinear resizing, written so that they allocate little (on a 2-core machine the
page faults of whole-array temporaries cost more than the arithmetic)."""

from __future__ import annotations

import math

import numpy as np

_CHUNK = 1 << 16  # elements per pass of the GELU: its temporaries stay in cache and are never reallocated
_ERF_P = 0.3275911 / math.sqrt(2)  # A&S 7.1.26 at u = x / sqrt 2
# A&S 7.1.26's coefficients a5..a1, halved: the polynomial times exp(-u^2) is then erfc(|u|) / 2
_ERF_A = tuple(np.float32(c / 2) for c in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592))


def gelu_(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU in place, as ``torch.nn.functional.gelu``: x (1 + erf(x / sqrt 2)) / 2; returns ``x``.

    erf is Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7); against float64, |error| < 5e-7 (torch's float32 GELU:
    1.2e-6). ``x`` is float32 and C-contiguous; it is processed in chunks of :data:`_CHUNK` elements through three
    fixed scratch buffers with plain arithmetic ufuncs only: a whole-array expression would allocate a dozen
    temporaries of its size (on a 2-core machine their page faults cost more than the math), and masked or
    sign-copying ufuncs (``where=``, ``copysign``) are 5-40x slower per element than ``+`` and ``*``.
    """
    flat = x.reshape(-1)
    scratch = np.empty((3, min(_CHUNK, flat.size)), dtype=np.float32)
    for s in range(0, flat.size, _CHUNK):
        z = flat[s : s + _CHUNK]
        a, t, poly = (buf[: z.size] for buf in scratch)
        np.abs(z, out=a)
        np.multiply(a, np.float32(_ERF_P), out=t)
        t += np.float32(1.0)
        np.divide(np.float32(1.0), t, out=t)
        np.multiply(t, _ERF_A[0], out=poly)
        for c in _ERF_A[1:]:
            poly += c
            poly *= t
        a *= a
        a *= np.float32(-0.5)
        np.exp(a, out=a)  # exp(-u^2)
        a *= poly  # erfc(|u|) / 2
        np.subtract(np.float32(0.5), a, out=a)  # erf(|u|) / 2
        a *= np.sign(z, out=t)  # erf(u) / 2
        a += np.float32(0.5)  # (1 + erf(u)) / 2
        z *= a
    return x


def layer_norm(x: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None, eps: float) -> np.ndarray:
    """Over the last axis, biased variance, as ``torch.nn.LayerNorm``; a new array."""
    y = x - x.mean(axis=-1, keepdims=True)
    var = np.einsum("...i,...i->...", y, y)[..., None]
    var /= y.shape[-1]
    var += np.float32(eps)
    y /= np.sqrt(var, out=var)
    if weight is not None:
        y *= weight
        y += bias
    return y


def softmax_(x: np.ndarray, axis: int) -> np.ndarray:
    """Softmax in place along ``axis``; returns ``x``."""
    x -= x.max(axis=axis, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(axis=axis, keepdims=True)
    return x


def _sincos_1d(dim: int, positions: np.ndarray) -> np.ndarray:
    omega = 1.0 / 10000 ** (np.arange(dim // 2, dtype=np.float64) / (dim / 2))
    angles = positions.astype(np.float64)[:, None] * omega[None, :]
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)


def sincos_2d(dim: int, grid: tuple[int, int]) -> np.ndarray:
    """float32 (gf*gt, dim): :func:`radiofm.models.vit.sincos_pos_embed_2d` without the cls row."""
    gf, gt = grid
    rows, cols = np.repeat(np.arange(gf), gt), np.tile(np.arange(gt), gf)
    return np.concatenate([_sincos_1d(dim // 2, rows), _sincos_1d(dim // 2, cols)], axis=1).astype(np.float32)


def resize_matrix(n_in: int, n_out: int, *, antialias: bool = True) -> np.ndarray:
    """float32 (n_out, n_in) that resizes one axis as torch's bilinear interpolation with ``align_corners=False``.

    ``antialias=True`` (:func:`radiofm.dsp.resize.resize`): half-pixel centres, the triangle kernel widened by the
    scale when shrinking, weights renormalised at the edges; ``antialias=False`` (the logits in
    :func:`~radiofm.tasks.segmentation.predict`): two taps at the source position, clamped at the edges. The
    weights are computed in float32 in torch's order of operations, so that they round as torch's do (a source
    position near 200 carries float32 rounding of ~1e-5).
    """
    f32 = np.float32
    scale = f32(n_in / n_out)
    m = np.zeros((n_out, n_in), dtype=np.float32)
    if not antialias:
        for i in range(n_out):
            src = max(scale * (f32(i) + f32(0.5)) - f32(0.5), f32(0.0))
            i0 = int(src)
            frac = min(src - f32(i0), f32(1.0))
            m[i, i0] += f32(1.0) - frac
            m[i, min(i0 + 1, n_in - 1)] += frac
        return m
    support = scale if scale >= 1.0 else f32(1.0)
    invscale = f32(1.0) / scale if scale >= 1.0 else f32(1.0)
    for i in range(n_out):
        center = scale * (f32(i) + f32(0.5))
        lo = max(int(center - support + f32(0.5)), 0)
        hi = min(int(center + support + f32(0.5)), n_in)
        j = np.arange(lo, hi, dtype=np.float32)
        w = np.maximum(f32(1.0) - np.abs((j - center + f32(0.5)) * invscale), f32(0.0)).astype(np.float32)
        total = np.float32(0.0)
        for v in w:  # sequential float32 sum, as torch's loop
            total = np.float32(total + v)
        if total != 0:
            m[i, lo:hi] = w / total
    return m


def affine(x: np.ndarray, wb: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """x (M, in) @ W^T + b, the bias added in place."""
    y = x @ wb[0]
    y += wb[1]
    return y


__all__ = ["affine", "gelu_", "layer_norm", "resize_matrix", "sincos_2d", "softmax_"]
