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
