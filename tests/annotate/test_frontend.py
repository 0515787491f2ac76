"""annotate.frontend: how a short recording is continued to a whole model frame (issue 8: a 12 ms clip of an LTE
carrier was labelled NR)."""

from __future__ import annotations

import numpy as np

import radiofm.annotate as A
from radiofm.annotate.frontend import mirror_pad
from radiofm.data import open_recording, write_sigmf
from radiofm.synth.nrlte.carrier import single_carrier

FS = 61.44e6


def test_mirror_pad_keeps_the_columns_texture():
    img = np.arange(5, dtype=np.float32)[None, :] * np.ones((3, 1), np.float32)
    out = mirror_pad(img, 13)
    assert out.shape == (3, 13)
    assert out[0].tolist() == [0, 1, 2, 3, 4, 3, 2, 1, 0, 1, 2, 3, 4]  # no column repeated at the turns
    assert mirror_pad(img, 5) is img
    # an on/off rhythm (e.g. LTE's empty subframes, a gated carrier) continues; a noise fill would flatten it
    rhythm = np.tile(np.r_[np.full(6, 10.0), np.full(58, 1.0)], 2)[None, :77].astype(np.float32)
    padded = mirror_pad(rhythm, 256)
    assert padded[0, 77:].max() == 10.0 and padded[0, 77:].min() == 1.0
    assert np.isclose(padded[0, 77:].std(), rhythm[0].std(), rtol=0.35)


def test_short_lte_clip_is_labelled_lte(tmp_path):
    """A 12 ms clip of a fully loaded LTE carrier that the spectrogram model calls NR (0.8): the physical layer
    finds its PSS/SSS in the clip (two or three PSS), so the carrier is labelled LTE with its cell ID."""
    iq, meta = single_carrier("LTE", np.random.default_rng(5), bandwidth_mhz=5, snr_db=10.0, centre_hz=7e6)
    clip = iq[: int(0.012 * FS)]
    rec = open_recording(write_sigmf(tmp_path / "clip", clip, sample_rate_hz=FS, center_freq_hz=3.5e9))
    lo, hi = meta["lower_edge_hz"], meta["upper_edge_hz"]

    def wrong(images, frames):
        out = np.zeros((len(images), 3, 256, 256), np.float32)
        out[:, 0] = 1.0
        for i, f in enumerate(frames):
            freqs = f.center_offset_hz + (np.arange(256) - 128) * f.row_hz
            rows = (freqs >= lo) & (freqs < hi)
            out[i, :, rows] = np.array([0.05, 0.8, 0.15], np.float32)[:, None]
        return out

    res = A.annotate_recording(rec, wrong)
    assert len(res.annotations) == 1
    a = res.annotations[0]
    assert a.extra["radiofm:scores"]["NR"] > 0.8 and a.label == "LTE" and a.extra["radiofm:decision"] == "phy"
    assert a.extra["radiofm:pci"] == meta["n_id_cell"] and a.extra["radiofm:evidence"]["span_ms"] < 12.0
