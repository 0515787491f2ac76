"""Synthetic NTU-Fi CSI: format, determinism, Doppler physics, body motion, and class separability."""

import dataclasses

import numpy as np
import pytest

from radiofm.dsp.resize import resize
from radiofm.synth import body_motion, csi_har

T_S = np.arange(2000) / 500.0
BOUNDS = ((0.3, 7.7), (0.3, 7.7))


def _env(seed=0):
    return csi_har.draw_environment(np.random.default_rng(seed))


def test_recording_format_and_scale():
    a, meta = csi_har.synthesize_recording("walk", np.random.default_rng(1), environment=_env())
    assert a.shape == (3, 114, 2000) and a.dtype == np.float32 and np.isfinite(a).all()
    assert 30 < a.mean() < 55 and 1 < a.std() < 10  # dB scale of NTU-Fi (SenseFi standardises with 42.3 / 5.0)
    assert meta["activity"] == "walk" and 0.7 <= meta["speed_mps"] <= 1.7


def test_same_seed_same_array_other_seed_other_array():
    env = _env()
    a1, m1 = csi_har.synthesize_recording("box", np.random.default_rng(7), environment=env)
    a2, m2 = csi_har.synthesize_recording("box", np.random.default_rng(7), environment=env)
    a3, _ = csi_har.synthesize_recording("box", np.random.default_rng(8), environment=env)
    assert np.array_equal(a1, a2) and m1 == m2
    assert not np.allclose(a1, a3)


def test_unknown_activity_raises():
    with pytest.raises(ValueError, match="unknown activity"):
        csi_har.synthesize_recording("jump", np.random.default_rng(0))


def test_subcarriers_are_the_ht40_tones():
    idx = csi_har.SUBCARRIER_INDEX
    assert len(idx) == 114 and idx.min() == -58 and idx.max() == 58 and not set(idx) & {-1, 0, 1}
    f = csi_har.subcarrier_freqs_hz()
    assert np.isclose(f.max() - f.min(), 116 * 312.5e3)


@pytest.mark.parametrize("activity", body_motion.ACTIVITIES)
def test_body_motion_stays_in_the_room(activity):
    out = body_motion.motion(activity, T_S, np.random.default_rng(3), anchor_xy=(4.0, 4.0), bounds_xy=BOUNDS)
    pos = out["positions_m"]
    assert pos.shape == (8, 2000, 3) and np.isfinite(pos).all()
    assert (pos[..., :2] >= 0.3).all() and (pos[..., :2] <= 7.7).all() and (pos[..., 2] > 0).all()
    assert (pos[..., 2] < 2.1).all() and out["rcs_m2"].shape == (8,) and (out["rcs_m2"] > 0).all()


def test_fall_goes_from_standing_to_lying():
    out = body_motion.motion("fall", T_S, np.random.default_rng(5), anchor_xy=(4.0, 4.0), bounds_xy=BOUNDS)
    head_z = out["positions_m"][1, :, 2]
    m = out["meta"]
    before = T_S < m["onset_s"]
    after = T_S > m["onset_s"] + m["duration_s"] + 0.2
    assert head_z[before].min() > 1.3 and head_z[after].max() < 0.6
    speed = np.linalg.norm(np.diff(out["positions_m"][1], axis=0), axis=1) * 500
    assert 3.0 < speed.max() < 9.0  # a fast transient: head speed at impact


def test_gait_speed_and_cadence():
    walk = body_motion.motion("walk", T_S, np.random.default_rng(2), anchor_xy=(4.0, 4.0), bounds_xy=BOUNDS)
    torso = walk["positions_m"][0, :, :2]
    speed = np.linalg.norm(np.diff(torso, axis=0), axis=1) * 500
    assert abs(speed.mean() - walk["meta"]["mean_speed_mps"]) < 0.15 * walk["meta"]["mean_speed_mps"]
    # the lower legs swing at half the step cadence (each leg steps every other step)
    leg = walk["positions_m"][6, :, :2] - torso
    rel = np.linalg.norm(leg - leg.mean(0), axis=1)
    spec = np.abs(np.fft.rfft(rel - rel.mean()))
    f = np.fft.rfftfreq(len(rel), 1 / 500)
    assert abs(f[spec.argmax()] - walk["meta"]["cadence_hz"]) < 0.5  # |offset| peaks twice per stride


def test_moving_scatterer_beats_at_its_doppler_frequency():
    """|LoS + body path| oscillates at (d/dt path length)/λ: the Doppler physics of the model."""
    env = dataclasses.replace(
        _env(),
        walls=np.zeros(6),
        furniture_rcs_m2=np.zeros_like(_env().furniture_rcs_m2),
        diffuse_gain=np.zeros_like(_env().diffuse_gain),
    )
    mid = (env.tx_m + env.rx_m.mean(0)) / 2
    perp = np.cross(env.rx_m.mean(0) - env.tx_m, [0, 0, 1.0])
    perp /= np.linalg.norm(perp)
    pos = mid + 5.0 * perp + np.outer(T_S, 0.5 * perp)  # 0.5 m/s away from the link, 5 -> 7 m: near-constant rate
    cfg = csi_har.CsiHarConfig()
    freqs = csi_har.subcarrier_freqs_hz(cfg)
    lam = csi_har.C_MPS / cfg.carrier_hz
    paths = csi_har._static_paths(env, freqs, lam)
    static = paths["tones"].sum(0) + paths["diffuse"]  # (A, K), unshadowed
    body = csi_har._body_channel(env, pos[None], np.array([1.0]), freqs, lam, np.random.default_rng(0))
    h = np.abs(static[0, 57][None] + body[0, 57])
    length = np.linalg.norm(pos - env.tx_m, axis=1) + np.linalg.norm(pos - env.rx_m[0], axis=1)
    expected_hz = np.abs(np.diff(length)).mean() * 500 / lam
    spec = np.abs(np.fft.rfft(h - h.mean(), 8 * len(h)))
    f = np.fft.rfftfreq(8 * len(h), 1 / 500)
    assert 14 < expected_hz < 18 and abs(f[spec.argmax()] - expected_hz) < 0.5


# ------------------------------------------------------------------------------------------ separability
@pytest.fixture(scope="module")
def recordings():
    """Four recordings of each activity in one room (about 6 s on one core)."""
    env = _env(11)
    return {
        c: [csi_har.synthesize_recording(c, np.random.default_rng([c_i, i]), environment=env)[0] for i in range(4)]
        for c_i, c in enumerate(csi_har.CLASSES)
    }


@pytest.fixture(scope="module")
def class_features(recordings):
    return {c: np.array([csi_har.doppler_summary(a) for a in recordings[c]]) for c in ("clean", "fall", "run", "walk")}


def _best_threshold_accuracy(a, b):
    v = np.r_[a, b]
    y = np.r_[np.zeros(len(a)), np.ones(len(b))]
    return max(max(((v > t) == y).mean(), ((v <= t) == y).mean()) for t in v)


def test_doppler_separates_slow_cleaning_from_falls_and_running(class_features):
    high_doppler = {c: f[:, 2] for c, f in class_features.items()}  # fraction of fluctuation power above 25 Hz
    assert 3 * high_doppler["clean"].max() < min(high_doppler["fall"].min(), high_doppler["run"].min())


def test_run_and_walk_are_not_separated_by_any_single_scalar(class_features):
    run, walk = class_features["run"], class_features["walk"]
    accuracies = [_best_threshold_accuracy(run[:, j], walk[:, j]) for j in range(run.shape[1])]
    assert max(accuracies) < 1.0, accuracies  # overlapping speeds and link geometry: no trivial cue
    assert run[:, 1].mean() > walk[:, 1].mean()  # but running is faster on average: the information is there


# ------------------------------------------------------------------ slow signatures that survive paper B's resize
def _resized(recordings, activity, size=56):
    """The recordings resized as the sensing task does (bilinear, anti-aliased): 2000 packets -> ``size`` columns."""
    return [resize(a, (size, size)).astype(np.float64) for a in recordings[activity]]


def _lasting_change_db(img):
    """Mean over antennas x subcarriers of |level in the last third - level in the first third| (dB)."""
    third = img.shape[2] // 3
    return float(np.abs(img[..., -third:].mean(2) - img[..., :third].mean(2)).mean())


def test_a_fall_leaves_a_lasting_change_after_the_resize(recordings):
    """Lying on the floor changes which static paths the body shadows and where it scatters: a step in the image."""
    fall = [_lasting_change_db(x) for x in _resized(recordings, "fall")]
    standing = [_lasting_change_db(x) for c in ("box", "circle") for x in _resized(recordings, c)]
    assert min(fall) > 2 * max(standing), (fall, standing)


def test_walking_and_running_vary_slowly_more_than_standing_activities(recordings):
    """Walking and running carry the body through the link and the wall paths: seconds-long shadows (< 14 Hz)."""
    slow_var = {c: [float(x.var(2).mean()) for x in _resized(recordings, c)] for c in ("box", "circle", "run", "walk")}
    moving, standing = slow_var["run"] + slow_var["walk"], slow_var["box"] + slow_var["circle"]
    assert np.median(moving) > 2 * np.median(standing), slow_var
    assert _best_threshold_accuracy(np.array(standing), np.array(moving)) >= 0.75, slow_var
