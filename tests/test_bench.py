"""`mlplab bench` measures both loops on the same seeds and writes what the index shows."""

from __future__ import annotations

import json

import pytest

from mlplab import bench, cli
from mlplab.summary import tables

pytestmark = pytest.mark.slow


def test_bench_compares_loops_side_by_side(tmp_path):
    out = tmp_path / "bench.json"
    assert cli.main(["bench", "--epochs", "2", "--seeds", "0", "--max-samples", "1000",
                     "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    base, fast = result["paths"]["keras_default"], result["paths"]["mlplab_fast"]
    # same updates: the two loops reach the same accuracy from the same seed
    assert result["test_accuracy_diff_max"] < 1e-6
    assert base["test_accuracy_mean"] == pytest.approx(fast["test_accuracy_mean"], abs=1e-6)
    assert result["speedup_per_epoch"] == pytest.approx(
        base["seconds_per_epoch"] / fast["seconds_per_epoch"])
    assert 0 < fast["fraction_of_peak"] < 1 and result["flops_per_sample"] == 6 * 42_310
    assert set(result["overheads_seconds"]) == {"python_start", "import_tensorflow",
                                                "papermill_empty_notebook", "nbconvert_html"}
    assert result["peak_memory_mb"] > 0
    text = tables.bench_paragraph(result)
    assert f"{result['speedup_per_epoch']:.2f}× faster per epoch" in text


def test_flops_per_sample_counts_forward_and_backward():
    assert bench.flops_per_sample([50, 50]) == 253_860
