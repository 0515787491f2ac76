"""Spectrogram-image datasets — the form the CommRad RF signal-identification set takes in the authors' follow-up
work: a flat folder of PNG images whose class is the file-name prefix before the first ``_`` (``wifi_0042.png``).

The follow-up's transform, reproduced by :func:`image_transform`: rotate the image 90° counter-clockwise (PIL's
``ROTATE_90``), drop alpha, convert to greyscale (ITU-R 601 luma 0.2989 R + 0.587 G + 0.114 B, as torchvision),
resize to 224 × 224 (bicubic, anti-aliased), normalise with mean 0.5 and std 0.5 (values in [-1, 1]).

Orientation: :func:`write_spectrogram_png` stores a spectrogram as a waterfall — time down the rows (first frame at
the top), frequency along the columns (lowest at the left) — so the transform's rotation turns it into a
spectrogram with time along the width and frequency up the height: row 0 is then the *highest* frequency, the
reverse of the (1, H, W) arrays of :func:`radiofm.data.signals.signal_spectrogram`, whose row 0 is the lowest.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from radiofm.data.signals import LabelledFiles, SignalSpectrogramParams, signal_spectrogram
from radiofm.data.sources import files_under
from radiofm.errors import ConfigError, DatasetError
from radiofm.io import atomic_path

LUMA = (0.2989, 0.587, 0.114)  # torchvision rgb_to_grayscale weights (ITU-R 601-2)


def label_from_name(path: Path) -> str | None:
    """The class of an image file: its name's prefix before the first ``_`` (None when there is none)."""
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    prefix, sep, _ = stem.partition("_")
    return prefix if sep and prefix else None


def open_image_dataset(folder: str | os.PathLike) -> LabelledFiles:
    """Index a folder of PNG spectrogram images labelled by file-name prefix (searched recursively, hidden files and
    folders skipped). DatasetError when the folder is missing, holds no PNG, or a file name has no ``<class>_``
    prefix (naming an example)."""
    root = Path(folder)
    if not root.is_dir():
        raise DatasetError(f"image folder {root} not found" if not root.exists() else f"{root} is not a folder")
    pngs = sorted(p for p in files_under(root) if p.suffix.lower() == ".png" and p.is_file())
    if not pngs:
        raise DatasetError(f"no PNG images in {root}")
    items = [(p, label_from_name(p)) for p in pngs]
    bad = [p for p, label in items if label is None]
    if len(bad) == len(items):
        raise DatasetError(
            f"{root}: no image name has a class prefix before '_' (e.g. {bad[0].name}); expected <class>_<id>.png"
        )
    if bad:
        raise DatasetError(f"{bad[0]}: no class prefix before '_' in the file name; {len(bad)} of {len(items)} images")
    return LabelledFiles(root, items)


def read_png(path: str | os.PathLike) -> np.ndarray:
    """A PNG as float32 in [0, 1]: (H, W) or (H, W, C) with C in 1–4, read with ``matplotlib.image.imread``.
    DatasetError when the file is unreadable or not an image of that rank."""
    import matplotlib.image

    p = Path(path)
    try:
        img = matplotlib.image.imread(p, format="png")
    except Exception as exc:  # PIL/matplotlib raise many types for corrupt files
        msg = " ".join(str(exc).split())[:120]
        raise DatasetError(f"{p}: unreadable PNG ({type(exc).__name__}: {msg})") from None
    img = np.asarray(img)
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (1, 2, 3, 4)) or min(img.shape[:2]) < 1:
        raise DatasetError(f"{p}: image has shape {img.shape}; expected (H, W) or (H, W, C) with C = 1–4")
    if img.dtype == np.uint8:
        img = img.astype(np.float32) / 255
    elif img.dtype == np.uint16:
        img = img.astype(np.float32) / 65535
    return img.astype(np.float32, copy=False)


def image_transform(img: np.ndarray, size: int | tuple[int, int] = 224) -> np.ndarray:
    """The follow-up's transform: (H, W[, C]) in [0, 1] → rotate 90° CCW → greyscale → bicubic resize → (x − 0.5)
    / 0.5. Returns float32 (1, h, w)."""
    import torch
    import torch.nn.functional as F

    x = np.asarray(img, np.float32)
    if x.ndim == 3:
        if x.shape[2] >= 3:
            x = x[..., 0] * LUMA[0] + x[..., 1] * LUMA[1] + x[..., 2] * LUMA[2]  # alpha dropped, as PIL's "RGB"
        else:
            x = x[..., 0]  # L or LA
    elif x.ndim != 2:
        raise ConfigError(f"image_transform: expected (H, W) or (H, W, C), got shape {x.shape}")
    x = np.rot90(x, k=1)  # counter-clockwise: the right-hand column becomes the top row
    h, w = (size, size) if isinstance(size, int) else size
    t = torch.from_numpy(np.ascontiguousarray(x))[None, None]
    y = F.interpolate(t, size=(int(h), int(w)), mode="bicubic", align_corners=False, antialias=True)
    return ((y[0].numpy() - 0.5) / 0.5).astype(np.float32)


def load_image(path: str | os.PathLike, size: int | tuple[int, int] = 224) -> np.ndarray:
    """:func:`read_png` then :func:`image_transform`: float32 (1, h, w) in about [-1, 1]."""
    return image_transform(read_png(path), size)


def write_spectrogram_png(
    path: str | os.PathLike, image: np.ndarray, *, vmin: float | None = None, vmax: float | None = None
) -> Path:
    """Write a spectrogram (F, T) (or (1, F, T)), row 0 = lowest frequency, as an 8-bit greyscale waterfall PNG
    (time down, frequency across): values map linearly from [vmin, vmax] (default: the image's own range) to
    black…white. Written atomically; returns the path."""
    import matplotlib.image

    x = np.asarray(image, np.float64)
    if x.ndim == 3 and x.shape[0] == 1:
        x = x[0]
    if x.ndim != 2 or not np.isfinite(x).all():
        raise ConfigError(f"write_spectrogram_png: need a finite (F, T) image, got shape {x.shape}")
    lo = float(x.min()) if vmin is None else float(vmin)
    hi = float(x.max()) if vmax is None else float(vmax)
    grey = np.clip((x - lo) / (hi - lo), 0, 1) if hi > lo else np.zeros_like(x)
    grey = np.round(grey * 255).astype(np.uint8).T  # (T, F): waterfall
    out = Path(path)
    with atomic_path(out) as tmp:
        matplotlib.image.imsave(tmp, np.repeat(grey[..., None], 3, axis=2), format="png")
    return out


def export_image_dataset(
    source: LabelledFiles,
    out_dir: str | os.PathLike,
    params: SignalSpectrogramParams | None = None,
    *,
    db_range: tuple[float, float] | None = None,
    progress: bool = True,
) -> LabelledFiles:
    """Render every recording of a labelled SigMF dataset as ``<class>_<NNNNN>.png`` in one flat folder — the
    CommRad RF image layout. ``db_range`` fixes the dB → grey mapping for all images (default: each image's own
    min–max, as a per-image colour scale in SDR software would). Labels must not contain ``_``."""
    from tqdm import tqdm

    out = Path(out_dir)
    for _, label in source.items:
        if "_" in label or os.sep in label:
            raise DatasetError(f"class {label!r} contains '_' or a path separator; it cannot be an image-name prefix")
    with atomic_path(out) as tmp:
        tmp.mkdir(parents=True)
        for i, (path, label) in enumerate(tqdm(source.items, unit="image", desc="images", disable=not progress)):
            spec = signal_spectrogram(path, params)
            lo, hi = db_range if db_range is not None else (None, None)
            write_spectrogram_png(tmp / f"{label}_{i:05d}.png", spec, vmin=lo, vmax=hi)
    return open_image_dataset(out)
