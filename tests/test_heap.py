"""radiofm.heap: glibc's thresholds set for annotate's churn of large arrays, and the user's own settings left alone.
Each check runs in a fresh interpreter: the thresholds are process-wide."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

CALL = "from radiofm.heap import retain_freed_memory as r; print(r())"


def _run(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    out = subprocess.run([sys.executable, "-c", code], env=clean | env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")
def test_settings_are_made_under_glibc():
    assert _run(CALL) == "True"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")
@pytest.mark.parametrize(
    "name", ["MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_ARENA_MAX", "GLIBC_TUNABLES"]
)
def test_the_users_own_malloc_settings_win(name):
    value = "glibc.malloc.trim_threshold=1000000" if name == "GLIBC_TUNABLES" else "1000000"
    assert _run(CALL, **{name: value}) == "False"


def test_other_systems_are_left_as_they_are(monkeypatch):
    import radiofm.heap as heap

    monkeypatch.setattr(heap.sys, "platform", "darwin")
    assert heap.retain_freed_memory() is False


GLIBC = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")


def _faults(setup: str, before: str, measured: str, arg: str) -> int:
    """Page faults of ``measured`` in a fresh interpreter, after ``setup`` (``arg`` as sys.argv[1]) and ``before``."""
    code = (
        "import resource, sys, threading, numpy as np\n"
        f"from radiofm.heap import retain_freed_memory\n{setup}\n{before}\n"
        f"faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n{measured}\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, arg], capture_output=True, text=True, check=True).stdout
    return int(out)


@GLIBC
def test_freed_blocks_under_the_threshold_are_reused_not_unmapped():
    """After the call, a 16 MB block freed and allocated again costs no new page faults (it stays in the heap);
    without it, glibc unmaps such a block on free and the next one faults its pages in again."""
    setup = "if sys.argv[1] == '1': retain_freed_memory()"
    churn = "for _ in range(20): np.ones(1 << 21)"  # 16 MB, freed at once
    assert _faults(setup, "np.ones(1 << 21)", churn, "1") < 100 < _faults(setup, "np.ones(1 << 21)", churn, "0")


@GLIBC
def test_what_a_worker_thread_freed_serves_the_main_thread():
    """One arena for every thread: a 16 MB block a worker thread allocated and freed is reused by the main thread
    (no new page faults); with the same thresholds but per-thread arenas (glibc's default) the main thread faults
    fresh pages in."""
    setup = "retain_freed_memory(arena_max=int(sys.argv[1]))"
    worker = "t = threading.Thread(target=lambda: [np.ones(1 << 21) for _ in range(3)]); t.start(); t.join()"
    assert _faults(setup, worker, "np.ones(1 << 21)", "1") < 100 < _faults(setup, worker, "np.ones(1 << 21)", "16")
