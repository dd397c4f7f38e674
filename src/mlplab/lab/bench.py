"""`mlplab bench`: Keras' default `fit`, one seed at a time, against all seeds trained
together in one compiled graph (`multiseed`), side by side in one process.

Same data, network, seeds, initial weights, batches and updates: a seed's test accuracy
should agree between the paths up to float rounding, which the output shows for the seeds
both paths trained. Keras' `fit` trains only the first few seeds: its time per seed is the
same from seed to seed, and it is most of the bench's cost. Also measures the start-up
costs of a report's workers (TensorFlow import, kernel start, HTML export, each paid once
per worker: its kernel and exporter stay warm from run to run) so the time of
`make report` can be accounted for.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from mlplab import params as P
from mlplab import results
from mlplab.lab import data as data_mod
from mlplab.lab import fitting, record, train
from mlplab.lab.models import param_count

# What issue 14 asks of `make bench` on the default data (mnist-5k).
TARGETS = {"speedup_total": 3.0, "speedup_per_epoch": 4.0}
# How many of the seeds Keras' fit trains (the first ones; the batched path trains them all,
# as a run does): one seed's Keras fit costs about what ten batched seeds cost (issue 24).
KERAS_SEEDS = 2
# The regularisers the default suite trains on the batched path, each also compared with
# Keras' fit: the batched path on the first REGULARISED_SEEDS seeds, Keras' fit on the first
# of them (the plain comparison already measures the speed-up well).
REGULARISERS = ({"l2": 1e-3}, {"dropout": 0.5})
REGULARISED_SEEDS = 3


def flops_per_sample(hidden_layers: list[int], n_inputs: int, n_classes: int) -> int:
    """Forward (2 per weight) plus backward (4 per weight) multiply-adds, as FLOPs."""
    return 6 * param_count(hidden_layers, n_inputs, n_classes)


def matmul_peak_gflops(size: int = 2048, repeats: int = 5) -> float:
    """Best float32 matrix-multiply rate here: the attainable arithmetic peak."""
    from mlplab.lab.backend import tensorflow

    tf = tensorflow()  # imported quietly: no start-up log lines on the terminal

    a = tf.random.normal((size, size))
    tf.linalg.matmul(a, a).numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        tf.linalg.matmul(a, a).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def _timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    return time.perf_counter() - start


def overheads() -> dict[str, float]:
    """Seconds of the start-up costs of a report's worker that `run` cannot measure in its
    own process, each in a fresh one."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    out = {"python_start": _timed([sys.executable, "-c", "pass"])}
    with tempfile.TemporaryDirectory() as tmp:
        nb = Path(tmp) / "empty.ipynb"
        nbformat.write(new_notebook(cells=[new_code_cell("1 + 1")]), nb)
        out["papermill_empty_notebook"] = _timed(
            [sys.executable, "-m", "papermill", str(nb), str(Path(tmp) / "out.ipynb"),
             "--kernel", "python3", "--no-progress-bar"])
        out["nbconvert_html"] = _timed(
            [sys.executable, "-c", "import sys; from pathlib import Path; "
             "from mlplab.pipeline import html; "
             "html.render(Path(sys.argv[1]), Path(sys.argv[2]), assets_href='assets')",
             str(Path(tmp) / "out.ipynb"), str(Path(tmp) / "out.html")])
    return out


def _steady(epoch_seconds: list[float]) -> float:
    """Median epoch time after the first (which includes tracing the graph)."""
    return statistics.median(epoch_seconds[1:] or epoch_seconds)


def _path_summary(runs: list[dict[str, Any]], compared: int, n_train: int, flops: int,
                  peak: float) -> dict[str, Any]:
    """Times over all ``runs``; test accuracy over the first ``compared``, the seeds both
    paths trained, so that the two paths' means are of the same seeds."""
    epoch_s = statistics.median(r["steady_epoch_seconds"] for r in runs)
    accuracy = [r["test_accuracy"] for r in runs[:compared]]
    return {
        "seconds_per_epoch": epoch_s,
        "samples_per_second": n_train / epoch_s,
        "train_seconds_mean": statistics.mean(r["train_seconds"] for r in runs),
        "test_accuracy_mean": statistics.mean(accuracy),
        "test_accuracy_sd": statistics.stdev(accuracy) if len(accuracy) > 1 else 0.0,
        "epochs_run_mean": statistics.mean(r["epochs_run"] for r in runs),
        "fraction_of_peak": n_train / epoch_s * flops / (peak * 1e9),
        "runs": runs,
    }


def _row(r: fitting.SeedResult) -> dict[str, Any]:
    return {"seed": r.seed, "test_accuracy": r.metrics["test_accuracy"],
            "train_seconds": r.train_seconds, "epochs_run": r.epochs_run,
            "first_epoch_seconds": r.history["epoch_seconds"][0],
            "steady_epoch_seconds": _steady(r.history["epoch_seconds"])}


def _compare(p: P.Params, prepared: fitting.Prepared, seeds: list[int], keras_seeds: int,
             n_train: int, flops: int, peak: float) -> dict[str, Any]:
    """The batched path on ``seeds``, Keras' fit on the first ``keras_seeds`` of them; the
    batched one twice, before and after the Keras seeds, so that background load and warm
    caches affect both alike (its times are the mean of the two calls). A seed's share of
    the batched fit is the call's wall time divided by the number of seeds (and per epoch
    likewise), which is what the speed-ups compare with one Keras fit; test accuracy is
    compared seed by seed on the seeds both trained."""
    from mlplab.lab import multiseed

    def batched() -> tuple[float, list[fitting.SeedResult]]:
        multiseed.forget_graphs()  # each call traces its graph, as Keras' fit does per seed
        start = time.perf_counter()
        results = multiseed.fit_seeds(p, prepared, seeds)
        return time.perf_counter() - start, results

    wall_before, fast_results = batched()
    keras_rows = [_row(train.fit_seed(p, prepared, seed, default_loop=True))
                  for seed in seeds[:keras_seeds]]
    wall_after, again = batched()
    fast_rows = [_row(r) for r in fast_results]
    for row, other in zip(fast_rows, again, strict=True):
        if row["test_accuracy"] != other.metrics["test_accuracy"]:
            raise RuntimeError("the batched path gave other numbers on the same seeds")
        row["train_seconds"] = (wall_before + wall_after) / 2 / len(seeds)
        row["steady_epoch_seconds"] = (row["steady_epoch_seconds"]
                                       + _steady(other.history["epoch_seconds"])) / 2
    summary = {"keras_default": _path_summary(keras_rows, keras_seeds, n_train, flops, peak),
               "mlplab_fast": _path_summary(fast_rows, keras_seeds, n_train, flops, peak)}
    summary["mlplab_fast"]["batched_fit_seconds"] = [wall_before, wall_after]
    base, fast = summary["keras_default"], summary["mlplab_fast"]
    diffs = [f["test_accuracy"] - b["test_accuracy"]
             for f, b in zip(fast_rows[:keras_seeds], keras_rows, strict=True)]
    return {
        "seeds": seeds, "keras_seeds": seeds[:keras_seeds], "paths": summary,
        "speedup_per_epoch": base["seconds_per_epoch"] / fast["seconds_per_epoch"],
        "speedup_total": base["train_seconds_mean"] / fast["train_seconds_mean"],
        "test_accuracy_diff_max": float(np.max(np.abs(diffs))),
        "test_accuracy_mean_diff": statistics.mean(diffs),
        "test_accuracy_diff_se": (statistics.stdev(diffs) / len(diffs) ** 0.5
                                  if len(diffs) > 1 else float("nan")),
    }


def run(dataset: str, hidden_layers: list[int], epochs: int, seeds: list[int],
        batch_size: int = 32, max_samples: int | None = None,
        keras_seeds: int = KERAS_SEEDS) -> dict[str, Any]:
    """Keras' ``fit`` with its defaults, one seed after another on the first ``keras_seeds``
    seeds, against all seeds in one graph (``multiseed.fit_seeds``): same data, network,
    seeds, batch size and updates; then the same for each of ``REGULARISERS`` (see
    ``REGULARISED_SEEDS``), since the default suite trains its regularised runs on the
    batched path too. Runs in a process that has not imported TensorFlow yet, whose
    import it times first, as a worker's kernel pays it."""
    from mlplab.lab import multiseed
    from mlplab.lab.backend import tensorflow

    if not 1 <= keras_seeds <= len(seeds):
        raise P.ParamError(f"--keras-seeds: expected 1 to {len(seeds)} (the number of seeds), "
                           f"got {keras_seeds}")
    if "tensorflow" in sys.modules:
        raise RuntimeError("the bench times TensorFlow's import, so it runs in a new process "
                           "(`mlplab bench`), not in one that imported TensorFlow already")
    start = time.perf_counter()
    tensorflow()
    import_seconds = time.perf_counter() - start

    ds = data_mod.load(dataset)
    split = data_mod.split(ds, 0.3, 0.3, max_samples)
    prepared = fitting.prepare(ds, split, scale=True)
    n_train = len(split.train)
    p = P.validate({"hidden_layers": hidden_layers, "epochs": epochs, "batch_size": batch_size,
                    "seeds": seeds, "fast_training": False})
    # One tiny fit of each path first: TensorFlow's one-off start-up in this process (first
    # graph ever traced, thread pools) then counts against neither path.
    tiny = fitting.prepare(ds, data_mod.split(ds, 0.3, 0.3, 200), scale=True)
    train.fit_seed(p.replace(epochs=1), tiny, seeds[0], default_loop=True)
    multiseed.fit_seeds(p.replace(epochs=1), tiny, seeds[:1])

    peak = matmul_peak_gflops()
    flops = flops_per_sample(hidden_layers, prepared.n_inputs, prepared.n_classes)
    plain = _compare(p, prepared, seeds, keras_seeds, n_train, flops, peak)
    regularised = [{"setting": setting,
                    **_compare(p.replace(**setting), prepared, seeds[:REGULARISED_SEEDS], 1,
                               n_train, flops, peak)}
                   for setting in REGULARISERS]
    return {
        "dataset": dataset, "n_train": n_train, "n_val": len(split.val),
        "n_test": len(split.test), "hidden_layers": hidden_layers, "epochs": epochs,
        "batch_size": batch_size, "seeds_together": len(seeds),
        "flops_per_sample": flops, "matmul_peak_gflops": peak, **plain,
        "regularised": regularised,
        "targets": TARGETS if dataset == "mnist-5k" else {},
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        # The conditions: TensorFlow's threads (a build's workers share the cores, and a
        # missing bench is measured on one of them beside the runs) and the machine's load.
        "tensorflow_threads": tensorflow().config.threading.get_intra_op_parallelism_threads()
        or int(os.environ.get("TF_NUM_INTRAOP_THREADS") or 0) or os.cpu_count(),
        "cores": os.cpu_count(), "load_average": os.getloadavg()[0],
        "overheads_seconds": {"import_tensorflow": import_seconds, **overheads()},
        "env": record.environment(),
        "finished": results.now(),
    }
