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
import json, os, resource, sys, tempfile, traceback
import radiofm.annotate.output, radiofm.cli.inspect, radiofm.cli.main
results = []
for argv in json.loads(sys.stdin.read()):
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    pid = os.fork()
    if pid == 0:
        if argv[0].startswith("--fsize="):  # a small file-size limit: writes fail like on a full disk
            limit = int(argv.pop(0).split("=")[1])
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
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


def _odd_but_valid(tmp_path):
    labels = ["$$", "$x^$", "$\\frac{$", "$\\undefinedcommand$", "x" * 20000, "lone \ud800 surrogate"]
    anns = [{"core:sample_start": i * 500, "core:sample_count": 400, "core:label": "placeholder"} for i in range(6)]
    meta = _write(
        tmp_path,
        "odd $name$",
        lambda m: m["global"].__setitem__("core:description", "desc \udc80 with a lone surrogate"),
        annotations=anns,
    )
    doc = json.loads(meta.read_text())
    for a, lab in zip(doc["annotations"], labels):
        a["core:label"] = lab
    meta.write_text(json.dumps(doc))  # json writes the lone surrogates as \ud800 escapes
    return meta


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every command line of this module, run once in one driver: {case: (argv, CompletedProcess)}."""
    tmp = tmp_path_factory.mktemp("cli")
    model = tmp / "model"  # a real checkpoint, of the wrong kind: a nasty recording must be refused first
    save_checkpoint(model, create_model("vit-tiny", img_size=(32, 32), depth=1, decoder_depth=1), kind="mae")
    cases = {}
    (tmp / "nasty").mkdir()
    for name, path in nasty_corpus(tmp / "nasty").items():
        cases[f"inspect:{name}"] = ["inspect", path, "--out", tmp / "png" / f"{name}.png"]
        cases[f"annotate:{name}"] = ["annotate", path, "--model", model, "--out", tmp / "out" / name, "--no-progress"]
    cases["odd"] = ["inspect", _odd_but_valid(tmp), "--out", tmp / "odd.png"]
    rng = np.random.default_rng(1)
    iq = rng.standard_normal(8192) + 1j * rng.standard_normal(8192)
    huge = _write(tmp, "huge", iq=(iq / np.abs(iq).max() * 3.3e38).astype(np.complex64))
    cases["huge"] = ["inspect", huge, "--out", tmp / "huge.png"]
    cases["dash"] = ["inspect", "-weird.sigmf-meta"]
    blocker = tmp / "afile"
    blocker.write_text("x")
    rec = _write(tmp, "rec")
    out = blocker / "sub" / "out"
    cases["dest:inspect"] = ["inspect", rec, "--out", out]
    cases["dest:annotate"] = ["annotate", rec, "--model", tmp / "nomodel", "--out", out]
    cases["dest:evaluate"] = ["evaluate", "reconstruction", "--model", tmp / "nomodel", "--data", tmp, "--out", out]
    cases["disk-full:inspect"] = ["--fsize=2000", "inspect", rec, "--out", tmp / "full" / "rec.png"]
    npy = tmp / "bare.npy"
    np.save(npy, (rng.standard_normal(4096) * 0.1).astype(np.complex64))
    cases["npy:no-rate"] = ["inspect", npy]
    cases["npy:rate"] = ["inspect", npy, "--sample-rate", "2e6"]
    cases["npy:annotate-no-rate"] = ["annotate", npy, "--model", tmp / "m", "--out", tmp / "o"]
    cases["npy:annotate-rate"] = ["annotate", npy, "--model", tmp / "m", "--out", tmp / "o", "--sample-rate", "2e6"]
    names = list(cases)
    done = _run_many([cases[n] for n in names])
    return tmp, {n: (cases[n], proc) for n, proc in zip(names, done)}


def test_inspect_and_annotate_refuse_every_nasty_recording_in_one_line(runs):
    tmp, results = runs
    nasty = {k: v for k, v in results.items() if k.startswith(("inspect:", "annotate:"))}
    assert len(nasty) >= 24
    for argv, proc in nasty.values():
        _assert_one_line_error(proc)
        assert Path(argv[1]).stem in proc.stderr.replace("\\n", "\n"), (argv, proc.stderr)
        assert "mae" not in proc.stderr, (argv, proc.stderr)  # refused for the recording, not the model
    for folder in (tmp / "png", tmp / "out"):  # no output, no temporary file
        assert not folder.exists() or not any(folder.iterdir())


def test_odd_but_valid_metadata_renders(runs):
    tmp, results = runs
    proc = results["odd"][1]
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp / "odd.png").stat().st_size > 0 and proc.stderr == ""
    assert all(len(line) < 400 for line in proc.stdout.splitlines())
    assert "$x^$" in proc.stdout and "lone ? surrogate" in proc.stdout


def test_cf32_near_float_max_is_clean(runs):
    proc = runs[1]["huge"][1]
    assert "Warning" not in proc.stderr
    assert proc.returncode in (0, 2) and len(proc.stderr.strip().splitlines()) <= 1


def test_rec_starting_with_dash_is_a_radiofm_error(runs):
    proc = runs[1]["dash"][1]
    _assert_one_line_error(proc)
    assert "put --" in proc.stderr


@pytest.mark.parametrize("command", ["inspect", "annotate", "evaluate"])
def test_unwritable_destination_is_refused_before_work(runs, command):
    proc = runs[1][f"dest:{command}"][1]
    _assert_one_line_error(proc)
    assert "afile is not a folder" in proc.stderr  # the destination, not the missing model, is reported


def test_failed_write_is_one_line_and_leaves_nothing(runs):
    tmp, results = runs
    proc = results["disk-full:inspect"][1]
    _assert_one_line_error(proc)
    assert "cannot write" in proc.stderr and "rec.png" in proc.stderr
    assert not any((tmp / "full").iterdir())  # neither the picture nor a temporary file


def test_npy_sample_rate_flag(runs):
    results = runs[1]
    _assert_one_line_error(results["npy:no-rate"][1])
    assert "--sample-rate" in results["npy:no-rate"][1].stderr
    assert results["npy:rate"][1].returncode == 0 and "sample rate  2 MHz" in results["npy:rate"][1].stdout
    proc = results["npy:annotate-no-rate"][1]
    _assert_one_line_error(proc)
    assert "sample rate" in proc.stderr and "--sample-rate" in proc.stderr
    proc = results["npy:annotate-rate"][1]  # the rate is taken: the recording is now refused for its length
    _assert_one_line_error(proc)
    assert "sample rate" not in proc.stderr or "short" in proc.stderr


def test_read_only_destination_is_refused(tmp_path):
    from radiofm.errors import OutputError
    from radiofm.io import check_destination

    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o555)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as root: a mode-555 folder is still writable")
        with pytest.raises(OutputError, match="cannot write in folder"):
            check_destination(ro / "x.png", kind="file")
    finally:
        os.chmod(ro, 0o755)
