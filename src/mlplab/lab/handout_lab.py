"""What the classroom handout's exercises and their checks share (runs in the notebook kernel).

The checks in notebooks/handout.ipynb recompute every expected answer from the student's own
run with these functions and mlplab's modules, so an answer passes because it follows the
numbers of that run, never because it matches a value typed in somewhere. TensorFlow is not
imported here; scipy and the summary statistics are imported where they are used.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlplab.wording import join, pct, points

MINUS = "\u2212"

# The handout's classroom rule of thumb (a single number a student can apply by hand):
# validation loss ending more than this (relative) above its minimum while the training
# loss ended below its value at that minimum. The report itself uses no fixed threshold: it
# says which measure moved and by how much over seeds (``mlplab.outcomes.generalisation``).
RISE_TOLERANCE = 0.05
# Below this final training accuracy a network underfits (the handout's own, extra case).
UNDERFIT_TRAIN_ACCURACY = 0.90
DIAGNOSES = ("overfitting", "underfitting", "good fit")


def diagnose(history: dict[str, list[float]]) -> str:
    """'overfitting', 'underfitting' or 'good fit' for one network's learning curves.

    The rule the handout teaches: overfitting when the validation loss at the last epoch is
    more than ``RISE_TOLERANCE`` above its lowest value and the last training loss is below
    the training loss at that lowest point; underfitting when it does not even fit the images
    it trains on (final training accuracy below ``UNDERFIT_TRAIN_ACCURACY``); otherwise a
    good fit.
    """
    val_loss, loss = np.asarray(history["val_loss"]), np.asarray(history["loss"])
    best = int(np.argmin(val_loss))
    if val_loss[-1] > (1 + RISE_TOLERANCE) * val_loss[best] and loss[-1] < loss[best]:
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


UNANSWERED = "(not answered yet)"


def _numbers(value: Any) -> np.ndarray | None:
    """``value`` as a flat array of floats, or None for text and for the ``...`` left in."""
    if value is Ellipsis or isinstance(value, str):
        return None
    try:
        return np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError):
        return None


def fmt(value: Any, digits: int = 4) -> str:
    """A number, or several, rounded for printing ('0.0349'; '1, 2 and 3'); text as it is,
    and '(not answered yet)' for the ``...`` a student has not replaced yet."""
    if value is Ellipsis:
        return UNANSWERED
    numbers = _numbers(value)
    if numbers is None:
        return str(value)
    return join([f"{x:.{digits}g}".replace("-", MINUS) for x in numbers])


def fmt_pct(value: Any) -> str:
    """Accuracies (fractions) as percentages: '92.2%, 92.3% and 92.7%'."""
    numbers = _numbers(value)
    return fmt(value) if numbers is None else join([pct(x) for x in numbers])


def fmt_points(value: Any) -> str:
    """Differences of accuracies (fractions) in percentage points, signed, 2 decimals:
    '−0.20, −0.27 and +0.87 points'; an interval (low, high) as '−1.45 to +1.71 points'."""
    numbers = _numbers(value)
    if numbers is None:
        return fmt(value)
    shown = [points(x, 2, signed=True).removesuffix(" points") for x in numbers]
    text = " to ".join(shown) if isinstance(value, tuple) and len(shown) == 2 else join(shown)
    return f"{text} points"


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
