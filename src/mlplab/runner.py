"""Execute the master notebook once per parameter set, with caching, in parallel if asked.

The driver never imports TensorFlow: kernels do. A run's outputs (executed notebook,
HTML pages, results JSON) are produced in a scratch folder and only renamed into
``report/runs/`` when complete, so an interrupted or failed run never replaces the
last good result. A run is skipped when its cache key, a hash of everything that can
change its result, matches the key stored in its results record.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlplab import data as data_mod
from mlplab import results
from mlplab.experiments import RunSpec

PACKAGE_DIR = Path(__file__).resolve().parent
MASTER_NOTEBOOK = Path("notebooks/mlp_lab.ipynb")
SUMMARY_NOTEBOOK = Path("notebooks/summary.ipynb")
LOCK_FILE = Path("requirements.lock")
STUDENT_TAG = "solution"  # cells with this tag are left out of the student edition


@dataclass(frozen=True)
class Paths:
    """Where a run's finished files live; failed attempts get a '.failed' infix."""

    runs_dir: Path
    name: str

    def file(self, suffix: str, failed: bool = False) -> Path:
        return self.runs_dir / f"{self.name}{'.failed' if failed else ''}{suffix}"


# Suffixes of a run's outputs; the JSON goes last, so its presence means "complete".
OUTPUT_SUFFIXES = (".ipynb", ".html", ".student.html", ".json")


def hash_bytes(*chunks: bytes) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(hashlib.sha256(chunk).digest())
    return h.hexdigest()


def package_source_hash() -> str:
    """Hash of the mlplab package's code and templates (a change may change any result)."""
    files = sorted(p for p in PACKAGE_DIR.rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts)
    return hash_bytes(*(str(p.relative_to(PACKAGE_DIR)).encode() + p.read_bytes()
                         for p in files))


def cache_key(spec: RunSpec, notebook_text: str, shared: str, data_sha: str) -> str:
    """Everything that can change a run's result: notebook, package, lock, params, data."""
    params = json.dumps(spec.params, sort_keys=True).encode()
    return hash_bytes(notebook_text.encode(), shared.encode(), params, data_sha.encode())


def shared_inputs_hash(root: Path) -> str:
    lock = root / LOCK_FILE
    return hash_bytes(package_source_hash().encode(),
                       lock.read_bytes() if lock.exists() else b"")


def _data_sha(dataset: str, root: Path, memo: dict[str, str]) -> str:
    """The data's sha256; relative paths are relative to the project root, as in kernels."""
    if dataset not in memo:
        named = dataset in data_mod.NAMED
        target = dataset if named else str(root / dataset)
        memo[dataset] = data_mod.sha256_files(data_mod.resolve(target, root / "data"))
    return memo[dataset]


def cached_ok(paths: Paths, key: str) -> bool:
    record_path = paths.file(".json")
    if not all(paths.file(s).exists() for s in OUTPUT_SUFFIXES):
        return False
    try:
        record = results.load(record_path)
    except (OSError, ValueError):
        return False
    return record.get("status") == "ok" and record.get("cache_key") == key


def execute_run(job: dict[str, Any]) -> dict[str, Any]:
    """Run one parameter set in a fresh kernel; return its files' contents.

    Runs on a local process or a Dask worker. It writes only to its own scratch folder
    and returns bytes, so the driver alone decides what lands in report/.
    """
    import papermill

    from mlplab import html

    name = job["name"]
    started = results.now()
    clock = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix=f"mlplab-{name}-"))
    sockets = Path(tempfile.mkdtemp(prefix="mlk"))
    try:
        notebook_in = scratch / "master.ipynb"
        notebook_in.write_text(job["notebook_text"])
        notebook_out = scratch / f"{name}.ipynb"
        record_path = scratch / f"{name}.json"
        parameters = {**job["params"], "results_path": str(record_path)}
        error = None
        try:
            papermill.execute_notebook(
                str(notebook_in), str(notebook_out), parameters=parameters,
                kernel_name="python3", language="python", cwd=job["cwd"],
                progress_bar=False, execution_timeout=job["timeout"], log_output=False,
                kernel_manager_class=ipc_kernel_manager(sockets),
            )
        except Exception as err:  # the notebook's own error, a timeout or a dead kernel
            error = _one_line(err)
        if error is None and not record_path.exists():
            error = "the notebook finished without writing its results record"
        files: dict[str, bytes] = {}
        if notebook_out.exists():
            files[".ipynb"] = notebook_out.read_bytes()
            for suffix, exclude in ((".html", frozenset()),
                                    (".student.html", frozenset({STUDENT_TAG}))):
                page = scratch / f"{name}{suffix}"
                html.render(notebook_out, page, assets_href="../assets", exclude_tags=exclude)
                files[suffix] = page.read_bytes()
        if error is None:
            record = results.load(record_path)
        else:
            record = {"name": name, "status": "failed", "error": error,
                      "params": job["params"], "started": started, "finished": results.now()}
        record["cache_key"] = job["cache_key"]
        record["wall_seconds"] = time.perf_counter() - clock
        files[".json"] = json.dumps(record, indent=1).encode()
        return {"name": name, "status": record["status"], "error": error, "files": files,
                "seconds": record["wall_seconds"]}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(sockets, ignore_errors=True)


def ipc_kernel_manager(sockets: Path) -> type:
    """A kernel manager that talks over Unix sockets in the folder ``sockets``, not TCP.

    Kernels started at once each pick free TCP ports, and can race for the same one;
    sockets in a private folder cannot collide (and are not open to other users). The
    folder's path must be short: a socket path has a limit of about 100 characters.
    """
    from jupyter_client.manager import AsyncKernelManager

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(transport="ipc", ip=str(sockets / "s"), **kwargs)

    return IPCKernelManager


def _one_line(err: BaseException) -> str:
    ename = getattr(err, "ename", None) or type(err).__name__
    evalue = getattr(err, "evalue", None) or str(err)
    text = f"{ename}: {evalue}".strip()
    return " ".join(text.split())[:500]


def land(outcome: dict[str, Any], runs_dir: Path) -> None:
    """Move a finished run's files into place; a failure never replaces a good result."""
    paths = Paths(runs_dir, outcome["name"])
    failed = outcome["status"] != "ok"
    for suffix in OUTPUT_SUFFIXES:  # JSON last: it marks the set complete
        if suffix in outcome["files"]:
            results.write_bytes_atomic(paths.file(suffix, failed), outcome["files"][suffix])
    if not failed:
        for suffix in OUTPUT_SUFFIXES:
            paths.file(suffix, failed=True).unlink(missing_ok=True)


class Progress:
    """One combined progress line for all runs: done/total, failures, elapsed, ETA."""

    def __init__(self, total: int, out=sys.stderr, width: int = 24) -> None:
        self.total, self.done, self.failed = total, 0, 0
        self.start = time.perf_counter()
        self.out, self.width = out, width

    def update(self, outcome: dict[str, Any]) -> None:
        self.done += 1
        self.failed += outcome["status"] != "ok"
        elapsed = time.perf_counter() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        filled = round(self.width * self.done / self.total)
        status = "ok" if outcome["status"] == "ok" else "FAILED"
        print(f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} runs, "
              f"{self.failed} failed, {elapsed:.0f}s elapsed, ETA {eta:.0f}s | "
              f"{outcome['name']} {status} ({outcome['seconds']:.1f}s)", file=self.out,
              flush=True)


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_jobs(jobs: list[dict[str, Any]], n_jobs: int, scheduler: str | None,
             on_done: Callable[[dict[str, Any]], None]) -> None:
    """Execute jobs in this process, on a local Dask cluster, or on a remote scheduler."""
    if not jobs:
        return
    if scheduler is None and n_jobs <= 1:
        from mlplab.train import EPOCH_PROGRESS_ENV

        progress = {EPOCH_PROGRESS_ENV: "1"} if len(jobs) == 1 else {}
        with _environ(**progress):  # one run: its kernel reports epochs on this terminal
            for job in jobs:
                on_done(execute_run(job))
        return
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        # Kernels inherit the workers' environment: share the cores between the runs instead
        # of every TensorFlow using them all (faster here, and the results are identical).
        threads = str(max(1, (os.cpu_count() or 1) // n_jobs))
        with _environ(TF_NUM_INTRAOP_THREADS=threads, TF_NUM_INTEROP_THREADS="1"):
            cluster = LocalCluster(n_workers=n_jobs, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None)
    client = Client(scheduler or cluster)
    try:
        futures = [client.submit(execute_run, job, key=f"mlplab-run-{job['name']}-"
                                 f"{job['cache_key'][:12]}", pure=False) for job in jobs]
        for future in as_completed(futures):
            on_done(future.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def plan(specs: Iterable[RunSpec], root: Path, runs_dir: Path, force: bool,
         timeout: float) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Jobs to execute and every run's cache key (cached runs are left out of the jobs)."""
    notebook_text = (root / MASTER_NOTEBOOK).read_text()
    shared = shared_inputs_hash(root)
    memo: dict[str, str] = {}
    jobs, keys = [], {}
    for spec in specs:
        key = cache_key(spec, notebook_text, shared, _data_sha(spec.params["dataset"], root,
                                                               memo))
        keys[spec.name] = key
        if force or not cached_ok(Paths(runs_dir, spec.name), key):
            jobs.append({"name": spec.name, "params": spec.params, "cache_key": key,
                         "notebook_text": notebook_text, "cwd": str(root),
                         "timeout": timeout})
    return jobs, keys


def manifest(specs: list[RunSpec], keys: dict[str, str], runs_dir: Path,
             report_dir: Path) -> list[dict[str, Any]]:
    """Which result stands for each run now: a good one with the current key, or a failure."""
    entries = []
    for spec in specs:
        paths = Paths(runs_dir, spec.name)
        failed = paths.file(".json", failed=True)
        ok = cached_ok(paths, keys[spec.name])
        record = paths.file(".json") if ok else failed
        status = "ok" if ok else "failed" if failed.exists() else "not run"
        entry = {"name": spec.name, "params": spec.params, "status": status,
                 "record": str(record.relative_to(report_dir)),
                 "page": str(paths.file(".html", not ok).relative_to(report_dir)),
                 "student_page": str(paths.file(".student.html", not ok).relative_to(report_dir)),
                 "cache_key": keys[spec.name]}
        if not ok:
            entry["error"] = results.load(failed).get("error") if failed.exists() else "not run"
            if not (report_dir / entry["page"]).exists():
                entry["page"] = entry["student_page"] = None
        entries.append(entry)
    return entries


def build_index(root: Path, report_dir: Path, entries: list[dict[str, Any]],
                bench_file: Path, force: bool) -> bool:
    """Execute the summary notebook into report/index.html unless its inputs are unchanged."""
    import papermill

    from mlplab import html
    from mlplab.summary import records as summary_records

    key = hash_bytes(
        (root / SUMMARY_NOTEBOOK).read_bytes(),
        shared_inputs_hash(root).encode(),
        json.dumps([(e["name"], e["status"], e["cache_key"]) for e in entries]).encode(),
        bench_file.read_bytes() if bench_file.exists() else b"")
    key_file = report_dir / ".index-key"
    index = report_dir / "index.html"
    if not force and index.exists() and key_file.exists() and key_file.read_text() == key:
        return False
    results.write_json_atomic(report_dir / summary_records.MANIFEST, entries)
    records = summary_records.load_records(report_dir, entries)
    csv = summary_records.tidy(records).to_csv(index=False).encode()
    results.write_bytes_atomic(report_dir / summary_records.RESULTS_CSV, csv)
    executed = report_dir / ".index.tmp.ipynb"
    sockets = Path(tempfile.mkdtemp(prefix="mlk"))
    try:
        papermill.execute_notebook(str(root / SUMMARY_NOTEBOOK), str(executed),
                                   parameters={"report_dir": str(report_dir.resolve()),
                                               "bench_file": str(bench_file.resolve())},
                                   kernel_name="python3", language="python", cwd=str(root),
                                   progress_bar=False,
                                   kernel_manager_class=ipc_kernel_manager(sockets))
        html.render(executed, index, assets_href="assets", hide_input=True)
        results.write_bytes_atomic(report_dir / "index.ipynb", executed.read_bytes())
    finally:
        executed.unlink(missing_ok=True)
        shutil.rmtree(sockets, ignore_errors=True)
    key_file.write_text(key)
    return True
