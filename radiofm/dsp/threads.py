"""Threads of numerical libraries: the OpenBLAS thread count (numpy's matmul) for a block of code, and the cores
this process may run on. Many small matrix products (the numpy inference engine's images, the LTE PSS search's
sub-bands) run faster as one product per Python thread on single-threaded BLAS than each on every core: OpenBLAS
splits them too finely and its idle threads spin (twice the CPU time for the same wall time)."""

from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Iterator

_BLAS: list | None = None  # (get, set) thread-count functions of every OpenBLAS loaded in this process
_BLAS_NAMES = [(p + "_get_num_threads" + s, p + "_set_num_threads" + s)
               for p in ("scipy_openblas", "openblas") for s in ("64_", "_64_", "")]  # fmt: skip


def _openblas() -> list:
    """The thread-count functions of the OpenBLAS libraries this process has loaded (numpy's own wheel bundles
    one as ``libscipy_openblas64_``), found in /proc/self/maps as threadpoolctl finds them; [] elsewhere."""
    global _BLAS
    if _BLAS is None:
        _BLAS = []
        try:
            with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
                paths = sorted({ln.split()[-1] for ln in f if "openblas" in ln.lower() and ln.split()[-1][:1] == "/"})
        except OSError:
            paths = []
        for path in paths:
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for get, put in _BLAS_NAMES:
                if hasattr(lib, get) and hasattr(lib, put):
                    _BLAS.append((getattr(lib, get), getattr(lib, put)))
                    break
    return _BLAS


@contextlib.contextmanager
def blas_threads(n: int) -> Iterator[bool]:
    """OpenBLAS (numpy's matmul) at ``n`` threads inside the block, restored afterwards; yields False (and changes
    nothing) where no OpenBLAS is loaded. The count is process-wide: for a block whose products run on several
    Python threads, or are too small to gain from several BLAS threads."""
    libs = _openblas()
    before = [int(get()) for get, _ in libs]
    for _, put in libs:
        put(n)
    try:
        yield bool(libs)
    finally:
        for (_, put), b in zip(libs, before):
            put(b)


def usable_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


__all__ = ["blas_threads", "usable_cores"]
