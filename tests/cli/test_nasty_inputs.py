"""A corpus of hostile or careless recordings through `radiofm inspect` and `radiofm annotate` as subprocesses:
each is refused with exit 2 and one `radiofm: error:` line naming the file, no traceback, no output file. Plus
the odd-but-valid ones (mathtext labels, lone surrogates, a huge label) that must render, and output folders
that cannot be written (refused before any work)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from radiofm.data import write_sigmf
from radiofm.models import create_model, save_checkpoint

FS = 1e6


def _write(tmp_path, name, meta_edit=None, text_edit=None, iq=None, **kw):
    rng = np.random.default_rng(0)
    if iq is None:
        iq = (rng.standard_normal(4096) + 1j * rng.standard_normal(4096)).astype(np.complex64) * 0.1
    meta_path = write_sigmf(tmp_path / name, iq, sample_rate_hz=FS, center_freq_hz=2.4e9, **kw)
    if meta_edit is not None or text_edit is not None:
        meta = json.loads(meta_path.read_text())
        if meta_edit is not None:
            meta_edit(meta)
        text = json.dumps(meta)
        if text_edit is not None:
            text = text_edit(text)
        meta_path.write_text(text)
    return meta_path


def _set_global(key, value):
    return lambda m: m["global"].__setitem__(key, value)


def nasty_corpus(tmp_path) -> dict[str, object]:
    """name -> path of a recording every reader must refuse."""
    c = {}
    c["huge_int_rate"] = _write(
        tmp_path,
        "huge_int_rate",
        text_edit=lambda t: t.replace('"core:sample_rate": 1000000.0', '"core:sample_rate": ' + "9" * 5000),
    )
    c["nan_frequency"] = _write(tmp_path, "nan_frequency", text_edit=lambda t: t.replace("2400000000.0", "NaN"))
    c["inf_rate"] = _write(tmp_path, "inf_rate", text_edit=lambda t: t.replace("1000000.0", "1e999"))
    deep = "[" * 100_000 + "]" * 100_000
    c["deep_json"] = _write(
        tmp_path, "deep_json", text_edit=lambda t: t.replace('"core:recorder": "radiofm"', '"x:deep": ' + deep)
    )
    c["tiny_rate"] = _write(tmp_path, "tiny_rate", _set_global("core:sample_rate", 0.001))
    c["capture_beyond"] = _write(
        tmp_path, "capture_beyond", lambda m: m["captures"].append({"core:sample_start": 10**9, "core:frequency": 1e9})
    )
    c["null_channels"] = _write(tmp_path, "null_channels", _set_global("core:num_channels", None))
    c["two_channels"] = _write(tmp_path, "two_channels", _set_global("core:num_channels", 2))
    (tmp_path / "outside").mkdir()
    _write(tmp_path / "outside", "secret")
    c["traversal"] = _write(tmp_path, "traversal", _set_global("core:dataset", "../outside/secret.sigmf-data"))
    bad_utf8 = tmp_path / "bad_utf8.sigmf-meta"
    bad_utf8.write_bytes(b'{"global": {"core:description": "\xff\xfe"}}')
    (tmp_path / "bad_utf8.sigmf-data").write_bytes(b"\0" * 64)
    c["bad_utf8"] = bad_utf8
    npy = tmp_path / "sidecar.npy"
    np.save(npy, np.zeros(4096, np.complex64))
    (tmp_path / "sidecar.json").write_text(json.dumps({"sample_rate_hz": 1e6, "center_freq_hz": "abc"}))
    c["npy_sidecar_str"] = npy
    npy2 = tmp_path / "sidecar_list.npy"
    np.save(npy2, np.zeros(4096, np.complex64))
    (tmp_path / "sidecar_list.json").write_text(json.dumps({"sample_rate_hz": 1e6, "center_freq_hz": [1, 2]}))
    c["npy_sidecar_list"] = npy2
    newline_dir = tmp_path / "new\nline"
    newline_dir.mkdir()
    c["newline_name"] = _write(newline_dir, "rec\nname", _set_global("core:sample_rate", -5.0))
    trunc = _write(tmp_path, "truncated")
    with open(trunc.with_suffix(".sigmf-data"), "ab") as fh:
        fh.write(b"\0\0\0")
    c["truncated"] = trunc
    c["empty_meta"] = tmp_path / "empty_meta.sigmf-meta"
    c["empty_meta"].write_text("")
    (tmp_path / "empty_meta.sigmf-data").write_bytes(b"\0" * 64)
    return c


# Runs each command line in its own forked process (after one import of radiofm and torch, so a dozen commands
# take seconds, not a dozen interpreter start-ups): real exit status, real stdout/stderr, tracebacks included.
DRIVER = r"""
import json, os, sys, tempfile, traceback
import radiofm.annotate.output, radiofm.cli.inspect, radiofm.cli.main
results = []
for argv in json.loads(sys.stdin.read()):
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    pid = os.fork()
    if pid == 0:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        sys.stdout = os.fdopen(1, "w")
        sys.stderr = os.fdopen(2, "w")
        try:
            code = radiofm.cli.main.main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    out.seek(0)
    err.seek(0)
    results.append([os.waitstatus_to_exitcode(status), out.read().decode("utf-8", "replace"),
                    err.read().decode("utf-8", "replace")])
print(json.dumps(results))
"""


def _run_many(argvs, timeout=300):
    """[(returncode, stdout, stderr)] of ``radiofm ARGV`` for each argv, each in a separate process."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER],
        input=json.dumps([[str(a) for a in argv] for argv in argvs]),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [
        subprocess.CompletedProcess(argv, rc, out, err) for argv, (rc, out, err) in zip(argvs, json.loads(proc.stdout))
    ]


def _radiofm(*argv, timeout=300):
    return _run_many([argv], timeout=timeout)[0]


def _assert_one_line_error(proc):
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("radiofm: error:"), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "Warning" not in proc.stderr


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return nasty_corpus(tmp_path_factory.mktemp("nasty"))


def test_inspect_and_annotate_refuse_every_nasty_recording_in_one_line(corpus, tmp_path):
    model = tmp_path / "model"  # a real checkpoint, of the wrong kind: the recording must be refused first
    save_checkpoint(model, create_model("vit-tiny", img_size=(32, 32), depth=1, decoder_depth=1), kind="mae")
    argvs = []
    for name, path in corpus.items():
        argvs.append(["inspect", path, "--out", tmp_path / "png" / f"{name}.png"])
        argvs.append(["annotate", path, "--model", model, "--out", tmp_path / "out" / name, "--no-progress"])
    for argv, proc in zip(argvs, _run_many(argvs)):
        _assert_one_line_error(proc)
        assert Path(argv[1]).stem in proc.stderr.replace("\\n", "\n"), (argv, proc.stderr)
        assert "mae" not in proc.stderr, (argv, proc.stderr)  # refused for the recording, not the model
    for folder in (tmp_path / "png", tmp_path / "out"):  # no output, no temporary file
        assert not folder.exists() or not any(folder.iterdir())


def test_odd_but_valid_metadata_renders(tmp_path):
    labels = ["$$", "$x^$", "$\\frac{$", "$\\undefinedcommand$", "x" * 20000, "lone \ud800 surrogate"]
    anns = [{"core:sample_start": i * 500, "core:sample_count": 400, "core:label": lab} for i, lab in enumerate(labels)]
    meta = _write(
        tmp_path,
        "odd $name$",
        lambda m: m["global"].__setitem__("core:description", "desc \udc80 with a lone surrogate"),
        annotations=[{**a, "core:label": "placeholder"} for a in anns],
    )
    doc = json.loads(meta.read_text())
    for a, lab in zip(doc["annotations"], labels):
        a["core:label"] = lab
    meta.write_text(json.dumps(doc))  # json escapes the lone surrogates as \ud800
    out = tmp_path / "odd.png"
    proc = _radiofm("inspect", meta, "--out", out, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert out.stat().st_size > 0 and proc.stderr == ""
    assert all(len(line) < 400 for line in proc.stdout.splitlines())


def test_cf32_near_float_max_is_clean(tmp_path):
    rng = np.random.default_rng(1)
    iq = rng.standard_normal(8192) + 1j * rng.standard_normal(8192)
    meta = _write(tmp_path, "huge", iq=(iq / np.abs(iq).max() * 3.3e38).astype(np.complex64))
    proc = _radiofm("inspect", meta, "--out", tmp_path / "huge.png")
    assert "Warning" not in proc.stderr
    assert proc.returncode in (0, 2) and len(proc.stderr.strip().splitlines()) <= 1


def test_rec_starting_with_dash_is_a_radiofm_error(tmp_path):
    proc = _radiofm("inspect", "-weird.sigmf-meta")
    _assert_one_line_error(proc)
    assert "--" in proc.stderr


@pytest.mark.parametrize("command", ["inspect", "annotate", "evaluate"])
def test_unwritable_destination_is_refused_before_work(tmp_path, command):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    rec = _write(tmp_path, "rec")
    out = blocker / "sub" / "out"
    argv = {
        "inspect": ["inspect", rec, "--out", out],
        "annotate": ["annotate", rec, "--model", tmp_path / "nomodel", "--out", out],
        "evaluate": ["evaluate", "reconstruction", "--model", tmp_path / "nomodel", "--data", tmp_path, "--out", out],
    }[command]
    proc = _radiofm(*argv)
    _assert_one_line_error(proc)
    assert "afile is not a folder" in proc.stderr  # the destination, not the missing model, is reported


def test_read_only_destination_is_refused(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o555)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as root: a mode-555 folder is still writable")
        proc = _radiofm("inspect", _write(tmp_path, "rec"), "--out", ro / "x.png")
        _assert_one_line_error(proc)
        assert "cannot write in folder" in proc.stderr
    finally:
        os.chmod(ro, 0o755)


def test_npy_sample_rate_flag(tmp_path):
    npy = tmp_path / "bare.npy"
    np.save(npy, (np.random.default_rng(0).standard_normal(4096) * 0.1).astype(np.complex64))
    _assert_one_line_error(_radiofm("inspect", npy))
    proc = _radiofm("inspect", npy, "--sample-rate", "2e6")
    assert proc.returncode == 0 and "sample rate  2 MHz" in proc.stdout
    proc = _radiofm("annotate", npy, "--model", tmp_path / "m", "--out", tmp_path / "o")
    _assert_one_line_error(proc)
    assert "sample rate" in proc.stderr and "--sample-rate" in proc.stderr
