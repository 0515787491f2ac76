"""What a class generator returns (:class:`Emission` of :class:`Component` s with :class:`Burst` timing) and the
helpers every generator shares: placing a native-rate waveform in the capture band, burst trains, normalisation.

A class generator has the signature ``generator(rng, n_samples, sample_rate_hz) -> Emission`` and returns the
clean transmissions at the capture rate, before channel, noise and receiver (see :mod:`.capture`). Component 0 is
the *primary* transmission: the capture's SNR, centre offset and occupied bandwidth refer to it. Other components
are further transmissions of the same class that a real capture also shows (neighbouring FM stations, other GSM
carriers, the second AIS channel), each at its own level relative to the primary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import scipy.fft

from radiofm.synth.emitters import to_band

GUARD_FRACTION = 0.06  # keep every emission this fraction of the sample rate inside each band edge


@dataclass
class Burst:
    """One transmission: ``[start_s, start_s + duration_s)`` (may start before / end after the capture), centred
    ``center_offset_hz`` from the capture centre, ``bandwidth_hz`` wide (99 % power)."""

    start_s: float
    duration_s: float
    center_offset_hz: float
    bandwidth_hz: float

    def to_dict(self) -> dict:
        return {k: float(v) for k, v in self.__dict__.items()}


@dataclass
class Component:
    """Transmissions at the capture rate: ``iq`` (N,) complex64, played at ``level_db``. The primary component has
    unit mean power over its bursts; a background component (other transmitters of the class) is scaled relative
    to the primary already (see :func:`with_background`)."""

    iq: np.ndarray
    bursts: list[Burst]
    center_offset_hz: float
    bandwidth_hz: float
    level_db: float = 0.0


@dataclass
class Emission:
    """A class generator's output: ``components[0]`` is the primary transmission; ``info`` holds the class
    parameters drawn for this capture (mode, rate, spreading factor, …), JSON-serialisable."""

    components: list[Component]
    info: dict = field(default_factory=dict)

    @property
    def primary(self) -> Component:
        return self.components[0]


def draw_offset(rng: np.random.Generator, sample_rate_hz: float, bandwidth_hz: float) -> float:
    """A centre offset (Hz) drawn uniformly so that a ``bandwidth_hz`` emission stays inside the band with a guard
    of :data:`GUARD_FRACTION` of the sample rate (room for CFO and drift). 0 when it only just fits."""
    room = sample_rate_hz / 2 - bandwidth_hz / 2 - GUARD_FRACTION * sample_rate_hz
    return float(rng.uniform(-room, room)) if room > 0 else 0.0


def place(x: np.ndarray, native_rate_hz: float, n_samples: int, sample_rate_hz: float, offset_hz: float) -> np.ndarray:
    """Resample native-rate ``x`` (starting at capture sample 0) to the capture rate, shift it by ``offset_hz`` and
    crop/pad it to ``n_samples``. Returns complex64 (n_samples,). See :func:`place_many`."""
    return place_many([(x, native_rate_hz, offset_hz, 1.0)], n_samples, sample_rate_hz)


def place_many(
    items: list[tuple[np.ndarray, float, float, float]], n_samples: int, sample_rate_hz: float
) -> np.ndarray:
    """The sum of native-rate signals ``(x, native_rate_hz, offset_hz, gain)``, each starting at capture sample 0,
    resampled to the capture rate and shifted, as complex64 (n_samples,).

    Done in the frequency domain with a single inverse FFT for all items: each item's spectrum is moved by a whole
    number of output bins (offsets are rounded to fs/N ≈ 3.6 Hz at 2 MS/s for 0.25 s), rolled off over the outer
    8 % of its native band and of the capture band, and dropped beyond ±fs/2. Native rates must be rational
    multiples of the capture rate with small denominators (the generators' rates are); otherwise each item goes
    through ``to_band``.
    """
    fs = float(sample_rate_hz)
    if all(rate == fs for _, rate, _, _ in items):  # already at the capture rate: only shift and sum
        out = np.zeros(n_samples, np.complex64)
        for x, _, off, gain in items:
            m = min(len(x), n_samples)
            out[:m] += np.asarray(x[:m], np.complex64) * _phasor(m, off / fs, 0) * np.complex64(gain)
        return out
    fracs = [Fraction(int(round(rate)), int(round(fs))) for _, rate, _, _ in items]
    lcm = int(np.lcm.reduce([f.denominator for f in fracs])) if fracs else 1
    if lcm > 4096:
        out = np.zeros(n_samples, np.complex64)
        for x, rate, off, gain in items:
            add(out, np.asarray(x) * np.complex64(gain), rate, fs, off)
        return out
    # 12 % zero padding: the circular wrap-around of the transform lands outside the capture
    n_out = lcm * scipy.fft.next_fast_len(-(-int(n_samples * 1.12) // lcm) + 1)
    spec = np.zeros(n_out, np.complex64)
    for (x, _, off, gain), f in zip(items, fracs):
        n_in = n_out * f.numerator // f.denominator
        xs = scipy.fft.fft(np.asarray(x, np.complex64)[:n_in], n=n_in, workers=1)
        k_in = np.fft.fftfreq(n_in, 1.0 / n_in).astype(np.int64)
        k_out = k_in + int(round(off * n_out / fs))
        keep = (k_out >= -(n_out // 2)) & (k_out <= (n_out - 1) // 2)
        # raised-cosine roll-off over the outer 8 % of the native band and of the capture band (an SDR's
        # anti-alias filter), so ends and steps ring for a few samples only, not with a brick wall's long tails
        k_in, k_out = k_in[keep], k_out[keep]
        w = _rolloff(np.abs(k_in) * np.float32(2 / n_in)) * _rolloff(np.abs(k_out) * np.float32(2 / n_out))
        spec[k_out % n_out] += xs[keep] * (w * np.float32(gain * n_out / n_in))
    return scipy.fft.ifft(spec, overwrite_x=True, workers=1)[:n_samples].astype(np.complex64, copy=False)


def _rolloff(u: np.ndarray, start: float = 0.92) -> np.ndarray:
    """1 below ``start``, a raised-cosine fall to 0 at 1 (u = |f| / band edge). float32, like ``u``."""
    w = np.ones(u.shape, np.float32)
    edge = np.flatnonzero(u > start)
    w[edge] = 0.5 + 0.5 * np.cos(np.pi * np.minimum((u[edge] - start) / (1 - start), 1.0))
    return w


def add(
    out: np.ndarray, x: np.ndarray, native_rate_hz: float, sample_rate_hz: float, offset_hz: float, *, start: int = 0
) -> None:
    """Add native-rate ``x`` into the capture ``out`` in place, resampled, shifted by ``offset_hz`` and starting at
    capture sample ``start`` (cropped at both ends): for short bursts, where one small resampling each is cheaper
    than a capture-long transform."""
    if native_rate_hz == sample_rate_hz:
        y = np.asarray(x, np.complex64) * _phasor(len(x), offset_hz / sample_rate_hz, start)
    else:
        y = to_band(np.asarray(x), native_rate_hz, sample_rate_hz, offset_hz)
        y *= np.complex64(np.exp(2j * np.pi * offset_hz * start / sample_rate_hz))  # phase continuous in time
    a, b = max(start, 0), min(start + y.size, out.size)
    if b > a:
        out[a:b] += y[a - start : b - start]


def with_background(
    x: np.ndarray,
    native_rate_hz: float,
    offset_hz: float,
    bursts: list[Burst],
    bandwidth_hz: float,
    background: list[tuple[np.ndarray, float, float, float]],
    background_bursts: list[Burst],
    n_samples: int,
    sample_rate_hz: float,
) -> list[Component]:
    """The primary transmission (native ``x`` at ``offset_hz``, unit power over ``bursts``) and, when given, one
    background component: other transmissions of the class ``(x, rate, offset_hz, gain)`` rendered together and
    scaled like the primary, so their gains stay relative to it (gain 1 = as strong as the primary)."""
    primary = place(x, native_rate_hz, n_samples, sample_rate_hz, offset_hz)
    scale = on_power_scale(primary, bursts, sample_rate_hz)
    comps = [Component(primary * scale, bursts, offset_hz, bandwidth_hz)]
    if background:
        rest = place_many(background, n_samples, sample_rate_hz) * scale
        comps.append(Component(rest, background_bursts, offset_hz, bandwidth_hz))
    return comps


def _phasor(n: int, cycles_per_sample: float, start: int) -> np.ndarray:
    return np.exp(2j * np.pi * cycles_per_sample * (np.arange(n) + start)).astype(np.complex64)


def unit_power(iq: np.ndarray, bursts: list[Burst], sample_rate_hz: float) -> np.ndarray:
    """Scale ``iq`` in place to unit mean power over the samples inside its bursts; returns it."""
    iq *= on_power_scale(iq, bursts, sample_rate_hz)
    return iq


def on_power_scale(iq: np.ndarray, bursts: list[Burst], sample_rate_hz: float) -> np.float32:
    """The factor that gives ``iq`` unit mean power over its bursts (1 when it has none): apply it to a primary
    component and to the same-class background rendered with it, so the background keeps its relative level."""
    mask = burst_mask(bursts, iq.size, sample_rate_hz)
    x = iq if mask.all() else iq[mask]
    p = float(np.vdot(x, x).real) / x.size if x.size else 0.0
    return np.float32(1 / np.sqrt(p) if p > 0 else 1.0)


def burst_mask(bursts: list[Burst], n: int, sample_rate_hz: float) -> np.ndarray:
    """(n,) bool: samples inside any burst."""
    mask = np.zeros(n, bool)
    for b in bursts:
        i0, i1 = int(round(b.start_s * sample_rate_hz)), int(round((b.start_s + b.duration_s) * sample_rate_hz))
        mask[max(i0, 0) : max(min(i1, n), 0)] = True
    return mask


def burst_train(
    rng: np.random.Generator,
    duration_s: float,
    *,
    period_s: float,
    on_s: float,
    jitter_s: float = 0.0,
    p_skip: float = 0.0,
) -> list[tuple[float, float]]:
    """Periodic transmissions ``(start_s, on_s)`` overlapping [0, duration_s): a random phase, optional start
    jitter and random skipped periods, but never empty (a capture of a class always holds one of its bursts)."""
    t = -float(rng.uniform(0, period_s))
    out = []
    while t < duration_s:
        start = t + (float(rng.uniform(0, jitter_s)) if jitter_s > 0 else 0.0)
        if start + on_s > 0 and start < duration_s and rng.random() >= p_skip:
            out.append((start, on_s))
        t += period_s
    if not out:
        out.append((float(rng.uniform(-0.5 * on_s, max(duration_s - 0.5 * on_s, 0.0))), on_s))
    return out


def random_bursts(
    rng: np.random.Generator, duration_s: float, *, rate_hz: float, on_s: float, min_gap_s: float = 0.0
) -> list[tuple[float, float]]:
    """Poisson-timed transmissions of length ``on_s`` (rate ``rate_hz``, at least ``min_gap_s`` apart) overlapping
    [0, duration_s), never empty."""
    t = -on_s + float(rng.exponential(1 / rate_hz))
    out = []
    while t < duration_s:
        out.append((t, on_s))
        t += on_s + min_gap_s + float(rng.exponential(1 / rate_hz))
    if not out:
        out.append((float(rng.uniform(-0.5 * on_s, max(duration_s - 0.5 * on_s, 0.0))), on_s))
    return out


def native_length(n_samples: int, sample_rate_hz: float, native_rate_hz: float) -> int:
    """Samples at the native rate that cover a capture of ``n_samples`` at the capture rate."""
    return int(np.ceil(n_samples * native_rate_hz / sample_rate_hz)) + 1


def random_bits(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 2, int(n)).astype(np.int8)


def bytes_to_bits(data: bytes | list[int], *, lsb_first: bool = False) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(bytes(data), np.uint8), bitorder="little" if lsb_first else "big")
    return bits.astype(np.int8)
