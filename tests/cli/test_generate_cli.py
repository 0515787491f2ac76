"""``radiofm generate nrlte --traffic`` and ``--lte-frames``: the lists parse, an unknown name is a one-line
error (exit 2)."""

import json

import pytest

from radiofm.cli.main import main


def test_nrlte_traffic_flag_writes_the_mix(tmp_path, capsys):
    out = tmp_path / "set"
    args = ["generate", "nrlte", "--out", str(out), "--frames", "1", "--split", "test", "--no-progress"]
    assert main([*args, "--traffic", "matlab, idle"]) == 0
    m = json.loads((out / "manifest.json").read_text())
    assert (
        m["traffic"]["mix"] == pytest.approx({"matlab": 5 / 7, "idle": 2 / 7}) and m["traffic"]["gated_inside"] is None
    )
    assert {c["traffic"] for c in m["frames"][0]["carriers"]} <= {"matlab", "idle"}
    assert "wrote 1 test frames" in capsys.readouterr().out


def test_nrlte_unknown_traffic_is_a_one_line_error(tmp_path, capsys):
    out = tmp_path / "set"
    args = ["generate", "nrlte", "--out", str(out), "--frames", "1", "--no-progress", "--traffic", "random,busy"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["radiofm: error: --traffic: unknown traffic regime 'busy'; valid: random, matlab, full, idle, gated"]
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_nrlte_help_documents_the_regimes(capsys):
    try:
        main(["generate", "nrlte", "--help"])
    except SystemExit as exc:
        assert exc.code == 0
    text = capsys.readouterr().out
    assert "--traffic" in text and all(name in text for name in ("random", "matlab", "full", "idle", "gated"))


def test_nrlte_alt_generator_flag(tmp_path, capsys):
    out = tmp_path / "alt"
    args = ["generate", "nrlte", "--generator", "alt", "--out", str(out), "--frames", "1", "--no-progress"]
    assert main([*args, "--traffic", "idle"]) == 0
    m = json.loads((out / "manifest.json").read_text())
    assert m["generator"] == "alt" and {c["traffic"] for c in m["frames"][0]["carriers"]} == {"idle"}
    assert "(alt generator)" in capsys.readouterr().out
    bad = ["generate", "nrlte", "--generator", "alt", "--out", str(tmp_path / "bad"), "--traffic", "busy"]
    assert main(bad) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "radiofm: error: --traffic: unknown traffic regime 'busy'; valid: random, matlab, full, idle, gated"
    ]
    assert not (tmp_path / "bad").exists()


def test_nrlte_lte_frames_flag(tmp_path, capsys):
    """``--lte-frames``: every LTE carrier TDD, from either generator; unknown names are one-line errors."""
    for generator, pattern_key in (("alt", "tdd_pattern"), ("main", "subframe_pattern")):
        out = tmp_path / generator
        args = ["generate", "nrlte", "--generator", generator, "--out", str(out), "--frames", "3", "--no-progress"]
        assert main([*args, "--lte-frames", "tdd"]) == 0
        m = json.loads((out / "manifest.json").read_text())
        lte = [c for f in m["frames"] for c in f["carriers"] if c["type"] == "LTE"]
        assert lte and all(c["duplex"] == "TDD" and "U" in c[pattern_key] for c in lte)
        assert m["lte_frames"] == (["tdd"] if generator == "alt" else {"tdd": 1.0})
    capsys.readouterr()
    for generator in ("alt", "main"):
        for names, shown in (("tdd,hd-fdd", "'hd-fdd'"), (",", None)):
            bad = tmp_path / "bad"
            args = ["generate", "nrlte", "--generator", generator, "--out", str(bad), "--no-progress"]
            assert main([*args, "--lte-frames", names]) == 2
            message = f"radiofm: error: --lte-frames: unknown LTE frame structure {shown}; valid: fdd, tdd, mbsfn"
            if shown is None:
                message = "radiofm: error: --lte-frames ',' names no LTE frame structure; valid: fdd, tdd, mbsfn"
            assert capsys.readouterr().err.strip().splitlines() == [message]
            assert not bad.exists()


HUGE = str(10**20)


@pytest.mark.parametrize(
    "argv, expected",
    [  # each was a traceback (an int too large for C, an array too large to make) or a run that never ended
        (["generate", "nrlte", "--frames", HUGE], "up to 10000000"),
        (["generate", "nrlte", "--workers", HUGE], "process count from 1 to 256"),
        (["generate", "ism", "--recordings", HUGE], "up to 1000000"),
        (["generate", "beams", "--front-ends", HUGE], "up to 64"),
        (["generate", "beams", "--frames", HUGE], "up to 100000"),
        (["generate", "signals", "--per-class", HUGE], "up to 100000"),
        (["generate", "sensing", "--workers", HUGE], "process count from 1 to 256"),
        (["pretrain", "--data", "d", "--workers", "257"], "process count from 1 to 256"),
        (["reproduce", "table5", "--workers", "300"], "process count from 1 to 256"),
        (["pretrain", "--data", "d", "--epochs", HUGE], "epoch count from 1 to 100000"),  # trained for ever
        (["fewshot", "train", "--data", "d", "--front-end", "f", "--episodes", HUGE], "episode count"),
        (
            ["fewshot", "evaluate", "--model", "m", "--data", "d", "--front-end", "f", "--episodes", HUGE],
            "episode count from 1 to 100000",
        ),  # out of memory  # fmt: skip
    ],
)
def test_absurd_counts_are_one_line_errors_with_nothing_written(argv, expected, tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--out", str(out)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("radiofm: error: argument") and expected in err[0], err
    assert not out.exists()


def test_generating_into_a_folder_holding_a_users_files_keeps_them(tmp_path, capsys, monkeypatch):
    """A reported data loss: an existing --out was replaced whole, deleting files radiofm had not written."""
    out = tmp_path / "prec"
    out.mkdir()
    (out / "precious.txt").write_text("keep")
    args = ["generate", "nrlte", "--out", str(out), "--frames", "1", "--split", "test", "--no-progress"]
    assert main(args) == 0
    assert main([*args, "--seed", "3"]) == 0  # written again: radiofm's files replaced, the user's kept
    assert (out / "precious.txt").read_text() == "keep" and (out / "manifest.json").is_file()
    assert json.loads((out / "manifest.json").read_text())["seed"] == 3
    monkeypatch.chdir(out)  # the current folder is refused before any work: the shell would be left in a removed one
    assert main(["generate", "nrlte", "--out", ".", "--frames", "1", "--no-progress"]) == 2
    assert "current folder" in capsys.readouterr().err
    assert (out / "precious.txt").read_text() == "keep"
