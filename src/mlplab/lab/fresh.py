"""A warm kernel that starts every run as a new kernel would.

The runner keeps one kernel per worker and executes run after run in it, so TensorFlow,
Keras and the notebook's modules are imported once, not once per run (``warm_up``). Before
each run ``fresh_run`` puts back everything a run can change and a new kernel would not
have: the notebook's variables and execution counter, Keras' global state (layer names,
seeds), TensorFlow's global seed, NumPy's and Python's generators, open figures and
matplotlib settings, warning filters and the "shown once" memory of warnings, the working
folder and environment variables. What stays is what importing leaves, identical for every
run, and the figures that runs draw alike (``plots.drawn_once``), shown again as drawn. The
runner's both-ways test builds runs warm and fresh and compares pages and records.

Both functions run inside the kernel; the runner sends them as code.
"""

from __future__ import annotations

import copy
import os
import random
import sys
import warnings
from pathlib import Path
from typing import Any

_START: dict[str, Any] = {}  # what a new kernel looks like after the notebook's imports


def warm_up(imports: str) -> None:
    """Run the notebook's import statements ``imports`` (one a line, in the notebook's order)
    and remember the state a new kernel has after them. TensorFlow's start-up chatter is
    silenced, as ``backend.tensorflow`` does; a statement that fails is left for the run
    itself to report on its page."""
    import contextlib
    import gc

    from mlplab.lab.backend import native_stderr_silenced

    with native_stderr_silenced():
        for statement in imports.splitlines():
            with contextlib.suppress(Exception):
                exec(statement, {})  # noqa: S102  (import statements from the notebook)
    _START.update(filters=list(warnings.filters), environ=dict(os.environ))
    gc.freeze()  # the imported modules stay: collections between runs need not visit them
    if "matplotlib" in sys.modules:
        _START["rc"] = copy.deepcopy(dict(sys.modules["matplotlib"].rcParams))


def fresh_run(cwd: str, environ: dict[str, str]) -> None:
    """Reset the kernel for the next run (see the module's docstring). State of a library the
    warm-up did not import is reset only once a run has imported it."""
    from IPython import get_ipython

    if not _START:
        raise RuntimeError("fresh_run before warm_up")
    get_ipython().reset(new_session=True)  # variables, In/Out, execution count 1; collects
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
    if "rc" in _START:
        with warnings.catch_warnings():  # rcParams.update warns of settings it deprecates
            warnings.simplefilter("ignore")
            sys.modules["matplotlib"].rcParams.update(_START["rc"])
    if "keras" in sys.modules:
        # Layer names, Keras' seed and settings; the reset above collected the garbage.
        sys.modules["keras"].backend.clear_session(free_memory=False)
    if "tensorflow" in sys.modules:  # (its op determinism is on in every kernel: backend.py)
        sys.modules["tensorflow"].random.set_seed(None)  # unseeded, as a new process
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(None)
    random.seed(None)
    warnings.filters[:] = _START["filters"]
    warnings.onceregistry.clear()
    getattr(warnings, "_filters_mutated", lambda: None)()  # "shown once" counts from now on
    os.environ.clear()
    os.environ.update({**_START["environ"], **environ})
    os.chdir(Path(cwd))
    _reset_peak_memory()


def _reset_peak_memory() -> None:
    """Make the kernel's peak resident memory this run's own (Linux; elsewhere it stays the
    kernel's peak since it started)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_memory_mb() -> float:
    """The kernel's peak resident memory (since the run began, where ``fresh_run`` could
    reset it) in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
