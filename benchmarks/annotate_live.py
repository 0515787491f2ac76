"""Does ``radiofm annotate --follow`` keep up with a radio? A writer appends a 61.44 MS/s ci16 capture to a growing
SigMF file at the radio's own pace while ``radiofm annotate --follow --idle-timeout T`` annotates it.

For each configuration the lag is the wall time from the writer's last sample to the end of the annotate run,
less the idle timeout T that ends it: a run that keeps up finishes within its fixed end-of-stream work (the
physical-layer stage over all carriers, the outputs; the data file is then a hard link) whatever the stream's
length, one that falls behind finishes ~(1/RTF - 1) x S late. The writer thread only copies bytes (one
pre-tiled 40 ms frame, re-sent), so it takes little of the CPU the analysis needs. Configurations: ``follow``
(every frame, the defaults with ``--no-picture``) and ``follow-stepK`` (``--frame-step K``).
Results: ``benchmarks/results/annotate_live.json``.

    PYTHONPATH=. python benchmarks/annotate_live.py --work /tmp/live --seconds 8 --model DEMO/segmentation
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from _annotate_setup import FC, FRAME, FS, demo_model, generator_frames, tiled_capture
from _common import print_table, write_results

CONFIGS = {"follow": [], "follow-step2": ["--frame-step", "2"], "follow-step4": ["--frame-step", "4"]}


def _writer(src: Path, dst: Path, seconds: float, done: list) -> None:
    """Append ``seconds`` of the 40 ms frame in ``src`` to ``dst`` at 61.44 MS/s (ci16: 4 bytes per sample)."""
    frame = src.read_bytes()
    chunk, rate = len(frame) // 4, FS * 4  # bytes per 10 ms, bytes per second
    total = int(round(seconds * FS)) * 4
    t0 = time.perf_counter()
    with open(dst, "wb", buffering=0) as f:
        sent = 0
        while sent < total:
            k = min(chunk, total - sent)
            start = sent % len(frame)
            piece = frame[start : start + k]
            f.write(piece)
            sent += len(piece)
            ahead = sent / rate - (time.perf_counter() - t0)
            if ahead > 0:
                time.sleep(ahead)
    done.append(time.perf_counter() - t0)
    done.append(time.perf_counter())


def _run(name: str, frame: Path, model: Path, work: Path, seconds: float, idle: float) -> dict:
    prefix = work / f"live-{name}"
    meta, data = prefix.with_suffix(".sigmf-meta"), prefix.with_suffix(".sigmf-data")
    data.unlink(missing_ok=True)
    body = {"global": {"core:datatype": "ci16_le", "core:sample_rate": FS, "core:version": "1.2.6"},
            "captures": [{"core:sample_start": 0, "core:frequency": FC}], "annotations": []}  # fmt: skip
    meta.write_text(json.dumps(body))
    data.write_bytes(b"")
    cmd = [sys.executable, "-m", "radiofm.cli.main", "annotate", str(meta), "--model", str(model), "--out",
           str(work / f"out-{name}"), "--follow", "--idle-timeout", str(idle), "--no-progress", "--no-picture",
           *CONFIGS[name]]  # fmt: skip
    done: list = []
    writer = threading.Thread(target=_writer, args=(frame, data, seconds, done))
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    writer.start()
    out, err = proc.communicate()
    end = time.perf_counter()
    writer.join()
    if proc.returncode:
        raise SystemExit(f"{name} failed:\n{err[-2000:]}")
    anns = json.loads((work / f"out-{name}.sigmf-meta").read_text())["annotations"]
    for p in work.glob(f"out-{name}.*"):
        p.unlink()
    data.unlink()
    # writer_s: how long the writer took (the stream's own pace when it kept up with real time)
    return {"config": name, "stream_s": seconds, "writer_s": round(done[0], 2), "run_s": round(end - t0, 2),
            "lag_s": round(end - done[1] - idle, 2), "annotations": len(anns)}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", type=Path, default=Path("/tmp/radiofm-annotate-live"))
    p.add_argument("--seconds", type=float, default=8.0, help="length of the live stream")
    p.add_argument("--configs", default=",".join(CONFIGS))
    p.add_argument("--idle-timeout", type=float, default=1.0, help="annotate's --idle-timeout (ends each run)")
    p.add_argument("--model", type=Path, default=None, help="segmentation run (default: the demo architecture)")
    p.add_argument("--name", default="annotate_live")
    args = p.parse_args()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    frames = generator_frames(work, 1)
    model = args.model or demo_model(work / "seg")
    one = tiled_capture(work / "frame", FRAME / FS, frames)  # exactly one 40 ms frame
    frame = one.with_suffix(".sigmf-data")
    rows = [_run(name, frame, model, work, args.seconds, args.idle_timeout) for name in args.configs.split(",")]
    print_table(rows)
    print(f"wrote {write_results(args.name, {'sample_rate_hz': FS, 'model': str(model), 'rows': rows})}")


if __name__ == "__main__":
    main()
