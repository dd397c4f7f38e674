"""The master notebook's parameter cells: the ``parameters`` cell generated from the
declaration, and papermill's injected cell made readable on a run's page."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from mlplab.params import BY_NAME, SCRATCH_PATHS, parameters_cell_source

INJECTED_TAG = "injected-parameters"  # papermill's cell with a run's parameters
ERROR_MARKER_TAG = "papermill-error-cell-tag"  # papermill's cells pointing at a failed cell
INJECTED_HEADER = ("# This run's parameters: `make report` put them here, in place of the "
                   "notebook's defaults.")
_ASSIGNMENT = re.compile(r"^(\w+) = ")


def parameters_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"expected exactly one cell tagged 'parameters', found {len(cells)}")
    return cells[0]


def present_injected_parameters(nb: nbformat.NotebookNode) -> None:
    """Rewrite papermill's injected cell, after execution, for a reader: each parameter under
    its meaning from the declaration, and without the paths of the runner's scratch files
    (deleted when the build ends, and not parameters of the experiment). The cells papermill
    adds (this one, and a failed run's error markers) get ids from their tags instead of
    random ones, so the same run gives the same page."""
    added = [c for c in nb.cells
             if {INJECTED_TAG, ERROR_MARKER_TAG} & set(c.metadata.get("tags", []))]
    for number, cell in enumerate(added):
        if "id" in cell:
            cell.id = f"{cell.metadata.tags[0]}-{number}"
    for cell in nb.cells:
        if INJECTED_TAG not in cell.metadata.get("tags", []):
            continue
        lines = [INJECTED_HEADER]
        for line in cell.source.splitlines():
            match = _ASSIGNMENT.match(line)
            if not match or match[1] not in BY_NAME:
                continue
            if match[1] not in SCRATCH_PATHS:
                lines += ["", f"# {BY_NAME[match[1]].help}", line]
        cell.source = "\n".join(lines)


def sync_parameters(path: Path, write: bool) -> bool:
    """Regenerate the parameters cell; return whether it differed (and write it if asked)."""
    nb = nbformat.read(path, as_version=4)
    cell = parameters_cell(nb)
    wanted = parameters_cell_source()
    changed = cell.source != wanted
    if changed and write:
        cell.source = wanted
        nbformat.write(nb, path)
    return changed
