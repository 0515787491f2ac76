"""annotate.lte_scan: LTE cells found around the model's pieces become whole carriers."""

from __future__ import annotations

import numpy as np
import pytest
from band_predictors import band_box, band_predictor

import radiofm.annotate as A
from radiofm.annotate.boxes import Box
from radiofm.annotate.decide import Decision
from radiofm.annotate.lte_scan import find_lte_cells
from radiofm.annotate.plan import plan_analysis
from radiofm.data import open_recording, write_sigmf
from radiofm.synth.nrlte.carrier import single_carrier

FS = 61.44e6
FC = 2.6e9


def _record(tmp_path, *carriers):
    iq = sum(c[0] for c in carriers)
    return open_recording(write_sigmf(tmp_path / "c", iq, sample_rate_hz=FS, center_freq_hz=FC))


def test_a_piece_off_the_dc_of_an_idle_cell_becomes_the_whole_cell(tmp_path):
    """The model sees 2 MHz near the upper edge of a lightly loaded 10 MHz cell: no PSS at that piece's centre
    (before this stage: a 2 MHz annotation with the spectrogram's label); the scan finds the cell 3 MHz away,
    and its CRS give the band."""
    iq, meta = single_carrier("LTE", np.random.default_rng(11), bandwidth_mhz=10, snr_db=6.0, centre_hz=-6e6,
                              load=0.05)  # fmt: skip
    lo, hi = meta["lower_edge_hz"], meta["upper_edge_hz"]
    rec = _record(tmp_path, (iq, meta))
    (a,) = A.annotate_recording(rec, band_predictor([(hi - 2.2e6, hi - 0.2e6)])).annotations
    assert a.label == "LTE" and a.extra["radiofm:pci"] == meta["n_id_cell"]
    assert a.extra["radiofm:edges"] == "measured" and "scan" in a.extra["radiofm:evidence"]
    assert abs(a.freq_lower_edge_hz - (FC + lo)) < 2e3 and abs(a.freq_upper_edge_hz - (FC + hi)) < 2e3
    (b,) = A.annotate_recording(rec, band_predictor([(hi - 2.2e6, hi - 0.2e6)]), phy=False).annotations
    assert b.freq_upper_edge_hz - b.freq_lower_edge_hz < 2.5e6  # the model's piece, without the PHY stage


def test_a_piece_narrower_than_900_khz_seeds_the_cell_but_alone_is_no_carrier(tmp_path):
    """A 10 MHz cell on from 15 to 30 ms, of which the model sees only 3 rows (720 kHz): the piece still leads the
    scan to the cell and gives its time (the blind scan alone would give the whole capture), and the cell is
    annotated with its measured band; without the physical layer nothing widens the piece, and a band under
    ``min_bandwidth_khz`` (900 kHz) is no annotation (as a receiver's DC spike boxed in 3 rows)."""
    iq, meta = single_carrier("LTE", np.random.default_rng(11), bandwidth_mhz=10, snr_db=6.0, centre_hz=-6e6,
                              load=0.05)  # fmt: skip
    lo, hi = meta["lower_edge_hz"], meta["upper_edge_hz"]
    on, off = int(0.015 * FS), int(0.030 * FS)
    floor = np.random.default_rng(5).standard_normal(2 * iq.size, dtype=np.float32).view(np.complex64)
    iq = iq.copy()
    iq[:on] = 0
    iq[off:] = 0
    rec = _record(tmp_path, (iq + floor * np.float32(0.05 * np.sqrt(0.5) * np.std(iq)), meta))
    narrow = band_predictor([(hi - 1.0e6, hi - 0.3e6, on, off)])
    (a,) = A.annotate_recording(rec, narrow).annotations
    assert a.label == "LTE" and a.extra["radiofm:pci"] == meta["n_id_cell"] and a.extra["radiofm:edges"] == "measured"
    assert abs(a.freq_lower_edge_hz - (FC + lo)) < 2e3 and abs(a.freq_upper_edge_hz - (FC + hi)) < 2e3
    assert abs(a.sample_start - on) < 0.001 * FS and abs(a.sample_start + a.sample_count - off) < 0.001 * FS
    assert A.annotate_recording(rec, narrow, phy=False).annotations == []


def test_one_box_over_two_adjacent_cells_becomes_two_annotations(tmp_path):
    a, ma = single_carrier("LTE", np.random.default_rng(3), bandwidth_mhz=10, snr_db=12.0, centre_hz=-4.8e6, load=0.3)
    b, mb = single_carrier("LTE", np.random.default_rng(4), bandwidth_mhz=10, snr_db=12.0, centre_hz=4.8e6, load=0.3)
    rec = _record(tmp_path, (a, ma), (b, mb))
    anns = A.annotate_recording(rec, band_predictor([(ma["lower_edge_hz"], mb["upper_edge_hz"])])).annotations
    assert sorted(x.extra["radiofm:pci"] for x in anns) == sorted([ma["n_id_cell"], mb["n_id_cell"]])
    for x in anns:
        m = ma if x.extra["radiofm:pci"] == ma["n_id_cell"] else mb
        assert x.label == "LTE" and abs(x.freq_lower_edge_hz - (FC + m["lower_edge_hz"])) < 2e3
        assert abs(x.freq_upper_edge_hz - (FC + m["upper_edge_hz"])) < 2e3


def test_a_box_much_wider_than_its_cell_joins_it_when_its_pss_named_the_cell(tmp_path):
    """A 1.4 MHz cell whose box is 3.1 MHz wide (2 MHz more than BLUR_HZ allows; the alt generator's spectrum
    made the model draw such a box): the per-carrier stage found its PSS/SSS (its PCI) but no band; the scan
    measures the CRS band, and the PCI ties the box to the cell."""
    iq, meta = single_carrier("LTE", np.random.default_rng(7), bandwidth_mhz=1.4, snr_db=15.0, centre_hz=8e6,
                              load=0.05)  # fmt: skip
    lo, hi = meta["lower_edge_hz"], meta["upper_edge_hz"]
    rec = _record(tmp_path, (iq, meta))
    plan = plan_analysis(FS, rec.n_samples)
    rows = np.round(np.array([lo - 0.5e6, hi + 1.5e6]) / plan.row_hz + plan.n_bins / 2 - plan.grid[0]).astype(int)
    box = Box(int(rows[0]), int(rows[1]) - 1, 0, plan.n_columns, 2, 100.0, 120, 10.0, 100.0)
    own = Decision("LTE", {"NR": 0.1, "LTE": 0.9}, "phy", 0.8, {"label": "LTE"}, meta["n_id_cell"], None)
    _, (d,), _ = find_lte_cells([box], [own], rec, plan, max_ms=20.0)
    assert d.pci == meta["n_id_cell"] and d.band_hz == pytest.approx((lo, hi), abs=2e3)


def test_a_piece_of_a_cell_already_measured_joins_that_carrier(tmp_path):
    """The per-carrier stage measured the cell from one box; the scan, started from an unidentified piece of the
    same cell, finds it again: the piece takes the existing decision (one annotation, not two of one cell)."""
    iq, meta = single_carrier("LTE", np.random.default_rng(11), bandwidth_mhz=10, snr_db=10.0, centre_hz=-6e6,
                              load=0.05)  # fmt: skip
    lo, hi = meta["lower_edge_hz"], meta["upper_edge_hz"]
    rec = _record(tmp_path, (iq, meta))
    plan = plan_analysis(FS, rec.n_samples)

    def box(a_hz, b_hz):
        return band_box(plan, a_hz, b_hz, cls=2)

    measured = Decision("LTE", {"NR": 0.1, "LTE": 0.9}, "phy", 0.8, {"label": "LTE"}, meta["n_id_cell"], (lo, hi))
    piece = Decision("unknown", {"NR": 0.5, "LTE": 0.5}, "undecided", 0.5, None, None, None)
    _, out, scans = find_lte_cells([box(lo, hi), box(hi - 2.2e6, hi - 0.2e6)], [measured, piece], rec, plan,
                                   max_ms=20.0)  # fmt: skip
    assert scans == 1 and all(d is measured for d in out)


def test_a_short_piece_of_a_weak_cell_is_scanned_over_40_ms(tmp_path):
    """A fully loaded 10 MHz cell at -3 dB, seen by the model only as a 2 MHz piece off its DC for 7 ms: one
    PSS in the piece (not enough at this SNR); the scan reads 40 ms around it and finds the cell with its band."""
    iq, meta = single_carrier("LTE", np.random.default_rng(0), bandwidth_mhz=10, snr_db=-3.0, centre_hz=-6e6,
                              load=1.0)  # fmt: skip
    lo, hi = meta["lower_edge_hz"], meta["upper_edge_hz"]
    rec = _record(tmp_path, (iq, meta))
    piece = (hi - 2.2e6, hi - 0.2e6, 0.017 * FS, 0.024 * FS)
    (a,) = A.annotate_recording(rec, band_predictor([piece])).annotations
    assert a.label == "LTE" and a.extra["radiofm:pci"] == meta["n_id_cell"]
    assert abs(a.freq_lower_edge_hz - (FC + lo)) < 2e3 and abs(a.freq_upper_edge_hz - (FC + hi)) < 2e3


@pytest.mark.parametrize("structure", ["tdd", "mbsfn", "fdd"])
def test_tdd_and_mbsfn_cells_are_found_and_the_duplex_written(tmp_path, structure):
    """LTE frame structures our training generator never draws (the alt generator's, 20 ms): a TDD cell (silent
    uplink subframes, the PSS three symbols after the SSS) and an FDD cell with empty MBSFN subframes are found,
    banded and named; ``radiofm:duplex`` says which spacing of PSS and SSS confirmed the PCI."""
    from radiofm.synth.nrlte_alt import channel, scene
    from radiofm.synth.nrlte_alt.lte import with_frame_structure

    n = int(0.020 * FS)
    for seed in range(50):
        rng = np.random.default_rng(seed)
        plans = scene.plan_scene(rng, split="test", regimes=["random"], sample_rate_hz=FS, n_samples=n)
        lte = [p for p in plans if p.kind == "LTE" and p.cell.bandwidth_hz >= 5e6]
        if lte:
            break
    cell = with_frame_structure(lte[0].cell, structure, rng)
    plan = scene.replace(lte[0], cell=cell, channel=channel.ChannelSpec(), cfo_hz=0.0, snr_db=10.0, gate_slots=None)
    x, _ = scene.render_carrier(plan, rng, FS, n)
    iq = x + rng.standard_normal(2 * n, dtype=np.float32).view(np.complex64) * np.float32(np.sqrt(0.5))
    lo, hi = scene.occupied_edges(plan)
    rec = open_recording(write_sigmf(tmp_path / "c", iq, sample_rate_hz=FS, center_freq_hz=FC))
    (a,) = A.annotate_recording(rec, band_predictor([(lo, hi)])).annotations
    assert a.label == "LTE" and a.extra["radiofm:pci"] == cell.pci
    assert a.extra["radiofm:duplex"] == ("TDD" if structure == "tdd" else "FDD")
    assert abs(a.freq_lower_edge_hz - (FC + lo)) < 20e3 and abs(a.freq_upper_edge_hz - (FC + hi)) < 20e3


def test_unscanned_leaves_out_what_a_scan_of_the_same_samples_searched():
    """The parts of a piece's reach that earlier scans of (nearly) the same span did not search; a scan of other
    samples (a span sharing under 90 % of its length) subtracts nothing, and slivers under two subcarriers go."""
    from radiofm.annotate.lte_scan import _unscanned

    span = (0, 1000)
    assert _unscanned((-10e6, 10e6), span, []) == [(-10e6, 10e6)]
    done = [((-30e6, -5e6), (0, 1000)), ((2e6, 4e6), (50, 1000))]
    assert _unscanned((-10e6, 10e6), span, done) == [(-5e6, 2e6), (4e6, 10e6)]
    assert _unscanned((-10e6, 10e6), span, [((-30e6, -5e6), (200, 1200))]) == [(-10e6, 10e6)]
    assert _unscanned((-10e6, 10e6), span, [((-30e6, 9.99e6), span)]) == []
    assert _unscanned((-10e6, 10e6), span, [((-30e6, -5e6), span), ((-5e6, 30e6), span)]) == []


def test_the_pieces_of_a_wide_carrier_scan_each_dc_position_once(tmp_path, monkeypatch):
    """Five unidentified pieces spread over 40 MHz (the model's boxes of a wide NR carrier with a PRB mosaic) lie
    within each other's scan reach: every DC position of the union is searched once, on one read of the span,
    and the LTE cell among them is still found with its band."""
    import radiofm.annotate.lte_scan as L
    from radiofm.annotate import spans

    iq, meta = single_carrier("LTE", np.random.default_rng(11), bandwidth_mhz=10, snr_db=10.0, centre_hz=12e6,
                              load=0.05)  # fmt: skip
    rec = _record(tmp_path, (iq, meta))
    plan = plan_analysis(FS, rec.n_samples)

    def box(a_hz, b_hz):
        return band_box(plan, a_hz, b_hz)

    calls, reads = [], []
    scan, read = L.scan_lte_cells, spans.read_span
    monkeypatch.setattr(L, "scan_lte_cells", lambda x, fs, **kw: calls.append((kw["lower_hz"], kw["upper_hz"]))
                        or scan(x, fs, **kw))  # fmt: skip
    monkeypatch.setattr(spans, "read_span", lambda *a: reads.append(a[1:3]) or read(*a))  # LastSpan's reads
    # the third piece's reach is searched by the first two; the fifth lies in the cell the fourth's scan found
    pieces = [(-20e6, -17e6), (-4e6, -1e6), (-12e6, -10e6), (4e6, 6e6), (14e6, 16e6)]
    boxes = [box(a, b) for a, b in pieces]
    decisions = [Decision("NR", {"NR": 0.9, "LTE": 0.1}, "spectrogram", 0.9) for _ in pieces]
    out_b, out_d, scans = find_lte_cells(boxes, decisions, rec, plan, max_ms=20.0)
    calls.sort()
    assert all(a[1] <= b[0] for a, b in zip(calls, calls[1:], strict=False))  # no DC position searched twice
    reach = (-20e6 - L.SCAN_REACH_HZ, 6e6 + L.SCAN_REACH_HZ)
    assert calls[0][0] == pytest.approx(reach[0], abs=plan.row_hz)
    assert calls[-1][1] == pytest.approx(reach[1], abs=plan.row_hz)
    assert sum(b - a for a, b in calls) == pytest.approx(calls[-1][1] - calls[0][0])  # and none left out
    assert len(reads) == 1 and scans == 3
    cell = [d for d in out_d if d.label == "LTE"]
    assert cell and cell[0].pci == meta["n_id_cell"]
    lo, hi = cell[0].band_hz
    assert abs(lo - meta["lower_edge_hz"]) < 2e3 and abs(hi - meta["upper_edge_hz"]) < 2e3


def test_the_band_of_a_measured_nr_cell_beside_a_piece_is_not_scanned(tmp_path, monkeypatch):
    """An NR cell measured from its DMRS lies within the scan reach of an unidentified LTE piece: its band goes to
    the scan as occupied (no LTE DC inside it), a measured LTE cell's band does not (the scan must find that cell
    again for a piece of it to join it), and the LTE cell beside is still found."""
    import radiofm.annotate.lte_scan as L

    iq, meta = single_carrier("LTE", np.random.default_rng(11), bandwidth_mhz=10, snr_db=10.0, centre_hz=12e6,
                              load=0.05)  # fmt: skip
    rec = _record(tmp_path, (iq, meta))
    plan = plan_analysis(FS, rec.n_samples)
    seen, scan = [], L.scan_lte_cells
    monkeypatch.setattr(L, "scan_lte_cells", lambda x, fs, **kw: seen.append(kw["occupied"]) or scan(x, fs, **kw))
    nr_band, lte_band = (-18e6, 6e6), (-28e6, -20e6)
    nr = Decision("NR", {"NR": 0.9, "LTE": 0.1}, "phy", 0.9, {"label": "NR", "pci": 1}, 1, nr_band)
    lte = Decision("LTE", {"NR": 0.1, "LTE": 0.9}, "phy", 0.9, {"label": "LTE", "pci": 2}, 2, lte_band)
    piece = Decision("unknown", {"NR": 0.5, "LTE": 0.5}, "undecided", 0.5, None, None, None)
    boxes = [band_box(plan, *nr_band), band_box(plan, *lte_band), band_box(plan, 14e6, 16e6)]
    _, out, scans = find_lte_cells(boxes, [nr, lte, piece], rec, plan, max_ms=20.0)
    assert scans == 1 and seen == [[nr_band]]
    assert any(d.label == "LTE" and d.pci == meta["n_id_cell"] for d in out)


def test_the_dc_the_carriers_own_pss_gave_spares_the_scan_its_band(tmp_path, monkeypatch):
    """A 10 MHz LTE cell near the top of the capture whose box the model drew up to the top row (the benchmark
    capture's case): the per-carrier stage finds its PSS and SSS but, the box touching the edge, does not measure
    its band, so the scan runs around it. The decision keeps the DC the PSS gave; the scan starts there and skips
    the sub-bands inside the band the cell's CRS show: fewer searches, the same result as without the DC."""
    import dataclasses

    from radiofm.annotate.decide import decide_carriers
    from radiofm.dsp import lte_cells

    iq, meta = single_carrier("LTE", np.random.default_rng(11), bandwidth_mhz=10, snr_db=15.0, centre_hz=25.6e6,
                              load=0.3)  # fmt: skip
    rec = _record(tmp_path, (iq, meta))
    plan = plan_analysis(FS, rec.n_samples)
    boxes = [band_box(plan, meta["lower_edge_hz"], 0.5 * FS)]
    (d,) = decide_carriers(boxes, rec, plan)
    assert d.label == "LTE" and d.pci == meta["n_id_cell"] and d.band_hz is None
    assert abs(d.dc_hz - 25.6e6) < 15e3
    searched, search = [], lte_cells._search
    monkeypatch.setattr(lte_cells, "_search", lambda x, fs, lo, hi, s: searched.append(lo) or search(x, fs, lo, hi, s))
    hinted = find_lte_cells(boxes, [d], rec, plan, max_ms=20.0)
    n_hinted = len(searched)
    plain = find_lte_cells(boxes, [dataclasses.replace(d, dc_hz=None)], rec, plan, max_ms=20.0)
    assert n_hinted <= len(searched) - n_hinted - 5  # 6 of 11 here
    cell = hinted[1][0]
    assert hinted[1] == plain[1] and cell.pci == meta["n_id_cell"] and cell.band_source == "measured"
    assert abs(cell.band_hz[0] - meta["lower_edge_hz"]) < 20e3 and abs(cell.band_hz[1] - meta["upper_edge_hz"]) < 20e3


def test_a_box_over_a_narrow_cell_and_the_edge_of_its_wide_neighbour_joins_the_narrow_cell(tmp_path):
    """A box over a 3 MHz cell and 1.6 MHz of the 10 MHz cell beside it: the cells cover most of the box, but the
    joining rule counted only the narrow cell (under half the box), so the box stayed, labelled by the model
    (session 62's review). Every cell's band now counts towards what covers a box."""
    a, ma = single_carrier("LTE", np.random.default_rng(3), bandwidth_mhz=10, snr_db=12.0, centre_hz=-3e6, load=0.3)
    b, mb = single_carrier("LTE", np.random.default_rng(4), bandwidth_mhz=3, snr_db=12.0, centre_hz=3.9e6, load=0.3)
    rec = _record(tmp_path, (a, ma), (b, mb))
    anns = A.annotate_recording(rec, band_predictor([(-7.56e6, -2.04e6), (-0.12e6, 5.4e6)])).annotations
    assert sorted((x.label, x.extra["radiofm:pci"]) for x in anns) == sorted(
        [("LTE", ma["n_id_cell"]), ("LTE", mb["n_id_cell"])]
    )


def test_covered_hz_is_the_union_of_the_bands_within_the_box():
    from radiofm.annotate.lte_scan import _covered_hz

    assert _covered_hz((0.0, 10.0), [(-5.0, 2.0), (1.0, 4.0), (8.0, 20.0)]) == 6.0
    assert _covered_hz((0.0, 10.0), [(11.0, 12.0)]) == 0.0
    assert _covered_hz((0.0, 10.0), [(-1.0, 11.0), (2.0, 3.0)]) == 10.0
