"""Synthetic NR positioning CSI: geometry, delays, blockage, spatial consistency, determinism."""

import dataclasses

import numpy as np
import pytest

from radiofm.synth import positioning as P

SMALL = P.PositioningConfig(n_antennas=4, n_scatterers=20)


@pytest.fixture(scope="module")
def scene():
    return P.draw_scene(np.random.default_rng(3))


def _brute_force(scene, ue):
    """Direct sum over paths with explicit per-tone phases (same narrowband array model), for one UE."""
    c = scene.config
    lam = P.C_MPS / c.carrier_hz
    f = c.carrier_hz + P.subcarrier_offsets_hz(c)
    pen = 10 ** (-c.penetration_loss_db / 20)
    out = np.zeros((c.n_bs, c.n_antennas, len(f)), complex)
    for b, bs in enumerate(scene.bs_m):
        ant = bs + scene.antenna_offsets_m[b]
        blocked = P._blocked(ue, bs, scene.buildings)
        img = ue * [1, 1, -1]
        paths = [(np.linalg.norm(bs - ue), pen**blocked * lam / (4 * np.pi * np.linalg.norm(bs - ue)), ue)]
        d = np.linalg.norm(bs - img)
        paths.append((d, c.ground_reflection * pen**blocked * lam / (4 * np.pi * d), img))
        for s, rcs, ph in zip(scene.scatterers_m, scene.scatterer_rcs_m2, scene.scatterer_phase):
            d1, d2 = np.linalg.norm(s - ue), np.linalg.norm(bs - s)
            g = np.sqrt(rcs) * lam / ((4 * np.pi) ** 1.5 * d1 * d2) * np.exp(1j * ph)
            g *= pen ** P._blocked(ue, s, scene.buildings) * pen ** P._blocked(s, bs, scene.buildings)
            paths.append((d1 + d2, g, s))
        for length, g, last in paths:
            delta = np.linalg.norm(ant - last, axis=1) - np.linalg.norm(bs - last)
            out[b] += g * np.exp(-2j * np.pi * delta / lam)[:, None] * np.exp(-2j * np.pi * f * length / P.C_MPS)[None]
    return out


def test_channel_response_matches_a_direct_sum(scene):
    ue = P.sample_positions(scene, 3, np.random.default_rng(0))
    h = P.channel_response(scene, ue)
    assert h.shape == (3, 4, 16, 193) and h.dtype == np.complex64
    for i in range(3):
        ref = _brute_force(scene, ue[i])
        assert np.abs(h[i] - ref).max() < 1e-4 * np.abs(ref).max()


def test_los_only_phase_slope_is_the_distance():
    open_area = dataclasses.replace(SMALL, n_buildings=0, n_scatterers=0, ground_reflection=0.0)
    scene = P.draw_scene(np.random.default_rng(0), open_area)
    ue = np.array([[30.0, 20.0, 1.5]])
    h = P.channel_response(scene, ue)[0]  # (B, A, W)
    f = P.subcarrier_offsets_hz(open_area)
    lam = P.C_MPS / open_area.carrier_hz
    for b, bs in enumerate(scene.bs_m):
        d = np.linalg.norm(bs - ue[0])
        slope = np.polyfit(2 * np.pi * f, np.unwrap(np.angle(h[b, 0])), 1)[0]  # phase = -2π f d / c
        assert abs(-slope * P.C_MPS - d) < 0.01  # metres
        assert np.allclose(np.abs(h[b]), lam / (4 * np.pi * d), rtol=1e-3)


def test_first_arrival_of_the_full_channel_is_the_los_distance(scene):
    rng = np.random.default_rng(1)
    ue = P.sample_positions(scene, 20, rng)
    h = P.channel_response(scene, ue)
    step_hz = np.diff(P.subcarrier_offsets_hz())[0]
    n_fft = 4096
    checked = 0
    for i in range(len(ue)):
        for b, bs in enumerate(scene.bs_m):
            if P._blocked(ue[i], bs, scene.buildings):
                continue
            d = np.linalg.norm(bs - ue[i])
            cir = np.abs(np.fft.ifft(h[i, b, 0], n_fft))  # delay profile, bin = 1 / (n_fft · Δf)
            delay_m = np.arange(n_fft) / (n_fft * step_hz) * P.C_MPS
            first = np.argmax(cir > 0.5 * cir.max())
            assert abs(delay_m[first] - d) < 3.5  # one range bin at 98 MHz is 3 m
            checked += 1
    assert checked >= 20


def test_blocked_paths_lose_the_penetration_loss():
    box = np.array([[10.0, -5.0, 0.0, 12.0, 5.0, 10.0]])
    a = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    b = np.array([[20.0, 0.0, 1.0], [20.0, 0.0, 15.0 * 2], [5.0, 0.0, 1.0]])
    assert P._blocked(a, b, box).tolist() == [1, 0, 0]  # through, over the roof, stops short
    wall = dataclasses.replace(SMALL, n_buildings=0, n_scatterers=0, ground_reflection=0.0)
    scene = dataclasses.replace(
        P.draw_scene(np.random.default_rng(0), wall), buildings=np.array([[30, 0, 0, 31, 60, 30.0]])
    )
    ue = np.array([[20.0, 30.0, 1.5], [40.0, 30.0, 1.5]])  # same side as BS 0 / behind the wall
    g = np.abs(P.channel_response(scene, ue)[:, 0, 0, 0]) * np.linalg.norm(scene.bs_m[0] - ue, axis=1)
    assert np.isclose(20 * np.log10(g[0] / g[1]), wall.penetration_loss_db, atol=0.01)


def test_nearby_positions_have_closer_csi_than_distant_ones(scene):
    rng = np.random.default_rng(2)
    base = P.sample_positions(scene, 12, rng)
    near = base + np.r_[0.1, 0.0, 0.0]
    far = P.sample_positions(scene, 12, rng)
    far = far[np.linalg.norm(far - base, axis=1) > 15][:8]
    f = {k: P.csi_features(scene, v, np.random.default_rng(9)) for k, v in (("b", base), ("n", near), ("f", far))}
    d_near = np.linalg.norm((f["b"] - f["n"]).reshape(len(base), -1), axis=1)
    d_far = np.linalg.norm((f["b"][: len(far)] - f["f"]).reshape(len(far), -1), axis=1)
    assert len(far) >= 5 and np.median(d_near) < 0.5 * np.median(d_far)


def test_positions_avoid_buildings_and_training_points(scene):
    rng = np.random.default_rng(4)
    train = P.sample_positions(scene, 400, rng)
    test = P.sample_positions(scene, 100, rng, avoid=train, min_separation_m=0.25)
    for p in (train, test):
        assert (p[:, 0] >= 0).all() and (p[:, 0] <= 80).all() and (p[:, 1] <= 60).all()
        assert ((p[:, 2] >= 1.0) & (p[:, 2] <= 2.0)).all() and not P._inside(p, scene.buildings).any()
    gap = np.linalg.norm(test[:, None, :2] - train[None, :, :2], axis=-1).min()
    assert gap > 0.25


def test_features_are_seeded_and_normalised(scene):
    ue = P.sample_positions(scene, 5, np.random.default_rng(5))
    a = P.csi_features(scene, ue, np.random.default_rng(6))
    b = P.csi_features(scene, ue, np.random.default_rng(6))
    c = P.csi_features(scene, ue, np.random.default_rng(7))
    assert a.shape == (5, 4, 16, 193) and a.dtype == np.float32 and np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.allclose(a.max(axis=(1, 2, 3)), 1.0) and a.min() >= 0
    per_bs = P.csi_features(
        dataclasses.replace(scene, config=dataclasses.replace(scene.config, normalize="bs")),
        ue,
        np.random.default_rng(6),
    )
    assert np.allclose(per_bs.max(axis=(2, 3)), 1.0)
    fixed = dataclasses.replace(scene.config, snr_db=10.0, normalize="none")
    noisy = P.csi_features(dataclasses.replace(scene, config=fixed), ue, np.random.default_rng(6))
    clean = np.abs(P.channel_response(scene, ue))
    snr = np.mean(clean**2, axis=(2, 3)) / np.mean((noisy - clean) ** 2, axis=(2, 3))
    assert 0.3 < np.median(10 * np.log10(snr)) - 10 < 4.5  # |H + n| - |H| keeps about half the noise power


def test_relative_phase_channels(scene):
    ue = P.sample_positions(scene, 2, np.random.default_rng(8))
    with_phase = dataclasses.replace(scene, config=dataclasses.replace(scene.config, phase=True, snr_db=60.0))
    f = P.csi_features(with_phase, ue, np.random.default_rng(0))
    assert f.shape == (2, 8, 16, 193) and (np.abs(f[:, 4:]) <= 1).all() and np.allclose(f[:, 4:, 0, 0], 0)
    h = P.channel_response(scene, ue)
    ref = np.angle(h[:, 1, 3, 10] * np.conj(h[:, 1, 0, 0])) / np.pi
    phasor = np.exp(1j * np.pi * f[:, 5, 3, 10])  # compared as phasors: no wrap-around at ±π
    assert np.allclose(phasor, np.exp(1j * np.pi * ref), atol=0.03)  # 60 dB SNR: the noise barely moves it


def test_scene_description_is_json_able(scene):
    import json

    d = json.loads(json.dumps(scene.describe()))
    assert d["box_m"] == [80.0, 60.0, 40.0] and len(d["bs_m"]) == 4 and d["n_subcarriers"] == 193
