"""Keep the master notebook's ``parameters`` cell generated from the declaration."""

from __future__ import annotations

from pathlib import Path

import nbformat

from mlplab.params import parameters_cell_source


def parameters_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"expected exactly one cell tagged 'parameters', found {len(cells)}")
    return cells[0]


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
