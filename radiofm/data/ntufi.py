"""NTU-Fi HAR (CSI human activity sensing, paper B's HSD): the real folder layout, read and written unchanged.

Layout (SenseFi benchmark, github.com/xyanchen/WiFi-CSI-Sensing-Benchmark)::

    ROOT/train_amp/<class>/*.mat     936 files (156 per class)
    ROOT/test_amp/<class>/*.mat      264 files (44 per class)

Each .mat holds ``CSIamp``: 342 × 2000 = (3 antennas × 114 subcarriers) × 2000 packets at 500 Hz, rows
antenna-major (row = 114·antenna + subcarrier, as SenseFi reshapes it), amplitude only. Files saved by MATLAB
as v7.3 (HDF5) are read too: h5py sees them transposed, 2000 × 342, and since 342 ≠ 2000 the orientation is
never ambiguous. Classes are the folder names in sorted order (:data:`CLASSES`), the same indices in both
splits whichever folders exist: some public loaders number classes by unsorted directory order, a bug that
makes labels depend on the file system. The official split is kept: test files are only ever read as test.

Preprocessing (paper B §II-B): resize each (3, 114, 2000) recording to 3 × 224 × 224 (bilinear,
anti-aliased along time) and standardise each channel with mean/std of the resized TRAIN split
(:func:`fit_sensing_norm`; a :class:`~radiofm.data.channel_norm.ChannelNorm` the model stores and evaluation
reuses).

:func:`write_ntufi` writes the synthetic stand-in (:mod:`radiofm.synth.csi_har`) in this layout, plus
``ROOT/radiofm-synthetic.json`` (seed, room, per-file activity parameters), which the reader ignores.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm import tqdm

from radiofm.data.channel_norm import ChannelNorm, fit_channel_norm
from radiofm.data.matfile import listed, load_mat, mat_shapes, write_mat73
from radiofm.errors import ConfigError, DatasetError, check_seed
from radiofm.io import atomic_path, check_replaceable, write_json
from radiofm.synth.body_motion import ACTIVITIES
from radiofm.workers import process_pool

CLASSES = ACTIVITIES  # box, circle, clean, fall, run, walk (sorted); paper B: boxing, arm circling, ...
SPLIT_DIRS = {"train": "train_amp", "test": "test_amp"}
KEY = "CSIamp"
N_ANTENNAS, N_SUBCARRIERS, N_SAMPLES = 3, 114, 2000
SAMPLE_RATE_HZ = 500.0
OFFICIAL_PER_CLASS = {"train": 156, "test": 44}  # 936 / 264 files
SENSING_IMAGE_SIZE = (224, 224)
MANIFEST = "radiofm-synthetic.json"
KIND = "ntufi-har-synthetic"
_V5_HEADER = b"MATLAB 5.0 MAT-file, Platform: posix, Created by: radiofm".ljust(116, b" ")
_LAYOUT = "expected the NTU-Fi HAR layout ROOT/{train_amp,test_amp}/<class>/*.mat"


_ROWS = N_ANTENNAS * N_SUBCARRIERS  # rows of CSIamp in MATLAB's orientation


def _no_key(path: Path, found) -> DatasetError:
    return DatasetError(f"{path}: no '{KEY}' variable (found: {listed(found)})")


def _check_shape(path: Path, shape: tuple[int, ...]) -> None:
    """DatasetError unless ``shape`` is CSIamp's 342 x 2000, in MATLAB's orientation or h5py's (transposed)."""
    if tuple(shape) not in ((_ROWS, N_SAMPLES), (N_SAMPLES, _ROWS)):
        raise DatasetError(
            f"{path}: '{KEY}' has shape {tuple(shape)}, expected {_ROWS}x{N_SAMPLES} (3 antennas x 114 x 2000)"
        )


def read_csi_mat(path: str | os.PathLike) -> np.ndarray:
    """One NTU-Fi recording: float32 (3, 114, 2000), from a v5 or v7.3 .mat with ``CSIamp``.

    DatasetError (one line, naming the file) when it is unreadable, lacks ``CSIamp`` (listing the variables
    it has), has another shape, is not real-valued, or holds NaN/Inf.
    """
    path = Path(path)
    version, arrays, found = load_mat(path, [KEY])
    if KEY not in arrays:
        raise _no_key(path, found)
    x = arrays[KEY]
    if not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise DatasetError(f"{path}: '{KEY}' must be a real amplitude array, got dtype {x.dtype}")
    _check_shape(path, x.shape)
    if x.shape == (N_SAMPLES, _ROWS):  # v7.3 seen by h5py (column-major), or a transposed save
        x = x.T
    x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise DatasetError(f"{path}: '{KEY}' holds {int((~np.isfinite(x)).sum())} NaN/Inf values")
    return x.reshape(N_ANTENNAS, N_SUBCARRIERS, N_SAMPLES)


def write_csi_mat(path: str | os.PathLike, amplitude: np.ndarray, *, version: str = "5") -> Path:
    """Write one recording (3, 114, 2000) as ``CSIamp`` 342 × 2000, MATLAB v5 (scipy) or v7.3 (HDF5). Atomic."""
    x = np.asarray(amplitude)
    if x.shape != (N_ANTENNAS, N_SUBCARRIERS, N_SAMPLES):
        raise ConfigError(f"CSI amplitude must be {(N_ANTENNAS, N_SUBCARRIERS, N_SAMPLES)}, got {x.shape}")
    if version not in ("5", "7.3"):
        raise ConfigError(f"MATLAB file version must be '5' or '7.3', got {version!r}")
    x = np.ascontiguousarray(x.reshape(N_ANTENNAS * N_SUBCARRIERS, N_SAMPLES))
    path = Path(path)
    with atomic_path(path) as tmp:
        if version == "5":
            import scipy.io

            with open(tmp, "wb") as fh:
                scipy.io.savemat(fh, {KEY: x}, format="5", do_compression=False, oned_as="column")
                fh.seek(0)  # scipy stamps the creation time into the header: fix it, same data -> same bytes
                fh.write(_V5_HEADER)
        else:
            write_mat73(tmp, {KEY: x.T})  # h5py must see the column-major transpose, as MATLAB writes it
    return path


class NTUFiDataset:
    """One split of an NTU-Fi HAR folder. Item i: (CSI float32 (3, 114, 2000), label int), or the transform's output.

    ``files`` (sorted by class then name) and ``labels`` (int64 indices into :data:`CLASSES`) are fixed at open;
    files are read on access, so a damaged file raises DatasetError naming it when it is reached.
    """

    def __init__(self, root: str | os.PathLike, split: str = "train", *, transform: Callable | None = None):
        if split not in SPLIT_DIRS:
            raise ConfigError(f"NTU-Fi split must be 'train' or 'test', got {split!r}")
        self.root = Path(root)
        self.split = split
        self.classes = CLASSES
        self.transform = transform
        self.files, labels = _scan(self.root, split)
        self.labels = np.asarray(labels, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.files)

    def read(self, i: int) -> np.ndarray:
        """The raw recording i: float32 (3, 114, 2000)."""
        return read_csi_mat(self.files[i])

    def __getitem__(self, i: int):
        x = self.read(i)
        return (self.transform(x) if self.transform is not None else x), int(self.labels[i])

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=len(CLASSES))
        return {c: int(n) for c, n in zip(CLASSES, counts)}

    def __repr__(self) -> str:
        return f"NTUFiDataset({str(self.root)!r}, split={self.split!r}, files={len(self)})"


def check_ntufi(root: str | os.PathLike) -> dict[str, int]:
    """Check a whole NTU-Fi HAR folder before long work: both splits in the layout, every file's ``CSIamp`` present
    with the right shape (from the file headers; the data are not read), and no test class without training
    files. DatasetError (one line, naming the file) at the first problem; returns the file count per split."""
    root = Path(root)
    labels = {}
    for split in SPLIT_DIRS:
        files, labels[split] = _scan(root, split)
        for path in files:
            _, shapes = mat_shapes(path)
            if KEY not in shapes:
                raise _no_key(path, sorted(shapes))
            _check_shape(path, shapes[KEY])
    _refuse_class_gap(root, labels["train"], labels["test"])
    return {split: len(found) for split, found in labels.items()}


def check_split_classes(root: str | os.PathLike) -> None:
    """DatasetError when the test split holds a class with no training files (it could never be predicted)."""
    root = Path(root)
    if (root / SPLIT_DIRS["test"]).is_dir():
        _refuse_class_gap(root, _scan(root, "train")[1], _scan(root, "test")[1])


def _refuse_class_gap(root: Path, train_labels: list[int], test_labels: list[int]) -> None:
    missing = sorted(set(test_labels) - set(train_labels))
    if missing:
        names = ", ".join(CLASSES[i] for i in missing)
        raise DatasetError(f"{root}: class(es) {names} in {SPLIT_DIRS['test']}/ but not in {SPLIT_DIRS['train']}/")


def open_ntufi(root: str | os.PathLike, split: str = "train", *, transform: Callable | None = None) -> NTUFiDataset:
    """Open one split of an NTU-Fi HAR folder (see the module docstring); DatasetError when it is not that layout."""
    return NTUFiDataset(root, split, transform=transform)


def _scan(root: Path, split: str) -> tuple[list[Path], list[int]]:
    if not root.is_dir():
        raise DatasetError(f"{root}: {'a file, not a folder' if root.exists() else 'no such folder'} ({_LAYOUT})")
    split_dir = root / SPLIT_DIRS[split]
    if not split_dir.is_dir():
        raise DatasetError(f"{root} has no {SPLIT_DIRS[split]}/ folder ({_LAYOUT})")
    files, labels = [], []
    for entry in sorted(split_dir.iterdir()):
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        if entry.name not in CLASSES:
            raise DatasetError(
                f"{entry}: class folder {entry.name!r} is not an NTU-Fi HAR class ({', '.join(CLASSES)})"
            )
        mats = sorted(p for p in entry.iterdir() if p.suffix.lower() == ".mat" and not p.name.startswith("."))
        files += mats
        labels += [CLASSES.index(entry.name)] * len(mats)
    if not files:
        raise DatasetError(f"{split_dir}: no .mat files in any class folder ({_LAYOUT})")
    return files, labels


# ------------------------------------------------------------------------------------------------ preprocessing
def fit_sensing_norm(
    train: NTUFiDataset, image_size: tuple[int, int] = SENSING_IMAGE_SIZE, *, progress: bool = True
) -> ChannelNorm:
    """Per-antenna mean/std of the TRAIN split resized to ``image_size``; ConfigError for any other split."""
    if train.split != "train":
        raise ConfigError(f"sensing statistics must come from the train split, got the {train.split!r} split")
    bar = tqdm(range(len(train)), desc="sensing statistics", unit="file", disable=not progress)
    source = f"NTU-Fi {train.root} train_amp, {len(train)} files"
    return fit_channel_norm((train.read(i) for i in bar), image_size, source=source)


def sensing_transform(x: np.ndarray, norm: ChannelNorm) -> np.ndarray:
    """(3, 114, 2000) CSI -> float32 (3, H, W): resized (bilinear) and standardised per antenna with ``norm``."""
    return norm(x)


# ------------------------------------------------------------------------------------------------ synthetic set
def write_ntufi(
    root: str | os.PathLike,
    n_train_per_class: int = OFFICIAL_PER_CLASS["train"],
    n_test_per_class: int = OFFICIAL_PER_CLASS["test"],
    seed: int = 0,
    workers: int = 1,
    progress: bool = True,
    *,
    mat_version: str = "5",
) -> Path:
    """Write the synthetic NTU-Fi HAR stand-in into ``root`` (atomic: a reader never sees half a set).

    One room (drawn from ``seed``) for both splits, as NTU-Fi was recorded; recording i of class c in a split
    is drawn from ``SeedSequence([seed, split, c, i])`` alone, so the bytes do not depend on ``workers`` and
    train and test recordings are different draws. Refuses a folder that holds ``train_amp``/``test_amp`` and is not a
    synthetic set written here (it might be the real dataset); other files in ``root`` stay.
    """
    from radiofm.synth import csi_har

    for name, value, low in (("n_train_per_class", n_train_per_class, 1), ("n_test_per_class", n_test_per_class, 1)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or not low <= value <= 100_000:
            raise ConfigError(f"{name} must be an integer in {low}..100000, got {value!r}")
    if isinstance(workers, bool) or not isinstance(workers, int | np.integer) or workers < 1:
        raise ConfigError(f"workers must be an integer >= 1, got {workers!r}")
    seed = check_seed(seed)
    if mat_version not in ("5", "7.3"):
        raise ConfigError(f"mat_version must be '5' or '7.3', got {mat_version!r}")
    root = Path(root)
    _check_replaceable(root)
    env = csi_har.draw_environment(np.random.default_rng(np.random.SeedSequence([int(seed), 2**31])))
    counts = {"train": int(n_train_per_class), "test": int(n_test_per_class)}
    jobs = [(s, c, i) for s in SPLIT_DIRS for c in range(len(CLASSES)) for i in range(counts[s])]
    with atomic_path(root) as tmp:
        tmp.mkdir()
        render = functools.partial(_render_file, out=tmp, seed=int(seed), env=env, version=mat_version)
        bar = dict(total=len(jobs), desc="ntufi synthetic", unit="file", disable=not progress)
        if workers == 1:
            metas = [render(j) for j in tqdm(jobs, **bar)]
        else:
            ctx = multiprocessing.get_context("spawn")
            with process_pool(int(workers), mp_context=ctx) as pool:
                metas = list(tqdm(pool.map(render, jobs, chunksize=4), **bar))
        manifest = {
            "kind": KIND,
            "schema_version": 1,
            "seed": int(seed),
            "mat_version": mat_version,
            "classes": list(CLASSES),
            "per_class": counts,
            "sample_rate_hz": SAMPLE_RATE_HZ,
            "unit": "dB (20*log10|H| + output gain), see radiofm.synth.csi_har",
            "environment": env.describe(),
            "files": metas,
        }
        write_json(tmp / MANIFEST, manifest)
    return root


def _check_replaceable(root: Path) -> None:
    outputs = (*SPLIT_DIRS.values(), MANIFEST)
    check_replaceable(root, outputs, kind_file=MANIFEST, kind=KIND, what="a synthetic NTU-Fi set", error=ConfigError)


def _render_file(job: tuple[str, int, int], *, out: Path, seed: int, env, version: str) -> dict:
    """Worker: draw recording (split, class, i) and write it. Top level so spawned workers can pickle it."""
    from radiofm.synth import csi_har

    split, c, i = job
    rng = np.random.default_rng(np.random.SeedSequence([seed, list(SPLIT_DIRS).index(split), c, i]))
    amplitude, meta = csi_har.synthesize_recording(CLASSES[c], rng, environment=env)
    rel = Path(SPLIT_DIRS[split]) / CLASSES[c] / f"{CLASSES[c]}_{i:04d}.mat"
    (out / rel.parent).mkdir(parents=True, exist_ok=True)
    write_csi_mat(out / rel, amplitude, version=version)
    return {"file": rel.as_posix(), **meta}


__all__ = [
    "CLASSES",
    "KEY",
    "OFFICIAL_PER_CLASS",
    "SENSING_IMAGE_SIZE",
    "SPLIT_DIRS",
    "NTUFiDataset",
    "check_ntufi",
    "check_split_classes",
    "fit_sensing_norm",
    "open_ntufi",
    "read_csi_mat",
    "sensing_transform",
    "write_csi_mat",
    "write_ntufi",
]
