"""Synthetic 60 GHz beam data set: a stand-in for DeepBeam (Polese, Restuccia, Melodia, MobiHoc 2021).

DeepBeam's receiver infers which of the transmitter's codebook beams is in use from the I/Q waveform alone,
"because different beam patterns introduce different impairments to the waveform" (its abstract); the real
campaign used 4 phased-array front ends at 60.48 GHz, a 24-beam and a 12-beam codebook, 3 receiver gains and
several angles of arrival (SPEC §2, §6). We rebuild that physically:

1. **Transmitter.** A 802.11ad-like baseband at 2.64 GS/s — OFDM (512-point FFT, 128-sample cyclic prefix,
   352 data + 16 pilot subcarriers, QPSK) or single carrier (π/2-BPSK at 1.76 Gchip/s with a known 64-chip
   guard interval every 448 data chips) — through the unit's I/Q imbalance and LO phase noise, then one PA per
   element (Rapp AM/AM + AM/PM), each driven through its element's gain error, then the quantised phase
   shifters with the element's phase error (:mod:`radiofm.synth.beam_hardware`). The same beam index thus
   radiates a different pattern from every unit, and its PA distortion leaves in a beam-dependent direction.
2. **Channel.** A room (:class:`~radiofm.synth.beam_hardware.Room`): line of sight, three wall reflections
   and a floor bounce by the image method, ``n_scatterers`` static point scatterers (furniture, the same in
   every file: :func:`room_scene`) and ``n_moving_scatterers`` at a new random place in every frame (people).
   Every path leaves the array at its own angle, so it is weighted by the beam's pattern there: the beam shapes
   the frequency response the receiver sees. A beam file holds ``rx_positions`` receiver positions (capture
   sessions, spread ``rx_position_spread_m``, the same for every front end — the antenna is swapped, the set-up
   stays), frames cycling over them; per frame the receiver vibrates by ``rx_vibration_m`` (a fraction of the
   5 mm wavelength) and every reflection loss varies by ``reflection_jitter_db``. AoA files put the receiver at
   each grid angle (``aoa_rx_positions`` sessions per angle).
3. **Receiver.** Fixed antenna gain, thermal noise (kTB + noise figure), the TX/RX LO offset (the unit's
   CFO plus a small per-frame drift), receiver gain 40/50/60 dB and an ``adc_bits`` ADC whose full scale is
   ``adc_full_scale_dbm`` (weak beams sink towards the quantisation floor at 40 dB; strong ones clip at 60 dB).

Files hold per-sample labels like DeepBeam; frames are 2048 samples. Everything is drawn from
``np.random.SeedSequence([seed, ...])``: unit ``i``'s hardware from ``[seed, 1, i]``, each (gain, beam) or
(angle, gain, beam) block of frames from its own child, so the bytes do not depend on worker count.
Public API: :class:`BeamConfig`, :func:`front_ends`, :func:`synthesize_beam_file`,
:func:`synthesize_aoa_file`, :func:`render_frames`. Writing files is :mod:`radiofm.data.deepbeam`'s job.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import scipy.fft
import scipy.signal

from radiofm.errors import ConfigError
from radiofm.synth import impairments as imp
from radiofm.synth.beam_hardware import (
    SPEED_OF_LIGHT_M_S,
    FrontEnd,
    FrontEndSpread,
    Room,
    codebook,
    draw_front_end,
    element_pattern,
    rapp_pa,
    realised_weights,
    scatter_paths,
    specular_paths,
    steering_matrix,
)

GENERATOR_VERSION = "1.0"
WAVEFORMS = ("ofdm", "sc", "mixed")
_OFDM_FFT, _OFDM_CP, _OFDM_HALF = 512, 128, 184  # subcarriers ±1..±184 used (368 = 352 data + 16 pilots)
_OFDM_PILOTS = np.array([-150, -130, -110, -90, -70, -50, -30, -10, 10, 30, 50, 70, 90, 110, 130, 150])
_SC_BLOCK, _SC_GI = 512, 64  # 802.11ad SC block: 448 data chips + 64-chip guard interval
_KNOWN = np.random.default_rng(60_480).choice(np.array([-1.0, 1.0]), size=_SC_GI)  # stand-in for Ga64


@dataclass(frozen=True)
class BeamConfig:
    """Everything a generated beam data set depends on (defaults: the CPU reproduction's set)."""

    carrier_hz: float = 60.48e9  # 802.11ad channel 2, as DeepBeam
    sample_rate_hz: float = 2.64e9  # 802.11ad OFDM sampling rate
    frame_len: int = 2048  # samples per frame (the DeepBeam / ProtoBeam slicing)
    waveform: str = "ofdm"  # "ofdm", "sc" or "mixed" (drawn per frame)
    n_elements: int = 16  # TX array elements (uniform linear array)
    spacing_wl: float = 0.5  # element spacing, wavelengths
    element_exponent: float = 1.0  # element field pattern cos(θ)^exponent
    element_gain_dbi: float = 5.0  # element boresight gain
    n_beams: int = 24  # codebook size (DeepBeam: 24 or 12)
    codebook_span_deg: float = 45.0  # beams steered evenly over ±span
    phase_bits: int = 2  # phase-shifter resolution (0: ideal phases)
    n_front_ends: int = 4  # transmit units, tx-ant-0 .. tx-ant-(n-1)
    spread: FrontEndSpread = field(default_factory=FrontEndSpread)  # unit-to-unit hardware spread
    pa_smoothness: float = 2.0  # Rapp p of every PA
    tx_element_power_dbm: float = 0.0  # small-signal output power per element at unit drive
    gains_db: tuple[float, ...] = (40.0, 50.0, 60.0)  # receiver gain settings, each a block of frames
    frames_per_beam_gain: int = 32  # frames per (gain, beam) pair in a beam file
    room: Room = field(default_factory=Room)  # reflecting walls and floor
    n_scatterers: int = 8  # static point scatterers (furniture) in the room, the same in every file
    scatter_loss_db_range: tuple[float, float] = (18.0, 30.0)  # their loss beyond free space, uniform
    n_moving_scatterers: int = 1  # scatterers at a new random place in every frame (people walking)
    moving_loss_db_range: tuple[float, float] = (25.0, 35.0)  # their loss beyond free space, uniform
    rx_distance_m: float = 4.0  # TX-RX distance of the beam files
    rx_angle_deg: float = 10.0  # receiver direction from the TX broadside in the beam files
    rx_positions: int = 3  # receiver positions (capture sessions) per file; frames cycle over them
    rx_position_spread_m: float = 0.15  # spread of the beam files' positions around the nominal one, std per axis
    aoa_rx_positions: int = 1  # receiver positions per AoA grid angle (one capture session per angle)
    aoa_position_spread_m: float = 0.05  # their spread around the grid point, std per axis (≈ 0.7° at 4 m)
    rx_vibration_m: float = 3e-4  # per-frame receiver displacement (vibration), std per axis (λ = 5 mm)
    reflection_jitter_db: float = 0.3  # per-frame variation of each reflection loss, normal std
    cfo_jitter_ppm: float = 0.05  # per-frame LO drift around the unit's offset, normal std
    rx_antenna_gain_dbi: float = 10.0  # receiver antenna (one fixed RX beam: rx_beam = 0)
    noise_figure_db: float = 7.0  # receiver noise figure
    adc_bits: int = 8  # ADC resolution per I and Q
    adc_full_scale_dbm: float = 20.0  # input power (after the RX gain) of a full-scale sample
    aoa_angles_deg: tuple[float, ...] = tuple(float(a) for a in range(-45, 50, 5))  # AoA grid (19 angles)
    aoa_tx_beams: tuple[int, ...] | None = None  # the fixed TX beams of the AoA files (None: B/3 and 2B/3)
    frames_per_angle_gain: int = 12  # frames per (angle, gain, beam) in an AoA file

    def __post_init__(self) -> None:
        if self.waveform not in WAVEFORMS:
            raise ConfigError(f"waveform must be one of {', '.join(WAVEFORMS)}, got {self.waveform!r}")
        if self.frame_len < 64 or self.n_beams < 2 or self.n_elements < 2 or self.n_front_ends < 1:
            raise ConfigError("need frame_len >= 64, n_beams >= 2, n_elements >= 2 and n_front_ends >= 1")
        if self.frames_per_beam_gain < 1 or self.frames_per_angle_gain < 1 or not self.gains_db:
            raise ConfigError("need at least one frame per block and at least one receiver gain")
        if self.rx_positions < 1 or self.aoa_rx_positions < 1 or self.n_scatterers < 0 or self.n_moving_scatterers < 0:
            raise ConfigError("need at least one receiver position and non-negative scatterer counts")
        if not 1 <= self.adc_bits <= 16 or not 0 < self.codebook_span_deg < 90:
            raise ConfigError("adc_bits must be in 1..16 and codebook_span_deg in (0, 90)")
        if self.aoa_tx_beams is None:
            object.__setattr__(self, "aoa_tx_beams", (self.n_beams // 3, (2 * self.n_beams) // 3))
        object.__setattr__(self, "aoa_tx_beams", tuple(int(b) for b in self.aoa_tx_beams))
        object.__setattr__(self, "gains_db", tuple(float(g) for g in self.gains_db))
        object.__setattr__(self, "aoa_angles_deg", tuple(float(a) for a in self.aoa_angles_deg))
        if any(not 0 <= b < self.n_beams for b in self.aoa_tx_beams) or not self.aoa_tx_beams:
            raise ConfigError(f"aoa_tx_beams must be beam indices in 0..{self.n_beams - 1}, got {self.aoa_tx_beams}")
        if any(abs(a) >= 90 for a in self.aoa_angles_deg) or len(self.aoa_angles_deg) < 2:
            raise ConfigError("aoa_angles_deg needs at least two angles inside (-90, 90)")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def front_ends(config: BeamConfig, seed: int) -> list[FrontEnd]:
    """The data set's transmit units, unit ``i`` drawn from ``SeedSequence([seed, 1, i])``."""
    return [
        draw_front_end(i, config.n_elements, config.spread, np.random.default_rng(np.random.SeedSequence([seed, 1, i])))
        for i in range(config.n_front_ends)
    ]


# ------------------------------------------------------------------------------------------- waveforms


def ofdm_waveform(n: int, rng: np.random.Generator) -> np.ndarray:
    """Continuous 802.11ad-like OFDM, unit RMS, starting at a random point of a symbol: (n,) complex128."""
    sym_len = _OFDM_FFT + _OFDM_CP
    n_sym = n // sym_len + 2
    used = np.r_[np.arange(-_OFDM_HALF, 0), np.arange(1, _OFDM_HALF + 1)]
    grid = np.zeros((n_sym, _OFDM_FFT), np.complex128)
    qpsk = (rng.choice([-1.0, 1.0], (n_sym, used.size)) + 1j * rng.choice([-1.0, 1.0], (n_sym, used.size))) / np.sqrt(2)
    grid[:, used % _OFDM_FFT] = qpsk
    grid[:, _OFDM_PILOTS % _OFDM_FFT] = np.where(_OFDM_PILOTS > 0, 1.0, -1.0)  # known BPSK pilots
    body = scipy.fft.ifft(grid, axis=1)
    symbols = np.concatenate([body[:, -_OFDM_CP:], body], axis=1).reshape(-1)
    start = int(rng.integers(0, sym_len))
    x = symbols[start : start + n]
    return x / np.sqrt(np.mean(np.abs(x) ** 2))


def sc_waveform(n: int, rng: np.random.Generator) -> np.ndarray:
    """Continuous 802.11ad-like single carrier: π/2-BPSK at 2/3 of the sample rate, unit RMS: (n,) complex128."""
    n_chips = (n * 2) // 3 + 2 * _SC_BLOCK
    n_blocks = n_chips // _SC_BLOCK + 1
    data = rng.choice([-1.0, 1.0], (n_blocks, _SC_BLOCK - _SC_GI))
    chips = np.concatenate([np.tile(_KNOWN, (n_blocks, 1)), data], axis=1).reshape(-1)
    chips = chips * np.exp(1j * np.pi / 2 * np.arange(chips.size))  # π/2 rotation
    x = scipy.signal.resample_poly(chips, 3, 2)
    start = int(rng.integers(0, 3 * _SC_BLOCK // 2))
    x = x[start : start + n]
    return x / np.sqrt(np.mean(np.abs(x) ** 2))


# ------------------------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class Scene:
    """The static environment shared by every file of a data set: furniture-like point scatterers."""

    points_xy_m: np.ndarray  # (K, 2) scatterer positions in the room
    loss_db: np.ndarray  # (K,) their loss beyond free space, dB


def _room_points(n: int, room: Room, rng: np.random.Generator) -> np.ndarray:
    x = rng.uniform(0.5, room.back_wall_x_m - 0.2, n)
    y = rng.uniform(room.right_wall_y_m + 0.2, room.left_wall_y_m - 0.2, n)
    return np.stack([x, y], axis=1)


def room_scene(config: BeamConfig, seed: int) -> Scene:
    """The data set's static scatterers, drawn from ``SeedSequence([seed, 3])``."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
    pts = _room_points(config.n_scatterers, config.room, rng)
    return Scene(pts, rng.uniform(*config.scatter_loss_db_range, config.n_scatterers))


def receiver_positions(
    angle_deg: float, spread_m: float, n: int, config: BeamConfig, seed: int, key: int
) -> np.ndarray:
    """``n`` receiver positions around the point at ``angle_deg``, ``rx_distance_m``: (n, 2) metres; with n = 1
    the point itself.

    Drawn from ``SeedSequence([seed, 4, key])``: every front end sees the same positions (the antenna is swapped,
    the set-up stays).
    """
    th = np.deg2rad(angle_deg)
    centre = config.rx_distance_m * np.array([np.cos(th), np.sin(th)])
    rng = np.random.default_rng(np.random.SeedSequence([seed, 4, key]))
    if n == 1:
        return centre[None, :]
    return centre[None, :] + rng.normal(0.0, spread_m, (n, 2))


def _paths(rx_xy_m: np.ndarray, scene: Scene, config: BeamConfig, rng: np.random.Generator):
    """This frame's propagation paths: (azimuth deg, elevation deg, length m, amplitude loss linear) each (P,)."""
    az, el, length, loss_db = specular_paths(rx_xy_m, config.room)
    loss_db = loss_db + np.where(loss_db > 0, rng.normal(0.0, config.reflection_jitter_db, loss_db.size), 0.0)
    parts = [(az, el, length, loss_db), scatter_paths(rx_xy_m, scene.points_xy_m, scene.loss_db)]
    if config.n_moving_scatterers:
        k = config.n_moving_scatterers
        moving = _room_points(k, config.room, rng)
        parts.append(scatter_paths(rx_xy_m, moving, rng.uniform(*config.moving_loss_db_range, k)))
    az, el, length, loss_db = (np.concatenate(v) for v in zip(*parts))
    return az, el, length, 10 ** (-loss_db / 20)


def render_frames(
    fe: FrontEnd,
    weights: np.ndarray,
    positions_xy_m: np.ndarray,
    gain_db: float,
    n_frames: int,
    config: BeamConfig,
    scene: Scene,
    rng: np.random.Generator,
) -> np.ndarray:
    """``n_frames`` received frames of unit ``fe`` sending with ideal beam ``weights`` (M,) in room ``scene``,
    frame k from receiver position ``positions_xy_m[k % S]`` (S, 2) metres, at receiver gain ``gain_db``.
    Returns the ADC output in full-scale units: (n_frames, N) complex64."""
    fs, n = config.sample_rate_hz, config.frame_len
    wavelength = SPEED_OF_LIGHT_M_S / config.carrier_hz
    w = realised_weights(weights[None, :], fe)[0]  # (M,)
    drive = 10 ** (fe.element_gain_db / 20)  # (M,) each PA's drive relative to nominal
    saturation = 10 ** (fe.pa_backoff_db / 20)
    p_el_mw = 10 ** ((config.tx_element_power_dbm + fe.tx_gain_offset_db) / 10)
    antenna = 10 ** ((config.element_gain_dbi + config.rx_antenna_gain_dbi) / 20)
    noise_mw = 10 ** ((-174.0 + 10 * np.log10(fs) + config.noise_figure_db) / 10)
    rx_gain = 10 ** (gain_db / 20)
    full_scale = np.sqrt(10 ** (config.adc_full_scale_dbm / 10))
    levels = 2 ** (config.adc_bits - 1)
    out = np.empty((n_frames, n), np.complex64)
    for k in range(n_frames):
        pos = np.asarray(positions_xy_m, float).reshape(-1, 2)
        rx = pos[k % len(pos)] + rng.normal(0.0, config.rx_vibration_m, 2)
        az, el, length, refl = _paths(rx, scene, config, rng)
        excess = (length - length.min()) / SPEED_OF_LIGHT_M_S * fs  # samples
        margin = int(np.ceil(excess.max())) + 16
        total = n + margin
        kind = config.waveform if config.waveform != "mixed" else ("ofdm" if rng.random() < 0.5 else "sc")
        x = (ofdm_waveform if kind == "ofdm" else sc_waveform)(total, rng).astype(np.complex64)
        x = imp.iq_imbalance(x, gain_db=fe.iq_gain_db, phase_deg=fe.iq_phase_deg)
        x = imp.apply_phase_noise_(x, fs, linewidth_hz=fe.phase_noise_linewidth_hz, rng=rng)
        pa = rapp_pa(
            (drive[:, None] * x[None, :]).astype(np.complex64),
            saturation=saturation,
            smoothness=config.pa_smoothness,
            am_pm_deg=fe.pa_am_pm_deg,
        )  # (M, total)
        theta = az - fe.mount_error_deg
        gain_dir = element_pattern(theta, exponent=config.element_exponent) * np.cos(np.deg2rad(el))
        coeff = (steering_matrix(theta, config.n_elements, config.spacing_wl) * w[None, :]) * gain_dir[:, None]
        amp = np.sqrt(p_el_mw) * antenna * wavelength / (4 * np.pi * length) * refl
        amp = amp * np.exp(-2j * np.pi * length / wavelength)  # carrier phase of each path
        radiated = np.einsum("pm,mt->pt", (coeff * amp[:, None]).astype(np.complex64), pa)  # (P, total) per path
        nfft = scipy.fft.next_fast_len(total)
        ramp = (-2 * np.pi * excess[:, None] * scipy.fft.fftfreq(nfft)[None, :]).astype(np.float32)  # (P, nfft)
        spec = scipy.fft.fft(radiated, nfft, axis=1) * np.exp(1j * ramp)  # fractional delays
        r = scipy.fft.ifft(spec.sum(axis=0))[margin:total]  # drop the start that the delays wrapped into
        cfo_hz = (fe.cfo_ppm + rng.normal(0.0, config.cfo_jitter_ppm)) * 1e-6 * config.carrier_hz
        r = r * np.exp(1j * (2 * np.pi * cfo_hz / fs * np.arange(n) + rng.uniform(0, 2 * np.pi)))
        r = r + np.sqrt(noise_mw / 2) * (rng.standard_normal(n) + 1j * rng.standard_normal(n))
        y = r * rx_gain / full_scale
        re = np.clip(np.round(np.clip(y.real, -1, 1) * levels), -levels, levels - 1) / levels
        im = np.clip(np.round(np.clip(y.imag, -1, 1) * levels), -levels, levels - 1) / levels
        out[k] = (re + 1j * im).astype(np.complex64)
    return out


# ------------------------------------------------------------------------------------------- files


def _block_rng(seed: int, kind: int, fe_index: int, block: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, 2, kind, fe_index, block]))


def _as_columns(frames: list[np.ndarray]) -> np.ndarray:
    iq = np.concatenate([f.reshape(-1) for f in frames])
    return np.stack([iq.real, iq.imag], axis=1).astype(np.float32)  # (N, 2): I, Q


def synthesize_beam_file(fe_index: int, config: BeamConfig, seed: int) -> tuple[dict[str, np.ndarray], dict]:
    """One unit's beam file: for every gain, for every beam, ``frames_per_beam_gain`` frames in a row.

    Returns (arrays {"iq": (N, 2) float32, "tx_beam": (N,) int16, "rx_beam": (N,) int16, "gain": (N,) float32},
    info dict) with N = gains × beams × frames × frame_len samples and labels per sample.
    """
    fe = front_ends(config, seed)[fe_index]
    ideal = codebook(
        config.n_beams,
        config.n_elements,
        span_deg=config.codebook_span_deg,
        spacing_wl=config.spacing_wl,
        phase_bits=config.phase_bits,
    )
    scene = room_scene(config, seed)
    rx = receiver_positions(config.rx_angle_deg, config.rx_position_spread_m, config.rx_positions, config, seed, 0)
    frames, tx_beam, gain = [], [], []
    per = config.frames_per_beam_gain * config.frame_len
    for gi, g in enumerate(config.gains_db):
        for b in range(config.n_beams):
            rng = _block_rng(seed, 0, fe_index, gi * config.n_beams + b)
            frames.append(render_frames(fe, ideal[b], rx, g, config.frames_per_beam_gain, config, scene, rng))
            tx_beam.append(np.full(per, b, np.int16))
            gain.append(np.full(per, g, np.float32))
    tx = np.concatenate(tx_beam)
    arrays = {"iq": _as_columns(frames), "tx_beam": tx, "rx_beam": np.zeros_like(tx), "gain": np.concatenate(gain)}
    return arrays, {"front_end": fe.to_dict(), "kind": "beams", "rx_angle_deg": config.rx_angle_deg}


def synthesize_aoa_file(fe_index: int, config: BeamConfig, seed: int) -> tuple[dict[str, np.ndarray], dict]:
    """One unit's angle-of-arrival file: the receiver at each angle of ``aoa_angles_deg`` (at ``rx_distance_m``),
    for every gain and every beam of ``aoa_tx_beams``, ``frames_per_angle_gain`` frames in a row.

    Returns (arrays as :func:`synthesize_beam_file` plus "angle": (N,) float32 degrees, info dict).
    """
    fe = front_ends(config, seed)[fe_index]
    ideal = codebook(
        config.n_beams,
        config.n_elements,
        span_deg=config.codebook_span_deg,
        spacing_wl=config.spacing_wl,
        phase_bits=config.phase_bits,
    )
    scene = room_scene(config, seed)
    frames, tx_beam, gain, angle = [], [], [], []
    per = config.frames_per_angle_gain * config.frame_len
    block = 0
    for ai, a in enumerate(config.aoa_angles_deg):
        rx = receiver_positions(a, config.aoa_position_spread_m, config.aoa_rx_positions, config, seed, 1 + ai)
        for g in config.gains_db:
            for b in config.aoa_tx_beams:
                rng = _block_rng(seed, 1, fe_index, block)
                block += 1
                frames.append(render_frames(fe, ideal[b], rx, g, config.frames_per_angle_gain, config, scene, rng))
                tx_beam.append(np.full(per, b, np.int16))
                gain.append(np.full(per, g, np.float32))
                angle.append(np.full(per, a, np.float32))
    tx = np.concatenate(tx_beam)
    arrays = {
        "iq": _as_columns(frames),
        "tx_beam": tx,
        "rx_beam": np.zeros_like(tx),
        "gain": np.concatenate(gain),
        "angle": np.concatenate(angle),
    }
    return arrays, {"front_end": fe.to_dict(), "kind": "aoa"}
