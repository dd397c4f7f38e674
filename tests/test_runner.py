"""The runner's promises, checked with a stand-in master notebook that trains nothing:
cache keys, failure isolation, atomic landing, interruption, and Dask execution."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from mlplab.pipeline import experiments, runner

pytestmark = pytest.mark.slow

STAND_IN = """\
import json, os, time
time.sleep(epochs - 1)  # epochs=1 is quick; a large value stands for a long run
if loss == "mean_squared_error":
    raise ValueError("stand-in failure")
if results_path:
    json.dump({"name": run_name, "status": "ok", "value": learning_rate,
               "malloc_trim": os.environ.get("MALLOC_TRIM_THRESHOLD_"),
               "hash_seed": os.environ.get("PYTHONHASHSEED")},
              open(results_path, "w"))
print("done", run_name)
"""


def make_root(tmp_path: Path, runs: str) -> tuple[Path, list[experiments.RunSpec]]:
    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    cells = [new_code_cell("epochs = 1\nloss = 'x'\nlearning_rate = 0.1\nrun_name = 'x'\n"
                           "results_path = None", metadata={"tags": ["parameters"]}),
             new_code_cell(STAND_IN)]
    nbformat.write(new_notebook(cells=cells), root / runner.MASTER_NOTEBOOK)
    (root / "exp.yaml").write_text(runs)
    return root, experiments.load(root / "exp.yaml")


RUNS = """\
runs:
  - name: a
    epochs: 1
  - name: b
    epochs: 1
    learning_rate: 0.5
"""


def build(root: Path, specs, n_jobs: int = 1, beside=()) -> tuple[list[dict], dict[str, str]]:
    runs_dir = root / "report/runs"
    jobs, keys = runner.plan(specs, root, runs_dir, force=False, timeout=120)
    outcomes = []

    def on_done(outcome):
        runner.land(outcome, runs_dir)
        outcomes.append(outcome)

    runner.run_jobs(jobs, n_jobs, None, on_done, beside=beside)
    return outcomes, keys


@pytest.fixture(scope="module")
def first_build(tmp_path_factory) -> tuple[Path, list, dict[str, str]]:
    """A first build of ``RUNS``, made once: (the project, its outcomes, its keys)."""
    root, specs = make_root(tmp_path_factory.mktemp("runner"), RUNS)
    outcomes, keys = build(root, specs)
    return root, outcomes, keys


@pytest.fixture
def built(first_build, tmp_path: Path) -> tuple[Path, list[experiments.RunSpec]]:
    """A copy of the first build's project, for a test to change (the keys name no path)."""
    root = Path(shutil.copytree(first_build[0], tmp_path / "project"))
    return root, experiments.load(root / "exp.yaml")


def test_cache_reruns_only_changed_runs(first_build, built):
    _, first, keys = first_build
    root, specs = built
    assert sorted(o.name for o in first) == ["a", "b"]
    assert all(o.status == "ok" for o in first)
    again, keys_again = build(root, specs)
    assert again == [] and keys_again == keys
    (root / "exp.yaml").write_text(RUNS.replace("0.5", "0.25"))
    changed, new_keys = build(root, experiments.load(root / "exp.yaml"))
    assert [o.name for o in changed] == ["b"]
    assert new_keys["a"] == keys["a"] and new_keys["b"] != keys["b"]
    record = json.loads((root / "report/runs/b.json").read_text())
    assert record["value"] == 0.25 and record["cache_key"] == new_keys["b"]
    # the master notebook is part of every key
    nb_path = root / runner.MASTER_NOTEBOOK
    nb_path.write_text(nb_path.read_text().replace("print(", "print('v2', "))
    edited, _ = build(root, experiments.load(root / "exp.yaml"))
    assert sorted(o.name for o in edited) == ["a", "b"]


def test_failure_keeps_last_good_result_and_shows_error(built):
    root, _ = built
    runs_dir = root / "report/runs"
    good = {p.name: p.read_bytes() for p in runs_dir.glob("b.*")}
    (root / "exp.yaml").write_text(RUNS + "    loss: mean_squared_error\n")
    outcomes, _ = build(root, experiments.load(root / "exp.yaml"))
    assert [(o.name, o.status) for o in outcomes] == [("b", "failed")]
    assert {p.name: p.read_bytes() for p in runs_dir.glob("b.*")
            if ".failed." not in p.name} == good
    failed = json.loads((runs_dir / "b.failed.json").read_text())
    assert failed["error"] == "ValueError: stand-in failure"
    page = (runs_dir / "b.failed.html").read_text()
    assert page.index("stand-in failure") < page.index("time.sleep")  # error shown at the top
    # fixing the run removes the failure
    (root / "exp.yaml").write_text(RUNS.replace("0.5", "0.75"))
    build(root, experiments.load(root / "exp.yaml"))
    assert not list(runs_dir.glob("b.failed.*"))


def test_timeout_fails_the_run_not_the_others(tmp_path: Path):
    root, specs = make_root(tmp_path, RUNS.replace("epochs: 1\n    learning_rate",
                                                   "epochs: 30\n    learning_rate"))
    runs_dir = root / "report/runs"
    jobs, _ = runner.plan(specs, root, runs_dir, force=False, timeout=3)
    outcomes = []
    runner.run_jobs(jobs, 1, None, outcomes.append)
    status = {o.name: o.status for o in outcomes}
    assert status == {"a": "ok", "b": "failed"}
    timed_out = next(o for o in outcomes if o.name == "b")
    assert "Timeout" in timed_out.error
    assert "sleep" in timed_out.files[".html"].decode()  # its page, as far as it ran


def test_killed_build_leaves_no_partial_files(built):
    root, _ = built
    runs_dir = root / "report/runs"
    before = {p.name: p.read_bytes() for p in runs_dir.iterdir()}
    (root / "exp.yaml").write_text(RUNS.replace("epochs: 1\n    learning_rate",
                                                "epochs: 60\n    learning_rate"))
    code = ("import sys; from pathlib import Path; "
            "from mlplab.pipeline import experiments, runner; "
            "root = Path(sys.argv[1]); specs = experiments.load(root / 'exp.yaml'); "
            "jobs, _ = runner.plan(specs, root, root / 'report/runs', False, 120); "
            "runner.run_jobs(jobs, 1, None, lambda o: runner.land(o, root / 'report/runs'))")
    proc = subprocess.Popen([sys.executable, "-c", code, str(root)], start_new_session=True)
    # Kill once run b's kernel is up and sleeping in its cell (polling, not a fixed wait).
    import psutil

    deadline = time.monotonic() + 90
    while not any("ipykernel" in " ".join(child.cmdline())
                  for child in psutil.Process(proc.pid).children(recursive=True)):
        assert time.monotonic() < deadline, "run b's kernel never started"
        time.sleep(0.2)
    time.sleep(3)  # past kernel start-up, inside the 59-second cell
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    after = {p.name: p.read_bytes() for p in runs_dir.iterdir()}
    assert {k for k in after.keys() | before.keys() if after.get(k) != before.get(k)} == set()


def test_dask_local_cluster_matches_local_run(built):
    root, specs = built
    local_records = {n: json.loads((root / f"report/runs/{n}.json").read_text())
                     for n in ("a", "b")}
    for path in (root / "report/runs").iterdir():
        path.unlink()
    # Beside the runs (as the speed bench): a command that ends only once both runs have
    # landed (or after a minute), and one that fails. Both start first, one on each worker;
    # the runs then go to the worker the failing one leaves free.
    runs = [str(root / f"report/runs/{n}.json") for n in ("a", "b")]
    waits = [sys.executable, "-c", "import os, sys, time\nfor _ in range(600):\n"
             "    if all(map(os.path.exists, sys.argv[1:])): break\n    time.sleep(0.1)\n"
             "else: sys.exit('the runs did not land meanwhile')\n"
             "sys.exit(os.environ.get('MALLOC_TRIM_THRESHOLD_'))", *runs]
    failing = [sys.executable, "-c", "import sys; sys.exit('no bench here')"]
    with pytest.raises(runner.CommandError) as failed:
        build(root, specs, n_jobs=2, beside=[waits, failing])
    assert str(failed.value).endswith("failed (exit 1): no bench here")  # `waits` succeeded
    for name, record in local_records.items():
        again = json.loads((root / f"report/runs/{name}.json").read_text())
        assert again["value"] == record["value"] and again["cache_key"] == record["cache_key"]
        # Dask's nanny sets this for its workers; their kernels and commands go without it
        # (with it, glibc maps every large tensor afresh: training took twice as long).
        assert again["malloc_trim"] is None
        # and this one for Dask's own hashing: a kernel hashes as on the local path (and
        # forks from the same server).
        assert again["hash_seed"] is None
    import dask.distributed  # noqa: F401  (its configuration)

    assert dask.config.get("distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_")


def test_a_run_keeps_the_kernel_prestarted_for_the_index_and_drops_an_earlier_builds(
        tmp_path: Path):
    """The driver starts the index's kernel while the runs go (``runner.prestart_index``):
    a run borrowing its own kernel must leave that one for the index, not close it as
    stale, as it does an earlier build's kernel for its own notebook."""
    from mlplab.pipeline import kernels

    index, run = (nbformat.writes(new_notebook(cells=[new_code_cell(source)]))
                  for source in ("import json", "import os"))
    kernels.prestart("index", index, tmp_path)
    kernels.prestart("earlier", run, tmp_path)
    try:
        with kernels.borrow("runs", run, tmp_path, str(tmp_path), {}):
            pass
        assert kernels.close_all("earlier") == 0  # closed by the borrow
        assert kernels.close_all("index") == 1  # kept for the index
        assert kernels.close_all("runs") == 1  # returned after the run
    finally:
        kernels.close_all()


def test_existing_scheduler_address_is_used(tmp_path: Path):
    from dask.distributed import LocalCluster

    root, specs = make_root(tmp_path, RUNS)
    runs_dir = root / "report/runs"
    jobs, _ = runner.plan(specs, root, runs_dir, force=False, timeout=120)
    outcomes = []
    # A worker thread in this process: the address is what is tested, and worker processes
    # on Dask are test_dask_local_cluster_matches_local_run's (each costs ~5 CPU-seconds).
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                      host="127.0.0.1",
                      dashboard_address=None) as cluster:
        runner.run_jobs(jobs, 1, cluster.scheduler_address, outcomes.append)
        # ... and the runs went to that cluster, not to this process or a cluster of its own
        assert {"mlplab-run-a", "mlplab-run-b"} <= set(cluster.scheduler.task_prefixes)
        assert [w.state.executed_count for w in cluster.workers.values()] == [2]
    assert sorted((o.name, o.status) for o in outcomes) == [("a", "ok"), ("b", "ok")]


def test_make_report_runs_one_run_per_core_by_default():
    """A newcomer's first `make report` uses every core, not one."""
    from conftest import ROOT

    env = {k: v for k, v in os.environ.items() if k not in ("JOBS", "MAKEFLAGS")}
    shown = subprocess.run(["make", "--dry-run", "--always-make", "report"], cwd=ROOT, env=env,
                           capture_output=True, text=True, check=True).stdout
    assert f"--jobs {os.cpu_count()} --bench " in shown  # the speed bench beside the runs
    one = subprocess.run(["make", "--dry-run", "--always-make", "report", "JOBS=1"], cwd=ROOT,
                         env=env, capture_output=True, text=True, check=True).stdout
    assert "--jobs 1 " in one
