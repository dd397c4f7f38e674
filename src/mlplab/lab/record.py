"""The results record a notebook run writes: its parameters, data, each seed's metrics and
history, timings, and the software and hardware that produced them (see mlplab.results for
the schema version and file I/O)."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from mlplab import results
from mlplab.lab.fresh import peak_memory_mb
from mlplab.params import SCRATCH_PATHS, Params
from mlplab.results import RECORD_SCHEMA, Status

PACKAGES = ("mlplab", "tensorflow", "keras", "numpy", "pandas", "matplotlib", "scikit-learn",
            "papermill", "nbconvert")


def dead_units(model, x_val: np.ndarray) -> list[dict[str, int]] | None:
    """Per hidden ReLU layer, how many units output 0 on every validation image ("dead"):
    such a unit's gradient is zero for every image, so the loss gives its weights no signal
    to recover. None
    for other activations, whose units never output exactly 0 for a whole range of inputs.

    Computed in NumPy from the layers' weights (Dense = x·W + b), one layer after another.
    """
    dense = [layer for layer in model.layers if hasattr(layer, "units")][:-1]
    if not dense or any(layer.activation.__name__ != "relu" for layer in dense):
        return None
    out, x = [], np.asarray(x_val, dtype=np.float64)
    for number, layer in enumerate(dense, start=1):
        weights, bias = layer.get_weights()
        x = np.maximum(x @ weights + bias, 0.0)
        out.append({"layer": number, "units": int(layer.units),
                    "dead": int(np.sum(x.max(axis=0) <= 0)), "images": len(x)})
    return out


def environment() -> dict[str, Any]:
    """Software and hardware, so a reader can tell what produced the numbers."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "packages": versions,
    }
    try:
        from mlplab.lab.backend import tensorflow

        tf = tensorflow()
        env["gpus"] = [d.name for d in tf.config.list_physical_devices("GPU")]
    except ImportError:
        env["gpus"] = None
    return env


def git_commit(cwd: Path | None = None) -> str | None:
    """The checkout's commit, with '+dirty' when files differ from it."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                                text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=cwd, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty.strip() else "")


def build_record(params: Params, data: dict[str, Any], param_count: int,
                 seed_records: list[dict[str, Any]], started: str) -> dict[str, Any]:
    accuracies = [s["metrics"]["test_accuracy"] for s in seed_records]
    return {
        "schema": RECORD_SCHEMA,
        "name": params.run_name,
        "status": Status.OK,
        "params": {k: v for k, v in params.as_dict().items() if k not in SCRATCH_PATHS},
        "data": data,
        "param_count": param_count,
        "seeds": seed_records,
        "test_accuracy": results.seed_summary(accuracies),
        "train_seconds_total": sum(s["train_seconds"] for s in seed_records),
        "peak_memory_mb": peak_memory_mb(),
        "env": environment(),
        "git_commit": git_commit(),
        "started": started,
        "finished": results.now(),
    }
