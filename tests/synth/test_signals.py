"""Signal-identification generator: every class renders what it documents (length, bandwidth, timing), captures are
reproducible, and the classes are told apart by a trivial feature exactly where they should be."""

import numpy as np
import pytest
import scipy.signal

from radiofm.errors import ConfigError
from radiofm.synth.signals import CLASS_TABLE, CLASSES, CaptureConfig, signal_class, synthesize_capture
from radiofm.synth.signals.common import burst_mask

FS = 2.048e6
N = int(0.25 * FS)


def clean(name: str, seed: int, n: int = N, fs: float = FS):
    """The class generator's clean emission (before channel, noise and receiver)."""
    return signal_class(name).generate(np.random.default_rng(seed), n, fs)


def occupied_bandwidth(iq: np.ndarray, center_hz: float, span_hz: float, frac: float = 0.99) -> float:
    """99 % power bandwidth (Hz) of ``iq`` around ``center_hz``: the band [center ± span/2] is cut out exactly
    (FFT crop, after a gentle taper), then a Welch PSD with 512 bins over the span gives the power distribution."""
    n = iq.size
    x = iq * np.exp(-2j * np.pi * center_hz * np.arange(n) / FS) * scipy.signal.windows.tukey(n, 0.02)
    spec = np.fft.fft(x)
    f = np.fft.fftfreq(n, 1 / FS)
    span = min(span_hz, FS)
    m = int(round(n * span / FS))
    keep = np.abs(f) < span / 2
    sub = np.zeros(m, complex)
    sub[np.round(f[keep] * n / FS).astype(int) % m] = spec[keep]
    y = np.fft.ifft(sub)
    nf = min(512, max(64, y.size // 4))
    frames = y[: (y.size // nf) * nf].reshape(-1, nf) * np.hanning(nf)
    psd = np.fft.fftshift((np.abs(np.fft.fft(frames, axis=1)) ** 2).mean(0))
    cdf = np.cumsum(psd) / psd.sum()
    lo, hi = np.searchsorted(cdf, (1 - frac) / 2), np.searchsorted(cdf, 1 - (1 - frac) / 2)
    return (hi - lo + 1) * span / nf


def measured_bandwidth(name: str, seed: int) -> float | None:
    """99 % bandwidth of one clean primary transmission: the whole capture when all its bursts share one centre,
    else (a hopping class) its longest burst that lies wholly inside the capture time and band."""
    cls, em = signal_class(name), clean(name, seed)
    p = em.primary
    span = min(FS, 20 * cls.bandwidth_hz)
    if len({round(b.center_offset_hz) for b in p.bursts}) == 1:
        return occupied_bandwidth(p.iq, p.bursts[0].center_offset_hz, span)
    inside = [
        b
        for b in p.bursts
        if b.start_s >= 0 and b.start_s + b.duration_s <= N / FS and b.bandwidth_hz >= 0.99 * p.bandwidth_hz
    ]
    if not inside:
        return None
    b = max(inside, key=lambda b: b.duration_s)
    i0, i1 = int(b.start_s * FS), int((b.start_s + b.duration_s) * FS)
    return occupied_bandwidth(p.iq[i0:i1], b.center_offset_hz, span)


# ------------------------------------------------------------------------------------------- every class, basics


def test_twenty_classes_with_commrad_file_prefixes():
    assert len(CLASSES) == 20 and len(set(CLASSES)) == 20
    assert all("_" not in c for c in CLASSES)  # the image reader splits the label at the first "_"
    assert {"ads-b", "wifi", "Radioteletype", "RS41-Radiosonde", "digital-audio-broadcasting"} <= set(CLASSES)


@pytest.mark.parametrize("name", CLASSES)
def test_capture_is_finite_full_scale_and_annotated(name):
    iq, meta = synthesize_capture(name, 3)
    assert iq.dtype == np.complex64 and iq.shape == (N,)
    assert np.isfinite(iq).all()
    parts = iq.view(np.float32)
    assert np.abs(parts).max() <= 1.0 and np.abs(parts).max() > 0.2  # gain set to the peaks, like an SDR
    assert meta["class"] == name and meta["sample_rate_hz"] == FS and 0 <= meta["snr_db"] <= 30
    assert abs(meta["center_offset_hz"]) < FS / 2 and 0 < meta["bandwidth_hz"] <= FS
    primary = [b for b in meta["bursts"] if b["primary"]]
    assert primary, "every capture holds at least one transmission of its class"
    for b in meta["bursts"]:
        assert 0 <= b["start_s"] and b["start_s"] + b["duration_s"] <= N / FS + 1e-9
        assert abs(b["center_offset_hz"]) <= FS / 2 and b["bandwidth_hz"] > 0


@pytest.mark.parametrize("cls", CLASS_TABLE, ids=CLASSES)
def test_occupied_bandwidth_matches_documented(cls):
    lo, hi = cls.bandwidth_range_hz
    measured = [m for m in (measured_bandwidth(cls.name, s) for s in range(3)) if m is not None]
    assert measured, "no burst fully inside the capture in three seeds"
    for m in measured:
        assert lo <= m <= hi, f"{cls.name}: 99 % bandwidth {m / 1e3:.2f} kHz outside {lo / 1e3:g}–{hi / 1e3:g} kHz"
    nominal = min(clean(cls.name, 0).primary.bandwidth_hz, FS)
    assert lo <= nominal <= hi  # the annotated bandwidth agrees with the measurement range


@pytest.mark.parametrize("name", CLASSES)
def test_bursts_hold_the_primary_energy(name):
    p = clean(name, 1).primary
    mask = burst_mask(p.bursts, N, FS)
    energy = np.abs(p.iq) ** 2
    assert energy[mask].sum() >= 0.97 * energy.sum()  # nothing transmitted outside the annotated bursts
    assert np.mean(energy[mask]) == pytest.approx(1.0, rel=0.02)  # unit power during the bursts


@pytest.mark.parametrize("name", CLASSES)
def test_other_rates_and_short_captures(name):
    config = CaptureConfig(sample_rate_hz=2.4e6, duration_s=0.03)
    iq, meta = synthesize_capture(name, 5, config)
    assert iq.shape == (72000,) and np.isfinite(iq).all()
    assert any(b["primary"] for b in meta["bursts"])


@pytest.mark.parametrize("name", CLASSES)
def test_every_branch_survives_many_seeds(name):
    """Modes, presets and codings are drawn per capture: 32 seeds of short captures reach the rare branches."""
    config = CaptureConfig(duration_s=0.012)
    for seed in range(32):
        iq, meta = synthesize_capture(name, 1000 + seed, config)
        assert np.isfinite(iq).all() and any(b["primary"] for b in meta["bursts"])


def test_same_seed_same_bytes_other_seed_other_bytes():
    a, ma = synthesize_capture("wifi", np.random.SeedSequence([7, 19, 0]))
    b, mb = synthesize_capture("wifi", np.random.SeedSequence([7, 19, 0]))
    c, _ = synthesize_capture("wifi", np.random.SeedSequence([7, 19, 1]))
    assert a.tobytes() == b.tobytes() and ma == mb
    assert a.tobytes() != c.tobytes()


def test_bad_config_and_class_are_one_line_errors():
    with pytest.raises(ConfigError, match="sample_rate_hz"):
        synthesize_capture("morse", 0, CaptureConfig(sample_rate_hz=1e6))
    with pytest.raises(ConfigError, match="duration_s"):
        synthesize_capture("morse", 0, CaptureConfig(duration_s=60.0))
    with pytest.raises(ConfigError, match="unknown signal class 'wlan'"):
        synthesize_capture("wlan", 0)


# ------------------------------------------------------------------------------------------- documented timing


def _envelope(iq: np.ndarray) -> np.ndarray:
    return np.abs(iq) ** 2


def test_adsb_preamble_pulses_and_frame_lengths():
    p = clean("ads-b", 2).primary
    env = _envelope(p.iq)
    for b in p.bursts:
        assert b.duration_s * 1e6 == pytest.approx(64, abs=1) or b.duration_s * 1e6 == pytest.approx(120, abs=1)
        i0 = int(round(b.start_s * FS))
        if i0 < 0 or i0 + 20 > N:
            continue

        def us(a: float, z: float, i0: int = i0) -> float:  # mean envelope between a and z µs after the start
            return env[i0 + int(a * 2.048) : i0 + int(np.ceil(z * 2.048))].mean()

        pulses = min(us(0, 0.5), us(1, 1.5), us(3.5, 4), us(4.5, 5))
        assert pulses > 5 * max(us(1.9, 3.0), us(5.6, 7.0))  # pulses at 0, 1, 3.5, 4.5 µs, quiet in between


def test_dmr_mobile_bursts_are_27_5_ms_every_60_ms():
    for seed in range(30):
        em = clean("digital-speech-decoder", seed)
        if em.info["mode"] == "dmr-ms":
            break
    bursts = em.primary.bursts
    starts = np.array([b.start_s for b in bursts])
    assert all(b.duration_s == pytest.approx(0.0275) for b in bursts)
    assert np.allclose(np.diff(starts), 0.06)
    env = _envelope(em.primary.iq)
    mid_on = int((starts[starts > 0][0] + 0.014) * FS)
    mid_off = int((starts[starts > 0][0] + 0.045) * FS)
    assert env[mid_on] > 0.5 and env[mid_off] < 1e-3


def test_dab_null_symbol_every_96_ms():
    em = clean("digital-audio-broadcasting", 4, n=int(0.3 * FS))
    nulls = np.array(em.info["null_symbol_starts_s"])
    assert len(nulls) >= 2 and np.allclose(np.diff(nulls), 0.096, atol=2e-6)
    env = _envelope(em.primary.iq)
    t = nulls[nulls > 0][0]
    null_power = env[int((t + 0.2e-3) * FS) : int((t + 1.1e-3) * FS)].mean()
    assert null_power < 0.01 * env.mean()


def test_lora_chirp_slope_and_symbol_time():
    em = clean("lora", 6)
    sf, bw = em.info["sf"], em.info["bw_hz"]
    p = em.primary
    b = p.bursts[0]
    # instantaneous frequency inside the first preamble up-chirp that lies in the capture
    sym = em.info["symbol_s"]
    k = max(0, int(np.ceil(-b.start_s / sym)))
    t0 = b.start_s + k * sym
    assert k < 8 and t0 + sym < N / FS, "seed 6 must show a whole preamble symbol"
    i0, i1 = int((t0 + 0.1 * sym) * FS), int((t0 + 0.9 * sym) * FS)
    x = p.iq[i0:i1] * np.exp(-2j * np.pi * b.center_offset_hz * np.arange(i0, i1) / FS)
    inst = np.diff(np.unwrap(np.angle(x))) * FS / (2 * np.pi)
    slope = np.polyfit(np.arange(inst.size) / FS, inst, 1)[0]
    assert slope == pytest.approx(bw * bw / 2**sf, rel=0.03)
    assert sym == pytest.approx(2**sf / bw)


def test_morse_elements_are_one_or_three_units():
    em = clean("morse", 8)
    unit = em.info["unit_s"]
    inside = [b for b in em.primary.bursts if b.start_s >= 0 and b.start_s + b.duration_s <= N / FS]
    assert inside
    for b in inside:
        assert b.duration_s == pytest.approx(unit, rel=1e-6) or b.duration_s == pytest.approx(3 * unit, rel=1e-6)


def test_ais_bursts_sit_on_the_slot_grid():
    em = clean("ais", 9)
    starts = sorted(b["start_s"] if isinstance(b, dict) else b.start_s for c in em.components for b in c.bursts)
    slot = 60 / 2250
    assert np.allclose(np.round(np.diff(starts) / slot), np.diff(starts) / slot, atol=1e-6)
    for b in em.primary.bursts:
        assert 0.0235 < b.duration_s < 0.0265  # 8 + 24 + 8 + 184 (+ stuffing) + 8 bits at 9600 b/s


def test_bluetooth_packets_start_on_625_us_slots():
    em = clean("bluetooth", 10)
    starts = np.array([b.start_s for b in em.primary.bursts])
    steps = np.diff(starts) / 625e-6
    assert np.allclose(steps, np.round(steps), atol=1e-6)
    assert all(b.duration_s <= 2.9e-3 for b in em.primary.bursts)


def test_rtty_two_tones_one_shift_apart():
    for seed in range(20):
        em = clean("Radioteletype", seed)
        if em.info["shift_hz"] == 170.0:
            break
    p = em.primary
    x = p.iq * np.exp(-2j * np.pi * p.center_offset_hz * np.arange(N) / FS)
    x = scipy.signal.resample_poly(x, 1, 256)  # 8 kHz
    f, psd = scipy.signal.welch(x, 8000.0, nperseg=1024, return_onesided=False)
    f, psd = np.fft.fftshift(f), np.fft.fftshift(psd)
    mark, space = f[np.argmax(psd * (f > 0))], f[np.argmax(psd * (f < 0))]
    assert mark - space == pytest.approx(170.0, abs=12.0)


def test_vor_carries_30_hz_and_9960_hz():
    p = clean("vor", 11).primary
    am = np.abs(p.iq[::32])  # 64 kHz is plenty for the AM content
    f, psd = scipy.signal.welch(am - am.mean(), FS / 32, nperseg=8192)
    peak = lambda hz: psd[np.argmin(np.abs(f - hz))]  # noqa: E731
    floor = np.median(psd)
    assert peak(30) > 100 * floor and psd[(f > 9400) & (f < 10500)].max() > 100 * floor


# ------------------------------------------------------------------------------------------- trivial features

_BRIGHT = CaptureConfig(snr_db_range=(20.0, 30.0))  # the trivial features are sanity checks, not detectors


def occupied_bins_hz(iq: np.ndarray, meta: dict) -> float:
    """Trivial feature: how much of the band a capture lights up — the width (Hz) of the 1024-bin spectrum whose
    99th-percentile-over-time power is 10 dB above the receiver's noise floor (bursty signals count too). The
    floor comes from the receiver's calibration (noise power 1 before the gain 1/full_scale), as a real SDR's
    noise figure would: a band-filling signal leaves no noise-only bins to estimate it from."""
    window = np.hanning(1024)
    frames = iq[: (iq.size // 1024) * 1024].reshape(-1, 1024) * window
    busy = np.quantile(np.abs(np.fft.fft(frames, axis=1)) ** 2, 0.99, axis=0)
    floor = np.sum(window**2) / meta["receiver"]["full_scale"] ** 2
    lit = busy > 10 * floor
    lit[0] = False  # the DC spike
    return lit.sum() * FS / 1024


@pytest.mark.parametrize("seed", [0, 1])
def test_bandwidth_separates_wideband_from_narrowband(seed):
    wide = [occupied_bins_hz(*synthesize_capture(c, seed, _BRIGHT)) for c in ("wifi", "digital-audio-broadcasting")]
    narrow = [occupied_bins_hz(*synthesize_capture(c, seed, _BRIGHT)) for c in ("morse", "Radioteletype")]
    assert min(wide) > 1.0e6 and max(narrow) < 20e3


def adsb_preambles(iq: np.ndarray) -> int:
    """Trivial feature: short energy bursts (50–130 µs) whose first 8 µs correlate (r ≥ 0.7) with the ADS-B preamble
    pulse pattern (pulses at 0, 1, 3.5, 4.5 µs). Returns how many were found."""
    env = np.abs(iq) ** 2
    floor = np.median(env)
    on = np.convolve(env, np.ones(8) / 8, mode="same") > 10 * floor
    edges = np.flatnonzero(np.diff(on.astype(np.int8)))
    starts, stops = edges[::2] + 1, edges[1::2] + 1
    t = np.arange(16) / FS * 1e6
    template = ((t < 0.5) | ((t >= 1) & (t < 1.5)) | ((t >= 3.5) & (t < 4)) | ((t >= 4.5) & (t < 5))).astype(float)
    found = 0
    for a, b in zip(starts, stops):
        if not 50e-6 <= (b - a) / FS <= 130e-6:
            continue
        best = max(np.corrcoef(env[a + d : a + d + 16], template)[0, 1] for d in range(-5, 3) if a + d >= 0)
        found += best >= 0.7
    return found


def test_adsb_found_by_its_pulse_timing_and_nothing_else_is():
    for seed in range(2):
        assert adsb_preambles(synthesize_capture("ads-b", seed, _BRIGHT)[0]) >= 1
        for other in ("wifi", "bluetooth", "on-off-keying", "cellular"):
            assert adsb_preambles(synthesize_capture(other, seed, _BRIGHT)[0]) == 0, other


def chirpiness(iq: np.ndarray) -> float:
    """Trivial feature: de-chirping gain — the best ratio, over SF 7–12, BW 125/250/500 kHz and window positions,
    of a window's spectral concentration (peak / mean bin power) after multiplying by a down-chirp of that slope
    to its concentration before. A LoRa symbol collapses into a tone; other signals only smear."""

    def concentration(x: np.ndarray) -> float:
        spec = np.abs(np.fft.fft(x)) ** 2
        return float(spec.max() / spec.mean())

    best = 0.0
    for bw in (125e3, 250e3, 500e3):
        for sf in range(7, 13):
            m = int(round(2**sf / bw * FS))
            if m > iq.size:
                continue
            t = np.arange(m) / FS
            down = np.exp(-1j * np.pi * bw * bw / 2**sf * (t - t[-1] / 2) ** 2)
            for a in np.linspace(0, iq.size - m, 8).astype(int):
                x = iq[a : a + m]
                best = max(best, concentration(x * down) / concentration(x))
    return best


def test_lora_found_by_its_chirp_slope():
    lora = [chirpiness(synthesize_capture("lora", s, _BRIGHT)[0]) for s in range(2)]
    others = [chirpiness(synthesize_capture(c, 0, _BRIGHT)[0]) for c in ("fm", "pocsag", "on-off-keying", "ais")]
    assert min(lora) > 10 * max(others)


def test_look_alike_classes_are_not_separated_by_bandwidth():
    """Where the classes should NOT be trivially separable: OOK sensors vs key fobs, and the ~10 kHz FSK family
    (AIS, POCSAG, packet, DMR, RS41) overlap in occupied bandwidth — telling them apart needs timing and
    modulation detail, which is what the model must learn."""

    def span(name):
        values = [m for m in (measured_bandwidth(name, s) for s in range(4)) if m is not None]
        return min(values), max(values)

    (a0, a1), (b0, b1) = span("on-off-keying"), span("remote-keyless-entry")
    assert a0 <= b1 and b0 <= a1
    family = [span(c) for c in ("ais", "pocsag", "packet", "digital-speech-decoder", "RS41-Radiosonde")]
    assert max(lo for lo, _ in family) <= min(hi for _, hi in family) * 1.5  # all within a factor 1.5 of each other
