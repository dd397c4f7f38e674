"""Builds that users interrupt, run twice at once, or point at a folder they cannot write.

Every test drives a real `mlplab report` process on a stand-in project: the real runner,
papermill, kernels, Dask workers, nbconvert pages and index, but a master notebook that
trains nothing. It waits while a "hold" file exists, which stands for a long training
run: a test can interrupt a run in progress, then let the next build finish it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from mlplab import params, results
from mlplab.pipeline import kernels, runner

pytestmark = pytest.mark.slow

STAND_IN = """\
import json, os, tempfile, time
from mlplab import params as P
# As TensorFlow's autograph does: a module in $TMPDIR that only a normal exit removes.
tempfile.NamedTemporaryFile(prefix="__autograph_generated_file", suffix=".py",
                            delete=False).close()
hold = os.environ.get("MLPLAB_STANDIN_HOLD")
while hold and os.path.exists(hold):  # a long training run, until the test lets it finish
    time.sleep(0.1)
if results_path:
    record = {"schema": 2, "name": run_name, "status": "ok", "data": {}, "seeds": [],
              "params": {p.name: globals()[p.name] for p in P.PARAMS}}
    json.dump(record, open(results_path, "w"))
"""

SUMMARY = """\
import json, pathlib
manifest = json.loads((pathlib.Path(report_dir) / "manifest.json").read_text())
print([(e["name"], e["status"]) for e in manifest])
"""

RUNS = """\
defaults:
  seeds: [0]
runs:
  - name: a
    epochs: 1
  - name: b
    epochs: 2
"""

NO_TF = ("import sys; from mlplab.pipeline import cli; rc = cli.main(sys.argv[1:]); "
         "assert 'tensorflow' not in sys.modules, 'driver imported tensorflow'; sys.exit(rc)")
INTERRUPTED = ("interrupted: finished runs were kept; unfinished ones left no files, processes "
               "or temporary folders; run the build again to finish")


def make_project(root: Path) -> Path:
    (root / "notebooks").mkdir(parents=True)
    master = new_notebook(cells=[
        new_markdown_cell("# Stand-in run"),
        new_code_cell(params.parameters_cell_source(), metadata={"tags": ["parameters"]}),
        new_code_cell(STAND_IN)])
    nbformat.write(master, root / runner.MASTER_NOTEBOOK)
    summary = new_notebook(cells=[
        new_markdown_cell("# Stand-in index"),
        new_code_cell("report_dir = '.'\nbench_file = None", metadata={"tags": ["parameters"]}),
        new_code_cell(SUMMARY)])
    nbformat.write(summary, root / runner.SUMMARY_NOTEBOOK)
    (root / "exp.yaml").write_text(RUNS)
    return root


def command(*args: str, jobs: int = 1) -> list[str]:
    return [sys.executable, "-c", NO_TF, "report", "--experiments", "exp.yaml",
            "--report-dir", "report", "--jobs", str(jobs), *args]


def start(root: Path, *args: str, jobs: int = 1, env: dict | None = None) -> subprocess.Popen:
    """`mlplab report` in its own session, as a terminal starts it (Ctrl-C hits the group)."""
    return subprocess.Popen(command(*args, jobs=jobs), cwd=root, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def build(root: Path, *args: str, jobs: int = 1, env: dict | None = None,
          ) -> subprocess.CompletedProcess:
    return subprocess.run(command(*args, jobs=jobs), cwd=root, env=env, capture_output=True,
                          text=True, timeout=300)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file's bytes; the lock file is left out (each build writes its PID there)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != runner.LOCK_NAME}


def assert_consistent(report: Path) -> list[dict]:
    """The manifest parses, and every page it (and so the index) links to exists."""
    manifest = json.loads((report / "manifest.json").read_text())
    assert (report / "index.html").is_file()
    for entry in manifest:
        assert entry["status"] == "ok", entry
        for key in ("record", "page", "student_page"):
            assert (report / entry[key]).is_file(), entry[key]
    return manifest


def command_of(proc: psutil.Process) -> str:
    """Its command line; empty once it has ended (a short-lived helper may have)."""
    with contextlib.suppress(psutil.Error):
        return " ".join(proc.cmdline())
    return ""


def kernels_of(proc: psutil.Process) -> list[psutil.Process]:
    return [p for p in proc.children(recursive=True)
            if "ipykernel_launcher" in " ".join(p.cmdline())]


def wait_for(predicate, timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A stand-in project with a finished report (runs a and b), copied by each test."""
    root = make_project(tmp_path_factory.mktemp("reliability") / "project")
    result = build(root)
    assert result.returncode == 0, result.stderr
    return root


@pytest.fixture
def project(built: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(built, tmp_path / "project", symlinks=True))


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A private $TMPDIR for the build, with a short path (kernel sockets live under it)."""
    path = Path(tempfile.mkdtemp(prefix="t", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_ctrl_c_during_parallel_build_stops_everything_and_the_next_build_finishes(
        project: Path, short_tmp: Path):
    report = project / "report"
    before = snapshot(report)
    # Run a changes, c is new: both execute (b is cached); they hang until `hold` goes.
    (project / "exp.yaml").write_text(RUNS.replace("epochs: 1", "epochs: 3")
                                      + "  - name: c\n    epochs: 4\n")
    hold = short_tmp / "hold"
    hold.touch()
    # The build's own fork servers (not the test session's), which must leave with it.
    env = {**os.environ, "TMPDIR": str(short_tmp), "MLPLAB_STANDIN_HOLD": str(hold),
           kernels.FORKS_ENV: ""}
    proc = start(project, jobs=2, env=env)
    driver = psutil.Process(proc.pid)
    # the two runs' kernels and the index's, which the driver starts while they go
    wait_for(lambda: len(kernels_of(driver)) == 3, what="three kernels")
    family = driver.children(recursive=True)  # Dask workers, their kernels, helpers
    assert len(family) >= 4
    assert any("forkserver.py" in command_of(p) for p in family)

    sent = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    _, stderr = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 10, "Ctrl-C did not stop the build promptly"
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == INTERRUPTED
    # No kernel, worker or helper left, and none that escaped the process tree either:
    # every process the build started has its TMPDIR (a kernel's own folder inside it).
    wait_for(lambda: not [p for p in family if p.is_running()
                          and p.status() != psutil.STATUS_ZOMBIE], 5, "processes to end")
    strays = []
    for p in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if Path(p.environ().get("TMPDIR", "/")).is_relative_to(short_tmp):
                strays.append(p.cmdline())
    assert strays == []
    # No scratch, socket or Dask folder, and no file the killed kernels left in their TMPDIR.
    assert sorted(short_tmp.iterdir()) == [hold]
    assert snapshot(report) == before  # earlier pages, records and index untouched

    hold.unlink()
    again = build(project, jobs=2, env=env)
    assert again.returncode == 0, again.stderr
    assert "3 runs (3 trainings over their seeds) in exp.yaml: 1 up to date or skipped, " \
        "2 to execute" in again.stderr
    manifest = assert_consistent(report)
    assert [e["name"] for e in manifest] == ["a", "b", "c"]
    assert json.loads((report / "runs/c.json").read_text())["params"]["epochs"] == 4
    after = snapshot(report)
    assert {k: v for k, v in after.items() if k.startswith("runs/b.")} == \
        {k: v for k, v in before.items() if k.startswith("runs/b.")}
    assert list(short_tmp.iterdir()) == []


def test_second_build_exits_naming_the_first_and_wait_queues_behind_it(
        project: Path, short_tmp: Path):
    report = project / "report"
    (project / "exp.yaml").write_text(RUNS.replace("epochs: 1", "epochs: 3"))
    hold = short_tmp / "hold"
    hold.touch()
    env = {**os.environ, "MLPLAB_STANDIN_HOLD": str(hold)}
    first = start(project, env=env)
    wait_for(lambda: kernels_of(psutil.Process(first.pid)), what="the first build")
    pid, started, holder = (report / runner.LOCK_NAME).read_text().splitlines()
    assert pid == str(first.pid)
    assert holder == "mlplab report --experiments exp.yaml --report-dir report --jobs 1"

    second = build(project, env=env)
    assert second.returncode == 75
    assert second.stderr.strip() == (
        f"error: {report} is being built by PID {first.pid} ({holder}, started {started}); "
        "wait for it to finish, or pass --wait to start when it does")

    third = start(project, "--wait", env=env)
    wait_for(lambda: _stderr_has(third), what="the third build to say it waits")
    time.sleep(1)
    assert third.poll() is None  # queued behind the first
    hold.unlink()
    assert first.wait(timeout=120) == 0, first.communicate()[1]
    _, third_err = third.communicate(timeout=120)
    assert third.returncode == 0, third_err
    assert third_err.splitlines()[0] == (
        f"waiting for PID {first.pid} ({holder}, started {started}) to finish building "
        f"{report} ...")
    manifest = assert_consistent(report)
    assert [e["name"] for e in manifest] == ["a", "b"]
    assert json.loads((report / "runs/a.json").read_text())["params"]["epochs"] == 3


def _stderr_has(proc: subprocess.Popen) -> bool:
    """Whether the process has printed anything to stderr yet (without consuming it)."""
    import select

    ready, _, _ = select.select([proc.stderr], [], [], 0)
    return bool(ready)


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[str]:
    """Make ``folder`` really read-only, for root too; yield the error the build will see.

    As root, permission bits stop nothing, so the folder is bind-mounted read-only onto
    itself (needs CAP_SYS_ADMIN, as CI has); other users get chmod.
    """
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
        for p in modes:
            p.chmod(modes[p] & ~0o222)
        try:
            yield os.strerror(errno.EACCES)
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    mounted = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"root without permission to mount: {mounted.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True)
        yield os.strerror(errno.EROFS)
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_read_only_report_folder_fails_with_one_line_and_changes_nothing(project: Path):
    report = project / "report"
    before = snapshot(report)
    (project / "exp.yaml").write_text(RUNS.replace("epochs: 1", "epochs: 3"))
    with read_only(report) as reason:
        with pytest.raises(OSError):
            (report / "probe").write_text("x")  # really read-only, for this user too
        result = build(project)
        assert result.returncode == 74
        assert result.stderr.strip() == (
            f"error: cannot write to {report} ({reason}): the report there was left as it "
            "was; make the folder writable or free some space, or build elsewhere with "
            "--report-dir")
        assert "to execute" not in result.stderr  # refused before planning any run
        assert snapshot(report) == before


@contextlib.contextmanager
def small_disk(folder: Path, size_mb: int) -> Iterator[None]:
    """A real filesystem of ``size_mb`` at ``folder`` (tmpfs; root with CAP_SYS_ADMIN)."""
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs",
                              str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem: {mounted.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_full_disk_fails_with_one_line_and_keeps_the_previous_report(project: Path):
    disk = project / "disk"
    with small_disk(disk, 16):
        report = disk / "report"
        shutil.copytree(project / "report", report)
        (project / "report").rename(project / "old-report")
        (project / "report").symlink_to(report)
        before = snapshot(report)
        (project / "exp.yaml").write_text(RUNS.replace("epochs: 1", "epochs: 3"))
        free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
        filler = disk / "filler"
        filler.write_bytes(b"\0" * (free - 64 * 1024))  # 64 KB left: less than a run page
        result = build(project)
        assert result.returncode == 74, result.stderr
        assert result.stderr.strip().splitlines()[-1] == (
            f"error: cannot write {report}/runs/a.html (No space left on device): no file was "
            "left half-written; fix that and run the build again to finish")
        assert snapshot(report) == before
        assert not [p for p in report.rglob("*.tmp")]

        filler.unlink()
        again = build(project)
        assert again.returncode == 0, again.stderr
        assert_consistent(report)
        assert json.loads((report / "runs/a.json").read_text())["params"]["epochs"] == 3


def test_a_disk_that_fills_midway_through_a_run_leaves_its_old_files(tmp_path: Path,
                                                                    monkeypatch):
    """Simulated, in-process, for machines where no small disk can be mounted: the second
    staged file is written to /dev/full, which fails every write with ENOSPC."""
    runs = tmp_path / "runs"
    runs.mkdir()
    old = {s: f"old {s}".encode() for s in runner.OUTPUT_SUFFIXES}
    for suffix, content in old.items():
        (runs / f"a{suffix}").write_bytes(content)
    real_mkstemp = tempfile.mkstemp
    calls = []

    def filling_mkstemp(**kwargs):
        fd, path = real_mkstemp(**kwargs)
        calls.append(path)
        if len(calls) == 2:
            full = os.open("/dev/full", os.O_WRONLY)
            os.dup2(full, fd)
            os.close(full)
        return fd, path

    monkeypatch.setattr(tempfile, "mkstemp", filling_mkstemp)
    outcome = runner.Outcome("a", results.Status.OK, None,
                             {s: b"new " + s.encode() * 10_000 for s in runner.OUTPUT_SUFFIXES},
                             1.0)
    with pytest.raises(OSError) as err:
        runner.land(outcome, runs)
    assert (err.value.errno, err.value.filename) == (errno.ENOSPC, str(runs / "a.html"))
    assert {p.name: p.read_bytes() for p in runs.iterdir()} == \
        {f"a{s}": content for s, content in old.items()}  # no new file, no temporary left


def test_next_build_removes_what_a_killed_build_left(tmp_path: Path):
    report = tmp_path / "report"
    (report / "runs").mkdir(parents=True)
    stale = [report / "runs/.a.html.x1y2.tmp", report / ".index.tmp.ipynb",
             report / ".manifest.json.k3j4.tmp"]
    for path in stale:
        path.write_text("half")
    foreign = report / ".bench.json.abcd.tmp"  # `make bench` may be writing it right now
    foreign.write_text("half")
    with runner.report_lock(report):
        assert [p for p in stale if p.exists()] == []
        assert foreign.exists()
        assert (report / runner.LOCK_NAME).read_text().splitlines()[0] == str(os.getpid())
