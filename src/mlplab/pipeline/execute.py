"""Executing one run: the master notebook with one parameter set, in this process's warm
kernel, into its executed notebook, two HTML pages and its results record.

``execute_run`` is the recipe; it runs on the driver or on a Dask worker, writes only in
its own scratch folder and returns the files' contents, so only the driver writes into
``report/`` (``mlplab.pipeline.landing``). ``render_run`` re-renders a run whose results
and code are unchanged, without a kernel.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlplab import results
from mlplab.params import Params
from mlplab.pipeline import cache
from mlplab.pipeline.kernels import ipc_kernel_manager
from mlplab.pipeline.landing import NETWORKS, Outcome, Paths
from mlplab.pipeline.notebook import present_injected_parameters
from mlplab.pipeline.processes import environ_set
from mlplab.results import Status

STUDENT_TAG = "solution"  # cells with this tag are left out of the student edition


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


# A run's page shows the run's parameters (papermill's injected cell), not the defaults cell
# they replaced; the student edition also leaves out the exercises' solutions.
EDITIONS = ((".html", frozenset({"parameters"})),
            (".student.html", frozenset({"parameters", STUDENT_TAG})))


SHOWN_FIT_TAG = "keras-fit"  # the master notebook's cell that compiles and fits seed 0


def execute_run(job: Job) -> Outcome:
    """Execute one run and return its files' contents; the driver lands them.

    1. Stage: the master notebook, its parameters and the run's kept networks in a scratch
       folder of the run's own.
    2. Execute: papermill in this process's warm kernel, made fresh for the run (or a new
       kernel, with ``fresh_kernel``); a failed cell, a timeout or a dead kernel is the
       run's error, not an exception.
    3. Render: the executed notebook, its parameters shown for a reader, into both pages.
    4. Record: the kernel's results record, or a failure's, completed with the cache keys
       and the runner's times.

    Runs on the driver or on a Dask worker, writes only in its scratch folder and removes it.
    """
    started, clock = results.now(), time.perf_counter()
    times: dict[str, float] = {}
    with _staged(job) as run:
        error = _execute(job, run, times)
        files = _pages(job, run, times)
        record = _record(job, run, error, started, times)
        if record["status"] == Status.OK and run.networks.exists():
            files[NETWORKS] = run.networks.read_bytes()
        record["wall_seconds"] = time.perf_counter() - clock
        files[".json"] = json.dumps(record, indent=1).encode()
    return Outcome(job.name, Status(record["status"]), error, files, record["wall_seconds"])


@dataclass(frozen=True)
class Staged:
    """A run's files while it executes."""

    folder: Path
    name: str
    parameters: dict[str, Any]

    @property
    def notebook_in(self) -> Path:
        return self.folder / "master.ipynb"

    @property
    def notebook_out(self) -> Path:
        return self.folder / f"{self.name}.ipynb"

    @property
    def record(self) -> Path:
        return self.folder / f"{self.name}.json"

    @property
    def networks(self) -> Path:
        return self.folder / f"{self.name}{NETWORKS}"


@contextlib.contextmanager
def _staged(job: Job) -> Iterator[Staged]:
    """Step 1: a scratch folder inside the build's temporary folder, which the driver removes
    even when this process is killed (a worker on another machine, which cannot see it,
    uses its own), holding the notebook and the kept networks (else the kernel trains)."""
    folder = Path(tempfile.mkdtemp(prefix=f"mlplab-{job.name}-", dir=_build_tmp(job)))
    try:
        run = Staged(folder, job.name, {})
        run.parameters.update(job.params.as_dict(), results_path=str(run.record),
                              networks_path=str(run.networks))
        run.notebook_in.write_text(job.notebook_text)
        if job.networks and Path(job.networks).exists():
            shutil.copyfile(job.networks, run.networks)
        yield run
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _build_tmp(job: Job) -> Path | None:
    return Path(job.tmp_dir) if job.tmp_dir and Path(job.tmp_dir).is_dir() else None


def _execute(job: Job, run: Staged, times: dict[str, float]) -> str | None:
    """Step 2: the run's error in one line, or None."""
    from mlplab.pipeline import kernels

    clock = time.perf_counter()
    try:
        if job.fresh_kernel:
            with (tempfile.TemporaryDirectory(prefix="mlk", dir=_build_tmp(job)) as sockets,
                  environ_set(job.env)):
                execute_notebook(run.notebook_in, run.notebook_out, run.parameters, job.cwd,
                                 timeout=job.timeout, sockets=Path(sockets))
        else:
            with kernels.borrow(job.build, job.notebook_text, _build_tmp(job), job.cwd,
                                job.env) as kernel:
                times["kernel"] = time.perf_counter() - clock
                execute_notebook(run.notebook_in, run.notebook_out, run.parameters, job.cwd,
                                 timeout=job.timeout, manager=kernel.manager)
    except Exception as err:  # the notebook's own error, a timeout or a dead kernel
        return one_line(err)
    finally:
        times["notebook"] = time.perf_counter() - clock - times.get("kernel", 0.0)
    if not run.record.exists():
        return "the notebook finished without writing its results record"
    return None


def _pages(job: Job, run: Staged, times: dict[str, float]) -> dict[str, bytes]:
    """Step 3: the executed notebook (as far as it ran) and its two pages."""
    import nbformat

    if not run.notebook_out.exists():
        return {}
    clock = time.perf_counter()
    executed = nbformat.read(run.notebook_out, as_version=4)
    present_injected_parameters(executed)
    cache.stamp(executed, job.page_key)
    times["shown_fit"] = sum(cell.metadata.get("papermill", {}).get("duration") or 0.0
                             for cell in executed.cells
                             if SHOWN_FIT_TAG in cell.metadata.get("tags", []))
    files = {".ipynb": nbformat.writes(executed).encode(), **render_pages(executed, run.folder,
                                                                          job.name)}
    times["pages"] = time.perf_counter() - clock
    return files


def render_pages(executed: Any, folder: Path, name: str) -> dict[str, bytes]:
    """Both pages of an executed run notebook, by suffix, rendered in one pass in ``folder``."""
    from mlplab.pipeline import html

    pages = {folder / f"{name}{suffix}": exclude for suffix, exclude in EDITIONS}
    html.render_editions(executed, pages, assets_href="../assets")
    return {suffix: (folder / f"{name}{suffix}").read_bytes() for suffix, _ in EDITIONS}


def _record(job: Job, run: Staged, error: str | None, started: str,
            times: dict[str, float]) -> dict[str, Any]:
    """Step 4: the kernel's record, or a failure's, with the keys and the runner's times:
    where the wall time went (``wall_parts``, seconds) and how long the page's own Keras
    fit cell took (``shown_fit_seconds``: training too, beside the record's
    ``train_seconds_total`` of the seeds)."""
    if error is None:
        record = results.load(run.record)
    else:
        record = {"name": job.name, "status": Status.FAILED, "error": error,
                  "params": job.params.as_dict(), "started": started, "finished": results.now()}
    record["cache_key"], record["code_key"] = job.cache_key, job.code_key
    record["shown_fit_seconds"] = times.pop("shown_fit", 0.0)
    record["wall_parts"] = times
    return record


def render_run(job: Job) -> Outcome:
    """Re-render a run whose results and code are unchanged: the master notebook's current
    markdown around the cached outputs, exported again, with no kernel and no training.
    Falls back to executing it when the cached notebook no longer fits."""
    import nbformat

    start = time.perf_counter()
    paths = Paths(Path(job.runs_dir), job.name)
    merged = cache.merge_prose(nbformat.read(paths.file(".ipynb"), as_version=4),
                               nbformat.reads(job.notebook_text, as_version=4))
    if merged is None:
        return execute_run(job)
    cache.stamp(merged, job.page_key)
    files = {".ipynb": nbformat.writes(merged).encode()}
    with tempfile.TemporaryDirectory(prefix="mlplab-render-") as scratch:
        files.update(render_pages(merged, Path(scratch), job.name))
    # land() replaces the pages together.
    return Outcome(job.name, Status.OK, None, files, time.perf_counter() - start)


def execute_notebook(source: Path, out: Path, parameters: dict[str, Any], cwd: Path | str,
                     timeout: float | None = None, manager: Any = None,
                     sockets: Path | None = None) -> None:
    """papermill with the runner's settings: in the started kernel of ``manager`` (see
    ``mlplab.pipeline.kernels``), else in a new python3 kernel over Unix sockets in
    ``sockets``, started in ``cwd``, and killed once the notebook is done (a kernel that
    imported TensorFlow takes ~2 s to shut down, nothing left to send); no progress bar,
    ``timeout`` seconds per cell."""
    import papermill

    kernel = ({"km": manager} if manager is not None
              else {"kernel_manager_class": ipc_kernel_manager(sockets),
                    "shutdown_kernel": "immediate"})
    papermill.execute_notebook(str(source), str(out), parameters=parameters,
                               engine_name=_engine(), kernel_name="python3", language="python",
                               cwd=str(cwd), progress_bar=False, execution_timeout=timeout,
                               log_output=False, **kernel)


@functools.cache
def _engine() -> str:
    """papermill's engine, writing the executed notebook once, when it completes or fails.

    papermill writes the whole notebook, figures and all, when each cell starts and ends:
    about 60 writes a run, seconds of a run's time. A run's files are read only after it
    ends, and papermill's last write comes however it ends (a failed cell, a timeout, a
    dead kernel), so the one write loses nothing.
    """
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

    class WriteOnceManager(NotebookExecutionManager):
        finished = False

        def save(self, **kwargs: Any) -> None:
            if self.finished:
                super().save(**kwargs)

        def notebook_complete(self, **kwargs: Any) -> None:
            self.finished = True
            super().notebook_complete(**kwargs)

    class WriteOnceEngine(NBClientEngine):
        @classmethod
        def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True,
                             log_output=False, autosave_cell_every=30, **kwargs):
            # papermill's Engine.execute_notebook, with the manager above.
            nb_man = WriteOnceManager(nb, output_path=output_path, progress_bar=progress_bar,
                                      log_output=log_output,
                                      autosave_cell_every=autosave_cell_every)
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output,
                                             **kwargs)
            finally:
                nb_man.cleanup_pbar()
                nb_man.notebook_complete()
            return nb_man.nb

    papermill_engines.register("mlplab", WriteOnceEngine)
    return "mlplab"


def one_line(err: BaseException) -> str:
    ename = getattr(err, "ename", None) or type(err).__name__
    evalue = getattr(err, "evalue", None) or str(err)
    text = f"{ename}: {evalue}".strip()
    return " ".join(text.split())[:500]
