import subprocess
import sys

from radiofm.cli.main import main


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
