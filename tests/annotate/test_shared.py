"""annotate.shared: an LTE and an NR cell found on one carrier (dynamic spectrum sharing) are both annotated."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from band_predictors import band_box, band_predictor

import radiofm.annotate as A
from radiofm.annotate.blind_scan import find_missed_cells
from radiofm.annotate.decide import Decision
from radiofm.annotate.plan import plan_analysis
from radiofm.annotate.shared import split_shared
from radiofm.data import open_recording, write_sigmf
from radiofm.synth.nrlte.carrier import single_carrier

FS = 61.44e6
FC = 2.6e9


def _shared(tmp_path, seed: int):
    """An LTE cell with MBSFN subframes and a 15 kHz NR cell on the same 10 MHz (their data colliding: harder than
    DSS, whose NR data avoids LTE's reference signals)."""
    lte, ml = single_carrier("LTE", np.random.default_rng(10 + seed), bandwidth_mhz=10, snr_db=15.0, centre_hz=3e6,
                             load=0.3, frame_structure="mbsfn")  # fmt: skip
    nr, mn = single_carrier("NR", np.random.default_rng(20 + seed), bandwidth_mhz=10, scs_hz=15e3, snr_db=12.0,
                            centre_hz=3e6, load=0.3)  # fmt: skip
    rec = open_recording(write_sigmf(tmp_path / f"dss{seed}", lte + nr, sample_rate_hz=FS, center_freq_hz=FC))
    return rec, ml, mn


@pytest.mark.parametrize("seed", [0, 2])
def test_an_lte_and_an_nr_cell_on_one_band_are_both_annotated(tmp_path, seed):
    """Both cells' sync signals are found on the carrier ("both cells"); the NR stage took the carrier for its NR
    cell and the LTE cell was lost (session 62's reviews). Now each is annotated with its PCI and band."""
    rec, ml, mn = _shared(tmp_path, seed)
    anns = A.annotate_recording(rec, band_predictor([(ml["lower_edge_hz"], ml["upper_edge_hz"])])).annotations
    got = {(a.label, a.extra["radiofm:pci"]): a for a in anns}
    assert set(got) == {("LTE", ml["n_id_cell"]), ("NR", mn["n_id_cell"])}
    for (label, _), a in got.items():
        m = ml if label == "LTE" else mn
        assert a.freq_lower_edge_hz - FC == pytest.approx(m["lower_edge_hz"], abs=2e3)
        assert a.freq_upper_edge_hz - FC == pytest.approx(m["upper_edge_hz"], abs=2e3)
        assert a.extra["radiofm:evidence"]["both_cells"] is True


def test_a_both_cells_carrier_without_both_pcis_is_left_as_it_is():
    box = band_box(plan_analysis(FS, int(0.04 * FS)), 0.0, 9e6)
    d = Decision("unknown", {"NR": 0.5, "LTE": 0.5}, "both cells", 0.9, {"both_cells": True, "lte_pci": 3}, None)
    boxes, decisions = split_shared([box], [d])
    assert boxes == [box] and decisions == [d]
    ev = {"both_cells": True, "lte_pci": 3, "nr_pci": 7, "ssb": {"scs_hz": 15e3, "center_hz": 1e6},
          "lte_band_hz": [0.0, 9e6]}  # fmt: skip
    boxes, decisions = split_shared([box], [dataclasses.replace(d, evidence=ev, dc_hz=4.5e6)])
    assert [(x.label, x.pci, x.decided_by) for x in decisions] == [("NR", 7, "phy"), ("LTE", 3, "phy")]
    assert decisions[1].band_hz == (0.0, 9e6) and decisions[1].dc_hz == 4.5e6 and boxes[1] is not boxes[0]


def test_the_blind_scan_finds_an_lte_cell_inside_a_15_khz_nr_cell(tmp_path):
    """The LTE cell of a shared band that the per-carrier stage did not find (the NR cell found by its SSB):
    the blind LTE search now covers 15 kHz NR cells' bands."""
    rec, ml, mn = _shared(tmp_path, 0)
    plan = plan_analysis(FS, rec.n_samples)
    nr_band = (mn["lower_edge_hz"], mn["upper_edge_hz"])
    ev = {"label": "NR", "pci": mn["n_id_cell"], "ssb": {"scs_hz": 15e3, "center_hz": 0.5 * sum(nr_band)}}
    nr = Decision("NR", {"NR": 0.9, "LTE": 0.1}, "phy", 0.9, ev, mn["n_id_cell"], nr_band)
    boxes, decisions, _ = find_missed_cells([band_box(plan, *nr_band)], [nr], rec, plan, nr=False)
    assert ("LTE", ml["n_id_cell"]) in {(d.label, d.pci) for d in decisions}
    nr30 = dataclasses.replace(nr, evidence=ev | {"ssb": {"scs_hz": 30e3, "center_hz": 0.5 * sum(nr_band)}})
    boxes, decisions, _ = find_missed_cells([band_box(plan, *nr_band)], [nr30], rec, plan, nr=False)
    assert "LTE" not in {d.label for d in decisions}  # a 30 kHz NR cell's band is not searched for LTE
