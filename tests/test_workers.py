"""radiofm.workers: a pool's workers end when the process that started them is killed (kill -9 included)."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from radiofm.workers import POLL_S, process_pool

PARENT = textwrap.dedent(
    """
    import multiprocessing, sys, time
    from radiofm.workers import process_pool

    pool = process_pool(2, mp_context=multiprocessing.get_context("spawn"))
    jobs = [pool.submit(time.sleep, 120) for _ in range(2)]  # both workers busy for two minutes
    while len(pool._processes) < 2:
        time.sleep(0.05)
    time.sleep(1.0)  # the workers have started their jobs
    print(" ".join(str(pid) for pid in pool._processes), flush=True)
    time.sleep(120)
    """
)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_end_soon_after_their_parent_is_killed():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    workers: list[int] = []
    try:
        workers = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(workers) == 2 and all(_alive(pid) for pid in workers)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10 * POLL_S + 5.0
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [pid for pid in workers if _alive(pid)]
        assert not left, f"workers {left} outlived their killed parent (they sleep in their job for 120 s)"
    finally:
        parent.kill()
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _set_env(name: str, value: str) -> None:
    os.environ[name] = value


def _get_env(name: str) -> str | None:
    return os.environ.get(name)


def test_an_initializer_still_runs_and_the_pool_works():
    with process_pool(2, initializer=_set_env, initargs=("RADIOFM_TEST_INIT", "yes")) as pool:
        assert list(pool.map(_get_env, ["RADIOFM_TEST_INIT"] * 4)) == ["yes"] * 4
    assert "RADIOFM_TEST_INIT" not in os.environ  # it ran in the workers only
