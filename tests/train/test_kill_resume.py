"""Kill -9 anywhere: a tiny `radiofm pretrain` / `radiofm finetune` subprocess is SIGKILLed at random moments
(before its first checkpoint, while a checkpoint is being written, between checkpoints) and relaunched with the
same command plus --resume; the final weights and the loss history must equal an uninterrupted run's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch

from radiofm.errors import OutputError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import write_tiny_corpus  # noqa: E402

VOLATILE = (
    "samples_per_s",
    "epoch_time_s",
    "data_wait_frac",
    "peak_rss_mb",
)  # wall-clock figures differ between runs by nature
MODES = ("before", "writing", "between")


def _env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


def _pretrain_argv(corpus, out):
    return ["pretrain", "--data", corpus, "--model", "convlstm-tiny", "--out", out, "--epochs", "3"]


def _finetune_argv(corpus, init, out):
    return [
        "finetune",
        "forecasting",
        "--data",
        corpus,
        "--init",
        init,
        "--out",
        out,
        "--mode",
        "last-k",
        "--epochs",
        "2",
    ]


COMMON = ["--batch-size", "1", "--save-every-steps", "1", "--no-progress", "--device", "cpu", "--seed", "3"]


def _launch(argv):
    cmd = [sys.executable, "-m", "radiofm", *map(str, argv), *COMMON]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())


def _run(argv):
    proc = _launch(argv)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    return out, err


def _writing(run: Path) -> bool:
    return any(run.parent.glob(f".{run.name}.*.tmp"))


def _kill(proc, run: Path, mode: str, rng) -> str:
    """SIGKILL ``proc`` at a moment of kind ``mode``; returns what actually happened (it may finish first)."""
    deadline = time.monotonic() + 600
    if mode == "between":
        while not (run / "config.json").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(float(rng.uniform(0.0, 1.5)))
    elif mode == "writing":
        while not _writing(run) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
    else:  # before the first checkpoint: while the interpreter starts, the data set is built, or the first steps run
        wait = float(rng.uniform(0.0, 3.0))
        while not (run / "config.json").exists() and proc.poll() is None and wait > 0:
            time.sleep(0.01)
            wait -= 0.01
    if proc.poll() is not None:
        proc.communicate()
        return "finished"
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    return mode


def _final_state(run: Path):
    tensors = safetensors.torch.load_file(str(run / "model.safetensors"))
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    return tensors, [{k: v for k, v in rec.items() if k not in VOLATILE} for rec in lines]


def _assert_same(a: Path, b: Path):
    ta, la = _final_state(a)
    tb, lb = _final_state(b)
    assert la == lb  # same epochs, same losses, no duplicated line
    assert sorted(ta) == sorted(tb)
    for k in ta:
        assert np.array_equal(ta[k].numpy(), tb[k].numpy()), k
    assert not list(b.parent.glob(f".{b.name}.*"))  # no orphaned temporary folder


def kill_resume(argv_for, tmp_path, n_kills: int, seed: int) -> list[str]:
    """Reference run, then a run killed ``n_kills`` times and relaunched with --resume; returns the kill log."""
    ref, run = tmp_path / "ref", tmp_path / "run"
    _run(argv_for(ref))
    rng = np.random.default_rng(seed)
    log = []
    for i in range(n_kills):
        mode = MODES[i % len(MODES)] if i < len(MODES) else MODES[int(rng.integers(len(MODES)))]
        log.append(_kill(_launch(argv_for(run) + (["--resume"] if i else [])), run, mode, rng))
    out, err = _run(argv_for(run) + ["--resume"])
    _assert_same(ref, run)
    return log


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_tiny_corpus(tmp_path_factory.mktemp("kill") / "corpus", n=3)


@pytest.fixture(scope="module")
def pretrained(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("init") / "mae"
    _run(_pretrain_argv(corpus, out))
    return out


def test_pretrain_survives_kills(corpus, tmp_path):
    log = kill_resume(lambda out: _pretrain_argv(corpus, out), tmp_path, n_kills=3, seed=0)
    assert log.count("finished") < len(log)


def test_finetune_survives_kills(corpus, pretrained, tmp_path):
    log = kill_resume(lambda out: _finetune_argv(corpus, pretrained, out), tmp_path, n_kills=2, seed=1)
    assert log.count("finished") < len(log)


def test_resume_without_checkpoint_starts_over_and_refuses_foreign_folders(corpus, tmp_path):
    out, _ = _run(_pretrain_argv(corpus, tmp_path / "fresh") + ["--resume"])
    assert "no complete checkpoint" in out and "starting from the beginning" in out
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    proc = _launch(_pretrain_argv(corpus, foreign) + ["--resume"])
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 2 and err.strip().splitlines()[-1].startswith("radiofm: error:")
    assert "other files" in err and (foreign / "notes.txt").read_text() == "mine"


@pytest.mark.slow
def test_pretrain_survives_many_kills(corpus, tmp_path):
    log = kill_resume(lambda out: _pretrain_argv(corpus, out), tmp_path, n_kills=21, seed=12)
    print("kills:", {m: log.count(m) for m in (*MODES, "finished")})
    assert len(log) - log.count("finished") >= 20


@pytest.mark.slow
def test_finetune_survives_many_kills(corpus, pretrained, tmp_path):
    log = kill_resume(lambda out: _finetune_argv(corpus, pretrained, out), tmp_path, n_kills=21, seed=13)
    print("kills:", {m: log.count(m) for m in (*MODES, "finished")})
    assert len(log) - log.count("finished") >= 20


def test_disk_full_save_keeps_the_previous_checkpoint(tmp_path):
    """A save under a small file-size limit (as on a full disk) fails in one line; the previous one is intact."""
    import torch

    from radiofm.models import create_model
    from radiofm.train.loop import _save_run

    run = tmp_path / "run"
    model = create_model("convlstm-tiny")
    from radiofm.models.checkpoint import save_checkpoint

    _save_run(run, model, "convlstm-msm", {}, {"progress": {"epoch": 1}}, save_checkpoint, '{"epoch": 1}')
    before = {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    code = f"""
import resource, sys, torch
sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
from radiofm.models import create_model
from radiofm.models.checkpoint import save_checkpoint
from radiofm.train.loop import _save_run
from radiofm.errors import OutputError
resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
try:
    _save_run({str(run)!r}, create_model("convlstm-tiny"), "convlstm-msm", {{}}, {{"progress": {{"epoch": 2}}}},
              save_checkpoint, '{{"epoch": 2}}')
except OutputError as exc:
    print("radiofm: error:", exc)
    sys.exit(2)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1 and "previous checkpoint" in lines[0] and "intact" in lines[0]
    after = {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert after == before
    assert not list(tmp_path.glob(".run.*"))
    assert torch is not None and OutputError is not None
