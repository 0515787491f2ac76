"""Receiver impairments of an NR/LTE capture: one draw per capture, applied to the whole 61.44 MS/s signal
(carriers and noise alike, as a zero-IF SDR front end would), in this order:

- cfo_ppm, cfo_hz: U(-2, 2) ppm of the 3.5 GHz centre (about +-7 kHz), the receiver's LO error [ours; a typical
  SDR TCXO is +-2 ppm].
- dc_offset_db: with p = 0.5 U(-30, 0) dB over the noise power of the span (a DC spike from invisible to about
  24 dB over the noise of one 240 kHz spectrogram bin), else None (a DC-corrected receiver) [ours].
- iq_gain_db, iq_phase_deg: U(-0.5, 0.5) dB, U(-3, 3) degrees: image rejection >= 28 dB [ours; an uncalibrated
  quadrature mixer].

The CFO moves every carrier: the recorded band edges (``lower_edge_hz``, ``upper_edge_hz``) include it, so the
label image and the SigMF annotations stay on the energy.
"""

from __future__ import annotations

import numpy as np

from radiofm.synth.impairments import add_dc_offset_, apply_iq_imbalance_
from radiofm.synth.nrlte.ofdm import HALF_MS_SAMPLES, SAMPLE_RATE_HZ

CFO_PPM = (-2.0, 2.0)
DC_PROBABILITY = 0.5
DC_OFFSET_DB = (-30.0, 0.0)
IQ_GAIN_DB = (-0.5, 0.5)
IQ_PHASE_DEG = (-3.0, 3.0)
RANGES = {
    "cfo_ppm": list(CFO_PPM),
    "dc_probability": DC_PROBABILITY,
    "dc_offset_db": list(DC_OFFSET_DB),
    "iq_gain_db": list(IQ_GAIN_DB),
    "iq_phase_deg": list(IQ_PHASE_DEG),
}


def draw_receiver(rng: np.random.Generator, center_freq_hz: float) -> dict:
    """The capture's receiver impairments (see the module table); JSON-serialisable."""
    cfo_ppm = float(rng.uniform(*CFO_PPM))
    dc = float(rng.uniform(*DC_OFFSET_DB)) if rng.random() < DC_PROBABILITY else None
    return {
        "cfo_ppm": cfo_ppm,
        "cfo_hz": cfo_ppm * 1e-6 * center_freq_hz,
        "dc_offset_db": dc,
        "dc_phase_rad": float(rng.uniform(0.0, 2 * np.pi)),
        "iq_gain_db": float(rng.uniform(*IQ_GAIN_DB)),
        "iq_phase_deg": float(rng.uniform(*IQ_PHASE_DEG)),
    }


def apply_cfo_(iq: np.ndarray, cfo_hz: float) -> np.ndarray:
    """Rotate complex64 ``iq`` (a multiple of 0.5 ms long) by exp(j 2 pi cfo n / fs), in place.

    The phasor is built for one 0.5 ms block and per block start (exact to float32 rounding), not per sample.
    """
    blocks = iq.reshape(-1, HALF_MS_SAMPLES)
    step = 2 * np.pi * cfo_hz / SAMPLE_RATE_HZ
    blocks *= np.exp(1j * step * np.arange(HALF_MS_SAMPLES)).astype(np.complex64)[None, :]
    blocks *= np.exp(1j * step * HALF_MS_SAMPLES * np.arange(blocks.shape[0])).astype(np.complex64)[:, None]
    return iq


def apply_receiver_(iq: np.ndarray, rx: dict, noise_power_db: float) -> np.ndarray:
    """Apply :func:`draw_receiver`'s impairments to complex64 ``iq`` in place: CFO, DC offset, IQ imbalance."""
    apply_cfo_(iq, rx["cfo_hz"])
    if rx["dc_offset_db"] is not None:
        amplitude = np.sqrt(10 ** ((noise_power_db + rx["dc_offset_db"]) / 10))
        add_dc_offset_(iq, complex(amplitude * np.exp(1j * rx["dc_phase_rad"])))
    return apply_iq_imbalance_(iq, gain_db=rx["iq_gain_db"], phase_deg=rx["iq_phase_deg"])
