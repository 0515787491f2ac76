"""DeepBeam HDF5 files (SPEC §6): the real data set's layout, read unchanged, and written for synthetic stand-ins.

Layout of one file: datasets ``iq`` (N, 2) — I and Q columns —, and per-sample labels ``tx_beam``, ``rx_beam``,
``gain`` (N,) (plus ``angle`` (N,) in angle-of-arrival files). The RF front end is named only by the file name,
``…-tx-ant-<i>-rx-ant-<j>.h5``; the codebook size by ``…-<n>-beams-…`` where present. What comes before
``-tx-ant-`` is the file's *set-up* (the published download: ``srf-basic-config-24-beams``,
``srf-basic-config-12-beams``, ``srf-diagonal-config-24-beams``, ``srf-basic-config-24-beams-aoa``, … all in one
folder; wineslab/deepbeam README). A front end is chosen as ``tx-ant-0``, ``tx-ant-0-rx-ant-1``, or with its set-up,
``srf-diagonal-config-24-beams-tx-ant-0``; when the files of one front end span several set-ups (codebooks,
deployments), the reader asks for one instead of mixing them. The Pi-Radio file (``mrf-basic-config-5-beams.h5``)
names no front end and is not read.

Frames: labels come in runs (all samples of one (gain, beam) pair in a row); each run is cut into
non-overlapping ``frame_len`` (2048) sample frames ``iq[s + L i : s + L (i+1)]`` and a remainder shorter than
a frame is dropped, so no frame mixes two labels. A frame is a (2, L) float32 array (I row, Q row).

:func:`read_deepbeam` reads one file, :func:`load_front_end` every file of one front end in a folder; anything
else raises a one-line DatasetError. :mod:`radiofm.data.deepbeam_write` writes the layout and synthetic folders.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from radiofm.errors import ConfigError, DatasetError

FRAME_LEN = 2048
LABELS = ("tx_beam", "rx_beam", "gain", "angle")
_IDENTITY = re.compile(r"tx-ant-(\d+)-rx-ant-(\d+)")
_NAMED = re.compile(r"tx-ant-\d+(-rx-ant-\d+)?$")  # a front end as a user names it, after an optional set-up
_CHUNK = 1 << 22  # samples per chunk when scanning label runs (bounded memory on multi-GB files)


@dataclass
class BeamFrames:
    """Frames of one or more DeepBeam files with their labels (all arrays share the first axis N)."""

    frames: np.ndarray  # (N, 2, L) float32: I row, Q row
    tx_beam: np.ndarray  # (N,) int64 transmit beam index
    rx_beam: np.ndarray  # (N,) int64 receive beam index (-1 when the file has none)
    gain: np.ndarray  # (N,) float32 receiver gain, dB (NaN when the file has none)
    angle: np.ndarray | None  # (N,) float32 angle of arrival, degrees (AoA files only)
    front_end: str  # "tx-ant-<i>-rx-ant-<j>"
    sources: list[str]  # the files read
    setup: str = ""  # the file name before "-tx-ant-" ("srf-basic-config-24-beams", "synthetic-24-beams")

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    def subset(self, index: np.ndarray) -> BeamFrames:
        """The frames at ``index`` (a copy)."""
        index = np.asarray(index)
        return BeamFrames(
            self.frames[index],
            self.tx_beam[index],
            self.rx_beam[index],
            self.gain[index],
            None if self.angle is None else self.angle[index],
            self.front_end,
            list(self.sources),
            self.setup,
        )


# ------------------------------------------------------------------------------------------- names


def front_end_of(path: str | Path) -> str:
    """The front-end identity "tx-ant-<i>-rx-ant-<j>" in a DeepBeam file name; DatasetError when absent."""
    m = _IDENTITY.search(Path(path).name)
    if m is None:
        raise DatasetError(
            f"{path}: file name does not name a front end (expected '...-tx-ant-<i>-rx-ant-<j>.h5'; DeepBeam's "
            "Pi-Radio file is not read)"
        )
    return f"tx-ant-{m.group(1)}-rx-ant-{m.group(2)}"


def setup_of(path: str | Path) -> str:
    """The file name before "-tx-ant-<i>" ("srf-basic-config-24-beams-aoa"); "" when the name starts there."""
    name = Path(path).name
    m = _IDENTITY.search(name)
    return name[: m.start()].rstrip("-_") if m else Path(name).stem


def matches(identity: str, name: str) -> bool:
    """Does front end ``name`` ("tx-ant-0" or "tx-ant-0-rx-ant-1") select files of ``identity``?"""
    return identity == name or identity.startswith(name + "-rx-ant-")


def list_front_ends(folder: str | Path) -> dict[str, list[Path]]:
    """{identity: sorted .h5 files} of the DeepBeam files directly in ``folder``; DatasetError when none."""
    root = Path(folder)
    if not root.is_dir():
        raise DatasetError(f"beam data folder {root} not found" if not root.exists() else f"{root} is not a folder")
    found: dict[str, list[Path]] = {}
    for p in sorted(root.glob("*.h5")):
        m = _IDENTITY.search(p.name)
        if m:
            found.setdefault(f"tx-ant-{m.group(1)}-rx-ant-{m.group(2)}", []).append(p)
    if not found:
        raise DatasetError(f"no DeepBeam files ('...-tx-ant-<i>-rx-ant-<j>.h5') in {root}")
    return found


# ------------------------------------------------------------------------------------------- reading


def _open(path: Path):
    import h5py

    if not path.is_file():
        raise DatasetError(f"DeepBeam file {path} " + ("is not a regular file" if path.exists() else "not found"))
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise DatasetError(f"{path}: not a readable HDF5 file ({str(exc).splitlines()[0]})") from None


def _check_layout(h5, path: Path) -> int:
    import h5py

    for key in ("iq", "tx_beam"):
        if key not in h5 or not isinstance(h5[key], h5py.Dataset):
            have = ", ".join(sorted(h5.keys())) or "nothing"
            raise DatasetError(f"{path}: not the DeepBeam layout (no {key!r} dataset; the file holds {have})")
    iq = h5["iq"]
    if iq.ndim != 2 or iq.shape[1] != 2 or iq.dtype.kind not in "fiu":
        raise DatasetError(f"{path}: 'iq' must be a numeric (N, 2) array of I and Q, got {iq.dtype} {iq.shape}")
    n = int(iq.shape[0])
    for key in ("iq", "tx_beam"):  # a shape declared but not written: reading it would scan fill values for hours
        if _unwritten(h5[key]):
            raise DatasetError(
                f"{path}: {key!r} declares {h5[key].shape} values, but the file holds data for fewer; it was never "
                "written in full"
            )
    for key in LABELS:
        if key in h5:
            d = h5[key]
            if not isinstance(d, h5py.Dataset) or d.dtype.kind not in "fiu" or d.shape not in ((n,), (n, 1)):
                raise DatasetError(
                    f"{path}: label {key!r} must be numeric with one value per sample ({n}), got "
                    f"{getattr(d, 'shape', '?')}"
                )
    return n


def _unwritten(d) -> bool:
    """True when the HDF5 dataset ``d`` has storage for less than its shape (chunks never written, or a contiguous
    dataset never allocated). Compressed data is fine: allocated chunks are counted, not bytes."""
    if d.size == 0:
        return False
    try:
        if d.chunks:
            need = math.prod(-(-s // c) for s, c in zip(d.shape, d.chunks, strict=True))
            return d.id.get_num_chunks() < need
        return d.id.get_storage_size() < d.size * d.dtype.itemsize
    except (AttributeError, RuntimeError, ValueError, TypeError):  # an h5py without the call: no check
        return False


def _runs(h5, n: int, keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends of the runs where every label in ``keys`` stays constant: (R,), (R,)."""
    cuts = [np.zeros(1, np.int64)]
    prev = None
    for lo in range(0, n, _CHUNK):
        block = np.stack([np.asarray(h5[k][lo : lo + _CHUNK]).reshape(-1).astype(np.float64) for k in keys])
        if prev is not None:
            block = np.concatenate([prev, block], axis=1)
            offset = lo - 1
        else:
            offset = lo
        change = np.flatnonzero(np.any(block[:, 1:] != block[:, :-1], axis=0)) + 1 + offset
        cuts.append(change)
        prev = block[:, -1:]
    starts = np.concatenate(cuts)
    return starts, np.r_[starts[1:], n]


def read_deepbeam(
    path: str | Path, *, frame_len: int = FRAME_LEN, max_frames_per_label: int | None = None
) -> BeamFrames:
    """Frames and labels of one DeepBeam file.

    ``max_frames_per_label`` caps the frames kept per (tx_beam, rx_beam, gain, angle) combination, spread
    evenly over its runs (deterministic), so a multi-GB file is sampled without reading it whole.
    """
    path = Path(path)
    identity = front_end_of(path)
    if frame_len < 1:
        raise ConfigError(f"frame length must be positive, got {frame_len}")
    try:  # a damaged HDF5 file fails inside h5py with many error types: one line naming the file
        with _open(path) as h5:
            n = _check_layout(h5, path)
            if max_frames_per_label is None:
                _check_memory(path, n * 2 * 4)
            keys = [k for k in LABELS if k in h5]
            starts, ends = _runs(h5, n, keys)
            frame_starts: list[np.ndarray] = []
            for s, e in zip(starts, ends):
                k = (e - s) // frame_len
                if k:
                    frame_starts.append(s + frame_len * np.arange(k))
            if not frame_starts:
                raise DatasetError(f"{path}: no label run is as long as one {frame_len}-sample frame ({n} samples)")
            first = np.concatenate(frame_starts)
            labels = {k: _labels_at(h5[k], first, n) for k in keys}
            if max_frames_per_label is not None:
                keep = _cap(np.stack([labels[k].astype(np.float64) for k in keys], axis=1), max_frames_per_label)
                first = first[keep]
                labels = {k: v[keep] for k, v in labels.items()}
            frames = _read_frames(h5["iq"], first, frame_len)
    except (OSError, RuntimeError, KeyError, ValueError, TypeError, IndexError) as exc:
        reason = " ".join(str(exc).split())[:120]
        raise DatasetError(f"{path}: unreadable DeepBeam file ({type(exc).__name__}: {reason})") from None
    if not np.all(np.isfinite(frames)):
        raise DatasetError(f"{path}: 'iq' holds non-finite (NaN/Inf) samples (or values beyond float32's range)")
    for key in ("tx_beam", "rx_beam"):  # beam indices: whole numbers (a cast would merge 2 and 2.5 into one class)
        v = labels.get(key)
        if v is None:
            continue
        w = v.astype(np.float64)
        with np.errstate(invalid="ignore"):
            bad = ~(np.isfinite(w) & (w == np.round(w)) & (np.abs(w) < 2**31))
        if bad.any():
            raise DatasetError(f"{path}: {key!r} must hold whole beam indices, found {w[bad][0]:g}")
    count = len(first)
    return BeamFrames(
        frames=frames,
        tx_beam=labels["tx_beam"].astype(np.int64),
        rx_beam=labels["rx_beam"].astype(np.int64) if "rx_beam" in labels else np.full(count, -1, np.int64),
        gain=labels["gain"].astype(np.float32) if "gain" in labels else np.full(count, np.nan, np.float32),
        angle=labels["angle"].astype(np.float32) if "angle" in labels else None,
        front_end=identity,
        sources=[str(path)],
        setup=setup_of(path),
    )


def _check_memory(path: Path, need: int) -> None:
    """DatasetError when reading ``need`` bytes of frames would take more than half of this machine's memory."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # no sysconf: nothing to compare with
        return
    if need > total // 2:
        raise DatasetError(
            f"{path}: its frames take {need / 1e9:.1f} GB as float32, more than half of this machine's "
            f"{total / 1e9:.1f} GB; read a sample of them with --max-frames-per-label N (max_frames_per_label=N)"
        )


def _labels_at(dataset, index: np.ndarray, n: int) -> np.ndarray:
    """dataset[index] for sorted ``index``, reading the labels chunk by chunk."""
    out = []
    for lo in range(0, n, _CHUNK):
        sel = index[(index >= lo) & (index < lo + _CHUNK)]
        if sel.size:
            out.append(np.asarray(dataset[lo : lo + _CHUNK]).reshape(-1)[sel - lo])
    return np.concatenate(out)


def _cap(label_rows: np.ndarray, cap: int) -> np.ndarray:
    """Indices keeping at most ``cap`` rows per distinct label row, evenly spaced, in order."""
    _, inverse = np.unique(label_rows, axis=0, return_inverse=True)
    keep = []
    for u in np.unique(inverse):
        idx = np.flatnonzero(inverse == u)
        if len(idx) > cap:
            idx = idx[np.round(np.linspace(0, len(idx) - 1, cap)).astype(int)]
        keep.append(idx)
    return np.sort(np.concatenate(keep))


def _read_frames(iq, first: np.ndarray, frame_len: int) -> np.ndarray:
    """iq[s : s + L] for every s in ``first`` as (N, 2, L) float32, reading contiguous stretches at once."""
    out = np.empty((len(first), 2, frame_len), np.float32)
    i = 0
    while i < len(first):
        j = i + 1
        while j < len(first) and first[j] == first[j - 1] + frame_len and (j - i) < 4096:
            j += 1
        with np.errstate(over="ignore", invalid="ignore"):  # values beyond float32: caught as non-finite after
            block = np.asarray(iq[int(first[i]) : int(first[i]) + (j - i) * frame_len], dtype=np.float32)
        out[i:j] = block.reshape(j - i, frame_len, 2).transpose(0, 2, 1)
        i = j
    return out


def load_front_end(
    folder: str | Path,
    name: str,
    *,
    frame_len: int = FRAME_LEN,
    max_frames_per_label: int | None = None,
    aoa: bool | None = None,
) -> BeamFrames:
    """Every file of front end ``name`` directly in ``folder``, concatenated.

    ``name``: "tx-ant-0", "tx-ant-0-rx-ant-1", or either after a set-up ("srf-diagonal-config-24-beams-tx-ant-0",
    see :func:`setup_of`). ``aoa``: True keeps only files with ``angle``, False only files without, None requires
    them all alike. DatasetError when no file matches, the name is ambiguous, or the files left span several
    set-ups (codebooks or deployments): the message lists them.
    """
    found = list_front_ends(folder)
    m = _NAMED.search(name)
    setup = name[: m.start()].rstrip("-_") if m else ""
    fe = name[m.start() :] if m else name
    picked = {ident: files for ident, files in found.items() if matches(ident, fe)}
    if not picked:
        raise DatasetError(f"no DeepBeam file for front end {name!r} in {folder} (found: {', '.join(sorted(found))})")
    if len(picked) > 1:
        raise DatasetError(f"front end {name!r} is ambiguous in {folder}: {', '.join(sorted(picked))}; name one")
    files = next(iter(picked.values()))
    if setup:
        files = [p for p in files if setup_of(p) == setup]
        if not files:
            have = ", ".join(sorted({setup_of(p) for p in next(iter(picked.values()))}))
            raise DatasetError(f"no DeepBeam file of set-up {setup!r} for {fe!r} in {folder} (set-ups: {have})")
    if aoa is not None:
        files = [p for p in files if _has_angle(p) in (aoa, None)]
        if not files:
            what = "angle-of-arrival" if aoa else "beam"
            hint = (
                f"; {Path(folder) / 'aoa'} holds them (radiofm generate beams)"
                if aoa and Path(folder, "aoa").is_dir()
                else ""
            )
            raise DatasetError(f"front end {name!r} in {folder} has no {what} files{hint}")
    setups = sorted({setup_of(p) for p in files})
    if len(setups) > 1:
        ident = next(iter(picked))
        raise DatasetError(
            f"front end {name!r} in {folder} has files of {len(setups)} set-ups ({', '.join(setups)}); name one, "
            f"e.g. '{setups[0]}-{ident}'"
        )
    parts = [read_deepbeam(p, frame_len=frame_len, max_frames_per_label=max_frames_per_label) for p in files]
    if aoa is None and len({p.angle is not None for p in parts}) > 1:  # with aoa, the files were picked by it above
        raise DatasetError(f"{folder}: front end {name!r} mixes beam and angle-of-arrival files; separate them")
    return _concat(parts)


def _has_angle(path: Path) -> bool | None:
    """Does the file hold an ``angle`` dataset? None when it cannot be opened (read_deepbeam then says why)."""
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            return "angle" in h5
    except Exception:  # h5py raises many types for a damaged file; reading it later names the problem
        return None


def _concat(parts: Sequence[BeamFrames]) -> BeamFrames:
    if len(parts) == 1:
        return parts[0]
    has_angle = parts[0].angle is not None
    return BeamFrames(
        frames=np.concatenate([p.frames for p in parts]),
        tx_beam=np.concatenate([p.tx_beam for p in parts]),
        rx_beam=np.concatenate([p.rx_beam for p in parts]),
        gain=np.concatenate([p.gain for p in parts]),
        angle=np.concatenate([p.angle for p in parts]) if has_angle else None,
        front_end=parts[0].front_end,
        sources=[s for p in parts for s in p.sources],
        setup=parts[0].setup,
    )
