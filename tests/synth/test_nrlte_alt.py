"""The independent NR/LTE generator: determinism, scene geometry, spectra, sync signals, traffic regimes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from radiofm.errors import ConfigError
from radiofm.synth.nrlte_alt import TRAFFIC_REGIMES, detect, make_capture, scene
from radiofm.synth.nrlte_alt import channel as ch
from radiofm.synth.nrlte_alt import grid as g
from radiofm.synth.nrlte_alt.capture import carrier_meta
from radiofm.synth.nrlte_alt.lte import DWPTS_SYMBOLS, TDD_CONFIGS, build_lte_grid, draw_lte_cell, with_frame_structure
from radiofm.synth.nrlte_alt.nr import draw_nr_cell
from radiofm.synth.nrlte_alt.nr_grid import build_nr_grid
from radiofm.synth.nrlte_alt.sequences import gold, lte_pss, lte_sss, nr_pss, nr_sss
from radiofm.synth.nrlte_alt.traffic import Traffic

FS = 30.72e6  # tests run at the lower rate to stay fast; one test covers 61.44 MS/s


def _clean_carrier(seed: int, *, kind: str, regimes: list[str], n: int, fs: float = FS, cell_changes=None):
    """The first planned carrier of the requested kind, without fading/CFO, rendered at high SNR + unit noise."""
    for s in range(seed, seed + 200):
        rng = np.random.default_rng(s)
        plans = scene.plan_scene(rng, split="test", regimes=regimes, sample_rate_hz=fs, n_samples=n)
        plans = [p for p in plans if p.kind == kind]
        if plans:
            break
    cell = dataclasses.replace(plans[0].cell, **(cell_changes or {}))
    plan = scene.replace(plans[0], cell=cell, channel=ch.ChannelSpec(), cfo_hz=0.0, snr_db=25.0)
    x, grid = scene.render_carrier(plan, rng, fs, n)
    noisy = x + rng.standard_normal(2 * n, dtype=np.float32).view(np.complex64) * np.float32(np.sqrt(0.5))
    return plan, x, noisy, grid, carrier_meta(plan, fs, n, 0.0)


def _direct_gold(c_init: int, length: int) -> np.ndarray:
    x1, x2 = [1] + [0] * 30, [(c_init >> i) & 1 for i in range(31)]
    for n in range(1600 + length):
        x1.append((x1[n + 3] + x1[n]) % 2)
        x2.append((x2[n + 3] + x2[n + 2] + x2[n + 1] + x2[n]) % 2)
    return np.array([(x1[n + 1600] + x2[n + 1600]) % 2 for n in range(length)])


def test_sequences():
    for c_init in (0, 1, 0x2AAAAAAA, 2**31 - 1):
        assert np.array_equal(gold(c_init, 200), _direct_gold(c_init, 200))
    assert np.allclose(np.abs(lte_pss(1)), 1)
    for nid2, u in enumerate((25, 29, 34)):  # re-inserting the punctured middle element gives a full Zadoff-Chu
        full = np.insert(lte_pss(nid2), 31, np.exp(-1j * np.pi * u * 31 * 32 / 63))
        assert np.allclose(np.abs(np.fft.fft(full)), np.sqrt(63), atol=1e-3)  # CAZAC: flat spectrum
    assert not np.array_equal(lte_sss(17, 2, 0), lte_sss(17, 2, 5))  # subframe 0 and 5 SSS differ
    q = np.stack([nr_pss(r) for r in range(3)])
    assert np.abs(q @ q.T - 127 * np.eye(3)).max() < 0.1 * 127
    assert len({nr_sss(a, b).tobytes() for a in range(0, 336, 37) for b in range(3)}) == 30


def test_same_seed_same_bytes():
    a, ma = make_capture(np.random.default_rng(7), sample_rate_hz=FS, n_samples=307_200)
    b, mb = make_capture(np.random.default_rng(7), sample_rate_hz=FS, n_samples=307_200)
    c, _ = make_capture(np.random.default_rng(8), sample_rate_hz=FS, n_samples=307_200)
    assert a.dtype == np.complex64 and a.shape == (307_200,)
    assert a.tobytes() == b.tobytes() and ma == mb
    assert a.tobytes() != c.tobytes()
    assert ma["generator"] == "nrlte_alt" and np.isfinite(a).all()
    assert 1e-3 < np.mean(np.abs(a) ** 2) < 1.0  # of order full scale


@pytest.mark.parametrize("fs", [30.72e6, 61.44e6])
def test_carriers_disjoint_inside_band(fs):
    kinds = set()
    for seed in range(60):
        rng = np.random.default_rng(seed)
        plans = scene.plan_scene(rng, split="test", regimes=list(TRAFFIC_REGIMES), sample_rate_hz=fs, n_samples=10)
        assert 1 <= len(plans) <= 3
        chans = sorted((p.center_hz - p.cell.bandwidth_hz / 2, p.center_hz + p.cell.bandwidth_hz / 2) for p in plans)
        for (_, hi), (lo, _) in zip(chans, chans[1:]):
            assert hi <= lo + 1e-6
        for p in plans:
            lo, hi = scene.occupied_edges(p)
            assert -0.95 * fs / 2 < lo < hi < 0.95 * fs / 2
            kinds.add(p.kind)
    assert kinds == {"NR", "LTE"}


def test_capture_metadata_at_61p44():
    iq, meta = make_capture(np.random.default_rng(3), traffic=["full", "random"], n_samples=614_400)
    assert iq.shape == (614_400,) and iq.dtype == np.complex64
    keys = {"type", "traffic", "bandwidth_hz", "scs_hz", "lower_edge_hz", "upper_edge_hz", "sample_start"}
    keys |= {"sample_count", "snr_db", "psd_db", "pci", "n_rb", "duplex", "channel", "doppler_hz", "cfo_hz"}
    for c in meta["carriers"]:
        assert keys <= set(c) and c["traffic"] in ("full", "random")
        assert -5 <= c["snr_db"] <= 30 and c["sample_start"] == 0 and c["sample_count"] == 614_400
        assert c["upper_edge_hz"] - c["lower_edge_hz"] == pytest.approx(
            (12 * c["n_rb"] + (c["type"] == "LTE")) * c["scs_hz"]
        )


def test_train_split_narrows_snr():
    snrs = {"train": [], "test": []}
    for split in snrs:
        for seed in range(150):
            plans = scene.plan_scene(
                np.random.default_rng(seed), split=split, regimes=["idle"], sample_rate_hz=FS, n_samples=10
            )
            snrs[split] += [p.snr_db for p in plans]
    assert all(-5 <= s <= 30 for v in snrs.values() for s in v)
    assert np.std(snrs["train"]) < np.std(snrs["test"])


@pytest.mark.parametrize("kind", ["LTE", "NR"])
def test_occupied_band_matches_spectrum(kind):
    n = 614_400
    for seed in (0, 10):
        fdd = {"tdd_pattern": None} if kind == "NR" else {}  # no empty uplink slots in the average
        plan, _, x, _, m = _clean_carrier(seed, kind=kind, regimes=["full"], n=n, cell_changes=fdd)
        f, p = detect.psd_db(x, FS, 1000.0)
        scs, lo, hi = m["scs_hz"], m["lower_edge_hz"], m["upper_edge_hz"]

        def band(a, b, f=f, p=p):
            sel = (f >= a) & (f < b)
            return float(np.mean(p[sel]))

        noise = 10 * np.log10(1 / FS)  # unit noise power over fs
        inside = band(lo + 3 * scs, hi - 3 * scs)
        # the in-band SNR definition (full load; NR leaves CORESET symbols outside the CORESET empty: ≤ 1.5 dB)
        assert 23.0 <= inside - noise <= 26.0
        assert band(hi - 2 * scs, hi - scs / 2) > inside - 3 and band(lo + scs / 2, lo + 2 * scs) > inside - 3
        assert band(hi + 2 * scs, hi + 6 * scs) < inside - 12 and band(lo - 6 * scs, lo - 2 * scs) < inside - 12


def test_lte_dc_subcarrier_empty_nr_not():
    notch = {}
    for kind in ("LTE", "NR"):
        plan, _, x, _, m = _clean_carrier(1, kind=kind, regimes=["full"], n=614_400)
        f, p = detect.psd_db(x, FS, 500.0)
        dc = float(np.mean(p[np.abs(f - plan.center_hz) < 1000]))
        around = float(np.mean(p[(np.abs(f - plan.center_hz) > 20e3) & (np.abs(f - plan.center_hz) < 60e3)]))
        notch[kind] = around - dc
    assert notch["LTE"] > 6.0
    assert abs(notch["NR"]) < 2.0


def _top_peaks(c: np.ndarray, k: int, guard: int = 500) -> list[int]:
    c = c.copy()
    out = []
    for _ in range(k):
        i = int(np.argmax(c))
        out.append(i)
        c[max(0, i - guard) : i + guard] = 0
    return sorted(out)


def _useful_start(symbol: int, mu: int, fs: float) -> int:
    """Sample where absolute symbol ``symbol`` (counted from frame start) begins its useful part, from the
    numerology alone (TS 38.211 §5.3.1: 0.5 ms halves, 16·κ extra prefix on each half's first symbol)."""
    kappa = fs / 30.72e6
    per_half = 7 * 2**mu
    half, j = divmod(symbol, per_half)
    n_u, cp = 2048 * kappa / 2**mu, 144 * kappa / 2**mu
    return int(round(half * 15360 * kappa + j * (n_u + cp) + 16 * kappa * (j > 0) + cp + 16 * kappa * (j == 0)))


def test_lte_pss_correlation_finds_nid2_every_5ms():
    n = 460_800  # 15 ms
    plan, _, x, _, m = _clean_carrier(2, kind="LTE", regimes=["random"], n=n)
    corr = [detect.lte_pss_correlation(x, FS, m["center_hz"], r) for r in range(3)]
    assert int(np.argmax([c.max() for c in corr])) == m["pci"] % 3
    expected = [_useful_start(14 * sf + 6, 0, FS) - plan.timing_offset_samples for sf in range(0, 40, 5)]
    expected = [e for e in expected if 0 <= e < corr[0].size]
    peaks = _top_peaks(corr[m["pci"] % 3], len(expected))
    assert peaks == expected
    assert set(np.diff(peaks)) <= {int(0.005 * FS)}


def test_nr_pss_correlation_finds_nid2_at_ssb_positions():
    n = 460_800  # 15 ms; FDD and a 5 ms SSB period so every half frame carries a burst
    first_symbols = {"A": [2, 8, 16, 22, 30, 36, 44, 50], "B": [4, 8, 16, 20, 32, 36, 44, 48]}
    first_symbols["C"] = first_symbols["A"]
    for seed, regimes in ((3, ["random"]), (5, ["idle"]), (8, ["full"])):
        changes = {"ssb_period_ms": 5, "tdd_pattern": None}
        plan, _, x, _, m = _clean_carrier(seed, kind="NR", regimes=regimes, n=n, cell_changes=changes)
        corr = [detect.nr_pss_correlation(x, FS, detect.nr_pss_centre_hz(m), m["scs_hz"], r) for r in range(3)]
        assert int(np.argmax([c.max() for c in corr])) == m["pci"] % 3
        mu = int(m["scs_hz"] // 30e3)
        per_half = 70 * 2**mu  # symbols per 5 ms
        blocks = [s for s, on in zip(first_symbols[m["ssb_case"]], m["ssb_bitmap"]) if on == "1"]
        expected = [
            _useful_start(h * per_half + s, mu, FS) - plan.timing_offset_samples for h in range(8) for s in blocks
        ]
        expected = sorted(e for e in expected if 0 <= e < corr[0].size)
        assert len(expected) >= 2
        assert _top_peaks(corr[m["pci"] % 3], len(expected), guard=int(FS / m["scs_hz"]) // 2) == expected


def _grid(kind: str, regime: str, seed: int, scs: float = 30e3, bw: float = 40e6):
    rng = np.random.default_rng(seed)
    if kind == "LTE":
        cell = draw_lte_cell(rng, 10e6, regime)
        traffic = Traffic(regime, cell.n_rb, True, rng, "R.6")
        return cell, build_lte_grid(cell, traffic, 7, 20, rng)
    cell = draw_nr_cell(rng, scs, bw, regime)
    traffic = Traffic(regime, cell.n_rb, False, rng)
    return cell, build_nr_grid(cell, traffic, 13, 40, rng)


@pytest.mark.parametrize("kind", ["LTE", "NR"])
def test_full_regime_fills_every_rb_of_every_downlink_slot(kind):
    for seed in range(3):
        cell, grid = _grid(kind, "full", seed)
        per_rb = (grid.values != 0).reshape(grid.n_slots, 14, cell.n_rb, 12).any(axis=(1, 3))
        dl = np.array(grid.info.get("dl_symbols", [14] * grid.n_slots)) > 0
        assert dl.any() and per_rb[dl].all()
        assert not per_rb[~dl].any()  # uplink slots of a TDD carrier stay empty
        assert (grid.kind == g.PDSCH).any() and (grid.values[grid.kind == g.EMPTY] == 0).all()


@pytest.mark.parametrize("kind", ["LTE", "NR"])
def test_idle_regime_has_only_reference_sync_and_control(kind):
    allowed = {g.EMPTY, g.CRS, g.PSS, g.SSS, g.PBCH, g.PBCH_DMRS, g.PCFICH, g.PHICH, g.PDCCH, g.PDCCH_DMRS}
    for seed in range(3):
        _, grid = _grid(kind, "idle", seed)
        present = set(np.unique(grid.kind).tolist())
        assert present <= allowed and {g.PSS, g.SSS, g.PBCH} <= present
        assert (grid.values[grid.kind == g.EMPTY] == 0).all()
    _, busy = _grid(kind, "random", 0)
    assert g.PDSCH in set(np.unique(busy.kind).tolist())


def test_matlab_regime_fractions_on_the_grid():
    for seed in range(12):
        scs = (15e3, 30e3)[seed % 2]
        cell, grid = _grid("NR", "matlab", seed, scs=scs, bw=20e6)
        info = grid.info
        assert (
            0.1 <= info["slot_fraction"] <= 0.8 and 0.2 - 1 / cell.n_rb <= info["prb_fraction"] <= 0.7 + 1 / cell.n_rb
        )
        pdsch = (grid.kind == g.PDSCH).reshape(grid.n_slots, 14, cell.n_rb, 12).any(axis=(1, 3))
        slots = grid.first_slot + np.arange(grid.n_slots)
        on = np.isin(slots % info["period_slots"], info["allocated_slots"])
        assert pdsch[~on].sum() == 0  # nothing outside the allocated slots
        rbs = np.zeros(cell.n_rb, bool)
        rbs[info["prbs"]] = True
        assert (pdsch[on] == rbs).all()  # the same PRB set in every allocated slot
        assert min(info["allocated_slots"]) >= 2 and max(info["allocated_slots"]) < 10
    for seed in range(8):
        cell, grid = _grid("LTE", "matlab", seed)
        pdsch = (grid.kind == g.PDSCH).reshape(grid.n_slots, 14, cell.n_rb, 12).any(axis=(1, 3))
        sf = (grid.first_slot + np.arange(grid.n_slots)) % 10
        assert not pdsch[sf == 5].any()  # RMC FDD: no PDSCH in subframe 5
        if grid.info["light_load"]:
            assert not pdsch[:, 9:].any() and not pdsch[:, 2:4].any() and pdsch[:, :2][sf != 5].all()
        else:
            on = ~np.isin(sf, grid.info["subframes_off"])
            assert pdsch[on].all() and not pdsch[~on].any()


def test_random_regime_changes_between_slots():
    cell, grid = _grid("NR", "random", 4)
    pdsch = (grid.kind == g.PDSCH).reshape(grid.n_slots, 14, cell.n_rb, 12).any(axis=(1, 3))
    dl = np.array(grid.info["dl_symbols"]) >= 3
    patterns = {row.tobytes() for row in pdsch[dl]}
    assert len(patterns) > dl.sum() // 2


def test_gated_span_respected_in_iq():
    n = 614_400  # 20 ms
    iq, meta = make_capture(np.random.default_rng(11), traffic=["gated"], sample_rate_hz=FS, n_samples=n)
    assert all(c["traffic"] == "gated" for c in meta["carriers"])
    for seed in range(3):
        rng = np.random.default_rng(seed)
        plans = scene.plan_scene(rng, split="test", regimes=["gated"], sample_rate_hz=FS, n_samples=n)
        for plan in plans:
            x, _ = scene.render_carrier(scene.replace(plan, snr_db=20.0), rng, FS, n)
            start, count = scene.gate_span(plan, FS, n)
            assert count >= int(0.005 * FS) and 0 < start and start + count < n
            margin = 4096  # channel filter half-length + multipath tail
            on = np.mean(np.abs(x[start + margin : start + count - margin]) ** 2)
            before = np.mean(np.abs(x[: max(start - margin, 1)]) ** 2)
            after = np.mean(np.abs(x[start + count + margin :]) ** 2)
            assert before < 1e-6 * on and after < 1e-6 * on


def _framed_grid(structure: str, seed: int, regime: str = "full"):
    rng = np.random.default_rng(seed)
    cell = with_frame_structure(draw_lte_cell(rng, 5e6, regime), structure, rng)
    traffic = Traffic(regime, cell.n_rb, True, rng, "R.6")
    return cell, build_lte_grid(cell, traffic, 3, 20, rng)  # subframes 3..22: two frames' worth of every kind


def _frame_rows(grid, kind: int) -> set[int]:
    """The rows (14 x subframe + symbol, within the radio frame) holding REs of ``kind`` in a grid from subframe 3."""
    return {(3 + r // 14) % 10 * 14 + r % 14 for r in np.flatnonzero((grid.kind == kind).any(axis=1))}


def test_lte_tdd_frame_structure():
    """TDD (TS 36.211 §4.2, §6.11): uplink subframes silent, the special subframe sends its DwPTS only, the PSS
    on symbol 2 of subframes 1 and 6 and the SSS on the last symbol of subframes 0 and 5."""
    for seed in range(4):
        cell, grid = _framed_grid("tdd", seed)
        assert cell.duplex == "TDD" and cell.subframe_pattern == TDD_CONFIGS[cell.tdd_config]
        sent = (grid.values != 0).any(axis=1).reshape(20, 14)
        for i in range(20):
            kind = cell.subframe_pattern[(3 + i) % 10]
            n = {"D": 14, "U": 0, "S": DWPTS_SYMBOLS[cell.special_config]}[kind]
            assert sent[i, :n].all() and not sent[i, n:].any(), (seed, i, kind)
        assert _frame_rows(grid, g.PSS) == {14 + 2, 6 * 14 + 2} and _frame_rows(grid, g.SSS) == {13, 5 * 14 + 13}
    fdd, fdd_grid = _framed_grid("fdd", 0)
    assert fdd.duplex == "FDD" and (fdd_grid.values != 0).any(axis=1).all()


def test_lte_tdd_subframes_1_and_6_carry_at_most_two_control_symbols():
    """Table 6.7-1: in TDD the PSS sits on symbol 2 of subframes 1 and 6, so their control region is 1-2 symbols
    whether they are special or (configurations 3-5, subframe 6) downlink; other downlink subframes keep the CFI."""
    rng = np.random.default_rng(0)
    for config in (1, 3, 4, 5):
        cell = dataclasses.replace(draw_lte_cell(rng, 5e6, "full"), cfi=3, tdd_config=config, special_config=4)
        grid = build_lte_grid(cell, Traffic("full", cell.n_rb, True, rng, "R.6"), 0, 10, rng)
        control = (np.isin(grid.kind, [g.PDCCH, g.PCFICH, g.PHICH])).any(axis=1).reshape(10, 14)
        for sf, kind in enumerate(cell.subframe_pattern):
            n = int(control[sf].sum())
            if kind == "U":
                assert n == 0
            elif sf in (1, 6):
                assert 1 <= n <= 2 and not control[sf, 2:].any(), (config, sf, kind)
            else:
                assert control[sf, :3].all() and n == 3, (config, sf, kind)


def test_lte_mbsfn_subframes_send_only_their_first_symbols():
    for seed in range(4):
        cell, grid = _framed_grid("mbsfn", seed)
        assert cell.mbsfn_subframes and set(cell.mbsfn_subframes) <= {1, 2, 3, 6, 7, 8}
        sent = (grid.values != 0).any(axis=1).reshape(20, 14)
        for i in range(20):
            if (3 + i) % 10 in cell.mbsfn_subframes:
                n = int(sent[i].sum())
                assert 1 <= n <= 2 and sent[i, :n].all()
            else:
                assert sent[i].all()


def test_lte_frame_structures_in_captures():
    """``lte_frames`` reaches every LTE carrier's metadata; without it nothing changes."""
    for seed in range(8):
        _, meta = make_capture(np.random.default_rng(seed), sample_rate_hz=FS, n_samples=int(0.002 * FS),
                               lte_frames=["tdd"])  # fmt: skip
        lte = [c for c in meta["carriers"] if c["type"] == "LTE"]
        if lte:
            break
    assert lte and all(c["duplex"] == "TDD" and c["tdd_pattern"] in TDD_CONFIGS for c in lte)
    a = make_capture(np.random.default_rng(seed), sample_rate_hz=FS, n_samples=int(0.002 * FS))
    b = make_capture(np.random.default_rng(seed), sample_rate_hz=FS, n_samples=int(0.002 * FS), lte_frames=None)
    assert np.array_equal(a[0], b[0]) and all(c["duplex"] == "FDD" for c in a[1]["carriers"] if c["type"] == "LTE")
    with pytest.raises(ConfigError, match="frame structure"):
        make_capture(np.random.default_rng(0), sample_rate_hz=FS, n_samples=int(0.002 * FS), lte_frames=["hd-fdd"])


def test_bad_arguments_raise_config_error():
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError):
        make_capture(rng, split="holdout")
    with pytest.raises(ConfigError):
        make_capture(rng, traffic=["busy"])
    with pytest.raises(ConfigError):
        make_capture(rng, traffic=[])
    with pytest.raises(ConfigError):
        make_capture(rng, sample_rate_hz=20e6)
    with pytest.raises(ConfigError):
        make_capture(rng, sample_rate_hz=FS, n_samples=100)


def test_half_subcarrier_modulation_is_the_specifications_signal():
    """Each subcarrier k at (k + 1/2)·Δf, phase referred to the useful part's start, prefix included (38.211 §5.3.1)."""
    from radiofm.synth.nrlte_alt import ofdm

    rng = np.random.default_rng(0)
    k = 24
    values = (rng.standard_normal((14, k)) + 1j * rng.standard_normal((14, k))).astype(np.complex64)
    x = ofdm.modulate(values, scs_hz=30e3, sample_rate_hz=FS, lte_dc=False, half_subcarrier=True)
    n_fft, cp, _ = ofdm.slot_layout(30e3, FS)
    freqs = ofdm.subcarrier_freqs_hz(k, 30e3, False) / 30e3 + 0.5  # in subcarriers
    pos = 0
    for sym in range(3):
        n = np.arange(-int(cp[sym]), n_fft)
        direct = np.exp(2j * np.pi * np.outer(n, freqs) / n_fft) @ values[sym]
        np.testing.assert_allclose(x[pos : pos + n.size], direct, atol=2e-4)
        pos += n.size


def test_an_odd_k_ssb_at_30_khz_puts_the_ssb_half_a_subcarrier_up():
    """FR1's k_SSB counts 15 kHz steps (38.211 §7.4.3.1): the generator draws odd ones at 30 kHz, and such an
    SSB's PSS correlates where the metadata says, 15 kHz above the carrier's grid, not on it."""
    cells = [draw_nr_cell(np.random.default_rng(s), 30e3, 40e6) for s in range(200)]
    assert 10 < sum(c.ssb_half for c in cells) < 100
    assert not any(draw_nr_cell(np.random.default_rng(s), 15e3, 20e6).ssb_half for s in range(100))
    n = 460_800
    for seed in range(40):
        changes = {"ssb_period_ms": 5, "tdd_pattern": None, "ssb_half": True}
        plan, _, x, _, m = _clean_carrier(seed, kind="NR", regimes=["random"], n=n, cell_changes=changes)
        if m["scs_hz"] == 30e3:
            break
    assert m["ssb_half_subcarrier"] and m["scs_hz"] == 30e3
    centre = detect.nr_pss_centre_hz(m)
    on = detect.nr_pss_correlation(x, FS, centre, 30e3, m["pci"] % 3).max()
    off = detect.nr_pss_correlation(x, FS, centre - 15e3, 30e3, m["pci"] % 3).max()
    assert on > 1.5 * off
