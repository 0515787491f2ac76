"""Recordings: SigMF (``.sigmf-meta`` + ``.sigmf-data``) and plain complex ``.npy``, read by memory map.

Metadata is parsed and schema-checked through the ``sigmf`` library; samples are read with ``numpy.memmap`` from
byte offsets computed from the datatype, so taking a 16 ms segment of a 2 GB recording touches only those bytes.

Decisions:

- Sample indices (``Recording.read``, captures, annotations) count samples from the start of the data file. When
  ``core:offset`` > 0 and the metadata uses absolute indices (first capture starts at the offset), the offset is
  subtracted.
- Integer datatypes scale to [-1, 1) (:mod:`radiofm.data.sigmf_format`); writing: :mod:`radiofm.data.sigmf_writer`.
- Real datatypes (``rf*``, ``ri*``, ``ru*``) are read as complex with zero imaginary part (``is_complex`` is False);
  the spectrum of such a recording is symmetric about DC.
- ``cf16`` is not a SigMF datatype (the schema rejects it), so it is refused like any unknown datatype.
- Multi-channel recordings (``core:num_channels`` > 1) are refused; SigMF archives (``.sigmf``) too.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np

from radiofm.data.sigmf_format import (  # noqa: F401  (SUPPORTED_DATATYPES: re-exported)
    SUPPORTED_DATATYPES,
    Annotation,
    Capture,
    datatype_layout,
    one_line,
)
from radiofm.errors import RecordingError

_FILE_READ_BYTES = 1 << 22  # reads at least this large go through the file, not the memory map


# the commands that take --repair-nonfinite (tests/cli/test_main.py checks each one does)
REPAIR_COMMANDS = ("pretrain", "annotate", "evaluate annotate", "fewshot classify")
REPAIR_HINT = f"repair them (set to 0) with nonfinite='repair', or --repair-nonfinite on {', '.join(REPAIR_COMMANDS)}"


class Recording:
    """A recording opened for memory-mapped reading (see :func:`radiofm.data.recording_open.open_recording`).

    Attributes: ``path`` (the .sigmf-meta or .npy), ``data_path``, ``sample_rate_hz``, ``datatype``, ``is_complex``,
    ``captures``, ``annotations``, ``global_meta``, ``n_samples`` (complex samples), ``center_freq_hz``.
    """

    def __init__(
        self,
        path: Path,
        data_path: Path,
        *,
        sample_rate_hz: float,
        datatype: str,
        n_samples: int,
        captures: list[Capture],
        annotations: list[Annotation],
        global_meta: dict,
        segments: list[tuple[int, int]],
        raw_meta: dict | None = None,
    ) -> None:
        self.path = path
        self.data_path = data_path
        self.sample_rate_hz = float(sample_rate_hz)
        self.datatype = datatype
        self.n_samples = int(n_samples)
        self.captures = captures
        self.annotations = annotations
        self.global_meta = global_meta
        self.raw_meta = raw_meta  # the checked SigMF metadata as parsed (None for .npy)
        self._layout = datatype_layout(datatype, f"{path}: ")
        self.is_complex = self._layout.is_complex
        self._segments = segments  # (first sample, byte offset of that sample), ascending
        self._map: np.ndarray | None = None  # the whole data file as a read-only uint8 memmap, opened lazily

    @property
    def center_freq_hz(self) -> float | None:
        """The first capture's centre frequency (Hz), or None when unknown."""
        return self.captures[0].center_freq_hz if self.captures else None

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sample_rate_hz

    def __len__(self) -> int:
        return self.n_samples

    def __repr__(self) -> str:
        return (
            f"Recording({str(self.path)!r}, datatype={self.datatype!r}, sample_rate_hz={self.sample_rate_hz:g}, "
            f"n_samples={self.n_samples}, captures={len(self.captures)}, annotations={len(self.annotations)})"
        )

    def close(self) -> None:
        """Release the memory map (reopened on the next read)."""
        self._map = None

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict:
        # never pickle the memory map: numpy would copy the whole file into the pickle
        return {**self.__dict__, "_map": None}

    def tunings(self) -> list[tuple[int, int]]:
        """[start, stop) sample spans over which the centre frequency stays the same: one per tuning of a receiver
        that was retuned during the recording (one span when it never was, or has no captures)."""
        caps = sorted(self.captures, key=lambda c: c.sample_start)
        cuts = [c.sample_start for prev, c in zip(caps, caps[1:]) if c.center_freq_hz != prev.center_freq_hz]
        edges = [0, *(s for s in cuts if 0 < s < self.n_samples), self.n_samples]
        return [(a, b) for a, b in zip(edges, edges[1:]) if b > a]

    def span(self, start: int, count: int) -> Recording:
        """A view of samples [start, start + count) as a recording of its own (the same data file, nothing read):
        sample 0 is ``start``; the captures from the one holding ``start`` on, and the annotations wholly inside,
        with their sample indices moved. How a retuned recording is analysed one tuning at a time."""
        if not (0 <= start and 0 < count and start + count <= self.n_samples):
            raise RecordingError(f"{self.path}: span [{start}, {start + count}) outside its {self.n_samples} samples")
        stop, size = start + count, self._layout.sample_size
        s0, b0 = next((s, b) for s, b in reversed(self._segments) if s <= start)
        segments = [(0, b0 + (start - s0) * size)] + [(s - start, b) for s, b in self._segments if start < s < stop]
        held = [c for c in self.captures if c.sample_start <= start][-1:]
        caps = [dataclasses.replace(c, sample_start=max(c.sample_start - start, 0)) for c in held] + [
            dataclasses.replace(c, sample_start=c.sample_start - start)
            for c in self.captures
            if start < c.sample_start < stop
        ]
        anns = [
            dataclasses.replace(a, sample_start=a.sample_start - start)
            for a in self.annotations
            if start <= a.sample_start and a.sample_start + a.sample_count <= stop
        ]
        return Recording(self.path, self.data_path, sample_rate_hz=self.sample_rate_hz, datatype=self.datatype,
                         n_samples=count, captures=caps, annotations=anns, global_meta=self.global_meta,
                         segments=segments, raw_meta=self.raw_meta)  # fmt: skip

    def require_samples(self, n: int) -> None:
        """Raise RecordingError unless the recording holds at least ``n`` samples."""
        if self.n_samples < n:
            raise RecordingError(f"recording {self.path} has {self.n_samples} samples, need at least {n}")

    def _memmap(self) -> np.ndarray:
        """The data file's memory map, opened if closed. Held in a local: a read on another thread may
        :meth:`close` (drop) the shared one between the opening and the return."""
        m = self._map
        if m is None:
            try:
                m = np.memmap(self.data_path, dtype=np.uint8, mode="r")
            except (OSError, ValueError) as exc:
                raise RecordingError(f"{self.data_path}: cannot map data file ({one_line(exc)})") from None
            self._map = m
        return m

    def byte_end(self, n: int) -> int:
        """The data file's byte position just after sample ``n - 1`` (its first ``n`` samples end there)."""
        s0, b0 = next(((s, b) for s, b in reversed(self._segments) if s < n), self._segments[0])
        return b0 + (n - s0) * self._layout.sample_size

    def sample_bytes(self, n: int) -> list[tuple[int, int]]:
        """The data file's byte spans ``[start, stop)`` holding samples ``[0, n)``, in order: one per
        run of captures without header bytes between them, without those bytes or the trailing bytes after the last
        sample."""
        spans, size = [], self._layout.sample_size
        for i, (s0, b0) in enumerate(self._segments):
            if s0 >= n:
                break
            stop = min(self._segments[i + 1][0], n) if i + 1 < len(self._segments) else n
            if spans and spans[-1][1] == b0:  # no header bytes between: one span
                spans[-1] = (spans[-1][0], b0 + (stop - s0) * size)
            else:
                spans.append((b0, b0 + (stop - s0) * size))
        return spans

    def read_raw(self, start: int, count: int) -> np.ndarray:
        """The stored values of samples [start, start+count) as a view of the memmap (no copy, no scaling).

        Returns (count, 2) of the component dtype for complex datatypes, (count,) for real ones. The span must not
        cross a capture with header bytes (use :meth:`read` for that).
        """
        s0, b0 = next((s, b) for s, b in reversed(self._segments) if s <= start)
        size = self._layout.sample_size
        lo = b0 + (start - s0) * size
        m = self._memmap()
        if lo + count * size > len(m):  # mapped after the file was cut short (truncated while being followed)
            raise RecordingError(
                f"data file {self.data_path} is shorter than its {self.n_samples} samples (truncated?)"
            )
        raw = m[lo : lo + count * size].view(self._layout.component)
        return raw.reshape(count, 2) if self.is_complex else raw

    def read(
        self, start: int = 0, count: int | None = None, *, nonfinite: str = "error", counts: dict | None = None
    ) -> np.ndarray:
        """Samples [start, start+count) as complex64 (count,), scaled to [-1, 1) for integer datatypes.

        Reads only the requested span from the memory map. ``nonfinite="error"`` raises RecordingError when the span
        holds NaN/Inf; ``"repair"`` sets those samples to 0 and warns with how many, or, given ``counts``, adds how
        many to ``counts["repaired"]`` instead: no warning, so no process-wide warning filter is needed to silence
        or count them (``warnings.catch_warnings`` is not thread-safe). Reads running at once each need their own
        ``counts`` (the addition is not atomic).
        """
        if nonfinite not in ("error", "repair"):
            raise ValueError(f"nonfinite must be 'error' or 'repair', not {nonfinite!r}")
        start = int(start)
        count = self.n_samples - start if count is None else int(count)
        if start < 0 or count < 0 or start + count > self.n_samples:
            raise RecordingError(
                f"samples [{start}, {start + count}) are outside recording {self.path} ({self.n_samples} samples)"
            )
        # split the span at segment boundaries (captures with header bytes); usually a single piece
        bounds = [s for s, _ in self._segments[1:] if start < s < start + count] + [start + count]
        if len(bounds) == 1 and count * self._layout.sample_size >= _FILE_READ_BYTES:
            out = self._convert(self._read_file(start, count), fresh=True)  # one read, nothing left resident
            out = out if out.dtype == np.complex64 else out.astype(np.complex64)  # real data
        else:
            out = np.empty(count, dtype=np.complex64)
            pos = start
            for stop in bounds:
                out[pos - start : stop - start] = self._convert(self.read_raw(pos, stop - pos))
                pos = stop
        if self._layout.fmt == "f":
            bad = ~np.isfinite(out)
            n_bad = int(np.count_nonzero(bad))
            if n_bad:
                where = f"[{start}, {start + count}) of {self.path}"
                if nonfinite == "error":
                    raise RecordingError(f"{n_bad} non-finite (NaN/Inf) samples within {where}; {REPAIR_HINT}")
                out[bad] = 0
                if counts is not None:
                    counts["repaired"] = counts.get("repaired", 0) + n_bad
                else:
                    warnings.warn(
                        f"repaired {n_bad} non-finite (NaN/Inf) samples within {where} (set to 0)", stacklevel=2
                    )
        return out

    def read_integers(self, start: int, count: int) -> tuple[np.ndarray, float] | None:
        """The stored integers of complex samples [start, start+count), copied, and the power of two that scales
        them as :meth:`read` does: ``read(start, count)`` equals ``(raw * scale)`` viewed as complex64, value for
        value. Returns ``(raw (count, 2) int8/int16, scale)``, or None where :meth:`read` does more than scale
        (floats, unsigned or 32-bit integers, real data) or the span crosses a capture's header bytes. Lets a
        consumer fold the scaling into its own first pass instead of writing a complex64 copy of the span."""
        lay = self._layout
        if not (lay.is_complex and lay.fmt == "i" and lay.bits <= 16):
            return None
        start, count = int(start), int(count)
        if start < 0 or count < 0 or start + count > self.n_samples:
            raise RecordingError(
                f"samples [{start}, {start + count}) are outside recording {self.path} ({self.n_samples} samples)"
            )
        if any(start < s < start + count for s, _ in self._segments[1:]):
            return None
        if count * lay.sample_size >= _FILE_READ_BYTES:
            raw = self._read_file(start, count)
        else:
            raw = np.array(self.read_raw(start, count))
        return raw, 2.0 ** (1 - lay.bits)

    def _read_file(self, start: int, count: int) -> np.ndarray:
        """Like :meth:`read_raw`, but copied out of the file with one read instead of through the memory map: a
        large read leaves no mapped pages behind in the resident set (annotating a long recording reads it all)."""
        s0, b0 = next((s, b) for s, b in reversed(self._segments) if s <= start)
        size = self._layout.sample_size
        buf = np.empty(count * size, dtype=np.uint8)
        try:
            with open(self.data_path, "rb") as f:
                f.seek(b0 + (start - s0) * size)
                got = f.readinto(buf)
        except OSError as exc:
            raise RecordingError(f"{self.data_path}: cannot read data file ({one_line(exc)})") from None
        if got != buf.size:
            raise RecordingError(f"{self.data_path}: data file ends before sample {start + count}")
        raw = buf.view(self._layout.component)
        return raw.reshape(count, 2) if self.is_complex else raw

    def _convert(self, raw: np.ndarray, *, fresh: bool = False) -> np.ndarray:
        """Stored values -> complex64 (or float32 for real data, which numpy widens on assignment); ``fresh``: raw is
        a private buffer that may be reused as the result."""
        lay = self._layout
        if lay.fmt == "f":
            vals = raw.astype(np.float32, copy=not fresh)
        elif lay.fmt == "i" and lay.bits <= 16:  # one pass: v * 2^-(bits-1) is exact, as v / half was
            vals = np.multiply(raw, np.float32(2.0 ** (1 - lay.bits)), dtype=np.float32)
        else:
            half = float(2 ** (lay.bits - 1))
            vals = raw.astype(np.float64 if lay.bits == 32 else np.float32)
            if lay.fmt == "u":
                vals -= half
            vals = (vals / half).astype(np.float32)
        if not lay.is_complex:
            return vals
        return vals.view(np.complex64).reshape(-1)
