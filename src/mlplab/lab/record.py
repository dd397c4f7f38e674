"""The results record a notebook run writes: its parameters, data, each seed's metrics and
history, timings, and the software and hardware that produced them (see mlplab.results for
the schema version and file I/O)."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from mlplab import results
from mlplab.params import SCRATCH_PATHS, Params
from mlplab.results import RECORD_SCHEMA, Status

PACKAGES = ("mlplab", "tensorflow", "keras", "numpy", "pandas", "matplotlib", "scikit-learn",
            "papermill", "nbconvert")



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
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "env": environment(),
        "git_commit": git_commit(),
        "started": started,
        "finished": results.now(),
    }
