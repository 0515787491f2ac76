"""Paper A through the CLI on a tiny corpus: ConvLSTM pretraining, forecasting fine-tune + scratch, evaluation."""

from __future__ import annotations

import json

import pytest
import torch

from radiofm.cli.main import main
from radiofm.models import load_checkpoint

FAST = ["--batch-size", "8", "--lr", "0.01", "--no-progress", "--device", "cpu"]


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one torch thread


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """10 recordings of 40 ms (whole recordings per split part), an MSM run, a fine-tuned and a scratch run."""
    from conftest import write_tiny_corpus

    root = tmp_path_factory.mktemp("fc")
    corpus = write_tiny_corpus(root / "corpus", n=10)
    pre, ft, sc = root / "pre", root / "ft", root / "sc"
    argv = ["pretrain", "--model", "convlstm-tiny", "--data", str(corpus), "--out", str(pre), "--epochs", "1"]
    assert main([*argv, *FAST]) == 0
    base = ["finetune", "forecasting", "--init", str(pre), "--data", str(corpus), "--epochs", "2", *FAST]
    assert main([*base, "--out", str(ft)]) == 0
    assert main([*base, "--out", str(sc), "--mode", "scratch"]) == 0
    return {"corpus": corpus, "pre": pre, "ft": ft, "sc": sc, "root": root}


def test_pretrain_convlstm_run(runs):
    model, info = load_checkpoint(runs["pre"], expect_kind="convlstm-msm")
    assert info["family"] == "convlstm" and model.config.token_shape == (64, 8)
    extra = info["extra"]
    assert extra["mask_ratio"] == 0.2 and extra["data"]["stats"]["std_db"] > 0
    split = json.loads((runs["pre"] / "split.json").read_text())
    assert split == extra["split"]
    parts = split["indices"]
    assert set(parts) == {"pretrain", "forecast_train", "forecast_test"}
    all_idx = sorted(i for p in parts.values() for i in p)
    assert all_idx == list(range(split["sentences"]))  # a partition of the sentences
    assert set(split["val"]) <= set(parts["pretrain"])


def test_finetune_uses_the_pretraining_split_and_trains_only_the_conv3d(runs):
    model, info = load_checkpoint(runs["ft"], expect_kind="forecasting")
    pre, _ = load_checkpoint(runs["pre"])
    fc = info["extra"]["forecast"]
    assert fc["mode"] == "frozen" and fc["trainable"] == ["head.weight", "head.bias"]
    assert fc["model"] == {"readout": "first", "context": 2}
    for k, v in pre.state_dict().items():  # the backbone is the MSM backbone, bit for bit
        if k.startswith("backbone."):
            assert torch.equal(model.state_dict()[k], v)
    split = info["extra"]["split"]
    pre_split = json.loads((runs["pre"] / "split.json").read_text())
    assert split["indices"] == pre_split["indices"] and split["from"] == str(runs["pre"])
    assert json.loads((runs["ft"] / "split.json").read_text())["indices"] == pre_split["indices"]
    sc, sinfo = load_checkpoint(runs["sc"], expect_kind="forecasting")
    assert sinfo["extra"]["forecast"]["mode"] == "scratch"
    key = "backbone.layers.0.conv.weight"
    assert not torch.equal(sc.state_dict()[key], pre.state_dict()[key])


def test_evaluate_forecasting(runs, capsys):
    ev = runs["root"] / "eval"
    argv = ["evaluate", "forecasting", "--model", str(runs["ft"]), "--baseline", str(runs["sc"])]
    assert main([*argv, "--data", str(runs["corpus"]), "--out", str(ev)]) == 0
    report = json.loads((ev / "forecasting.json").read_text())
    assert report["evaluated_on"].startswith("forecast_test")
    assert report["horizons"] == [1, 2, 3, 4]
    assert len(report["freq_blocks"]) >= 4 and len(report["time_blocks"]) >= 4
    assert set(report["results"]) == {"model", "baseline", "persistence"}
    assert report["labels"] == {"model": "fine-tuned (frozen)", "baseline": "scratch", "persistence": "persistence"}
    for res in report["results"].values():
        assert len(res["grid"]) == 4 and len(res["grid"][0]) == len(report["freq_blocks"])
    for rows in report["summary"].values():
        assert [r["horizon"] for r in rows] == [1, 2, 3, 4]
        assert all(r["detection_rate"] is None or 0.0 <= r["detection_rate"] <= 1.0 for r in rows)
    assert (ev / "heatmaps.png").stat().st_size > 5000 and (ev / "tokens.png").stat().st_size > 5000
    assert "persistence" in capsys.readouterr().out


def test_finetune_resume_after_the_end(runs, capsys):
    base = ["finetune", "forecasting", "--init", str(runs["pre"]), "--data", str(runs["corpus"]), "--epochs", "2"]
    assert main([*base, *FAST, "--out", str(runs["ft"]), "--resume"]) == 0


def _error(capsys, argv, needle):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("radiofm: error:") and needle in err[0], err


def test_bad_inputs_are_one_line_errors(runs, tmp_path, capsys):
    c, pre, ft = str(runs["corpus"]), str(runs["pre"]), str(runs["ft"])
    _error(capsys, ["evaluate", "forecasting", "--model", pre, "--data", c, "--out", str(tmp_path / "e")], "expected")
    _error(capsys, ["finetune", "forecasting", "--init", ft, "--data", c, "--out", str(tmp_path / "f")], "forecasting")
    ft_lora = ["finetune", "forecasting", "--init", pre, "--data", c, "--out", str(tmp_path / "g"), "--mode", "lora"]
    _error(capsys, ft_lora, "lora")
    missing = ["evaluate", "forecasting", "--model", ft, "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "h")]
    _error(capsys, missing, "not found")
    blocks = ["evaluate", "forecasting", "--model", ft, "--data", c, "--out", str(tmp_path / "i"), "--time-blocks", "9"]
    _error(capsys, blocks, "do not fit")
    assert not any((tmp_path / n).exists() for n in "efghi")
