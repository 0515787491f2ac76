"""Pieces of an NR cell without DMRS (idle: SSB and CORESET only) that the model boxed on their own, tied to the
cell by its OFDM clock.

The spectrogram model sees an idle cell's CORESET and PDCCH bursts as short, narrow pieces at different times and
places, and labels them on their own ("unknown", NR, even LTE). The cell's SSB gives its PCI, its subcarrier
raster (the SSB's subcarriers are the carrier's) and, from its PSS, its symbol timing. A piece sent by the same
gNB has both: its OFDM symbols start where one of the cell's symbols does (within half a cyclic prefix) and its
subcarriers sit on the cell's raster (within 1/16 of the spacing), whatever frequency offset the receiver adds,
since it adds the same to both. Another transmitter matches both only by chance: the symbol starts cover about 7 %
of the time, the raster window 1/8 of the spacing, ~1 % together (cells of one synchronised site may match; their
own SSBs identify them first). :func:`aligned` is that test; :mod:`radiofm.annotate.nr_scan` gives the pieces
that pass it to the cell. Without a cell, two pieces are compared with each other (:func:`piece_clock`,
:func:`same_clock`; :mod:`radiofm.annotate.clock_pieces` joins them into one carrier).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from radiofm.dsp import ofdm_rx
from radiofm.errors import RadioFMError

TIMING_TOLERANCE = 0.5  # of a normal cyclic prefix: the piece's symbol boundaries against the cell's
RASTER_TOLERANCE = 0.0625  # of the subcarrier spacing: the piece's subcarrier grid against the SSB's
MIN_RHO = 0.3  # CP correlation of the piece (noise: ~1 / sqrt(CP samples) < 0.03; the pieces seen: 0.6-0.96)
MIN_SPAN_MS = 1.0  # a piece shorter than this is not tested (two half milliseconds of CP to correlate)
OTHER_NUMEROLOGY = {15e3: 30e3, 30e3: 15e3}  # FR1 SSB numerologies: the other one a neighbour may use


@dataclass(frozen=True)
class Clock:
    """The OFDM clock of a piece: its numerology, symbol timing and subcarrier raster, in recording terms."""

    scs_hz: float
    tau: float  # a half-ms boundary (first symbol's CP start), recording sample
    at: tuple[float, ...]  # the symbols' CP starts within the half ms, recording samples from its boundary
    half_ms: float  # recording samples per half millisecond
    cp: float  # a normal cyclic prefix, recording samples
    grid_hz: float  # one of its subcarrier frequencies, Hz from the recording centre (mod scs_hz)
    rho: float = 0.0  # CP correlation coefficient it was measured with

    def on_timing(self, cp_start: float) -> bool:
        """Whether a symbol of this clock starts at recording sample ``cp_start`` (within half a CP). A piece of a
        few symbols per slot (a CORESET) fits the half-ms template as well one symbol off, so its boundary may be
        any symbol's start: every symbol start counted from every one is compared."""
        at = np.asarray(self.at)
        h = self.half_ms
        starts = self.tau + at[None, :] - at[:, None]
        miss = np.abs((cp_start - starts + 0.5 * h) % h - 0.5 * h).min()
        return bool(miss <= TIMING_TOLERANCE * self.cp)

    def on_raster(self, freq_hz: float) -> bool:
        """Whether ``freq_hz`` lies on this clock's subcarrier raster (within 1/16 of the spacing)."""
        return abs(((freq_hz - self.grid_hz) / self.scs_hz + 0.5) % 1.0 - 0.5) <= RASTER_TOLERANCE


def piece_clock(
    x: np.ndarray, fs: float, *, band_hz: tuple[float, float], scs_hz: float, x_start: int = 0, min_rho: float = MIN_RHO
) -> Clock | None:
    """The :class:`Clock` of the OFDM signal in ``band_hz`` (Hz from the recording centre) of the span ``x``
    (read from recording sample ``x_start``, rate ``fs``) at numerology ``scs_hz``; None when the span is shorter
    than :data:`MIN_SPAN_MS` or its cyclic prefixes correlate less than ``min_rho`` (not OFDM of that
    numerology)."""
    if x.size < MIN_SPAN_MS * 1e-3 * fs:
        return None
    lo, hi = band_hz
    try:
        bb = ofdm_rx.extract_band(x, fs, centre_hz=0.5 * (lo + hi), lower_hz=lo, upper_hz=hi)
        sync = ofdm_rx.cp_sync(bb, scs_hz)
    except RadioFMError:
        return None
    if sync.rho < min_rho:
        return None
    _, offsets, cps = ofdm_rx.half_ms_layout(scs_hz, bb.nf15)
    tau = x_start + float(bb.to_recording_sample(sync.tau0))
    at = tuple(float(v) for v in bb.to_recording_sample(offsets))
    cp = float(bb.to_recording_sample(cps[1]))
    return Clock(scs_hz, tau, at, 0.5e-3 * fs, cp, bb.centre_hz + sync.freq_offset_hz, sync.rho)


def relation(
    x: np.ndarray,
    fs: float,
    *,
    band_hz: tuple[float, float],
    scs_hz: float,
    pss_cp_start: float,
    ssb_center_hz: float,
) -> str | None:
    """How the OFDM signal in ``band_hz`` (Hz from the recording centre) of the span ``x`` (sample rate ``fs``)
    stands to the NR cell whose strongest PSS symbol's cyclic prefix starts at sample ``pss_cp_start`` (counted
    from ``x[0]``; any earlier or later PSS of the cell will do) and whose SSB has its subcarrier 120 at
    ``ssb_center_hz``, numerology ``scs_hz``:

    - "same": it runs on the cell's clock (the same symbol timing, within :data:`TIMING_TOLERANCE` of a CP, and
      the same subcarrier raster, within :data:`RASTER_TOLERANCE`);
    - "other": it is another transmitter for sure: a clear OFDM clock of the cell's numerology whose symbols start
      elsewhere, or a clear clock of the other FR1 numerology (15 / 30 kHz) and none of the cell's. A clock on the
      cell's timing but off its raster is not counted: an SSB may sit half a 30 kHz subcarrier off its carrier's
      grid (38.211 7.4.3.1: k_SSB counts 15 kHz), and cells of one synchronised site share a timing;
    - None: neither (no clear clock, too short a span, or on the timing but off the raster)."""
    clock = piece_clock(x, fs, band_hz=band_hz, scs_hz=scs_hz)
    if clock is not None:
        if not clock.on_timing(pss_cp_start):
            return "other"
        return "same" if clock.on_raster(ssb_center_hz) else None
    other_scs = OTHER_NUMEROLOGY.get(scs_hz)
    if other_scs is not None and piece_clock(x, fs, band_hz=band_hz, scs_hz=other_scs) is not None:
        return "other"
    return None


def aligned(x: np.ndarray, fs: float, **cell) -> bool:
    """Whether the OFDM signal in the span ``x`` runs on the clock of the NR cell: :func:`relation` (same keyword
    arguments: ``band_hz``, ``scs_hz``, ``pss_cp_start``, ``ssb_center_hz``) is "same"."""
    return relation(x, fs, **cell) == "same"


def same_clock(a: Clock, b: Clock) -> bool:
    """Whether two pieces run on one OFDM clock: the same numerology, a symbol of one starting where a symbol of
    the other does, and the same subcarrier raster."""
    return a.scs_hz == b.scs_hz and a.on_timing(b.tau) and a.on_raster(b.grid_hz)
