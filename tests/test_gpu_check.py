"""benchmarks/gpu_check.sh: its whole flow, dry-run on CPU with tiny sizes (the real run needs an accelerator)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.sh"


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_gpu_check_dry_run_on_cpu(tiny_corpus, tmp_path):
    results = SCRIPT.parent / "results" / "gpu_check_throughput.json"
    before = results.stat().st_mtime_ns if results.exists() else None
    assert not (SCRIPT.parent / "results" / "gpu_check_annotate_rtf.json").exists()
    env = {**os.environ, "PYTHON": sys.executable, "GPU_CHECK_CORPUS": str(tiny_corpus), "TMPDIR": str(tmp_path)}
    env.update(OMP_NUM_THREADS="1", GPU_CHECK_BUDGET_S="6000")  # a loaded CI box: no stage cut short
    proc = subprocess.run(
        ["bash", str(SCRIPT), "--dry-run"], capture_output=True, text=True, env=env, timeout=600, check=False
    )
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "failed" not in out, out
    headings = ("== device ==", "== pretraining step throughput, eager", "== end-to-end radiofm pretrain",
                "== annotate real-time factor", "== pretraining step throughput, torch.compile", "done ==")  # fmt: skip
    for heading in headings:
        assert heading in out
    rtf = [line.split() for line in out.splitlines() if line.startswith("torch-nophy ")]  # annotate_rtf's table row
    assert rtf and float(rtf[-1][3]) > 0, out[-3000:]
    table = [line.split() for line in out.splitlines() if line.startswith("vit-tiny")]
    assert len(table) == 2 and all(row[1] == "radiofm" and float(row[2]) > 0 for row in table)  # eager, compiled
    epochs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert all(0 <= e["data_wait_frac"] < 1 and e["peak_rss_mb"] > 0 for e in epochs)
    assert (results.stat().st_mtime_ns if results.exists() else None) == before  # dry run: repository untouched
    assert not (SCRIPT.parent / "results" / "gpu_check_annotate_rtf.json").exists()
    assert not any(p.name.startswith("gpu_check") for p in tmp_path.iterdir())  # its work folder removed


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_gpu_check_stops_within_its_budget(tmp_path):
    """A budget too small for any stage: each is skipped with a line saying so, and the script still ends cleanly."""
    env = {**os.environ, "PYTHON": sys.executable, "TMPDIR": str(tmp_path), "GPU_CHECK_BUDGET_S": "3"}
    proc = subprocess.run(
        ["bash", str(SCRIPT), "--dry-run"], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr[-2000:]
    skipped = [line for line in out.splitlines() if line.startswith("gpu_check:") and "skipped" in line]
    assert len(skipped) == 5, out  # throughput eager, annotate, corpus, pretrain, throughput compiled
    assert "total:" in out and "{" not in out  # no epoch ran
    assert not any(p.name.startswith("gpu_check") for p in tmp_path.iterdir())
