"""annotate.frontend: the pooled front end equals the reference spectrogram bit for bit; reads release the map."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

from radiofm.annotate import frontend
from radiofm.annotate.plan import plan_analysis
from radiofm.data import open_recording, write_sigmf
from radiofm.dsp.stft import spectrogram
from radiofm.errors import RecordingError


@pytest.mark.parametrize(
    ("n_bins", "cols", "chunk", "pool"), [(256, 37, 16, 40), (64, 5, 2, 40), (512, 3, 16, 40), (64, 7, 3, 12)]
)
def test_pooled_power_bit_identical_to_spectrogram_then_mean(n_bins, cols, chunk, pool):
    win = n_bins * 15 // 16  # pool 40: the 8-lane sum; 12: the transposed mean
    rng = np.random.default_rng(n_bins)
    x = (rng.standard_normal(2 * (cols * win * pool + 7), np.float32) * 3).view(np.complex64)
    ref = spectrogram(x, fft_size=n_bins, win_length=win, hop=win, log=False)
    ref = ref[:, : cols * pool].reshape(n_bins, cols, pool).mean(axis=2)
    got = frontend.pooled_power(x, n_bins, win, pool, chunk=chunk)
    assert got.dtype == np.float32 and np.array_equal(got, ref)


@pytest.mark.parametrize(("n_bins", "cols", "dtype"), [(256, 19, np.int16), (64, 5, np.int8), (63, 4, np.int16)])
def test_pooled_power_of_stored_integers_is_bit_identical(n_bins, cols, dtype):
    """Integer I/Q pairs with their scale give the very bits of the samples they stand for (the scale rides on the
    window, exactly; an odd FFT size, whose window is complex, converts the samples first)."""
    win, pool = n_bins * 15 // 16, 40
    bits = 8 * np.dtype(dtype).itemsize
    rng = np.random.default_rng(cols)
    top = 2 ** (bits - 1)
    raw = rng.integers(-top, top, size=(cols * win * pool + 11, 2)).astype(dtype)
    scale = 2.0 ** (1 - bits)
    x = np.multiply(raw, np.float32(scale), dtype=np.float32).view(np.complex64).reshape(-1)
    ref = frontend.pooled_power(x, n_bins, win, pool)
    got = frontend.pooled_power(raw, n_bins, win, pool, scale=scale)
    assert ref.shape == (n_bins, cols) and np.array_equal(got, ref)


@pytest.mark.parametrize("datatype", ["ci16_le", "ci16_be", "ci8"])
def test_integer_recordings_take_the_integer_path_with_the_same_power(tmp_path, datatype, monkeypatch):
    """block_power of a ci16/ci8 recording reads its integers (no complex64 copy of the span) and gives the same
    power, bit for bit, as the same samples stored as cf32; through a receiver repair it reads samples."""
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(2 * 9600 * 260, np.float32) * 0.1).clip(-0.99, 0.99).view(np.complex64)
    rec = open_recording(write_sigmf(tmp_path / "i", x, sample_rate_hz=61.44e6, datatype=datatype))
    as_float = open_recording(write_sigmf(tmp_path / "f", rec.read(), sample_rate_hz=61.44e6, datatype="cf32_le"))
    plan = plan_analysis(rec.sample_rate_hz, rec.n_samples)
    calls = []
    read_integers = type(rec).read_integers
    monkeypatch.setattr(type(rec), "read_integers", lambda self, *a: calls.append(a) or read_integers(self, *a))
    got = frontend.block_power(rec, plan, None, 0, 256, "error", {})
    assert calls and rec._map is None
    calls.clear()
    assert np.array_equal(got, frontend.block_power(as_float, plan, None, 0, 256, "error", {}))
    assert calls == [(0, 9600 * 256)]  # asked, and declined by cf32 (None): read() as before
    from radiofm.annotate.clean import CleanedRecording, Repair

    calls.clear()
    repaired = CleanedRecording(rec, Repair.__new__(Repair))  # any repair: its samples, never the raw integers
    monkeypatch.setattr(
        Repair, "read", lambda self, r, a, c, nf, counts=None: r.read(a, c, nonfinite=nf, counts=counts)
    )
    assert np.array_equal(frontend.block_power(repaired, plan, None, 0, 256, "error", {}), got) and calls == []


@pytest.mark.parametrize("datatype", ["ci16_le", "cf32_le"])
def test_block_power_on_several_threads_is_the_same(tmp_path, datatype, monkeypatch):
    """A block read on several threads (the first block of annotate, which the model waits for) gives the power of
    one thread, bit for bit, for a float recording too: its non-finite samples are counted, each once, without a
    warning (no process-wide filter), and the error names them."""
    monkeypatch.setattr(frontend, "_CHUNK_SAMPLES", 9600 * 40)  # 40 columns per read: 7 reads for 260 columns
    rng = np.random.default_rng(4)
    x = (rng.standard_normal(2 * 9600 * 260, np.float32) * 0.1).view(np.complex64)
    if datatype == "cf32_le":
        x[[5, 9600 * 100, 9600 * 200 + 3]] = np.nan  # in three different reads
    rec = open_recording(write_sigmf(tmp_path / "r", x, sample_rate_hz=61.44e6, datatype=datatype))
    plan = plan_analysis(rec.sample_rate_hz, rec.n_samples)
    one, many, names, power = {}, {}, set(), frontend._columns_power
    monkeypatch.setattr(frontend, "_columns_power", lambda *a: names.add(threading.current_thread().name) or power(*a))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # counted, never warned
        ref = frontend.block_power(rec, plan, None, 0, 260, "repair", one)
        names.clear()
        got = frontend.block_power(rec, plan, None, 0, 260, "repair", many, workers=3)
    assert names and all(n.startswith("annotate-power") for n in names)  # read on the pool's threads
    assert np.array_equal(got, ref) and one == many
    assert many == ({"repaired": 3} if datatype == "cf32_le" else {})
    if datatype == "cf32_le":  # not repaired: the reads that meet them fail, on whichever thread, and the
        scans = []  # recording is counted for the message once, not once per failing read
        read = frontend._read
        monkeypatch.setattr(frontend, "_read", lambda r, a, c, nf, st: (nf == "repair" and scans.append(a)) or read(
            r, a, c, nf, st))  # fmt: skip
        with pytest.raises(RecordingError, match="^.*: 3 non-finite"):
            frontend.block_power(rec, plan, None, 0, 260, "error", {}, workers=3)
        assert scans == [0] and frontend._COUNTED == {}  # one scan (one 4 Mi-sample read), its count forgotten


def test_block_reads_release_the_memory_map(tmp_path):
    """Pages of a memory map stay resident while it is open: reading block by block must not keep it."""
    x = (np.random.default_rng(0).standard_normal(2 * 9600 * 300, np.float32) * 0.1).view(np.complex64)
    rec = open_recording(write_sigmf(tmp_path / "r", x, sample_rate_hz=61.44e6, datatype="ci16_le"))
    plan = plan_analysis(rec.sample_rate_hz, rec.n_samples)
    stats: dict = {}
    p = frontend.block_power(rec, plan, None, 0, 256, "error", stats)
    assert p.shape == (256, 256) and rec._map is None
    q = 2.0**-15  # ci16 in one pass equals the old three-pass conversion exactly
    raw = np.fromfile(rec.data_path, dtype="<i2", count=2000).astype(np.float32)
    assert np.array_equal(rec.read(0, 1000).view(np.float32), (raw / np.float32(1 / q)).astype(np.float32))


def test_importing_annotate_leaves_scipy_signal_out():
    """scipy.signal costs ~0.5 s of every `radiofm annotate` start-up; only resampled rates need it."""
    import subprocess
    import sys

    code = "import sys, radiofm.annotate.run, radiofm.annotate.output; print('scipy.signal' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def _band_power(floor: float, level: float, seed: int = 0) -> np.ndarray:
    """(256, 300) 40-frame-average powers: noise at ``floor`` everywhere, rows 80-140 at ``level`` more."""
    rng = np.random.default_rng(seed)
    p = floor * rng.gamma(40.0, 1 / 40, size=(256, 300))
    p[80:140] += level * rng.gamma(40.0, 1 / 40, size=(60, 300))
    return p.astype(np.float32)


def test_limit_range_leaves_a_noisy_recording_alone():
    power = _band_power(1.0, 10**3.5)  # a 35 dB carrier: beyond our training frames, within the limit
    rng = np.random.default_rng(1)
    state = rng.bit_generator.state
    assert frontend.limit_range(power, rng, 50.0) is power
    assert rng.bit_generator.state == state  # nothing drawn: the rest of the analysis sees the same noise
    assert frontend.limit_range(np.zeros((256, 300), np.float32), rng).max() == 0  # nothing to refer to


@pytest.mark.parametrize("floor", [0.0, 1e-12, 1e-3])
def test_limit_range_raises_a_floor_far_below_the_carriers(floor):
    level = 1e4  # 40 dB over a unit floor; the recording's own floor is 0 (no noise at all) or 70-160 dB down
    power = _band_power(floor, level)
    out = frontend.limit_range(power, np.random.default_rng(2), 30.0)
    assert out.dtype == np.float32 and out.shape == power.shape
    top = np.percentile(np.percentile(power, 80, axis=1), 98)  # the carrier level (~1.1 level)
    assert 1.0 < top / level < 1.2
    np.testing.assert_allclose(frontend.noise_floor(out), top * 1e-3, rtol=0.05)  # 30 dB under the carrier
    outside = 10 * np.log10(out[:70] / (top * 1e-3))
    assert abs(outside.mean()) < 0.1 and 0.2 < outside.std() < 1.5  # noise of 40-frame averages, not a flat floor
    np.testing.assert_allclose(out[80:140], power[80:140], rtol=5e-3)  # the carrier barely moves (+0.1 % of top)
    again = frontend.limit_range(power, np.random.default_rng(2), 30.0)
    assert np.array_equal(out, again)  # seeded


def _rolled_off(power: np.ndarray, flat: float = 0.8, stop_db: float = -30.0) -> np.ndarray:
    """``power`` times a receiver filter's gain: flat over the inner ``flat`` of the rows, a raised-cosine fall to
    ``stop_db`` at both band edges."""
    n = power.shape[0]
    d = np.abs(np.arange(n) - (n - 1) / 2) / (n / 2)  # 0 at the centre, ~1 at the edges
    u = np.clip((d - flat) / (1 - flat), 0, 1)
    return (power * 10 ** (stop_db * (1 - np.cos(np.pi * u)) / 20)[:, None]).astype(np.float32)


def test_fill_rolloff_raises_the_band_edges_to_the_floor_inside():
    power = _rolled_off(_band_power(1.0, 100.0))  # a 20 dB carrier on rows 80-140, the edges rolled off
    out = frontend.fill_rolloff(power, np.random.default_rng(3))
    floors = frontend.row_floors_db(out)
    assert np.all(np.abs(floors[:80]) < 1.5) and np.all(np.abs(floors[140:]) < 1.5)  # flat again (within 1.5 dB)
    assert frontend.row_floors_db(power)[:3].max() < -20  # (they were 20-30 dB down)
    np.testing.assert_array_equal(out[40:216], power[40:216])  # the flat part untouched
    assert np.array_equal(out, frontend.fill_rolloff(power, np.random.default_rng(3)))  # seeded


def test_fill_rolloff_fills_a_roll_off_over_a_quarter_of_the_band():
    """A front end flat over the inner half of the band (a 100 MHz filter at 122.88 MS/s, or a recording resampled
    2x): only the outer 15 % of the rows were searched, the rest of the ramp stayed a dim band, and the model boxed
    its edge as a carrier (session 60's review)."""
    power = _rolled_off(_band_power(1.0, 100.0), flat=0.5)
    out = frontend.fill_rolloff(power, np.random.default_rng(3))
    floors = frontend.row_floors_db(out)
    assert np.all(np.abs(floors[:80]) < 1.5) and np.all(np.abs(floors[140:]) < 1.5)
    assert frontend.row_floors_db(power)[[45, 210]].max() < -3  # (the inner ramp was under the floor)


@pytest.mark.parametrize(
    "case",
    [
        "flat",  # plain receiver noise: nothing to fill
        "wide",  # a carrier over the inner 80 % of the band: the noise beside it is lower, but flat, not a ramp
        "edge carrier",  # a carrier at the band edge: above the floor inside, not under it
    ],
)
def test_fill_rolloff_leaves_flat_floors_alone(case):
    power = _band_power(1.0, 0.0)
    if case == "wide":
        power[26:230] += 100.0 * np.random.default_rng(4).gamma(40.0, 1 / 40, size=(204, 300)).astype(np.float32)
    if case == "edge carrier":
        power[:20] *= 30.0
    rng = np.random.default_rng(5)
    state = rng.bit_generator.state
    assert frontend.fill_rolloff(power, rng) is power and rng.bit_generator.state == state


def test_fill_rolloff_fills_zeroed_band_edges_without_warnings():
    power = _band_power(1.0, 100.0)
    power[:20] = power[-20:] = 0.0  # a recorder that zeroes the bins beyond its filter
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = frontend.fill_rolloff(power, np.random.default_rng(6))
    assert np.all(np.abs(frontend.row_floors_db(out)[:20]) < 1.0) and np.all(
        np.abs(frontend.row_floors_db(out)[-20:]) < 1.0
    )


def test_undo_gain_steps_scales_the_louder_columns_back():
    power = _band_power(1.0, 100.0)
    stepped = power.copy()
    stepped[:, 120:] *= 10.0  # the gain up 10 dB from column 120 on
    out = frontend.undo_gain_steps(stepped)
    np.testing.assert_allclose(out, power, rtol=0.15)  # back within the step estimate's error (~0.5 dB)
    col = 10 * np.log10(np.percentile(out, 10, axis=0))
    assert np.ptp(col) < 1.5


def test_undo_gain_steps_over_fading_carriers():
    """A gain step under carriers that fill 60 % of the band and fade (each row's power drifts by up to +-6 dB
    between the two halves, as the validation `agc` captures' LTE carriers did): the noise moved by the step and
    no row stayed put, so it is a gain, undone (the rule before asked 75 % of all rows to move by the step)."""
    rng = np.random.default_rng(8)
    power = rng.gamma(40.0, 1 / 40, size=(256, 300)).astype(np.float32)
    fade = 10 ** (rng.uniform(-6, 6, size=(154, 1)) / 10)
    power[60:214, :152] += 300.0 * rng.gamma(40.0, 1 / 40, size=(154, 152)).astype(np.float32)
    power[60:214, 152:] += (300.0 * fade * rng.gamma(40.0, 1 / 40, size=(154, 148))).astype(np.float32)
    stepped = power.copy()
    stepped[:, 152:] *= 10.0
    out = frontend.undo_gain_steps(stepped)
    np.testing.assert_allclose(out[:60], power[:60], rtol=0.15)  # the noise back at its level
    by_step = np.abs(10 * np.log10(np.median(stepped[:, 152:], 1) / np.median(stepped[:, :152], 1)) - 10) < 2
    assert by_step.mean() < 0.75  # the case the old rule left alone


@pytest.mark.parametrize("case", ["no step", "wide carrier switching on", "carrier switching on"])
def test_undo_gain_steps_leaves_carriers_switching_alone(case):
    power = _band_power(1.0, 0.0)
    rng = np.random.default_rng(7)
    if case == "wide carrier switching on":  # 84 % of the rows, on from column 150: its rows move, the noise rows not
        power[20:236, 150:] += 1000.0 * rng.gamma(40.0, 1 / 40, size=(216, 150)).astype(np.float32)
    if case == "carrier switching on":
        power[80:140, 100:] += 100.0 * rng.gamma(40.0, 1 / 40, size=(60, 200)).astype(np.float32)
    assert frontend.undo_gain_steps(power) is power
