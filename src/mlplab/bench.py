"""`mlplab bench`: Keras' default training loop against ours, side by side in one process.

Same data, model, seeds, batch size and number of updates; only the loop differs. Also
measures the fixed costs of a report run (TensorFlow import, kernel start, HTML export)
so the time of `make report` can be accounted for.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from mlplab import data as data_mod
from mlplab import params as P
from mlplab import results, train
from mlplab.models import param_count

PATHS = {"keras_default": {"fast_training": False}, "mlplab_fast": {"fast_training": True}}


def flops_per_sample(hidden_layers: list[int]) -> int:
    """Forward (2 per weight) plus backward (4 per weight) multiply-adds, as FLOPs."""
    return 6 * param_count(hidden_layers)


def matmul_peak_gflops(size: int = 2048, repeats: int = 5) -> float:
    """Best float32 matrix-multiply rate here: the attainable arithmetic peak."""
    import tensorflow as tf

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
    """Seconds of each fixed cost of one report run, each in a fresh process."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    out = {"python_start": _timed([sys.executable, "-c", "pass"]),
           "import_tensorflow": _timed([sys.executable, "-c", "import tensorflow"])}
    with tempfile.TemporaryDirectory() as tmp:
        nb = Path(tmp) / "empty.ipynb"
        nbformat.write(new_notebook(cells=[new_code_cell("1 + 1")]), nb)
        out["papermill_empty_notebook"] = _timed(
            [sys.executable, "-m", "papermill", str(nb), str(Path(tmp) / "out.ipynb"),
             "--kernel", "python3", "--no-progress-bar"])
        out["nbconvert_html"] = _timed(
            [sys.executable, "-c", "import sys; from pathlib import Path; from mlplab import html;"
             "html.render(Path(sys.argv[1]), Path(sys.argv[2]), assets_href='assets')",
             str(Path(tmp) / "out.ipynb"), str(Path(tmp) / "out.html")])
    return out


def run(dataset: str, hidden_layers: list[int], epochs: int, seeds: list[int],
        batch_size: int = 32, max_samples: int | None = None) -> dict[str, Any]:
    ds = data_mod.load(dataset)
    split = data_mod.split(ds, 0.3, 0.3, max_samples)
    prepared = train.prepare(ds, split, scale=True)
    n_train = len(split.train)
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in PATHS}
    for seed in seeds:  # interleave the two paths so background load hits both alike
        for name, switch in PATHS.items():
            p = P.validate({"hidden_layers": hidden_layers, "epochs": epochs,
                            "batch_size": batch_size, **switch})
            r = train.fit_seed(p, prepared, seed)
            steady = statistics.median(r.history["epoch_seconds"][1:] or
                                       r.history["epoch_seconds"])
            rows[name].append({"seed": seed, "test_accuracy": r.metrics["test_accuracy"],
                               "train_seconds": r.train_seconds,
                               "first_epoch_seconds": r.history["epoch_seconds"][0],
                               "steady_epoch_seconds": steady})
    peak = matmul_peak_gflops()
    summary = {}
    for name, runs in rows.items():
        epoch_s = statistics.median(r["steady_epoch_seconds"] for r in runs)
        samples_per_s = n_train / epoch_s
        summary[name] = {
            "seconds_per_epoch": epoch_s,
            "samples_per_second": samples_per_s,
            "train_seconds_mean": statistics.mean(r["train_seconds"] for r in runs),
            "test_accuracy_mean": statistics.mean(r["test_accuracy"] for r in runs),
            "fraction_of_peak": samples_per_s * flops_per_sample(hidden_layers) / (peak * 1e9),
            "runs": runs,
        }
    base, fast = summary["keras_default"], summary["mlplab_fast"]
    acc_diff = [f["test_accuracy"] - b["test_accuracy"]
                for f, b in zip(fast["runs"], base["runs"], strict=True)]
    return {
        "dataset": dataset, "n_train": n_train, "n_val": len(split.val),
        "hidden_layers": hidden_layers, "epochs": epochs, "batch_size": batch_size,
        "seeds": seeds, "flops_per_sample": flops_per_sample(hidden_layers),
        "matmul_peak_gflops": peak, "paths": summary,
        "speedup_per_epoch": base["seconds_per_epoch"] / fast["seconds_per_epoch"],
        "speedup_total": base["train_seconds_mean"] / fast["train_seconds_mean"],
        "test_accuracy_diff_max": float(np.max(np.abs(acc_diff))),
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "overheads_seconds": overheads(),
        "env": results.environment(),
        "finished": results.now(),
    }


def table(bench: dict[str, Any]) -> str:
    lines = [f"{bench['dataset']}: {bench['n_train']:,} training rows, "
             f"784-{'-'.join(map(str, bench['hidden_layers']))}-10, batch {bench['batch_size']}, "
             f"{bench['epochs']} epochs, seeds {bench['seeds']}",
             f"{'path':15} {'s/epoch':>8} {'samples/s':>10} {'test acc':>9} {'% of peak':>9}"]
    for name, s in bench["paths"].items():
        lines.append(f"{name:15} {s['seconds_per_epoch']:8.3f} {s['samples_per_second']:10,.0f} "
                     f"{100 * s['test_accuracy_mean']:8.2f}% {100 * s['fraction_of_peak']:8.2f}%")
    lines.append(f"speed-up: {bench['speedup_per_epoch']:.2f}x per epoch (steady state), "
                 f"{bench['speedup_total']:.2f}x whole fit; largest test-accuracy difference "
                 f"between paths, same seed: {100 * bench['test_accuracy_diff_max']:.3f} points")
    lines.append(f"matmul peak {bench['matmul_peak_gflops']:.0f} GFLOP/s; peak memory "
                 f"{bench['peak_memory_mb']:.0f} MB")
    lines.append("fixed costs per run (s): " + ", ".join(
        f"{k} {v:.2f}" for k, v in bench["overheads_seconds"].items()))
    return "\n".join(lines)
