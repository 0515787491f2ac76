"""Worker processes that end with the process that started them.

A :class:`~concurrent.futures.ProcessPoolExecutor`'s workers wait on a queue whose write end each of them holds
too, so when the process that started them is killed (``kill -9``, the out-of-memory killer, a CI timeout) they
never see the queue close: they finish the job in hand, writing into the output folder meanwhile, then sleep
forever (found in session 53: a killed ``radiofm generate ism --workers 2`` left both workers writing recordings
and then asleep). Every pool radiofm starts is made by :func:`process_pool`, whose workers watch their parent
and exit within :data:`POLL_S` of its death.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

POLL_S = 0.5  # how often a worker looks for its parent


def exit_with_parent(parent_pid: int) -> None:
    """Start a daemon thread that ends this process (``os._exit``) once its parent is no longer ``parent_pid``:
    a dead parent's children are given to another process (init, or a sub-reaper)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="radiofm-parent-watch", daemon=True).start()


def _start_worker(parent_pid: int, initializer: Callable[..., Any] | None, initargs: tuple) -> None:
    exit_with_parent(parent_pid)
    if initializer is not None:
        initializer(*initargs)


def process_pool(
    max_workers: int, *, mp_context=None, initializer: Callable[..., Any] | None = None, initargs: tuple = ()
) -> ProcessPoolExecutor:
    """A ProcessPoolExecutor whose workers exit when this process dies (:func:`exit_with_parent`), then run
    ``initializer(*initargs)`` as the executor's own ``initializer`` would."""
    return ProcessPoolExecutor(
        max_workers=max_workers,
        mp_context=mp_context,
        initializer=_start_worker,
        initargs=(os.getpid(), initializer, tuple(initargs)),
    )


__all__ = ["POLL_S", "exit_with_parent", "process_pool"]
