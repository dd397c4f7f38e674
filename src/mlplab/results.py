"""The results record: one JSON file per run that the report is built from.

A record carries everything needed to check a claim later: every parameter, each
seed's metrics and per-epoch history, timings, the data's checksum and shape, and the
software and hardware it ran on.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import tempfile
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

PACKAGES = ("mlplab", "tensorflow", "keras", "numpy", "pandas", "matplotlib", "scikit-learn",
            "papermill", "nbconvert")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


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
        import tensorflow as tf

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


def seed_summary(values: list[float]) -> dict[str, float]:
    """Mean, sample standard deviation and a 95% t-interval over seeds."""
    from scipy import stats

    arr = np.asarray(values, dtype=float)
    n = len(arr)
    mean = float(arr.mean())
    std = float(arr.std(ddof=1)) if n > 1 else 0.0
    half = float(stats.t.ppf(0.975, n - 1) * std / np.sqrt(n)) if n > 1 else float("nan")
    return {"n": n, "mean": mean, "std": std, "ci95_low": mean - half, "ci95_high": mean + half}


def build_record(params: dict[str, Any], data: dict[str, Any], param_count: int,
                 seed_records: list[dict[str, Any]], started: str) -> dict[str, Any]:
    accuracies = [s["metrics"]["test_accuracy"] for s in seed_records]
    return {
        "name": params["run_name"],
        "status": "ok",
        "params": params,
        "data": data,
        "param_count": param_count,
        "seeds": seed_records,
        "test_accuracy": seed_summary(accuracies),
        "train_seconds_total": sum(s["train_seconds"] for s in seed_records),
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "env": environment(),
        "git_commit": git_commit(),
        "started": started,
        "finished": now(),
    }


def write_json_atomic(path: Path | str, record: dict[str, Any]) -> None:
    """Write to a temporary file beside ``path``, then rename: readers never see half a file."""
    write_bytes_atomic(path, json.dumps(record, indent=1, allow_nan=True).encode())


def write_bytes_atomic(path: Path | str, content: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report must stay readable when served
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())
