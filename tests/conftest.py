"""Shared fixtures: tiny, seeded signals and recordings (each builds in milliseconds)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from radiofm.heap import retain_freed_memory

# the test process allocates like annotate (arrays of megabytes made and freed in a loop), and the CLI tests run
# annotate in it: the same allocator thresholds from the start (radiofm.heap; ~12 % off tests/annotate's wall time)
retain_freed_memory()

# property tests (tests/fuzz_support.py): a few hundred derandomised examples per reader in `make test`
settings.register_profile(
    "default", max_examples=100, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile("default")


def pytest_terminal_summary(terminalreporter):
    import sys

    support = sys.modules.get("fuzz_support")
    if support is not None:
        support.report_counts(terminalreporter)


TINY_RATE_HZ = 1_000_000.0
TINY_CENTER_HZ = 2_450_000_000.0


def make_tone(
    n: int = 4096,
    *,
    freq_hz: float = 125_000.0,
    sample_rate_hz: float = TINY_RATE_HZ,
    snr_db: float = 20.0,
    seed: int = 0,
) -> np.ndarray:
    """(n,) complex64: a tone at ``freq_hz`` of amplitude 0.5 plus complex white noise at ``snr_db``."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sample_rate_hz
    tone = 0.5 * np.exp(2j * np.pi * freq_hz * t)
    sigma = 0.5 * 10 ** (-snr_db / 20) / np.sqrt(2)
    noise = sigma * (rng.standard_normal(n) + 1j * rng.standard_normal(n))
    return (tone + noise).astype(np.complex64)


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models on a shared 2-core machine: one torch thread avoids OpenMP oversubscription stalls.

    Use per module: ``pytestmark = pytest.mark.usefixtures("one_thread")``.
    """
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def tiny_iq() -> np.ndarray:
    """4096 complex64 samples: a 125 kHz tone + noise at 1 MS/s, |x| well inside [-1, 1)."""
    return make_tone()


@pytest.fixture
def tmp_sigmf(tmp_path, tiny_iq):
    """One small cf32_le SigMF recording (1 MS/s, centre 2.45 GHz, two annotations); returns the .sigmf-meta path."""
    from radiofm.data import Annotation, write_sigmf

    anns = [
        Annotation(0, 1024, TINY_CENTER_HZ + 100e3, TINY_CENTER_HZ + 150e3, "tone"),
        Annotation(2048, 1024, TINY_CENTER_HZ - 200e3, TINY_CENTER_HZ + 200e3, "burst", {"radiofm:confidence": 0.9}),
    ]
    return write_sigmf(
        tmp_path / "tiny",
        tiny_iq,
        sample_rate_hz=TINY_RATE_HZ,
        center_freq_hz=TINY_CENTER_HZ,
        annotations=anns,
        description="tiny test recording",
    )


def write_tiny_corpus(folder, *, n: int = 3, duration_s: float = 0.040, seed: int = 0):
    """``n`` SigMF recordings of bursty tones + noise at 1 MS/s (``duration_s`` each); returns the folder."""
    from pathlib import Path

    from radiofm.data import Annotation, write_sigmf

    folder = Path(folder)
    rng = np.random.default_rng(seed)
    count = int(duration_s * TINY_RATE_HZ)
    t = np.arange(count)
    for i in range(n):
        f = 0.05 + 0.3 * rng.random()
        on = (t % 8000) < 3000
        iq = 0.05 * (rng.standard_normal(count) + 1j * rng.standard_normal(count)) + 0.5 * on * np.exp(
            2j * np.pi * f * t
        )
        ann = Annotation(
            0, 3000, TINY_CENTER_HZ + f * TINY_RATE_HZ - 5e3, TINY_CENTER_HZ + f * TINY_RATE_HZ + 5e3, "tone"
        )
        write_sigmf(
            folder / f"rec_{i:02d}",
            iq.astype(np.complex64),
            sample_rate_hz=TINY_RATE_HZ,
            center_freq_hz=TINY_CENTER_HZ,
            annotations=[ann],
        )
    return folder


@pytest.fixture
def tiny_corpus(tmp_path):
    """A folder of 3 tiny SigMF recordings (40 ms at 1 MS/s): enough for 6 16-ms spectrogram segments."""
    return write_tiny_corpus(tmp_path / "corpus")


TINY_BEAMS = {  # a 4-beam, 2-front-end DeepBeam folder that generates in about a second
    "n_beams": 4,
    "n_elements": 8,
    "n_front_ends": 2,
    "gains_db": (40.0, 60.0),
    "frames_per_beam_gain": 8,
    "n_scatterers": 2,
    "aoa_angles_deg": (-20.0, -10.0, 0.0, 10.0, 20.0),
    "aoa_tx_beams": (1,),
    "frames_per_angle_gain": 6,
}


@pytest.fixture(scope="session")
def beam_data(tmp_path_factory):
    """A tiny synthetic DeepBeam folder (beam files of tx-ant-0/1 and aoa/ files), built once per session."""
    from radiofm.data.deepbeam_write import generate_beam_dataset
    from radiofm.synth.beams import BeamConfig

    out = tmp_path_factory.mktemp("beams") / "data"
    generate_beam_dataset(out, BeamConfig(**TINY_BEAMS), seed=0, progress=False)
    return out
