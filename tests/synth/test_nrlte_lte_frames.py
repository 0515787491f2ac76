"""LTE frame structures of the main generator (issue 8): TDD uplink-downlink and special subframe configurations,
MBSFN subframes, the PSS/SSS where each structure puts them, the mix they are drawn from, and FDD alone drawing
exactly what it drew before frame structures existed."""

import dataclasses

import numpy as np
import pytest

from radiofm.errors import ConfigError
from radiofm.synth.nrlte import lte, scene, sequences
from radiofm.synth.nrlte.carrier import single_carrier

ROWS = lte.numerology(lte.SCS_HZ)["n_symbols"]  # 40 ms of symbols


def _cell(seed, regime, structure, **changes):
    cfg = lte.draw_lte(np.random.default_rng(seed), traffic_regime=regime, frames=lte.frame_mix([structure]))
    return dataclasses.replace(cfg, time_shift_symbols=0, **changes)


def _sent(grid):
    """Per subframe of the first radio frame, per symbol: anything sent, bool (10, 14)."""
    return np.abs(grid[:140]).reshape(10, 14, -1).max(axis=2) > 0


def test_the_tables_are_36211s():
    assert lte.TDD_UL_DL[0] == "DSUUUDSUUU" and lte.TDD_UL_DL[2] == "DSUDDDSUDD" and lte.TDD_UL_DL[5] == "DSUDDDDDDD"
    assert all(p[:3] == "DSU" and p[5] == "D" for p in lte.TDD_UL_DL)  # subframes 0 and 5 always downlink
    assert lte.DWPTS_SYMBOLS == (3, 9, 10, 11, 12, 3, 9, 10, 11, 6)
    assert set(lte.FRAME_MIX) == {"fdd", "tdd", "mbsfn"} and np.isclose(sum(lte.FRAME_MIX.values()), 1.0)


@pytest.mark.parametrize("config", range(7))
def test_tdd_sends_downlink_and_dwpts_only_with_the_sync_where_type_2_has_it(config):
    special = (config * 3) % 10  # a spread of special subframe configurations
    cfg = _cell(config, "full", "tdd", tdd_config=config, special_config=special, n_id_cell=101 + config)
    grid = lte.build_grid(cfg, np.random.default_rng(config))
    sent, pattern, dwpts = _sent(grid), lte.TDD_UL_DL[config], lte.DWPTS_SYMBOLS[special]
    for sf, kind in enumerate(pattern):
        expected = {"D": 14, "S": dwpts, "U": 0}[kind]
        assert not sent[sf, expected:].any(), (sf, kind)  # nothing after the downlink part
        on = [0, 2] if kind == "S" and dwpts == 3 else slice(0, expected)  # 3 symbols: control (+ CRS) and PSS
        assert sent[sf, on].all(), (sf, kind)
    c0 = 6 * cfg.n_rb - 36
    n_id1, n_id2 = divmod(cfg.n_id_cell, 3)
    pss = np.abs(grid[:, c0 + 5 : c0 + 67] @ np.conj(sequences.lte_pss(n_id2))) / 62
    assert np.flatnonzero(pss > 0.99).tolist() == [r + 140 * f for f in range(ROWS // 140) for r in (16, 86)]
    for row, sf in ((13, 0), (83, 5)):  # the SSS on the last symbol of subframes 0 and 5, each its own half
        sss = grid[row, c0 + 5 : c0 + 67]
        assert abs(np.vdot(sequences.lte_sss(n_id1, n_id2, sf), sss)) / 62 > 0.99
    if dwpts > 3:  # PDSCH after the special subframe's (at most 2-symbol) control region
        assert np.mean(grid[14 + 3 : 14 + dwpts] != 0) > 0.5
    else:  # no PDSCH in a 3-symbol DwPTS: symbol 2 holds the PSS alone
        assert np.count_nonzero(grid[16]) == 62


@pytest.mark.parametrize("config", [1, 3])
def test_subframes_1_and_6_have_at_most_two_control_symbols_then_pdsch(config):
    """Table 6.7-1: at most 2 control symbols in TDD subframes 1 and 6, special or (configurations 3-5, subframe 6)
    downlink: the PSS is on their third symbol. With a CFI of 3, that symbol carries PDSCH beside the PSS."""
    changes = dict(tdd_config=config, special_config=4, cfi=3, n_rb=50, reference_channel="R.7", crs_ports=2)
    expected = {1: [3, 2, 0, 0, 3, 3, 2, 0, 0, 3], 3: [3, 2, 0, 0, 0, 3, 2, 3, 3, 3]}[config]
    idle = _cell(0, "idle", "tdd", **changes)
    assert lte.control_symbols(idle).tolist() == expected
    grid = lte.build_grid(idle, np.random.default_rng(0))
    assert np.count_nonzero(grid[14 + 2]) == np.count_nonzero(grid[84 + 2]) == 62  # idle: the PSS alone
    assert np.mean(grid[2] != 0) > 0.9  # symbol 2 of subframe 0: control
    full = _cell(0, "full", "tdd", **changes)
    grid = lte.build_grid(full, np.random.default_rng(0))
    outside = np.r_[0 : 6 * 50 - 36, 6 * 50 + 36 : 600]  # the subcarriers beyond the central 72
    for row in (14 + 2, 84 + 2):  # subframes 1 and 6, symbol 2: PDSCH around the PSS
        assert np.mean(grid[row, outside] != 0) > 0.99
    assert np.all(lte.reference_mask(full)[[14, 15, 84, 85]])  # their first two symbols: control
    assert not lte.reference_mask(full)[[16, 86]][:, outside].any()


@pytest.mark.parametrize("ports", [1, 2, 4])
def test_mbsfn_subframes_send_only_their_non_mbsfn_region(ports):
    cfg = _cell(ports, "full", "mbsfn", crs_ports=ports, mbsfn_subframes=[2, 7], cfi=1, n_rb=25)
    sent = _sent(lte.build_grid(cfg, np.random.default_rng(1)))
    region = 2 if ports == 4 else 1
    for sf in range(10):
        expected = region if sf in (2, 7) else 14
        assert sent[sf].tolist() == [l < expected for l in range(14)], sf
    assert cfg.subframe_pattern() == "DDMDDDDMDD" and cfg.duplex == "FDD"


@pytest.mark.parametrize("structure", ["tdd", "mbsfn"])
@pytest.mark.parametrize("seed", range(3))
def test_idle_cells_of_every_structure_send_only_reference_and_sync(structure, seed):
    cfg = _cell(seed, "idle", structure)
    grid = lte.build_grid(cfg, np.random.default_rng(seed))
    ref = lte.reference_mask(cfg)
    assert not np.any(grid[~ref]) and np.count_nonzero(grid) > 0
    assert not np.any(ref[~lte.downlink_rows(cfg)])


def test_fdd_alone_draws_nothing_more():
    for seed in range(20):
        a, b = np.random.default_rng(seed), np.random.default_rng(seed)
        assert lte.draw_lte(a, frames=lte.frame_mix(["fdd"])) == lte.draw_lte(b)
        assert a.random() == b.random()  # the generator left in the same state
    # recorded from the generator before frame structures existed (c1581d5): cell IDs, then the noise level drawn
    # after every carrier's knobs, then the samples drawn after that
    for seed, cells, noise_db, head in ((3, [743, 239], -21.0551, 392.81), (18, [812, 63], -18.3684, 377.89)):
        iq, meta = scene.make_frame(np.random.default_rng(seed), split="test", lte_frames=["fdd"])
        assert [c["n_id_cell"] for c in meta["carriers"]] == cells
        assert meta["noise_power_db"] == pytest.approx(noise_db, abs=1e-4)
        assert float(np.abs(iq[:1000]).sum()) == pytest.approx(head, abs=0.01)
        assert {c["duplex"] for c in meta["carriers"] if c["type"] == "LTE"} == {"FDD"}


def test_the_scene_draws_the_default_mix_and_matlab_stays_fdd():
    seen = {"matlab": set(), "other": set()}
    for seed in range(150):
        for c in scene.draw_scene(np.random.default_rng(seed)):  # the default traffic and frame mixes
            if c.kind == "LTE":
                seen["matlab" if c.config.traffic == "matlab" else "other"].add(c.config.frame_structure)
    assert seen == {"matlab": {"fdd"}, "other": {"fdd", "tdd", "mbsfn"}}
    rng = np.random.default_rng(0)
    counts = dict.fromkeys(lte.FRAME_MIX, 0)
    for _ in range(2000):
        counts[lte.draw_lte(rng, traffic_regime="random", frames=lte.frame_mix(None)).frame_structure] += 1
    for name, p in lte.FRAME_MIX.items():
        assert abs(counts[name] / 2000 - p) < 0.04, counts
    cfgs = [lte.draw_lte(rng, frames=lte.frame_mix("tdd, mbsfn")) for _ in range(300)]  # a comma list too
    assert {c.tdd_config for c in cfgs if c.duplex == "TDD"} == set(range(7))
    assert {c.special_config for c in cfgs if c.duplex == "TDD"} == set(range(10))
    assert all(c.mbsfn_subframes and set(c.mbsfn_subframes) <= set(lte.MBSFN_CANDIDATES) for c in cfgs
               if c.frame_structure == "mbsfn")  # fmt: skip
    assert {c.frame_structure for c in cfgs} == {"tdd", "mbsfn"}
    with pytest.raises(ValueError, match="frame structures"):
        lte.frame_mix(["hd-fdd"])


def test_nr_takes_no_lte_frame_structure():
    with pytest.raises(ConfigError, match="LTE one"):
        single_carrier("NR", np.random.default_rng(0), frame_structure="tdd")


def test_annotations_say_the_structure():
    mix = "random,full,idle,gated"  # a matlab LTE carrier is the example's FDD whatever lte_frames says
    _iq, meta = scene.make_frame(np.random.default_rng(2), split="test", traffic_mix=mix, lte_frames=["tdd"])
    anns = [a for a in scene.annotations(meta["carriers"]) if a["core:label"] == "LTE"]
    assert anns and all(a["radiofm:duplex"] == "TDD" and "U" in a["radiofm:subframe_pattern"] for a in anns)
