"""Prototypical networks on raw I/Q frames (ProtoBeam / ProtoAoA, SPEC §4; Snell et al., NeurIPS 2017).

The embedding network is a compact 1-D CNN built for what distinguishes beams physically: a beam weights every
propagation path by its pattern at that path's departure angle, so it shapes the spectrum the receiver sees
(DeepBeam: "different beam patterns introduce different impairments to the waveform"). Layers:

1. a strided 1-D convolution over the I/Q rows acting as ``n_filters`` complex band-pass filters of
   ``filter_len`` taps, hop ``filter_hop`` — initialised as a Hann-windowed DFT filter bank (a short-time
   Fourier transform); training may keep it fixed (ProtoBeam's default here) or learn it;
2. energy per filter (re² + im²), averaged over the frame, logarithm: a log-spectrum (F,) — the frame is
   stationary, so time position carries nothing; ``center_spectrum`` optionally removes its mean (the level);
3. BatchNorm, Linear(F → hidden), BatchNorm, ReLU, Linear(hidden → D).

≈ 100 k parameters (33 k of them the filter bank), ≈ 2 MFLOP per frame. Measured on the synthetic beam set
(800 episodes, full ProtoBeam switches): plain conv–ReLU stacks with global pooling reached 19–34 % same-front-
end accuracy in 400 supervised steps where the DFT-initialised bank reached 71 %; keeping the bank fixed rather
than learning it raised 2-shot accuracy on another front end from ≈ 40 % to ≈ 45 % (64 filters) and 128 filters
to ≈ 51 % — the learned bank over-fits the training unit's spectra. docs/RESULTS.md has the final figures.

Classification: prototype c = mean embedding of class c's support frames; logits = −‖f(x) − p_c‖²
(softmax over negative squared Euclidean distances). The three switches ProtoBeam measures:

- ``data_norm``: each frame's I and Q rows min–max scaled to [−1, 1] (per frame, per channel) inside the
  model, so a checkpoint takes raw ADC frames;
- augmentation (random amplitude scale and phase rotation) is a training-time choice of the task
  (:func:`augment_iq`), not part of the model;
- ``proto_norm``: prototypes scaled to unit L2 norm before the distances. Where: ``proto_norm_mode``
  "prototypes" normalises the prototypes only (the first implementation; checkpoints without the field load so);
  "cosine" puts embeddings and prototypes on the unit sphere and multiplies the squared distances by a scale
  ``s`` (learned from ``proto_scale`` when ``learn_scale``): logits = −s‖q̂ − p̂‖² = 2s·cos(q, p) − 2s.
  Without a scale the logits of unit vectors lie in [−4, 0] and the softmax cannot become confident (it
  underfits). Both modes rank classes alike at test time (‖q‖ is common to every class); they train differently.
  "support" (the default of training since session 22) standardises every embedding dimension by the mean and
  standard deviation of the episode's support embeddings — at test time, the k shots of the new front end —
  and compares per dimension: logits = −(s/D)‖q̃ − p̃‖². A new front end shifts and stretches the embedding as
  a whole; its own support set measures that and removes it, using only the labelled shots. Unit norms would
  discard the embedding's length, which carries beam information here (docs/RESULTS.md, few-shot beams).

``n_classes > 0`` adds a linear classification head on the embedding: the supervised baselines use the same
network. The family registers itself (``protonet``) with presets ``protobeam`` and ``protobeam-tiny``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from radiofm.errors import ConfigError
from radiofm.models.registry import register_family, register_model


@dataclass
class ProtoNetConfig:
    in_chans: int = 2  # I and Q rows
    frame_len: int = 2048  # samples per frame L (the network accepts any L >= filter_len)
    n_filters: int = 128  # complex filters F of the filter bank (DFT bins across the band at initialisation)
    filter_len: int = 128  # taps per filter
    filter_hop: int = 32  # stride of the filter bank, samples
    center_spectrum: bool = False  # subtract each frame's mean log energy (keep the spectrum's shape, drop its level)
    hidden: int = 256  # width of the hidden layer
    embed_dim: int = 128  # embedding width D
    data_norm: bool = True  # per-frame, per-channel min-max scaling to [-1, 1] before the network
    proto_norm: bool = True  # normalise prototypes as proto_norm_mode says
    proto_norm_mode: str = "prototypes"  # "prototypes" (only prototypes unit-norm), "cosine", "support" (see above)
    proto_scale: float = 10.0  # cosine/support: scale s of the distances (its initial value when learned)
    learn_scale: bool = True  # cosine/support: learn s (as log s)
    n_classes: int = 0  # > 0: a linear head on the embedding (supervised baselines)

    def __post_init__(self) -> None:
        if self.in_chans != 2:
            raise ConfigError(f"the filter bank takes I/Q frames (in_chans 2), got {self.in_chans}")
        if min(self.n_filters, self.filter_len, self.filter_hop, self.hidden, self.embed_dim) < 1:
            raise ConfigError(f"invalid ProtoNetConfig: {self}")
        if self.n_classes < 0 or self.frame_len < self.filter_len:
            raise ConfigError("n_classes must be >= 0 and frame_len >= filter_len")
        if self.proto_norm_mode not in PROTO_NORM_MODES:
            modes = ", ".join(repr(m) for m in PROTO_NORM_MODES)
            raise ConfigError(f"proto_norm_mode must be one of {modes}, got {self.proto_norm_mode!r}")
        if not self.proto_scale > 0:
            raise ConfigError(f"proto_scale must be positive, got {self.proto_scale}")

    @property
    def cosine(self) -> bool:
        """Embeddings and prototypes on the unit sphere, scaled distances."""
        return self.proto_norm and self.proto_norm_mode == "cosine"

    @property
    def test_norm(self) -> str | None:
        """How prototypes are compared at test time: None, "unit" (unit-norm prototypes) or "support"."""
        if not self.proto_norm:
            return None
        return "support" if self.proto_norm_mode == "support" else "unit"


PROTO_NORM_MODES = ("prototypes", "cosine", "support")
SUPPORT_EPS = 1e-3  # added to the support set's standard deviation per dimension


def support_standardise(support: torch.Tensor, *others: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Standardise every embedding dimension by the support set's statistics: support (S, D) and each of
    ``others`` (·, D) minus the support mean, over the support's standard deviation (population, + SUPPORT_EPS).
    Returns (support, *others) standardised."""
    mu = support.mean(0, keepdim=True)
    sd = support.std(0, keepdim=True, correction=0) + SUPPORT_EPS
    return tuple((t - mu) / sd for t in (support, *others))


def minmax_frames(x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Per-frame, per-channel min-max scaling to [-1, 1]: x (B, C, L) -> (B, C, L); a constant row becomes 0."""
    lo = x.amin(dim=-1, keepdim=True)
    hi = x.amax(dim=-1, keepdim=True)
    span = hi - lo
    return torch.where(span > eps, 2 * (x - lo) / span.clamp_min(eps) - 1, torch.zeros_like(x))


def augment_iq(
    x: torch.Tensor, generator: torch.Generator, *, scale_range: tuple[float, float] = (0.5, 1.4)
) -> torch.Tensor:
    """Random amplitude scale (uniform in ``scale_range``) and phase rotation (uniform in [0, 2π)) per frame.

    x: (B, 2, L) I/Q rows -> (B, 2, L). Draws come from ``generator`` (CPU), so episodes are reproducible.
    """
    b = x.shape[0]
    lo, hi = scale_range
    scale = (lo + (hi - lo) * torch.rand(b, generator=generator)).to(x.device, x.dtype)
    phase = (2 * torch.pi * torch.rand(b, generator=generator)).to(x.device, x.dtype)
    c, s = torch.cos(phase)[:, None], torch.sin(phase)[:, None]
    i, q = x[:, 0], x[:, 1]
    return torch.stack([c * i - s * q, s * i + c * q], dim=1) * scale[:, None, None]


def squared_distances(query: torch.Tensor, protos: torch.Tensor) -> torch.Tensor:
    """‖q − p‖² for every pair: query (Q, D), protos (K, D) -> (Q, K), clamped at 0."""
    d = (query * query).sum(-1, keepdim=True) - 2 * query @ protos.T + (protos * protos).sum(-1)[None, :]
    return d.clamp_min(0.0)


def prototypes(embeddings: torch.Tensor, labels: torch.Tensor, n_classes: int, *, normalize: bool) -> torch.Tensor:
    """Mean embedding per class: embeddings (S, D), labels (S,) in 0..K-1 -> (K, D); unit L2 norm if ``normalize``.

    Every class needs at least one support example (ConfigError otherwise).
    """
    counts = torch.bincount(labels, minlength=n_classes)
    if counts.numel() > n_classes or bool((counts == 0).any()):
        raise ConfigError(f"every one of the {n_classes} classes needs at least one support example")
    sums = torch.zeros(n_classes, embeddings.shape[1], dtype=embeddings.dtype, device=embeddings.device)
    sums.index_add_(0, labels, embeddings)
    protos = sums / counts[:, None].to(embeddings.dtype)
    return F.normalize(protos, dim=-1) if normalize else protos


def proto_logits(query: torch.Tensor, protos: torch.Tensor, scale: torch.Tensor | float = 1.0) -> torch.Tensor:
    """Logits = negative squared distances times ``scale``: query (Q, D), protos (K, D) -> (Q, K)."""
    return -scale * squared_distances(query, protos)


def dft_filter_bank(n_filters: int, filter_len: int) -> torch.Tensor:
    """Conv1d weights (2F, 2, K) of F Hann-windowed complex exponentials at F frequencies spread evenly over
    [-fs/2, fs/2): output rows 2f and 2f+1 are the real and imaginary parts of filter f applied to I + jQ."""
    n = torch.arange(filter_len, dtype=torch.float64)
    window = torch.hann_window(filter_len, periodic=True, dtype=torch.float64)
    freqs = (torch.arange(n_filters, dtype=torch.float64) - n_filters // 2) / n_filters  # cycles per sample
    # Conv1d correlates (y[t] = Σ_m h[m] x[t + m]), so h = w·exp(−j2πfm) picks out the component at +f
    hr = torch.cos(2 * torch.pi * freqs[:, None] * n[None, :]) * window  # h = hr + j hi
    hi = -torch.sin(2 * torch.pi * freqs[:, None] * n[None, :]) * window
    w = torch.zeros(n_filters, 2, 2, filter_len, dtype=torch.float64)
    w[:, 0, 0], w[:, 0, 1] = hr, -hi  # Re(h x) = hr·I − hi·Q
    w[:, 1, 0], w[:, 1, 1] = hi, hr  # Im(h x) = hi·I + hr·Q
    return (w.reshape(2 * n_filters, 2, filter_len) / filter_len**0.5).float()


class ProtoNet(nn.Module):
    """Embedding network f: raw I/Q frames (B, 2, L) -> embeddings (B, D); optional linear head."""

    def __init__(self, config: ProtoNetConfig):
        super().__init__()
        self.config = config
        c = config
        self.filters = nn.Conv1d(2, 2 * c.n_filters, c.filter_len, stride=c.filter_hop, bias=False)
        with torch.no_grad():
            self.filters.weight.copy_(dft_filter_bank(c.n_filters, c.filter_len))
        self.mlp = nn.Sequential(
            nn.BatchNorm1d(c.n_filters),
            nn.Linear(c.n_filters, c.hidden),
            nn.BatchNorm1d(c.hidden),
            nn.ReLU(),
            nn.Linear(c.hidden, c.embed_dim),
        )
        self.head = nn.Linear(c.embed_dim, c.n_classes) if c.n_classes > 0 else None
        if c.cosine or c.test_norm == "support":
            log_s = torch.tensor(math.log(c.proto_scale))
            self.log_scale = nn.Parameter(log_s, requires_grad=c.learn_scale)

    def log_spectrum(self, x: torch.Tensor) -> torch.Tensor:
        """Preprocessed frames (B, 2, L) -> log mean energy of every filter (B, F)."""
        h = self.filters(x)  # (B, 2F, T)
        b, _, t = h.shape
        energy = (h.view(b, self.config.n_filters, 2, t) ** 2).sum(2).mean(-1)  # (B, F)
        log_e = torch.log(energy + 1e-8)
        return log_e - log_e.mean(-1, keepdim=True) if self.config.center_spectrum else log_e

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """Raw frames -> network input: (B, C, L) float, min-max scaled when ``data_norm``."""
        if x.ndim != 3 or x.shape[1] != self.config.in_chans:
            raise ConfigError(f"expected frames (B, {self.config.in_chans}, L), got {tuple(x.shape)}")
        x = x.float()
        return minmax_frames(x) if self.config.data_norm else x

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Preprocessed frames (B, C, L) -> embeddings (B, D) (unit norm in the cosine mode)."""
        return self.embed_log_spectrum(self.log_spectrum(x))

    def embed_log_spectrum(self, log_spec: torch.Tensor) -> torch.Tensor:
        """Log-spectra (B, F) -> embeddings (B, D): the layers after the filter bank."""
        z = self.mlp(log_spec)
        return F.normalize(z, dim=-1) if self.config.cosine else z

    def scale(self) -> torch.Tensor | float:
        """The factor of the squared distances in the logits: s in the cosine mode, s/D in the support mode,
        else 1."""
        if self.config.test_norm == "support":
            return self.log_scale.exp() / self.config.embed_dim
        return self.log_scale.exp() if self.config.cosine else 1.0

    def proto_logits(self, query: torch.Tensor, protos: torch.Tensor) -> torch.Tensor:
        """Training logits of query embeddings (Q, D) against prototypes (K, D) -> (Q, K)."""
        return proto_logits(query, protos, self.scale())

    def episode_logits(
        self, support: torch.Tensor, support_labels: torch.Tensor, query: torch.Tensor, n_classes: int
    ) -> torch.Tensor:
        """Logits of query embeddings (Q, D) against the prototypes of the support embeddings (S, D) with labels
        (S,) in 0..n_classes-1, normalised as this model's ``proto_norm`` says -> (Q, n_classes)."""
        if self.config.test_norm == "support":
            support, query = support_standardise(support, query)
        return self.proto_logits(query, self.prototypes(support, support_labels, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Raw frames (B, C, L) -> embeddings (B, D)."""
        return self.embed(self.preprocess(x))

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Raw frames (B, C, L) -> class logits (B, n_classes) through the linear head."""
        if self.head is None:
            raise ConfigError("this network has no classification head (n_classes = 0)")
        return self.head(self(x))

    def prototypes(self, embeddings: torch.Tensor, labels: torch.Tensor, n_classes: int) -> torch.Tensor:
        """Class prototypes under this model's ``proto_norm`` setting: (S, D), (S,) -> (K, D) (unit norm in the
        "prototypes" and "cosine" modes; the support mode standardises the embeddings first, see episode_logits)."""
        return prototypes(embeddings, labels, n_classes, normalize=self.config.test_norm == "unit")


register_family("protonet", ProtoNetConfig, ProtoNet)
register_model("protobeam", "protonet", ProtoNetConfig())
register_model(
    "protobeam-tiny",
    "protonet",
    dataclasses.replace(ProtoNetConfig(), n_filters=16, filter_len=32, filter_hop=16, hidden=32, embed_dim=16),
)
