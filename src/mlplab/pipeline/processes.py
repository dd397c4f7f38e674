"""The processes of a build: every one carries the build's token, so the build can stop
them all (kernels, Dask workers) on Ctrl-C, SIGTERM, a closed terminal or an error, even
those whose parents died; and one temporary folder that the driver removes at the end."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NoReturn

# Every process a build starts (workers, kernels) inherits this variable, so a build can
# find and stop its own processes even after their parents have died.
BUILD_ENV = "MLPLAB_BUILD"

BUILD_TMP_PREFIX = "mlplab-build-"  # the build's temporary folder, under $TMPDIR

STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")  # Ctrl-C, kill, a closed terminal

# What Dask's nanny sets for its worker processes alone (None: whatever the value).
# MALLOC_TRIM_THRESHOLD_=65536: glibc hands freed memory back at once, and stops raising the
# size above which it maps each allocation afresh. A kernel or bench that inherited it mapped,
# page-faulted and unmapped every tensor over 128 KB: ten seeds' batched training took 21 s
# instead of 10, 9 of them in the system (3 million page faults). PYTHONHASHSEED=6640, where
# none (or 0) was set: one hash of a string in every worker, for Dask's own use. A kernel gets
# the driver's, as on the local path, and forks from the same server (mlplab.pipeline.kernels).
WORKER_ONLY_ENV = {"MALLOC_TRIM_THRESHOLD_": None, "PYTHONHASHSEED": "6640"}


def child_environ(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``env`` (this process's environment by default) for a kernel or command a worker
    starts: without what Dask set for the worker itself."""
    return {k: v for k, v in (os.environ if env is None else env).items()
            if k not in WORKER_ONLY_ENV or WORKER_ONLY_ENV[k] not in (None, v)}


@contextlib.contextmanager
def build_processes() -> Iterator[str]:
    """Every process started inside carries a token in its environment; on Ctrl-C (before
    the interrupt unwinds) or any exception, those still running are killed."""
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    try:
        with (environ_set({BUILD_ENV: token}),
              on_stop_signal(lambda: stop_build_processes(token))):
            yield token
    except BaseException:
        with signals_ignored():
            stop_build_processes(token)
        raise


def stop_build_processes(token: str) -> None:
    """Kill every process carrying ``token``: kernels and workers of an abandoned build.

    SIGKILL at once: they hold nothing worth saving (their results come back as bytes,
    their files live in the build's temporary folder), and a kernel asked to stop in the
    middle of a cell prints tracebacks while it shuts down.
    """
    # multiprocessing's resource tracker exits by itself with this process; killed now, it
    # would be restarted by the cluster's shutdown and print tracebacks.
    from multiprocessing import resource_tracker

    import psutil

    spare = {os.getpid(), getattr(resource_tracker._resource_tracker, "_pid", None)}
    mine = []
    for proc in psutil.process_iter():
        try:
            if proc.pid not in spare and proc.environ().get(BUILD_ENV) == token:
                proc.kill()
                mine.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    # Wait until they are gone (a zombie is gone: its parent reaps it); psutil.wait_procs
    # would reap our own children and rob multiprocessing of their exit status.
    deadline = time.monotonic() + 5
    while mine and time.monotonic() < deadline:
        mine = [proc for proc in mine if _running(proc)]
        time.sleep(0.02)


def exit_now(code: int) -> NoReturn:
    """Exit after the atexit handlers and a flush of stdout and stderr, without the rest of
    Python's finalization: with TensorFlow imported, tearing down its modules and objects
    costs ~2 CPU-seconds a process. For a process whose files are all closed by then."""
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _running(proc: Any) -> bool:
    import psutil

    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@contextlib.contextmanager
def build_temp_dir() -> Iterator[Path]:
    """One temporary folder for a build's scratch files, sockets and Dask workers: removed
    by the driver at the end, even when the processes that wrote in it were killed."""
    path = Path(tempfile.mkdtemp(prefix=BUILD_TMP_PREFIX))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def environ_set(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the block (for the processes it starts), then put
    back what was there."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def on_stop_signal(stop: Callable[[], None]) -> Iterator[None]:
    """On Ctrl-C, SIGTERM or SIGHUP, call ``stop`` first, then raise KeyboardInterrupt.

    Stopping the kernels before the interrupt unwinds papermill spares the terminal the
    tracebacks of kernels shut down in mid-cell. Main thread only (as signals are).
    """
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        with signals_ignored():
            stop()
        raise KeyboardInterrupt

    sigs = [getattr(signal, name) for name in STOP_SIGNALS]
    saved = {sig: signal.signal(sig, handler) for sig in sigs}
    try:
        yield
    finally:
        for sig, previous in saved.items():
            signal.signal(sig, previous)


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """A second Ctrl-C must not interrupt the cleanup of the first."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = [getattr(signal, name) for name in STOP_SIGNALS]
    saved = {sig: signal.signal(sig, signal.SIG_IGN) for sig in sigs}
    try:
        yield
    finally:
        for sig, previous in saved.items():
            signal.signal(sig, previous)
