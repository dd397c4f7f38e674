"""Execute the master notebook once per parameter set, with caching, in parallel if asked.

The driver never imports TensorFlow: kernels do. A run's outputs (executed notebook,
HTML pages, results JSON) are produced in a scratch folder and only renamed into
``report/runs/`` when complete, so an interrupted or failed run never replaces the
last good result. A run is skipped when its cache key, a hash of everything that can
change its result, matches the key stored in its results record.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import secrets
import shlex
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlplab import datafiles, results
from mlplab.params import EPOCH_PROGRESS_ENV, Params
from mlplab.pipeline import cache
from mlplab.pipeline.experiments import RunSpec
from mlplab.pipeline.kernels import ipc_kernel_manager
from mlplab.pipeline.notebook import present_injected_parameters
from mlplab.results import ManifestEntry, Status

MASTER_NOTEBOOK = Path("notebooks/mlp_lab.ipynb")
SUMMARY_NOTEBOOK = Path("notebooks/summary.ipynb")

STUDENT_TAG = "solution"  # cells with this tag are left out of the student edition
LOCK_NAME = ".lock"  # in the report folder: one build at a time per folder
# Every process a build starts (workers, kernels) inherits this variable, so a build can
# find and stop its own processes even after their parents have died.
BUILD_ENV = "MLPLAB_BUILD"
BUILD_TMP_PREFIX = "mlplab-build-"  # the build's temporary folder, under $TMPDIR


class ReportBusy(RuntimeError):
    """Another build holds the report folder's lock."""


class IndexFailed(RuntimeError):
    """The summary notebook stopped (e.g. two runs fit one comparison): no new index."""


class ReportNotWritable(RuntimeError):
    """The report folder cannot be written (read-only, no permission, disk full)."""


@dataclass(frozen=True)
class Job:
    """One run to execute in a kernel (or only re-render), as planned by ``plan``: plain
    data, so it travels to a Dask worker."""

    name: str
    params: Params
    action: str  # "execute" or "render" (see mlplab.pipeline.cache)
    cache_key: str
    code_key: str
    page_key: str
    notebook_text: str
    cwd: str
    runs_dir: str
    timeout: float
    tmp_dir: str | None = None  # the build's temporary folder, set by run_jobs
    build: str = ""  # the build's token, set by run_jobs: its kernels serve only its runs
    env: dict[str, str] = dataclasses.field(default_factory=dict)  # added to the kernel's
    fresh_kernel: bool = False  # a new kernel for this run alone, not this worker's warm one
    # The run's kept networks, when they were trained with the same results key: only the
    # page's code changed (e.g. narrative wording), so the kernel loads them, not trains.
    networks: str | None = None


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


def _data_sha(dataset: str, root: Path, memo: dict[str, str]) -> str:
    """The data's sha256; relative paths are relative to the project root, as in kernels."""
    if dataset not in memo:
        named = dataset in datafiles.NAMED
        target = dataset if named else str(root / dataset)
        memo[dataset] = datafiles.sha256_files(datafiles.resolve(target, root / "data"))
    return memo[dataset]


def cached_ok(paths: Paths, key: str) -> bool:
    """Whether the run's files are complete and its record was made with results key ``key``."""
    return (all(paths.file(s).exists() for s in OUTPUT_SUFFIXES)
            and (record := _record(paths)) is not None
            and record.get("status") == Status.OK and record.get("cache_key") == key)


def _record(paths: Paths) -> dict[str, Any] | None:
    try:
        return results.load(paths.file(".json"))
    except (OSError, ValueError):
        return None


def action(paths: Paths, keys: cache.Keys) -> str | None:
    """What a run needs: nothing (None), "render" (new prose, cached outputs) or "execute"."""
    if not cached_ok(paths, keys.results) or _record(paths).get("code_key") != keys.code:
        return "execute"
    return None if cache.page_key_of(paths.file(".ipynb")) == keys.page else "render"


# A run's page shows the run's parameters (papermill's injected cell), not the defaults cell
# they replaced; the student edition also leaves out the exercises' solutions.
EDITIONS = ((".html", frozenset({"parameters"})),
            (".student.html", frozenset({"parameters", STUDENT_TAG})))


def render_run(job: Job) -> Outcome:
    """Re-render a run whose results and code are unchanged: the master notebook's current
    markdown around the cached outputs, exported again, with no kernel and no training.
    Falls back to executing it when the cached notebook no longer fits."""
    import nbformat

    from mlplab.pipeline import html

    start = time.perf_counter()
    paths = Paths(Path(job.runs_dir), job.name)
    merged = cache.merge_prose(nbformat.read(paths.file(".ipynb"), as_version=4),
                               nbformat.reads(job.notebook_text, as_version=4))
    if merged is None:
        return execute_run(job)
    cache.stamp(merged, job.page_key)
    files = {".ipynb": nbformat.writes(merged).encode()}
    with tempfile.TemporaryDirectory(prefix="mlplab-render-") as scratch:
        for suffix, exclude in EDITIONS:
            page = Path(scratch) / f"{job.name}{suffix}"
            html.render(merged, page, assets_href="../assets", exclude_tags=exclude)
            files[suffix] = page.read_bytes()
    # land() replaces the pages together.
    return Outcome(job.name, Status.OK, None, files, time.perf_counter() - start)


def execute_run(job: Job) -> Outcome:
    """Run one parameter set in this process's warm kernel; return its files' contents.

    Runs on a local process or a Dask worker. It writes only to its own scratch folder
    and returns bytes, so the driver alone decides what lands in report/.
    """
    import nbformat

    from mlplab.pipeline import html, kernels

    name = job.name
    started = results.now()
    clock = time.perf_counter()
    # Inside the build's own temporary folder, which the driver removes even when this
    # process is killed; a worker on another machine, which cannot see it, uses its own.
    parent = job.tmp_dir
    parent = Path(parent) if parent and Path(parent).is_dir() else None
    scratch = Path(tempfile.mkdtemp(prefix=f"mlplab-{name}-", dir=parent))
    try:
        notebook_in = scratch / "master.ipynb"
        notebook_in.write_text(job.notebook_text)
        notebook_out = scratch / f"{name}.ipynb"
        record_path = scratch / f"{name}.json"
        networks = scratch / f"{name}{NETWORKS}"
        if job.networks and Path(job.networks).exists():  # else the kernel trains
            shutil.copyfile(job.networks, networks)
        parameters = {**job.params.as_dict(), "results_path": str(record_path),
                      "networks_path": str(networks)}
        error = None
        try:
            if job.fresh_kernel:
                with (tempfile.TemporaryDirectory(prefix="mlk", dir=parent) as sockets,
                      environ_set(job.env)):
                    execute_notebook(notebook_in, notebook_out, parameters, job.cwd,
                                     timeout=job.timeout, sockets=Path(sockets))
            else:
                with kernels.borrow(job.build, job.notebook_text, parent, job.cwd,
                                    job.env) as kernel:
                    execute_notebook(notebook_in, notebook_out, parameters, job.cwd,
                                     timeout=job.timeout, manager=kernel.manager)
        except Exception as err:  # the notebook's own error, a timeout or a dead kernel
            error = _one_line(err)
        if error is None and not record_path.exists():
            error = "the notebook finished without writing its results record"
        files: dict[str, bytes] = {}
        if notebook_out.exists():
            executed = nbformat.read(notebook_out, as_version=4)
            present_injected_parameters(executed)
            cache.stamp(executed, job.page_key)
            files[".ipynb"] = nbformat.writes(executed).encode()
            for suffix, exclude in EDITIONS:
                page = scratch / f"{name}{suffix}"
                html.render(executed, page, assets_href="../assets", exclude_tags=exclude)
                files[suffix] = page.read_bytes()
        if error is None:
            record = results.load(record_path)
            if networks.exists():
                files[NETWORKS] = networks.read_bytes()
        else:
            record = {"name": name, "status": Status.FAILED, "error": error,
                      "params": job.params.as_dict(), "started": started, "finished": results.now()}
        record["cache_key"], record["code_key"] = job.cache_key, job.code_key
        record["wall_seconds"] = time.perf_counter() - clock
        files[".json"] = json.dumps(record, indent=1).encode()
        return Outcome(name, Status(record["status"]), error, files, record["wall_seconds"])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def execute_notebook(source: Path, out: Path, parameters: dict[str, Any], cwd: Path | str,
                     timeout: float | None = None, manager: Any = None,
                     sockets: Path | None = None) -> None:
    """papermill with the runner's settings: in the started kernel of ``manager`` (see
    ``mlplab.pipeline.kernels``), else in a new python3 kernel over Unix sockets in
    ``sockets``, started in ``cwd``; no progress bar, ``timeout`` seconds per cell."""
    import papermill

    kernel = ({"km": manager} if manager is not None
              else {"kernel_manager_class": ipc_kernel_manager(sockets)})
    papermill.execute_notebook(str(source), str(out), parameters=parameters,
                               kernel_name="python3", language="python", cwd=str(cwd),
                               progress_bar=False, execution_timeout=timeout,
                               log_output=False, **kernel)


def _one_line(err: BaseException) -> str:
    ename = getattr(err, "ename", None) or type(err).__name__
    evalue = getattr(err, "evalue", None) or str(err)
    text = f"{ename}: {evalue}".strip()
    return " ".join(text.split())[:500]


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


class Progress:
    """One combined progress line for all runs: done/total, failures, elapsed, ETA."""

    def __init__(self, total: int, out=sys.stderr, width: int = 24) -> None:
        self.total, self.done, self.failed = total, 0, 0
        self.start = time.perf_counter()
        self.out, self.width = out, width

    def update(self, outcome: Outcome) -> None:
        self.done += 1
        self.failed += outcome.status != Status.OK
        elapsed = time.perf_counter() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        filled = round(self.width * self.done / self.total)
        status = Status.OK if outcome.status == Status.OK else "FAILED"
        print(f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} runs, "
              f"{self.failed} failed, {elapsed:.0f}s elapsed, ETA {eta:.0f}s | "
              f"{outcome.name} {status} ({outcome.seconds:.1f}s)", file=self.out,
              flush=True)


def run_jobs(jobs: list[Job], n_jobs: int, scheduler: str | None,
             on_done: Callable[[Outcome], None], fresh_kernels: bool = False) -> None:
    """Execute jobs in this process, on a local Dask cluster, or on a remote scheduler;
    each process keeps a warm kernel between runs unless ``fresh_kernels``.

    However it ends (Ctrl-C, SIGTERM, an error in ``on_done``), every kernel and worker
    process it started is stopped and its temporary folder removed before the exception
    goes on; runs already handed to ``on_done`` stay landed.
    """
    for job in [j for j in jobs if j.action == "render"]:
        on_done(render_run(job))  # no kernel: quick, here in the driver
    jobs = [j for j in jobs if j.action != "render"]
    if not jobs:
        return
    with build_temp_dir() as tmp_dir, build_processes() as token:
        here = scheduler is None and n_jobs <= 1
        # One run alone, here: its kernel reports epochs on this terminal.
        env = {EPOCH_PROGRESS_ENV: "1"} if here and len(jobs) == 1 else {}
        jobs = [dataclasses.replace(job, tmp_dir=str(tmp_dir), build=token, env=env,
                                    fresh_kernel=fresh_kernels) for job in jobs]
        if here:
            _run_here(jobs, on_done)
        else:
            _run_on_dask(jobs, n_jobs, scheduler, tmp_dir, token, on_done)


def _run_here(jobs: list[Job], on_done: Callable[[Outcome], None]) -> None:
    from mlplab.pipeline import kernels

    try:
        for job in jobs:
            on_done(execute_run(job))
    finally:
        kernels.close_all()


def _run_on_dask(jobs: list[Job], n_jobs: int, scheduler: str | None,
                 tmp_dir: Path, token: str, on_done: Callable[[Outcome], None]) -> None:
    import dask
    from dask.distributed import Client, LocalCluster, as_completed

    from mlplab.pipeline import kernels

    cluster = None
    if scheduler is None:
        # Kernels inherit the workers' environment: share the cores between the runs instead
        # of every TensorFlow using them all (faster here, and the results are identical).
        threads = str(max(1, (os.cpu_count() or 1) // n_jobs))
        with (environ_set({"TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": "1"}),
              dask.config.set({"temporary-directory": str(tmp_dir)})):
            cluster = LocalCluster(n_workers=n_jobs, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None)
    client = Client(scheduler or cluster)

    def abandon() -> None:
        """Kill the kernels and workers now: closing the cluster politely would first wait
        for the runs in progress (seconds to minutes)."""
        logging.getLogger("distributed").setLevel(logging.CRITICAL)  # its complaints about
        for nanny in cluster.workers.values() if cluster is not None else ():  # lost tasks
            nanny.close_gracefully()  # else a nanny restarts the worker we kill
        stop_build_processes(token)

    try:
        with _on_stop_signal(abandon):
            futures = [client.submit(execute_run, job, key=f"mlplab-run-{job.name}-"
                                     f"{job.cache_key[:12]}", pure=False) for job in jobs]
            for future in as_completed(futures):
                on_done(future.result())
            # The workers' warm kernels end with the build (a remote worker outlives it).
            client.run(kernels.close_all)
    except BaseException:
        with _signals_ignored():
            abandon()
            with contextlib.suppress(Exception):
                client.close(timeout=2)
            if cluster is not None:
                with contextlib.suppress(Exception):
                    cluster.close(timeout=2)
        raise
    client.close()
    if cluster is not None:
        cluster.close()


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
def build_processes() -> Iterator[str]:
    """Every process started inside carries a token in its environment; on Ctrl-C (before
    the interrupt unwinds) or any exception, those still running are killed."""
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    try:
        with (environ_set({BUILD_ENV: token}),
              _on_stop_signal(lambda: stop_build_processes(token))):
            yield token
    except BaseException:
        with _signals_ignored():
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


STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")  # Ctrl-C, kill, a closed terminal


@contextlib.contextmanager
def _on_stop_signal(stop: Callable[[], None]) -> Iterator[None]:
    """On Ctrl-C, SIGTERM or SIGHUP, call ``stop`` first, then raise KeyboardInterrupt.

    Stopping the kernels before the interrupt unwinds papermill spares the terminal the
    tracebacks of kernels shut down in mid-cell. Main thread only (as signals are).
    """
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        with _signals_ignored():
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
def _signals_ignored() -> Iterator[None]:
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


def plan(specs: Iterable[RunSpec], root: Path, runs_dir: Path, force: bool,
         timeout: float) -> tuple[list[Job], dict[str, str]]:
    """Jobs to execute or re-render, and every run's results key (up-to-date runs get no
    job; see ``mlplab.pipeline.cache`` for what each key covers)."""
    notebook_text = (root / MASTER_NOTEBOOK).read_text()
    hasher = cache.Hasher(root, notebook_text)
    memo: dict[str, str] = {}
    jobs, keys = [], {}
    for spec in specs:
        k = hasher.keys(spec.params, _data_sha(spec.params.dataset, root, memo))
        keys[spec.name] = k.results
        paths = Paths(runs_dir, spec.name)
        todo = "execute" if force else action(paths, k)
        reuse = not force and paths.file(NETWORKS).exists() and cached_ok(paths, k.results)
        if todo:
            jobs.append(Job(spec.name, spec.params, todo, k.results, k.code, k.page,
                            notebook_text, str(root), str(runs_dir), timeout,
                            networks=str(paths.file(NETWORKS)) if reuse else None))
    return jobs, keys


def manifest(specs: list[RunSpec], keys: dict[str, str], runs_dir: Path,
             report_dir: Path) -> list[ManifestEntry]:
    """Which result stands for each run now: a good one with the current key, or a failure."""
    entries = []
    for spec in specs:
        paths = Paths(runs_dir, spec.name)
        failed = paths.file(".json", failed=True)
        ok = cached_ok(paths, keys[spec.name])
        status = Status.OK if ok else Status.FAILED if failed.exists() else Status.NOT_RUN
        page, student_page = (paths.file(suffix, not ok) for suffix in (".html", ".student.html"))
        error = None
        if not ok:
            error = results.load(failed).get("error") if failed.exists() else "not run"
            if not page.exists():
                page = student_page = None
        entries.append(ManifestEntry(
            name=spec.name, params=spec.params, status=status,
            record=_relative(paths.file(".json") if ok else failed, report_dir),
            page=_relative(page, report_dir), student_page=_relative(student_page, report_dir),
            cache_key=keys[spec.name], error=error))
    return entries


def _relative(path: Path | None, report_dir: Path) -> str | None:
    return None if path is None else str(path.relative_to(report_dir))


def build_index(root: Path, report_dir: Path, entries: list[ManifestEntry],
                bench_file: Path, force: bool) -> bool:
    """Execute the summary notebook into report/index.html unless its inputs are unchanged."""

    from papermill.exceptions import PapermillExecutionError

    from mlplab.pipeline import html
    from mlplab.summary import records as summary_records

    lock = root / cache.LOCK_FILE
    key = cache.hash_bytes(
        (root / SUMMARY_NOTEBOOK).read_bytes(), cache.package_hash().encode(),
        lock.read_bytes() if lock.exists() else b"",
        json.dumps([(e.name, e.status, e.cache_key) for e in entries]).encode(),
        bench_file.read_bytes() if bench_file.exists() else b"")
    key_file = report_dir / ".index-key"
    index = report_dir / "index.html"
    if not force and index.exists() and key_file.exists() and key_file.read_text() == key:
        return False
    results.write_json_atomic(report_dir / summary_records.MANIFEST,
                              [e.to_json() for e in entries])
    records = summary_records.load_records(report_dir, entries)
    csv = summary_records.tidy(records).to_csv(index=False).encode()
    results.write_bytes_atomic(report_dir / summary_records.RESULTS_CSV, csv)
    executed = report_dir / ".index.tmp.ipynb"
    sockets = Path(tempfile.mkdtemp(prefix="mlk"))
    try:
        try:
            execute_notebook(root / SUMMARY_NOTEBOOK, executed,
                             {"report_dir": str(report_dir.resolve()),
                              "bench_file": str(bench_file.resolve())}, root, sockets=sockets)
        except PapermillExecutionError as err:
            raise IndexFailed(f"{SUMMARY_NOTEBOOK}: {_one_line(err)} (the run pages are "
                              f"written; {index} was left as it was)") from None
        html.render(executed, index, assets_href="assets", hide_input=True)
        results.write_bytes_atomic(report_dir / "index.ipynb", executed.read_bytes())
    finally:
        executed.unlink(missing_ok=True)
        shutil.rmtree(sockets, ignore_errors=True)
    key_file.write_text(key)
    return True
