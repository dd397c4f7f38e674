"""`mlplab bench` measures both training paths on the same seeds and writes what the index shows."""

from __future__ import annotations

import json
import time

import pytest

from mlplab import params
from mlplab.lab import bench, data, fitting, multiseed, train
from mlplab.pipeline import cli
from mlplab.summary import tables


@pytest.mark.slow
def test_bench_runs_both_paths_and_the_batched_one_is_faster(tmp_path):
    out = tmp_path / "bench.json"
    seeds = [0, 1]
    start = time.perf_counter()
    assert cli.main(["bench", "--epochs", "3", "--seeds", *map(str, seeds),
                     "--max-samples", "600", "--out", str(out)]) == 0
    wall = time.perf_counter() - start
    result = json.loads(out.read_text())
    base, fast = result["paths"]["keras_default"], result["paths"]["mlplab_fast"]

    # The numbers are those of the two paths themselves, run here independently.
    ds = data.load("mnist-5k")
    prepared = fitting.prepare(ds, data.split(ds, 0.3, 0.3, 600), scale=True)
    p = params.validate({"epochs": 3, "seeds": seeds, "fast_training": False})
    assert [r["test_accuracy"] for r in base["runs"]] == [
        train.fit_seed(p, prepared, s).metrics["test_accuracy"] for s in seeds]
    assert [r["test_accuracy"] for r in fast["runs"]] == [
        r.metrics["test_accuracy"] for r in multiseed.fit_seeds(p, prepared, seeds)]

    # Each regulariser the suite uses is measured on both paths too, from the same seeds.
    assert [r["setting"] for r in result["regularised"]] == list(bench.REGULARISERS)
    measured_regularised = 0.0
    for r in result["regularised"]:
        q = p.replace(**r["setting"])
        assert r["seeds"] == seeds[:bench.REGULARISED_SEEDS]
        assert [x["test_accuracy"] for x in r["paths"]["keras_default"]["runs"]] == [
            train.fit_seed(q, prepared, s).metrics["test_accuracy"] for s in r["seeds"]]
        assert [x["test_accuracy"] for x in r["paths"]["mlplab_fast"]["runs"]] == [
            x.metrics["test_accuracy"] for x in multiseed.fit_seeds(q, prepared, r["seeds"])]
        assert r["test_accuracy_diff_max"] <= 1 / result["n_test"]
        assert f"{r['speedup_per_epoch']:.1f}× faster per epoch" in tables.bench_paragraph(result)
        keras_runs = r["paths"]["keras_default"]["runs"]
        measured_regularised += (sum(x["train_seconds"] for x in keras_runs)
                                 + sum(r["paths"]["mlplab_fast"]["batched_fit_seconds"]))

    # Timing is not double-counted: every measured fit happened inside the command.
    measured = sum(r["train_seconds"] for r in base["runs"]) + sum(fast["batched_fit_seconds"])
    assert measured + measured_regularised < wall
    # Training all seeds in one graph beats one Keras fit per seed, even this small.
    assert result["speedup_per_epoch"] > 2 and result["speedup_total"] > 1
    assert 0 < base["fraction_of_peak"] < fast["fraction_of_peak"] < 1
    assert result["flops_per_sample"] == 6 * 42_310
    assert set(result["overheads_seconds"]) >= {"python_start", "import_tensorflow",
                                                "papermill_empty_notebook", "nbconvert_html"}
    assert result["peak_memory_mb"] > 0
    text = tables.bench_paragraph(result)
    assert f"**{result['speedup_per_epoch']:.1f}× faster per epoch**" in text
    assert f"**{result['speedup_total']:.1f}× faster over the whole fit**" in text


def test_flops_per_sample_counts_forward_and_backward():
    assert bench.flops_per_sample([50, 50], 784, 10) == 253_860
    assert bench.flops_per_sample([50, 50], 64, 3) == 6 * (65 * 50 + 51 * 50 + 51 * 3)
