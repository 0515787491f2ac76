"""The ``radiofm`` command: one entry point, one module per subcommand.

Each subcommand module exposes ``add_parser(subparsers)`` and ``run(args) -> int``. User errors
(:class:`radiofm.errors.RadioFMError`) become one line on stderr and exit status 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import threading
from pathlib import Path

from radiofm.errors import ConfigError, RadioFMError

# name -> module under radiofm.cli; imported lazily so `radiofm --help` stays fast
SUBCOMMANDS = {
    "generate": "radiofm.cli.generate",
    "inspect": "radiofm.cli.inspect",
    "pretrain": "radiofm.cli.pretrain",
    "finetune": "radiofm.cli.finetune",
    "evaluate": "radiofm.cli.evaluate",
    "annotate": "radiofm.cli.annotate",
    "fewshot": "radiofm.cli.fewshot",
    "reproduce": "radiofm.cli.reproduce",
    "demo": "radiofm.cli.demo",
    "models": "radiofm.cli.models",
}
# what --out names, per command or "command subcommand" (default: a folder replaced whole); checked before any
# work (radiofm.io.check_destination). "into": a folder the command writes files in, never replaced whole.
OUT_KIND = {
    "inspect": "file",
    "annotate": "prefix",
    "reproduce": "into",
    "demo": "into",
    "fewshot evaluate": "into",
    "evaluate annotate": "into",
}
_SUBCOMMAND_DESTS = ("fewshot_command", "evaluation", "generator", "experiment", "task")


def _out_kind(args: argparse.Namespace) -> str:
    for dest in _SUBCOMMAND_DESTS:
        key = f"{args.command} {getattr(args, dest, None)}"
        if key in OUT_KIND:
            return OUT_KIND[key]
    return OUT_KIND.get(args.command, "folder")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag on one line, ``radiofm: error: ...`` like every other error, and exits 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        hint = f"see {self.prog} --help"
        if "the following arguments are required" in message or "unrecognized arguments" in message:
            hint += "; put -- before a file name that starts with '-'"
        self.exit(2, f"radiofm: error: {one_line(message)} ({hint})\n")


def one_line(message: object) -> str:
    """A message from user-controlled text (file names, labels) as one printable line: line breaks and other
    control characters escaped, text that cannot be encoded replaced."""
    text = str(message)
    if any(ord(c) < 32 or c == "\x7f" for c in text):
        text = "".join(c if ord(c) >= 32 and c != "\x7f" else repr(c)[1:-1] for c in text)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every sub-command, or only of ``only`` (what ``radiofm COMMAND ...`` needs: start-up time)."""
    parser = _Parser(prog="radiofm", description="Radio foundation models: pretrain, fine-tune, evaluate, annotate.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for _name, modname in SUBCOMMANDS.items():
        if only is not None and _name != only:
            continue
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as exc:  # a subcommand not yet built must not break the others
            if exc.name == modname:
                continue
            raise
        mod.add_parser(sub)
    return parser


# Path flags that name outputs, not inputs: --out may hold them
_OUTPUT_FLAGS = {"out", "cache_dir", "json"}


def _check_out_is_no_input(args: argparse.Namespace, out: Path, flag: str = "out") -> None:
    """Refuse, before any work, an output (``--out``, ``--json``) that is an input of the same command or a folder
    holding one: writing it would replace that input (``evaluate --model RUN --out RUN`` would remove the model)."""
    target, label = out.resolve(), f"--{flag.replace('_', '-')} {out}"
    for name, value in vars(args).items():
        if name == flag:
            continue
        for given in value if isinstance(value, list) else [value]:
            if not isinstance(given, Path):
                continue
            source = given.resolve()
            if name in _OUTPUT_FLAGS:  # another output (--cache-dir): the same path would be written twice
                if source == target:
                    raise ConfigError(f"{label} is also --{name.replace('_', '-')}; give each its own path")
                continue
            if source == target or target in source.parents:
                verb = "is" if source == target else "holds"
                raise ConfigError(
                    f"{label} {verb} the input --{name.replace('_', '-')} {given}; writing it would replace that "
                    f"input: choose another --{flag.replace('_', '-')}"
                )
            if _a_file_of(source, target):
                raise ConfigError(
                    f"{label} is a file of the input --{name.replace('_', '-')} {given}; writing it would replace "
                    f"it: choose another --{flag.replace('_', '-')}"
                )


def _a_file_of(source: Path, target: Path) -> bool:
    """``target`` (an output file) is a file of the input ``source``: one of the recording's files (its
    ``.sigmf-meta``/``.sigmf-data`` however the recording was named, a ``.npy``'s sidecar), or an existing file
    inside the input folder that radiofm reads as input (a checkpoint's weights or config, a dataset's manifest,
    a recording). Writing it would replace an input. A new file in an input folder, an earlier output of the same
    kind there (``--json SUPPORT/scores.json`` run twice), or an output folder inside one (``evaluate --out
    RUN/eval``) is fine."""
    if target in _recording_files(source):
        return True
    return target.is_file() and source in target.parents and _read_as_input(target)


_INPUT_SUFFIXES = (".sigmf-meta", ".sigmf-data", ".sigmf", ".npy", ".h5", ".hdf5", ".mat", ".safetensors", ".png")
_INPUT_NAMES = ("config.json", "manifest.json", "state.json", "split.json")


def _recording_files(source: Path) -> set[Path]:
    """The files of a recording named ``source`` (``NAME``, ``NAME.sigmf-meta`` or ``NAME.sigmf-data``; ``NAME.npy``
    and its ``NAME.json``)."""
    name = source.name.lower()
    if name.endswith(".npy"):
        return {source, source.with_suffix(".json")}
    base = source.name
    for ext in (".sigmf-meta", ".sigmf-data"):
        if name.endswith(ext):
            base = source.name[: -len(ext)]
    return {source.with_name(base + ext) for ext in (".sigmf-meta", ".sigmf-data")}


def _read_as_input(path: Path) -> bool:
    """A file radiofm reads as input when it lies in an input folder (see :func:`_a_file_of`)."""
    from radiofm.output_folders import CACHE_DIR  # here: not on every command's start-up

    name = path.name.lower()
    return (
        name.endswith(_INPUT_SUFFIXES)
        or name in _INPUT_NAMES
        or (name.endswith(".json") and path.with_suffix(".npy").exists())
        or CACHE_DIR in path.parts
    )


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 must not crash a print
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    words = sys.argv[1:] if argv is None else list(argv)
    first = next((w for w in words if not w.startswith("-")), None)
    parser = build_parser(first if first in SUBCOMMANDS and first == (words[0] if words else None) else None)
    args = parser.parse_args(argv)
    _terminate_as_interrupt()
    try:
        for flag in ("out", "json"):  # the outputs a command names, checked before any work
            given = getattr(args, flag, None)
            if isinstance(given, Path):
                from radiofm.io import check_destination

                kind = _out_kind(args) if flag == "out" else "file"
                check_destination(given, kind=kind)
                if kind in ("folder", "file"):
                    _check_out_is_no_input(args, given, flag)
        return int(args.run(args) or 0)
    except RadioFMError as exc:
        print(f"radiofm: error: {one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("radiofm: interrupted", file=sys.stderr)
        return 130
    except _Terminated:
        print("radiofm: terminated", file=sys.stderr)
        return 143
    except BrokenPipeError:  # `radiofm ... | head`: the reader left; no traceback, no second error at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except MemoryError:
        print("radiofm: error: out of memory (try a smaller --batch-size or fewer --workers)", file=sys.stderr)
        return 1
    except RuntimeError as exc:  # torch's CPU allocator says it in a RuntimeError, not a MemoryError
        if "can't allocate memory" not in str(exc) and "not enough memory" not in str(exc):
            raise
        print("radiofm: error: out of memory (try a smaller --batch-size, --image-size or fewer --workers)",
              file=sys.stderr)  # fmt: skip
        return 1
    finally:
        _leave_process_group()


class _Terminated(BaseException):
    """SIGTERM (a batch system's time limit, ``kill``): unwinds the command as Ctrl-C does, so that every output
    being written is removed (``atomic_path``) and nothing half-written or temporary is left."""


def _terminate_as_interrupt() -> None:
    import signal

    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        main_pid = os.getpid()

        def terminated(signum, frame):
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
            if os.getpid() != main_pid:  # a forked worker (a DataLoader's) inherited this: end as by default
                os.kill(os.getpid(), signal.SIGTERM)
                return
            raise _Terminated

        signal.signal(signal.SIGTERM, terminated)


def _leave_process_group() -> None:
    """Under torchrun, the process group lives for the whole command; it is torn down once, here."""
    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _version() -> str:
    from radiofm import __version__

    return f"radiofm {__version__}"


if __name__ == "__main__":
    sys.exit(main())
