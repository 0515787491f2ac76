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

glibc also gives threads their own arenas (up to 8 per core), and memory one arena keeps serves only the threads
on it: the stages that search on a thread pool (per-carrier decisions, SSB and LTE scans) each grew fresh pages
that the next stage, on other threads, could not reuse. One arena for the process (``M_ARENA_MAX``) lets every
thread reuse what any other freed: peak RSS of the 40 ms capture 449-461 -> 380-393 MB, its page faults
68-78 k -> 52-58 k. numpy allocates large blocks rarely and small ones come from each thread's cache, so the one
lock is not contended (the 4 s capture's wall time unchanged).

:func:`retain_freed_memory` sets the thresholds and the arena count with ``mallopt`` (the command line calls it at
the start of work that allocates like this, before its threads exist). It changes nothing where the C library is
not glibc, and a setting the user made through glibc's own variables (``MALLOC_MMAP_THRESHOLD_``,
``MALLOC_TRIM_THRESHOLD_``, ``MALLOC_ARENA_MAX``, ``GLIBC_TUNABLES``) wins: then none of the three is changed.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD = 32 << 20  # the largest glibc accepts: blocks under it come from the heap and are reused
TRIM_THRESHOLD = 512 << 20  # free memory kept at a heap's top before it is returned (was 2x the mmap threshold)
ARENA_MAX = 1  # one arena for every thread (glibc's default: 8 per core)
_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_ARENA_MAX", "GLIBC_TUNABLES")


def retain_freed_memory(
    mmap_threshold: int = MMAP_THRESHOLD, trim_threshold: int = TRIM_THRESHOLD, arena_max: int = ARENA_MAX
) -> bool:
    """Set glibc's mmap and trim thresholds and its arena count for this process (module docstring); True when all
    three were set. Call it before the threads that allocate start (a thread keeps the arena it first took)."""
    if not sys.platform.startswith("linux") or any(k in os.environ for k in _USER_SETTINGS):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # musl and other libraries that accept mallopt but ignore it answer 0
    settings = ((M_MMAP_THRESHOLD, mmap_threshold), (M_TRIM_THRESHOLD, trim_threshold), (M_ARENA_MAX, arena_max))
    return all([bool(mallopt(param, value)) for param, value in settings])


__all__ = ["retain_freed_memory"]
