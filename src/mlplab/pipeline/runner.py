"""The build: which runs to execute (the cache), where they run (here, on a local Dask
cluster or on a scheduler), and the index over all of them.

The driver never imports TensorFlow: kernels do. A run is skipped when its cache key, a
hash of everything that can change its result, matches the key stored in its results
record (``mlplab.pipeline.cache``). Executing one run is ``mlplab.pipeline.execute``; where
its files land, ``mlplab.pipeline.landing``; the build's processes and signals,
``mlplab.pipeline.processes``; its warm kernels, ``mlplab.pipeline.kernels``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from mlplab import datafiles, results
from mlplab.params import EPOCH_PROGRESS_ENV, Params
from mlplab.pipeline import cache
from mlplab.pipeline.execute import (
    EDITIONS,
    STUDENT_TAG,
    Job,
    execute_notebook,
    execute_run,
    one_line,
    render_run,
)
from mlplab.pipeline.experiments import RunSpec
from mlplab.pipeline.kernels import ipc_kernel_manager
from mlplab.pipeline.landing import (
    LOCK_NAME,
    NETWORKS,
    OUTPUT_SUFFIXES,
    Outcome,
    Paths,
    ReportBusy,
    ReportNotWritable,
    land,
    replace_together,
    report_lock,
)
from mlplab.pipeline.processes import (
    BUILD_ENV,
    BUILD_TMP_PREFIX,
    build_processes,
    build_temp_dir,
    child_environ,
    environ_set,
    on_stop_signal,
    signals_ignored,
    stop_build_processes,
)
from mlplab.results import ManifestEntry, Status

# The runner's own, and what the CLI and the tests reach through it from the modules
# that hold it.
__all__ = ["MASTER_NOTEBOOK", "SUMMARY_NOTEBOOK", "IndexFailed", "plan", "run_jobs", "manifest",
           "build_index", "Progress", "cached_ok", "action",
           "EDITIONS", "STUDENT_TAG", "Job", "Outcome", "Paths", "NETWORKS", "OUTPUT_SUFFIXES",
           "LOCK_NAME", "ReportBusy", "ReportNotWritable", "land", "replace_together",
           "report_lock", "BUILD_ENV", "BUILD_TMP_PREFIX", "build_processes",
           "stop_build_processes", "execute_run", "render_run", "execute_notebook",
           "ipc_kernel_manager", "Status"]

MASTER_NOTEBOOK = Path("notebooks/mlp_lab.ipynb")
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")  # NumPy's

SUMMARY_NOTEBOOK = Path("notebooks/summary.ipynb")


class IndexFailed(RuntimeError):
    """The summary notebook stopped (e.g. two runs fit one comparison): no new index."""


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


def expected_work(params: Params) -> int:
    """A run's training work in seed-epochs (an early-stopped run counted at its maximum;
    Keras' own loop, one seed at a time, as ten)."""
    return len(params.seeds) * params.epochs * (1 if params.fast_training else 10)


def largest_first(jobs: list[Job]) -> list[Job]:
    """The order workers take runs in: largest ``expected_work`` first (ties as listed), so
    that a build does not end with one worker on a long run while the others wait."""
    return sorted(jobs, key=lambda job: -expected_work(job.params))


class CommandError(RuntimeError):
    """A command run beside the runs (the speed benchmark) failed: its one-line reason."""


def run_command(cmd: list[str], cwd: str) -> tuple[int, str]:
    """``cmd``'s exit status and its last line of error output (on a worker, or here)."""
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=child_environ())
    lines = proc.stderr.strip().splitlines()
    return proc.returncode, lines[-1] if lines else ""


def _check(cmd: list[str], status: tuple[int, str]) -> None:
    code, last_line = status
    if code != 0:
        shown = " ".join([Path(cmd[0]).name, *cmd[1:]])
        raise CommandError(f"`{shown}` failed (exit {code}): {last_line}")


def run_jobs(jobs: list[Job], n_jobs: int, scheduler: str | None,
             on_done: Callable[[Outcome], None], fresh_kernels: bool = False,
             beside: Sequence[list[str]] = ()) -> None:
    """Execute jobs in this process, on a local Dask cluster, or on a remote scheduler;
    each process keeps a warm kernel between runs unless ``fresh_kernels``.

    Each command of ``beside`` (the speed benchmark, which needs a process of its own)
    runs once: on a local cluster as one worker's first task, while the other workers take
    the runs; otherwise here, before them (a remote worker would write its files there).
    One that fails raises ``CommandError`` once the runs have landed.

    However it ends (Ctrl-C, SIGTERM, an error in ``on_done``), every kernel, worker and
    command it started is stopped and its temporary folder removed before the exception
    goes on; runs already handed to ``on_done`` stay landed.
    """
    for job in [j for j in jobs if j.action == "render"]:
        on_done(render_run(job))  # no kernel: quick, here in the driver
    jobs = [j for j in jobs if j.action != "render"]
    if not jobs and not beside:
        return
    with build_temp_dir() as tmp_dir, build_processes() as token:
        local = scheduler is None and n_jobs <= 1
        on_workers = scheduler is None and n_jobs > 1 and jobs
        statuses = [] if on_workers else [run_command(cmd, os.getcwd()) for cmd in beside]
        if local:
            # One run alone, here: its kernel reports epochs on this terminal.
            env = {EPOCH_PROGRESS_ENV: "1"} if len(jobs) == 1 else {}
            _run_here([_in_build(job, tmp_dir, token, env, fresh_kernels) for job in jobs],
                      on_done)
        elif jobs:
            statuses += _run_on_dask(
                [_in_build(job, tmp_dir, token, {}, fresh_kernels) for job in jobs],
                n_jobs, scheduler, tmp_dir, token, on_done, beside if on_workers else ())
    for cmd, status in zip(beside, statuses, strict=True):
        _check(cmd, status)


def _in_build(job: Job, tmp_dir: Path, token: str, env: dict[str, str],
              fresh_kernel: bool) -> Job:
    return dataclasses.replace(job, tmp_dir=str(tmp_dir), build=token, env=env,
                               fresh_kernel=fresh_kernel)


def _run_here(jobs: list[Job], on_done: Callable[[Outcome], None]) -> None:
    from mlplab.pipeline import kernels

    try:
        for job in jobs:
            on_done(execute_run(job))
    finally:
        for build in {job.build for job in jobs}:  # not the index's, starting meanwhile
            kernels.close_all(build)


def _run_on_dask(jobs: list[Job], n_jobs: int, scheduler: str | None, tmp_dir: Path,
                 token: str, on_done: Callable[[Outcome], None],
                 beside: Sequence[list[str]] = ()) -> list[tuple[int, str]]:
    """The runs on Dask workers, each command of ``beside`` first; the commands' statuses."""
    import dask
    from dask.distributed import Client, LocalCluster, as_completed

    from mlplab.pipeline import kernels

    cluster = None
    if scheduler is None:
        # Kernels inherit the workers' environment: share the cores between the runs instead
        # of every TensorFlow and NumPy using them all (faster here: two BLAS threads per run
        # on two busy cores made a small float64 product 30x slower).
        threads = str(max(1, (os.cpu_count() or 1) // n_jobs))
        shared = {"TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": "1",
                  **{name: threads for name in BLAS_THREADS}}
        with (environ_set(shared),
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
        with on_stop_signal(abandon):
            # Dask starts them in the order they are submitted.
            commands = [client.submit(run_command, cmd, os.getcwd(), pure=False)
                        for cmd in beside]
            futures = [client.submit(execute_run, job, key=f"mlplab-run-{job.name}-"
                                     f"{job.cache_key[:12]}", pure=False)
                       for job in largest_first(jobs)]
            for future in as_completed(futures):
                on_done(future.result())
            statuses = [command.result() for command in commands]
            # The workers' warm kernels end with the build (a remote worker outlives it).
            client.run(kernels.close_all)
    except BaseException:
        with signals_ignored():
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
    return statuses


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


def prestart_index(root: Path, build: str, parent: Path | None = None) -> threading.Thread:
    """The summary notebook's kernel started, and its imports run, in a thread while the
    runs go, so that the index waits for neither (``build_index`` joins the thread; if the
    start failed, it starts a kernel itself). ``build`` is the token of the driver's
    ``build_processes`` around both, which stops the kernel however the build ends; its
    folder goes in ``parent`` (the build's temporary one), which the driver removes even when
    Ctrl-C comes while the kernel starts."""
    # What starting a kernel imports, imported here first: a module imported by two threads
    # at once (the runs' papermill here) can be seen half made.
    import jupyter_client  # noqa: F401
    import jupyter_core.utils  # noqa: F401

    from mlplab.pipeline import kernels

    text = (root / SUMMARY_NOTEBOOK).read_text(encoding="utf-8")  # as build_index reads it

    def start() -> None:
        with contextlib.suppress(Exception):
            kernels.prestart(build, text, parent)

    thread = threading.Thread(target=start, name="index-kernel", daemon=True)
    thread.start()
    return thread


def build_index(root: Path, report_dir: Path, entries: list[ManifestEntry],
                bench_file: Path, force: bool, build: str = "index",
                prestarted: threading.Thread | None = None, parent: Path | None = None,
                ) -> bool:
    """Execute the summary notebook into report/index.html unless its inputs are unchanged,
    in a warm kernel of ``build`` (the one ``prestart_index`` started, or a new one)."""

    from papermill.exceptions import PapermillExecutionError

    from mlplab.pipeline import html, kernels
    from mlplab.summary import records as summary_records

    if prestarted is not None:
        prestarted.join()

    lock = root / cache.LOCK_FILE
    notebook = (root / SUMMARY_NOTEBOOK).read_bytes()
    key = cache.hash_bytes(
        notebook, cache.package_hash().encode(),
        lock.read_bytes() if lock.exists() else b"",
        json.dumps([(e.name, e.status, e.cache_key) for e in entries]).encode(),
        bench_file.read_bytes() if bench_file.exists() else b"")
    key_file = report_dir / ".index-key"
    index = report_dir / "index.html"
    if not force and index.exists() and key_file.exists() and key_file.read_text() == key:
        kernels.close_all(build)  # the index's, if one was started
        return False
    results.write_json_atomic(report_dir / summary_records.MANIFEST,
                              [e.to_json() for e in entries])
    records = summary_records.load_records(report_dir, entries)
    csv = summary_records.tidy(records).to_csv(index=False).encode()
    results.write_bytes_atomic(report_dir / summary_records.RESULTS_CSV, csv)
    executed = report_dir / ".index.tmp.ipynb"
    try:
        try:
            with kernels.borrow(build, notebook.decode(), parent, str(root), {}) as kernel:
                execute_notebook(root / SUMMARY_NOTEBOOK, executed,
                                 {"report_dir": str(report_dir.resolve()),
                                  "bench_file": str(bench_file.resolve())}, root,
                                 manager=kernel.manager)
        except PapermillExecutionError as err:
            raise IndexFailed(f"{SUMMARY_NOTEBOOK}: {one_line(err)} (the run pages are "
                              f"written; {index} was left as it was)") from None
        html.render(executed, index, assets_href="assets", hide_input=True)
        results.write_bytes_atomic(report_dir / "index.ipynb", executed.read_bytes())
    finally:
        executed.unlink(missing_ok=True)
        kernels.close_all(build)
    key_file.write_text(key)
    return True
