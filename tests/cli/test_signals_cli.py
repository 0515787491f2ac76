"""`radiofm generate signals`, `finetune signals`, `evaluate signals` end to end on tiny SigMF and PNG sets."""

import json

import pytest
import torch

from radiofm.cli.main import main
from radiofm.models import create_model, load_checkpoint, save_checkpoint

pytestmark = pytest.mark.usefixtures("one_thread")

CLASSES = ["morse", "lora", "wifi", "ais"]
FAST = ["--epochs", "2", "--batch-size", "4", "--no-progress", "--fft-size", "256", "--hop", "256"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Train (3 per class) and test (2 per class) sets of 4 classes, their PNG renderings, a tiny MAE checkpoint."""
    from radiofm.data.signals import SignalSpectrogramParams, write_signal_dataset
    from radiofm.data.spectrogram_images import export_image_dataset

    root = tmp_path_factory.mktemp("signals")
    kw = dict(duration_s=0.02, classes=CLASSES, progress=False)
    train = write_signal_dataset(root / "train", per_class=3, seed=0, **kw)
    test = write_signal_dataset(root / "test", per_class=2, seed=1, **kw)
    params = SignalSpectrogramParams(fft_size=256, win_length=256, hop=256, image_size=(64, 64))
    export_image_dataset(train, root / "png-train", params, progress=False)
    export_image_dataset(test, root / "png-test", params, progress=False)
    torch.manual_seed(0)
    mae = create_model("vit-tiny", img_size=(32, 32), depth=2, decoder_depth=1)
    save_checkpoint(root / "mae", mae, kind="mae", extra={"model_name": "vit-tiny"})
    return root


def _finetune(world, out, *extra, data="train"):
    return main(["finetune", "signals", "--data", str(world / data), "--out", str(out), *FAST, *extra])


def _evaluate(world, run, out, data="test"):
    return main(["evaluate", "signals", "--model", str(run), "--data", str(world / data), "--out", str(out),
                 "--no-progress"])  # fmt: skip


def _error(capsys, argv, match):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("radiofm: error:") and match in err and len(err.strip().splitlines()) == 1


def test_generate_signals_cli(tmp_path, capsys):
    out = tmp_path / "gen"
    argv = ["generate", "signals", "--out", str(out), "--per-class", "2", "--classes", "morse,ads-b"]
    assert main([*argv, "--duration", "0.01", "--no-progress"]) == 0
    assert "wrote 4 captures of 2 classes" in capsys.readouterr().out
    metas = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.sigmf-meta"))
    assert metas == ["ads-b/ads-b_0000.sigmf-meta", "ads-b/ads-b_0001.sigmf-meta", "morse/morse_0000.sigmf-meta",
                     "morse/morse_0001.sigmf-meta"]  # fmt: skip
    meta = json.loads((out / "morse" / "morse_0000.sigmf-meta").read_text())
    assert {a["core:label"] for a in meta["annotations"]} == {"morse"}
    _error(capsys, ["generate", "signals", "--out", str(tmp_path / "bad"), "--classes", "smoke-signals"], "smoke")
    assert not (tmp_path / "bad").exists()


def test_finetune_frozen_then_evaluate(world, tmp_path, capsys):
    run, ev = tmp_path / "run", tmp_path / "eval"
    assert _finetune(world, run, "--init", str(world / "mae")) == 0
    out = capsys.readouterr().out
    assert "finetune signals [frozen]:" in out and "cached backbone features" in out
    assert [json.loads(line)["epoch"] for line in out.splitlines() if line.startswith("{")] == [1, 2]
    model, info = load_checkpoint(run, expect_kind="signals")
    assert info["config"]["classes"] == sorted(CLASSES) and info["config"]["frontend"]["format"] == "sigmf"
    assert info["config"]["head"]["type"] == "pooled" and not any(k.startswith("decoder") for k in model.state_dict())
    assert _evaluate(world, run, ev) == 0
    assert sorted(p.name for p in ev.iterdir()) == [".radiofm-output.json", "confusion.png", "signals.json"]
    report = json.loads((ev / "signals.json").read_text())
    assert report["samples"] == 8 and report["classes"] == sorted(CLASSES)
    assert sum(map(sum, report["confusion"])) == 8 and set(report["per_class"]) == set(CLASSES)
    diag = sum(report["confusion"][i][i] for i in range(4))
    assert report["accuracy"] == pytest.approx(diag / 8)
    assert "accuracy" in capsys.readouterr().out


@pytest.mark.parametrize(
    "mode", [["--mode", "last-k", "--k", "1"], ["--mode", "lora", "--lora-rank", "2"], ["--mode", "full"]]
)
def test_every_mode_with_a_label_fraction(world, tmp_path, mode):
    run = tmp_path / "run"
    assert _finetune(world, run, "--init", str(world / "mae"), *mode, "--epochs", "1", "--label-fraction", "0.5") == 0
    _, info = load_checkpoint(run, expect_kind="signals")
    assert info["extra"]["finetune"]["mode"] == mode[1] and info["extra"]["finetune"]["label_fraction"] == 0.5
    assert info["extra"]["data"]["train_items"] < 12  # half of each class of the training part


def test_scratch_on_a_png_folder(world, tmp_path, capsys):
    run, ev = tmp_path / "run", tmp_path / "eval"
    argv = ["--mode", "scratch", "--model", "vit-tiny", "--image-size", "32x32", "--val-fraction", "0", "--epochs", "1"]
    assert _finetune(world, run, *argv, data="png-train") == 0
    _, info = load_checkpoint(run, expect_kind="signals")
    assert info["config"]["frontend"] == {"format": "png", "image_size": [32, 32]}
    assert _evaluate(world, run, ev, data="png-test") == 0
    assert json.loads((ev / "signals.json").read_text())["samples"] == 8
    capsys.readouterr()
    _error(capsys, ["evaluate", "signals", "--model", str(run), "--data", str(world / "test"), "--out",
                    str(tmp_path / "e2")], "trained on png")  # fmt: skip
    assert not (tmp_path / "e2").exists()


def test_bad_inputs_are_one_line_errors_without_output(world, tmp_path, capsys):
    init = ["--init", str(world / "mae")]
    for fraction in ("0", "1.5", "-0.1"):
        _error(capsys, ["finetune", "signals", "--data", str(world / "train"), "--out", str(tmp_path / "r"), *FAST,
                        *init, "--label-fraction", fraction], "--label-fraction")  # fmt: skip
        assert not (tmp_path / "r").exists()
    unlabelled = tmp_path / "unlabelled"
    unlabelled.mkdir()
    for name in ("one.png", "two.png"):
        (unlabelled / name).write_bytes((world / "png-train").glob("*.png").__next__().read_bytes())
    _error(capsys, ["finetune", "signals", "--data", str(unlabelled), "--out", str(tmp_path / "r"), *FAST, *init],
           "no image name has a class prefix")  # fmt: skip
    assert not (tmp_path / "r").exists()

    run = tmp_path / "two-classes"
    from radiofm.data.signals import write_signal_dataset

    write_signal_dataset(tmp_path / "sub", per_class=2, seed=0, duration_s=0.02, classes=["morse", "lora"],
                         progress=False)  # fmt: skip
    assert main(["finetune", "signals", "--data", str(tmp_path / "sub"), "--out", str(run), *FAST, *init,
                 "--epochs", "1", "--val-fraction", "0"]) == 0  # fmt: skip
    capsys.readouterr()
    _error(capsys, ["evaluate", "signals", "--model", str(run), "--data", str(world / "test"), "--out",
                    str(tmp_path / "ev")], "not among the 2 training classes")  # fmt: skip
    assert not (tmp_path / "ev").exists()


def test_resume_refuses_recordings_changed_since_the_run_began(world, tmp_path, capsys):
    """`finetune signals --resume` went on without a word after a recording's samples changed (pretrain's --resume
    refuses; session 60's review): the run records its files' fingerprint and a resume compares it."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(world / "train", data)
    run = tmp_path / "run"
    argv = ["finetune", "signals", "--data", str(data), "--out", str(run), *FAST, "--init", str(world / "mae")]
    assert main(argv) == 0
    assert main([*argv, "--resume", "--epochs", "3"]) == 0  # the same files: it goes on
    capsys.readouterr()
    victim = sorted(data.rglob("*.sigmf-data"))[0]
    raw = bytearray(victim.read_bytes())
    raw[: len(raw) // 2] = bytes(len(raw) // 2)  # the same size, half its samples zeroed in place
    victim.write_bytes(bytes(raw))
    assert main([*argv, "--resume", "--epochs", "4"]) == 2
    err = capsys.readouterr().err
    assert "data.files_sha256" in err and "(and" not in err  # that setting alone differs
