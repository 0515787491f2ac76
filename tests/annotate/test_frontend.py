"""annotate.frontend: the pooled front end equals the reference spectrogram bit for bit; reads release the map."""

from __future__ import annotations

import numpy as np
import pytest

from radiofm.annotate import frontend
from radiofm.annotate.plan import plan_analysis
from radiofm.data import open_recording, write_sigmf
from radiofm.dsp.stft import spectrogram


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
