"""A warm kernel gives every run what a new kernel would: the same small suite, built with one
warm kernel and with a new kernel per run, gives the same pages, notebooks and records,
timings aside. The warm half is conftest's small report (`mlplab report --jobs 1`; its
suite, ``SMALL_SUITE``, says what each run carries); the fresh half runs on a local Dask
cluster of two workers, as `--jobs 2` does, so the comparison also holds the runs on Dask to
the runs here (the threads a worker's kernel gets must not change a number). The warm kernels
are forked from a server that imported TensorFlow (mlplab/lab/forkserver.py), as a build's
are; the fresh ones are plain new kernels, so forked warm kernels are held to plain new ones.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT

from mlplab.pipeline import experiments, runner

# Record fields that measure time or memory, which no two builds share.
TIMED = {"wall_seconds", "wall_parts", "shown_fit_seconds", "train_seconds_total",
         "train_seconds", "seconds_per_epoch", "epoch_seconds", "started", "finished",
         "peak_memory_mb"}
# Durations on a page: Keras' log ("1s", "12ms/step") and the training times ("2–3 s"); and
# the addresses in objects' plain-text forms ("<Styler at 0x7f...>"), new in every process.
DURATION = re.compile(r"\b\d+(\.\d+)?(–\d+(\.\d+)?)?\s?(s|ms|us|µs)(/step)?\b"
                      r"|\b\d+(\.\d+)? seconds?\b|\bat 0x[0-9a-f]+\b")


def masked(value):
    """``value`` with every timing field replaced, at any depth."""
    if isinstance(value, dict):
        return {k: "<timing>" if k in TIMED else masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def page_text(text: str) -> str:
    return DURATION.sub("<duration>", text)


def notebook_view(text: str) -> list:
    """What a notebook shows: each cell's type, source, execution count and outputs (papermill's
    per-cell timings live in metadata, which is left out)."""
    nb = nbformat.reads(text, as_version=4)
    cells = []
    for cell in nb.cells:
        cell = copy.deepcopy(cell)
        outputs = [json.loads(page_text(json.dumps(o, sort_keys=True, ensure_ascii=False)))
                   for o in cell.get("outputs", [])]
        cells.append((cell.cell_type, cell.source, cell.get("execution_count"), outputs))
    return cells


# The suite's last run repeats `dropout` under another name. A new kernel gives it what it
# gives `dropout` (names and keys aside), so the fresh half leaves it out (a kernel start and
# a run, ~20 CPU-seconds) and the warm repeat is held to the fresh `dropout`, renamed.
REPEAT, ORIGINAL = "dropout-again", "dropout"


def fresh_twin(name: str) -> str:
    """The fresh build's file that stands for the warm build's file ``name``."""
    return name.replace(REPEAT, ORIGINAL)


def as_original(warm: Path, name: str) -> str:
    """The warm build's file ``name`` as text; the repeat's renamed, its keys the original's
    (the driver's hashes of the parameters, the name among them)."""
    text = (warm / name).read_text()
    if not name.startswith(REPEAT):
        return text
    keys = [json.loads((warm / f"{n}.json").read_text()) for n in (REPEAT, ORIGINAL)]
    for field in ("cache_key", "code_key"):
        text = text.replace(keys[0][field], keys[1][field])
    return text.replace(REPEAT, ORIGINAL)


@pytest.fixture(scope="module")
def both_ways(small_report, tmp_path_factory) -> tuple[Path, dict[str, runner.Outcome], Path]:
    """(the warm build's runs folder, the fresh build's outcomes by run, its runs folder)."""
    suite, report_dir, _ = small_report
    runs_dir = tmp_path_factory.mktemp("fresh") / "runs"
    specs = [s for s in experiments.load(suite) if s.name != REPEAT]
    jobs, _ = runner.plan(specs, ROOT, runs_dir, force=True, timeout=900)
    outcomes = {}

    def on_done(outcome):
        runner.land(outcome, runs_dir)
        outcomes[outcome.name] = outcome

    runner.run_jobs(jobs, 2, None, on_done, fresh_kernels=True)
    return report_dir / "runs", outcomes, runs_dir


def test_the_suite_fails_one_run_in_its_kernel_and_runs_the_others(small_report, both_ways):
    _, report_dir, build = small_report
    _, fresh, _ = both_ways
    expected = {"broken": "failed", "dropout": "ok", "mse-l2-fixed-keras-fit-es": "ok"}
    assert {n: o.status for n, o in fresh.items()} == expected
    assert "label 12" in fresh["broken"].error
    manifest = json.loads((report_dir / "manifest.json").read_text())
    assert {e["name"]: e["status"] for e in manifest} == {**expected, REPEAT: "ok"}, \
        build.stderr
    assert "label 12" in next(e["error"] for e in manifest if e["name"] == "broken")


def test_a_dask_cluster_reproduces_the_local_run(both_ways):
    """The seeds' numbers alone: a difference here is Dask's, not the warm kernel's."""
    warm, _, fresh = both_ways
    for name in ("dropout", "mse-l2-fixed-keras-fit-es"):
        local, on_dask = (json.loads((d / f"{name}.json").read_text()) for d in (warm, fresh))
        assert [s["metrics"] for s in on_dask["seeds"]] == \
            [s["metrics"] for s in local["seeds"]], name
        assert [s["history"]["loss"] for s in on_dask["seeds"]] == \
            [s["history"]["loss"] for s in local["seeds"]], name


def test_records_are_the_same_warm_and_fresh(both_ways):
    warm, _, fresh = both_ways
    names = sorted(p.name for p in warm.glob("*.json"))
    assert len(names) == 4
    assert sorted({fresh_twin(n) for n in names}) == sorted(p.name for p in
                                                                 fresh.glob("*.json"))
    for name in names:
        assert masked(json.loads(as_original(warm, name))) == \
            masked(json.loads((fresh / fresh_twin(name)).read_text())), name


def test_pages_and_notebooks_are_the_same_warm_and_fresh(both_ways):
    warm, _, fresh = both_ways
    pages = sorted(p.name for p in warm.glob("*.html"))
    assert len(pages) == 8
    assert sorted({fresh_twin(n) for n in pages}) == sorted(p.name for p in
                                                                 fresh.glob("*.html"))
    for name in pages:
        warm_page = page_text(as_original(warm, name))
        assert warm_page == page_text((fresh / fresh_twin(name)).read_text()), name
    notebooks = sorted(p.name for p in warm.glob("*.ipynb"))
    assert sorted({fresh_twin(n) for n in notebooks}) == sorted(p.name for p in
                                                              fresh.glob("*.ipynb"))
    for name in notebooks:
        assert notebook_view(as_original(warm, name)) == \
            notebook_view((fresh / fresh_twin(name)).read_text()), name


def test_a_warm_kernel_repeats_a_run_exactly(both_ways):
    """The same parameters under another name, after another run in the same kernel."""
    warm, _, _ = both_ways
    first, again = (json.loads((warm / f"{n}.json").read_text())
                    for n in ("dropout", "dropout-again"))
    assert masked(first["seeds"]) == masked(again["seeds"])
    counts = [[c.execution_count for c in nbformat.read(warm / f"{n}.ipynb", 4).cells
               if c.cell_type == "code"] for n in ("dropout", "dropout-again")]
    assert counts[0] == counts[1] == list(range(1, len(counts[0]) + 1))
