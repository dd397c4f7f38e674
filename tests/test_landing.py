"""Landing a run's files and locking the report folder, without a kernel: each rule that
keeps a report whole (nothing half-written, a failure never replacing a good result, one
build at a time) fails its own test here in well under a second."""

from __future__ import annotations

import errno
import math
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from mlplab import results
from mlplab.pipeline import runner
from mlplab.results import Status


def outcome(status: Status = Status.OK, networks: bool = True, tag: str = "new") -> runner.Outcome:
    files = {suffix: f"{tag}{suffix}".encode() for suffix in runner.OUTPUT_SUFFIXES}
    if networks:
        files[runner.NETWORKS] = f"{tag}{runner.NETWORKS}".encode()
    return runner.Outcome("a", status, None if status == Status.OK else "boom", files, 1.0)


def contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_good_run_replaces_its_files_and_clears_an_earlier_failure(tmp_path: Path):
    runner.land(outcome(Status.FAILED, networks=False, tag="bad"), tmp_path)
    runner.land(outcome(), tmp_path)
    assert contents(tmp_path) == {f"a{s}": f"new{s}".encode()
                                  for s in (*runner.OUTPUT_SUFFIXES, runner.NETWORKS)}
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in tmp_path.iterdir())


def test_a_failed_run_lands_beside_the_good_one_and_replaces_nothing(tmp_path: Path):
    runner.land(outcome(), tmp_path)
    good = contents(tmp_path)
    runner.land(outcome(Status.FAILED, networks=False, tag="bad"), tmp_path)
    after = contents(tmp_path)
    assert {k: v for k, v in after.items() if k in good} == good
    assert {k for k in after if k not in good} == {
        f"a.failed{s}" for s in runner.OUTPUT_SUFFIXES}


def test_a_new_record_without_networks_drops_the_old_networks(tmp_path: Path):
    runner.land(outcome(), tmp_path)
    runner.land(outcome(networks=False, tag="newer"), tmp_path)
    assert not (tmp_path / f"a{runner.NETWORKS}").exists()
    assert (tmp_path / "a.json").read_bytes() == b"newer.json"


def test_the_record_is_renamed_into_place_last(tmp_path: Path, monkeypatch):
    """The JSON marks a run complete: every other file must be in place before it."""
    renamed = []
    real = os.replace
    monkeypatch.setattr(runner.os, "replace",
                        lambda src, dst: (renamed.append(Path(dst).name), real(src, dst)))
    runner.land(outcome(), tmp_path)
    assert renamed[-1] == "a.json" and len(renamed) == len(runner.OUTPUT_SUFFIXES) + 1


def test_a_write_that_fails_midway_leaves_every_old_file_and_no_temporaries(tmp_path: Path,
                                                                            monkeypatch):
    old = {"a.html": b"old page", "a.json": b"old record"}
    for name, content in old.items():
        (tmp_path / name).write_bytes(content)

    class FullDisk:
        """A file whose write fails as on a full disk."""

        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, content):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    opened = []
    real_fdopen = os.fdopen

    def fdopen(fd, mode):  # the second file's write fails: the disk filled up in between
        opened.append(fd)
        fh = real_fdopen(fd, mode)
        return FullDisk(fh) if len(opened) == 2 else fh

    monkeypatch.setattr(runner.os, "fdopen", fdopen)
    with pytest.raises(OSError, match=r"No space left on device: '.*a\.json'") as err:
        runner.replace_together([(tmp_path / "a.html", b"new page"),
                                 (tmp_path / "a.json", b"new record")])
    assert err.value.errno == errno.ENOSPC
    assert contents(tmp_path) == old


def test_land_refuses_a_name_that_would_write_outside_the_runs_folder(tmp_path: Path):
    bad = runner.Outcome("../escape", Status.OK, None, {".json": b"{}"}, 1.0)
    with pytest.raises(ValueError, match="would write outside"):
        runner.land(bad, tmp_path / "runs")
    assert not (tmp_path / "escape.json").exists()


def test_an_atomic_write_leaves_the_old_file_when_it_fails(tmp_path: Path):
    path = tmp_path / "r.json"
    results.write_json_atomic(path, {"v": 1})
    assert path.stat().st_mode & 0o777 == 0o644
    with pytest.raises(TypeError):
        results.write_bytes_atomic(path, "text, not bytes")
    assert results.load(path) == {"v": 1} and [p.name for p in tmp_path.iterdir()] == ["r.json"]


# --- One build at a time per report folder --------------------------------------------------

def _second_build_while_held(report_dir: Path) -> list[BaseException]:
    """Take the report lock, try a second build from another thread while it is held, and
    return what that build was refused with (it must be refused, not wait)."""
    refused: list[BaseException] = []

    def second():
        try:
            with runner.report_lock(report_dir):
                pass
        except runner.ReportBusy as err:
            refused.append(err)

    with runner.report_lock(report_dir):
        attempt = threading.Thread(target=second, daemon=True)
        attempt.start()
        attempt.join(timeout=10)
        assert not attempt.is_alive(), "a second build waited instead of being refused"
    return refused


def test_a_second_build_is_refused_naming_the_first_and_may_start_once_it_ends(
        tmp_path: Path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["mlplab", "report", "--jobs", "2"])  # as a build is started
    refused = _second_build_while_held(tmp_path)
    assert len(refused) == 1
    assert str(refused[0]).startswith(
        f"{tmp_path} is being built by PID {os.getpid()} (mlplab report --jobs 2, started ")
    with runner.report_lock(tmp_path):  # released when the first one ended
        assert (tmp_path / runner.LOCK_NAME).read_text().startswith(f"{os.getpid()}\n")


def test_a_holder_is_named_even_after_a_longer_line_was_left_in_the_lock_file(
        tmp_path: Path, monkeypatch):
    """The lock file outlives its builds: a new holder replaces what an earlier one wrote,
    however long, so a refused build names the running one, not 'PID unknown'."""
    (tmp_path / runner.LOCK_NAME).write_text("4242\n01:02:03\nmlplab report " + "x" * 300
                                             + "\nleft over\n")
    monkeypatch.setattr(sys, "argv", ["mlplab", "report"])  # as a build is started
    refused = _second_build_while_held(tmp_path)
    assert len(refused) == 1
    assert str(refused[0]).startswith(
        f"{tmp_path} is being built by PID {os.getpid()} (mlplab report, started ")


def test_a_full_disk_is_found_when_the_lock_is_taken_before_anything_changed(
        tmp_path: Path, monkeypatch):
    """Taking the lock writes a probe file into runs/: a folder that takes no new file
    fails there, naming the folder and the cause, before any run starts."""
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(tempfile, "mkstemp", full)
    with pytest.raises(runner.ReportNotWritable) as err:
        with runner.report_lock(tmp_path):
            pytest.fail("the build started")
    assert str(err.value).startswith(
        f"cannot write to {tmp_path} (No space left on device): the report there was left as "
        "it was")


def test_waiting_starts_when_the_holder_ends(tmp_path: Path, capsys):
    held, order = threading.Event(), []

    def first():
        with runner.report_lock(tmp_path):
            held.set()
            time.sleep(0.3)
            order.append("first done")

    thread = threading.Thread(target=first)
    thread.start()
    held.wait()
    with runner.report_lock(tmp_path, wait=True):
        order.append("second starts")
    thread.join()
    assert order == ["first done", "second starts"]
    assert "waiting for PID" in capsys.readouterr().err


def test_taking_the_lock_removes_what_a_killed_build_left(tmp_path: Path):
    runs = tmp_path / "runs"
    runs.mkdir()
    stale = [runs / ".a.json.x1.tmp", tmp_path / ".index.tmp.ipynb"] + [
        tmp_path / f".{name}.x.tmp"
        for name in ("index.html", "index.ipynb", "manifest.json", "results.csv")]
    kept = [runs / "a.json", tmp_path / "index.html", tmp_path / "notes.tmp"]
    for path in stale + kept:
        path.write_text("x")
    with runner.report_lock(tmp_path):
        pass
    assert [p for p in stale if p.exists()] == [] and all(p.exists() for p in kept)


def test_a_first_run_lands_in_a_new_folder_without_networks(tmp_path: Path):
    runs = tmp_path / "report" / "runs"
    runner.land(outcome(networks=False), runs)
    assert sorted(contents(runs)) == sorted(f"a{s}" for s in runner.OUTPUT_SUFFIXES)


def test_temporaries_sit_beside_their_targets_named_for_the_next_build_to_clear(
        tmp_path: Path, monkeypatch):
    """Renames stay within one folder (atomic on one file system), and what a build killed
    between writing and renaming leaves is removed by the next build's lock."""
    staged = []
    real = os.replace

    def replace(src, dst):
        staged.append(Path(src))
        assert Path(src).parent == Path(dst).parent
        real(src, dst)

    monkeypatch.setattr(runner.os, "replace", replace)
    runs = tmp_path / "runs"
    runner.land(outcome(), runs)
    assert len(staged) == len(runner.OUTPUT_SUFFIXES) + 1
    for left in staged:  # as a SIGKILL before the renames would have left them
        left.write_bytes(b"half")
    with runner.report_lock(tmp_path):
        assert [p for p in staged if p.exists()] == []


def test_a_failed_rename_reports_its_own_error_and_cleans_up(tmp_path: Path, monkeypatch):
    calls = []
    real = os.replace

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))
        real(src, dst)

    monkeypatch.setattr(runner.os, "replace", replace)
    with pytest.raises(OSError) as err:
        runner.replace_together([(tmp_path / "a.html", b"page"), (tmp_path / "a.json", b"{}")])
    assert err.value.errno == errno.EXDEV
    assert contents(tmp_path) == {"a.html": b"page"}  # renamed before; no temporaries left


def test_a_record_keeps_nan_values(tmp_path: Path):
    """Records hold NaN (a diverged seed's loss): writing must not refuse them."""
    path = tmp_path / "r.json"
    results.write_json_atomic(path, {"loss": [0.5, float("nan")]})
    assert math.isnan(results.load(path)["loss"][1])


def test_an_atomic_write_stages_beside_its_target_where_the_next_build_clears_it(
        tmp_path: Path, monkeypatch):
    staged = []
    real = os.replace

    def replace(src, dst):
        staged.append(Path(src))
        assert Path(src).parent == Path(dst).parent  # one folder: the rename is atomic
        real(src, dst)

    monkeypatch.setattr(results.os, "replace", replace)
    results.write_json_atomic(tmp_path / "runs" / "new" / "a.json", {"v": 1})
    assert results.load(tmp_path / "runs" / "new" / "a.json") == {"v": 1}
    (tmp_path / "runs" / "new").rename(tmp_path / "runs" / "kept")
    left = tmp_path / "runs" / staged[0].name  # as a build killed before its rename leaves it
    left.write_bytes(b"half")
    with runner.report_lock(tmp_path):
        assert not left.exists()


def test_a_process_that_leaves_early_still_runs_its_exit_handlers_and_prints_all():
    """``exit_now`` skips Python's finalization (~2 CPU-s once TensorFlow is imported), not
    what a process owes: its atexit handlers run, buffered output is written, its code kept."""
    import subprocess

    code = ("import atexit, sys\nfrom mlplab.pipeline.processes import exit_now\n"
            "atexit.register(lambda: print('handler ran'))\n"
            "sys.stdout.write('buffered '); sys.stderr.write('err')\nexit_now(3)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONUNBUFFERED": ""})
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "buffered handler ran\n", "err")
