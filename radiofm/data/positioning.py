"""5G NR positioning CSI files, in the layout of the public "CSI dataset towards 5G NR high-precision positioning".

The public files (IEEE Dataport, Gao, Wang, Lv 2021; e.g. ``dataset_SNR50_outdoor.mat``) are MATLAB v7.3, i.e.
HDF5, and public code reads them with h5py as ``f["features"]`` and ``f["labels"]["position"]``. As h5py sees
them (the transpose of MATLAB's column-major view, see :mod:`radiofm.data.matfile`): ``features`` is
(N, C, H, W) = (3876, 4, 16, 193), float64, one channel per base station, and ``labels/position`` is (N, 3),
the UE position in metres. We read exactly that; a position array stored the other way round, (3, N), is
accepted when N ≠ 3. :func:`write_positioning` writes the same structure (features stored as float32 to halve
the size; the reader accepts any real dtype).

Train and evaluate on separate files: :func:`write_positioning_files` writes ``train.mat`` and ``test.mat``
from one scene, the test UEs at least 0.25 m from every training UE, plus ``scene.json`` (geometry, seed, the
position scaler). :class:`PositionScaler` maps positions to [−1, 1] inside the box and back, the follow-up
code's convention (outdoor box 80 × 60 × 40 m).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from radiofm.data.channel_norm import ChannelNorm, fit_channel_norm
from radiofm.data.matfile import is_hdf5, listed, load_mat, write_mat73
from radiofm.errors import ConfigError, DatasetError, check_seed
from radiofm.io import atomic_path, check_replaceable, write_json

FEATURES = "features"
POSITION = "labels/position"
KIND = "positioning-synthetic"
_CHUNK = 128  # positions rendered per step (fixed: the noise draws depend on it, the bytes must not on anything else)


@dataclass
class PositioningData:
    """One positioning file in memory."""

    path: Path
    features: np.ndarray  # float32 (N, C, H, W): C base stations, H x W CSI image each
    positions: np.ndarray  # float64 (N, 3): UE position, m

    def __len__(self) -> int:
        return len(self.features)


def open_positioning(path: str | os.PathLike) -> PositioningData:
    """Read a positioning file (see the module docstring); DatasetError (one line, naming the file) otherwise."""
    path = Path(path)
    if path.is_file() and not is_hdf5(path):
        raise DatasetError(f"{path}: not a MATLAB v7.3 (HDF5) file; the positioning layout is v7.3 (save with -v7.3)")
    _, arrays, found = load_mat(path, [FEATURES, POSITION])
    for name in (FEATURES, POSITION):
        if name not in arrays:
            raise DatasetError(f"{path}: no '{name}' dataset (found: {listed(found)})")
    x, pos = arrays[FEATURES], arrays[POSITION]
    for name, a in ((FEATURES, x), (POSITION, pos)):
        if not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
            raise DatasetError(f"{path}: '{name}' must be real numbers, got dtype {a.dtype}")
    if x.ndim != 4 or min(x.shape) == 0:
        raise DatasetError(f"{path}: '{FEATURES}' has shape {x.shape}, expected (N, C, H, W) with N, C, H, W > 0")
    n = x.shape[0]
    if pos.ndim == 2 and pos.shape == (3, n) and n != 3:
        pos = pos.T
    if pos.shape != (n, 3):
        raise DatasetError(f"{path}: '{POSITION}' has shape {pos.shape}, expected ({n}, 3) to match {n} feature images")
    x = x.astype(np.float32)
    pos = pos.astype(np.float64)
    for name, a in ((FEATURES, x), (POSITION, pos)):
        bad = int((~np.isfinite(a)).sum())
        if bad:
            raise DatasetError(f"{path}: '{name}' holds {bad} NaN/Inf values")
    return PositioningData(path=path, features=x, positions=pos)


def write_positioning(path: str | os.PathLike, features: np.ndarray, positions: np.ndarray) -> Path:
    """Write features (N, C, H, W) and positions (N, 3) as a MATLAB v7.3 positioning file, atomically."""
    x = np.asarray(features, dtype=np.float32)
    pos = np.asarray(positions, dtype=np.float64)
    if x.ndim != 4 or pos.shape != (len(x), 3):
        raise ConfigError(f"expected features (N, C, H, W) and positions (N, 3), got {x.shape} and {pos.shape}")
    path = Path(path)
    with atomic_path(path) as tmp:
        write_mat73(tmp, {FEATURES: x, POSITION: pos})
    return path


@dataclass(frozen=True)
class PositionScaler:
    """Positions (m) <-> [−1, 1] per axis inside the box [low_m, high_m] (the follow-up code's convention)."""

    low_m: tuple[float, float, float] = (0.0, 0.0, 0.0)  # box corner mapped to −1
    high_m: tuple[float, float, float] = (80.0, 60.0, 40.0)  # box corner mapped to +1 (outdoor box)

    def __post_init__(self) -> None:
        low, high = np.asarray(self.low_m, float), np.asarray(self.high_m, float)
        if low.shape != (3,) or high.shape != (3,) or not np.all(high > low):
            raise ConfigError(f"PositionScaler needs 3 lows below 3 highs, got {self.low_m} and {self.high_m}")
        object.__setattr__(self, "low_m", tuple(low.tolist()))
        object.__setattr__(self, "high_m", tuple(high.tolist()))

    def to_unit(self, positions_m: np.ndarray) -> np.ndarray:
        """(..., 3) metres -> (..., 3) in [−1, 1] inside the box."""
        low, high = np.asarray(self.low_m), np.asarray(self.high_m)
        return 2 * (np.asarray(positions_m) - low) / (high - low) - 1

    def from_unit(self, unit: np.ndarray) -> np.ndarray:
        """(..., 3) scaled -> metres (the inverse of :meth:`to_unit`)."""
        low, high = np.asarray(self.low_m), np.asarray(self.high_m)
        return (np.asarray(unit) + 1) / 2 * (high - low) + low

    def to_dict(self) -> dict:
        return {"low_m": list(self.low_m), "high_m": list(self.high_m)}

    @classmethod
    def from_dict(cls, d: dict) -> PositionScaler:
        try:
            return cls(tuple(d["low_m"]), tuple(d["high_m"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"not a PositionScaler description: {exc}") from None


def fit_positioning_norm(train: PositioningData, image_size: tuple[int, int] = (224, 224)) -> ChannelNorm:
    """Per-BS mean/std of the TRAIN file's images resized to ``image_size`` (evaluation reuses them)."""
    return fit_channel_norm(iter(train.features), image_size, source=f"{train.path}, {len(train)} samples")


def write_positioning_files(
    out_dir: str | os.PathLike,
    n_train: int = 3100,
    n_test: int = 776,
    seed: int = 0,
    *,
    config=None,
    progress: bool = True,
) -> dict[str, Path]:
    """Write a synthetic set: ``train.mat``, ``test.mat`` (disjoint UE positions, one scene) and ``scene.json``.

    Defaults split the public file's 3876 samples 80/20. The scene comes from ``SeedSequence([seed, 0])``,
    train/test positions from ``[seed, 1]``/``[seed, 2]``, the noise of chunk j of split s from
    ``[seed, 10 + s, j]``: the same seed gives the same bytes. Returns {"train", "test", "scene"} paths.
    """
    from radiofm.synth import positioning as synth

    for name, value in (("n_train", n_train), ("n_test", n_test)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 1 <= value <= 1_000_000:
            raise ConfigError(f"{name} must be an integer in 1..1000000, got {value!r}")
    seed = check_seed(seed)
    config = config or synth.PositioningConfig()
    out = Path(out_dir)
    _check_replaceable(out)
    scene = synth.draw_scene(np.random.default_rng(np.random.SeedSequence([int(seed), 0])), config)
    train_pos = synth.sample_positions(
        scene, int(n_train), np.random.default_rng(np.random.SeedSequence([int(seed), 1]))
    )
    test_pos = synth.sample_positions(
        scene, int(n_test), np.random.default_rng(np.random.SeedSequence([int(seed), 2])), avoid=train_pos
    )
    bar = tqdm(total=int(n_train) + int(n_test), desc="positioning synthetic", unit="UE", disable=not progress)
    with atomic_path(out) as tmp:  # the folder appears complete or not at all
        tmp.mkdir()
        for s, (split, pos) in enumerate((("train", train_pos), ("test", test_pos))):
            feats = np.empty((len(pos), config.n_channels, config.n_antennas, config.n_subcarriers), np.float32)
            for j, i in enumerate(range(0, len(pos), _CHUNK)):
                rng = np.random.default_rng(np.random.SeedSequence([int(seed), 10 + s, j]))
                feats[i : i + _CHUNK] = synth.csi_features(scene, pos[i : i + _CHUNK], rng)
                bar.update(len(pos[i : i + _CHUNK]))
            write_positioning(tmp / f"{split}.mat", feats, pos)
        bar.close()
        write_json(tmp / "scene.json", _manifest(scene, config, seed, n_train, n_test))
    return {"train": out / "train.mat", "test": out / "test.mat", "scene": out / "scene.json"}


def _check_replaceable(out: Path) -> None:
    outputs = ("train.mat", "test.mat", "scene.json")
    check_replaceable(
        out, outputs, kind_file="scene.json", kind=KIND, what="a synthetic positioning set", error=ConfigError
    )


def _manifest(scene, config, seed: int, n_train: int, n_test: int) -> dict:
    box = tuple(config.box_m)
    return {
        "kind": KIND,
        "schema_version": 1,
        "seed": int(seed),
        "n_train": int(n_train),
        "n_test": int(n_test),
        "min_separation_m": 0.25,
        "features": "(N, C, H=receive antennas, W=subcarriers): C = base stations, normalised |H|"
        + (", then as many channels of relative phase / pi" if config.phase else ""),
        "scene": scene.describe(),
        "scaler": PositionScaler((0.0, 0.0, 0.0), box).to_dict(),
    }


__all__ = [
    "FEATURES",
    "POSITION",
    "PositionScaler",
    "PositioningData",
    "fit_positioning_norm",
    "open_positioning",
    "write_positioning",
    "write_positioning_files",
]
