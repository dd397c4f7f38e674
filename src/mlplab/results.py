"""The results record: one JSON file per run that the report is built from.

A record carries everything needed to check a claim later: every parameter, each
seed's metrics and per-epoch history, timings, the data's checksum and shape, and the
software and hardware it ran on.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from mlplab.params import Params, validate

# Version of the record's layout; the summary refuses records of another version.
RECORD_SCHEMA = 2


class Status(StrEnum):
    """What stands for a run in the report: a good result, a failure, or nothing yet."""

    OK = "ok"
    FAILED = "failed"
    NOT_RUN = "not run"


class RecordError(ValueError):
    """A results record that is not one this version of mlplab can read."""


@dataclass(frozen=True)
class ManifestEntry:
    """Which result stands for one run now; ``manifest.json`` lists one per run, in the
    experiment file's order. Paths are relative to the report folder."""

    name: str
    params: Params
    status: Status
    record: str
    page: str | None  # None when the run has no page (never run, or failed before one)
    student_page: str | None
    cache_key: str
    error: str | None = None  # why the run failed or is missing

    def to_json(self) -> dict[str, Any]:
        return {**{f.name: getattr(self, f.name) for f in fields(self)},
                "params": self.params.as_dict(), "status": self.status.value}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ManifestEntry:
        return cls(**{**data, "params": validate(data["params"]),
                      "status": Status(data["status"])})


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def seed_summary(values: list[float]) -> dict[str, float]:
    """Mean, sample standard deviation and a 95% t-interval over seeds."""
    from scipy import stats

    arr = np.asarray(values, dtype=float)
    n = len(arr)
    mean = float(arr.mean())
    std = float(arr.std(ddof=1)) if n > 1 else 0.0
    half = float(stats.t.ppf(0.975, n - 1) * std / np.sqrt(n)) if n > 1 else float("nan")
    return {"n": n, "mean": mean, "std": std, "ci95_low": mean - half, "ci95_high": mean + half}


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


def load_checked(path: Path) -> dict[str, Any]:
    """A record the summary can use, or RecordError naming the file and what is wrong:
    a foreign or older file fails here with one line, not later with a KeyError."""
    try:
        record = load(path)
    except (OSError, ValueError) as err:
        raise RecordError(f"{path}: not a readable results record ({err})") from err
    if not isinstance(record, dict) or record.get("status") not in set(Status):
        raise RecordError(f"{path}: not an mlplab results record (no valid 'status')")
    if record["status"] == Status.OK:
        if record.get("schema") != RECORD_SCHEMA:
            raise RecordError(f"{path}: results record schema {record.get('schema')!r}, "
                              f"expected {RECORD_SCHEMA}: rebuild it with "
                              f"`make report REPORT_ARGS=--force`")
        missing = [k for k in ("name", "params", "data", "seeds") if k not in record]
        if missing:
            raise RecordError(f"{path}: results record lacks {', '.join(missing)}")
    return record


def load(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())
