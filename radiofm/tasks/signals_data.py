"""Signal identification's data (see :mod:`radiofm.tasks.signals`): a labelled folder of SigMF recordings or PNG
images, the checkpoint's front end for it, the images (cached beside the recordings by their fingerprint), the
in-memory dataset and its augmentation."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from radiofm.data.recording_open import sigmf_data_file
from radiofm.data.signals import LabelledFiles, SignalSpectrogramParams, open_signal_dataset, signal_spectrogram
from radiofm.data.sources import files_under
from radiofm.data.spectrogram_images import load_image, open_image_dataset
from radiofm.data.spectrograms import fingerprint
from radiofm.errors import ConfigError, DatasetError
from radiofm.io import atomic_path
from radiofm.output_folders import CACHE_DIR

FORMATS = ("sigmf", "png")


def open_labelled(folder: str | Path) -> tuple[LabelledFiles, str]:
    """(labelled files, "sigmf" | "png") of a signal-identification folder: SigMF recordings if it holds any, else
    PNG images. DatasetError when it holds neither (or a reader refuses it)."""
    root = Path(folder)
    if not root.is_dir():
        raise DatasetError(f"signal dataset folder {root} not found" if not root.exists() else f"{root} is no folder")
    if any(p.suffix.lower() == ".sigmf-meta" for p in files_under(root)):
        return open_signal_dataset(root), "sigmf"
    if any(p.suffix.lower() == ".png" for p in files_under(root)):
        return open_image_dataset(root), "png"
    raise DatasetError(f"{root}: no SigMF recordings (.sigmf-meta) or PNG spectrogram images")


def auto_zoom_rows(image_size: tuple[int, int], fft_size: int) -> int:
    """The default zoom of the SigMF front end: half the image height, at most ``fft_size`` bins."""
    return min(int(image_size[0]) // 2, int(fft_size))


def frontend_config(
    fmt: str,
    image_size: tuple[int, int],
    *,
    fft_size: int = 1024,
    hop: int = 1024,
    zoom_rows: int | None = None,
    fine_rows: int = 0,
    fine_fft_size: int = SignalSpectrogramParams.fine_fft_size,
    sample_rate_hz: float | None = None,
) -> dict:
    """The front end a checkpoint records (config["frontend"]) and evaluation repeats. ``zoom_rows`` None: the
    default (:func:`auto_zoom_rows`); 0: one-scale (then not recorded, as before the zoom existed). ``fine_rows``
    > 0 adds the fine zoom (recorded with its FFT length; a checkpoint without it has none). ``sample_rate_hz``:
    the training rate, whose bin width and frame duration every recording is analysed at (none: as recorded)."""
    if fmt not in FORMATS:
        raise ConfigError(f"front end format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    out = {"format": fmt, "image_size": [int(v) for v in image_size]}
    if fmt == "sigmf":
        zoom = auto_zoom_rows(image_size, fft_size) if zoom_rows is None else int(zoom_rows)
        SignalSpectrogramParams(
            fft_size=fft_size, win_length=fft_size, hop=hop, image_size=image_size, zoom_rows=zoom,
            fine_rows=int(fine_rows), fine_fft_size=int(fine_fft_size), sample_rate_hz=sample_rate_hz,
        )  # validates  # fmt: skip
        out.update(fft_size=int(fft_size), hop=int(hop))
        if zoom:
            out["zoom_rows"] = zoom
        if fine_rows:
            out.update(fine_rows=int(fine_rows), fine_fft_size=int(fine_fft_size))
        if sample_rate_hz is not None:
            out["sample_rate_hz"] = float(sample_rate_hz)
    return out


def frontend_params(frontend: dict) -> SignalSpectrogramParams:
    """The SigMF front end a recorded ``frontend`` (:func:`frontend_config`) describes."""
    return SignalSpectrogramParams(
        fft_size=frontend["fft_size"],
        win_length=frontend["fft_size"],
        hop=frontend["hop"],
        image_size=tuple(frontend["image_size"]),
        zoom_rows=int(frontend.get("zoom_rows", 0)),
        fine_rows=int(frontend.get("fine_rows", 0)),
        fine_fft_size=int(frontend.get("fine_fft_size", SignalSpectrogramParams.fine_fft_size)),
        sample_rate_hz=frontend.get("sample_rate_hz"),
    )


def training_rate(files: LabelledFiles, fmt: str) -> float | None:
    """The sample rate a SigMF training set is imaged at: its first recording's (others, in training or later, are
    analysed on its bins: :func:`radiofm.data.signals_frontend.signal_spectrogram`); None for PNG images."""
    if fmt != "sigmf" or not files.items:
        return None
    from radiofm.data.recording_open import open_recording

    return open_recording(files.items[0][0]).sample_rate_hz


def load_images(files: LabelledFiles, frontend: dict, *, progress: bool = False) -> np.ndarray:
    """float32 (N, 1, H, W): every item of ``files`` through the front end ``frontend`` (:func:`frontend_config`)."""
    size = tuple(frontend["image_size"])
    params = frontend_params(frontend) if frontend["format"] == "sigmf" else None
    out = np.empty((len(files), 1, *size), dtype=np.float32)
    bar = tqdm(files.items, desc="spectrograms", unit="item", disable=not progress, leave=False, file=sys.stderr)
    for i, (path, _) in enumerate(bar):
        out[i] = signal_spectrogram(path, params) if params is not None else load_image(path, size)
    if not np.isfinite(out).all():
        bad = files.items[int(np.flatnonzero(~np.isfinite(out).reshape(len(files), -1).all(1))[0])][0]
        raise DatasetError(f"{bad}: spectrogram holds NaN or Inf values")
    return out


def _stat(path: Path) -> list[int]:
    st = path.stat()  # ctime and inode too: a copy that keeps the mtime (cp -p, rsync -t, touch -r) still changes
    return [int(st.st_size), int(st.st_mtime_ns), int(st.st_ctime_ns), int(st.st_ino)]


def files_fingerprint(files: LabelledFiles) -> str:
    """The content of a data set's files, as pretraining fingerprints its recordings
    (:func:`radiofm.data.spectrograms.fingerprint`: paths from the root, sizes, sampled hashes; no times, so the
    same files give the same record anywhere): `finetune signals --resume` on recordings changed since the run
    began went on without a word (session 60's review)."""
    prints = [[fingerprint(path, files.root), label] for path, label in files.items]
    return hashlib.sha256(json.dumps(prints, sort_keys=True).encode()).hexdigest()[:16]


def cached_images(files: LabelledFiles, frontend: dict, *, progress: bool = False) -> np.ndarray:
    """:func:`load_images`, cached as ``ROOT/.radiofm-cache/signals-<key>.npy`` (``~/.cache/radiofm`` when ``ROOT`` is
    read-only; the key then holds the folder's own path too): the key hashes the front end and every item's path,
    label, size, mtime, ctime and inode (meta and data), so an edited, replaced or added file rebuilds it. Reading
    SigMF validates every metadata file — the cache saves that per run."""
    items = []
    for path, label in files.items:
        entry = [path.relative_to(files.root).as_posix(), label, *_stat(path)]
        if path.suffix == ".sigmf-meta":
            entry += _stat(sigmf_data_file(path))
        items.append(entry)
    keyed = {"frontend": frontend, "items": items, "version": 2}
    base = files.root / CACHE_DIR
    if not os.access(files.root, os.W_OK):  # one cache folder for every read-only data folder: tell them apart
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "radiofm"
        keyed["root"] = str(files.root.resolve())
    key = hashlib.sha256(json.dumps(keyed, sort_keys=True).encode()).hexdigest()[:16]
    path = base / f"signals-{key}.npy"
    if path.is_file():
        try:
            images = np.load(path, allow_pickle=False)
            if images.shape[0] == len(files) and images.dtype == np.float32:
                return images
        except (OSError, ValueError):
            pass  # unreadable cache: rebuilt below
    images = load_images(files, frontend, progress=progress)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, images, allow_pickle=False)
    return images


class SignalImages(torch.utils.data.Dataset):
    """In-memory images (N, 1, H, W) and labels (N,): item i -> {"x": (1, H, W) float32, "y": int64 scalar}."""

    def __init__(self, images: np.ndarray, labels: np.ndarray):
        self.x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
        self.y = torch.as_tensor(np.asarray(labels), dtype=torch.int64)

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def __getitem__(self, i: int) -> dict:
        return {"x": self.x[i], "y": self.y[i]}


def time_roll(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Label-preserving augmentation of images (B, C, H, W): a circular shift along time (W) per sample, drawn from
    ``generator`` — a capture's class does not depend on where in it its bursts fall."""
    B, W = x.shape[0], x.shape[-1]
    shift = (torch.rand(B, generator=generator) * W).long().to(x.device)
    idx = (torch.arange(W, device=x.device)[None] - shift[:, None]) % W
    return x.gather(-1, idx[:, None, None].expand_as(x))
