"""The package's rooms say where code runs, and imports point one way.

- common (``mlplab/*.py``): parameters, record I/O and schema, wording, outcomes, data
  file locations. Imports only common modules.
- ``mlplab.lab``: imported inside the notebook kernel (data, models, training, theory,
  narrative, plots). May import common and summary.
- ``mlplab.summary``: reads results records. Imports only common.
- ``mlplab.pipeline``: the driver (parameters files, runner, cache, rendering, CLI). Imports
  common and summary, never lab (the driver never imports TensorFlow); the one exception is
  the CLI's ``bench`` command, which trains on purpose.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest
from conftest import ROOT

PACKAGE = ROOT / "src" / "mlplab"
ALLOWED = {"common": {"common"}, "lab": {"common", "lab", "summary"},
           "summary": {"common", "summary"}, "pipeline": {"common", "pipeline", "summary"}}
EXCEPTIONS = {("pipeline/cli.py", "mlplab.lab.bench")}  # `mlplab bench` trains on purpose
TENSORFLOW = ("tensorflow", "keras")


def room_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in ALLOWED else "common"


PACKAGES = {"mlplab", "mlplab.lab", "mlplab.pipeline", "mlplab.summary"}


def imports(path: Path) -> set[str]:
    """Every module imported anywhere in the file, function bodies included
    (``from mlplab.lab import train`` imports the module ``mlplab.lab.train``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= ({f"{node.module}.{alias.name}" for alias in node.names}
                      if node.module in PACKAGES else {node.module})
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_one_way(path: Path):
    rel = path.relative_to(PACKAGE)
    room = rel.parts[0] if len(rel.parts) > 1 else "common"
    bad = []
    for name in imports(path):
        if not name.startswith("mlplab.") or (str(rel), name) in EXCEPTIONS:
            continue
        if room_of(name) not in ALLOWED[room]:
            bad.append(name)
    assert bad == [], f"{rel} ({room}) imports {bad}"


@pytest.mark.parametrize("path", [p for p in MODULES if "lab" not in p.relative_to(PACKAGE).parts],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_kernel_room_imports_tensorflow(path: Path):
    assert not {n for n in imports(path) if n.split(".")[0] in TENSORFLOW}


def test_the_rule_catches_a_wrong_way_import(tmp_path: Path):
    bad = tmp_path / "x.py"
    bad.write_text("def f():\n    from mlplab.lab import train\n")
    assert imports(bad) == {"mlplab.lab.train"} and room_of("mlplab.lab.train") == "lab"
    assert "lab" not in ALLOWED["pipeline"]


def test_data_paths_resolve_against_the_project_root_from_notebooks(monkeypatch):
    """A kernel started by `make lab` runs in notebooks/; data still resolves."""
    from mlplab import datafiles

    monkeypatch.chdir(ROOT / "notebooks")
    if not (ROOT / "data" / "mnist.npz").exists():
        with pytest.raises(datafiles.DataError, match=str(ROOT / "data" / "mnist.npz")):
            datafiles.resolve("mnist")
    else:
        assert datafiles.resolve("mnist") == [ROOT / "data" / "mnist.npz"]
    assert datafiles.resolve("notebooks/experiments.yaml") == [
        ROOT / "notebooks" / "experiments.yaml"]
    assert os.getcwd() == str(ROOT / "notebooks")


def module_name(path: Path) -> str:
    """``src/mlplab/lab/train.py`` -> ``mlplab.lab.train`` (a package's ``__init__``: the
    package)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_cycles(modules: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle among ``modules`` (name -> the package modules it imports), as the sorted
    members of each strongly connected set larger than one module (or one importing itself)."""
    graph = {m: {n for n in names if n in modules} for m, names in modules.items()}
    order, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(m: str) -> None:  # Tarjan's strongly connected components
        order[m] = low[m] = len(order)
        stack.append(m)
        on_stack.add(m)
        for n in graph[m]:
            if n not in order:
                visit(n)
                low[m] = min(low[m], low[n])
            elif n in on_stack:
                low[m] = min(low[m], order[n])
        if low[m] == order[m]:
            members = []
            while not members or members[-1] != m:
                members.append(stack.pop())
                on_stack.discard(members[-1])
            if len(members) > 1 or m in graph[m]:
                cycles.append(sorted(members))

    for m in sorted(graph):
        if m not in order:
            visit(m)
    return sorted(cycles)


def test_no_import_cycle_inside_the_package():
    """Imports inside functions count: a lazy import hides a loop from Python, not from the
    reader, and the module that both sides need belongs below them."""
    modules = {module_name(p): imports(p) for p in MODULES}
    assert import_cycles(modules) == []


def test_the_cycle_rule_catches_a_loop_through_a_function_level_import(tmp_path: Path):
    (tmp_path / "a.py").write_text("from mlplab.lab import b\n")
    (tmp_path / "b.py").write_text("def f():\n    from mlplab.lab import c\n")
    (tmp_path / "c.py").write_text("import mlplab.lab.a\n")
    found = {f"mlplab.lab.{p.stem}": imports(p) for p in tmp_path.glob("*.py")}
    assert import_cycles(found) == [["mlplab.lab.a", "mlplab.lab.b", "mlplab.lab.c"]]
    (tmp_path / "c.py").write_text("import mlplab.lab.train\n")
    found = {f"mlplab.lab.{p.stem}": imports(p) for p in tmp_path.glob("*.py")}
    assert import_cycles(found) == []


@pytest.mark.parametrize("given, expected", [(None, "1"), ("0", "0")])
def test_importing_mlplab_turns_on_onednn_unless_it_is_set(given, expected):
    """TensorFlow reads TF_ENABLE_ONEDNN_OPTS at its import, which follows mlplab's in the
    notebooks and commands: training takes oneDNN's kernels, unless someone said otherwise."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    if given is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = given
    code = "import os, mlplab; print(os.environ['TF_ENABLE_ONEDNN_OPTS'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip() == expected
