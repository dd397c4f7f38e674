"""Where a run's files land: ``report/runs/<name>.*``, replaced together and only by a
complete set, one build at a time per report folder.

A failure never replaces a good result: it lands beside it with a ``.failed`` infix. The
lock is flock on ``report/.lock``, which the kernel drops however its holder exits.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mlplab.results import Status

LOCK_NAME = ".lock"  # in the report folder: one build at a time per folder


class ReportBusy(RuntimeError):
    """Another build holds the report folder's lock."""


class ReportNotWritable(RuntimeError):
    """The report folder cannot be written (read-only, no permission, disk full)."""


@dataclass
class Outcome:
    """What a job produced: its status and its files' contents, for ``land`` to place."""

    name: str
    status: Status
    error: str | None
    files: dict[str, bytes]
    seconds: float


@dataclass(frozen=True)
class Paths:
    """Where a run's finished files live; failed attempts get a '.failed' infix."""

    runs_dir: Path
    name: str

    def file(self, suffix: str, failed: bool = False) -> Path:
        return self.runs_dir / f"{self.name}{'.failed' if failed else ''}{suffix}"


# Suffixes of a run's outputs; the JSON goes last, so its presence means "complete".
OUTPUT_SUFFIXES = (".ipynb", ".html", ".student.html", ".json")

# The trained networks of the record beside them; optional (a build without them retrains).
NETWORKS = ".networks.npz"


def land(outcome: Outcome, runs_dir: Path) -> None:
    """Move a finished run's files into place; a failure never replaces a good result."""
    paths = Paths(runs_dir, outcome.name)
    if paths.file(".json").parent != runs_dir:
        raise ValueError(f"run name {outcome.name!r} would write outside {runs_dir}")
    failed = outcome.status != Status.OK
    if not failed and ".json" in outcome.files and NETWORKS not in outcome.files:
        paths.file(NETWORKS).unlink(missing_ok=True)  # they belonged to the old record
    replace_together([(paths.file(suffix, failed), outcome.files[suffix])
                      for suffix in (NETWORKS, *OUTPUT_SUFFIXES) if suffix in outcome.files])
    if not failed:
        for suffix in OUTPUT_SUFFIXES:
            paths.file(suffix, failed=True).unlink(missing_ok=True)


def replace_together(files: list[tuple[Path, bytes]]) -> None:
    """Write every file beside its target, then rename them all, in order.

    One file at a time (results.write_bytes_atomic) would leave a run's new page beside
    its old record when the disk fills in between; written first, a full disk leaves the
    old set untouched. The renames need no space. Keep the JSON last: it marks a set
    complete.
    """
    staged: list[tuple[str, Path]] = []
    try:
        for path, content in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            staged.append((tmp, path))
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(content)
            except OSError as err:  # say which file: a failed write() names none
                raise OSError(err.errno, err.strerror, str(path)) from err
            os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report must stay readable when served
        for tmp, path in staged:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def report_lock(report_dir: Path, wait: bool = False) -> Iterator[None]:
    """Hold ``report_dir/.lock`` for a whole build, so two builds cannot interleave.

    flock, not a PID file: the kernel drops the lock when its holder exits, however it
    exits, so a killed build never leaves a stale lock. Taking it is also the first write
    into the folder: a read-only or full folder fails here, before anything changed.
    Without ``wait``, a busy folder raises ReportBusy naming the holder's process.
    """
    import fcntl

    try:
        report_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(report_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        raise ReportNotWritable(_not_writable(report_dir, err)) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _lock_holder(fd)
            if not wait:
                raise ReportBusy(f"{report_dir} is being built by {holder}; wait for it to "
                                 "finish, or pass --wait to start when it does") from None
            print(f"waiting for {holder} to finish building {report_dir} ...",
                  file=sys.stderr, flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            os.ftruncate(fd, 0)
            command = shlex.join(["mlplab", *sys.argv[1:]])
            started = time.strftime("%H:%M:%S")
            os.pwrite(fd, f"{os.getpid()}\n{started}\n{command}\n".encode(), 0)
            _probe(report_dir / "runs")
        except OSError as err:
            raise ReportNotWritable(_not_writable(report_dir, err)) from None
        _remove_stale_temporaries(report_dir)
        yield
    finally:
        os.close(fd)  # releases the lock


def _not_writable(report_dir: Path, err: OSError) -> str:
    return (f"cannot write to {report_dir} ({err.strerror}): the report there was left as "
            "it was; make the folder writable or free some space, or build elsewhere with "
            "--report-dir")


def _probe(folder: Path) -> None:
    """Create and remove a file: the folder takes new files (root ignores permission bits,
    so os.access cannot tell)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".probe.", suffix=".tmp")
    try:
        os.write(fd, b"x")
    finally:
        os.close(fd)
        os.unlink(tmp)


def _lock_holder(fd: int) -> str:
    """'PID 1234 (mlplab report --jobs 2, started 14:02:11)', as the holder wrote it."""
    for _ in range(40):  # the holder writes this just after taking the lock
        lines = os.pread(fd, 4096, 0).decode(errors="replace").splitlines()
        if len(lines) == 3 and lines[0].isdigit():
            pid, started, command = lines
            return f"PID {pid} ({command[:200]}, started {started})"
        time.sleep(0.05)
    return "another mlplab (PID unknown)"


def _remove_stale_temporaries(report_dir: Path) -> None:
    """Temporary files a killed build (SIGKILL, power cut) left; only builds write these,
    and this one holds the lock."""
    runs = report_dir / "runs"
    stale = list(runs.glob(".*.tmp")) + [report_dir / ".index.tmp.ipynb"]
    for name in ("index.html", "index.ipynb", "manifest.json", "results.csv"):
        stale += report_dir.glob(f".{name}.*.tmp")
    for path in stale:
        path.unlink(missing_ok=True)
