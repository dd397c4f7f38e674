"""End to end: the CLI executes the master notebook per run, renders HTML and the index."""

from __future__ import annotations

import html
import json
import re
import resource
import time

import pytest
from conftest import ROOT, mlplab

from mlplab.pipeline import runner

pytestmark = pytest.mark.slow


@pytest.fixture
def built(small_report):
    """conftest's small report: `dropout` works, `broken` fails, with two more good runs
    (built once a session)."""
    return small_report


def test_failed_run_does_not_stop_others_and_exits_nonzero(built):
    _, report_dir, first = built
    assert first.returncode == 1, first.stderr
    assert "FAILED broken" in first.stderr and "label 12" in first.stderr
    assert (report_dir / "runs/dropout.json").exists()
    failed = json.loads((report_dir / "runs/broken.failed.json").read_text())
    assert failed["status"] == "failed" and "label 12 in data row 5" in failed["error"]
    page = (report_dir / "runs/broken.failed.html").read_text()
    assert "label 12" in page
    assert not (report_dir / "runs/broken.json").exists()


def test_run_page_and_record_carry_the_real_accuracy(built):
    _, report_dir, _ = built
    record = json.loads((report_dir / "runs/dropout.json").read_text())
    assert record["status"] == "ok" and [s["seed"] for s in record["seeds"]] == [0, 1]
    assert record["param_count"] == (784 + 1) * 20 + (20 + 1) * 10
    assert record["data"]["n_total"] == 5000 and len(record["data"]["sha256"]) == 64
    assert record["data"]["n_train"] + record["data"]["n_val"] + record["data"]["n_test"] == 300
    mean = record["test_accuracy"]["mean"]
    page = (report_dir / "runs/dropout.html").read_text()
    assert f"{100 * mean:.1f}%" in page
    # The Keras code a student reads ran on this page: its compile and fit, and fit's log.
    text = html.unescape(re.sub(r"<[^>]+>", "", page))  # code is highlighted span by span
    assert "model.compile(" in text and "model.fit(" in text
    assert "Epoch 2/2" in page
    assert len(record["seeds"][0]["history"]["loss"]) == 2
    assert record["env"]["packages"]["tensorflow"]
    assert {"results_path", "networks_path"}.isdisjoint(record["params"])  # scratch paths


def test_run_page_shows_the_runs_parameters_with_their_meaning_not_the_defaults(built):
    """Not the defaults cell the run replaced, nor the paths of deleted scratch files."""
    from mlplab.params import BY_NAME
    from mlplab.pipeline.notebook import INJECTED_HEADER

    _, report_dir, _ = built
    for page in ("dropout.html", "dropout.student.html"):
        text = html.unescape(re.sub(r"<[^>]+>", "", (report_dir / "runs" / page).read_text()))
        assert INJECTED_HEADER in text and f"# {BY_NAME['epochs'].help}\nepochs = 2" in text
        assert "results_path =" not in text and "networks_path =" not in text
        assert "papermill replaces these per run" not in text  # the defaults cell's comment


def test_index_lists_every_run_with_links_and_status(built):
    _, report_dir, _ = built
    index = (report_dir / "index.html").read_text()
    assert re.search(r"""href=["']runs/dropout\.html["']""", index)
    assert re.search(r"FAILED</b>.*label 12", index)
    record = json.loads((report_dir / "runs/dropout.json").read_text())
    assert f"{100 * record['test_accuracy']['mean']:.1f}%" in index
    csv = (report_dir / "results.csv").read_text().splitlines()
    assert csv[0].startswith("run,status,") and len(csv) == 1 + 3 * 2 + 1  # 2 seeds, 1 failed


def test_student_edition_hides_solutions(built):
    _, report_dir, _ = built
    instructor = (report_dir / "runs/dropout.html").read_text()
    student = (report_dir / "runs/dropout.student.html").read_text()
    assert "Solutions." in instructor and "Solutions." not in student
    assert "Exercises" in student


def test_second_build_reuses_cache_quickly_without_tensorflow(built):
    suite, report_dir, _ = built
    good = (report_dir / "runs/dropout.json").read_bytes()
    again = mlplab("report", "--experiments", str(suite), "--report-dir", str(report_dir),
                   "--only", "dropout")  # mlplab() fails if the driver imported TensorFlow
    assert again.returncode == 1, again.stderr  # 'broken' is still failed: not hidden
    assert "0 to execute" in again.stderr and "index up to date" in again.stderr
    assert (report_dir / "runs/dropout.json").read_bytes() == good


def test_bad_experiment_file_fails_before_any_run(built, tmp_path, capsys):
    """The driver's own entry point, in this process: the commands above show that a real
    `mlplab` process exits as `main` returns and prints what it prints (a process of its
    own would cost ~1 CPU-second more to say the same)."""
    from mlplab.pipeline import cli

    suite = tmp_path / "bad.yaml"
    suite.write_text("runs:\n  - name: x\n    epocs: 3\n")
    assert cli.main(["report", "--experiments", str(suite),
                     "--report-dir", str(tmp_path / "r")]) == 2
    assert f"{suite}:3: run 'x': unknown parameter 'epocs' (did you mean 'epochs'?)" in \
        capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_only_runs_the_named_runs_and_the_index_lists_the_rest(tmp_path):
    suite = tmp_path / "suite.yaml"
    suite.write_text("defaults:\n  max_samples: 200\n  epochs: 1\nruns:\n"
                     "  - name: first\n    hidden_layers: [10]\n"
                     "  - name: second\n    hidden_layers: [12]\n")
    report_dir = tmp_path / "report"
    result = mlplab("report", "--experiments", str(suite), "--report-dir", str(report_dir),
                    "--only", "first")
    assert result.returncode == 0, result.stderr
    assert "first: epoch 1/1" in result.stdout  # a single run reports its epochs
    assert (report_dir / "runs/first.json").exists()
    assert not list((report_dir / "runs").glob("second*"))
    manifest = json.loads((report_dir / "manifest.json").read_text())
    assert [e["status"] for e in manifest] == ["ok", "not run"]
    assert "not run yet" in (report_dir / "index.html").read_text()


def test_master_notebook_runs_with_its_own_defaults_in_under_a_minute(tmp_path):
    """What a student gets by opening the notebook in JupyterLab and running all cells."""
    import nbformat
    import papermill

    from mlplab.pipeline.runner import MASTER_NOTEBOOK, ipc_kernel_manager

    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    papermill.execute_notebook(str(ROOT / MASTER_NOTEBOOK), str(tmp_path / "out.ipynb"),
                               kernel_name="python3", cwd=str(ROOT / "notebooks"),
                               progress_bar=False, kernel_manager_class=ipc_kernel_manager(
                                   tmp_path))
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    # The kernel's CPU time (it has ended and been reaped): what the notebook needs of a
    # machine running nothing else, where other work shares the cores (at load 7 the wall
    # time passed a minute). Under a minute either way; a slower notebook exceeds both.
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    assert cpu > 3, "the kernel's CPU time was not counted"  # TensorFlow's import alone
    assert wall < 60 or cpu < 60, f"{wall:.0f} s, {cpu:.0f} CPU-seconds"
    nb = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    outputs = "".join(str(o) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "Test accuracy: **" in outputs and "Traceback" not in outputs
    fit = [c for c in nb.cells if "model.compile(" in c.source and "model.fit(" in c.source]
    assert len(fit) == 1 and "Epoch 1/20" in str(fit[0].outputs)  # Keras' own log, live
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
                if o.get("name") == "stderr"]  # no TensorFlow log lines on the page
    # No results record written. (tmp_path is also the kernel's $TMPDIR, where the bytecode
    # of the modules TensorFlow's autograph wrote and removed stays in __pycache__.)
    assert sorted(p.name for p in tmp_path.iterdir()) in (["out.ipynb"],
                                                          ["__pycache__", "out.ipynb"])


def test_an_index_that_cannot_be_built_fails_in_one_line_and_keeps_the_old_one(tmp_path):
    """Two runs that differ only in their seeds both fit the same comparison: the summary
    stops (AmbiguousRun), and the user gets one line naming them, not a traceback."""
    from test_summary import record

    from mlplab import params, results

    report_dir = tmp_path / "report"
    entries = []
    for name, seeds in (("three", [0, 1, 2]), ("five", [0, 1, 2, 3, 4])):
        results.write_json_atomic(report_dir / "runs" / f"{name}.json",
                                  record(name, [0.9] * len(seeds), hidden_layers=[50]))
        entries.append(results.ManifestEntry(
            name, params.validate({"run_name": name, "seeds": seeds, "hidden_layers": [50]}),
            results.Status.OK, f"runs/{name}.json", None, None, "key"))
    (report_dir / "index.html").write_text("the last good index")
    with pytest.raises(runner.IndexFailed) as failed:
        runner.build_index(ROOT, report_dir, entries, tmp_path / "no-bench.json", force=True)
    message = str(failed.value)
    assert "AmbiguousRun" in message and "three, five" in message and "\n" not in message
    assert (report_dir / "index.html").read_text() == "the last good index"
