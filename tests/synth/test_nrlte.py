"""NR/LTE segmentation generator: 3GPP sequences, OFDM, SSB placement, LTE DC, scene invariants, annotations."""

import dataclasses

import numpy as np
import pytest

from radiofm.synth.nrlte import label_image, lte, nr, ofdm, row_freqs_hz, scene, sequences

FS = ofdm.SAMPLE_RATE_HZ


# ---------------------------------------------------------------- sequences


def _gold_reference(c_init, length):
    x1, x2 = [1] + [0] * 30, [(c_init >> i) & 1 for i in range(31)]
    for n in range(1600 + length):
        x1.append((x1[n + 3] + x1[n]) % 2)
        x2.append((x2[n + 3] + x2[n + 2] + x2[n + 1] + x2[n]) % 2)
    return [(x1[n + 1600] + x2[n + 1600]) % 2 for n in range(length)]


def test_gold_sequence_matches_the_lfsr_definition():
    for c_init in (0, 1, 4321, 2**31 - 1):
        assert sequences.gold(c_init, 200).tolist() == _gold_reference(c_init, 200)


def test_nr_pss_sss_properties():
    pss = [sequences.nr_pss(i) for i in range(3)]
    assert all(p.shape == (127,) and set(np.unique(p)) == {-1.0, 1.0} for p in pss)
    assert pss[0][:7].tolist() == [1, -1, -1, 1, -1, -1, -1]  # 1 - 2x, x(0..6) = 0 1 1 0 1 1 1
    for i in range(3):  # m-sequences: sharp periodic autocorrelation, low cross-correlation
        for j in range(3):
            corr = abs(np.dot(pss[i], pss[j])) / 127
            assert corr == 1.0 if i == j else corr < 0.2
    sss = {tuple(sequences.nr_sss(n1, n2)) for n1 in (0, 1, 111, 112, 335) for n2 in range(3)}
    assert len(sss) == 15 and all(len(s) == 127 and set(s) == {-1.0, 1.0} for s in sss)


def test_lte_pss_sss_properties():
    for n2 in range(3):
        p = sequences.lte_pss(n2)
        assert p.shape == (62,) and np.allclose(np.abs(p), 1.0)
    assert abs(np.vdot(sequences.lte_pss(0), sequences.lte_pss(1))) / 62 < 0.3
    d0, d5 = sequences.lte_sss(17, 1, 0), sequences.lte_sss(17, 1, 5)
    assert d0.shape == (62,) and set(np.unique(d0)) == {-1.0, 1.0} and not np.array_equal(d0, d5)


# ---------------------------------------------------------------- OFDM numerology


@pytest.mark.parametrize("scs", [15e3, 30e3])
def test_numerology_and_single_tone(scs):
    nm = ofdm.numerology(scs)
    starts = ofdm.symbol_starts(scs)
    assert starts[-1] == ofdm.FRAME_SAMPLES and nm["nfft"] * scs == FS
    assert np.diff(starts)[0] == nm["nfft"] + nm["cp_long"] and np.diff(starts)[1] == nm["nfft"] + nm["cp"]
    grid = np.zeros((nm["n_symbols"], nm["nfft"]), dtype=np.complex64)
    grid[:, 40] = 1.0  # natural FFT order: bin +40
    x = ofdm.modulate(grid, scs)
    assert x.dtype == np.complex64 and np.isclose(np.mean(np.abs(x) ** 2), 1.0 / nm["nfft"], rtol=1e-3)
    f = np.fft.fftfreq(len(x), 1 / FS)[np.argmax(np.abs(np.fft.fft(x)))]
    assert abs(f - 40 * scs) < scs / 4  # the subcarrier lands at its frequency (CP phase jumps spread it a bit)


# ---------------------------------------------------------------- carriers


def _clean_carrier(kind, seed, **changes):
    """A placed carrier at centre bin 0 with no fading (for exact demodulation)."""
    rng = np.random.default_rng(seed)
    cfg = nr.draw_nr(rng) if kind == "NR" else lte.draw_lte(rng)
    cfg = dataclasses.replace(cfg, profile="awgn-only", **{"time_shift_symbols": 0, **changes})
    return scene.Carrier(kind, cfg, centre_bin=0, psd_db=-3.0, sample_start=0, sample_count=ofdm.FRAME_SAMPLES)


def _demodulate(iq, scs):
    """Resource grid (n_symbols, nfft) of a capture, centred columns."""
    nm = ofdm.numerology(scs)
    ends = ofdm.symbol_starts(scs)[1:]
    idx = (ends - nm["nfft"] - 16)[:, None] + np.arange(nm["nfft"])[None, :]  # window starts 16 samples into the CP
    sym = np.fft.fft(iq[idx], axis=1, norm="ortho")
    ramp = np.exp(-2j * np.pi * np.fft.fftfreq(nm["nfft"]) * 16)  # undo the 16-sample early window start
    return np.fft.fftshift(sym / ramp, axes=1)


@pytest.mark.parametrize("scs", [15e3, 30e3])
def test_ssb_at_case_a_b_symbols_with_the_cells_pss(scs):
    pinned = dict(ssb_case="A" if scs == 15e3 else "B", ssb_period_ms=20, ssb_bitmap=[1] * 8, ssb_sc_offset=0)
    pinned |= dict(ssb_power_offset_db=0.0, pss_boost_db=0.0, tdd_pattern=None, dmrs_cdm_groups=1)
    n_rb = nr.NR_N_RB[scs][20]
    c = _clean_carrier("NR", 3, scs_hz=scs, bandwidth_mhz=20, n_rb=n_rb, ssb_rb_offset=7, l_max=8, **pinned)
    iq = scene.synthesize([c], -300.0, np.random.default_rng(0))
    grid = _demodulate(iq, scs)
    half, lo = ofdm.numerology(scs)["nfft"] // 2, c.bins()[0]
    k = half + lo + 12 * 7 + 56 + np.arange(127)  # PSS subcarriers of the SS block
    pss = sequences.nr_pss(c.config.n_id_cell % 3)
    corr = np.abs(grid[:, k] @ pss) / (127 * 10 ** (c.psd_db / 20))
    expected = set(nr.ssb_positions(c.config)[0].tolist())
    first = {2, 8, 16, 22, 30, 36, 44, 50} if scs == 15e3 else {4, 8, 16, 20, 32, 36, 44, 48}
    assert {s for s in expected if s < 100} == first
    per_half_frame = ofdm.numerology(scs)["n_symbols"] // 8
    assert expected == first | {s + 4 * per_half_frame for s in first}  # second burst 20 ms later
    found = set(np.flatnonzero(corr > 0.9).tolist())
    assert found == expected
    # SSS two symbols after each PSS; the used REs carry the drawn PSD
    sss = sequences.nr_sss(c.config.n_id_cell // 3, c.config.n_id_cell % 3)
    assert np.all(np.abs(grid[[s + 2 for s in expected]][:, k] @ sss) / (127 * 10 ** (c.psd_db / 20)) > 0.9)
    used = np.abs(grid) ** 2 > 1e-6
    assert np.isclose(np.mean(np.abs(grid[used]) ** 2), 10 ** (c.psd_db / 10), rtol=0.05)


def test_lte_null_dc_crs_and_pss():
    c = _clean_carrier("LTE", 5, crs_ports=1, crs_boost_db=0.0)
    iq = scene.synthesize([c], -300.0, np.random.default_rng(0))
    grid = _demodulate(iq, 15e3)
    half = ofdm.numerology(15e3)["nfft"] // 2
    power = np.mean(np.abs(grid) ** 2, axis=0)
    n = 6 * c.config.n_rb
    assert power[half] < 1e-6 * power[half + 1]  # DC subcarrier empty
    assert power[half - n] > 0 and power[half + n] > 0 and power[half - n - 1] < 1e-9 and power[half + n + 1] < 1e-9
    scale = 10 ** (c.psd_db / 20)
    pss = sequences.lte_pss(c.config.n_id_cell % 3)
    k = np.r_[half - 31 : half, half + 1 : half + 32]
    assert abs(np.vdot(pss, grid[6, k])) / (62 * scale) > 0.99  # slot 0, last symbol
    assert abs(np.vdot(pss, grid[70 + 6, k])) / (62 * scale) > 0.99  # slot 10
    rows, cols, vals = lte.crs_mask_and_values(c.config)
    bins = lte.subcarrier_bins(c.config, 0) + half
    assert np.allclose(grid[rows, bins[cols]] / scale, vals, atol=1e-3)


def test_scenes_fit_the_span_and_never_overlap():
    rng = np.random.default_rng(0)
    kinds = set()
    for _ in range(200):
        carriers = scene.draw_scene(rng)
        kinds.add(tuple(sorted(c.kind for c in carriers)))
        blocks = sorted(
            (
                c.centre_bin * c.scs_hz - c.config.bandwidth_mhz * 5e5,
                c.centre_bin * c.scs_hz + c.config.bandwidth_mhz * 5e5,
            )
            for c in carriers
        )
        assert blocks[0][0] >= -FS / 2 and blocks[-1][1] <= FS / 2
        assert all(a[1] <= b[0] for a, b in zip(blocks, blocks[1:]))
        for c in carriers:
            lo, hi = c.edges_hz()
            assert lo >= -FS / 2 and hi <= FS / 2
            assert c.centre_bin * c.scs_hz - c.config.bandwidth_mhz * 5e5 < lo < hi
            assert c.sample_start >= 0 and c.sample_start + c.sample_count <= ofdm.FRAME_SAMPLES
    assert kinds == {("LTE", "NR"), ("NR",), ("LTE",), ("NR", "NR"), ("LTE", "LTE")}


def test_noise_distributions():
    rng = np.random.default_rng(1)
    train = np.array([scene.draw_noise_power_db(rng, "train") for _ in range(4000)])
    test = np.array([scene.draw_noise_power_db(rng, "test") for _ in range(4000)])
    assert abs(train.mean() + 15) < 0.5 and abs(train.std() - 6) < 0.5
    assert test.min() >= -30 and test.max() <= 0 and abs(test.std() - 30 / np.sqrt(12)) < 0.5


def test_label_rows_follow_the_band_edges():
    carriers = [
        {"type": "NR", "lower_edge_hz": -10e6, "upper_edge_hz": 0.0, "sample_start": 0, "sample_count": 10**9},
        {"type": "LTE", "lower_edge_hz": 5e6, "upper_edge_hz": 9.5e6, "sample_start": 614400, "sample_count": 614400},
    ]
    lab = label_image(carriers)
    f = row_freqs_hz(256, 256)
    assert np.isclose(f[128], 0.0) and np.isclose(f[1] - f[0], FS / 256)
    assert set(np.flatnonzero(lab[:, 0] == 1)) == set(np.flatnonzero((f >= -10e6) & (f < 0)))
    assert set(np.flatnonzero(lab[:, 100] == 2)) == set(np.flatnonzero((f >= 5e6) & (f < 9.5e6)))
    assert set(np.flatnonzero(lab[150, :] == 2)) == set(range(64, 128))


def test_annotations_are_sigmf_dicts_matching_the_carriers():
    _iq, meta = scene.make_frame(np.random.default_rng(5), split="test")
    anns = scene.annotations(meta["carriers"])
    assert len(anns) == len(meta["carriers"]) > 0
    for a, c in zip(anns, meta["carriers"]):
        assert a["core:label"] == c["type"] and a["core:sample_start"] == c["sample_start"]
        assert a["core:freq_lower_edge"] == scene.CENTER_FREQ_HZ + c["lower_edge_hz"]
        assert a["core:freq_upper_edge"] == scene.CENTER_FREQ_HZ + c["upper_edge_hz"]
        assert list(a)[:5] == [f"core:{k}" for k in ("sample_start", "sample_count", "freq_lower_edge",
                                                   "freq_upper_edge", "label")]  # fmt: skip
        assert ("radiofm:reference_channel" in a) == (c["type"] == "LTE")
