"""Same commands + seed -> same bytes and same metrics on CPU: a tiny generate -> pretrain -> finetune pipeline
run twice, each time in its own interpreter, compared file by file."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

PIPELINE = r"""
import sys
from radiofm.cli.main import main
root = sys.argv[1]
common = ["--no-progress", "--device", "cpu", "--seed", "5", "--batch-size", "2"]
assert main(["generate", "ism", "--out", f"{root}/ism", "--recordings", "3", "--seed", "5", "--no-progress"]) == 0
assert main(["pretrain", "--data", f"{root}/ism", "--model", "convlstm-tiny", "--out", f"{root}/pre",
             "--epochs", "2", "--cache-dir", f"{root}/cache", *common]) == 0
assert main(["finetune", "forecasting", "--data", f"{root}/ism", "--init", f"{root}/pre", "--out", f"{root}/ft",
             "--mode", "last-k", "--epochs", "1", *common]) == 0
"""
VOLATILE = ("samples_per_s", "epoch_time_s", "data_wait_frac", "peak_rss_mb")


def _snapshot(root: Path) -> dict[str, str]:
    """Every output file's hash; metrics.jsonl without its wall-clock fields."""
    out = {}
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.suffix == ".lock":
            continue
        rel = str(p.relative_to(root))
        data = p.read_bytes()
        if p.name == "metrics.jsonl":
            data = json.dumps(
                [{k: v for k, v in json.loads(x).items() if k not in VOLATILE} for x in data.splitlines()]
            )
            data = data.encode()
        out[rel] = hashlib.sha256(data).hexdigest()
    return out


def test_generate_pretrain_finetune_twice_gives_identical_outputs(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    snaps = []
    root = tmp_path / "run"  # the same command twice: same paths (cache keys hash the source paths)
    for _ in range(2):
        proc = subprocess.run(
            [sys.executable, "-c", PIPELINE, str(root)], capture_output=True, text=True, env=env, timeout=900
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        snaps.append(_snapshot(root))
        shutil.rmtree(root)
    assert "pre/model.safetensors" in snaps[0] and "ft/model.safetensors" in snaps[0]
    assert any(k.endswith(".sigmf-data") for k in snaps[0])
    differing = sorted(k for k in set(snaps[0]) | set(snaps[1]) if snaps[0].get(k) != snaps[1].get(k))
    assert not differing
