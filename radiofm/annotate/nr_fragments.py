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
that pass it to the cell.
"""

from __future__ import annotations

import numpy as np

from radiofm.dsp import ofdm_rx
from radiofm.dsp.nr_cells import PSS_SYMBOL_IN_HALF_MS
from radiofm.errors import RadioFMError

TIMING_TOLERANCE = 0.5  # of a normal cyclic prefix: the piece's symbol boundaries against the cell's
RASTER_TOLERANCE = 0.0625  # of the subcarrier spacing: the piece's subcarrier grid against the SSB's
MIN_RHO = 0.3  # CP correlation of the piece (noise: ~1 / sqrt(CP samples) < 0.03; the pieces seen: 0.6-0.96)
MIN_SPAN_MS = 1.0  # a piece shorter than this is not tested (two half milliseconds of CP to correlate)


def aligned(
    x: np.ndarray,
    fs: float,
    *,
    band_hz: tuple[float, float],
    scs_hz: float,
    pss_cp_start: float,
    ssb_center_hz: float,
) -> bool:
    """Whether the OFDM signal in ``band_hz`` (Hz from the recording centre) of the span ``x`` (sample rate
    ``fs``) runs on the clock of the NR cell whose strongest PSS symbol's cyclic prefix starts at sample
    ``pss_cp_start`` (counted from ``x[0]``; any earlier or later PSS of the cell will do) and whose SSB has its
    subcarrier 120 at ``ssb_center_hz``: numerology ``scs_hz``, the same symbol timing (within
    :data:`TIMING_TOLERANCE` of a CP) and the same subcarrier raster (within :data:`RASTER_TOLERANCE`)."""
    if x.size < MIN_SPAN_MS * 1e-3 * fs:
        return False
    lo, hi = band_hz
    try:
        bb = ofdm_rx.extract_band(x, fs, centre_hz=0.5 * (lo + hi), lower_hz=lo, upper_hz=hi)
        sync = ofdm_rx.cp_sync(bb, scs_hz)
    except RadioFMError:
        return False
    if sync.rho < MIN_RHO:
        return False
    _, offsets, cps = ofdm_rx.half_ms_layout(scs_hz, bb.nf15)
    half_ms = 0.5e-3 * fs
    tau = float(bb.to_recording_sample(sync.tau0))  # the piece's half-ms boundary, recording samples
    at = [float(v) for v in bb.to_recording_sample(offsets)]  # symbol starts within the half ms
    # a piece of a few symbols per slot (a CORESET) fits the half-ms template as well one symbol off: compare
    # with every symbol start of the cell
    starts = [pss_cp_start - at[p] + at[k] for p in PSS_SYMBOL_IN_HALF_MS[scs_hz] for k in range(len(at))]
    miss = min(abs((tau - s + 0.5 * half_ms) % half_ms - 0.5 * half_ms) for s in starts)
    if miss > TIMING_TOLERANCE * float(bb.to_recording_sample(cps[1])):
        return False
    grid = bb.centre_hz + sync.freq_offset_hz  # one of the piece's subcarrier frequencies
    off = ((grid - ssb_center_hz) / scs_hz + 0.5) % 1.0 - 0.5
    return abs(off) <= RASTER_TOLERANCE
