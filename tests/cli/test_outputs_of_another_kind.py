"""A command's output is refused, before any work, where writing it would destroy something else: a trained model
or a data set of another kind in --out or --cache-dir, the command's own input, a folder given as annotate's file
prefix. Empty values and contradictions are refused in one line too (session 58's sweep of the non-numeric flags)."""

from __future__ import annotations

import json
import warnings

import pytest

from radiofm.cli.main import _one_line_warning, main
from radiofm.errors import ConfigError
from radiofm.models import create_model, save_checkpoint


@pytest.fixture
def model_dir(tmp_path):
    run = tmp_path / "run"
    save_checkpoint(run, create_model("protobeam-tiny"), kind="protobeam")
    return run


@pytest.fixture
def data_dir(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "manifest.json").write_text(json.dumps({"kind": "nrlte-segmentation", "files": []}))
    (data / "labels.npy").write_bytes(b"keep")
    return data


def _refused(capsys, argv, *words):
    try:
        code = main(argv)
    except SystemExit as exc:  # a flag refused by the parser
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("radiofm: error:"), err
    for w in words:
        assert w in err[0], err[0]


def test_a_model_or_a_data_set_is_not_replaced_by_another_kind_of_output(capsys, tmp_path, model_dir, data_dir):
    """`fewshot evaluate --out RUN` replaced the run by its report, `generate ism --out RUN` by a corpus,
    `evaluate reconstruction --out DATA` the data set, `pretrain --cache-dir RUN` the model by cache shards."""
    beams = tmp_path / "beams"
    beams.mkdir()
    common = ["--front-end", "tx-ant-1", "--no-progress"]
    _refused(capsys, ["fewshot", "evaluate", "--model", str(model_dir), "--data", str(beams), *common, "--out",
                      str(model_dir)], "holds a trained model", "fewshot evaluate")  # fmt: skip
    _refused(capsys, ["fewshot", "evaluate", "--model", str(model_dir), "--data", str(data_dir), *common, "--out",
                      str(data_dir)], "holds a data set (nrlte-segmentation)")  # fmt: skip
    _refused(capsys, ["generate", "ism", "--recordings", "1", "--no-progress", "--out", str(model_dir)], "generate ism")
    _refused(capsys, ["evaluate", "reconstruction", "--model", str(model_dir), "--data", str(tmp_path),
                      "--out", str(data_dir)], "holds a data set")  # fmt: skip
    _refused(capsys, ["pretrain", "--data", str(tmp_path), "--out", str(tmp_path / "new"), "--cache-dir",
                      str(model_dir)], "--cache-dir", "would write its cache there")  # fmt: skip
    assert (model_dir / "model.safetensors").exists() and (data_dir / "labels.npy").read_bytes() == b"keep"


def test_a_cache_dir_that_is_a_file_is_refused_before_any_work(capsys, tmp_path):
    """`pretrain --cache-dir FILE` built every spectrogram first, then said "cannot write FILE: Not a directory";
    a path under a file said "File exists" (session 59)."""
    afile = tmp_path / "afile"
    afile.write_text("keep")
    for cache in (afile, afile / "sub"):
        _refused(capsys, ["pretrain", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "o"), "--cache-dir",
                          str(cache)], f"--cache-dir {cache}", f"{afile} exists and is not a folder")  # fmt: skip
    assert afile.read_text() == "keep"
    loop = tmp_path / "loop"
    loop.symlink_to(loop)  # was a RuntimeError traceback
    _refused(capsys, ["pretrain", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "o"), "--cache-dir",
                      str(loop)], "is a broken symbolic link")  # fmt: skip


def test_evaluate_annotate_does_not_write_among_its_recordings(capsys, tmp_path):
    rec = tmp_path / "recs"
    rec.mkdir()
    _refused(capsys, ["evaluate", "annotate", "--model", str(tmp_path / "m"), "--data", str(rec), "--out",
                      str(rec)], "is the input --data")  # fmt: skip
    assert list(rec.iterdir()) == []


def test_empty_values_and_a_folder_as_annotates_prefix(capsys, tmp_path):
    _refused(capsys, ["annotate", "x.sigmf-meta", "--model", "m", "--out", ""], "--out is empty")  # was a traceback
    _refused(capsys, ["pretrain", "--data=", "--out", str(tmp_path / "o")], "--data is empty")  # scanned the cwd
    _refused(capsys, ["inspect", ""], "an empty argument")
    folder = tmp_path / "annotated"
    folder.mkdir()
    _refused(capsys, ["annotate", "x.sigmf-meta", "--model", "m", "--out", f"{folder}/"], "is a folder")
    assert not (tmp_path / "annotated.sigmf-meta").exists()


def test_a_folder_in_the_way_of_one_of_annotates_files_is_refused_before_the_model_loads(capsys, tmp_path):
    """`mkdir o/q.sigmf-data; radiofm annotate REC --out o/q` analysed the whole recording, then left o/q.sigmf-meta
    and o/q.png with no data file behind them (session 60's review). The model named does not exist: the refusal
    comes first. Without a picture, a folder at PREFIX.png is no output's."""
    import numpy as np

    from radiofm.data.sigmf_writer import write_sigmf

    rec = write_sigmf(tmp_path / "rec", np.zeros(614_400, np.complex64), sample_rate_hz=61.44e6, datatype="ci8")
    out = tmp_path / "o"
    for name in ("q.sigmf-data", "q.sigmf-meta", "q.png"):
        (out / name).mkdir(parents=True)
        _refused(capsys, ["annotate", str(rec), "--model", str(tmp_path / "no-model"), "--out", str(out / "q")],
                 f"{out / name}: a folder of that name is in the way")  # fmt: skip
        assert sorted(p.name for p in out.iterdir()) == [name]
        (out / name).rmdir()
    (out / "q.png").mkdir()
    _refused(capsys, ["annotate", str(rec), "--model", str(tmp_path / "no-model"), "--out", str(out / "q"),
                      "--no-picture"], "no-model")  # fmt: skip


def test_reproduce_checks_its_device_and_task_list_before_the_first_step(capsys, tmp_path):
    out = tmp_path / "rep"
    _refused(capsys, ["reproduce", "table5", "--device", "gpu", "--out", str(out)], "device must be")
    _refused(capsys, ["reproduce", "tasks", "--preset", "quick", "--tasks", ",", "--out", str(out)], "names no task")
    assert not out.exists()


def test_segmentation_refuses_a_few_shot_network_as_backbone(tmp_path):
    from radiofm.tasks.segmentation import SegmentationConfig, finetune_segmentation
    from radiofm.train import TrainConfig

    cfg = SegmentationConfig(mode="scratch", model="protobeam-tiny")
    with pytest.raises(ConfigError, match="needs a ViT or ConvLSTM backbone, got family 'protonet'"):
        finetune_segmentation(tmp_path, cfg, TrainConfig(epochs=1), tmp_path / "out")  # was KeyError 'img_size'


def test_a_warning_is_one_line(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _one_line_warning
        warnings.warn("only 1 recording(s): the split\nis drawn by sentence", UserWarning, stacklevel=1)
    err = capsys.readouterr().err
    assert err == "radiofm: warning: only 1 recording(s): the split\\nis drawn by sentence\n"


def test_flags_the_others_make_void(capsys, tmp_path, model_dir):
    """`finetune --init RUN --model vit-s` trained RUN's architecture, `fewshot train --no-augment --augment-stage
    raw` and the like ignored a flag without a word, `fewshot train --model vit-tiny` named MAEConfig fields."""
    ft = ["finetune", "sensing", "--data", str(tmp_path), "--out", str(tmp_path / "o")]
    _refused(capsys, [*ft, "--init", str(model_dir), "--model", "vit-s"], "--init names the architecture")
    fs = ["fewshot", "train", "--data", str(tmp_path), "--front-end", "tx-ant-0", "--out", str(tmp_path / "f")]
    _refused(capsys, [*fs, "--model", "vit-tiny"], "needs a prototypical network")
    _refused(capsys, [*fs, "--no-augment", "--augment-stage", "raw"], "--augment-stage has no effect")
    _refused(capsys, [*fs, "--no-proto-norm", "--proto-norm-mode", "cosine"], "--proto-norm-mode has no effect")
    _refused(capsys, [*fs, "--proto-norm-mode", "prototypes", "--fixed-scale"], "--fixed-scale has no effect")
    _refused(capsys, [*fs, "--skip-mode", "hold-every"], "--skip-mode has no effect")


def test_messages_name_what_is_wrong(tmp_path):
    """A file given as a data set folder "did not exist"; `reproduce tasks --tasks foo` spoke of a curve mode."""
    import dataclasses

    from radiofm.data.nrlte import open_segmentation_dataset
    from radiofm.errors import DatasetError
    from radiofm.reproduce.tasks import PRESETS

    manifest = tmp_path / "manifest.json"
    manifest.write_text("{}")
    with pytest.raises(DatasetError, match="is a file, not a dataset folder"):
        open_segmentation_dataset(manifest)
    with pytest.raises(ConfigError, match=r"unknown task\(s\) \['foo'\]: the tasks are sensing"):
        dataclasses.replace(PRESETS["quick"], tasks=("foo",))


def test_a_group_key_no_carrier_has_is_said(capsys):
    from radiofm.cli.tasks.annotate_eval import print_report

    pixel = {"classes": ["noise"], "per_class_accuracy": {"noise": 1.0}, "mean_class_accuracy": 1.0}
    print_report({"recordings": 1, "pixel": pixel, "carriers": {}, "false_boxes": 0, "per_group": None,
                  "group_key": "nonexistent:key"})  # fmt: skip
    assert "note: no true carrier carries nonexistent:key" in capsys.readouterr().out
