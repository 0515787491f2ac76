"""--resume continues the run that was killed, or refuses in one line (radiofm.train.resume)."""

import json
import os
import signal
import subprocess
import sys

import pytest
import torch
from test_train import TensorSet, _cfg, tiny_mae

from radiofm.errors import CheckpointError, ConfigError
from radiofm.output_folders import writer_tag
from radiofm.tasks.pretrain_mae import MAEPretrainTask
from radiofm.train import fit
from radiofm.train.resume import run_lock


class Killed(Exception):
    pass


def _killed_run(run, **over):
    """A run stopped after its 2nd step (of 3 per epoch), as a kill leaves it."""

    def kill_after_2(state, loss):
        if state["global_step"] == 2:
            raise Killed

    with pytest.raises(Killed):
        fit(tiny_mae(), MAEPretrainTask(), TensorSet(), cfg=_cfg(save_every_steps=1, **over), out_dir=run,
            extra={"data": {"source": "a"}}, on_step=kill_after_2)  # fmt: skip


def _resume(run, extra=None, **over):
    return fit(tiny_mae(), MAEPretrainTask(), TensorSet(), cfg=_cfg(save_every_steps=1, **over), out_dir=run,
               extra={"data": {"source": "a"}} if extra is None else extra, resume=True)  # fmt: skip


@pytest.mark.parametrize(
    "over, extra, message",
    [
        ({"batch_size": 3}, None, "train.batch_size = 4, this command gives 3"),
        ({"lr": 0.5}, None, "train.lr"),
        ({"seed": 7}, None, "train.seed"),
        ({}, {"data": {"source": "b"}}, 'data.source = "a", this command gives "b"'),
        ({"epochs": 1}, None, "train.epochs"),  # fewer epochs than the run's: another schedule
    ],
)
def test_a_resume_with_other_settings_is_refused(tmp_path, over, extra, message):
    run = tmp_path / "run"
    _killed_run(run)
    with pytest.raises(ConfigError, match=message):
        _resume(run, extra, **over)
    assert _resume(run)["epoch"] == 3  # the run's own settings still resume it


def test_a_resume_on_other_items_is_refused_even_where_the_steps_per_epoch_agree(tmp_path):
    """13 items in batches of 4 cut 3 steps per epoch, as the run's 12 did: only the recorded counts tell."""
    run = tmp_path / "run"
    _killed_run(run)
    cfg = _cfg(save_every_steps=1)
    with pytest.raises(ConfigError, match="12 training items, this command gives 13"):
        fit(tiny_mae(), MAEPretrainTask(), TensorSet(n=13), cfg=cfg, out_dir=run, extra={"data": {"source": "a"}},
            resume=True)  # fmt: skip
    with pytest.raises(ConfigError, match="0 validation items, this command gives 2 .*--val-fraction"):
        fit(tiny_mae(), MAEPretrainTask(), TensorSet(), cfg=cfg, out_dir=run, extra={"data": {"source": "a"}},
            val_set=TensorSet(n=2, seed=1), resume=True)  # fmt: skip
    assert _resume(run)["epoch"] == 3


def test_more_epochs_continue_a_finished_run_and_the_same_say_it_is_finished(tmp_path):
    run = tmp_path / "run"
    _killed_run(run)
    last = _resume(run)
    said = []
    again = fit(tiny_mae(), MAEPretrainTask(), TensorSet(), cfg=_cfg(), out_dir=run, extra={"data": {"source": "a"}},
                resume=True, log=said.append)  # fmt: skip
    assert again == json.loads((run / "metrics.jsonl").read_text().splitlines()[-1]) and "already finished" in said[0]
    longer = fit(tiny_mae(), MAEPretrainTask(), TensorSet(), cfg=_cfg(epochs=4), out_dir=run,
                 extra={"data": {"source": "a"}}, resume=True, log=said.append)  # fmt: skip
    assert longer["epoch"] == 4 and last["epoch"] == 3 and "past its 3 epochs" in said[1]


def _edit_progress(run, **values):
    path = run / "train_state" / "state.json"
    doc = json.loads(path.read_text())
    doc["state"]["progress"].update(values)
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    "values",
    [{"global_step": -5}, {"epoch": "a"}, {"step_in_epoch": 99}, {"global_step": 1.5}, {"epoch_sums": "x"}],
)
def test_impossible_progress_counters_are_refused(tmp_path, values):
    run = tmp_path / "run"
    _killed_run(run)
    _edit_progress(run, **values)
    with pytest.raises(CheckpointError, match="progress counters|running sums"):
        _resume(run)


def test_an_optimizer_state_that_does_not_fit_or_is_not_finite_is_refused(tmp_path):
    from safetensors.torch import load_file, save_file

    run = tmp_path / "run"
    _killed_run(run)
    path = run / "train_state" / "tensors.safetensors"
    tensors = load_file(path)
    key = next(k for k in tensors if k.endswith("exp_avg_sq"))
    bad = dict(tensors)
    bad[key] = torch.full_like(tensors[key], float("nan"))
    save_file(bad, path)
    with pytest.raises(CheckpointError, match="non-finite|NaN"):
        _resume(run)
    bad[key] = torch.zeros(3, 3)
    save_file(bad, path)
    with pytest.raises(CheckpointError, match="does not fit the model"):
        _resume(run)


def test_a_kill_after_an_epochs_last_step_and_before_its_close_resumes(tmp_path):
    """--save-every-steps dividing the epoch saves (epoch 0, step 3 of 3) before the epoch's own save closes it; a
    kill in between left counters --resume refused as impossible (test_kill_resume, session 59's fresh clone)."""
    run = tmp_path / "run"

    def kill_after_3(state, loss):
        if state["global_step"] == 3:
            raise Killed

    torch.manual_seed(0)  # the same initial weights as the uninterrupted run below
    with pytest.raises(Killed):
        fit(tiny_mae(), MAEPretrainTask(), TensorSet(), cfg=_cfg(save_every_steps=1), out_dir=run,
            extra={"data": {"source": "a"}}, on_step=kill_after_3)  # fmt: skip
    progress = json.loads((run / "train_state" / "state.json").read_text())["state"]["progress"]
    assert (progress["epoch"], progress["step_in_epoch"], progress["global_step"]) == (0, 3, 3)
    resumed = _resume(run)
    torch.manual_seed(0)
    whole = fit(tiny_mae(), MAEPretrainTask(), TensorSet(), cfg=_cfg(save_every_steps=1), out_dir=tmp_path / "whole",
                extra={"data": {"source": "a"}})  # fmt: skip
    assert resumed["epoch"] == whole["epoch"] == 3 and resumed["train_loss"] == pytest.approx(whole["train_loss"])
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3]  # the first epoch's line written once


def test_a_fifo_in_the_checkpoint_is_refused_without_blocking(tmp_path):
    run = tmp_path / "run"
    _killed_run(run)
    (run / "train_state" / "state.json").unlink()
    os.mkfifo(run / "train_state" / "state.json")
    old = signal.signal(signal.SIGALRM, lambda *a: pytest.fail("blocked on a FIFO"))
    signal.alarm(20)
    try:
        with pytest.raises(CheckpointError, match="not a regular file"):
            _resume(run)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_a_second_run_into_the_same_folder_is_refused(tmp_path):
    run = tmp_path / "run"
    _killed_run(run)
    with run_lock(run):  # another process training into it
        with pytest.raises(ConfigError, match="another process is training into"):
            _resume(run)
    _resume(run)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # the lock file goes with the run's end


def test_a_log_without_a_checkpoint_is_refused_and_a_killed_save_cleared(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text('{"epoch": 1}\n')
    with pytest.raises(ConfigError, match="holds metrics.jsonl but no checkpoint"):
        _resume(run)
    (run / "metrics.jsonl").unlink()
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    tag = f"{int(done.stdout)}-{writer_tag().split('-', 1)[1]}"
    nested = tmp_path / f"..run.{tag}-abcd1234.tmp.{tag}-efgh5678.tmp"  # a save killed inside save_checkpoint
    nested.mkdir()
    (nested / "model.safetensors").write_bytes(b"\0" * 1024)
    _killed_run(run)
    assert not nested.exists()


@pytest.mark.parametrize("key, value", [("lr", "x"), ("eps", -1.0), ("betas", [0.9])])
def test_optimizer_settings_out_of_range_are_refused(tmp_path, key, value):
    run = tmp_path / "run"
    _killed_run(run)
    path = run / "train_state" / "state.json"
    doc = json.loads(path.read_text())
    doc["state"]["optimizer"]["param_groups"][0][key] = value
    path.write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="optimizer"):
        _resume(run)


def test_the_same_data_folder_spelled_another_way_resumes(tmp_path, monkeypatch):
    """``--data ism`` and ``--data /abs/ism`` name one folder: the resume was refused (session 56)."""
    (tmp_path / "ism").mkdir()
    (tmp_path / "other").mkdir()
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"

    def kill_after_2(state, loss):
        if state["global_step"] == 2:
            raise Killed

    with pytest.raises(Killed):
        fit(tiny_mae(), MAEPretrainTask(), TensorSet(), cfg=_cfg(save_every_steps=1), out_dir=run,
            extra={"data": {"source": "ism"}}, on_step=kill_after_2)  # fmt: skip
    with pytest.raises(ConfigError, match="data.source"):
        _resume(run, {"data": {"source": str(tmp_path / "other")}})
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")  # the run's "ism" is relative to where it started: ../ism from here
    with pytest.raises(ConfigError, match="data.source"):
        _resume(run, {"data": {"source": "../other"}})
    assert _resume(run, {"data": {"source": "../ism"}})["epoch"] == 3


def test_a_run_of_another_kind_says_how_to_resume_it(tmp_path):
    """`radiofm pretrain --resume --out CONVLSTM_RUN` (no --model: vit-tiny, a 'mae' run) said "choose another --out",
    where the run resumes with the --model it was trained with (session 60's review)."""
    from radiofm.train.resume import check_settings

    run = tmp_path / "run"
    _killed_run(run)
    info = json.loads((run / "config.json").read_text())
    info["extra"]["model_name"] = "convlstm-tiny"
    (run / "config.json").write_text(json.dumps(info))
    with pytest.raises(ConfigError, match=r"is a 'mae' run, not 'convlstm-msm'; resume it with the --model it was "
                                          r"trained with \(convlstm-tiny\), or choose another --out"):  # fmt: skip
        check_settings(run, "convlstm-msm", {}, {})


def test_a_run_lock_removed_between_open_and_lock_is_taken_on_the_file_there_now(tmp_path, monkeypatch):
    """Run A ends (removing its lock file) just after run B opened it: B's lock then held a removed file, and a
    third run C created a new one and trained into the same folder beside B (session 61's review)."""
    from radiofm.train import resume

    out = tmp_path / "run"
    a = run_lock(out)
    a.__enter__()
    real = resume.open_lock_file
    opened = []

    def open_then_a_ends(path, suffix):
        fh = real(path, suffix)
        if not opened:
            opened.append(fh.name)
            a.__exit__(None, None, None)
        return fh

    monkeypatch.setattr(resume, "open_lock_file", open_then_a_ends)
    with run_lock(out):  # B
        monkeypatch.setattr(resume, "open_lock_file", real)
        with pytest.raises(ConfigError, match="another process is training"), run_lock(out):  # C
            pass
