"""`mlplab bench` measures both training paths on the same seeds and writes what the index shows."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

import pytest
from conftest import BENCH_SEEDS

from mlplab import params
from mlplab.lab import bench, multiseed, train
from mlplab.summary import tables


@pytest.mark.slow
def test_bench_runs_both_paths_and_the_batched_one_is_faster(tmp_path, fits):
    out = tmp_path / "bench.json"
    # More seeds than REGULARISED_SEEDS, and Keras' fit on fewer than the batched path: on
    # one, not bench.KERAS_SEEDS, so the option is seen to be read (each Keras fit costs
    # seconds; test_the_bench_compares_the_seeds_both_paths_trained checks means over
    # several Keras seeds without training).
    seeds, keras_seeds = BENCH_SEEDS, 1
    assert keras_seeds != bench.KERAS_SEEDS
    assert len(seeds) > bench.REGULARISED_SEEDS > 1
    start = time.perf_counter()
    # In a new process, as `make bench` runs it: the bench times TensorFlow's import.
    proc = subprocess.run([sys.executable, "-m", "mlplab.pipeline.cli", "bench", "--epochs",
                           "3", "--seeds", *map(str, seeds), "--keras-seeds", str(keras_seeds),
                           "--max-samples", "600", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    wall = time.perf_counter() - start
    result = json.loads(out.read_text())
    base, fast = result["paths"]["keras_default"], result["paths"]["mlplab_fast"]
    assert result["seeds"] == seeds and result["keras_seeds"] == seeds[:keras_seeds]

    # The numbers are those of the two paths themselves, run here independently (`fits`:
    # the same fits as test_multiseed's comparisons with Keras, made once a session).
    p = params.validate({"epochs": 3, "fast_training": False})
    keras_accuracy = [fits.keras(p, s).metrics["test_accuracy"] for s in seeds[:keras_seeds]]
    fast_accuracy = [r.metrics["test_accuracy"] for r in fits.batched(p, seeds)]
    assert [r["test_accuracy"] for r in base["runs"]] == keras_accuracy
    assert [r["test_accuracy"] for r in fast["runs"]] == fast_accuracy
    # Both paths' mean accuracy is over the same seeds, those both trained.
    assert base["test_accuracy_mean"] == statistics.mean(keras_accuracy)
    assert fast["test_accuracy_mean"] == statistics.mean(fast_accuracy[:keras_seeds])
    assert result["test_accuracy_diff_max"] == max(
        abs(f - k) for f, k in zip(fast_accuracy, keras_accuracy, strict=False))

    # Each regulariser the suite uses is measured on both paths too, from the same seeds:
    # the batched path on the first REGULARISED_SEEDS, Keras' fit on the first of them.
    assert [r["setting"] for r in result["regularised"]] == list(bench.REGULARISERS)
    measured_regularised = 0.0
    for r in result["regularised"]:
        q = p.replace(**r["setting"])
        assert r["seeds"] == seeds[:bench.REGULARISED_SEEDS] and r["keras_seeds"] == seeds[:1]
        assert [x["test_accuracy"] for x in r["paths"]["keras_default"]["runs"]] == [
            fits.keras(q, s).metrics["test_accuracy"] for s in r["keras_seeds"]]
        assert [x["test_accuracy"] for x in r["paths"]["mlplab_fast"]["runs"]] == [
            x.metrics["test_accuracy"] for x in fits.batched(q, r["seeds"])]
        assert r["test_accuracy_diff_max"] <= 1 / result["n_test"]
        assert f"{r['speedup_per_epoch']:.1f}× faster per epoch" in tables.bench_paragraph(result)
        keras_runs = r["paths"]["keras_default"]["runs"]
        measured_regularised += (sum(x["train_seconds"] for x in keras_runs)
                                 + sum(r["paths"]["mlplab_fast"]["batched_fit_seconds"]))

    # Timing is not double-counted: every measured fit, and TensorFlow's import, happened
    # inside the command.
    measured = (sum(r["train_seconds"] for r in base["runs"]) + sum(fast["batched_fit_seconds"])
                + result["overheads_seconds"]["import_tensorflow"])
    assert measured + measured_regularised < wall
    # Training all seeds in one graph beats one Keras fit per seed, even this small.
    assert result["speedup_per_epoch"] > 2 and result["speedup_total"] > 1
    assert 0 < base["fraction_of_peak"] < fast["fraction_of_peak"] < 1
    assert result["flops_per_sample"] == 6 * 42_310
    assert set(result["overheads_seconds"]) >= {"python_start", "import_tensorflow",
                                                "papermill_empty_notebook", "nbconvert_html"}
    assert result["overheads_seconds"]["import_tensorflow"] > 0
    assert result["peak_memory_mb"] > 0
    text = tables.bench_paragraph(result)
    assert f"**{result['speedup_per_epoch']:.1f}× faster per epoch**" in text
    assert f"**{result['speedup_total']:.1f}× faster over the whole fit**" in text

    # This process has imported TensorFlow (above), so its import cannot be timed here.
    with pytest.raises(RuntimeError, match="runs in a new process"):
        bench.run("mnist-5k", [50, 50], 3, seeds, max_samples=600)
    with pytest.raises(params.ParamError, match="--keras-seeds: expected 1 to 4"):
        bench.run("mnist-5k", [50, 50], 3, seeds, keras_seeds=5)


def test_flops_per_sample_counts_forward_and_backward():
    assert bench.flops_per_sample([50, 50], 784, 10) == 253_860
    assert bench.flops_per_sample([50, 50], 64, 3) == 6 * (65 * 50 + 51 * 50 + 51 * 3)


def test_each_batched_fit_the_bench_times_traces_its_own_graph(monkeypatch):
    """The index says the whole-fit speed-up includes graph building, as each Keras fit
    builds its own: so neither timed batched call may reuse a graph traced before it. And
    the Keras fits it compares with run Keras' default loop, one step per call."""
    from types import SimpleNamespace

    found_traced = []

    def result(seed: int) -> SimpleNamespace:
        return SimpleNamespace(seed=seed, metrics={"test_accuracy": 0.9}, train_seconds=1.0,
                               epochs_run=2, history={"epoch_seconds": [0.2, 0.1]})

    def fit_seeds(p, prepared, seeds):
        found_traced.append(bool(multiseed._GRAPHS))
        multiseed._GRAPHS["traced"] = None  # what a real fit leaves behind
        return [result(s) for s in seeds]

    monkeypatch.setattr(multiseed, "_GRAPHS", type(multiseed._GRAPHS)())
    monkeypatch.setattr(multiseed, "fit_seeds", fit_seeds)
    loops = []

    def fit_seed(p, prepared, seed, default_loop=False):
        loops.append(default_loop)
        return result(seed)

    monkeypatch.setattr(train, "fit_seed", fit_seed)
    bench._compare(params.Params(), None, [0, 1], 1, n_train=100, flops=1, peak=1.0)
    assert found_traced == [False, False]
    assert loops == [True]  # the bench's claims are about Keras' default loop


def test_the_bench_compares_the_seeds_both_paths_trained(monkeypatch):
    """What `_compare` makes of the two paths' fits, here stand-ins: Keras' fit on the first
    ``keras_seeds`` seeds; each path's accuracy, and their differences, over those seeds
    alone; the speed-up per epoch from the epochs after the first."""
    from types import SimpleNamespace

    batched, keras = {0: 0.9, 1: 0.8, 2: 0.5, 3: 0.4}, {0: 0.91, 1: 0.78}

    def result(seed: int, accuracy: float, first: float, steady: float) -> SimpleNamespace:
        return SimpleNamespace(seed=seed, metrics={"test_accuracy": accuracy},
                               train_seconds=first + steady, epochs_run=2,
                               history={"epoch_seconds": [first, steady]})

    monkeypatch.setattr(multiseed, "fit_seeds", lambda p, prepared, seeds: [
        result(s, batched[s], 0.2, 0.1) for s in seeds])
    monkeypatch.setattr(train, "fit_seed", lambda p, prepared, seed, default_loop=False:
                        result(seed, keras[seed], 1.5, 0.5))
    out = bench._compare(params.Params(), None, [0, 1, 2, 3], 2, n_train=100, flops=1,
                         peak=1.0)
    base, fast = out["paths"]["keras_default"], out["paths"]["mlplab_fast"]
    assert out["seeds"] == [0, 1, 2, 3] and out["keras_seeds"] == [0, 1]
    assert [r["test_accuracy"] for r in base["runs"]] == [0.91, 0.78]
    assert [r["test_accuracy"] for r in fast["runs"]] == [0.9, 0.8, 0.5, 0.4]
    assert base["test_accuracy_mean"] == pytest.approx(0.845)
    assert fast["test_accuracy_mean"] == pytest.approx(0.85)  # seeds 0 and 1, not all four
    assert base["test_accuracy_sd"] == pytest.approx(statistics.stdev([0.91, 0.78]))
    assert fast["test_accuracy_sd"] == pytest.approx(statistics.stdev([0.9, 0.8]))
    assert out["test_accuracy_diff_max"] == pytest.approx(0.02)
    assert out["test_accuracy_mean_diff"] == pytest.approx((-0.01 + 0.02) / 2)
    assert out["test_accuracy_diff_se"] == pytest.approx(
        statistics.stdev([-0.01, 0.02]) / 2 ** 0.5)
    assert out["speedup_per_epoch"] == pytest.approx(5)


def _bench(keras_seeds: list[int], diffs: list[float]) -> dict:
    """What `mlplab bench` writes, for seeds 0-3 on the batched path and Keras' fit on
    ``keras_seeds``, whose test accuracies differ from the batched ones by ``diffs``."""
    def path(accuracy: list[float]) -> dict:
        return {"train_seconds_mean": 1.0, "seconds_per_epoch": 0.1, "samples_per_second": 1e4,
                "test_accuracy_mean": statistics.mean(accuracy),
                "test_accuracy_sd": statistics.stdev(accuracy) if len(accuracy) > 1 else 0.0,
                "fraction_of_peak": 0.1}

    fast = [0.9, 0.91, 0.92, 0.93][:len(keras_seeds)]  # over the seeds both paths trained
    keras = [f - d for f, d in zip(fast, diffs, strict=True)]
    signed = [f - k for f, k in zip(fast, keras, strict=True)]
    compared = {"keras_seeds": keras_seeds, "speedup_per_epoch": 5.0,
                "test_accuracy_diff_max": max(map(abs, signed)),
                "test_accuracy_mean_diff": sum(signed) / len(signed),
                "test_accuracy_diff_se": 0.0002 if len(signed) > 1 else float("nan")}
    return {"paths": {"keras_default": path(keras), "mlplab_fast": path(fast)},
            "seeds": [0, 1, 2, 3], "seeds_together": 4, "speedup_total": 4.0, "targets": {},
            "n_train": 2450, "dataset": "mnist-5k", "hidden_layers": [50, 50], "batch_size": 32,
            "epochs": 3, "matmul_peak_gflops": 99, "flops_per_sample": 6, "peak_memory_mb": 900,
            "overheads_seconds": {}, **compared,
            "regularised": [{"setting": {"l2": 1e-3}, "seeds": [0, 1, 2], **compared}]}


@pytest.mark.parametrize("keras_seeds", [[0], [0, 1, 2]])
def test_bench_names_the_seeds_each_path_trained_and_compares_those_both_did(keras_seeds):
    both = "seed 0" if len(keras_seeds) == 1 else "seeds 0, 1 and 2"
    text = tables.bench_paragraph(_bench(keras_seeds, [0.0] * len(keras_seeds)))
    assert f"| Keras `fit`, one seed after another ({both}) |" in text
    assert ("| test accuracy, seed 0 |" if len(keras_seeds) == 1 else
            "| test accuracy, mean ± sd over seeds 0, 1 and 2 |") in text
    assert "| mlplab, 4 seeds in one graph (per seed) |" in text
    assert f"seeds 0, 1, 2 and 3 in one graph, {both} also with Keras' `fit`)" in text
    each = "each of " if len(keras_seeds) > 1 else ""
    assert f"test accuracy is identical for {each}{both}, trained on both paths." in text
    assert ("`l2` 0.001, 5.0× faster per epoch (seeds 0, 1 and 2 in one graph; Keras' `fit` "
            f"on {both}) and identical test accuracy for {both}.") in text
    # One seed has no spread to show; several have.
    assert text.count("% ± ") == (2 if len(keras_seeds) > 1 else 0)

    text = tables.bench_paragraph(_bench(keras_seeds, [0.0004] * len(keras_seeds)))
    if len(keras_seeds) == 1:
        assert "test accuracy differs by +0.04 points for seed 0, trained on both paths." in text
        assert "standard error" not in text
        assert "and test accuracy 0.04 points apart for seed 0." in text
    else:
        assert ("test accuracy differs by +0.04 points on average over seeds 0, 1 and 2, "
                "trained on both paths (paired standard error 0.02 points; largest for one "
                "seed 0.04 points).") in text
        assert "and test accuracy at most 0.04 points apart for seeds 0, 1 and 2." in text
    assert "identical" not in text


def test_a_bench_file_from_before_keras_seeds_reads_as_keras_on_every_seed():
    """Until issue 24 Keras' fit trained every seed, and bench.json had no `keras_seeds`."""
    old = _bench([0, 1, 2, 3], [0.0] * 4)
    del old["keras_seeds"], old["regularised"][0]["keras_seeds"]
    text = tables.bench_paragraph(old)
    assert "test accuracy is identical for each of seeds 0, 1, 2 and 3, trained on both" in text
    assert "Keras' `fit` on seeds 0, 1 and 2) and identical test accuracy for seeds 0, 1" in text
