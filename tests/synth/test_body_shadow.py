"""Body shadowing of static paths: depth on the path, Fresnel-zone dependence, fading away from it."""

import numpy as np

from radiofm.synth import body_shadow

LAM = 299_792_458.0 / 5.19e9
TX = np.array([0.0, 0.0, 1.1])
RX = np.array([[3.5, 0.0, 1.1]])  # one receive antenna, 3.5 m line of sight along x


def _los_factor(centre):
    """Amplitude factor of the line of sight with a standing body whose torso is at ``centre`` (x, y)."""
    x, y = centre
    parts = np.array(
        [
            [x, y, 1.05],  # torso
            [x, y, 1.63],  # head
            [x, y + 0.2, 1.2],  # elbows
            [x, y - 0.2, 1.2],
            [x, y + 0.22, 0.8],  # hands
            [x, y - 0.22, 0.8],
            [x, y + 0.1, 0.44],  # lower legs
            [x, y - 0.1, 0.44],
        ]
    )[:, None, :]  # (8, T=1, 3)
    vertex = (0.5 * (TX + RX))[None]  # (P=1, A=1, 3): the LoS's midpoint
    out = body_shadow.path_shadow(TX, vertex, RX, body_shadow.shadow_points(parts), wavelength_m=LAM)
    return float(out[0, 0, 0])


def test_body_on_the_link_attenuates_it_by_several_db():
    mid = 20 * np.log10(_los_factor((1.75, 0.0)))
    near_end = 20 * np.log10(_los_factor((0.35, 0.0)))
    assert -12 < mid < -6  # RTI measurements: 5-10 dB for a person on a link (+ arms)
    assert near_end < mid - 0.5  # the Fresnel zone is narrower near the transmitter: deeper shadow


def test_shadow_fades_with_distance_from_the_path():
    factors = [_los_factor((1.75, y)) for y in (0.0, 0.2, 0.4, 0.8, 2.0)]
    assert all(a < b for a, b in zip(factors, factors[1:]))  # strictly less loss further away
    assert factors[-1] > 0.999  # 2 m away: no effect


def test_shadow_is_per_path_and_time():
    t = np.linspace(0, 1, 50)
    torso = np.stack([1.75 + 0 * t, -1.0 + 2.0 * t, 1.05 + 0 * t], 1)  # walks across the link
    parts = np.repeat(torso[None], 8, axis=0)
    vertex = np.stack([0.5 * (TX + RX[0]), [1.75, 3.0, 1.1]])[:, None]  # LoS and a path far from the walker
    out = body_shadow.path_shadow(TX, vertex, RX, body_shadow.shadow_points(parts), wavelength_m=LAM)
    assert out.shape == (2, 1, 50) and out.dtype == np.float32
    assert out[0].argmin() in (24, 25) and out[0].min() < 0.5 and out[0, 0, 0] > 0.95
    assert out[1, 0, :10].min() > 0.99  # the other path is only touched when the walker reaches it
