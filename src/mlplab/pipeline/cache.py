"""What a run's outputs depend on, split by what a change costs.

Three keys per run, from the narrowest to the widest:
- ``results``: what can change the trained networks and their records: the master
  notebook's code cells, the kernel-side modules that load data and train, the lock file,
  the parameters and the data. A change retrains.
- ``code``: every code cell and every package module except the HTML rendering. A change
  with the same ``results`` key (e.g. a reworded sentence in ``narrative``) re-executes the
  notebook, since the page's outputs are code outputs, but the kernel loads the run's kept
  networks (``<run>.networks.npz``) instead of training them again.
- ``page``: the whole notebook text (markdown too) and the rendering templates. A change with
  the same ``code`` key (a markdown edit, a template tweak) only re-renders: the cached
  executed notebook gets the new markdown cells and is exported again, without a kernel.

Like jupyter-cache, code cells are hashed apart from markdown and outputs are merged back
into the new notebook; unlike it, the package code the kernel imports is hashed too.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import nbformat

from mlplab.params import Params
from mlplab.pipeline.notebook import INJECTED_TAG
from mlplab.sources import imported_closure

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # src/mlplab
LOCK_FILE = Path("requirements.lock")
# The kernel's training code (load, split, train, write the record) and every package
# module it imports: the code that decides the trained networks and the results record.
TRAINING_ENTRIES = ("lab/experiment.py", "lab/record.py")
# What only turns an executed notebook into a page.
RENDER_ONLY = ("pipeline/html.py", "pipeline/templates/")
METADATA_KEY = "mlplab"  # executed notebooks carry their page key under this metadata key


@functools.cache
def result_modules() -> tuple[str, ...]:
    """``TRAINING_ENTRIES`` and what they import, read when a key is first needed (not on
    import: a worker that only renders pages never needs them)."""
    return imported_closure(*TRAINING_ENTRIES)


def hash_bytes(*chunks: bytes) -> str:
    """sha256 over the sha256 of each chunk, so chunk boundaries count."""
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(hashlib.sha256(chunk).digest())
    return h.hexdigest()


def _package_files(include) -> list[Path]:
    return sorted(p for p in PACKAGE_DIR.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts
                  and include(p.relative_to(PACKAGE_DIR)))


def package_hash(include=lambda rel: True) -> str:
    """Hash of the package files ``include`` selects (by path relative to the package)."""
    return hash_bytes(*(str(p.relative_to(PACKAGE_DIR)).encode() + p.read_bytes()
                        for p in _package_files(include)))


def _code_cells(notebook_text: str) -> bytes:
    cells = json.loads(notebook_text)["cells"]
    return json.dumps(["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
                      ).encode()


@dataclass(frozen=True)
class Keys:
    results: str
    code: str
    page: str


class Hasher:
    """The keys of every run of one build; the shared parts are hashed once."""

    def __init__(self, root: Path, notebook_text: str) -> None:
        lock = root / LOCK_FILE
        lock_bytes = lock.read_bytes() if lock.exists() else b""
        code_cells = _code_cells(notebook_text)
        self.results_base = hash_bytes(
            code_cells, lock_bytes,
            package_hash(lambda rel: str(rel) in result_modules()).encode())
        self.code_base = hash_bytes(
            code_cells, lock_bytes,
            package_hash(lambda rel: not str(rel).startswith(RENDER_ONLY)).encode())
        self.page_base = hash_bytes(notebook_text.encode(), package_hash().encode())

    def keys(self, params: Params, data_sha: str) -> Keys:
        run = hash_bytes(json.dumps(params.as_dict(), sort_keys=True).encode(), data_sha.encode())
        return Keys(results=hash_bytes(self.results_base.encode(), run.encode()),
                    code=hash_bytes(self.code_base.encode(), run.encode()),
                    page=hash_bytes(self.page_base.encode(), run.encode()))


def page_key_of(executed: Path) -> str | None:
    """The page key stamped into an executed notebook, or None if it has none or is bad."""
    try:
        return json.loads(executed.read_text())["metadata"].get(METADATA_KEY, {}).get(
            "page_key")
    except (OSError, ValueError, KeyError, AttributeError):
        return None


def stamp(notebook: nbformat.NotebookNode, page_key: str) -> None:
    notebook.metadata[METADATA_KEY] = {"page_key": page_key}


def merge_prose(executed: nbformat.NotebookNode,
                master: nbformat.NotebookNode) -> nbformat.NotebookNode | None:
    """The master notebook's cells with the executed notebook's outputs, or None.

    Each code cell of ``master`` takes the outputs of the executed code cell with the same
    source, in order; markdown cells come from ``master`` as they are now, so added, removed
    or reworded markdown needs no kernel. papermill's injected-parameters cell is kept
    after the parameters cell. None when the code cells no longer match (re-execute).
    """
    done = [c for c in executed.cells if c.cell_type == "code"
            and INJECTED_TAG not in c.metadata.get("tags", [])]
    injected = [c for c in executed.cells if INJECTED_TAG in c.metadata.get("tags", [])]
    wanted = [c for c in master.cells if c.cell_type == "code"]
    if [c.source for c in done] != [c.source for c in wanted]:
        return None
    merged = copy.deepcopy(executed)
    cells, outputs = [], iter(done)
    for cell in master.cells:
        cell = copy.deepcopy(cell)
        if cell.cell_type == "code":
            ran = next(outputs)
            cell.outputs, cell.execution_count = ran.outputs, ran.execution_count
            cell.metadata = ran.metadata
        cells.append(cell)
        if "parameters" in cell.metadata.get("tags", []):
            cells += injected
    merged.cells = cells
    return merged
