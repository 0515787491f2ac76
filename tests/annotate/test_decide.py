"""annotate.decide: carrier-level pooling, physical-layer evidence, the decision rule, and what reaches the SigMF."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import radiofm.annotate as A
from radiofm.annotate import decide, measured_band
from radiofm.annotate.boxes import carrier_boxes, merge_boxes
from radiofm.data import open_recording, write_sigmf
from radiofm.errors import RecordingError
from radiofm.synth.nrlte.carrier import single_carrier

FS = 61.44e6
FC = 3.5e9


def band_predictor(bands):
    """Predictor: for each (lo_hz, hi_hz, p_nr(col) , p_lte(col)) band, those probabilities on its rows at every
    analysis column ``col`` (functions of the recording's column index); noise elsewhere."""

    def predict(images, frames):
        out = np.zeros((len(images), 3, 256, 256), np.float32)
        out[:, 0] = 1.0
        for i, f in enumerate(frames):
            freqs = f.center_offset_hz + (np.arange(256) - 128) * f.row_hz
            cols = f.column + np.arange(256)
            for lo, hi, p_nr, p_lte in bands:
                rows = (freqs >= lo) & (freqs < hi)
                nr, lte = p_nr(cols), p_lte(cols)
                out[i, 1, rows] = nr
                out[i, 2, rows] = lte
                out[i, 0, rows] = 1 - nr - lte
        return out

    return predict


# ------------------------------------------------------------------------------------------ pooling


def test_pooling_over_a_carriers_pixels_frames_and_boxes():
    """One carrier seen in three frames: called LTE (0.7 / 0.3) for 100 columns, NR (0.55 / 0.45) for the next
    100, and after a long pause LTE (0.9 / 0.1) for 40. Each frame's boxes take that frame's class; the carrier
    (same band) pools its 240 x 20 pixels."""
    found = []
    for c0, n_cols, p_nr, p_lte in ((0, 100, 0.3, 0.7), (100, 100, 0.55, 0.45), (240, 40, 0.1, 0.9)):
        probs = np.zeros((3, 64, n_cols), np.float32)
        probs[0] = 1.0
        probs[:, 20:40] = np.array([1 - p_nr - p_lte, p_nr, p_lte], np.float32)[:, None, None]
        for b in carrier_boxes(probs, min_rows=4):
            b.col_lo, b.col_hi = b.col_lo + c0, b.col_hi + c0
            found.append(b)
    assert [(b.cls, b.col_lo, b.col_hi, b.row_lo, b.row_hi) for b in found] == [
        (2, 0, 100, 20, 39),
        (1, 100, 200, 20, 39),
        (2, 240, 280, 20, 39),
    ]
    assert len(merge_boxes(found)) == 3  # by class (before): an LTE - NR - LTE carrier
    merged = merge_boxes(found, same_class=False)
    assert [(b.col_lo, b.col_hi) for b in merged] == [(0, 200), (240, 280)]  # touching in time: one box
    assert decide.group_carriers(merged) == [[0, 1]]  # and the later one is the same carrier (same band)
    scores = decide.pooled_scores(merged)
    p_nr = (100 * 0.3 + 100 * 0.55 + 40 * 0.1) / 240
    assert scores == {"NR": pytest.approx(p_nr, abs=1e-4), "LTE": pytest.approx(1 - p_nr, abs=1e-4)}
    assert decide.decide(scores, None) == ("unknown", "undecided")  # 0.63 LTE: below the 0.75 needed
    assert decide.decide(scores, None, min_score=0.6) == ("LTE", "spectrogram")
    # a carrier in another band is another carrier
    other = merge_boxes([*found, A.Box(45, 60, 0, 50, 1, 40.0, 800, 40.0, 10.0)], same_class=False)
    assert len(decide.group_carriers(other)) == 2


def test_group_carriers_matches_every_pair_compared():
    """Grouping through distinct bands gives exactly the groups (and their order) of comparing every pair of boxes,
    chains of near bands included."""

    def by_pairs(boxes, tol=1):
        near = lambda i, j: (abs(boxes[i].row_lo - boxes[j].row_lo) <= tol  # noqa: E731
                             and abs(boxes[i].row_hi - boxes[j].row_hi) <= tol)  # fmt: skip
        groups = decide.linked_groups(len(boxes), near)
        return sorted(groups, key=lambda g: min(boxes[i].col_lo for i in g))

    rng = np.random.default_rng(5)
    for trial in range(30):
        n, spread = int(rng.integers(1, 60)), int(rng.integers(2, 12))
        lo = rng.integers(0, spread, n)
        boxes = [A.Box(int(a), int(a + rng.integers(3, 3 + spread)), int(c), int(c) + 5, 1, 1.0, 10, 0.0, 0.0)
                 for a, c in zip(lo, rng.integers(0, 20, n))]  # fmt: skip
        for tol in (0, 1, 2):
            assert decide.group_carriers(boxes, row_tolerance=tol) == by_pairs(boxes, tol), (trial, tol)
    # a chain: bands one row apart link end to end into one carrier; a band two rows off stays apart
    chain = [A.Box(10 + k, 50 + k, 100 - k, 110 - k, 1, 1.0, 10, 0.0, 0.0) for k in range(5)]
    chain.append(A.Box(16, 56, 0, 5, 1, 1.0, 10, 0.0, 0.0))
    assert decide.group_carriers(chain) == [[5], [0, 1, 2, 3, 4]]
    many = [A.Box(20 + (i % 3), 80 + (i % 2), i, i + 1, 1, 1.0, 10, 0.0, 0.0) for i in range(4000)]
    many += [A.Box(120, 140, i, i + 1, 2, 1.0, 10, 0.0, 0.0) for i in range(4000)]
    assert [len(g) for g in decide.group_carriers(many)] == [4000, 4000]  # 8000 boxes, 7 bands


def test_recording_pooling_across_frames(tmp_path):
    """Over 80 ms (two model frames), p(NR) 0.8 in the first 40 ms and p(LTE) 0.95 in the second: one annotation,
    scores pooled over both frames (0.8 * 256 vs 0.95 * 256 columns), label from the pooled score."""
    from tests.annotate.test_annotate import band_capture, carrier

    n = int(0.08 * FS)
    iq = band_capture(FS, n, [carrier("NR", -6e6, 3e6, 0, n)])
    rec = open_recording(write_sigmf(tmp_path / "r", iq, sample_rate_hz=FS, center_freq_hz=FC))
    half = 256

    def p_nr(c):
        return np.where(c < half, 0.8, 0.02)[None, :]

    def p_lte(c):
        return np.where(c < half, 0.15, 0.95)[None, :]

    pred = band_predictor([(-6e6, 3e6, p_nr, p_lte)])
    res = A.annotate_recording(rec, pred, phy=False, min_score=0.55)
    assert len(res.annotations) == 1
    a = res.annotations[0]
    expected = (0.8 + 0.02) / (0.8 + 0.02 + 0.15 + 0.95)  # 0.43 NR, 0.57 LTE
    assert a.extra["radiofm:scores"]["NR"] == pytest.approx(expected, abs=2e-3)
    assert a.label == "LTE" and a.extra["radiofm:decision"] == "spectrogram"
    assert "radiofm:evidence" not in a.extra and res.phy is None
    assert A.annotate_recording(rec, pred, phy=False).annotations[0].label == "unknown"  # 0.57 < 0.75


# ------------------------------------------------------------------------------------------ the rule


def test_decide_rule():
    lean = {"NR": 0.9, "LTE": 0.1}
    even = {"NR": 0.55, "LTE": 0.45}
    phy_lte = {"label": "LTE", "llr": -9.0, "pci": 7, "both_cells": False, "sync": True}
    phy_none = {"label": "unknown", "llr": -2.0, "pci": None, "both_cells": False, "sync": False}
    assert decide.decide(lean, phy_lte) == ("LTE", "phy")  # decisive PHY overrides the spectrogram
    no_sync = {**phy_lte, "pci": None, "sync": False}  # e.g. DC null + bandwidth only: no override
    assert decide.decide(lean, no_sync) == ("NR", "spectrogram") and decide.decide(even, no_sync)[0] == "unknown"
    assert decide.decide(lean, phy_none) == ("NR", "spectrogram")  # undecided PHY does not vote
    assert decide.decide(even, phy_none) == ("unknown", "undecided")
    assert decide.decide(even, None) == ("unknown", "undecided")
    assert decide.decide(lean, {**phy_none, "both_cells": True}) == ("unknown", "both cells")
    assert decide.decide(even, None, min_score=0.5) == ("NR", "spectrogram")
    # no OFDM clock at either numerology (Wi-Fi, Bluetooth, band-limited noise): the model's NR/LTE vote is void
    flat = {**phy_none, "cp_rho": {"15k": 0.04, "30k": 0.06}}
    assert decide.decide(lean, flat) == ("unknown", "no OFDM")
    # a short box of a hopper or a pulse: the correlation's maximum over every timing is high at both numerologies
    # alike, which shows no clock either (session 56: Bluetooth and microwave ovens labelled NR or LTE)
    assert decide.decide(lean, {**flat, "cp_rho": {"15k": 0.26, "30k": 0.26}}) == ("unknown", "no OFDM")
    clear30 = {**flat, "cp_rho": {"15k": 0.04, "30k": 0.4}, "sync": True}  # a clear 30 kHz clock counts as sync
    assert decide.decide(lean, clear30) == ("NR", "spectrogram")
    assert decide.decide(lean, {**phy_lte, "cp_rho": {"15k": 0.04, "30k": 0.06}}) == ("LTE", "phy")  # sync first
    # a 15 kHz numerology and no sync signal: the model's NR is not trusted there (LTE's grid), its LTE is
    cp15 = {**phy_none, "cp_rho": {"15k": 0.5, "30k": 0.05}}
    assert decide.decide(lean, cp15) == ("unknown", "NR unconfirmed")
    assert decide.decide({"NR": 0.1, "LTE": 0.9}, cp15) == ("LTE", "spectrogram")
    assert decide.decide(even, cp15) == ("unknown", "undecided")
    unclear = {**cp15, "cp_rho": {"15k": 0.5, "30k": 0.2}}  # neither clock clearly shown: no label without sync
    assert decide.decide(lean, unclear) == ("unknown", "no OFDM")
    assert decide.decide(lean, {**cp15, "label": "NR", "sync": True}) == ("NR", "phy")  # an SSB confirms it


def test_unknown_when_both_are_ambiguous(tmp_path):
    """Band-limited noise (no OFDM: the physical layer cannot tell, and the "no OFDM" rule voids the model's vote)
    and a model torn 0.45/0.45: "unknown", with the scores, through the SigMF writer, the reader and the overlay."""
    from tests.annotate.test_annotate import band_capture, carrier

    n = int(0.04 * FS)
    truth = [carrier("NR", -8e6, 1e6, 0, n)]
    rec = open_recording(write_sigmf(tmp_path / "r", band_capture(FS, n, truth), sample_rate_hz=FS, center_freq_hz=FC))

    def half(c):
        return np.full((1, c.size), 0.45, np.float32)

    res = A.annotate_recording(rec, band_predictor([(-8e6, 1e6, half, half)]))
    assert [a.label for a in res.annotations] == ["unknown"]
    a = res.annotations[0]
    assert a.extra["radiofm:scores"] == {"NR": 0.5, "LTE": 0.5}
    assert a.extra["radiofm:decision"] == "no OFDM"
    assert max(a.extra["radiofm:evidence"]["cp_rho"].values()) < 0.15
    assert a.extra["radiofm:evidence"]["label"] == "unknown" and "radiofm:pci" not in a.extra
    paths = A.write_annotated(rec, res, tmp_path / "out")
    back = open_recording(paths["meta"])
    assert [x.label for x in back.annotations] == ["unknown"]
    assert back.annotations[0].extra["radiofm:scores"] == {"NR": 0.5, "LTE": 0.5}
    assert paths["png"].stat().st_size > 0


def test_a_bluetooth_packet_the_model_calls_nr_is_unknown(tmp_path):
    """A 2.8 ms GFSK packet (Bluetooth's 1 Mb/s, h 0.32, BT 0.5) that the model calls NR with 0.9: on so short a
    span the CP correlation's maximum over every timing reaches ~0.2-0.26 at both numerologies, over the old
    fixed 0.15, and the packet was labelled NR on the model's word (session 56). No clear clock: "no OFDM"."""
    col = 9600  # samples per analysis column (0.15625 ms)
    rng = np.random.default_rng(0)
    n, c0, ncol, f0 = int(0.04 * FS), 100, 18, -10e6
    x = (rng.standard_normal(n) + 1j * rng.standard_normal(n)) * np.sqrt(0.5) * 10 ** (-25 / 20)
    bits = np.repeat(rng.integers(0, 2, ncol * col // 61 + 1) * 2 - 1, 61).astype(float)[: ncol * col]
    t = np.arange(-122, 123) / 61
    g = np.exp(-2 * (np.pi * 0.5 * t) ** 2 / np.log(2))
    phase = np.pi * 0.32 * np.cumsum(np.convolve(bits, g / g.sum(), "same")) / 61
    x[c0 * col : (c0 + ncol) * col] += np.exp(1j * (phase + 2 * np.pi * f0 * np.arange(ncol * col) / FS))
    rec = open_recording(write_sigmf(tmp_path / "bt", x.astype(np.complex64), sample_rate_hz=FS, center_freq_hz=FC))

    def burst(p):
        return lambda cols: np.where((cols >= c0) & (cols < c0 + ncol), p, 0.0).astype(np.float32)

    res = A.annotate_recording(rec, band_predictor([(f0 - 0.6e6, f0 + 0.6e6, burst(0.9), burst(0.05))]))
    assert len(res.annotations) == 1
    a = res.annotations[0]
    assert a.extra["radiofm:scores"]["NR"] > 0.9 and a.extra["radiofm:evidence"]["span_ms"] < 3.5
    assert (a.label, a.extra["radiofm:decision"]) == ("unknown", "no OFDM")


def ofdm_15khz_without_sync(rng, *, centre_hz: float, n_used: int = 600, snr_db: float = 15.0) -> np.ndarray:
    """40 ms of plain OFDM at 61.44 MS/s: 15 kHz subcarriers (4096-point IFFT, 288-sample cyclic prefix), QPSK on
    ``n_used`` subcarriers around an empty DC one, no sync signal of either standard (like an uplink carrier, or
    a cell whose PSS/SSB faded), at ``centre_hz``, in white noise at ``snr_db`` per used subcarrier."""
    n_fft, cp = 4096, 288
    n_sym = int(0.04 * FS) // (n_fft + cp)
    k = np.r_[1 : n_used // 2 + 1, -(n_used // 2) : 0]
    grid = np.zeros((n_sym, n_fft), np.complex128)
    grid[:, k] = rng.choice([-1.0, 1.0], (n_sym, n_used)) + 1j * rng.choice([-1.0, 1.0], (n_sym, n_used))
    sym = np.fft.ifft(grid, axis=1)
    x = np.concatenate([sym[:, -cp:], sym], axis=1).ravel()
    x *= np.exp(2j * np.pi * centre_hz / FS * np.arange(x.size))
    x /= np.sqrt(np.mean(np.abs(x) ** 2) * n_fft / n_used)  # unit power per used subcarrier and FFT bin
    noise_std = 10 ** (-snr_db / 20) / np.sqrt(2)
    x = x + noise_std * (rng.standard_normal(x.size) + 1j * rng.standard_normal(x.size))
    out = np.zeros(int(0.04 * FS), np.complex64)
    out[: x.size] = x
    return out


@pytest.mark.parametrize("says, expected", [("NR", ("unknown", "NR unconfirmed")), ("LTE", ("LTE", "spectrogram"))])
def test_15khz_carrier_without_sync(tmp_path, says, expected):
    """A 15 kHz OFDM carrier with no sync signal: the model's NR is not trusted there (a 15 kHz NR carrier shares
    LTE's grid), so "NR" becomes unknown ("NR unconfirmed", scores kept); its LTE stands."""
    x = ofdm_15khz_without_sync(np.random.default_rng(5), centre_hz=-5e6)
    rec = open_recording(write_sigmf(tmp_path / "c", x, sample_rate_hz=FS, center_freq_hz=FC))
    p = 0.9 if says == "NR" else 0.05

    def p_nr(c):
        return np.full((1, c.size), p, np.float32)

    def p_lte(c):
        return np.full((1, c.size), 0.95 - p, np.float32)

    res = A.annotate_recording(rec, band_predictor([(-9.5e6, -0.5e6, p_nr, p_lte)]))
    assert len(res.annotations) == 1
    a = res.annotations[0]
    assert (a.label, a.extra["radiofm:decision"]) == expected
    assert a.extra["radiofm:scores"][says] > 0.9
    ev = a.extra["radiofm:evidence"]
    assert not ev["sync"] and ev["cp_rho"]["15k"] >= 0.15 and ev["cp_rho"]["15k"] >= 4 * ev["cp_rho"]["30k"]


# ------------------------------------------------------------------------------------------ physical layer


@pytest.mark.parametrize(
    "kind, kwargs",
    [("LTE", {"bandwidth_mhz": 10}), ("NR", {"bandwidth_mhz": 20, "scs_hz": 30e3})],
)
def test_phy_overrides_a_wrong_spectrogram_and_writes_pci(tmp_path, kind, kwargs):
    """A fully loaded carrier (single_carrier, 15 dB) that the spectrogram confidently calls the other standard:
    the physical layer finds its PSS/SSS, so the label, the cell ID and the evidence are the truth's."""
    iq, meta = single_carrier(kind, np.random.default_rng(3), snr_db=15.0, centre_hz=-5e6, load=1.0, **kwargs)
    rec = open_recording(write_sigmf(tmp_path / "c", iq, sample_rate_hz=FS, center_freq_hz=FC))
    lo, hi = meta["lower_edge_hz"], meta["upper_edge_hz"]
    wrong_nr = 0.9 if kind == "LTE" else 0.05

    def p_nr(c):
        return np.full((1, c.size), wrong_nr, np.float32)

    def p_lte(c):
        return np.full((1, c.size), 0.95 - wrong_nr, np.float32)

    pred = band_predictor([(lo, hi, p_nr, p_lte)])
    res = A.annotate_recording(rec, pred)
    assert len(res.annotations) == 1
    a = res.annotations[0]
    other = "NR" if kind == "LTE" else "LTE"
    assert a.extra["radiofm:scores"][other] > 0.9  # the spectrogram alone would say the other standard
    assert a.label == kind and a.extra["radiofm:decision"] == "phy"
    assert a.extra["radiofm:pci"] == meta["n_id_cell"]
    ev = a.extra["radiofm:evidence"]
    assert ev["label"] == kind and ev["span_ms"] == pytest.approx(20.0, abs=0.5)
    assert abs(ev["occupied_hz"][0] - lo) < 30e3 and abs(ev["occupied_hz"][1] - hi) < 30e3
    assert res.phy["carriers"] == 1 and res.phy["cpu_s"] > 0
    # the written SigMF carries the scores, the PCI and the evidence
    paths = A.write_annotated(rec, res, tmp_path / "out", model="m")
    meta_out = json.loads(paths["meta"].read_text())
    ann = meta_out["annotations"][0]
    assert ann["core:label"] == kind and ann["radiofm:pci"] == meta["n_id_cell"]
    assert set(ann["radiofm:scores"]) == {"NR", "LTE"} and ann["radiofm:evidence"]["pci"] == meta["n_id_cell"]
    assert meta_out["global"]["radiofm:annotate"]["phy"]["max_ms"] == 20.0
    assert "cpu_s" not in meta_out["global"]["radiofm:annotate"]["phy"]  # the same bytes from run to run
    # without the physical layer, the (wrong) spectrogram decides
    off = A.annotate_recording(rec, pred, phy=False)
    assert off.annotations[0].label == other and "radiofm:pci" not in off.annotations[0].extra


@pytest.mark.parametrize("kind, kwargs", [("LTE", {"bandwidth_mhz": 5}), ("NR", {"bandwidth_mhz": 10})])
def test_measured_edges_replace_the_grid_rows(tmp_path, kind, kwargs):
    """A model whose band is ~1 row too wide below and too narrow above: with the physical layer the annotation
    takes the measured occupied band (edges within 30 kHz of the truth); without it, the grid rows."""
    iq, meta = single_carrier(kind, np.random.default_rng(5), snr_db=20.0, centre_hz=4e6, load=1.0, **kwargs)
    rec = open_recording(write_sigmf(tmp_path / "c", iq, sample_rate_hz=FS, center_freq_hz=FC))
    lo, hi = meta["lower_edge_hz"], meta["upper_edge_hz"]

    def p_nr(c):
        return np.full((1, c.size), 0.9 if kind == "NR" else 0.05, np.float32)

    def p_lte(c):
        return np.full((1, c.size), 0.95 - p_nr(c)[0, 0], np.float32)

    pred = band_predictor([(lo - 250e3, hi - 200e3, p_nr, p_lte)])
    (a,) = A.annotate_recording(rec, pred).annotations
    assert a.label == kind and a.extra["radiofm:edges"] == "measured"
    assert abs(a.freq_lower_edge_hz - (FC + lo)) < 30e3 and abs(a.freq_upper_edge_hz - (FC + hi)) < 30e3
    (g,) = A.annotate_recording(rec, pred, phy=False).annotations
    assert g.extra["radiofm:edges"] == "grid"
    assert g.freq_lower_edge_hz < FC + lo - 150e3 and g.freq_upper_edge_hz < FC + hi - 100e3


def test_measured_band_needs_confident_edges_near_the_grid():
    ev = {"edges_confident": True, "occupied_hz": [1.0e6, 5.5e6]}
    assert measured_band.measured_band(ev, (0.9e6, 5.6e6)) == (1.0e6, 5.5e6)
    assert measured_band.measured_band({**ev, "edges_confident": False}, (0.9e6, 5.6e6)) is None
    assert measured_band.measured_band(ev, (3.0e6, 9.0e6)) is None  # far from the model's band: not trusted


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


def test_lte_carrier_cut_by_the_band_edge_is_not_called_nr(tmp_path):
    """An LTE 20 MHz carrier at -10 MHz in a capture decimated to 30.72 MS/s: the band edge cuts it at -15.36 MHz,
    so the visible band's centre is not the carrier's and its width matches an NR table entry. Those two used to
    add up to a decisive "NR"; for a cut carrier only the sync signals count. Its LTE PSS/SSS (at -10 MHz) are in
    the capture and its CRS show the upper edge, so the cell is identified: LTE, its PCI, the band cut at the
    capture's edge (until session 42 the band could not be measured and the label was "unknown")."""
    from scipy.signal import resample_poly

    iq, meta = single_carrier("LTE", np.random.default_rng(11), bandwidth_mhz=20, snr_db=20.0, centre_hz=-10e6)
    y = resample_poly(iq, 1, 2).astype(np.complex64)
    rec = open_recording(write_sigmf(tmp_path / "cut", y, sample_rate_hz=FS / 2))

    def even(c):
        return np.full((1, c.size), 0.45, np.float32)

    res = A.annotate_recording(rec, band_predictor([(-15.36e6, meta["upper_edge_hz"], even, even)]))
    assert len(res.annotations) == 1
    a = res.annotations[0]
    assert a.freq_lower_edge_hz == -15.36e6 and a.label == "LTE", a.extra["radiofm:evidence"]
    assert a.extra["radiofm:pci"] == meta["n_id_cell"]
    assert abs(a.freq_upper_edge_hz - meta["upper_edge_hz"]) < 2e3
    assert any("cut there" in line for line in a.extra["radiofm:evidence"]["items"])


def test_a_carrier_cut_by_the_band_edge_keeps_its_measured_inner_edge(tmp_path):
    """A wideband signal (no OFDM: no sync, no cell stage) from -20 to -9.36 MHz, decimated to 30.72 MS/s: the band
    edge cuts it at -15.36 MHz. Its upper edge is measured to the kHz, but a cut carrier took both edges from the
    240 kHz grid, up to 360 kHz into the gap beside it (session 60's review). The cut edge stays the recording's."""
    from scipy.signal import resample_poly

    rng = np.random.default_rng(3)
    n = int(0.04 * FS)
    spec = np.fft.fft(rng.standard_normal(n) + 1j * rng.standard_normal(n))
    f = np.fft.fftfreq(n, 1 / FS)
    spec[(f < -20e6) | (f >= -9.36e6)] = 0
    noise = 0.03 * (rng.standard_normal(n) + 1j * rng.standard_normal(n))
    y = resample_poly(np.fft.ifft(spec) + noise, 1, 2).astype(np.complex64)
    rec = open_recording(write_sigmf(tmp_path / "cut", y, sample_rate_hz=FS / 2))

    def on(c):
        return np.full((1, c.size), 0.45, np.float32)

    res = A.annotate_recording(rec, band_predictor([(-15.36e6, -9.1e6, on, on)]), scan_nr=False, scan_lte=False)
    (a,) = res.annotations
    assert a.extra["radiofm:decision"] == "no OFDM" and a.extra["radiofm:edges"] == "inner edge measured"
    assert a.freq_lower_edge_hz == -15.36e6 and abs(a.freq_upper_edge_hz + 9.36e6) < 10e3


def test_a_carrier_with_one_sharp_edge_keeps_it_measured(tmp_path):
    """A wideband signal (no OFDM) with a sharp upper edge at 9.36 MHz and a lower one that fades in over 3 MHz:
    both edges had to be confident for either to replace the grid's 240 kHz rows (session 60's review: a carrier
    whose box stopped short of the band edge kept -9.00 MHz for an edge measured at -9.36). The sharp edge is kept
    as measured, the faded one stays the grid's ("one edge measured")."""
    rng = np.random.default_rng(4)
    n = int(0.04 * FS)
    spec = np.fft.fft(rng.standard_normal(n) + 1j * rng.standard_normal(n))
    f = np.fft.fftfreq(n, 1 / FS)
    spec *= np.clip((f + 3e6) / 3e6, 0, 1)  # a ramp from -3 MHz up to 0 Hz: no edge to measure there
    spec[f >= 9.36e6] = 0
    noise = 0.03 * (rng.standard_normal(n) + 1j * rng.standard_normal(n))
    rec = open_recording(write_sigmf(tmp_path / "one", (np.fft.ifft(spec) + noise).astype(np.complex64),
                                     sample_rate_hz=FS))  # fmt: skip

    def on(c):
        return np.full((1, c.size), 0.45, np.float32)

    res = A.annotate_recording(rec, band_predictor([(-2.0e6, 9.1e6, on, on)]), scan_nr=False, scan_lte=False)
    (a,) = res.annotations
    assert a.extra["radiofm:edges"] == "one edge measured", a.extra["radiofm:evidence"]
    assert abs(a.freq_upper_edge_hz - 9.36e6) < 10e3 and a.freq_lower_edge_hz < -1.5e6


def test_inner_edge_band_needs_that_edge_confident_and_near_the_grid():
    ev = {"edge_confident": {"lower": False, "upper": True}, "occupied_hz": [-15.0e6, -9.36e6]}
    assert measured_band.inner_edge_band(ev, (-15.36e6, -9.0e6), low_cut=True) == (-15.36e6, -9.36e6)
    assert measured_band.inner_edge_band(ev, (-15.36e6, -9.0e6), low_cut=False) is None  # the lower edge: not confident
    assert measured_band.inner_edge_band(ev, (-15.36e6, -8.0e6), low_cut=True) is None  # 1.4 MHz off the grid's


def _light_lte_10mhz(tmp_path):
    """A lightly loaded 10 MHz LTE carrier at -6 MHz, 12 dB: (recording, lower edge, upper edge, centre, p_nr,
    p_lte), the last two a predictor's constant probabilities calling it LTE (0.85)."""
    iq, meta = single_carrier("LTE", np.random.default_rng(11), bandwidth_mhz=10, snr_db=12.0, centre_hz=-6e6, load=0.2)
    rec = open_recording(write_sigmf(tmp_path / "c", iq, sample_rate_hz=FS, center_freq_hz=FC))
    lo, hi = meta["lower_edge_hz"], meta["upper_edge_hz"]

    def p_nr(c):
        return np.full((1, c.size), 0.1, np.float32)

    def p_lte(c):
        return np.full((1, c.size), 0.85, np.float32)

    return rec, lo, hi, 0.5 * (lo + hi), p_nr, p_lte


def test_lte_band_from_the_pss_centre_widens_a_box_cut_short(tmp_path):
    """A lightly loaded 10 MHz LTE carrier of which the model sees only the central 3 MHz: its PSS gives the
    centre, the spectrum's steps pick the 50-RB band, and the annotation covers the whole carrier."""
    rec, lo, hi, mid, p_nr, p_lte = _light_lte_10mhz(tmp_path)
    (a,) = A.annotate_recording(rec, band_predictor([(mid - 1.5e6, mid + 1.5e6, p_nr, p_lte)])).annotations
    ev = a.extra["radiofm:evidence"]
    assert a.label == "LTE" and ev["lte_n_rb"] == 50 and a.extra["radiofm:edges"] == "measured"
    assert abs(a.freq_lower_edge_hz - (FC + lo)) < 20e3 and abs(a.freq_upper_edge_hz - (FC + hi)) < 20e3


def test_lte_band_at_centre_on_noise_and_on_a_carrier():
    from radiofm.dsp.bandwidth import lte_band_at_centre

    rng = np.random.default_rng(0)
    noise = (rng.standard_normal(400_000) + 1j * rng.standard_normal(400_000)).astype(np.complex64)
    assert lte_band_at_centre(noise, FS, 0.0) is None
    iq, meta = single_carrier("LTE", np.random.default_rng(2), bandwidth_mhz=5, snr_db=10.0, centre_hz=3e6)
    band = lte_band_at_centre(iq[:400_000], FS, 0.5 * (meta["lower_edge_hz"] + meta["upper_edge_hz"]))
    assert band is not None and band["n_rb"] == 25
    assert band["lower_hz"] == pytest.approx(meta["lower_edge_hz"], abs=1.0)


def test_pieces_of_a_measured_lte_cell_join_it(tmp_path):
    """The model cuts a lightly loaded 10 MHz LTE cell into two bands (the centre, and a piece near its upper
    edge): the centre's PSS gives the cell's band, the other piece lies inside it while it is on, so both are one
    carrier: one annotation over the whole band. Without the PHY stage they stay two annotations."""
    rec, lo, hi, mid, p_nr, p_lte = _light_lte_10mhz(tmp_path)
    pred = band_predictor([(mid - 1.5e6, mid + 1.5e6, p_nr, p_lte), (mid + 2.5e6, mid + 4e6, p_nr, p_lte)])
    assert len(A.annotate_recording(rec, pred, phy=False).annotations) == 2
    (a,) = A.annotate_recording(rec, pred).annotations
    assert a.label == "LTE" and a.extra["radiofm:edges"] == "measured"
    assert abs(a.freq_lower_edge_hz - (FC + lo)) < 20e3 and abs(a.freq_upper_edge_hz - (FC + hi)) < 20e3


def test_carriers_decided_on_several_threads_give_the_serial_decisions(tmp_path, monkeypatch):
    """Three carriers (LTE, NR and one piece of noise) decided on three threads: the very decisions, in the same
    order, as one after another; so are those of a recording with NaN samples read with them repaired (counted,
    never warned: no process-wide warning filter on the threads)."""
    import threading

    from band_predictors import band_box

    from radiofm.annotate.plan import plan_analysis

    lte, ml = single_carrier("LTE", np.random.default_rng(3), bandwidth_mhz=10, snr_db=12.0, centre_hz=-15e6)
    nr, mn = single_carrier("NR", np.random.default_rng(4), bandwidth_mhz=20, scs_hz=30e3, snr_db=12.0,
                            centre_hz=10e6)  # fmt: skip
    rec = open_recording(write_sigmf(tmp_path / "c", lte + nr, sample_rate_hz=FS, center_freq_hz=FC))
    plan = plan_analysis(FS, rec.n_samples)
    boxes = [band_box(plan, m["lower_edge_hz"], m["upper_edge_hz"]) for m in (ml, mn)] + [band_box(plan, 24e6, 27e6)]
    threads, one = [], decide.carrier_decision
    monkeypatch.setattr(decide, "carrier_decision", lambda *a, **k: threads.append(threading.current_thread().name)
                        or one(*a, **k))  # fmt: skip
    monkeypatch.setattr(decide, "usable_cores", lambda: 1)
    serial = decide.decide_carriers(boxes, rec, plan)
    assert set(threads) == {threading.current_thread().name}
    monkeypatch.setattr(decide, "usable_cores", lambda: 3)
    threads.clear()
    parallel = decide.decide_carriers(boxes, rec, plan)
    assert len(threads) == 3 and all(t.startswith("radiofm-decide") for t in threads)
    assert parallel == serial
    assert [(d.label, d.pci) for d in serial[:2]] == [("LTE", ml["n_id_cell"]), ("NR", mn["n_id_cell"])]
    bad = lte + nr
    bad[[1000, 300_000, 700_000]] = np.nan  # inside every carrier's 20 ms span
    rec_bad = open_recording(write_sigmf(tmp_path / "bad", bad, sample_rate_hz=FS, center_freq_hz=FC))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # repairing reads count, never warn
        monkeypatch.setattr(decide, "usable_cores", lambda: 1)
        serial_bad = decide.decide_carriers(boxes, rec_bad, plan, nonfinite="repair")
        monkeypatch.setattr(decide, "usable_cores", lambda: 3)
        threads.clear()
        assert decide.decide_carriers(boxes, rec_bad, plan, nonfinite="repair") == serial_bad
    assert len(threads) == 3 and all(t.startswith("radiofm-decide") for t in threads)
    assert [(d.label, d.pci) for d in serial_bad[:2]] == [(d.label, d.pci) for d in serial[:2]]
    with pytest.raises(RecordingError, match="non-finite"):  # not repaired: the error, from whichever thread
        decide.decide_carriers(boxes, rec_bad, plan)
