"""A warm kernel gives every run what a new kernel would: the same small suite, built with one
warm kernel and with a new kernel per run, gives the same pages, notebooks and records,
timings aside. The suite fails a run in its kernel before the good ones; then, in the kernel
started in its place, a run with dropout on the batched path, one that varies what could
leak into the run after it (layer names and sizes, loss, regularisation, the split, Keras'
own fit, early stopping), and the first good run again under another name, which reuses
the batched path's compiled graph.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, kaggle_rows, write_kaggle_csv

from mlplab.pipeline import experiments, runner

SUITE = """\
defaults:
  max_samples: 300
  epochs: 2
  seeds: [0, 1]
runs:
  - name: broken
    dataset: {bad_csv}
  - name: dropout
    hidden_layers: [20]
    dropout: 0.2
  - name: mse-l2-fixed-keras-fit-es
    hidden_layers: [16, 8]
    loss: mean_squared_error
    l2: 0.01
    data_split: fixed
    fast_training: false
    epochs: 3
    early_stopping_patience: 1
    restore_best_weights: true
  - name: dropout-again
    hidden_layers: [20]
    dropout: 0.2
"""
# Four runs each way, not five: a run in a new kernel costs ~10 CPU-seconds. The middle run
# carries what two runs did (loss, penalty, layers and split; Keras' fit and early stopping),
# and the failing run comes first, so the three good runs share the kernel started after
# it: each follows a run of other settings, and the repeat takes the batched path's
# compiled graph that the first run left in the kernel.

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


def notebook_view(path: Path) -> list:
    """What a notebook shows: each cell's type, source, execution count and outputs (papermill's
    per-cell timings live in metadata, which is left out)."""
    nb = nbformat.read(path, as_version=4)
    cells = []
    for cell in nb.cells:
        cell = copy.deepcopy(cell)
        outputs = [json.loads(page_text(json.dumps(o, sort_keys=True, ensure_ascii=False)))
                   for o in cell.get("outputs", [])]
        cells.append((cell.cell_type, cell.source, cell.get("execution_count"), outputs))
    return cells


def build(tmp: Path, suite: Path, fresh: bool) -> tuple[dict[str, dict], Path]:
    specs = experiments.load(suite)
    runs_dir = tmp / ("fresh" if fresh else "warm") / "runs"
    jobs, _ = runner.plan(specs, ROOT, runs_dir, force=True, timeout=600)
    outcomes = {}

    def on_done(outcome):
        runner.land(outcome, runs_dir)
        outcomes[outcome.name] = outcome

    runner.run_jobs(jobs, 1, None, on_done, fresh_kernels=fresh)
    return outcomes, runs_dir


@pytest.fixture(scope="module")
def both_ways(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("warm-kernel")
    labels, pixels = kaggle_rows(n_per_class=4)
    labels[4] = 12  # the kernel's data validation fails this run, in its cell
    bad = write_kaggle_csv(tmp / "bad.csv", labels, pixels)
    suite = tmp / "suite.yaml"
    suite.write_text(SUITE.format(bad_csv=bad))
    return build(tmp, suite, fresh=False), build(tmp, suite, fresh=True)


def test_the_suite_fails_one_run_in_its_kernel_and_runs_the_others(both_ways):
    for outcomes, _ in both_ways:
        assert {n: o.status for n, o in outcomes.items()} == {
            "dropout": "ok", "broken": "failed", "mse-l2-fixed-keras-fit-es": "ok",
            "dropout-again": "ok"}
        assert "label 12" in outcomes["broken"].error


def test_records_are_the_same_warm_and_fresh(both_ways):
    (_, warm), (_, fresh) = both_ways
    names = sorted(p.name for p in fresh.glob("*.json"))
    assert names == sorted(p.name for p in warm.glob("*.json")) and len(names) == 4
    for name in names:
        assert masked(json.loads((warm / name).read_text())) == \
            masked(json.loads((fresh / name).read_text())), name


def test_pages_and_notebooks_are_the_same_warm_and_fresh(both_ways):
    (_, warm), (_, fresh) = both_ways
    pages = sorted(p.name for p in fresh.glob("*.html"))
    assert pages == sorted(p.name for p in warm.glob("*.html")) and len(pages) == 8
    for name in pages:
        warm_page, fresh_page = (page_text((d / name).read_text()) for d in (warm, fresh))
        assert warm_page == fresh_page, name
    for name in sorted(p.name for p in fresh.glob("*.ipynb")):
        assert notebook_view(warm / name) == notebook_view(fresh / name), name


def test_a_warm_kernel_repeats_a_run_exactly(both_ways):
    """The same parameters under another name, after another run in the same kernel."""
    (_, warm), _ = both_ways
    first, again = (json.loads((warm / f"{n}.json").read_text())
                    for n in ("dropout", "dropout-again"))
    assert masked(first["seeds"]) == masked(again["seeds"])
    counts = [[c.execution_count for c in nbformat.read(warm / f"{n}.ipynb", 4).cells
               if c.cell_type == "code"] for n in ("dropout", "dropout-again")]
    assert counts[0] == counts[1] == list(range(1, len(counts[0]) + 1))
