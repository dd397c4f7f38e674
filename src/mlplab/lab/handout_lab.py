"""What the classroom handout's exercises and their checks share (runs in the notebook kernel).

The checks in notebooks/handout.ipynb recompute every expected answer from the student's own
run with these functions and mlplab's modules, so an answer passes because it follows the
numbers of that run, never because it matches a value typed in somewhere. TensorFlow is not
imported here; scipy and the summary statistics are imported where they are used.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# A validation loss this far above its minimum (relative), while the training loss kept
# falling, is called overfitting; a network below this training accuracy underfits.
OVERFIT_RISE = 0.02
UNDERFIT_TRAIN_ACCURACY = 0.90
DIAGNOSES = ("overfitting", "underfitting", "good fit")


def diagnose(history: dict[str, list[float]]) -> str:
    """'overfitting', 'underfitting' or 'good fit' for one network's learning curves.

    The rule the handout teaches: overfitting when the validation loss at the last epoch has
    risen more than ``OVERFIT_RISE`` above its lowest value while the training loss went on
    falling (the network learns its training images, not digits); underfitting when it does
    not even fit the images it trains on (final training accuracy below
    ``UNDERFIT_TRAIN_ACCURACY``); otherwise a good fit.
    """
    val, train = np.asarray(history["val_loss"]), np.asarray(history["loss"])
    best = int(np.argmin(val))
    if val[-1] > val[best] * (1 + OVERFIT_RISE) and train[-1] < train[best]:
        return "overfitting"
    if history["accuracy"][-1] < UNDERFIT_TRAIN_ACCURACY:
        return "underfitting"
    return "good fit"


def close(value: Any, expected: float, rel: float = 1e-3, abs_: float = 1e-9) -> bool:
    """Whether an answer is a number within ``rel`` (relative) of ``expected``; False for the
    ``...`` a student has not replaced yet, for text and for NaN."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return bool(np.isclose(number, expected, rtol=rel, atol=abs_))


def fmt(value: Any, digits: int = 4) -> str:
    """A number, or a tuple/array of numbers, rounded for printing; anything else (such as
    the ``...`` of an unanswered question) as it is."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return str(value)
    if array.ndim == 0:
        return f"{float(array):.{digits}g}"
    return "(" + ", ".join(f"{x:.{digits}g}" for x in array.ravel()) + ")"


def test_accuracies(experiment: Any) -> np.ndarray:
    """Test accuracy of each seed's network, in the order of the seeds."""
    return np.array([s.metrics["test_accuracy"] for s in experiment.seeds])


def compare_runs(a: Any, b: Any, metric: str = "test_accuracy"):
    """``a`` minus ``b`` over their seeds, exactly as the report's index compares runs
    (paired over shared seeds, Welch otherwise): a ``mlplab.summary.stats.Comparison``."""
    import pandas as pd

    from mlplab.summary.stats import compare

    rows = [{"run": name, "status": "ok", "seed": s.seed, metric: s.metrics[metric]}
            for name, experiment in (("a", a), ("b", b)) for s in experiment.seeds]
    return compare(pd.DataFrame(rows), "a", "b", metric)


def claim_verdict(a: Any, b: Any) -> str:
    """The report's verdict on the claim 'a has the higher test accuracy than b':
    'supported', 'contradicted' or 'not resolved'."""
    from mlplab.summary.stats import verdict

    return verdict(compare_runs(a, b))


def paired_interval(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """95% interval of mean(a - b) from per-seed differences (scipy's paired t-test)."""
    from scipy import stats

    ci = stats.ttest_rel(a, b).confidence_interval(0.95)
    return float(ci.low), float(ci.high)


def welch_interval(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """95% interval of mean(a) - mean(b) for independent samples (scipy's Welch t-test)."""
    from scipy import stats

    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    return float(ci.low), float(ci.high)


def t_multiplier(n_seeds: int) -> float:
    """Student's t quantile for a two-sided 95% interval from ``n_seeds`` values."""
    from scipy import stats

    return float(stats.t.ppf(0.975, n_seeds - 1))
