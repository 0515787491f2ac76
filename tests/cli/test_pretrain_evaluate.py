"""The spine end to end through the CLI, on a tiny corpus, in seconds."""

import json
import os
import signal
import subprocess
import sys

import pytest

from radiofm.cli.main import main
from radiofm.models import load_checkpoint


def _pretrain(corpus, out, *extra):
    return main(
        [
            "pretrain",
            "--data",
            str(corpus),
            "--model",
            "vit-tiny",
            "--image-size",
            "64",
            "--epochs",
            "2",
            "--batch-size",
            "2",
            "--out",
            str(out),
            "--no-progress",
            *extra,
        ]
    )


def test_pretrain_then_evaluate(tiny_corpus, tmp_path, capsys):
    run = tmp_path / "run"
    assert _pretrain(tiny_corpus, run) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [r["epoch"] for r in lines] == [1, 2]
    model, info = load_checkpoint(run, expect_kind="mae")
    assert tuple(model.config.img_size) == (64, 64)
    assert info["extra"]["data"]["stats"]["std_db"] > 0
    assert sorted(p.name for p in run.iterdir()) == [
        ".radiofm-output.json",
        "config.json",
        "metrics.jsonl",
        "model.safetensors",
        "train_state",
    ]

    ev = tmp_path / "eval"
    assert (
        main(
            [
                "evaluate",
                "reconstruction",
                "--model",
                str(run),
                "--data",
                str(tiny_corpus),
                "--out",
                str(ev),
                "--mask-ratios",
                "0.5,0.75,0.9",
            ]
        )
        == 0
    )
    report = json.loads((ev / "reconstruction.json").read_text())
    assert [r["mask_ratio"] for r in report["results"]] == [0.5, 0.75, 0.9]
    assert all(0.0 <= r["accuracy_all"] <= 1.0 for r in report["results"])
    assert (ev / "gallery.png").stat().st_size > 1000 and (ev / "accuracy_vs_mask_ratio.png").exists()

    # resume after the run finished: nothing left to do, and it says so without error
    assert _pretrain(tiny_corpus, run, "--resume") == 0


def test_same_command_same_weights(tiny_corpus, tmp_path, capsys):
    """Initialisation flows from --seed: two runs of one command give identical weights and losses."""
    import torch

    torch.manual_seed(1234)  # whatever the global RNG holds before must not matter
    assert _pretrain(tiny_corpus, tmp_path / "a", "--epochs", "1") == 0
    torch.rand(7)
    assert _pretrain(tiny_corpus, tmp_path / "b", "--epochs", "1") == 0
    a, _ = load_checkpoint(tmp_path / "a", expect_kind="mae")
    b, _ = load_checkpoint(tmp_path / "b", expect_kind="mae")
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name
    logs = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert len(logs) == 2 and json.loads(logs[0])["train_loss"] == json.loads(logs[1])["train_loss"]


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "radiofm", *args], capture_output=True, text=True)


@pytest.mark.parametrize(
    "flags, needle",
    [
        (["--mask-ratio", "1.5"], "ratio in (0, 1)"),
        (["--mask-ratio", "0"], "ratio in (0, 1)"),
        (["--batch-size", "0"], "positive integer"),
        (["--model", "vit-huge"], "valid models: "),
        (["--epochs", "-1"], "positive integer"),
    ],
)
def test_bad_flags_are_one_line_errors(tiny_corpus, tmp_path, flags, needle):
    out = tmp_path / "run"
    proc = _cli("pretrain", "--data", str(tiny_corpus), "--out", str(out), *flags)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert needle in proc.stderr.strip().splitlines()[-1]
    assert not out.exists()


def test_what_the_model_or_the_run_refuses_comes_before_the_cache_is_built(tiny_corpus, tmp_path, capsys, monkeypatch):
    """`--image-size 40`, `--mask-ratio 0.999` and an `--out` holding a run were refused only after the whole
    spectrogram cache had been built, minutes to hours on a large corpus (session 60's review)."""
    from radiofm.tasks import pretrain_mae

    monkeypatch.setattr(pretrain_mae, "build_spectrogram_dataset", lambda *a, **k: pytest.fail("the cache was built"))
    held = tmp_path / "held"
    held.mkdir()
    (held / "config.json").write_text("{}")
    for extra, needle in ((["--image-size", "40"], "not a positive multiple of patch size 16"),
                          (["--image-size", "32", "--mask-ratio", "0.999"], "leaves no visible patch out of 4"),
                          (["--out", str(held)], "already holds a run")):  # fmt: skip
        argv = ["pretrain", "--data", str(tiny_corpus), "--model", "vit-tiny", "--out", str(tmp_path / "run"), *extra]
        assert main(argv) == 2
        assert needle in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_missing_data_and_wrong_checkpoint_kind(tmp_path, tiny_corpus):
    proc = _cli("pretrain", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "run"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("radiofm: error:") and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()

    proc = _cli(
        "evaluate",
        "reconstruction",
        "--model",
        str(tmp_path / "nomodel"),
        "--data",
        str(tiny_corpus),
        "--out",
        str(tmp_path / "ev"),
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert not (tmp_path / "ev").exists()


def test_ddp_two_processes_on_cpu(tiny_corpus, tmp_path):
    """torchrun × 2 with the gloo backend: both ranks train, rank 0 writes one checkpoint."""
    run = tmp_path / "ddp"
    flags = "--epochs 2 --batch-size 2 --val-fraction 0 --no-progress --device cpu --model vit-tiny --image-size 64"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "radiofm",
        "pretrain",
        "--data",
        str(tiny_corpus),
        "--out",
        str(run),
        *flags.split(),
    ]
    # own process group: on a hang, kill torchrun *and* its workers, never leave orphans behind
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _out, err = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    assert proc.returncode == 0, err[-2000:]
    model, info = load_checkpoint(run)
    assert info["extra"]["run"]["world_size"] == 2
    assert info["extra"]["run"]["effective_batch"] == 4
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(records) == 2  # one line per epoch, from rank 0 only
