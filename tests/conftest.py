"""Shared fixtures: small, self-written data files and the repository root."""

from __future__ import annotations

import gc
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

# mlplab first, before any test module imports nbformat (see mlplab/__init__.py).
import mlplab as _mlplab  # noqa: F401
from mlplab.pipeline.kernels import FORKS_ENV
from mlplab.pipeline.processes import exit_now

# One TensorFlow and BLAS thread in every process the tests start (kernels, sandboxes, CLI
# drivers inherit it): the two xdist workers already keep both cores busy, where idle threads
# spin (a 50x50 run's ten seeds: 18 CPU-s on two threads, 10.6 on one, the same numbers).
# `mlplab report --jobs 2` gives its kernels one thread each alike (runner.BLAS_THREADS).
os.environ.update(dict.fromkeys(("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS",
                                 "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                 "MKL_NUM_THREADS"), "1"))

# Kernels fork from servers that imported TensorFlow once for the whole session (about 7
# CPU-s saved a kernel; mlplab/lab/forkserver.py), in a folder of this session's, removed at
# its end (the servers then leave). xdist's workers and every process started inherit it.
_FORKS = None
if not os.environ.get(FORKS_ENV):
    _FORKS = os.environ[FORKS_ENV] = tempfile.mkdtemp(prefix="mlkf")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """In an xdist worker, once its tests and fixtures are done: what is left on the heap
    (TensorFlow's, Keras'...) is frozen, so the full collections still to come (pytest's
    search for unraisable exceptions, IPython's shell's reset at exit) skip it (py-spy: ~8 s
    of samples in the two workers), at the run's very end, where the controller waits."""
    if hasattr(session.config, "workerinput"):
        gc.freeze()


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if _FORKS:
        shutil.rmtree(_FORKS, ignore_errors=True)
    if hasattr(config, "workerinput"):  # an xdist worker, its results already sent
        exit_now(0)


ROOT = Path(__file__).resolve().parents[1]

# Fixtures that build something large once per session or module: the classroom kit (a
# nbconvert/otter build, ~30 s), its grading run (every submission executed, ~1 min), the
# key executed once, and a whole report (notebook executions). A test that uses one is slow
# by construction, so it is marked here rather than by hand; `make test-quick` leaves it out.
SLOW_FIXTURES = {"kit", "graded", "key_run", "small_report", "both_ways"}


# `make test` runs the tests on one pytest-xdist worker per core, and each worker builds its
# own copy of a fixture shared by module or session. So the tests that share an expensive
# one go to one worker together: the classroom kit and its runs (test_handout), the small
# report (test_a11y, test_report_e2e, and test_warm_kernel, whose warm half it is), the
# stand-in projects (test_reliability, test_runner), the training tests' fits (test_bench
# reads test_multiseed's, `fits`) with every other test that imports TensorFlow in the
# worker's own process (`training`: test_train, test_shown_code, test_theory and, by name
# in TEST_GROUPS, a few more; the import, ~7 CPU-seconds, is then one worker's, not both),
# the truth cases (test_truth: its warm kernel, once for all six executions),
# test_browser's Chromium and pages (a module's: ~3 CPU-seconds each worker would repeat) and
# test_kernel_forks' plain and forked kernels.
# Every other test goes wherever a worker is free. (xdist's own --dist loadgroup cannot do
# this under pytest 9: it renames node ids by an attribute pytest 9 no longer reads.)
WORKER_GROUPS = {"test_handout.py": "kit", "test_a11y.py": "small-report",
                 "test_report_e2e.py": "small-report", "test_reliability.py": "reliability",
                 "test_runner.py": "runner", "test_warm_kernel.py": "small-report",
                 "test_bench.py": "training", "test_multiseed.py": "training",
                 "test_train.py": "training", "test_shown_code.py": "training",
                 "test_theory.py": "training",
                 "test_truth.py": "truth", "test_browser.py": "browser",
                 "test_kernel_forks.py": "forks"}
# Tests of a grouped module that share only a fixture built once for both workers go to a
# group of their own: the kit (test_handout builds it once a session, the second worker
# reading the first's), so that the key's execution (~1 min, which needs no kit and runs
# first, while the other worker builds it) and the offline install (the wheelhouse and pip,
# 1-2 min) run beside the grading and otter's rather than after them. And the few tests of
# an ungrouped module that import TensorFlow go to `training`.
TEST_GROUPS = {"test_handout.py": dict.fromkeys((
    "test_the_kit_installs_offline_into_a_fresh_venv_from_its_own_files",
    "test_the_keys_answers_pass_every_hidden_check",
    "test_wrong_answers_fail_and_right_answers_in_other_forms_pass",
    "test_q16_reads_what_the_students_own_keras_calls_did"), "kit-key-install"),
    "test_narrative.py": dict.fromkeys((
        "test_worked_example_says_where_this_network_starts",
        "test_worked_example_below_the_clip_gives_the_true_loss_first",
        "test_gradient_table_and_paragraph_agree_and_read_as_prose",
        "test_progress_bar_step_time_is_described_as_keras_computes_it",
        "test_dead_units_are_counted_on_validation_images"), "training"),
    "test_data.py": {"test_real_fashion_mnist_loads_and_trains_one_epoch_on_a_slice":
                     "training"},
    # Builds a network in the worker's own process (the truth cases' pages run in kernels).
    "test_truth.py": {"test_worked_example_is_the_same_untrained_network_every_time":
                      "training"}}
# The groups are handed out longest first (by their time on one worker), then the other
# slow tests and the quick ones last: each worker starts one of the kit's two
# groups (the install's is the longer on a fresh clone, which repacks the wheelhouse), then
# they work through the rest, and the short tests at the end even out when each finishes.
# A group handed out late would leave one worker idle while the other runs it.
LONGEST_FIRST = ("kit-key-install", "kit", "small-report", "training", "reliability",
                 "truth")


def worker_group(nodeid: str) -> str:
    """The tests that must share a worker with this one, by name: its own id if none."""
    path, _, name = nodeid.partition("::")
    module = Path(path).name
    if group := TEST_GROUPS.get(module, {}).get(name.partition("[")[0]):
        return group
    return WORKER_GROUPS.get(module, nodeid)


def handout_rank(item: pytest.Item) -> int:
    """When the scheduler hands this test's group out: lower first (``LONGEST_FIRST``)."""
    group = worker_group(item.nodeid)
    if group in LONGEST_FIRST:
        return LONGEST_FIRST.index(group)
    return len(LONGEST_FIRST) + (1 if item.get_closest_marker("slow") else 2)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log) -> object:
    """xdist's scope scheduler with our groups as its scopes, handed out in the order the
    workers collected them (``pytest_collection_modifyitems`` puts the longest first), not
    largest number of tests first. Relies on pytest-xdist 3.8's ``_split_scope``, which
    tests/test_scheduler.py checks is still used."""
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixtures(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return worker_group(nodeid)

    config.option.loadscopereorder = False
    return SharedFixtures(config, log)


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]):
    """Marks first, before `-m` selects by them; the order last, after pytest's own
    reordering (the tests of one parametrized fixture side by side) and the selection."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    result = yield
    if hasattr(config, "workerinput"):  # an xdist worker: the order its groups go out in
        items.sort(key=handout_rank)  # stable: each group keeps its own order
    _fastest_first_under_mutmut(items)
    return result


def _fastest_first_under_mutmut(items: list[pytest.Item]) -> None:
    """`make mutate` only: the tests that reach a mutant run fastest first, by the times
    mutmut measured (it runs them with -x), so a killed mutant costs its cheapest failing
    test rather than whichever came first. mutmut names the mutant in MUTANT_UNDER_TEST and
    runs from mutants/, where its measurements lie."""
    stats = Path("mutmut-stats.json")
    if "__mutmut_" not in os.environ.get("MUTANT_UNDER_TEST", "") or not stats.exists():
        return
    seconds = json.loads(stats.read_text())["duration_by_test"]
    items.sort(key=lambda item: seconds.get(item.nodeid, float("inf")))


def kaggle_rows(n_per_class: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(10), n_per_class)
    pixels = rng.integers(0, 256, size=(len(labels), 784))
    return labels, pixels


def write_kaggle_csv(path: Path, labels: np.ndarray, pixels: np.ndarray,
                     header: str | None = None) -> Path:
    header = header or "label," + ",".join(f"pixel{i}" for i in range(784))
    lines = [header] + [",".join(map(str, [lab, *row]))
                        for lab, row in zip(labels, pixels, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_idx(folder: Path, images: np.ndarray, labels: np.ndarray, prefix: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    n = len(labels)
    head = (0x803).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in (n, 28, 28))
    with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as fh:
        fh.write(head + images.astype(np.uint8).tobytes())
    with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as fh:
        fh.write((0x801).to_bytes(4, "big") + n.to_bytes(4, "big") +
                 labels.astype(np.uint8).tobytes())


@pytest.fixture
def kaggle_csv(tmp_path: Path) -> Path:
    labels, pixels = kaggle_rows()
    return write_kaggle_csv(tmp_path / "MNIST_train.csv", labels, pixels)


# The seeds `mlplab bench`'s test trains (its batched path on all four, the regularised
# comparisons on the first three, Keras' fit on the first): test_multiseed's comparisons with
# Keras' fit train the same seeds, so the bench's test reads their fits (`fits`).
BENCH_SEEDS = [5, 3, 0, 1]


class Fits:
    """Keras' fit (``train.fit_seed``) and the batched path (``multiseed.fit_seeds``) on
    mnist-5k's 600-image split, each fit once a session: each Keras fit costs ~2 CPU-s of
    tracing whatever it trains, so tests that need the same fit share it (test_multiseed and
    test_bench, one worker group). Fits are deterministic from their seeds, so a shared one
    is the fit a test would make itself; tests only read them."""

    def __init__(self) -> None:
        from mlplab.lab import data, fitting

        ds = data.load("mnist-5k")
        self.prepared = fitting.prepare(ds, data.split(ds, 0.3, 0.3, max_samples=600),
                                        scale=True)
        self._done: dict[tuple, object] = {}
        self.trained = 0  # fits made, not read from an earlier test

    def _once(self, key: tuple, fit):
        if key not in self._done:
            self._done[key] = fit()
            self.trained += 1
        return self._done[key]

    def keras(self, p, seed: int):
        """``train.fit_seed(p, prepared, seed)``."""
        from mlplab.lab import train

        return self._once(("keras", repr(p), seed),
                          lambda: train.fit_seed(p, self.prepared, seed))

    def batched(self, p, seeds: list[int]) -> list:
        """``multiseed.fit_seeds(p, prepared, seeds)``."""
        from mlplab.lab import multiseed

        return self._once(("batched", repr(p), tuple(seeds)),
                          lambda: multiseed.fit_seeds(p, self.prepared, list(seeds)))


@pytest.fixture(scope="session")
def fits() -> Fits:
    return Fits()


SMALL_SUITE = """\
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
# One suite serves the end-to-end, browser and accessibility tests (a run that works,
# `dropout`, and one whose data is bad) and is the warm half of test_warm_kernel's
# comparison: the failing run comes first, so the three good runs share the kernel started
# after it; the middle run carries what could leak into the run after it (loss, penalty,
# layers and split; Keras' fit and early stopping), and the repeat takes the batched path's
# compiled graph that the first good run left in the kernel. A run costs ~10 CPU-seconds in
# a new kernel, so each run here stands for several cases.
# Runs the CLI as `make report` does and fails if the driver imported TensorFlow, or built
# the IRI grammar that jsonschema imports for nbformat (~3 CPU-seconds; see mlplab/__init__).
NO_TF = ("import sys; from mlplab.pipeline import cli; rc = cli.main(sys.argv[1:]); "
         "assert 'tensorflow' not in sys.modules, 'driver imported tensorflow'; "
         "assert sys.modules.get('rfc3987_syntax') is None, 'driver imported rfc3987_syntax'; "
         "sys.exit(rc)")


def mlplab(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", NO_TF, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="session")
def small_report(tmp_path_factory) -> tuple[Path, Path, subprocess.CompletedProcess]:
    """``SMALL_SUITE`` built once per session by `mlplab report` (one warm kernel at a time,
    as `--jobs 1` runs), for the end-to-end, browser, accessibility and warm-kernel tests:
    (suite, report dir, the build)."""
    tmp = tmp_path_factory.mktemp("small-report")
    labels, pixels = kaggle_rows()
    labels[4] = 12  # the kernel's data validation must fail this run
    bad = write_kaggle_csv(tmp / "bad.csv", labels, pixels)
    suite = tmp / "suite.yaml"
    suite.write_text(SMALL_SUITE.format(bad_csv=bad))
    report_dir = tmp / "report"
    first = mlplab("report", "--experiments", str(suite), "--report-dir", str(report_dir),
                   "--jobs", "1")
    return suite, report_dir, first
