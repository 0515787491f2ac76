"""Paper-B spectrogram datasets: recordings → 16 ms segments → spectrogram → resize → cached shards.

A dataset folder holds memory-mappable shards (``shard_00000.npy``: (S, F, T) float32, dB, not normalised)
and ``manifest.json`` with the parameters, the dataset-wide normalisation statistics (mean/std in dB),
shard checksums and a fingerprint of every source file. :func:`build_spectrogram_dataset` rebuilds only when
the sources or the parameters change; :class:`SpectrogramDataset` reads items lazily, so a corpus larger
than RAM streams from disk.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from radiofm.data.recording_open import sigmf_data_file
from radiofm.errors import ConfigError, DatasetError, RadioFMError, RecordingError
from radiofm.io import JSONLimitError, atomic_path, build_lock, read_json, read_json_untrusted, write_json
from radiofm.workers import process_pool

SCHEMA_VERSION = 1
MANIFEST_KIND = "spectrograms"


@dataclass(frozen=True)
class SpectrogramParams:
    """How recordings become model inputs (paper B, Table I)."""

    segment_s: float = 0.016  # non-overlapping segment length, seconds
    fft_size: int = 1024  # FFT length (zero-padded window), DC centred
    win_length: int = 512  # periodic Hann window length, samples
    hop: int = 512  # hop between frames, samples
    image_size: tuple[int, int] = (224, 224)  # (F, T) after resizing
    nonfinite: str = "error"  # NaN/Inf samples: "error" or "repair" (zeroed, with a warning)
    max_segments_per_recording: int | None = None  # cap per recording (None = all)

    def __post_init__(self) -> None:
        object.__setattr__(self, "image_size", tuple(int(v) for v in self.image_size))
        if self.segment_s <= 0:
            raise ConfigError(f"segment length must be positive, got {self.segment_s} s")
        if self.win_length <= 0 or self.hop <= 0 or self.fft_size < self.win_length:
            raise ConfigError(
                f"need fft_size >= win_length > 0 and hop > 0, got fft_size={self.fft_size}, "
                f"win_length={self.win_length}, hop={self.hop}"
            )
        if len(self.image_size) != 2 or min(self.image_size) < 1 or max(self.image_size) > 8192:
            raise ConfigError(f"image size must be two positive sizes up to 8192, got {self.image_size}")
        if self.nonfinite not in ("error", "repair"):
            raise ConfigError(f"nonfinite must be 'error' or 'repair', got {self.nonfinite!r}")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["image_size"] = list(self.image_size)
        return d


# --------------------------------------------------------------------------------------------- building


def recording_segments(path: Path, params: SpectrogramParams) -> np.ndarray:
    """All segments of one recording as resized dB spectrograms: (S, F, T) float32.

    Segments never straddle a capture boundary (captures may have different centre frequencies).
    """
    from radiofm.data.recording_open import open_recording
    from radiofm.dsp import resize, spectrogram

    rec = open_recording(path)
    seg_len = int(round(params.segment_s * rec.sample_rate_hz))
    if seg_len < params.win_length:
        raise DatasetError(
            f"{path}: a {params.segment_s * 1e3:g} ms segment at {rec.sample_rate_hz / 1e6:g} MHz is {seg_len} samples,"
            f" shorter than one {params.win_length}-sample window"
        )
    bounds = [c.sample_start for c in rec.captures] or [0]
    bounds = sorted(set(b for b in bounds if 0 <= b < rec.n_samples)) + [rec.n_samples]
    if bounds[0] != 0:
        bounds = [0] + bounds
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        for start in range(lo, hi - seg_len + 1, seg_len):
            if params.max_segments_per_recording is not None and len(out) >= params.max_segments_per_recording:
                break
            iq = rec.read(start, seg_len, nonfinite=params.nonfinite)
            spec = spectrogram(iq, fft_size=params.fft_size, win_length=params.win_length, hop=params.hop)
            out.append(resize(spec, params.image_size, mode="bilinear").astype(np.float32, copy=False))
    if not out:
        return np.zeros((0, *params.image_size), np.float32)
    return np.stack(out)


def _segments_worker(args: tuple[str, dict]) -> tuple[str, np.ndarray | None, str | None]:
    path, pdict = args
    try:
        return path, recording_segments(Path(path), SpectrogramParams(**pdict)), None
    except RadioFMError as exc:
        return path, None, str(exc)


def fingerprint(path: Path, root: Path | None = None) -> dict:
    """A recording's identity for cache keys: its path (relative to ``root``, so that neither the working
    directory nor the spelling of the folder matters), size, and a hash of the meta file and of the data file,
    whole up to 4 MiB, else of its first and last MiB and 64 blocks of 64 KiB spread evenly between (an edit in place
    longer than 1/65 of the file always changes it). Modification times are left out: the same command must give
    the same bytes, cache manifests and run records included."""
    files = [path]
    if path.suffix == ".sigmf-meta":
        try:
            files.append(sigmf_data_file(path))  # core:dataset's file where it names one
        except RecordingError:  # metadata the reader will refuse, with its own message, when it opens it
            files.append(path.with_suffix(".sigmf-data"))
    h = hashlib.sha256()
    sizes = []
    for f in files:
        try:
            st = f.stat()
        except OSError as exc:
            raise DatasetError(f"cannot read recording {path}: {f.name}: {exc.strerror}") from None
        sizes.append(st.st_size)
        with open(f, "rb") as fh:
            if st.st_size <= 4 << 20:
                h.update(fh.read())
            else:  # blocks spread over the file: catches edits without reading gigabytes
                step = (st.st_size - (2 << 20)) // 65
                blocks = [(0, 1 << 20)] + [((1 << 20) + i * step, 1 << 16) for i in range(1, 65)]
                for off, size in [*blocks, (st.st_size - (1 << 20), 1 << 20)]:
                    fh.seek(off)
                    h.update(fh.read(size))
    name = str(path)
    if root is not None:
        try:
            name = Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:  # a recording outside the root: its absolute path
            name = str(Path(path).resolve())
    return {"path": name, "bytes": sum(sizes), "sha256_sampled": h.hexdigest()}


def _params_key(params: SpectrogramParams, sources: list[dict]) -> str:
    blob = json.dumps({"schema": SCHEMA_VERSION, "params": params.to_dict(), "sources": sources}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def build_spectrogram_dataset(
    source: str | os.PathLike | Sequence[os.PathLike],
    out_dir: str | os.PathLike | None = None,
    params: SpectrogramParams | None = None,
    *,
    shard_size: int = 512,
    workers: int = 1,
    progress: bool = True,
    force: bool = False,
    cache_root: str | os.PathLike | None = None,
) -> SpectrogramDataset:
    """Build (or reuse) the cached spectrogram dataset of a folder or list of recordings.

    The cache is ``out_dir``, or a folder named by the parameters and the recordings (:func:`radiofm.data.sources.
    cache_folder`) in ``cache_root`` (``--cache-dir``) or beside the data. It is reused when its manifest has the
    same parameters and source fingerprints; otherwise it is rebuilt into a temporary folder and swapped in
    atomically. Recordings too short for one segment are skipped with a warning; a folder that yields no segment
    at all is an error.
    """
    from radiofm.data.sources import cache_folder, resolve_sources

    params = params or SpectrogramParams()
    built, paths, cache_base = resolve_sources(source, built_kind=MANIFEST_KIND)
    if built is not None:
        return SpectrogramDataset(built)
    if shard_size < 1:
        raise ConfigError(f"shard size must be positive, got {shard_size}")
    sources = [fingerprint(p, cache_base) for p in paths]
    key = _params_key(params, sources)
    out = Path(out_dir) if out_dir is not None else cache_folder(MANIFEST_KIND, params.to_dict(), cache_base, sources,
                                                                  cache_root)  # fmt: skip
    _check_cache_is_no_source(out, paths)
    manifest_path = out / "manifest.json"
    if not force and _cache_key(manifest_path) == key:
        return SpectrogramDataset(out)
    with build_lock(out):  # a second process building the same cache waits here, then reuses it
        if force or _cache_key(manifest_path) != key:
            with atomic_path(out) as tmp:
                tmp.mkdir(parents=True)
                manifest = _write_shards(tmp, paths, params, shard_size=shard_size, workers=workers, progress=progress)
                manifest.update(
                    kind=MANIFEST_KIND, schema_version=SCHEMA_VERSION, key=key, params=params.to_dict(), sources=sources
                )
                write_json(tmp / "manifest.json", manifest)
    return SpectrogramDataset(out)


def _check_cache_is_no_source(out: Path, paths: Sequence[Path]) -> None:
    """The cache folder replaces itself whole when rebuilt: it must not hold the recordings it is built from."""
    target = out.resolve()
    for p in paths:
        if target in Path(p).resolve().parents:
            raise ConfigError(f"cache folder {out} holds the recordings it would be built from ({p}); choose another")


def _cache_key(manifest_path: Path) -> str | None:
    """The key of the cache whose manifest this is; None when missing or unreadable (rebuild)."""
    try:
        return read_json(manifest_path).get("key")
    except (OSError, ValueError, AttributeError):
        return None


def _iter_segments(paths, params, workers) -> Iterator[tuple[str, np.ndarray | None, str | None]]:
    jobs = [(str(p), params.to_dict()) for p in paths]
    if workers <= 1 or len(jobs) == 1:
        yield from map(_segments_worker, jobs)
        return
    # spawn, not fork: forking after torch/FFT thread pools have started can deadlock the children
    with process_pool(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield from pool.map(_segments_worker, jobs)  # ordered: output independent of worker count


def _write_shards(tmp: Path, paths, params, *, shard_size, workers, progress) -> dict:
    shards, pending, index = [], [], []
    total = 0
    s1 = s2 = 0.0  # running sums (float64) for dataset-wide mean/std
    skipped = []

    def flush():
        nonlocal pending
        if not pending:
            return
        arr = np.concatenate(pending)
        name = f"shard_{len(shards):05d}.npy"
        np.save(tmp / name, arr)
        shards.append({"file": name, "count": int(arr.shape[0]), "sha256": _sha256(tmp / name)})
        pending = []

    bar = tqdm(total=len(paths), desc="spectrograms", unit="rec", disable=not progress, leave=False)
    for path, segs, err in _iter_segments(paths, params, workers):
        bar.update(1)
        if err is not None:
            raise DatasetError(err)
        if segs.shape[0] == 0:
            skipped.append(path)
            continue
        d = segs.astype(np.float64)
        s1 += float(d.sum())
        s2 += float(np.square(d).sum())
        index.append({"source": path, "first": total, "count": int(segs.shape[0])})
        total += segs.shape[0]
        pending.append(segs)
        if sum(p.shape[0] for p in pending) >= shard_size:
            flush()
    flush()
    bar.close()
    if skipped:
        warnings.warn(
            f"skipped {len(skipped)} recording(s) shorter than one {params.segment_s * 1e3:g} ms segment", stacklevel=2
        )
    if total == 0:
        raise DatasetError(f"no recording is long enough for one {params.segment_s * 1e3:g} ms segment")
    n = total * params.image_size[0] * params.image_size[1]
    mean = s1 / n
    std = float(np.sqrt(max(s2 / n - mean * mean, 1e-12)))
    return {"count": total, "shards": shards, "index": index, "stats": {"mean_db": mean, "std_db": std}}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------- reading


class SpectrogramDataset(torch.utils.data.Dataset):
    """Cached spectrograms, read lazily from memory-mapped shards.

    ``ds[i]`` is a normalised float32 tensor (1, F, T): (dB − mean) / std with the dataset-wide statistics
    (or ``stats`` passed in, e.g. a pretraining set's, so fine-tuning sees the same scale).
    """

    def __init__(self, folder: str | os.PathLike, *, stats: dict | None = None, verify: bool = False):
        from radiofm.data.sources import file_identity

        self.folder = Path(folder)
        mpath = self.folder / "manifest.json"
        if not mpath.exists():
            raise DatasetError(f"not a spectrogram dataset (no manifest.json): {self.folder}")
        self._manifest_id = file_identity(mpath)  # its shards are opened later: check_unchanged
        try:
            self.manifest = read_json_untrusted(mpath)
        except (OSError, JSONLimitError) as exc:
            raise DatasetError(f"unreadable manifest {mpath}: {exc}") from None
        if not isinstance(self.manifest, dict) or self.manifest.get("kind") != MANIFEST_KIND:
            kind = self.manifest.get("kind") if isinstance(self.manifest, dict) else None
            raise DatasetError(f"{self.folder} is a {str(kind)[:40]!r} dataset, expected spectrograms")
        try:  # an edited or damaged manifest: any wrong type or value is the folder's problem
            self.params = SpectrogramParams(**self.manifest["params"])
            self.stats = dict(stats or self.manifest["stats"])
            self._mean = float(self.stats["mean_db"])
            self._inv_std = 1.0 / float(self.stats["std_db"])
            shards = self.manifest["shards"]
            counts = [int(s["count"]) for s in shards]
            files = [s["file"] for s in shards]
            if not all(isinstance(f, str) for f in files):
                raise TypeError("shard file names must be strings")
        except (KeyError, TypeError, ValueError, AttributeError, ZeroDivisionError, OverflowError, ConfigError) as exc:
            raise DatasetError(f"malformed manifest {mpath} ({type(exc).__name__}: {str(exc)[:100]})") from None
        bad = [f for f in files if Path(f).name != f or f.startswith(".")]
        if bad or min(counts, default=0) < 0 or not (np.isfinite(self._mean) and np.isfinite(self._inv_std)):
            raise DatasetError(f"malformed manifest {mpath} (shard names, counts or statistics)")
        self._files, self._counts = files, counts
        self._shards: list[np.ndarray | None] = [None] * len(shards)
        self._offsets = np.cumsum([0] + counts)
        if verify:
            for f, s in zip(files, shards):
                if not (self.folder / f).is_file() or _sha256(self.folder / f) != s.get("sha256"):
                    raise DatasetError(f"checksum mismatch in {self.folder / f}: rebuild the dataset")

    def __len__(self) -> int:
        return int(self._offsets[-1])

    @property
    def image_size(self) -> tuple[int, int]:
        return self.params.image_size

    def _shard(self, k: int) -> np.ndarray:
        if self._shards[k] is None:  # opened lazily so DataLoader workers each map their own view
            from radiofm.data.sources import check_unchanged

            check_unchanged(self.folder, self._manifest_id)
            path = self.folder / self._files[k]
            try:
                arr = np.load(path, mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError, EOFError) as exc:
                raise DatasetError(f"unreadable shard {path} ({str(exc)[:100]}): rebuild the dataset") from None
            want = (self._counts[k], *self.params.image_size)
            if arr.shape != want or arr.dtype != np.float32:
                raise DatasetError(f"shard {path} holds {arr.dtype} {arr.shape}, expected float32 {want}")
            self._shards[k] = arr
        return self._shards[k]

    def raw(self, i: int) -> np.ndarray:
        """Item ``i`` in dB, not normalised: (F, T)."""
        if not 0 <= i < len(self):
            raise IndexError(i)
        k = int(np.searchsorted(self._offsets, i, side="right") - 1)
        return np.asarray(self._shard(k)[i - self._offsets[k]])

    def __getitem__(self, i: int) -> torch.Tensor:
        x = (self.raw(i) - self._mean) * self._inv_std
        return torch.from_numpy(x.astype(np.float32, copy=False))[None]

    def __getstate__(self):  # memmaps are reopened in worker processes
        d = dict(self.__dict__)
        d["_shards"] = [None] * len(self._shards)
        return d
