"""`radiofm annotate` end to end with a real (2-step) segmentation model on tiny generated captures, and bad input."""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings

import numpy as np
import pytest
import torch

from radiofm.cli.main import main
from radiofm.data import open_recording, write_sigmf

pytest.importorskip("radiofm.tasks.segmentation")

FS = 61.44e6
CORE_KEYS = ("core:sample_start", "core:sample_count", "core:freq_lower_edge", "core:freq_upper_edge", "core:label")


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one torch thread


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A 4-frame NR/LTE set with its captures as SigMF, a tiny MAE and a segmentation model fine-tuned from it."""
    from radiofm.data.nrlte import generate_dataset
    from radiofm.models import create_model, save_checkpoint

    root = tmp_path_factory.mktemp("annotate")
    generate_dataset(root / "train", n_frames=4, split="train", seed=0, iq=True, progress=False)
    torch.manual_seed(0)
    mae = create_model("vit-tiny", img_size=(32, 32), depth=2, decoder_depth=1)
    save_checkpoint(root / "mae", mae, kind="mae", extra={"model_name": "vit-tiny"})
    argv = ["finetune", "segmentation", "--data", str(root / "train"), "--init", str(root / "mae")]
    argv += ["--out", str(root / "seg"), "--mode", "frozen", "--epochs", "1", "--batch-size", "2", "--no-progress"]
    assert main([*argv, "--head-dim", "32", "--head-heads", "2", "--head-depth", "1"]) == 0
    return root


def _hashes(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _heap_calls(monkeypatch) -> list:
    """Record the commands' calls of radiofm.heap.retain_freed_memory (the allocator set for annotate's arrays)."""
    import radiofm.heap

    calls = []
    monkeypatch.setattr(radiofm.heap, "retain_freed_memory", lambda: calls.append(1) or True)
    return calls


def test_annotate_round_trip(world, tmp_path, capsys, monkeypatch):
    from sigmf.sigmffile import fromfile

    src = world / "train" / "iq" / "frame_0000.sigmf-meta"
    before = _hashes(src.parent)
    out = tmp_path / "out" / "cap"
    argv = ["annotate", str(src), "--model", str(world / "seg"), "--out", str(out), "--no-progress"]
    heap = _heap_calls(monkeypatch)
    assert main([*argv, "--threshold", "0.4", "--min-duration-ms", "0.5", "--batch-size", "1"]) == 0
    assert heap == [1]
    assert "cap.sigmf-data (hard link to the input's samples)" in capsys.readouterr().out
    assert (out.parent / "cap.sigmf-data").samefile(src.with_suffix(".sigmf-data"))  # no copy made
    first = (out.parent / "cap.sigmf-meta").read_bytes()
    assert main([*argv, "--copy-data"]) == 0  # the same prefix again: the earlier link is replaced, not refused
    assert "hard link" not in capsys.readouterr().out
    assert not (out.parent / "cap.sigmf-data").samefile(src.with_suffix(".sigmf-data"))
    assert main([*argv, "--threshold", "0.4", "--min-duration-ms", "0.5", "--batch-size", "1"]) == 0
    assert _hashes(src.parent) == before  # the input is never modified
    assert (out.parent / "cap.sigmf-meta").read_bytes() == first  # the same command, the same bytes (no CPU times)
    assert sorted(p.name for p in out.parent.iterdir()) == ["cap.png", "cap.sigmf-data", "cap.sigmf-meta"]
    fromfile(str(out) + ".sigmf-meta").validate()
    meta = json.loads((out.parent / "cap.sigmf-meta").read_text())
    assert meta["global"]["core:datatype"] == "cf32_le" and meta["global"]["radiofm:split"] == "train"
    found = [a for a in meta["annotations"] if a.get("core:generator", "").endswith(" annotate")]
    truth = json.loads(src.read_text())["annotations"]  # the capture's own, kept beside what was found
    assert len(meta["annotations"]) == len(found) + len(truth) and found
    for a in found:  # a 2-step model finds whatever it finds; the format must hold
        assert all(k in a for k in CORE_KEYS) and a["core:label"] in ("NR", "LTE", "unknown")
        assert 0.0 <= a["radiofm:confidence"] <= 1.0 and a["core:freq_lower_edge"] < a["core:freq_upper_edge"]
        assert set(a["radiofm:scores"]) == {"NR", "LTE"} and "radiofm:evidence" in a
    assert meta["global"]["radiofm:annotate"]["phy"]["max_ms"] == 20.0
    off = tmp_path / "off" / "cap"
    assert (
        main([*argv[:-3], "--out", str(off), "--no-progress", "--threshold", "0.4", "--no-phy", "--min-score", "0.6"])
        == 0
    )
    meta_off = json.loads((off.parent / "cap.sigmf-meta").read_text())
    assert meta_off["global"]["radiofm:annotate"]["phy"] is None
    assert all("radiofm:evidence" not in a for a in meta_off["annotations"])
    rec = open_recording(out.parent / "cap.sigmf-meta")
    assert rec.n_samples == open_recording(src).n_samples and rec.center_freq_hz == 3.5e9
    assert (out.parent / "cap.png").read_bytes()[:4] == b"\x89PNG"


def _error(capsys, argv, match, out_dir):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("radiofm: error:") and match in err and len(err.strip().splitlines()) == 1, err
    assert not out_dir.exists() or list(out_dir.iterdir()) == []


def test_bad_inputs(world, tmp_path, capsys):
    src = str(world / "train" / "iq" / "frame_0001.sigmf-meta")
    out_dir = tmp_path / "o"
    out = str(out_dir / "x")
    seg = str(world / "seg")
    _error(capsys, ["annotate", src, "--model", str(world / "mae"), "--out", out], "segmentation", out_dir)
    _error(capsys, ["annotate", src, "--model", str(tmp_path / "nope"), "--out", out], "nope", out_dir)
    _error(
        capsys, ["annotate", str(tmp_path / "missing.sigmf-meta"), "--model", seg, "--out", out], "not found", out_dir
    )
    short = write_sigmf(tmp_path / "short", np.zeros(5 * 61440, np.complex64), sample_rate_hz=FS)
    _error(capsys, ["annotate", str(short), "--model", seg, "--out", out], "needs at least 10 ms", out_dir)
    slow = write_sigmf(tmp_path / "slow", np.zeros(100_000, np.complex64), sample_rate_hz=1e6)
    _error(capsys, ["annotate", str(slow), "--model", seg, "--out", out], "below the 1.92 MHz minimum", out_dir)
    base = str(world / "train" / "iq" / "frame_0001")
    _error(capsys, ["annotate", src, "--model", seg, "--out", base], "would overwrite the input", out_dir)
    with pytest.raises(SystemExit) as exc:  # argparse rejects impossible flag values itself
        main(["annotate", src, "--model", seg, "--out", out, "--threshold", "1.5"])
    assert exc.value.code == 2 and "--threshold" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["annotate", src, "--model", seg, "--out", out, "--min-score", "2"])
    assert exc.value.code == 2 and "--min-score" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # torch.set_num_threads(10**20) was an OverflowError traceback
        main(["annotate", src, "--model", seg, "--out", out, "--threads", str(10**20)])
    assert exc.value.code == 2 and "thread count from 1 to 1024" in capsys.readouterr().err


def test_follow_flags_and_a_failed_run_leave_the_earlier_live_log(world, tmp_path, capsys):
    src = str(world / "train" / "iq" / "frame_0001.sigmf-meta")
    out = tmp_path / "o" / "x"
    out.parent.mkdir()
    log = out.with_suffix(".live.jsonl")
    log.write_text('{"core:label": "NR"}\n')  # an earlier run's
    argv = ["annotate", src, "--model", str(tmp_path / "nope"), "--out", str(out), "--follow"]
    assert main(argv) == 2 and "nope" in capsys.readouterr().err
    assert log.read_text() == '{"core:label": "NR"}\n'
    for value in ("10", "1e1", "9"):  # the default's value too: it needs --follow all the same
        argv = ["annotate", src, "--model", str(world / "seg"), "--out", str(out), "--idle-timeout", value]
        assert main(argv) == 2 and "need --follow" in capsys.readouterr().err
    fifo = tmp_path / "f.sigmf-meta"
    fifo.write_text((world / "train" / "iq" / "frame_0001.sigmf-meta").read_text())
    os.mkfifo(tmp_path / "f.sigmf-data")
    assert main(["annotate", str(fifo), "--model", str(world / "seg"), "--out", str(out)]) == 2
    assert "is not a regular file" in capsys.readouterr().err


def test_nonfinite_refused_or_repaired(world, tmp_path, capsys):
    x = np.random.default_rng(0).standard_normal(12 * 61440).astype(np.float32).view(np.complex64)
    x[[3, 777]] = np.nan
    src = write_sigmf(tmp_path / "nan", x, sample_rate_hz=FS / 2)
    out_dir = tmp_path / "o"
    argv = ["annotate", str(src), "--model", str(world / "seg"), "--out", str(out_dir / "x"), "--no-progress"]
    _error(capsys, argv, "2 non-finite (NaN/Inf) samples", out_dir)
    assert main([*argv, "--repair-nonfinite"]) == 0
    assert "repaired 2 non-finite samples" in capsys.readouterr().err
    assert sorted(p.name for p in out_dir.iterdir()) == ["x.png", "x.sigmf-data", "x.sigmf-meta"]


def test_receiver_lines_and_mixer_image_undone_and_named(world, tmp_path, capsys):
    from radiofm.synth.impairments import apply_iq_imbalance_

    rng = np.random.default_rng(1)
    x = rng.standard_normal(2 * 12 * 61440).astype(np.float32).view(np.complex64)
    x += np.exp(2j * np.pi * 5e6 / (FS / 2) * np.arange(x.size)).astype(np.complex64)  # a CW spur at +5 MHz
    apply_iq_imbalance_(x, gain_db=1.5, phase_deg=6.0)  # ... mirrored at -5 MHz, 20 dB down: gone once undone
    src = write_sigmf(tmp_path / "spur", x, sample_rate_hz=FS / 2)
    out = tmp_path / "o" / "x"
    assert main(["annotate", str(src), "--model", str(world / "seg"), "--out", str(out), "--no-progress"]) == 0
    err = capsys.readouterr().err
    said = re.search(r"undid the receiver's I/Q imbalance \(every carrier's mirror image ([\d.]+) dB under it\)", err)
    assert said and float(said.group(1)) == pytest.approx(19.93, abs=0.15)  # as measured: 19.9 or 20.0
    assert "removed 1 narrow receiver line (LO leakage or spurs) at +5.0000 MHz" in err
    meta = json.loads(out.with_suffix(".sigmf-meta").read_text())
    assert meta["global"]["radiofm:annotate"]["lines_removed_hz"] == [pytest.approx(5e6, abs=5.0)]
    assert meta["global"]["radiofm:annotate"]["image_rejection_db_corrected"] == pytest.approx(19.93, abs=0.3)


def test_a_frequency_dependent_imbalance_undone_and_named(world, tmp_path, capsys):
    from radiofm.synth.impairments import apply_iq_skew_

    rng = np.random.default_rng(3)
    n = 12 * 61440
    x = rng.standard_normal(2 * n).astype(np.float32).view(np.complex64)
    f = np.fft.fftfreq(n)
    band = ((f > 0.30) & (f < 0.42)) | ((f > -0.20) & (f < -0.12))  # images ~22 and ~28 dB under the carriers
    x += np.fft.ifft(np.fft.fft(rng.standard_normal(n) + 1j * rng.standard_normal(n)) * band * 30).astype(np.complex64)
    apply_iq_skew_(x, gain_db=0.5, phase_deg=1.0, skew_samples=0.06)
    src = write_sigmf(tmp_path / "skew", x, sample_rate_hz=FS / 2)
    out = tmp_path / "o" / "x"
    assert main(["annotate", str(src), "--model", str(world / "seg"), "--out", str(out), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "undid the receiver's frequency-dependent I/Q imbalance (mirror images 2" in err
    got = json.loads(out.with_suffix(".sigmf-meta").read_text())["global"]["radiofm:annotate"]
    worst, best = got["image_rejection_db_range"]
    assert got["image_rejection_db_corrected"] == worst and 20.0 < worst < 24.0 and best > worst + 3.0


def test_a_clipped_capture_is_reported(world, tmp_path, capsys):
    x = np.random.default_rng(2).standard_normal(2 * 12 * 61440).astype(np.float32).view(np.complex64)
    src = write_sigmf(tmp_path / "hot", x * np.float32(0.4), sample_rate_hz=FS / 2, datatype="ci8")  # ~1.2 % at rails
    out = tmp_path / "o" / "x"
    assert main(["annotate", str(src), "--model", str(world / "seg"), "--out", str(out), "--no-progress"]) == 0
    assert "of the I/Q values sit at the ADC's full scale: the receiver clipped" in capsys.readouterr().err
    meta = json.loads(out.with_suffix(".sigmf-meta").read_text())
    assert meta["global"]["radiofm:annotate"]["clipped_share"] == pytest.approx(0.0124, abs=0.003)
    quiet = write_sigmf(tmp_path / "quiet", x * np.float32(0.1), sample_rate_hz=FS / 2, datatype="ci8")
    argv = ["annotate", str(quiet), "--model", str(world / "seg"), "--out", str(tmp_path / "q"), "--no-progress"]
    assert main(argv) == 0
    assert "clipped" not in capsys.readouterr().err


def test_no_picture_int8_and_follow_of_a_finished_file(world, tmp_path, capsys):
    src = world / "train" / "iq" / "frame_0002.sigmf-meta"
    seg = str(world / "seg")
    one, follow, fast = tmp_path / "a" / "one", tmp_path / "b" / "fol", tmp_path / "c" / "q"
    assert main(["annotate", str(src), "--model", seg, "--out", str(one), "--no-progress", "--no-picture"]) == 0
    assert sorted(p.name for p in one.parent.iterdir()) == ["one.sigmf-data", "one.sigmf-meta"]  # no picture
    argv = ["annotate", str(src), "--model", seg, "--out", str(follow), "--follow", "--idle-timeout", "0.2"]
    assert main(argv) == 0
    assert sorted(p.name for p in follow.parent.iterdir()) == ["fol.live.jsonl", "fol.png", "fol.sigmf-data",
                                                                "fol.sigmf-meta"]  # fmt: skip
    assert (follow.parent / "fol.sigmf-data").samefile(src.with_suffix(".sigmf-data"))  # ended by idle: linked
    dur = tmp_path / "d" / "dur"  # stopped by --duration: the recording may grow on, so its samples are copied
    assert main(["annotate", str(src), "--model", seg, "--out", str(dur), "--follow", "--duration", "0.02"]) == 0
    whole = src.with_suffix(".sigmf-data").stat().st_size  # a 40 ms capture: --duration 0.02 takes half of it
    assert (dur.parent / "dur.sigmf-data").stat().st_nlink == 1  # a copy of exactly the samples analysed
    assert (dur.parent / "dur.sigmf-data").stat().st_size == whole // 2
    strip = lambda p: json.loads(p.read_text())["annotations"]  # noqa: E731
    assert strip(follow.parent / "fol.sigmf-meta") == strip(one.parent / "one.sigmf-meta")
    live = [json.loads(line) for line in (follow.parent / "fol.live.jsonl").read_text().splitlines()]
    assert len(live) <= len(strip(one.parent / "one.sigmf-meta"))  # one 40 ms block: nothing final before the end
    assert main(["annotate", str(src), "--model", seg, "--out", str(fast), "--no-progress", "--quantize", "int8"]) == 0
    capsys.readouterr()
    assert main(["annotate", str(src), "--model", seg, "--out", str(fast), "--duration", "1"]) == 2
    assert "need --follow" in capsys.readouterr().err
    argv = ["annotate", str(src), "--model", seg, "--out", str(fast), "--frame-step", "2", "--follow"]
    assert main([*argv, "--idle-timeout", "0.2"]) == 0  # a finished file followed with a frame step
    assert main(["annotate", str(src), "--model", seg, "--out", str(fast), "--no-progress", "--frame-step", "3"]) == 0
    capsys.readouterr()
    for extra in (["--follow"], ["--no-phy"], ["--no-scan-lte"]):
        assert main(["annotate", str(src), "--model", seg, "--out", str(fast), "--scan-all", *extra]) == 2
        assert "--scan-all cannot be used with --follow, --no-phy or --no-scan-*" in capsys.readouterr().err


def test_evaluate_annotate_scores_the_output_against_the_recordings_annotations(world, tmp_path, capsys, monkeypatch):
    from radiofm.annotate.score import paint
    from radiofm.data.sources import find_recordings

    out = tmp_path / "ev"
    argv = ["evaluate", "annotate", "--model", str(world / "seg"), "--data", str(world / "train" / "iq")]
    heap = _heap_calls(monkeypatch)
    assert main([*argv, "--out", str(out), "--no-progress", "--max-recordings", "2"]) == 0
    assert heap == [1]
    printed = capsys.readouterr().out
    assert "annotate output scored on 2 recordings" in printed and "annotate_score.json" in printed
    rep = json.loads((out / "annotate_score.json").read_text())
    recs = [open_recording(p) for p in find_recordings(world / "train" / "iq")[:2]]
    truth = [a for r in recs for a in r.annotations if a.label in ("NR", "LTE")]
    assert len(rep["records"]) == len(truth) == sum(c["n"] for c in rep["carriers"].values())
    assert {r["group"] for r in rep["records"]} == {a.extra["radiofm:traffic"] for a in truth}
    found = [r for r in rep["records"] if r["outcome"] != "missed"]  # each found carrier: the step that decided it
    assert sum(d["carriers"] for d in rep["per_decision"].values()) == len(found)
    assert sum(d["false_boxes"] for d in rep["per_decision"].values()) == rep["false_boxes"]
    assert (not rep["per_decision"]) or "decided by" in printed
    band = dict(n_samples=recs[0].n_samples, lower_hz=recs[0].center_freq_hz - FS / 2)
    pixels = [paint([a for a in r.annotations if a.label in ("NR", "LTE")], **band, upper_hz=band["lower_hz"] + FS)
              for r in recs]  # fmt: skip
    confusion = np.array(rep["pixel"]["confusion"])
    assert (
        confusion.shape == (3, 4)
        and (confusion.sum(1) == np.bincount(np.concatenate(pixels).ravel(), minlength=3)).all()
    )
    # bad input: a folder whose recordings carry no NR/LTE annotation, --scan-all with --no-phy
    bare = tmp_path / "bare"
    write_sigmf(bare / "x", np.zeros(700_000, np.complex64), sample_rate_hz=FS)
    assert main(["evaluate", "annotate", "--model", str(world / "seg"), "--data", str(bare), "--out", str(out)]) == 2
    assert "no recording under" in capsys.readouterr().err
    assert main([*argv, "--out", str(tmp_path / "e2"), "--scan-all", "--no-phy"]) == 2
    assert "--scan-all needs the physical-layer stage" in capsys.readouterr().err and not (tmp_path / "e2").exists()


def test_numpy_and_torch_engines_write_the_same_annotations(world, tmp_path, capsys):
    src = world / "train" / "iq" / "frame_0001.sigmf-meta"
    metas = {}
    for engine in ("numpy", "torch"):
        out = tmp_path / engine / "cap"
        argv = ["annotate", str(src), "--model", str(world / "seg"), "--out", str(out), "--no-progress", "--no-picture"]
        assert main([*argv, "--threshold", "0.4", "--engine", engine]) == 0
        metas[engine] = json.loads(out.with_name("cap.sigmf-meta").read_text())
    assert metas["numpy"]["annotations"] == metas["torch"]["annotations"]
    assert metas["numpy"]["annotations"]  # the 2-step model finds a few carriers here (3): a comparison of something
    assert main(["annotate", str(src), "--model", str(world / "seg"), "--out", str(tmp_path / "q"), "--engine",
                 "numpy", "--quantize", "int8"]) == 2  # fmt: skip
    assert "--engine numpy runs fp32 on the CPU" in capsys.readouterr().err


def test_the_summary_line_says_why_a_carrier_is_unknown():
    from types import SimpleNamespace

    from radiofm.cli.annotate import label_counts

    def ann(label, decision=None):
        return SimpleNamespace(label=label, extra={"radiofm:decision": decision} if decision else {})

    anns = [ann("NR", "phy"), ann("unknown", "no OFDM"), ann("LTE", "spectrogram"), ann("unknown", "NR unconfirmed")]
    anns += [ann("unknown", "no OFDM"), ann("unknown")]
    assert label_counts(anns) == "1 NR, 1 LTE, 4 unknown: 1 NR unconfirmed, 2 no OFDM, 1 undecided"
    assert label_counts(anns[:1]) == "1 NR, 0 LTE, 0 unknown"
    assert label_counts([]) == "0 NR, 0 LTE, 0 unknown"


def test_required_extensions_other_than_radiofms_are_named(tmp_path):
    """The specification asks a reader to report a required extension it does not implement (a note, not a stop)."""
    from radiofm.cli.annotate import _required_extensions

    meta = tmp_path / "o.sigmf-meta"
    exts = [{"name": "radiofm", "version": "1", "optional": False}, {"name": "acme", "version": "1", "optional": False},
            {"name": "antenna", "version": "1", "optional": True}]  # fmt: skip
    meta.write_text(json.dumps({"global": {"core:extensions": exts}}))
    assert _required_extensions(meta) == ["acme"]


def test_evaluate_annotate_repairs_nonfinite_samples_when_asked(world, tmp_path, capsys):
    """Its refusal of NaN samples named --repair-nonfinite, which `evaluate annotate` did not have (session 60)."""
    import shutil

    nan = tmp_path / "nan"
    nan.mkdir()
    for p in (world / "train" / "iq").glob("frame_0000.sigmf-*"):
        shutil.copy(p, nan / p.name)
    rec = open_recording(nan / "frame_0000.sigmf-meta")
    assert rec.datatype.startswith("cf32")
    data = np.fromfile(rec.data_path, np.complex64)
    data[1000:1010] = np.nan
    data.tofile(rec.data_path)
    argv = ["evaluate", "annotate", "--model", str(world / "seg"), "--data", str(nan), "--no-progress"]
    assert main([*argv, "--out", str(tmp_path / "e1")]) == 2
    assert "10 non-finite (NaN/Inf) samples; repair them (set to 0) with --repair-nonfinite" in capsys.readouterr().err
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main([*argv, "--out", str(tmp_path / "e2"), "--repair-nonfinite"]) == 0
    assert json.loads((tmp_path / "e2" / "annotate_score.json").read_text())["recordings"] == 1


def test_evaluate_annotate_replaces_its_folder_as_every_evaluation_does(world, tmp_path, monkeypatch):
    """`evaluate annotate --out E` wrote annotate_score.json into whatever E held (an earlier evaluation's files
    stayed beside it) and never recorded it as radiofm's; from Python an --out that is a file failed with a bare
    FileExistsError after every recording was annotated (session 60's review)."""
    from radiofm.annotate import evaluate as ev
    from radiofm.errors import OutputError
    from radiofm.io import atomic_path

    out = tmp_path / "ev"
    with atomic_path(out) as tmp:  # an earlier evaluation's folder
        tmp.mkdir()
        (tmp / "segmentation.json").write_text("{}")
    (out / "notes.txt").write_text("mine")  # a user's file in it stays
    argv = ["evaluate", "annotate", "--model", str(world / "seg"), "--data", str(world / "train" / "iq")]
    assert main([*argv, "--out", str(out), "--no-progress", "--max-recordings", "1", "--quantize", "int8"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [".radiofm-output.json", "annotate_score.json", "notes.txt"]
    assert json.loads((out / "annotate_score.json").read_text())["config"]["quantize"] == "int8"  # annotate's flag
    afile = tmp_path / "afile"
    afile.write_text("keep")
    monkeypatch.setattr(ev, "load_predictor", lambda *a, **k: pytest.fail("the model loaded"))
    with pytest.raises(OutputError, match="exists and is not a folder"):
        ev.evaluate_annotate(world / "seg", world / "train" / "iq", afile)
    assert afile.read_text() == "keep"
