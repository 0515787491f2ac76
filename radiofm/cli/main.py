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
import warnings
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


def raised_message(exc: BaseException) -> str:
    """``exc``'s own message. An error raised in a DataLoader worker process comes back as the same type whose
    message is torch's report: "Caught X in DataLoader worker process N", the worker's traceback, and last
    "module.X: message"; the user gets that message (a cache rebuilt under a reader showed the whole traceback)."""
    text = str(exc)
    if not (text.startswith("Caught ") and "\nOriginal Traceback" in text):
        return text
    last = [line for line in text.splitlines() if line.strip()][-1]
    for name in (f"{type(exc).__module__}.{type(exc).__qualname__}: ", f"{type(exc).__qualname__}: "):
        if last.startswith(name):
            return last[len(name) :]
    return last


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


def _check_out_is_no_input(args: argparse.Namespace, out: Path, flag: str = "out", *, holding: bool = True) -> None:
    """Refuse, before any work, an output (``--out``, ``--json``) that is an input of the same command or a folder
    holding one: writing it would replace that input (``evaluate --model RUN --out RUN`` would remove the model)."""
    target, label = out.resolve(), f"--{flag.replace('_', '-')} {out}"
    for name, value in vars(args).items():
        if name == flag:
            continue
        for given in value if isinstance(value, list) else [value]:
            if not isinstance(given, Path):
                continue
            try:
                source = given.resolve()
            except (RuntimeError, OSError):  # a symlink loop: its own flag's check says so
                continue
            if name in _OUTPUT_FLAGS:  # another output (--cache-dir): the same path would be written twice
                if source == target:
                    raise ConfigError(f"{label} is also --{name.replace('_', '-')}; give each its own path")
                continue
            if source == target or (holding and target in source.parents):
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


def _refuse_empty_values(parser: argparse.ArgumentParser, words: list[str]) -> None:
    """An empty value (``--out ""``, ``--data=``, ``--tasks ''``) is refused on one line: as a path it would name
    the current folder (``--data ""`` scanned it, ``--out ""`` tried to replace it), as a list it meant "all"."""
    for i, word in enumerate(words):
        flag = word[:-1] if word.startswith("--") and word.endswith("=") else None
        if word == "" and i > 0 and words[i - 1].startswith("--"):
            flag = words[i - 1]
        if flag is not None:
            parser.error(f"{flag} is empty")
        if word == "":
            parser.error("an empty argument")


def _check_not_another_output(args: argparse.Namespace, out: Path, flag: str) -> None:
    """Refuse an existing output folder that holds a trained model or a data set when this command writes
    something else there: ``generate ism --out RUN`` or ``evaluate ... --out DATASET`` replaced it without a word
    (the folder's radiofm record lets radiofm replace what radiofm wrote; a model is not an evaluation)."""
    from radiofm.output_folders import manifest_kind

    if not out.is_dir():
        return
    writes = "cache" if flag == "cache_dir" else _writes(args)
    label = f"--{flag.replace('_', '-')} {out}"
    act = "would write its cache there" if writes == "cache" else "would replace it"
    if (out / "model.safetensors").exists() and writes != "model":
        raise ConfigError(f"{label} holds a trained model (model.safetensors); {_what(args)} {act}: choose another "
                          "folder")  # fmt: skip
    data_kind = manifest_kind(out / "manifest.json")
    if data_kind is not None and writes != "data":
        raise ConfigError(f"{label} holds a data set ({data_kind}); {_what(args)} {act}: choose another folder")


def _writes(args: argparse.Namespace) -> str:
    """What the command's --out receives: "model" (a run: pretrain, finetune, fewshot train; they refuse an
    existing run themselves unless resumed), "data" (generate; each generator checks the kind it replaces) or
    "other"."""
    if getattr(args, "out", None) is None:
        return "other"
    if args.command in ("pretrain", "finetune") or (args.command == "fewshot" and args.fewshot_command == "train"):
        return "model"
    return "data" if args.command == "generate" else "other"


def _what(args: argparse.Namespace) -> str:
    sub = next((getattr(args, d) for d in _SUBCOMMAND_DESTS if isinstance(getattr(args, d, None), str)), None)
    return f"radiofm {args.command}{' ' + sub if sub else ''}"


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings (a small data set, a fallback taken) as one ``radiofm: warning:`` line, not Python's two-line
    form with the source file and line."""
    print(f"radiofm: warning: {one_line(message)}", file=sys.stderr if file is None else file)


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
    _refuse_empty_values(parser, words)
    args = parser.parse_args(argv)
    _terminate_as_interrupt()
    warnings.showwarning = _one_line_warning
    try:
        for flag in ("out", "json", "cache_dir"):  # the outputs a command names, checked before any work
            given = getattr(args, flag, None)
            if isinstance(given, Path):
                from radiofm.io import check_destination

                kind = {"out": _out_kind(args), "json": "file", "cache_dir": "into"}[flag]
                if kind == "prefix" and given.is_dir():  # NAME.sigmf-meta would be written beside the folder
                    raise ConfigError(f"--out {given} is a folder; give the prefix of the files to write, e.g. "
                                      f"{given / 'annotated'}")  # fmt: skip
                if flag != "cache_dir":
                    check_destination(given, kind=kind)
                else:  # not probed for writing: a warm cache may sit where nothing can be written
                    if given.is_symlink() and not given.exists():  # a loop too: resolve() would raise
                        raise ConfigError(f"--cache-dir {given} is a broken symbolic link")
                    nearest = next((a for a in (given, *given.parents) if a.exists()), given)
                    if nearest.exists() and not nearest.is_dir():
                        where = "" if nearest == given else f": {nearest}"
                        raise ConfigError(f"--cache-dir {given}{where} exists and is not a folder")
                if kind in ("folder", "into"):
                    _check_not_another_output(args, given, flag)
                if kind in ("folder", "file", "into"):  # a folder written into may hold an input, not be one
                    _check_out_is_no_input(args, given, flag, holding=kind != "into")
        return int(args.run(args) or 0)
    except RadioFMError as exc:
        print(f"radiofm: error: {one_line(raised_message(exc))}", file=sys.stderr)
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
        if _peer_lost(exc):
            print(f"radiofm: error: another process of this torchrun job stopped ({one_line(exc)[:160]})",
                  file=sys.stderr)  # fmt: skip
            return 1
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


# what a collective says when another process of the job is gone (gloo's socket errors; NCCL's "remote process
# exited"); a timeout or a mismatched collective is a bug or a hang, and keeps its traceback
PEER_LOST = (
    "connection reset by peer", "connection closed by peer", "broken pipe", "remote process exited",
    "failed to recv, got 0 bytes",  # the rendezvous store's socket, closed by the process that died
)  # fmt: skip


def _peer_lost(exc: RuntimeError) -> bool:
    """True for a collective that failed because another process of the job is gone, which the surviving ranks
    should say in one line, not a traceback (:data:`PEER_LOST`)."""
    dist = sys.modules.get("torch.distributed")
    if dist is None or not (dist.is_available() and dist.is_initialized()):
        return False
    text = str(exc).lower()
    return any(p in text for p in PEER_LOST)


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
