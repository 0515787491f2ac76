"""NR/LTE traffic regimes (issue 8): each regime's resource grid holds what it claims, knobs stay in their
documented ranges, labels and SigMF annotations follow time shifts and gating, the mix parses strictly."""

import dataclasses
import json

import numpy as np
import pytest

from radiofm.data.nrlte import generate_dataset
from radiofm.errors import ConfigError
from radiofm.synth.nrlte import lte, nr, ofdm, receiver, row_freqs_hz, scene, sequences, traffic

N_SYM = {15e3: ofdm.numerology(15e3)["n_symbols"], 30e3: ofdm.numerology(30e3)["n_symbols"]}


def _nr(seed, regime, where=lambda c: True, **changes):
    """The first NR draw of ``regime`` from ``seed`` that satisfies ``where``, with ``changes`` applied."""
    rng = np.random.default_rng(seed)
    cfg = nr.draw_nr(rng, traffic_regime=regime)
    while not where(cfg):
        cfg = nr.draw_nr(rng, traffic_regime=regime)
    return dataclasses.replace(cfg, **changes)


def _lte(seed, regime, **changes):
    cfg = lte.draw_lte(np.random.default_rng(seed), traffic_regime=regime)
    return dataclasses.replace(cfg, **changes)


def _runs(mask):
    """Contiguous True runs of a 1-D bool array: [[start, length], ...]."""
    edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(int), 0]))
    return [[int(a), int(b - a)] for a, b in zip(edges[::2], edges[1::2])]


def _nr_pdsch_rbs(cfg, grid):
    """RBs carrying PDSCH in each slot, bool (n_slots, n_rb): non-zero REs outside SSB and CORESET."""
    data = (grid != 0) & ~nr.reference_mask(cfg)
    return data.reshape(-1, 14, cfg.n_rb, 12).any(axis=(1, 3))


def _lte_pdsch_rbs(cfg, grid):
    data = (grid != 0) & ~lte.reference_mask(cfg)
    return data.reshape(-1, 14, cfg.n_rb, 12).any(axis=(1, 3))


# ---------------------------------------------------------------- the mix


def test_mix_parsing_and_unknown_names():
    assert traffic.resolve_mix(None) == pytest.approx(traffic.DEFAULT_MIX)
    assert sum(traffic.DEFAULT_MIX.values()) == pytest.approx(1.0)
    assert traffic.resolve_mix("random, matlab") == pytest.approx({"random": 0.5, "matlab": 0.5})
    assert traffic.resolve_mix(["full", "idle", "full"]) == pytest.approx({"full": 2 / 3, "idle": 1 / 3})
    assert traffic.gated_mix({"gated": 1.0}) == pytest.approx(
        {"random": 0.3125, "matlab": 0.3125, "full": 0.25, "idle": 0.125}
    )
    assert traffic.gated_mix(traffic.resolve_mix("gated,idle")) == {"idle": 1.0}
    with pytest.raises(ConfigError, match="unknown traffic regime 'busy'; valid: random, matlab, full, idle, gated"):
        traffic.resolve_mix("random,busy")
    with pytest.raises(ConfigError, match="no traffic regime"):
        traffic.resolve_mix(" , ")
    assert traffic.resolve_mix({"idle"}) == {"idle": 1.0}
    for bad in (5, b"idle", 0.5):  # a number ended in a TypeError (session 60's review)
        with pytest.raises(ConfigError, match="traffic must be a comma-separated string or a sequence"):
            traffic.resolve_mix(bad)


def test_generate_dataset_names_a_traffic_of_another_type(tmp_path):
    for generator in ("main", "alt"):
        with pytest.raises(ConfigError, match="^traffic must be a comma-separated string or a sequence"):
            generate_dataset(tmp_path / "x", n_frames=1, split="test", seed=0, traffic=5, generator=generator)
    assert not (tmp_path / "x").exists()


def test_regime_draws_follow_the_mix():
    rng = np.random.default_rng(0)
    draws = [traffic.draw_regime(rng, traffic.resolve_mix(None)) for _ in range(4000)]
    names = np.array([d[0] for d in draws])
    for name, p in traffic.DEFAULT_MIX.items():
        assert abs(np.mean(names == name) - p) < 0.03
    assert all(inner in traffic.GRID_REGIMES and (inner == name or name == "gated") for name, inner in draws)
    assert {inner for name, inner in draws if name == "gated"} == set(traffic.GRID_REGIMES)


# ---------------------------------------------------------------- each regime's grid


@pytest.mark.parametrize("seed", range(4))
def test_full_load_fills_every_rb_of_every_downlink_slot(seed):
    cfg = _nr(seed, "full", lambda c: (c.tdd_pattern is not None) == bool(seed % 2))
    grid = nr.build_grid(cfg, np.random.default_rng(seed))
    dl = nr.downlink_symbols(cfg)
    pdsch_slots = dl[:, cfg.coreset_symbols :].any(axis=1)
    rbs = (grid != 0).reshape(-1, 14, cfg.n_rb, 12).any(axis=(1, 3))
    assert rbs[pdsch_slots].all() and not rbs[~dl.any(axis=1)].any()  # uplink slots stay empty
    assert np.count_nonzero(grid.reshape(-1, 14, cfg.n_subcarriers)[~dl]) == 0
    if seed % 2:
        assert not pdsch_slots.all()  # TDD: the U slots are there

    lcfg = _lte(seed, "full")
    grid = lte.build_grid(lcfg, np.random.default_rng(seed))
    rbs = (grid != 0).reshape(-1, 14, lcfg.n_rb, 12)[:, lcfg.cfi :].any(axis=(1, 3))
    assert rbs.all()  # every RB of every subframe, subframe 5 too
    data = grid.reshape(-1, 14, lcfg.n_subcarriers)[:, lcfg.cfi :]
    assert np.mean(data != 0) > 0.99  # OCNG: nothing left empty but reserved REs


@pytest.mark.parametrize("seed", range(4))
def test_idle_cells_send_only_reference_and_sync(seed):
    cfg = _nr(seed, "idle")
    grid = nr.build_grid(cfg, np.random.default_rng(seed))
    ref = nr.reference_mask(cfg)
    assert not np.any(grid[~ref]) and np.count_nonzero(grid) > 0
    rows, _ = nr.ssb_positions(cfg)
    k0 = 12 * cfg.ssb_rb_offset + cfg.ssb_sc_offset
    assert len(rows) and np.allclose(
        np.abs(grid[rows, k0 + 56 : k0 + 183]),
        10 ** (cfg.ssb_power_offset_db / 20) * 10 ** (cfg.pss_boost_db / 20),
        rtol=1e-4,
    )
    coreset = grid.reshape(-1, 14, cfg.n_subcarriers)[:, : cfg.coreset_symbols]
    assert (np.abs(coreset).sum(axis=(1, 2)) > 0)[nr.downlink_symbols(cfg)[:, 0]].all()  # PDCCH every DL slot

    lcfg = _lte(seed, "idle")
    grid = lte.build_grid(lcfg, np.random.default_rng(seed))
    ref = lte.reference_mask(lcfg)
    assert not np.any(grid[~ref])
    rows, cols, vals = lte.crs_mask_and_values(lcfg)
    assert np.allclose(grid[rows, cols], vals * 10 ** (lcfg.crs_boost_db / 20), atol=1e-5)
    ctrl = grid.reshape(-1, 14, lcfg.n_subcarriers)[:, : lcfg.cfi]
    assert np.mean(ctrl != 0) > 0.8  # control region across the whole band in every subframe


@pytest.mark.parametrize("seed", range(6))
def test_matlab_regime_slot_and_rb_groups(seed):
    cfg = _nr(seed, "matlab")
    assert cfg.tdd_pattern is None and cfg.ssb_period_ms == 20 and cfg.doppler_hz in (0.0, 10.0, 500.0)
    alloc = _nr_pdsch_rbs(cfg, nr.build_grid(cfg, np.random.default_rng(seed)))
    periods = alloc.reshape(-1, 20, cfg.n_rb)
    assert all(np.array_equal(p, periods[0]) for p in periods)  # the same pattern every 20-slot period
    slots = periods[0].any(axis=1)
    # slots 3-10 of each period, 10-80 % of that 8-slot window (MATLAB's helperSpecSenseNRSignal: assignREs)
    assert not slots[:3].any() and not slots[11:].any() and 1 <= slots.sum() <= 6 and 1 <= len(_runs(slots)) <= 3
    rb_sets = periods[0][slots]
    assert (rb_sets == rb_sets[0]).all()  # the same PRBs in every allocated slot
    assert 0.2 <= rb_sets[0].mean() <= 0.7 and 1 <= len(_runs(rb_sets[0])) <= 3
    assert _runs(slots) == cfg.pdsch_slot_groups and _runs(rb_sets[0]) == cfg.pdsch_rb_groups

    lcfg = _lte(seed, "matlab")
    assert lcfg.reference_channel in ("R.2", "R.6", "R.8", "R.9") and lcfg.crs_ports == 1 and lcfg.crs_boost_db == 0
    alloc = _lte_pdsch_rbs(lcfg, lte.build_grid(lcfg, np.random.default_rng(seed)))
    subframe = np.arange(len(alloc)) % 10
    assert not alloc[subframe == 5].any()
    if lcfg.prb_set is not None:  # light load: each subframe of the frame its own PRBs
        assert lcfg.subframes_off is None and len(lcfg.prb_set) == 10
        assert all({0, 1} <= set(p) <= {0, 1, 4, 5, 6, 7, 8} for p in lcfg.prb_set)
        for row, k in zip(alloc, subframe):
            assert k == 5 or (row == np.isin(np.arange(lcfg.n_rb), lcfg.prb_set[k])).all()
    else:
        assert 1 <= len(lcfg.subframes_off) <= 8
        on = ~np.isin(subframe, [*lcfg.subframes_off, 5])
        assert alloc[on].all() and not alloc[~on].any()


def test_random_regime_changes_prbs_from_slot_to_slot():
    cfg = _nr(1, "random", tdd_pattern=None)
    alloc = _nr_pdsch_rbs(cfg, nr.build_grid(cfg, np.random.default_rng(1)))
    assert len({row.tobytes() for row in alloc}) > len(alloc) // 2
    assert abs(alloc.mean() - cfg.load) < 0.25


def test_nr_dmrs_and_tdd_special_slot():
    cfg = _nr(2, "full", lambda c: c.tdd_pattern is not None, tdd_pattern="DDDDDDDSUU", tdd_special_dl_symbols=10)
    cfg = dataclasses.replace(cfg, dmrs_cdm_groups=2, dmrs_additional=2, coreset_symbols=1, dmrs_typea_pos=2)
    grid = nr.build_grid(cfg, np.random.default_rng(0)).reshape(-1, 14, cfg.n_subcarriers)
    d = cfg.dmrs_typea_pos
    slot = 5  # an ordinary downlink slot: SS blocks (case B/C, L <= 8) lie in slots 0-3 of a half frame
    assert np.allclose(np.abs(grid[slot, [d, 7, 11], 0::2]), np.sqrt(2), rtol=1e-5)  # DMRS, +3 dB
    assert not grid[slot, [d, 7, 11], 1::2].any()  # 2 CDM groups without data: odd subcarriers empty
    ref = sequences.nr_dmrs(cfg.n_id_cell, [slot], [d], cfg.n_subcarriers // 2)[0]
    assert np.allclose(grid[slot, d, 0::2] / np.sqrt(2), ref, atol=1e-5)
    assert grid[7, :10].any() and not grid[7, 10:].any()  # special slot: 10 DL symbols
    assert not grid[8:10].any()  # two uplink slots


def test_lte_four_port_crs_and_cfi():
    cfg = _lte(3, "idle", crs_ports=4, cfi=1, crs_boost_db=3.0)
    grid = lte.build_grid(cfg, np.random.default_rng(0))
    v = cfg.n_id_cell % 6
    sym1 = grid[1]  # slot 0, symbol 1: ports 2 (v = 0) and 3 (v = 3)
    assert set(np.flatnonzero(sym1 != 0) % 6) == {v % 6, (v + 3) % 6}
    assert np.allclose(np.abs(sym1[sym1 != 0]), 10 ** (3 / 20), rtol=1e-4)
    assert grid[0].any() and not grid[2].any()  # CFI 1: only symbol 0 is control in an idle cell


# ---------------------------------------------------------------- knob ranges


def test_knob_draws_stay_in_their_documented_ranges():
    rng = np.random.default_rng(5)
    for regime in traffic.GRID_REGIMES:
        for _ in range(150):
            c = nr.draw_nr(rng, traffic_regime=regime)
            assert c.traffic == regime and c.bandwidth_mhz <= 50 and c.n_rb == nr.NR_N_RB[c.scs_hz][c.bandwidth_mhz]
            assert 0 <= c.n_id_cell < 1008 and 0 <= c.time_shift_symbols < N_SYM[c.scs_hz]
            assert c.time_shift_symbols % 14 == 0  # whole slots: CP lengths and slot structure kept
            assert c.tdd_pattern in (None, *nr.TDD_PATTERNS) and (c.tdd_pattern is None or c.scs_hz == 30e3)
            assert (c.tdd_pattern is None) == (c.tdd_special_dl_symbols is None)
            assert c.tdd_special_dl_symbols in (None, 6, 10, 12)
            assert c.ssb_case == ("A" if c.scs_hz == 15e3 else "C" if c.tdd_pattern else c.ssb_case) in "ABC"
            assert c.l_max in (4, 8) and len(c.ssb_bitmap) == c.l_max and any(c.ssb_bitmap)
            assert c.ssb_period_ms in (5, 10, 20) and 0 <= c.ssb_sc_offset <= 11
            assert 12 * c.ssb_rb_offset + c.ssb_sc_offset + 240 <= c.n_subcarriers
            assert -3 <= c.ssb_power_offset_db <= 6 and c.pss_boost_db in (0, 3)
            assert c.coreset_rb % 6 == 0 and c.coreset_rb_offset % 6 == 0 and c.coreset_rb >= 6
            assert c.coreset_rb_offset + c.coreset_rb <= c.n_rb and c.coreset_symbols in (1, 2, 3)
            assert c.dmrs_typea_pos in (2, 3) and c.dmrs_typea_pos >= c.coreset_symbols
            assert c.dmrs_additional in (0, 1, 2, 3) and c.dmrs_cdm_groups in (1, 2)
            assert c.dmrs_additional < 3 or c.dmrs_typea_pos == 2  # 38.211: pos3 only with TypeA position 2
            assert c.profile in nr.NR_PROFILES and 30e-9 <= c.delay_spread_s <= 300e-9 and 0 <= c.doppler_hz <= 500
            assert {"random": 0.2 <= c.load <= 1, "full": c.load == 1, "idle": c.load == 0}.get(regime, True)
            matlab_pdcch = c.pdcch_load == pytest.approx(min(1.0, 4 / (c.n_rb // 6)))  # aggregation level 8
            pdcch = {"full": c.pdcch_load == 1, "idle": 0.1 <= c.pdcch_load <= 0.5, "matlab": matlab_pdcch}
            assert pdcch.get(regime, 0.2 <= c.pdcch_load <= 1)
            if regime == "matlab":
                window = sum(w for _, w in c.pdsch_slot_groups) / 8  # of slots 3-10
                rbs = sum(w for _, w in c.pdsch_rb_groups) / c.n_rb
                assert 0.1 <= window <= 0.8 and 0.2 <= rbs <= 0.7 and c.load == pytest.approx(window * 8 / 20 * rbs)
                assert all(s >= 3 and s + w <= 11 for s, w in c.pdsch_slot_groups)
                assert c.bandwidth_mhz >= 10  # the example's NR carriers: 10-50 MHz
                # its CORESET 0: the whole band, 2 symbols; its SSB case A/B; its PDSCH DMRS at symbol 3 only
                assert (c.coreset_rb_offset, c.coreset_rb, c.coreset_symbols) == (0, 6 * (c.n_rb // 6), 2)
                assert c.ssb_case == ("A" if c.scs_hz == 15e3 else "B")
                assert (c.dmrs_typea_pos, c.dmrs_additional) == (3, 0)
                assert 1 <= len(c.pdsch_slot_groups) <= 3 and 1 <= len(c.pdsch_rb_groups) <= 3
                assert c.ssb_power_offset_db == 0 and c.pss_boost_db == 0 and c.tdd_pattern is None
            else:
                assert c.pdsch_slot_groups is None and c.pdsch_rb_groups is None
            l = lte.draw_lte(rng, traffic_regime=regime)
            assert l.reference_channel in lte.REFERENCE_CHANNELS and 0 <= l.n_id_cell < 504
            assert 0 <= l.time_shift_symbols < N_SYM[15e3] and l.crs_ports in (1, 2, 4)
            assert l.time_shift_symbols % 7 == 0
            assert l.crs_boost_db in lte.CRS_BOOSTS_DB
            assert l.cfi in ((2, 3, 4) if l.n_rb <= 10 else (1, 2, 3))
            assert (l.profile, l.doppler_hz) in lte.LTE_CHANNELS or regime == "matlab"
            if regime == "matlab":
                assert l.cfi == lte.rmc_cfi(l.n_rb) and l.doppler_hz in (0, 10, 500)
                assert (l.prb_set is None) != (l.subframes_off is None)
    for _ in range(500):
        rx = receiver.draw_receiver(rng, scene.CENTER_FREQ_HZ)
        assert -2 <= rx["cfo_ppm"] <= 2 and abs(rx["cfo_hz"]) <= 7e3 + 1
        assert rx["dc_offset_db"] is None or -30 <= rx["dc_offset_db"] <= 0
        assert -0.5 <= rx["iq_gain_db"] <= 0.5 and -3 <= rx["iq_phase_deg"] <= 3


@pytest.mark.parametrize("split", ["train", "test"])
def test_in_band_snr_spans_minus_5_to_30_db(split):
    rng = np.random.default_rng(4)
    snr = []
    for _ in range(3000):
        noise = scene.draw_noise_power_db(rng, split)
        snr.append(rng.uniform(*scene.CARRIER_PSD_DB) - noise)
    snr = np.array(snr)
    assert snr.min() >= -5 and snr.max() <= 30
    if split == "test":
        assert snr.min() < -2 and snr.max() > 27 and abs(np.mean((snr > 0) & (snr < 25)) - 25 / 30) < 0.03


def test_gate_spans_are_slot_aligned_and_at_least_5_ms():
    rng = np.random.default_rng(8)
    modes = set()
    for _ in range(600):
        scs = float(rng.choice([15e3, 30e3]))
        n, shift = N_SYM[scs], int(rng.integers(0, N_SYM[scs]))
        r0, r1, mode = traffic.gate_rows(rng, n, 14, shift)
        modes.add(mode)
        assert 0 <= r0 < r1 <= n and (r1 - r0) >= n // 8 and (r0, r1) != (0, n)
        assert (r0 == 0 or (r0 - shift) % 14 == 0) and (r1 == n or (r1 - shift) % 14 == 0)
        assert {"off": r0 == 0, "on": r1 == n, "burst": r0 > 0 and r1 < n}[mode]
    assert modes == set(traffic.GATE_MODES)


# ---------------------------------------------------------------- time shifts, gating, labels


def test_time_shift_moves_the_ssb_and_gating_cuts_the_waveform():
    rng = np.random.default_rng(12)
    cfg = _nr(12, "idle", lambda c: c.scs_hz == 15e3 and c.n_rb >= 52, profile="awgn-only", ssb_rb_offset=10)
    cfg = dataclasses.replace(cfg, ssb_sc_offset=0, ssb_period_ms=20, time_shift_symbols=123)
    starts = ofdm.symbol_starts(15e3)
    r0, r1, _ = traffic.gate_rows(rng, N_SYM[15e3], 14, cfg.time_shift_symbols)
    c = scene.Carrier("NR", cfg, 0, 0.0, int(starts[r0]), int(starts[r1] - starts[r0]), traffic="gated")
    iq = scene.synthesize([c], -300.0, rng)
    power = np.abs(iq) ** 2
    assert (
        power[: c.sample_start].max(initial=0) < 1e-20
        and power[c.sample_start + c.sample_count :].max(initial=0) < 1e-20
    )
    assert power[c.sample_start : c.sample_start + c.sample_count].mean() > 1e-4
    # demodulate: PSS where the shifted SSB rows say, inside the gate
    nfft = ofdm.numerology(15e3)["nfft"]
    idx = (starts[1:] - nfft)[:, None] + np.arange(nfft)[None, :]
    grid = np.fft.fftshift(np.fft.fft(iq[idx], axis=1, norm="ortho"), axes=1)
    k = nfft // 2 + c.bins()[0] + 12 * 10 + 56 + np.arange(127)
    corr = np.abs(grid[:, k] @ sequences.nr_pss(cfg.n_id_cell % 3)) / 127
    expected = {(int(r) + 123) % N_SYM[15e3] for r in nr.ssb_positions(cfg)[0]}
    expected = {r for r in expected if r0 <= r < r1}
    assert len(expected) >= 4
    assert set(np.flatnonzero(corr > 0.5 * 10 ** ((cfg.ssb_power_offset_db + cfg.pss_boost_db) / 20))) == expected


@pytest.fixture(scope="module")
def gated_dataset(tmp_path_factory):
    return generate_dataset(
        tmp_path_factory.mktemp("nrlte") / "gated",
        n_frames=2,
        split="test",
        seed=3,
        traffic="gated",
        iq=True,
        progress=False,
    )


def test_labels_follow_annotations_under_shifts_and_gating(gated_dataset):
    from radiofm.data import open_recording

    m = json.loads((gated_dataset / "manifest.json").read_text())
    assert m["traffic"]["mix"] == {"gated": 1.0} and m["traffic"]["gated_inside"] == pytest.approx(
        traffic.gated_mix({"gated": 1.0})
    )
    lab = np.load(gated_dataset / "labels.npy")
    f = row_freqs_hz(256, 256)
    t = (np.arange(256) + 0.5) * ofdm.FRAME_SAMPLES / 256
    for i, frame in enumerate(m["frames"]):
        rec = open_recording(gated_dataset / frame["iq"])
        assert len(rec.annotations) == len(frame["carriers"])
        expected = np.zeros((256, 256), dtype=np.uint8)
        for a, c in zip(
            sorted(rec.annotations, key=lambda a: a.freq_lower_edge_hz),
            sorted(frame["carriers"], key=lambda c: c["lower_edge_hz"]),
        ):
            assert c["traffic"] == a.extra["radiofm:traffic"] == "gated" and c["gate_traffic"] in traffic.GRID_REGIMES
            assert a.extra["radiofm:time_shift_symbols"] == c["time_shift_symbols"]
            assert (a.sample_start, a.sample_count) == (
                c["sample_start"],
                c["sample_count"],
            ) and a.sample_count < ofdm.FRAME_SAMPLES
            assert a.sample_count >= 5e-3 * ofdm.SAMPLE_RATE_HZ
            lo, hi = a.freq_lower_edge_hz - rec.center_freq_hz, a.freq_upper_edge_hz - rec.center_freq_hz
            assert np.isclose(lo, c["lower_edge_hz"]) and np.isclose(hi, c["upper_edge_hz"])
            rows, cols = (f >= lo) & (f < hi), (t >= a.sample_start) & (t < a.sample_start + a.sample_count)
            expected[np.ix_(rows, cols)] = 1 if a.label == "NR" else 2
        assert np.array_equal(expected, lab[i])
        assert rec.global_meta["radiofm:receiver"]["cfo_hz"] == pytest.approx(frame["receiver"]["cfo_hz"])
        assert all(c["cfo_hz"] == frame["receiver"]["cfo_hz"] for c in frame["carriers"])
