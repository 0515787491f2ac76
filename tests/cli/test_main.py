import argparse
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from radiofm.cli import _types
from radiofm.cli.main import build_parser, main
from radiofm.errors import MAX_FLAG_SEED, MAX_SEED, ConfigError, DatasetError


def test_help_lists_commands(capsys):
    try:
        main(["--help"])
    except SystemExit as exc:
        assert exc.code == 0
    assert "COMMAND" in capsys.readouterr().out


def test_unknown_command_is_one_line_error():
    proc = subprocess.run([sys.executable, "-m", "radiofm", "frobnicate"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("radiofm: error:")


def test_a_reader_that_leaves_early_gets_no_traceback():
    # `radiofm ... | head -1`: stdout closes while the command still prints
    code = (
        "import sys\n"
        "from radiofm.cli import main as m\n"
        "parser = m.build_parser\n"
        "def build(first=None):\n"
        "    p = parser(first)\n"
        "    parse = p.parse_args\n"
        "    def noisy(argv=None):\n"
        "        args = parse(argv)\n"
        "        args.run = lambda args: [print('line', i) for i in range(200000)] and 0\n"
        "        return args\n"
        "    p.parse_args = noisy\n"
        "    return p\n"
        "m.build_parser = build\n"
        "sys.exit(m.main(['models']))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline().startswith(b"line 0")
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141 and "Traceback" not in err and "BrokenPipe" not in err, err


def _seed_flags() -> list[tuple[str, argparse.Action]]:
    """(command, action) of every ``--seed`` flag of every command and sub-command."""
    found = []

    def walk(parser: argparse.ArgumentParser, words: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, [*words, name])
            elif "--seed" in action.option_strings:
                found.append((" ".join(words), action))

    walk(build_parser(), [])
    return found


def test_every_seed_flag_takes_only_seeds_numpy_and_torch_accept():
    """numpy refuses a negative seed and torch one past 64 bits, each with a traceback (`generate beams`,
    `pretrain`, `fewshot train` showed them): every --seed flag is checked by the parser instead."""
    flags = _seed_flags()
    commands = {command for command, _ in flags}
    assert {"generate beams", "generate nrlte", "pretrain", "fewshot train", "demo"} <= commands, commands
    assert [command for command, action in flags if action.type is not _types.seed] == []
    for bad in ("-1", str(MAX_FLAG_SEED + 1), str(10**24), "1.5", "seven", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="expected a seed"):
            _types.seed(bad)
    assert _types.seed("0") == 0 and _types.seed(str(MAX_FLAG_SEED)) == MAX_FLAG_SEED


@pytest.mark.parametrize(
    "argv", [["generate", "beams", "--seed", "-1"], ["pretrain", "--data", "x", "--seed", "-1"],
             ["fewshot", "train", "--data", "x", "--front-end", "tx-ant-0", "--seed", str(10**24)]],
)  # fmt: skip
def test_a_bad_seed_is_one_line_and_exit_2_with_nothing_written(argv, tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--out", str(out)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("radiofm: error: argument --seed: expected a seed"), err
    assert not out.exists()


def test_seeds_checked_where_the_api_takes_them(tmp_path):
    from radiofm.data.deepbeam_write import generate_beam_dataset
    from radiofm.data.nrlte import generate_dataset
    from radiofm.tasks.fewshot import ProtoTrainConfig
    from radiofm.train import TrainConfig

    for bad in (-1, MAX_SEED + 1, 2.0, True, "3"):
        with pytest.raises(ConfigError, match="seed must be an integer from 0"):
            TrainConfig(seed=bad)
        with pytest.raises(ConfigError, match="seed must be an integer from 0"):
            ProtoTrainConfig(data="d", front_end="tx-ant-0", seed=bad)
        with pytest.raises(ConfigError, match="seed must be an integer from 0"):
            generate_beam_dataset(tmp_path / "beams", seed=bad, progress=False)
        with pytest.raises(ConfigError, match="seed must be an integer from 0"):
            generate_dataset(tmp_path / "nrlte", n_frames=1, split="train", seed=bad)
    assert not (tmp_path / "beams").exists() and not (tmp_path / "nrlte").exists()
    assert TrainConfig(seed=np.int64(7)).seed == 7 and type(TrainConfig(seed=np.int64(7)).seed) is int


def _classify(support: str, query: str, json_out: str) -> list[str]:
    """``fewshot classify`` with the encoder {run} and the given support folder, query and --json."""
    return ["fewshot", "classify", "--encoder", "{run}", "--support", support, "--query", query, "--json", json_out]


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["evaluate", "reconstruction", "--model", "{run}", "--data", "{data}", "--out", "{run}"], "--model"),
        (["evaluate", "segmentation", "--model", "{run}", "--data", "{data}", "--out", "{tmp}"], "--model"),
        (["finetune", "segmentation", "--data", "{data}", "--init", "{run}", "--out", "{run}/../run"], "--init"),
        (["pretrain", "--data", "{data}", "--out", "{data}"], "--data"),
        (["pretrain", "--data", "{data}", "--out", "{run}", "--cache-dir", "{run}"], "--cache-dir"),
        (_classify("{run}", "{data}/q.sigmf-meta", "{data}/q.sigmf-meta"), "--query"),
        (_classify("{data}", "{data}/q.sigmf-meta", "{run}/model.safetensors"), "--encoder"),  # its weights
        (_classify("{run}", "{data}/keep.sigmf-meta", "{data}/keep.sigmf-data"), "--query"),  # the query's samples
        (_classify("{run}", "{data}/keep", "{data}/keep.sigmf-data"), "--query"),  # the recording by its prefix
    ],
)
def test_an_out_that_is_or_holds_an_input_is_refused_before_any_work(argv, flag, tmp_path, capsys):
    """``evaluate --model RUN --out RUN`` replaced the run folder with the evaluation: the model was gone."""
    run, data = tmp_path / "run", tmp_path / "data"
    for folder in (run, data):
        folder.mkdir()
        (folder / "keep.txt").write_text("keep")
    if "keep.sigmf-data" in " ".join(argv):
        (data / "keep.txt").rename(data / "keep.sigmf-data")
    if "{run}/model.safetensors" in argv:
        (run / "keep.txt").rename(run / "model.safetensors")
    args = [a.format(run=run, data=data, tmp=tmp_path) for a in argv]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and (f"the input {flag}" in err[0] or f"is also {flag}" in err[0]), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "run"]
    assert len(list(run.iterdir())) == 1 and len(list(data.iterdir())) == 1
    assert all(p.read_text() == "keep" for p in (*run.iterdir(), *data.iterdir()))


def test_inspect_refuses_an_out_that_is_no_picture_before_reading(tmp_path, capsys):
    meta = tmp_path / "rec.sigmf-meta"
    meta.write_text("{}")
    assert main(["inspect", str(meta), "--out", str(meta)]) == 2  # was a matplotlib traceback, after the work
    assert "is not a picture format" in capsys.readouterr().err and meta.read_text() == "{}"


def test_sigterm_ends_a_command_as_ctrl_c_does_nothing_half_written_left(tmp_path):
    import signal
    import time

    out = tmp_path / "sd"
    cmd = [sys.executable, "-m", "radiofm.cli.main", "generate", "nrlte", "--frames", "2000", "--out", str(out),
           "--no-progress", "--workers", "1"]  # fmt: skip
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 120
    while not any(p.name.startswith(".sd.") for p in tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # inside the generation
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "terminated" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # the temporary folder was removed


def test_torchs_failed_allocation_is_the_one_line_out_of_memory(monkeypatch, capsys):
    """torch's CPU allocator raises RuntimeError, not MemoryError: it ended in a traceback (session 56)."""
    import radiofm.cli.models as models_cli

    def no_memory(args):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't allocate memory: 7 GB")

    monkeypatch.setattr(models_cli, "run", no_memory)
    assert main(["models"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "out of memory" in err[0]

    def other(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(models_cli, "run", other)
    with pytest.raises(RuntimeError, match="a bug"):  # any other RuntimeError is not dressed up as memory
        main(["models"])


def test_a_file_of_an_input_is_what_radiofm_reads_there(tmp_path):
    """An earlier --json beside the support recordings may be written again; a checkpoint's files and every
    spelling of a recording's files may not."""
    from radiofm.cli.main import _a_file_of

    run, sup = tmp_path / "run", tmp_path / "sup"
    for folder, names in ((run, ["config.json", "model.safetensors"]), (sup, ["a.sigmf-meta", "scores.json"])):
        folder.mkdir()
        for name in names:
            (folder / name).write_text("x")
    assert _a_file_of(run, run / "config.json") and _a_file_of(run, run / "model.safetensors")
    assert not _a_file_of(sup, sup / "scores.json") and not _a_file_of(run, run / "new.json")
    assert _a_file_of(sup, sup / "a.sigmf-meta")
    for given in ("q", "q.sigmf-meta", "q.sigmf-data"):
        assert _a_file_of(tmp_path / given, tmp_path / "q.sigmf-data") and _a_file_of(
            tmp_path / given, tmp_path / "q.sigmf-meta"
        )
    assert _a_file_of(tmp_path / "c.npy", tmp_path / "c.json") and not _a_file_of(
        tmp_path / "c.npy", tmp_path / "d.json"
    )


def test_lists_of_names_and_of_numbers_read_alike():
    """`--traffic MATLAB` was taken and `--held-out MATLAB` refused; `--tasks sensing,sensing` ran a task twice,
    `--shots 2,2` evaluated 2 shots twice, `--classes fm,fm` was refused (session 59). Every list of names now
    matches whatever the case and takes a name once; every list that names a set takes a number once."""
    from radiofm.cli import _args
    from radiofm.cli.fewshot import shot_list

    regimes = ("random", "matlab", "full", "idle", "gated")
    assert _args.name_list("MATLAB, full,,matlab", regimes, "--held-out", "traffic regime") == ("matlab", "full")
    assert _args.name_list("radioteletype", ("fm", "Radioteletype"), "--classes", "signal class") == ("Radioteletype",)
    assert _args.name_list("fm,FM", ("fm", "FM"), "--x", "name") == ("fm", "FM")  # an exact spelling first
    with pytest.raises(ConfigError, match=r"^--held-out: unknown traffic regime 'busy'; valid: random, matlab"):
        _args.name_list("matlab,busy", regimes, "--held-out", "traffic regime")
    with pytest.raises(ConfigError, match=r"^--tasks ' , ' names no task; valid: a, b$"):
        _args.name_list(" , ", ("a", "b"), "--tasks", "task")
    assert shot_list("8,2,8,4") == (8, 2, 4) and _types.ratio_list("0.5,0.75,0.5") == [0.5, 0.75]
    assert _types.int_list("128,128") == [128, 128]  # widths of two hidden layers: a repeat means something here
    for bad in (",", "2,0", "x"):
        with pytest.raises(argparse.ArgumentTypeError):
            shot_list(bad)


def test_every_evaluation_takes_no_progress(capsys):
    """`evaluate segmentation|forecasting|sensing|positioning --no-progress` were refused as unrecognised, where the
    other evaluations take it: a script passing it to each broke (session 60's review)."""
    from radiofm.cli.evaluate import EVALUATIONS

    for name in EVALUATIONS:
        with pytest.raises(SystemExit) as exc:
            main(["evaluate", name, "--help"])
        assert exc.value.code == 0
        assert "--no-progress" in capsys.readouterr().out, name


def test_the_commands_a_nonfinite_refusal_names_take_repair_nonfinite(capsys):
    """A recording's NaN refusal told `evaluate annotate` and `fewshot classify` users to pass a flag those commands
    did not have (session 60's review): every command it names takes it."""
    from radiofm.data.recording import REPAIR_COMMANDS

    for command in REPAIR_COMMANDS:
        with pytest.raises(SystemExit):
            main([*command.split(), "--help"])
        assert "--repair-nonfinite" in capsys.readouterr().out, command


REBUILT = "the data set X was rebuilt or removed by another radiofm process while this one read it"


class _RebuiltUnderIt(torch.utils.data.Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        raise DatasetError(REBUILT)


def test_an_error_in_a_dataloader_worker_is_its_own_one_line(monkeypatch, capsys):
    """torch re-raises a worker's error as its type with the worker's whole traceback as the message: the CLI
    printed that traceback on one line (a cache rebuilt under a `pretrain --num-workers 1`; session 61)."""
    import radiofm.cli.models as models_cli

    def read_in_a_worker(args):
        list(torch.utils.data.DataLoader(_RebuiltUnderIt(), num_workers=1))

    monkeypatch.setattr(models_cli, "run", read_in_a_worker)
    assert main(["models"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"radiofm: error: {REBUILT}"]
