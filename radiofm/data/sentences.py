"""Radio sentences (paper A §III-A, SPEC §1): variable-length sequences of spectrogram tokens for the ConvLSTM.

Per recording: non-overlapping slices of ``slice_s`` (2 ms) → a log spectrogram per slice (DC centred, dB) →
the slices are grouped into consecutive, non-overlapping *runs* whose duration is drawn uniformly from the
multiples of ``slice_s`` in [min_s, max_s] (10–20 ms) → each run is concatenated along time → resized to
``height`` × width → cut along time into tokens of ``height`` × ``token_width`` → a sentence (T, H, W).

Width: with ``resize_time="fixed"`` every sentence is resized to ``width`` columns (paper A: 256 × 256 → 16 tokens
of 256 × 16, so every sentence has the same length). With ``"proportional"`` (default) the width scales with the
run's duration, ``width`` columns for a ``max_s`` run, rounded to whole tokens: 10–20 ms → 8–16 tokens, the
variable-length sentences paper A describes, with the same time scale in every token. [ours]

A built dataset is a folder: ``tokens_00000.npy`` shards (N, H, token_width) float32 in dB (not normalised);
``index.npy`` (S, 6) int64 rows (shard, first token, n tokens, source, first slice, n slices); ``manifest.json``
with the config, the seed, the source fingerprints and the dataset-wide mean/std (dB) used for normalisation.
Building is deterministic from the seed (one child seed per recording: no dependence on the worker count).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from radiofm.data.splits import PAPER_A_SPLIT, split_indices  # noqa: F401  (re-exported: the paper-A split)
from radiofm.errors import ConfigError, DatasetError, RadioFMError
from radiofm.io import atomic_path, build_lock, manifest_kind, read_json, write_json
from radiofm.workers import process_pool

SCHEMA_VERSION = 1
MANIFEST_KIND = "sentences"


@dataclass(frozen=True)
class SentenceConfig:
    """How recordings become radio sentences (paper A Table I; values lost there are [3p]/[ours])."""

    slice_s: float = 0.002  # non-overlapping slice duration, seconds; one spectrogram per slice [3p]
    min_s: float = 0.010  # shortest sentence duration, seconds [3p]
    max_s: float = 0.020  # longest sentence duration, seconds [3p]
    fft_size: int = 1024  # FFT length (zero-padded window), DC centred [ours: paper B's]
    win_length: int = 512  # periodic Hann window, samples [ours]
    hop: int = 512  # hop between frames, samples [ours]
    height: int = 256  # H: frequency bins after resizing = token height [3p]
    width: int = 256  # columns of a max_s sentence ("proportional") or of every sentence ("fixed") [3p]
    token_width: int = 16  # W: time columns per token [3p]
    resize_time: str = "proportional"  # "proportional": width ∝ duration (variable T); "fixed": every T equal
    nonfinite: str = "error"  # NaN/Inf samples: "error" or "repair" (zeroed, with a warning)
    max_sentences_per_recording: int | None = None  # cap per recording (None = all)

    def __post_init__(self) -> None:
        if not 0 < self.slice_s <= self.min_s <= self.max_s:
            raise ConfigError(f"need 0 < slice_s <= min_s <= max_s, got {self.slice_s}, {self.min_s}, {self.max_s} s")
        lo, hi = self.slice_range
        if lo > hi:
            raise ConfigError(f"no whole number of {self.slice_s * 1e3:g} ms slices lasts between min_s and max_s")
        if self.win_length <= 0 or self.hop <= 0 or self.fft_size < self.win_length:
            raise ConfigError(
                f"need fft_size >= win_length > 0 and hop > 0, got fft_size={self.fft_size}, "
                f"win_length={self.win_length}, hop={self.hop}"
            )
        if min(self.height, self.token_width) < 1 or self.width < self.token_width:
            raise ConfigError(f"need height, token_width >= 1 and width >= token_width, got {self}")
        if self.resize_time not in ("proportional", "fixed"):
            raise ConfigError(f"resize_time must be 'proportional' or 'fixed', got {self.resize_time!r}")
        if self.nonfinite not in ("error", "repair"):
            raise ConfigError(f"nonfinite must be 'error' or 'repair', got {self.nonfinite!r}")

    @property
    def slice_range(self) -> tuple[int, int]:
        """(fewest, most) slices per sentence: the whole numbers of slices lasting between min_s and max_s."""
        return math.ceil(self.min_s / self.slice_s - 1e-9), math.floor(self.max_s / self.slice_s + 1e-9)

    @property
    def token_shape(self) -> tuple[int, int]:
        return self.height, self.token_width

    def n_tokens(self, n_slices: int) -> int:
        """Tokens T of a sentence made of ``n_slices`` slices."""
        if self.resize_time == "fixed":
            return self.width // self.token_width
        duration_s = n_slices * self.slice_s
        return max(1, round(self.width * duration_s / self.max_s / self.token_width))

    @property
    def max_tokens(self) -> int:
        return self.n_tokens(self.slice_range[1])

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------------------------- building


def recording_sentences(
    path: Path, config: SentenceConfig, rng: np.random.Generator
) -> list[tuple[np.ndarray, int, int]]:
    """All sentences of one recording: [(tokens (T, H, token_width) float32 dB, first slice, n slices)]."""
    from radiofm.data.recording_open import open_recording
    from radiofm.dsp import resize, spectrogram_batch

    rec = open_recording(path)
    slice_len = int(round(config.slice_s * rec.sample_rate_hz))
    if slice_len < config.win_length:
        raise DatasetError(
            f"{path}: a {config.slice_s * 1e3:g} ms slice at {rec.sample_rate_hz / 1e6:g} MHz is {slice_len} "
            f"samples, shorter than one {config.win_length}-sample window"
        )
    n_slices = rec.n_samples // slice_len
    lo, hi = config.slice_range
    sentences: list[tuple[np.ndarray, int, int]] = []
    start = 0
    while True:
        if config.max_sentences_per_recording is not None and len(sentences) >= config.max_sentences_per_recording:
            break
        run = min(int(rng.integers(lo, hi + 1)), n_slices - start)  # the last run takes what is left
        if run < lo:
            break
        iq = rec.read(start * slice_len, run * slice_len, nonfinite=config.nonfinite).reshape(run, slice_len)
        specs = spectrogram_batch(iq, fft_size=config.fft_size, win_length=config.win_length, hop=config.hop)
        image = np.concatenate(list(specs), axis=1)  # (F, run·frames): the slices side by side on the time axis
        T = config.n_tokens(run)
        image = resize(image, (config.height, T * config.token_width), mode="bilinear").astype(np.float32)
        # (H, T·W) -> (T, H, W): token t holds columns [t·W, (t+1)·W)
        tokens = np.ascontiguousarray(image.reshape(config.height, T, config.token_width).transpose(1, 0, 2))
        sentences.append((tokens, start, run))
        start += run
    return sentences


def _sentences_worker(args: tuple[str, dict, np.random.SeedSequence]) -> tuple[list | None, str | None]:
    path, cdict, seed_seq = args
    try:
        return recording_sentences(Path(path), SentenceConfig(**cdict), np.random.default_rng(seed_seq)), None
    except RadioFMError as exc:
        return None, str(exc)


def _fingerprint(path: Path, root: Path) -> dict:
    from radiofm.data.spectrograms import fingerprint

    return fingerprint(path, root)


def _cache_key(config: SentenceConfig, seed: int, sources: list[dict]) -> str:
    blob = {"schema": SCHEMA_VERSION, "config": config.to_dict(), "seed": seed, "sources": sources}
    return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()[:16]


def build_sentences(
    source: str | os.PathLike | Sequence[os.PathLike],
    config: SentenceConfig | None = None,
    *,
    seed: int = 0,
    out_dir: str | os.PathLike | None = None,
    shard_tokens: int = 4096,
    workers: int = 1,
    progress: bool = True,
    force: bool = False,
    cache_root: str | os.PathLike | None = None,
) -> SentenceDataset:
    """Build (or reuse) the radio-sentence dataset of a folder, a recording, or a list of recordings.

    The folder ``out_dir`` (default: one named by the config, the seed and the recordings, :func:`radiofm.data.
    sources.cache_folder`, in ``cache_root`` or beside the source) is reused when its manifest has the same
    config, seed and source fingerprints; otherwise it is rebuilt atomically. The same seed gives the same bytes.
    Recordings too short for one ``min_s`` sentence are skipped with a warning; no sentence at all is an error.
    """
    from radiofm.data.sources import cache_folder, resolve_sources

    config = config or SentenceConfig()
    built, paths, cache_base = resolve_sources(source, built_kind=MANIFEST_KIND)
    if built is not None:
        return SentenceDataset(built)
    if shard_tokens < 1:
        raise ConfigError(f"shard size must be positive, got {shard_tokens} tokens")
    sources = [_fingerprint(p, Path(cache_base)) for p in paths]
    key = _cache_key(config, seed, sources)
    settings = [config.to_dict(), seed]
    out = Path(out_dir) if out_dir is not None else cache_folder(MANIFEST_KIND, settings, Path(cache_base), sources,
                                                                  cache_root)  # fmt: skip

    def built() -> bool:
        return _is_sentence_manifest(out / "manifest.json") and read_json(out / "manifest.json")["key"] == key

    if not force and built():
        return SentenceDataset(out)
    with build_lock(out):  # a second process building the same cache waits here, then reuses it
        if force or not built():
            with atomic_path(out) as tmp:
                tmp.mkdir(parents=True)
                manifest = _write_shards(
                    tmp, paths, config, seed, shard_tokens=shard_tokens, workers=workers, progress=progress
                )
                manifest.update(
                    kind=MANIFEST_KIND,
                    schema_version=SCHEMA_VERSION,
                    key=key,
                    seed=seed,
                    config=config.to_dict(),
                    sources=sources,
                )
                write_json(tmp / "manifest.json", manifest)
    return SentenceDataset(out)


def _iter_recordings(paths, config, seed, workers) -> Iterator[tuple[list[np.ndarray] | None, str | None]]:
    seeds = np.random.SeedSequence(seed).spawn(len(paths))
    jobs = [(str(p), config.to_dict(), s) for p, s in zip(paths, seeds)]
    if workers <= 1 or len(jobs) == 1:
        yield from map(_sentences_worker, jobs)
        return
    with process_pool(workers) as pool:
        yield from pool.map(_sentences_worker, jobs)  # ordered: output independent of the worker count


def _write_shards(tmp: Path, paths, config, seed, *, shard_tokens, workers, progress) -> dict:
    shards: list[dict] = []
    index: list[
        tuple[int, int, int, int, int, int]
    ] = []  # (shard, first token in shard, n tokens, source, first slice, n slices)
    pending: list[np.ndarray] = []
    n_pending = 0
    s1 = s2 = 0.0  # float64 running sums for the dataset-wide mean/std
    n_values = 0
    skipped = 0

    def flush() -> None:
        nonlocal pending, n_pending
        if pending:
            name = f"tokens_{len(shards):05d}.npy"
            np.save(tmp / name, np.concatenate(pending))
            shards.append({"file": name, "tokens": n_pending})
            pending, n_pending = [], 0

    bar = tqdm(total=len(paths), desc="sentences", unit="rec", disable=not progress, leave=False)
    for src, (sents, err) in enumerate(_iter_recordings(paths, config, seed, workers)):
        bar.update(1)
        if err is not None:
            raise DatasetError(err)
        skipped += not sents
        for s, first_slice, n_slices in sents:
            index.append((len(shards), n_pending, s.shape[0], src, first_slice, n_slices))
            pending.append(s)
            n_pending += s.shape[0]
            d = s.astype(np.float64)
            s1, s2, n_values = s1 + float(d.sum()), s2 + float(np.square(d).sum()), n_values + d.size
        if n_pending >= shard_tokens:
            flush()
    flush()
    bar.close()
    if skipped:
        warnings.warn(
            f"skipped {skipped} recording(s) shorter than one {config.min_s * 1e3:g} ms sentence", stacklevel=3
        )
    if not index:
        raise DatasetError(f"no recording is long enough for one {config.min_s * 1e3:g} ms sentence", stacklevel=3)
    np.save(tmp / "index.npy", np.asarray(index, dtype=np.int64))
    mean = s1 / n_values
    std = float(np.sqrt(max(s2 / n_values - mean * mean, 1e-12)))
    return {
        "count": len(index),
        "tokens": sum(s["tokens"] for s in shards),
        "shards": shards,
        "stats": {"mean_db": mean, "std_db": std},
    }


def _is_sentence_manifest(path: Path) -> bool:
    return manifest_kind(path) == MANIFEST_KIND


# --------------------------------------------------------------------------------------------- reading


class SentenceDataset(torch.utils.data.Dataset):
    """Radio sentences read lazily from memory-mapped shards.

    ``ds[i]`` is a float32 tensor (T, 1, H, W), normalised as (dB − mean) / std with the dataset-wide statistics
    (or ``stats`` passed in, e.g. the pretraining set's, so fine-tuning sees the same scale).
    """

    def __init__(self, folder: str | os.PathLike, *, stats: Mapping | None = None):
        from radiofm.data.sources import file_identity

        self.folder = Path(folder)
        mpath = self.folder / "manifest.json"
        self._manifest_id = file_identity(mpath)  # its shards are opened later: check_unchanged
        if not _is_sentence_manifest(mpath):
            raise DatasetError(f"not a sentence dataset (no readable sentences manifest.json): {self.folder}")
        self.manifest = read_json(mpath)
        self.config = SentenceConfig(**self.manifest["config"])
        self.stats = dict(stats or self.manifest["stats"])
        self._mean = float(self.stats["mean_db"])
        self._inv_std = 1.0 / float(self.stats["std_db"])
        self.index = np.load(self.folder / "index.npy")  # (S, 6): shard, first, n tokens, source, slice0, n slices
        self._shards: list[np.ndarray | None] = [None] * len(self.manifest["shards"])

    def __len__(self) -> int:
        return int(self.index.shape[0])

    @property
    def lengths(self) -> np.ndarray:
        """Tokens T of every sentence: (S,) int64."""
        return self.index[:, 2]

    @property
    def sources(self) -> np.ndarray:
        """Index of each sentence's recording in ``manifest["sources"]``: (S,) int64 (for grouped splits)."""
        return self.index[:, 3]

    @property
    def spans(self) -> np.ndarray:
        """(first slice, n slices) of each sentence in its recording: (S, 2) int64; slice k starts at sample
        k · round(slice_s · sample_rate_hz)."""
        return self.index[:, 4:6]

    @property
    def token_shape(self) -> tuple[int, int]:
        return self.config.token_shape

    def _shard(self, k: int) -> np.ndarray:
        if self._shards[k] is None:  # opened lazily so DataLoader workers map their own view
            from radiofm.data.sources import check_unchanged

            check_unchanged(self.folder, self._manifest_id)
            self._shards[k] = np.load(self.folder / self.manifest["shards"][k]["file"], mmap_mode="r")
        return self._shards[k]

    def raw(self, i: int) -> np.ndarray:
        """Sentence ``i`` in dB, not normalised: (T, H, W)."""
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        shard, first, n = (int(v) for v in self.index[i, :3])
        return np.asarray(self._shard(shard)[first : first + n])

    def __getitem__(self, i: int) -> torch.Tensor:
        x = (self.raw(i) - self._mean) * self._inv_std
        return torch.from_numpy(x.astype(np.float32, copy=False))[:, None]

    def __getstate__(self):  # memmaps are reopened in worker processes
        d = dict(self.__dict__)
        d["_shards"] = [None] * len(self._shards)
        return d


# --------------------------------------------------------------------------------------------- batching


def collate_sentences(batch: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """[(T_i, C, H, W)] -> (x (B, T_max, C, H, W) zero-padded after each sentence's end, lengths (B,) int64)."""
    lengths = torch.tensor([s.shape[0] for s in batch], dtype=torch.long)
    x = batch[0].new_zeros(len(batch), int(lengths.max()), *batch[0].shape[1:])
    for b, s in enumerate(batch):
        x[b, : s.shape[0]] = s
    return x, lengths


class BucketBatchSampler(torch.utils.data.Sampler):
    """Batches of indices whose sentences have similar lengths (less padding).

    Each pass: a random permutation (``shuffle``) stably sorted by length, cut into batches of ``batch_size``,
    whose order is then shuffled. Without ``shuffle`` the batches are in increasing length, deterministic.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        *,
        shuffle: bool = True,
        generator: torch.Generator | None = None,
        drop_last: bool = False,
    ):
        if batch_size < 1:
            raise ConfigError(f"batch size must be positive, got {batch_size}")
        self.lengths = torch.as_tensor(np.asarray(lengths), dtype=torch.long)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.drop_last = drop_last

    def __len__(self) -> int:
        n = len(self.lengths)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        n = len(self.lengths)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        order = order[torch.sort(self.lengths[order], stable=True).indices]
        batches = [order[i : i + self.batch_size].tolist() for i in range(0, n, self.batch_size)]
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        if self.shuffle:
            batches = [batches[i] for i in torch.randperm(len(batches), generator=self.generator).tolist()]
        yield from batches
