"""`radiofm reproduce tasks --preset quick`: data, a backbone, the task x mode table and the label-efficiency curve."""

import dataclasses
import json

import pytest

from radiofm.cli.main import main
from radiofm.errors import ConfigError
from radiofm.reproduce.tasks import PRESETS, TasksSettings, pipeline, run_name, task_module
from radiofm.reproduce.tasks_report import REFERENCE, build_report, markdown

pytestmark = pytest.mark.usefixtures("one_thread")


def test_quick_preset_end_to_end_and_resume(tmp_path, capsys):
    """With a tiny MAE reused (--init; pretraining itself is tested in tests/tasks), every step runs in seconds."""
    import torch

    from radiofm.models import create_model, save_checkpoint

    torch.manual_seed(0)
    mae = create_model("vit-tiny", img_size=(32, 32), depth=2, decoder_depth=1)
    save_checkpoint(tmp_path / "mae", mae, kind="mae", extra={"model_name": "vit-tiny"})
    out = tmp_path / "tasks"
    argv = ["reproduce", "tasks", "--preset", "quick", "--out", str(out), "--tasks", "signals", "--init"]
    assert main([*argv, str(tmp_path / "mae")]) == 0
    printed = capsys.readouterr().out
    assert "| signals (%) |" in printed and "label_efficiency.png" in printed
    report = json.loads((out / "report.json").read_text())
    row = report["table"]["signals"]
    assert list(row) == ["frozen", "last-k", "lora", "full", "scratch"]
    assert all(0.0 <= v <= 100.0 for v in row.values())
    curve = report["curve"]["signals"]
    assert list(curve["pretrained"]) == ["0.5", "1"] and list(curve["scratch"]) == ["0.5", "1"]
    assert curve["pretrained"]["1"] == row["last-k"] and curve["scratch"]["1"] == row["scratch"]
    assert report["settings"]["init"] == str(tmp_path / "mae") and not (out / "data" / "ism").exists()
    assert (out / "label_efficiency.png").stat().st_size > 0 and "55.5 / 84.5 / 86.5" in (out / "tasks.md").read_text()
    for mode in ("frozen", "scratch"):
        assert json.loads((out / "eval" / run_name("signals", mode) / "signals.json").read_text())["samples"] == 20
    # a rerun skips every step and rewrites the same table
    assert main([*argv, str(tmp_path / "mae")]) == 0
    assert "(done, skipped)" in capsys.readouterr().out
    assert json.loads((out / "report.json").read_text())["table"] == report["table"]


def test_pipeline_runs_each_mode_once_and_the_curve_below_100_percent():
    s = dataclasses.replace(PRESETS["cpu"], tasks=("signals",))
    names = [st.name for st in pipeline(s, {"signals": True})]
    assert names[:3] == ["generate ism data", "generate signals data", "pretrain backbone"]
    assert names[3:] == [f"finetune signals-{m}" for m in s.modes] + [
        "finetune signals-last-k-labels0.01", "finetune signals-scratch-labels0.01",
        "finetune signals-last-k-labels0.1", "finetune signals-scratch-labels0.1",
    ]  # fmt: skip
    assert [st.name for st in pipeline(s, {"signals": False})] == ["generate ism data", "pretrain backbone"]
    reuse = [st.name for st in pipeline(dataclasses.replace(s, init="mae"), {"signals": True})]
    assert reuse[:2] == ["generate signals data", "finetune signals-frozen"]


def test_settings_are_checked():
    with pytest.raises(ConfigError):
        TasksSettings(tasks=("weather",))
    with pytest.raises(ConfigError):
        TasksSettings(fractions=(0.0, 1.0))
    with pytest.raises(ConfigError):
        TasksSettings(curve_mode="scratch")
    assert task_module("signals") is not None and task_module("no-such-task") is None


def test_report_puts_lower_is_better_errors_in_metres():
    settings = dataclasses.asdict(dataclasses.replace(PRESETS["quick"], tasks=("positioning",), modes=("frozen",)))
    steps = [{"name": "x", "task": "positioning", "mode": "frozen", "fraction": 1.0, "mean_error_m": 2.5}]
    r = build_report(steps, settings, "quick", {"positioning": True}, total_s=1.0)
    assert r["table"] == {"positioning": {"frozen": 2.5}} and r["reference"] == REFERENCE
    assert "| positioning (m) | 2.50 | 3.17 / 1.24 / 1.45 m |" in markdown(r)


def test_own_backbones_add_a_pretraining_per_task_and_their_own_runs():
    s = dataclasses.replace(PRESETS["cpu"], tasks=("signals", "positioning"), backbones=("ism", "own"))
    names = [st.name for st in pipeline(s, {"signals": True, "positioning": True})]
    assert names[:6] == [
        "generate ism data", "generate signals data", "generate positioning data", "pretrain backbone",
        "pretrain signals backbone on its own inputs", "pretrain positioning backbone on its own inputs",
    ]  # fmt: skip
    table = [n for n in names if n.startswith("finetune") and "labels" not in n]
    assert table[:5] == [f"finetune signals-{m}" for m in s.modes]
    own = [n for n in table if n.endswith("-own")]
    assert own == [f"finetune {t}-{m}-own" for t in s.tasks for m in s.modes if m != "scratch"]
    assert len(table) == len(set(table)) == 2 * 5 + 2 * 4  # scratch once per task
    assert all("-own" not in n for n in names if "labels" in n)  # the curve follows the first backbone
    own_only = [
        st.name for st in pipeline(dataclasses.replace(s, backbones=("own",)), {"signals": True, "positioning": True})
    ]
    assert "generate ism data" not in own_only and "pretrain backbone" not in own_only
    assert "finetune signals-last-k-labels0.01-own" in own_only and "finetune signals-scratch-labels0.01" in own_only
    assert run_name("signals", "scratch", 1.0, "own") == "signals-scratch"
    for bad in ((), ("ism", "ism"), ("imagenet",)):
        with pytest.raises(ConfigError, match="backbones"):
            TasksSettings(backbones=bad)


def test_report_has_a_row_per_backbone_and_scratch_in_each():
    settings = dataclasses.asdict(
        dataclasses.replace(
            PRESETS["quick"], tasks=("positioning",), modes=("frozen", "scratch"), backbones=("ism", "own")
        )
    )
    steps = [
        {"name": "a", "task": "positioning", "mode": "frozen", "fraction": 1.0, "mean_error_m": 6.6},  # recorded before
        {"name": "b", "task": "positioning", "mode": "frozen", "fraction": 1.0, "backbone": "own", "mean_error_m": 5.1},
        {
            "name": "c",
            "task": "positioning",
            "mode": "scratch",
            "fraction": 1.0,
            "backbone": "none",
            "mean_error_m": 5.2,
        },
        {"name": "d", "task": "positioning", "mode": "last-k", "fraction": 0.5, "backbone": "ism", "mean_error_m": 9.0},
    ]
    r = build_report(steps, settings, "quick", {"positioning": True}, total_s=1.0)
    assert r["tables"] == {"ism": {"positioning": {"frozen": 6.6, "scratch": 5.2}},
                           "own": {"positioning": {"frozen": 5.1, "scratch": 5.2}}}  # fmt: skip
    assert r["table"] == r["tables"]["ism"] and r["curve"]["positioning"]["pretrained"] == {"0.5": 9.0}
    md = markdown(r)
    assert "| positioning (m) | ism | 6.60 | 5.20 |" in md and "| positioning (m) | own | 5.10 | 5.20 |" in md
    assert "own: pretrained on each task's own training inputs" in md and "from the ism backbone" in md


def test_cli_refuses_an_unknown_backbone(tmp_path, capsys):
    argv = ["reproduce", "tasks", "--preset", "quick", "--out", str(tmp_path / "t"), "--backbones", "ism,imagenet"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "backbones" in err and "Traceback" not in err and not (tmp_path / "t").exists()


def test_cli_refuses_a_missing_init_before_any_work(tmp_path, capsys):
    argv = ["reproduce", "tasks", "--preset", "quick", "--out", str(tmp_path / "t"), "--init", str(tmp_path / "no")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("radiofm: error: ") and str(tmp_path / "no") in err and "Traceback" not in err
    assert not (tmp_path / "t").exists()


def test_cli_pretrain_epochs_reach_the_backbone(tmp_path, capsys):
    out = tmp_path / "t"
    argv = ["reproduce", "tasks", "--preset", "quick", "--out", str(out), "--tasks", "sensing"]
    with pytest.raises(SystemExit) as bad:  # argparse: usage and a one-line error
        main([*argv, "--pretrain-epochs", "0"])
    assert bad.value.code == 2 and "positive integer" in capsys.readouterr().err and not out.exists()
    assert main([*argv, "--pretrain-epochs", "2"]) == 0
    epochs = [json.loads(line)["epoch"] for line in (out / "runs" / "mae" / "metrics.jsonl").read_text().splitlines()]
    assert max(epochs) == 2  # the quick preset pretrains 1 epoch
    assert json.loads((out / "report.json").read_text())["settings"]["pretrain_epochs"] == 2
