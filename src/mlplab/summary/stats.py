"""Comparing two runs over seeds: the interval, the test, and the words for it.

Runs trained from the same seeds are compared seed by seed (a paired t-interval over the
per-seed differences): with the same seed, the 1-epoch run *is* epoch 1 of the 20-epoch run,
and an early-stopped run follows the full run until it stops, so treating them as independent
would be wrong. Runs with different seeds get Welch's t. Every tested comparison a page
states belongs to one family whose p-values are Holm-adjusted together.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

from mlplab.results import Status
from mlplab.wording import number, number_interval, pct, plural

ALPHA = 0.05  # two-sided: 95% intervals, and "resolved" means Holm-adjusted p < ALPHA


class Method(StrEnum):
    PAIRED = "paired t"
    WELCH = "Welch t"
    SINGLE = "single seed"


@dataclass
class Comparison:
    """Run ``a`` minus run ``b`` on a metric: mean difference, 95% interval, p-value."""

    a: str
    b: str
    metric: str
    mean_a: float
    mean_b: float
    diff: float
    low: float
    high: float
    n_a: int
    n_b: int
    method: Method
    p: float
    p_adjusted: float | None = None  # set by ``holm`` for the page's family

    @property
    def interval_excludes_zero(self) -> bool:
        return bool(self.low > 0 or self.high < 0)

    @property
    def resolved(self) -> bool:
        return bool((self.p if self.p_adjusted is None else self.p_adjusted) < ALPHA)

    @property
    def how(self) -> str:
        """The method in words: 'paired t over 3 seeds, Holm-adjusted p = 0.020'."""
        if self.method == Method.SINGLE:
            return (f"none: {plural(self.n_a, 'seed')} against {self.n_b}; one seed has no "
                    f"spread to test against")
        seeds = (plural(self.n_a, "seed") if self.method == Method.PAIRED
                 else f"{self.n_a} and {self.n_b} seeds")
        p = (f"Holm-adjusted p {_p(self.p_adjusted)}" if self.p_adjusted is not None
             else f"p {_p(self.p)}")
        return f"{self.method} over {seeds}, {p}"


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def _per_seed(df: pd.DataFrame, run: str, metric: str) -> pd.Series:
    ok = df[(df["run"] == run) & (df["status"] == Status.OK)]
    return ok.set_index("seed")[metric].astype(float)


def compare(df: pd.DataFrame, a: str, b: str, metric: str = "test_accuracy") -> Comparison:
    """``a`` minus ``b``: paired over seeds when both used the same seeds, else Welch."""
    from scipy import stats

    va, vb = _per_seed(df, a, metric), _per_seed(df, b, metric)
    if len(va) == 0 or len(vb) == 0:
        raise KeyError(f"no successful seeds for {a if len(va) == 0 else b!r}")
    diff = float(va.mean() - vb.mean())
    head = (a, b, metric, float(va.mean()), float(vb.mean()), diff)
    if len(va) < 2 or len(vb) < 2:
        return Comparison(*head, -np.inf, np.inf, len(va), len(vb), Method.SINGLE, 1.0)
    if set(va.index) == set(vb.index):
        d = (va - vb.loc[va.index]).to_numpy()
        method, dof, se = Method.PAIRED, len(d) - 1, float(d.std(ddof=1) / np.sqrt(len(d)))
    else:
        var_a, var_b = va.var(ddof=1) / len(va), vb.var(ddof=1) / len(vb)
        method, se = Method.WELCH, float(np.sqrt(var_a + var_b))
        dof = ((var_a + var_b) ** 2 / (var_a**2 / (len(va) - 1) + var_b**2 / (len(vb) - 1))
               if se > 0 else len(va) + len(vb) - 2)
    if se == 0:  # every seed gave the same difference: nothing to weigh it against
        return Comparison(*head, diff, diff, len(va), len(vb), method, float(diff == 0))
    half = float(stats.t.ppf(1 - ALPHA / 2, dof) * se)
    p = float(2 * stats.t.sf(abs(diff) / se, dof))
    return Comparison(*head, diff - half, diff + half, len(va), len(vb), method, p)


def holm(comparisons: list[Comparison]) -> None:
    """Holm's step-down adjustment of comparisons stated together, in place.

    The k-th smallest of m p-values is multiplied by m - k + 1 and kept no smaller than the
    one before: the chance of any false "resolved" on the page stays below ALPHA, with more
    power than Bonferroni's m × p.
    """
    order = sorted(range(len(comparisons)), key=lambda i: comparisons[i].p)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(comparisons) - rank) * comparisons[i].p))
        comparisons[i].p_adjusted = running


class Family:
    """Every comparison one page states, computed once; those with a test (a spread on
    both sides) are Holm-adjusted together. A single-seed comparison has no p-value, so it
    neither joins the correction nor counts towards its size."""

    def __init__(self, df: pd.DataFrame, pairs: list[tuple[str, str, str]]) -> None:
        self.df = df
        self.by_key = {key: compare(df, *key) for key in dict.fromkeys(pairs)}
        self.tested = [c for c in self.by_key.values() if c.method != Method.SINGLE]
        if len(self.tested) > 1:  # one test alone needs no correction
            holm(self.tested)

    @property
    def size(self) -> int:
        """How many comparisons the correction covers: the tested ones."""
        return len(self.tested)

    def get(self, a: str, b: str, metric: str = "test_accuracy") -> Comparison:
        """A comparison of the family; one the page did not declare is an error, since its
        p-value would escape the correction."""
        return self.by_key[(a, b, metric)]


def verdict(c: Comparison, claim_a_greater: bool = True) -> str:
    """'supported', 'contradicted' or 'not resolved' for the claim 'a beats b', or 'not
    tested' when one side has a single seed (no spread, so no test)."""
    if c.method == Method.SINGLE:
        return "not tested (one seed)"
    if not c.resolved:
        return "not resolved"
    return "supported" if (c.diff > 0) == claim_a_greater else "contradicted"


def fmt(metric: str, value: float) -> str:
    if metric.endswith("accuracy"):
        return pct(value)
    if metric.endswith("seconds"):
        return f"{value:.2f} s"
    if metric.startswith("epochs"):
        return plural(int(value) if float(value).is_integer() else round(value, 1), "epoch")
    return f"{value:.3f}"


def _diff_unit(metric: str) -> tuple[int, str]:
    """Decimals and unit of a difference in ``metric``: points, epochs, seconds or plain."""
    if metric.endswith("accuracy"):
        return 1, " points"
    if metric.startswith("epochs"):
        return 1, " epochs"
    return 2, " s" if metric.endswith("seconds") else ""


def diff_fmt(metric: str, value: float, signed: bool = True) -> str:
    """A difference with its true sign, more decimals where it would round to zero."""
    digits, unit = _diff_unit(metric)
    scale = 100 if metric.endswith("accuracy") else 1
    return number(scale * value, digits, signed) + unit


def interval_fmt(metric: str, low: float, high: float) -> str:
    """'−0.01 to +0.4 points': both ends signed and told apart, so an interval that
    includes zero never reads as one that excludes it."""
    digits, unit = _diff_unit(metric)
    scale = 100 if metric.endswith("accuracy") else 1
    return number_interval(scale * low, scale * high, digits) + unit


def sentence(c: Comparison, label_a: str, label_b: str, family_size: int = 0) -> str:
    """A plain-English statement of a comparison, worded by its test and interval."""
    what = "" if c.metric.startswith("epochs") else " " + c.metric.replace("_", " ")
    seeds = plural(c.n_a, "seed") if c.n_a == c.n_b else f"{c.n_a} and {c.n_b} seeds"
    head = (f"{label_a}: {fmt(c.metric, c.mean_a)}{what}; {label_b}: "
            f"{fmt(c.metric, c.mean_b)} (means over {seeds})")
    if c.method == Method.SINGLE:
        return head + ". With a single seed the difference cannot be judged."
    if c.resolved:  # the difference as winner minus loser, interval included
        winner, sign = (label_a, 1) if c.diff > 0 else (label_b, -1)
        low, high = sorted((sign * c.low, sign * c.high))
        higher = "runs longer" if c.metric.startswith("epochs") else "is higher"
        return (f"{head}. {winner} {higher} by {diff_fmt(c.metric, abs(c.diff), False)} "
                f"(95% interval {interval_fmt(c.metric, low, high)}; {c.how}).")
    caveat = (f" Its interval alone excludes zero, but not once the {family_size} comparisons "
              f"on this page are corrected for." if c.interval_excludes_zero
              and family_size > 1 else "")
    return (f"{head}. The difference, {diff_fmt(c.metric, c.diff)} (95% interval "
            f"{interval_fmt(c.metric, c.low, c.high)}; {c.how}), is not "
            f"resolved at this number of seeds, which is not the same as no difference."
            + caveat)
