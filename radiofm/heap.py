"""Keep the memory a long computation frees for its next arrays, instead of handing it back to the system.

glibc's ``malloc`` maps each block of its mmap threshold or more (128 KiB at first, raised as such blocks are
freed, up to 32 MiB) straight from the kernel and unmaps it on ``free``, and it returns the top of a heap once
twice that much lies free there. ``annotate`` allocates and frees arrays of 1-40 MB hundreds of times per second
(spectra, sub-band grids, correlations), so each one came back as fresh pages: a page fault per 4 KiB (or a
zeroed 2 MiB huge page) and, with several threads, an unmap that interrupts the other cores. On the 2-core
benchmark machine (a virtual machine that reports freed pages to its host) the kernel's share of a 40 ms capture's
CPU time was 1.0-2.3 s of 3.9-5.2 s; with the thresholds below it is 0.2-0.4 s, and the same run's wall time fell
from 2.4-3.7 s to 2.0-2.1 s (docs/RESULTS.md, session 50). Peak memory is what the arrays need at once, as before:
what is kept is reused, not added.

:func:`retain_freed_memory` sets the two thresholds with ``mallopt`` (the command line calls it at the start of
work that allocates like this). It changes nothing where the C library is not glibc, or where the user set glibc's
own variables (``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``, ``GLIBC_TUNABLES``): theirs win.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # the largest glibc accepts: blocks under it come from the heap and are reused
TRIM_THRESHOLD = 512 << 20  # free memory kept at a heap's top before it is returned (was 2x the mmap threshold)
_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")


def retain_freed_memory(mmap_threshold: int = MMAP_THRESHOLD, trim_threshold: int = TRIM_THRESHOLD) -> bool:
    """Set glibc's mmap and trim thresholds for this process (module docstring); True when both were set."""
    if not sys.platform.startswith("linux") or any(k in os.environ for k in _USER_SETTINGS):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # musl and other libraries that accept mallopt but ignore it answer 0
    return bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(M_TRIM_THRESHOLD, trim_threshold))


__all__ = ["retain_freed_memory"]
