"""60 GHz beam generator: codebook and patterns, front-end hardware, rendering, files."""

import dataclasses

import numpy as np
import pytest

from radiofm.errors import ConfigError
from radiofm.synth.beam_hardware import (
    FrontEndSpread,
    Room,
    beam_pattern_db,
    codebook,
    rapp_pa,
    specular_paths,
    steering_angles_deg,
)
from radiofm.synth.beams import (
    BeamConfig,
    front_ends,
    receiver_positions,
    render_frames,
    room_scene,
    synthesize_aoa_file,
    synthesize_beam_file,
)

TINY = BeamConfig(
    n_beams=4,
    n_elements=8,
    n_front_ends=2,
    gains_db=(40.0, 60.0),
    frames_per_beam_gain=2,
    n_scatterers=2,
    aoa_angles_deg=(-10.0, 0.0, 10.0),
    aoa_tx_beams=(1,),
    frames_per_angle_gain=2,
)


def test_ideal_beams_point_where_steered():
    cb = codebook(24, 16, span_deg=45.0, spacing_wl=0.5, phase_bits=0)
    assert cb.shape == (24, 16) and np.allclose(np.abs(cb), 1.0)
    theta = np.linspace(-60, 60, 2401)
    pattern = beam_pattern_db(cb, None, theta, spacing_wl=0.5, exponent=0.0)
    peaks = theta[pattern.argmax(axis=1)]
    assert np.allclose(peaks, steering_angles_deg(24, 45.0), atol=0.2)
    assert np.allclose(pattern.max(axis=1), 20 * np.log10(16), atol=0.05)  # coherent gain of 16 elements


def test_quantised_phases_take_four_values():
    cb = codebook(24, 16, span_deg=45.0, spacing_wl=0.5, phase_bits=2)
    phases = np.mod(np.round(np.angle(cb) / (np.pi / 2)), 4)
    assert np.allclose(cb, np.exp(1j * phases * np.pi / 2))


def test_units_differ_and_are_reproducible():
    a, b = front_ends(BeamConfig(), seed=0)[:2]
    again = front_ends(BeamConfig(), seed=0)[0]
    assert np.array_equal(a.element_phase_deg, again.element_phase_deg) and a.cfo_ppm == again.cfo_ppm
    cb = codebook(24, 16, span_deg=45.0, spacing_wl=0.5, phase_bits=2)
    theta = np.linspace(-60, 60, 241)
    pa, pb = beam_pattern_db(cb, a, theta, spacing_wl=0.5), beam_pattern_db(cb, b, theta, spacing_wl=0.5)
    assert np.mean(np.abs(pa - pb)) > 2.0  # the same beam index radiates a different pattern per unit
    no_errors = dataclasses.replace(
        FrontEndSpread(), element_gain_std_db=0.0, element_phase_std_deg=0.0, mount_error_std_deg=0.0
    )
    c, d = front_ends(BeamConfig(spread=no_errors), seed=0)[:2]
    assert np.allclose(beam_pattern_db(cb, c, theta, spacing_wl=0.5), beam_pattern_db(cb, d, theta, spacing_wl=0.5))


def test_rapp_pa_linear_then_saturating():
    small = np.array([1e-3 + 0j])
    assert np.allclose(rapp_pa(small, saturation=1.0, smoothness=2.0, am_pm_deg=0.0), small, rtol=1e-6)
    big = rapp_pa(np.array([100.0 + 0j]), saturation=1.0, smoothness=2.0, am_pm_deg=10.0)
    assert abs(abs(big[0]) - 1.0) < 1e-3 and 9.0 < np.rad2deg(np.angle(big[0])) < 10.0


def test_image_method_paths():
    room = Room(left_wall_y_m=2.0, right_wall_y_m=-3.0, back_wall_x_m=6.0, height_m=1.0)
    az, el, length, loss = specular_paths(np.array([4.0, 0.0]), room)
    assert np.isclose(length[0], 4.0) and az[0] == 0.0 and loss[0] == 0.0
    assert np.isclose(length[1], np.hypot(4.0, 4.0)) and np.isclose(az[1], 45.0)  # image at (4, 4)
    assert np.isclose(length[3], 8.0) and np.isclose(length[4], np.hypot(4.0, 2.0)) and el[4] < 0


def test_render_frames_levels_and_determinism():
    cfg = TINY
    fe = front_ends(cfg, 0)[0]
    cb = codebook(4, 8, span_deg=45.0, spacing_wl=0.5, phase_bits=2)
    pos = receiver_positions(10.0, 0.1, 2, cfg, 0, 0)
    scene = room_scene(cfg, 0)
    lo = render_frames(fe, cb[1], pos, 40.0, 2, cfg, scene, np.random.default_rng(1))
    again = render_frames(fe, cb[1], pos, 40.0, 2, cfg, scene, np.random.default_rng(1))
    hi = render_frames(fe, cb[1], pos, 60.0, 2, cfg, scene, np.random.default_rng(1))
    assert lo.shape == (2, 2048) and lo.dtype == np.complex64 and np.array_equal(lo, again)
    assert np.abs(lo.real).max() <= 1.0 and np.abs(hi.imag).max() <= 1.0
    ratio_db = 10 * np.log10(np.mean(np.abs(hi) ** 2) / np.mean(np.abs(lo) ** 2))
    assert 15.0 < ratio_db < 21.0  # 20 dB more receiver gain (less where the ADC clips)


def test_beam_file_layout_and_labels():
    arrays, info = synthesize_beam_file(1, TINY, seed=0)
    n = 2 * 4 * 2 * 2048  # gains x beams x frames x frame length
    assert arrays["iq"].shape == (n, 2) and arrays["iq"].dtype == np.float32
    assert set(arrays) == {"iq", "tx_beam", "rx_beam", "gain"} and info["front_end"]["index"] == 1
    tx = arrays["tx_beam"].reshape(-1, 2048)
    assert np.all(tx == tx[:, :1]) and sorted(np.unique(tx)) == [0, 1, 2, 3]
    assert sorted(np.unique(arrays["gain"])) == [40.0, 60.0]
    aoa, _ = synthesize_aoa_file(0, TINY, seed=0)
    assert sorted(np.unique(aoa["angle"])) == [-10.0, 0.0, 10.0] and set(np.unique(aoa["tx_beam"])) == {1}


def test_bad_config():
    with pytest.raises(ConfigError, match="waveform"):
        BeamConfig(waveform="fm")
    with pytest.raises(ConfigError, match="aoa_tx_beams"):
        BeamConfig(n_beams=4, aoa_tx_beams=(7,))
