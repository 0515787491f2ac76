"""`radiofm finetune segmentation` + `radiofm evaluate segmentation` end to end on a tiny NR/LTE set."""

import json

import pytest
import torch

from radiofm.cli.main import main
from radiofm.models import create_model, load_checkpoint, save_checkpoint

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one torch thread


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A 4-frame NR/LTE train set, a 2-frame test set and a tiny pretrained-looking MAE checkpoint."""
    from radiofm.data.nrlte import generate_dataset

    root = tmp_path_factory.mktemp("seg")
    generate_dataset(root / "train", n_frames=4, split="train", seed=0, progress=False)
    generate_dataset(root / "test", n_frames=2, split="test", seed=1, progress=False)
    torch.manual_seed(0)
    mae = create_model("vit-tiny", img_size=(32, 32), depth=2, decoder_depth=1)
    save_checkpoint(root / "mae", mae, kind="mae", extra={"model_name": "vit-tiny"})
    return root


def _finetune(world, out, *extra):
    argv = ["finetune", "segmentation", "--data", str(world / "train"), "--out", str(out)]
    argv += ["--epochs", "2", "--batch-size", "2", "--no-progress", "--head-dim", "32", "--head-heads", "2"]
    return main([*argv, *extra])


def test_finetune_frozen_then_evaluate(world, tmp_path, capsys):
    run = tmp_path / "run"
    argv = ["--init", str(world / "mae"), "--class-weights", "inverse-frequency", "--cache-views", "2"]
    assert _finetune(world, run, *argv) == 0
    out = capsys.readouterr().out
    assert "finetune segmentation [frozen]:" in out and "M trainable" in out and "cached backbone features" in out
    assert [json.loads(line)["epoch"] for line in out.splitlines() if line.startswith("{")] == [1, 2]
    model, info = load_checkpoint(run, expect_kind="segmentation")
    extra = info["extra"]
    assert extra["finetune"]["mode"] == "frozen" and extra["finetune"]["cached_features"]
    assert extra["finetune"]["cache_views"] == 2 and extra["data"]["train_frames"] == 8
    assert extra["data"]["norm"] == "per-sample" and len(extra["finetune"]["class_weights"]) == 3
    assert not any(k.startswith("decoder") for k in model.backbone.state_dict())

    ev = tmp_path / "eval"
    assert main(["evaluate", "segmentation", "--model", str(run), "--data", str(world / "test"), "--out", str(ev)]) == 0
    assert sorted(p.name for p in ev.iterdir()) == [
        ".radiofm-output.json",
        "confusion.png",
        "overlays.png",
        "segmentation.json",
    ]
    report = json.loads((ev / "segmentation.json").read_text())
    assert report["samples"] == 2 and report["resolution"] == [256, 256]
    assert sum(map(sum, report["counts"])) == 2 * 256 * 256
    assert 0.0 <= report["mean_class_accuracy"] <= 1.0 and report["binary"]["classes"] == ["noise", "signal"]
    for key in ("row_normalised", "per_class_accuracy", "iou", "mean_iou", "pixel_accuracy"):
        assert key in report
    manifest = json.loads((world / "test" / "manifest.json").read_text())
    carriers = [c for f in manifest["frames"] for c in f["carriers"]]
    cl = report["carrier_level"]
    assert cl["carriers"] == len(carriers) == len(cl["records"])
    assert sum(r["carriers"] for r in cl["per_class"].values()) == len(carriers)
    assert set(report["per_regime"]) == {c["traffic"] for c in carriers}
    for block in report["per_regime"].values():
        assert {"carriers", "carrier_accuracy", "pixel_accuracy", "freq_iou_mean", "per_class"} <= set(block)
        assert set(block["per_class"]) <= {"NR", "LTE"}
    text = capsys.readouterr().out
    assert "mean" in text and "carrier level" in text


def test_mix_readout_caches_every_level(world, tmp_path, capsys):
    run = tmp_path / "mix"
    assert _finetune(world, run, "--init", str(world / "mae"), "--readout", "mix") == 0
    assert "cached backbone features" in capsys.readouterr().out
    _, info = load_checkpoint(run, expect_kind="segmentation")
    assert info["config"]["readout"] == "mix" and info["extra"]["finetune"]["readout"] == "mix"
    ev = tmp_path / "eval"
    assert main(["evaluate", "segmentation", "--model", str(run), "--data", str(world / "test"), "--out", str(ev)]) == 0


@pytest.mark.parametrize("mode", ["lora", "last-k", "full", "scratch"])
def test_other_modes_run(world, tmp_path, capsys, mode):
    assert _finetune(world, tmp_path / mode, "--init", str(world / "mae"), "--mode", mode, "--k", "1") == 0
    _, info = load_checkpoint(tmp_path / mode, expect_kind="segmentation")
    assert info["extra"]["finetune"]["mode"] == mode
    assert not info["extra"]["finetune"]["cached_features"] and info["extra"]["finetune"]["augment"]
    assert f"[{mode}]" in capsys.readouterr().out


def _error(capsys, argv, match):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("radiofm: error:") and match in err and len(err.strip().splitlines()) == 1


def test_bad_inputs(world, tmp_path, capsys):
    ev = tmp_path / "eval"
    base = ["evaluate", "segmentation", "--out", str(ev)]
    _error(capsys, [*base, "--model", str(world / "mae"), "--data", str(world / "test")], "is a 'mae' checkpoint")
    _error(capsys, [*base, "--model", str(tmp_path / "none"), "--data", str(world / "test")], "does not exist")
    run = tmp_path / "run"
    assert _finetune(world, run, "--init", str(world / "mae"), "--epochs", "1") == 0
    _error(capsys, [*base, "--model", str(run), "--data", str(tmp_path / "nodata")], "does not exist")
    other = tmp_path / "other"
    other.mkdir()
    (other / "manifest.json").write_text(json.dumps({"kind": "spectrograms"}))
    _error(capsys, [*base, "--model", str(run), "--data", str(other)], "expected 'nrlte-segmentation'")
    assert not ev.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".eval")]  # no temp leftovers

    _error(capsys, ["finetune", "segmentation", "--data", str(world / "train"), "--out", str(tmp_path / "x")], "--init")
    _error(capsys, [*_ft(world, tmp_path / "y"), "--init", str(run)], "is a 'segmentation' checkpoint")
    _error(capsys, [*_ft(world, run), "--init", str(world / "mae")], "already holds a run")
    _error(capsys, [*_ft(world, tmp_path / "z"), "--mode", "scratch"], "--init or --model")
    assert not (tmp_path / "y").exists() and not (tmp_path / "z").exists()


def _ft(world, out):
    return ["finetune", "segmentation", "--data", str(world / "train"), "--out", str(out), "--no-progress"]


@pytest.mark.parametrize(
    "flags, match",
    [(["--head-depth", "100000"], "head depth must be 0..64"),  # ran for hours building 100000 blocks
     (["--head-depth", "-1"], "expected a non-negative integer"),
     (["--head-dim", "0"], "expected a positive integer"),  # 0 was read as "the backbone's"
     (["--head-heads", "0"], "expected a positive integer"),
     (["--max-frames", "-1"], "expected a positive integer"),  # -1 and 0 trained on one frame
     (["--cache-views", "0"], "expected a positive integer")],
)  # fmt: skip
def test_head_and_frame_flags_refuse_what_they_cannot_mean(world, tmp_path, capsys, flags, match):
    out = tmp_path / "run"
    argv = [*_ft(world, out), "--mode", "scratch", "--model", "vit-tiny", "--epochs", "1", *flags]
    if flags[1].startswith("-") or flags[1] == "0":  # the parser's own check: SystemExit 2, one line
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("radiofm: error: argument") and match in err and len(err.strip().splitlines()) == 1
    else:
        _error(capsys, argv, match)
    assert not out.exists()


def test_segmentation_config_refuses_frames_and_widths_under_one():
    from radiofm.errors import ConfigError
    from radiofm.models.heads import SegHeadConfig
    from radiofm.tasks.segmentation import SegmentationConfig

    for field in ("max_frames", "head_dim", "head_heads"):
        for bad in (0, -1):
            with pytest.raises(ConfigError, match="must be at least 1"):
                SegmentationConfig(mode="scratch", model="vit-tiny", **{field: bad})
    with pytest.raises(ConfigError, match="--cache-views must be 1..64"):  # 10**20 views: features held in memory
        SegmentationConfig(mode="scratch", model="vit-tiny", cache_views=10**20)
    with pytest.raises(ConfigError, match="head depth must be 0..64"):
        SegHeadConfig(depth=65)
    with pytest.raises(ConfigError, match="head width must be at most 8192"):
        SegHeadConfig(embed_dim=8196, num_heads=4)
    with pytest.raises(ConfigError, match="head num_classes must be at least 2, got 1"):
        SegHeadConfig(num_classes=1)
