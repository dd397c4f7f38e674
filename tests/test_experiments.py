"""Experiment files from anyone: no escaping report/runs/, no YAML objects, no absurd grids.

Each refusal is checked through the real command line (in-process), with its exact
message, and with a report folder that must be left as it was.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT

from mlplab.pipeline import cli, experiments, runner

MESSAGE_NAME = ("cannot name files in report/runs/: use letters, digits, '.', '_' or '-', "
                "starting with a letter or digit, at most 80 characters")
PLAIN = ("is not allowed: experiment files hold plain values (mappings, lists, strings, "
         "numbers, true/false, null)")


@pytest.fixture
def report(tmp_path: Path) -> Path:
    """A report folder with an earlier build's files in it."""
    report = tmp_path / "report"
    (report / "runs").mkdir(parents=True)
    (report / "index.html").write_text("<p>earlier build</p>")
    (report / "runs/good.html").write_text("<p>a good run</p>")
    return report


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def refuse(tmp_path: Path, report: Path, text: str, capsys, *extra: str) -> str:
    """Run `mlplab report` on ``text``; it must exit 2 with one line and touch nothing."""
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    before = files(tmp_path)
    code = cli.main(["report", "--experiments", str(path), "--report-dir", str(report), *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert files(tmp_path) == before  # nothing written, here or in the report folder
    assert err.endswith("\n") and "\n" not in err[:-1]
    return err[:-1].removeprefix("error: ").removeprefix(f"{path}:")


@pytest.mark.parametrize("name, line, message", [
    ("../x", 3, f"run name '../x' {MESSAGE_NAME}"),
    ("../../../../tmp/evil", 3, f"run name '../../../../tmp/evil' {MESSAGE_NAME}"),
    ("/etc/cron.d/x", 3, f"run name '/etc/cron.d/x' {MESSAGE_NAME}"),
    ("runs/x", 3, f"run name 'runs/x' {MESSAGE_NAME}"),
    (".hidden", 3, f"run name '.hidden' {MESSAGE_NAME}"),
    ("a" * 81, 3, f"run name '{'a' * 81}' {MESSAGE_NAME}"),
    ("x.failed", 3, "run name 'x.failed' ends in '.failed', which mlplab's own file names use "
                    "(a run's failed or student page)"),
    ("x.student", 3, "run name 'x.student' ends in '.student', which mlplab's own file names "
                     "use (a run's failed or student page)"),
])
def test_run_names_cannot_escape_or_collide(tmp_path, report, capsys, name, line, message):
    text = f'runs:\n  - name: ok\n  - name: "{name}"\n'
    assert refuse(tmp_path, report, text, capsys) == f"{line}: {message}"
    assert not (tmp_path / "x").exists() and not Path("/tmp/evil").exists()


def test_a_grid_value_cannot_put_a_path_in_a_name(tmp_path, report, capsys):
    text = 'runs:\n  - name: "d-{dataset}"\n    grid:\n      dataset: [mnist-5k, ../../x.csv]\n'
    assert refuse(tmp_path, report, text, capsys) == f"2: run name 'd-../../x.csv' {MESSAGE_NAME}"


def test_names_differing_only_in_case_are_refused(tmp_path, report, capsys):
    text = "runs:\n  - name: Wide\n  - name: wide\n"
    assert refuse(tmp_path, report, text, capsys) == (
        "3: run names 'Wide' (line 2) and 'wide' differ only in case: their files would be "
        "the same on macOS and Windows disks")


@pytest.mark.parametrize("value, line, tag", [
    ('!!python/object/apply:os.system ["touch {marker}"]', 3,
     "!!python/object/apply:os.system"),
    ("!!python/name:os.system", 3, "!!python/name:os.system"),
    ('!include "other.yaml"', 3, "!include"),
])
def test_yaml_tags_are_refused_with_their_line(tmp_path, report, capsys, value, line, tag):
    marker = tmp_path / "pwned"
    text = f"runs:\n  - name: a\n    epochs: {value.format(marker=marker)}\n"
    assert refuse(tmp_path, report, text, capsys) == f"{line}: YAML tag {tag} {PLAIN}"
    assert not marker.exists()


def test_a_key_given_twice_is_refused(tmp_path, report, capsys):
    text = "runs:\n  - name: a\n    epochs: 1\n    epochs: 20\n"
    assert refuse(tmp_path, report, text, capsys) == (
        "4: not valid YAML (key 'epochs' appears twice in one mapping (first on line 3))")


GRID = """\
defaults:
  seeds: [0]
runs:
  - name: small
  - name: "w{hidden_layers}-e{epochs}-lr{learning_rate}"
    grid:
      hidden_layers: [[1], [2], [3], [4], [5], [6], [7], [8], [9], [10]]
      epochs: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
      learning_rate: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.01]
"""


def test_large_grid_is_counted_and_refused_unless_allowed(tmp_path, report, capsys):
    assert refuse(tmp_path, report, GRID, capsys) == (
        "6: this file expands to 1,001 runs (the grid of 'w{hidden_layers}-e{epochs}-"
        "lr{learning_rate}' alone expands to 10 x 10 x 10 = 1,000 runs), more than 200 (pass "
        "--allow-large to build them anyway)")
    path = tmp_path / "exp.yaml"
    specs = experiments.load(path, allow_large=True)
    assert len(specs) == 1001 and specs[-1].name == "w10-e10-lr0p01"
    assert cli.main(["list", "--experiments", str(path)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == \
        "1,001 runs, 1,001 trainings (one per run and seed)"


def test_absurd_grid_is_refused_before_it_is_expanded(tmp_path, report, capsys):
    values = "[" + ", ".join(str(i) for i in range(1, 101)) + "]"
    text = (f"runs:\n  - name: \"e{{epochs}}-b{{batch_size}}-l{{hidden_layers}}\"\n    grid:\n"
            f"      epochs: {values}\n      batch_size: {values}\n"
            f"      hidden_layers: [{', '.join(f'[{i}]' for i in range(1, 101))}]\n")
    assert refuse(tmp_path, report, text, capsys, "--allow-large") == (
        "3: this file expands to 1,000,000 runs (the grid of 'e{epochs}-b{batch_size}-"
        "l{hidden_layers}' alone expands to 100 x 100 x 100 = 1,000,000 runs); at most "
        "10,000 can be built, even with --allow-large")


def test_many_seeds_count_as_trainings(tmp_path, report, capsys):
    seeds = list(range(60))
    text = f"defaults:\n  seeds: {seeds}\nruns:\n" + "".join(
        f"  - name: r{i}\n    epochs: {i + 1}\n" for i in range(20))
    assert refuse(tmp_path, report, text, capsys) == (
        "3: 20 runs with their seeds make 1,200 trainings, more than 1,000 (pass --allow-large "
        "to build them anyway)")


def test_trainings_are_runs_times_their_seeds(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("defaults:\n  seeds: [0, 1, 2]\nruns:\n  - name: \"m{hidden_layers}\"\n"
                    "    grid:\n      hidden_layers: [[30], [50], [70]]\n")
    specs = experiments.load(path)
    assert [s.name for s in specs] == ["m30", "m50", "m70"]
    assert experiments.count_trainings(specs) == 9


def test_huge_file_is_refused_unread(tmp_path, report, capsys):
    text = "runs:\n  - name: a\n" + "# padding\n" * 100_001
    size = len(text.encode())
    assert refuse(tmp_path, report, text, capsys) == (
        f" {size:,} bytes, too large for an experiment file (at most 1,000,000)")


@pytest.mark.parametrize("jobs_listed", ["as in the file", "reversed"])
def test_workers_take_the_largest_runs_first(jobs_listed):
    """The default suite's one-epoch runs go last, whatever the file's order, and runs of
    equal work keep the file's order; Keras' own loop counts as ten batched seeds."""
    specs = experiments.load(ROOT / "notebooks" / "experiments.yaml")
    if jobs_listed == "reversed":
        specs = specs[::-1]
    jobs = [runner.Job(s.name, s.params, "execute", "", "", "", "", "", "", 1) for s in specs]
    order = [job.name for job in runner.largest_first(jobs)]
    assert sorted(order[-2:]) == ["mlp50-e1", "mlp50x50-e1"]
    equal = [s.name for s in specs if s.params.epochs == 20]
    assert [n for n in order if n in equal] == equal
    slow = specs[0].params.replace(fast_training=False)
    assert runner.expected_work(slow) == 10 * runner.expected_work(specs[0].params)


def test_report_measures_a_missing_bench_beside_the_runs(tmp_path, monkeypatch):
    """`mlplab report --bench` (as `make report` calls it) hands the runner `mlplab bench` to
    run beside the runs when report/bench.json is missing, and nothing when it is there."""
    import sys

    handed = []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(runner, "plan", lambda *args: ([], {}))
    monkeypatch.setattr(runner, "run_jobs", lambda *args, beside, **kw: handed.append(beside))
    monkeypatch.setattr(runner, "manifest", lambda *args: [])
    monkeypatch.setattr(runner, "build_index", lambda *args: False)
    suite = tmp_path / "exp.yaml"
    suite.write_text("runs:\n  - name: a\n")

    def report(*extra: str) -> list:
        assert cli.main(["report", "--experiments", str(suite), *extra]) == 0
        return handed.pop()

    bench = tmp_path / "report" / cli.BENCH_FILE
    assert report("--bench") == [[sys.executable, "-m", "mlplab.pipeline.cli", "bench",
                                  "--out", str(bench)]]
    assert report() == []
    bench.write_text("{}")
    assert report("--bench") == []


def test_a_build_with_only_the_bench_to_run_runs_it_here(tmp_path, monkeypatch):
    """Every run cached and the bench missing, at --jobs 1: the bench runs here and the
    build ends without a run (nor a kernel) to close."""
    import sys

    monkeypatch.chdir(tmp_path)
    runner.run_jobs([], 1, None, lambda outcome: pytest.fail("no run"),
                    beside=[[sys.executable, "-c", "open('benched', 'w').close()"]])
    assert (tmp_path / "benched").exists()
