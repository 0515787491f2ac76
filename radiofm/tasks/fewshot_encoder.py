"""Prototypes on any radiofm encoder: classify SigMF recordings from a handful of labelled ones, no training.

A **support folder** holds labelled recordings (SigMF or complex .npy): a recording inside a sub-folder belongs to
the class named by that sub-folder (``support/wifi/a.sigmf-meta`` is "wifi"); a recording directly in the folder
contributes one example per annotation carrying ``core:label``. Every example is cut into the encoder's input
units and embedded by the frozen encoder; a class prototype is the mean embedding of its units. A **query
recording** is cut the same way; each unit gets a softmax over negative squared distances to the prototypes, divided
by a temperature the support set measures (:func:`fit_temperature`), and the recording's per-class scores are the
mean over its units. Without the temperature, distances between embeddings of hundreds of dimensions make every
score 1.00 or 0.00, however close the call.

Encoders (:func:`load_encoder`, from the checkpoint folder alone):

- ``mae`` pretrained ViT-MAE (or a fine-tuned model built on one): the pretraining spectrogram front end
  (segment length, STFT, image size and dB statistics from the checkpoint), encoder output mean-pooled over
  tokens. Inputs shorter than one segment (e.g. 2048-sample beam frames) use a short-window STFT
  (window = length / 32) resized to the model's image size;
- ``protonet`` (ProtoBeam / ProtoAoA runs, supervised beam classifiers): consecutive raw I/Q frames.

All support and query recordings must share one sample rate: the spectrogram of one rate is not the
spectrogram of another.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from radiofm.errors import CheckpointError, ConfigError, DatasetError
from radiofm.train.distributed import DeviceChecked


@dataclass
class EncoderPrototypeConfig(DeviceChecked):
    max_units_per_example: int = 16  # cap on segments/frames embedded per support example or query recording
    batch_size: int = 32  # units per forward pass
    device: str = "cpu"  # where the encoder runs
    repair_nonfinite: bool = False  # NaN/Inf samples of support and query recordings set to 0 (with a warning)


# ------------------------------------------------------------------------------------------- encoders


class Encoder:
    """A frozen embedding of I/Q: ``unit_len(rate)`` samples per unit, ``embed(units (N, unit_len), rate)``."""

    name = "encoder"
    test_norm: str | None = None  # how prototypes are compared (fewshot_eval.prototype_distances)

    def unit_len(self, sample_rate_hz: float) -> int:
        raise NotImplementedError

    def embed(self, units: np.ndarray, sample_rate_hz: float) -> np.ndarray:
        raise NotImplementedError


class IQEncoder(Encoder):
    """A protonet model on consecutive ``frame_len``-sample I/Q frames."""

    def __init__(self, model, *, batch_size: int = 256, device: str = "cpu"):
        self.model = model.eval().to(device)
        self.name = "protonet"
        self.test_norm = model.config.test_norm
        self.batch_size, self.device = batch_size, device

    def unit_len(self, sample_rate_hz: float) -> int:
        return int(self.model.config.frame_len)

    @torch.no_grad()
    def embed(self, units: np.ndarray, sample_rate_hz: float) -> np.ndarray:
        from radiofm.tasks.fewshot_eval import embed_frames

        frames = np.stack([units.real, units.imag], axis=1).astype(np.float32)  # (N, 2, L)
        return embed_frames(self.model, frames, batch_size=self.batch_size, device=self.device)


class SpectrogramEncoder(Encoder):
    """A ViT-MAE encoder (or the backbone of a fine-tuned model) on spectrogram segments, mean-pooled tokens."""

    def __init__(self, features, params, stats: dict | None, *, batch_size: int = 32, device: str = "cpu"):
        self.features, self.params, self.stats = features, params, stats
        self.name = "mae"
        self.batch_size, self.device = batch_size, device

    def unit_len(self, sample_rate_hz: float) -> int:
        return int(round(self.params.segment_s * sample_rate_hz))

    def images(self, units: np.ndarray) -> np.ndarray:
        """(N, L) complex -> (N, F, T) dB spectrogram images at the model's input size."""
        from radiofm.dsp import resize, spectrogram

        p = self.params
        n = units.shape[1]
        if n >= 4 * p.win_length:
            fft, win, hop = p.fft_size, p.win_length, p.hop
        else:  # short inputs (beam frames): a short-window STFT with ≈ 60 frames
            win = max(8, n // 32)
            fft, hop = win, max(1, win // 2)
        out = [resize(spectrogram(u, fft_size=fft, win_length=win, hop=hop), p.image_size) for u in units]
        return np.stack(out).astype(np.float32)

    @torch.no_grad()
    def embed(self, units: np.ndarray, sample_rate_hz: float) -> np.ndarray:
        x_db = self.images(units)
        out = []
        for lo in range(0, len(x_db), self.batch_size):
            x = torch.from_numpy(x_db[lo : lo + self.batch_size])[:, None].to(self.device)  # (B, 1, F, T)
            if self.stats:
                x = (x - self.stats["mean_db"]) / self.stats["std_db"]
            else:  # per-sample standardisation
                x = (x - x.mean(dim=(1, 2, 3), keepdim=True)) / x.std(dim=(1, 2, 3), keepdim=True).clamp_min(1e-3)
            f = self.features(x)  # (B, L, D) or (B, levels, L, D)
            out.append(f.reshape(f.shape[0], -1, f.shape[-1]).mean(1).float().cpu().numpy())
        return np.concatenate(out)


def load_encoder(path: str | Path, cfg: EncoderPrototypeConfig | None = None) -> Encoder:
    """The frozen encoder of checkpoint ``path``: a pretrained MAE, a model fine-tuned from one, or a protonet."""
    from radiofm.data.spectrograms import SpectrogramParams
    from radiofm.models import load_checkpoint

    cfg = cfg or EncoderPrototypeConfig()
    model, info = load_checkpoint(path)
    family = info.get("family")
    if family == "protonet":
        return IQEncoder(model, device=cfg.device)
    if family == "mae":
        data = info["extra"].get("data") or {}
        try:
            params = (
                SpectrogramParams(**data["params"])
                if "params" in data
                else SpectrogramParams(image_size=model.config.img_size)
            )
        except (TypeError, ValueError, ConfigError) as exc:
            raise CheckpointError(
                f"{path}/config.json: extra.data.params are not spectrogram settings ({exc})"
            ) from None
        return SpectrogramEncoder(
            model.forward_features, params, data.get("stats"), batch_size=cfg.batch_size, device=cfg.device
        )
    ft = getattr(model, "config", None)
    if (
        isinstance(ft, dict)
        and ft.get("backbone_family") == "mae"  # a ConvLSTM backbone takes token sequences, not images
        and int(ft["backbone"].get("in_chans", 1)) == 1
        and hasattr(model.backbone, "forward_features")
    ):
        params = SpectrogramParams(image_size=tuple(model.image_size))
        return SpectrogramEncoder(
            lambda x: model.backbone.forward_features(x), params, None, batch_size=cfg.batch_size, device=cfg.device
        )
    raise CheckpointError(
        f"{path} ({info['kind']!r}) has no encoder usable for prototypes (need an MAE, a model fine-tuned from a "
        "1-channel MAE, or a protonet)"
    )


# ------------------------------------------------------------------------------------------- examples


@dataclass
class Example:
    path: Path  # the recording
    label: str  # its class
    start: int = 0  # first sample of the example
    count: int | None = None  # samples (None: to the end)


def support_examples(folder: str | Path) -> list[Example]:
    """Labelled examples of a support folder (class = sub-folder name, else each ``core:label`` annotation)."""
    from radiofm.data.recording_open import open_recording
    from radiofm.data.sources import find_recordings

    root = Path(folder)
    paths = find_recordings(root)
    if not paths:
        raise DatasetError(f"no recordings (.sigmf-meta or .npy) in support folder {root}")
    out = []
    for p in paths:
        rel = p.relative_to(root)
        if len(rel.parts) > 1:
            out.append(Example(p, rel.parts[0]))
            continue
        rec = open_recording(p)
        labelled = [a for a in rec.annotations if getattr(a, "label", None)]
        if not labelled:
            raise DatasetError(
                f"{p}: neither in a class sub-folder nor annotated with core:label; cannot tell its class"
            )
        out += [Example(p, str(a.label), int(a.sample_start), int(a.sample_count)) for a in labelled]
    empty = sorted(
        d.name
        for d in root.iterdir()
        if d.is_dir() and not d.name.startswith(".") and not any(e.path.is_relative_to(d) for e in out)
    )
    if empty:  # a class folder without a recording: a class the user meant, with zero shots
        raise DatasetError(f"class {empty[0]!r} has zero shots: its folder {root / empty[0]} holds no recording")
    classes = sorted({e.label for e in out})
    if len(classes) < 2:
        raise DatasetError(f"support folder {root} holds one class ({classes[0]!r}); prototypes need at least two")
    return out


def _units(example: Example, encoder: Encoder, cfg: EncoderPrototypeConfig) -> tuple[np.ndarray, float]:
    """The example cut into the encoder's units: (N, unit_len) complex64 (N may be 0), and its sample rate."""
    from radiofm.data.recording_open import open_recording

    rec = open_recording(example.path)
    n = encoder.unit_len(rec.sample_rate_hz)
    start = example.start
    stop = rec.n_samples if example.count is None else min(rec.n_samples, start + example.count)
    if example.count is not None and stop - start < n:  # a short annotation: one unit from its start
        start, stop = max(0, min(start, rec.n_samples - n)), max(0, min(start, rec.n_samples - n)) + n
    k = min(max(0, (stop - start) // n), cfg.max_units_per_example)
    if n < 1 or rec.n_samples < n or k == 0:
        return np.zeros((0, max(n, 1)), np.complex64), rec.sample_rate_hz
    iq = rec.read(start, k * n, nonfinite="repair" if cfg.repair_nonfinite else "error")
    return iq.reshape(k, n), rec.sample_rate_hz


def _short(path: str) -> str:
    """A recording's folder and name (``class_a/x.sigmf-meta``): support files of two classes share names."""
    p = Path(path)
    return f"{p.parent.name}/{p.name}" if p.parent.name else p.name


def _rate_of(rates: dict[str, float], where: str) -> float:
    distinct = sorted(set(rates.values()))
    if len(distinct) > 1:
        first = {r: p for p, r in rates.items()}
        detail = ", ".join(f"{_short(first[r])} at {r / 1e6:g} MHz" for r in distinct[:3])
        raise DatasetError(f"{where} mixes sample rates ({detail}); use recordings of one rate")
    return distinct[0]


def build_prototypes(encoder: Encoder, examples: list[Example], cfg: EncoderPrototypeConfig) -> dict:
    """{"classes": [...], "support": (S, D) embeddings, "support_labels": (S,) class indices, "norm", "counts":
    {class: units}, "shots": {class: examples}, "sample_rate_hz"}; prototypes are formed from the support
    embeddings by :func:`prototype_scores`. DatasetError for mixed rates or a class without a single usable
    unit (zero shots)."""
    embs: dict[str, list[np.ndarray]] = {}
    shots: dict[str, int] = {}
    rates = {}
    for ex in examples:
        units, rate = _units(ex, encoder, cfg)
        rates[str(ex.path)] = rate
        shots.setdefault(ex.label, 0)
        if len(units):
            embs.setdefault(ex.label, []).append(encoder.embed(units, rate))
            shots[ex.label] += 1
    rate = _rate_of(rates, "the support set")
    empty = sorted(c for c, n in shots.items() if n == 0)
    if empty:
        raise DatasetError(
            f"class {empty[0]!r} has zero shots: none of its recordings holds one {encoder.unit_len(rate)}-sample unit"
        )
    classes = sorted(embs)
    support = np.concatenate([np.concatenate(embs[c]) for c in classes])
    s_lab = np.concatenate([np.full(sum(len(e) for e in embs[c]), i) for i, c in enumerate(classes)])
    s_ex = np.concatenate([np.full(len(e), j) for j, e in enumerate(e for c in classes for e in embs[c])])
    temperature, how = fit_temperature(support, s_lab, s_ex, encoder.test_norm)
    return {
        "classes": classes,
        "support": support,
        "support_labels": s_lab,
        "norm": encoder.test_norm,
        "temperature": temperature,
        "temperature_from": how,
        "shots": shots,
        "sample_rate_hz": rate,
        "counts": {c: int(sum(len(e) for e in embs[c])) for c in classes},
    }


TEMPERATURE_GRID = np.geomspace(1e-2, 1e2, 81)  # temperatures tried, relative to the held-out distances' median
ONE_SHOT_MARGIN = 4.0  # one example per class: a unit on its prototype scores e^4 ≈ 55 to 1 against the nearest other


def fit_temperature(support: np.ndarray, s_lab: np.ndarray, s_ex: np.ndarray, norm: str | None) -> tuple[float, str]:
    """The temperature T of the scores softmax(−d/T), measured on the support set: (T, how it was measured).

    Leave one example out: each example of a class with at least two is classified by prototypes formed without
    it, and T is the value of :data:`TEMPERATURE_GRID` (times the median of those distances) that gives its true
    class the highest mean log score ("leave-one-out"). Where every class has one example, nothing measures the
    spread of a class: T is the smallest squared distance from a class's units to another class's prototype
    over :data:`ONE_SHOT_MARGIN` ("one shot per class"). ``s_ex`` (S,): the example each support unit comes from.
    """
    from scipy.special import logsumexp

    from radiofm.tasks.fewshot_eval import prototype_distances

    held_d, held_y = [], []
    for e in np.unique(s_ex):
        out = s_ex == e
        c = s_lab[out][0]
        if np.unique(s_ex[s_lab == c]).size < 2:
            continue
        classes, d = prototype_distances(support[~out], s_lab[~out], support[out], norm)
        held_d.append(d)
        held_y.append(np.full(len(d), int(np.flatnonzero(classes == c)[0])))
    if held_d:
        d = np.concatenate(held_d)
        d = d - d.min(1, keepdims=True)
        y = np.concatenate(held_y)
        scale = float(np.median(d[d > 0])) if (d > 0).any() else 1.0
        grid = scale * TEMPERATURE_GRID
        nll = [float(np.mean(logsumexp(-d / t, axis=1) + d[np.arange(len(y)), y] / t)) for t in grid]
        return float(grid[int(np.argmin(nll))]), "leave-one-out"
    classes, d = prototype_distances(support, s_lab, support, norm)
    own = s_lab[:, None] == classes[None, :]
    gap = d - np.where(own, d, np.inf).min(1, keepdims=True)
    margin = float(gap[~own].min()) if (~own).any() else 0.0
    return (margin / ONE_SHOT_MARGIN if margin > 0 else 1.0), "one shot per class"


def prototype_scores(emb: np.ndarray, protos: dict) -> np.ndarray:
    """Softmax over negative squared distances to the prototypes of :func:`build_prototypes`, over their
    temperature: (N, D) -> (N, K) probabilities."""
    from radiofm.tasks.fewshot_eval import prototype_distances

    _, d = prototype_distances(protos["support"], protos["support_labels"], emb, protos["norm"])
    z = -(d - d.min(1, keepdims=True)) / protos.get("temperature", 1.0)
    p = np.exp(z)
    return p / p.sum(1, keepdims=True)


def classify_recordings(
    encoder_path: str | Path, support: str | Path, queries: list[str | Path], cfg: EncoderPrototypeConfig | None = None
) -> dict:
    """Prototypes from ``support``, per-class scores for every query recording. Returns
    {"encoder", "classes", "shots", "sample_rate_hz", "temperature", "temperature_from", "queries": [{"path", "units",
    "scores", "prediction"}]}."""
    from radiofm.data.recording_open import open_recording

    cfg = cfg or EncoderPrototypeConfig()
    if not queries:
        raise ConfigError("no query recording given")
    encoder = load_encoder(encoder_path, cfg)
    protos = build_prototypes(encoder, support_examples(support), cfg)
    results = []
    for q in queries:
        rate = open_recording(q).sample_rate_hz
        if rate != protos["sample_rate_hz"]:
            raise DatasetError(
                f"query {q} is at {rate / 1e6:g} MHz but the support set at "
                f"{protos['sample_rate_hz'] / 1e6:g} MHz; classify recordings of the support's rate"
            )
        units, _ = _units(Example(Path(q), "?"), encoder, cfg)
        if not len(units):
            raise DatasetError(f"query {q} is shorter than one {encoder.unit_len(rate)}-sample unit of the encoder")
        probs = prototype_scores(encoder.embed(units, rate), protos).mean(0)
        scores = {c: float(p) for c, p in zip(protos["classes"], probs)}
        results.append(
            {
                "path": str(q),
                "units": int(len(units)),
                "scores": scores,
                "prediction": protos["classes"][int(np.argmax(probs))],
            }
        )
    return {
        "encoder": encoder.name,
        "classes": protos["classes"],
        "shots": protos["shots"],
        "sample_rate_hz": protos["sample_rate_hz"],
        "temperature": protos["temperature"],
        "temperature_from": protos["temperature_from"],
        "queries": results,
    }
