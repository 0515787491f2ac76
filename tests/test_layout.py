"""The package's shape (docs/ARCHITECTURE.md), checked on the source: layers import downward only, no import cycle
(function-level imports included), nothing below the CLI imports it, no module over 450 lines, and the
duplicates issue 9 removed stay removed."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "radiofm"
MAX_LINES = 450

# bottom -> top; a module may import modules of its own layer or of lower ones. Longest prefix wins.
LAYERS = {
    "radiofm": 0,
    "radiofm.errors": 0,
    "radiofm.io": 0,
    "radiofm.checkpoint_files": 0,
    "radiofm.viz": 0,
    "radiofm.dsp": 1,
    "radiofm.synth": 2,
    "radiofm.data": 3,
    "radiofm.models": 4,
    "radiofm.train": 5,
    "radiofm.tasks": 6,
    "radiofm.annotate": 7,
    "radiofm.reproduce": 7,
    "radiofm.cli": 8,
    "radiofm.__main__": 8,
}


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def layer(module: str) -> int:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in LAYERS:
            return LAYERS[".".join(parts[:n])]
    raise AssertionError(f"{module} is in no layer; add its folder to LAYERS in tests/test_layout.py")


def _resolve(name: str) -> str | None:
    """The radiofm module an imported dotted name refers to (the longest existing module prefix)."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in modules():
            return ".".join(parts[:n])
    return None


@cache
def imports() -> dict[str, dict[str, int]]:
    """module -> {imported radiofm module: line}, from every import statement (module level and in functions)."""
    graph: dict[str, dict[str, int]] = {}
    for mod, path in modules().items():
        edges: dict[str, int] = {}
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: resolve against this module's package
                    up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(up + ([base] if base else []))
                # "from pkg import sub" imports the submodule pkg.sub when there is one, else pkg itself
                targets = [f"{base}.{a.name}" for a in node.names] if base else []
            for t in targets:
                if t.split(".")[0] != "radiofm":
                    continue
                target = _resolve(t)
                if target is not None and target != mod:
                    edges.setdefault(target, node.lineno)
        graph[mod] = edges
    return graph


def test_the_graph_sees_module_and_function_level_imports():
    deps = imports()
    assert "radiofm.models.finetuned" in deps["radiofm.tasks.segmentation"]  # module level
    assert "radiofm.tasks.segmentation" in deps["radiofm.cli.tasks.segmentation"]  # inside run_finetune
    assert "radiofm.models.mae" in deps["radiofm.models"]  # "from radiofm.models import mae": the submodule


def test_every_module_has_a_layer():
    for mod in modules():
        layer(mod)


def test_nothing_below_the_cli_imports_it():
    bad = [
        f"{mod} (line {line}) imports {dep}"
        for mod, deps in imports().items()
        if layer(mod) < LAYERS["radiofm.cli"]
        for dep, line in deps.items()
        if dep.startswith("radiofm.cli")
    ]
    assert not bad, "library code imports the CLI:\n" + "\n".join(bad)


def test_layers_import_downward_only():
    bad = [
        f"{mod} (layer {layer(mod)}, line {line}) imports {dep} (layer {layer(dep)})"
        for mod, deps in imports().items()
        for dep, line in deps.items()
        if layer(dep) > layer(mod)
    ]
    assert not bad, "upward imports:\n" + "\n".join(bad)


def find_cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    for start in sorted(graph):
        if start in state:
            continue
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                return path[path.index(child) :] + [child]
            elif child not in state:
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(graph.get(child, {})))))
    return None


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": 1}, "b": {}, "c": {"a": 1}}) is None


def test_no_import_cycle():
    cycle = find_cycle(imports())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("mod", sorted(modules()))
def test_module_size(mod):
    n = len(modules()[mod].read_text().splitlines())
    assert n <= MAX_LINES, f"{mod} has {n} lines (limit {MAX_LINES}): split it"


# ------------------------------------------------------------------------------------------- duplicates (issue 9)


@cache
def trees() -> dict[str, ast.Module]:
    return {mod: ast.parse(path.read_text()) for mod, path in modules().items()}


def _assigned(name: str) -> list[str]:
    return [
        mod
        for mod, tree in trees().items()
        for node in tree.body
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
    ]


def _defined(name: str) -> list[str]:
    return [
        mod
        for mod, tree in trees().items()
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name
    ]


def _literal_class_lists() -> dict[tuple, list[str]]:
    """Every tuple/list of strings assigned to a module-level ``CLASSES`` or ``ACTIVITIES`` -> the modules."""
    found: dict[tuple, list[str]] = {}
    for mod, tree in trees().items():
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            if any(isinstance(t, ast.Name) and t.id in ("CLASSES", "ACTIVITIES") for t in targets):
                if isinstance(node.value, (ast.Tuple, ast.List)) and all(
                    isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.value.elts
                ):
                    found.setdefault(tuple(e.value for e in node.value.elts), []).append(mod)
    return found


def test_each_former_duplicate_exists_once():
    lists = _literal_class_lists()
    assert lists[("noise", "NR", "LTE")] == ["radiofm.synth.nrlte.scene"]  # the NR/LTE class list
    assert all(len(mods) == 1 for mods in lists.values()), lists  # every class list is written once
    for name in ("MODES", "READOUTS", "NORMS"):  # fine-tuning modes and readouts (dsp's resize MODES: interpolation)
        assert [m for m in _assigned(name) if layer(m) >= layer("radiofm.models")] == ["radiofm.models.finetuned"]
    assert _defined("configure_mode") == ["radiofm.models.finetuned"]  # one switch of fine-tuning modes
    assert not _defined("_set_trainable") and not _defined("set_trainable")
    assert _defined("train_val_split") == ["radiofm.data.splits"] and not _defined("split_dataset")
    assert _defined("build_dataset_once") == ["radiofm.train.distributed"]
    assert _defined("write_sigmf") == ["radiofm.data.sigmf_writer"]


def test_holdout_splits_and_detection_rates_live_in_one_place():
    """``default_rng([seed, ...]).permutation(n)`` orders items from a seed: the train/validation holdout
    (data/splits.py) and the per-epoch data order (train/distributed.py) do, nothing else; a dict with a
    "false_alarm_rate" key is the detection-rate record: only dsp/grid.py builds one."""
    permuting, rates = set(), set()
    for mod, tree in trees().items():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", None) == "permutation"
                and isinstance(node.func.value, ast.Call)
                and getattr(node.func.value.func, "attr", None) == "default_rng"
                and node.func.value.args
                and isinstance(node.func.value.args[0], ast.List)
            ):
                permuting.add(mod)
            if isinstance(node, ast.Dict) and any(
                isinstance(k, ast.Constant) and k.value == "false_alarm_rate" for k in node.keys
            ):
                rates.add(mod)
    assert permuting == {"radiofm.data.splits", "radiofm.train.distributed"}
    assert rates == {"radiofm.dsp.grid"}


def test_only_the_data_layer_talks_to_the_sigmf_library():
    users = {mod for mod, deps in _external_imports().items() if "sigmf" in deps}
    assert users and all(mod.startswith("radiofm.data.") for mod in users), users


@cache
def _external_imports() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for mod, tree in trees().items():
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
        out[mod] = names
    return out


def test_library_functions_take_no_namespace():
    """argparse lives in radiofm.cli only: no library module imports it (configs are dataclasses)."""
    users = sorted(mod for mod, deps in _external_imports().items() if "argparse" in deps and layer(mod) < 8)
    assert not users, users
