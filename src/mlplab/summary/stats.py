"""Comparing two runs over seeds: the interval, the test, and the words for it.

Runs trained from the same seeds are compared seed by seed (a paired t-interval over the
per-seed differences): with the same seed, the 1-epoch run *is* epoch 1 of the 20-epoch run,
and an early-stopped run follows the full run until it stops, so treating them as independent
would be wrong. Runs with different seeds get Welch's t. Beside each interval stands the
probability that one setting comes out higher than the other on a fresh seed, P(A > B)
(Bouthillier et al., 2021): how often, not only by how much. Every tested comparison a page
states belongs to one of two families, each Holm-adjusted on its own: the original
assignment's claims, and the comparisons this report adds (exploratory).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

from mlplab.results import Status
from mlplab.wording import number, number_interval, pct, plural

ALPHA = 0.05  # two-sided: 95% intervals, and "resolved" means Holm-adjusted p < ALPHA


class FamilyName(StrEnum):
    """The two families of tests: a verdict is corrected only for the tests beside it."""

    CLAIMS = "the assignment's claims"
    EXPLORATORY = "the exploratory comparisons"


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
    higher: float = 0.0  # P(A > B): share of seeds (paired) or seed pairs where a is higher
    higher_low: float = float("nan")  # its exact 95% interval (paired seeds only)
    higher_high: float = float("nan")
    wins: int = 0  # paired seeds on which a is higher ...
    ties: int = 0  # ... and on which the two are equal
    family: FamilyName | None = None  # set by ``Family``
    family_size: int = 0  # tests in that family

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
        family = ("" if self.family is None else
                  f" within {self.family} ({plural(self.family_size, 'test')})"
                  if self.family_size > 1 else f"; the only test of {self.family}")
        return f"{self.method} over {seeds}, {p}{family}"

    def often(self, label_a: str, label_b: str) -> str:
        """How often a comes out higher than b, both named (a sentence that first says b
        wins must not then read as if a did): 'X is higher than Y on 9 of 10 seeds: P(A > B)
        on a fresh seed is about 0.90 (95% interval 0.55 to 1.00).'"""
        verb = "runs longer" if self.metric.startswith("epochs") else "is higher"
        if self.method == Method.SINGLE:
            return ""
        if self.method == Method.WELCH:
            return (f" {label_a} {verb} than {label_b} in a share {self.higher:.2f} of all "
                    f"{self.n_a} × {self.n_b} pairs of seeds: P(A > B) on fresh seeds is about "
                    f"{self.higher:.2f} (unpaired seeds: no interval).")
        tied = f", tied on {self.ties}" if self.ties else ""
        return (f" {label_a} {verb} than {label_b} on {self.wins} of "
                f"{plural(self.n_a, 'seed')}{tied}: P(A > B) on a fresh seed is about "
                f"{self.higher:.2f} (95% interval {self.higher_low:.2f} to "
                f"{self.higher_high:.2f}).")


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def _per_seed(df: pd.DataFrame, run: str, metric: str) -> pd.Series:
    ok = df[(df["run"] == run) & (df["status"] == Status.OK)]
    return ok.set_index("seed")[metric].astype(float)


def probability_higher(d: np.ndarray) -> tuple[float, float, float, int, int]:
    """P(A > B) from per-seed differences ``d``: the share of seeds where a is higher (a tie
    counts half), with the exact (Clopper-Pearson) 95% interval of a binomial proportion,
    each seed one independent trial of 'a is higher'; then the wins and ties counted."""
    from scipy import stats

    n, wins, ties = len(d), int(np.sum(d > 0)), int(np.sum(d == 0))
    k = wins + 0.5 * ties
    low = float(stats.beta.ppf(ALPHA / 2, k, n - k + 1)) if k > 0 else 0.0
    high = float(stats.beta.ppf(1 - ALPHA / 2, k + 1, n - k)) if k < n else 1.0
    return k / n, low, high, wins, ties


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
        higher = probability_higher(d)
    else:
        var_a, var_b = va.var(ddof=1) / len(va), vb.var(ddof=1) / len(vb)
        method, se = Method.WELCH, float(np.sqrt(var_a + var_b))
        dof = ((var_a + var_b) ** 2 / (var_a**2 / (len(va) - 1) + var_b**2 / (len(vb) - 1))
               if se > 0 else len(va) + len(vb) - 2)
        pairs = np.subtract.outer(va.to_numpy(), vb.to_numpy())
        higher = (float(np.mean(pairs > 0) + 0.5 * np.mean(pairs == 0)), np.nan, np.nan, 0, 0)
    if se == 0:  # every seed gave the same difference: nothing to weigh it against
        return Comparison(*head, diff, diff, len(va), len(vb), method, float(diff == 0),
                          None, *higher)
    half = float(stats.t.ppf(1 - ALPHA / 2, dof) * se)
    p = float(2 * stats.t.sf(abs(diff) / se, dof))
    return Comparison(*head, diff - half, diff + half, len(va), len(vb), method, p, None,
                      *higher)


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
    """The comparisons a page states, computed once, in families: those of one family with
    a test (a spread on both sides) are Holm-adjusted together. A single-seed comparison
    has no p-value, so it neither joins a correction nor counts towards its size."""

    def __init__(self, df: pd.DataFrame,
                 pairs: list[tuple[str, str, str]]
                 | dict[FamilyName, list[tuple[str, str, str]]]) -> None:
        self.df = df
        grouped = pairs if isinstance(pairs, dict) else {FamilyName.EXPLORATORY: pairs}
        self.by_key: dict[tuple[str, str, str], Comparison] = {}
        self.families: dict[FamilyName, list[Comparison]] = {}
        for name, keys in grouped.items():
            found = [self.by_key.setdefault(key, compare(df, *key))
                     for key in dict.fromkeys(keys) if key not in self.by_key]
            tested = [c for c in found if c.method != Method.SINGLE]
            if len(tested) > 1:  # one test alone needs no correction
                holm(tested)
            for c in tested:
                c.family, c.family_size = name, len(tested)
            if found:
                self.families[name] = tested
        self.tested = [c for c in self.by_key.values() if c.method != Method.SINGLE]

    @property
    def size(self) -> int:
        """How many comparisons the corrections cover: the tested ones."""
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


# Metrics named in words where their column name would not do.
METRIC_WORDS = {"gap_accuracy": "accuracy gap (training minus validation)",
                "gap_loss": "loss gap (validation minus training)",
                "val_loss": "validation loss", "val_accuracy": "validation accuracy",
                "test_data_loss": "test loss (without the L2 penalty)"}


def metric_words(metric: str) -> str:
    return METRIC_WORDS.get(metric, metric.replace("_", " "))


def fmt(metric: str, value: float) -> str:
    if metric == "gap_accuracy":  # a difference of two accuracies
        return number(100 * value, 1, signed=value < 0) + " points"
    if metric.endswith("accuracy"):
        return pct(value)
    if metric.endswith("seconds"):
        return f"{value:.2f} s"
    if metric.startswith("epochs"):
        return plural(int(value) if float(value).is_integer() else round(value, 1), "epoch")
    return f"{value:.3f}".replace("-", "−")  # a loss gap can be negative: a real minus


def _diff_unit(metric: str) -> tuple[int, str]:
    """Decimals and unit of a difference in ``metric``: points, epochs, seconds or plain."""
    if metric.endswith("accuracy"):
        return 1, " points"
    if metric.startswith("epochs"):
        return 1, " epochs"
    return 2, " s" if metric.endswith("seconds") else ""


def diff_fmt(metric: str, value: float, signed: bool = True, digits: int | None = None) -> str:
    """A difference with its true sign, more decimals where it would round to zero."""
    shown, unit = _diff_unit(metric)
    digits = shown if digits is None else digits
    scale = 100 if metric.endswith("accuracy") else 1
    return number(scale * value, digits, signed) + unit


def interval_fmt(metric: str, low: float, high: float, digits: int | None = None) -> str:
    """'−0.01 to +0.4 points': both ends signed and told apart, so an interval that
    includes zero never reads as one that excludes it."""
    shown, unit = _diff_unit(metric)
    digits = shown if digits is None else digits
    scale = 100 if metric.endswith("accuracy") else 1
    return number_interval(scale * low, scale * high, digits) + unit


def sentence(c: Comparison, label_a: str, label_b: str) -> str:
    """A plain-English statement of a comparison, worded by its test and interval, with
    how often a is higher on one seed and the family its verdict is corrected in."""
    what = "" if c.metric.startswith("epochs") else " " + metric_words(c.metric)
    seeds = plural(c.n_a, "seed") if c.n_a == c.n_b else f"{c.n_a} and {c.n_b} seeds"
    head = (f"{label_a}: {fmt(c.metric, c.mean_a)}{what}; {label_b}: "
            f"{fmt(c.metric, c.mean_b)} (means over {seeds})")
    if c.method == Method.SINGLE:
        return head + ". With a single seed the difference cannot be judged."
    often = c.often(label_a, label_b)
    if c.resolved:  # the difference as winner minus loser, interval included
        winner, sign = (label_a, 1) if c.diff > 0 else (label_b, -1)
        low, high = sorted((sign * c.low, sign * c.high))
        higher = "runs longer" if c.metric.startswith("epochs") else "is higher"
        return (f"{head}. {winner} {higher} by {diff_fmt(c.metric, abs(c.diff), False)} "
                f"(95% interval {interval_fmt(c.metric, low, high)}; {c.how}).{often}")
    caveat = (f" Its interval alone excludes zero, but not once the {c.family_size} tests of "
              f"{c.family} are corrected for (Holm)." if c.interval_excludes_zero
              and c.family_size > 1 else "")
    return (f"{head}. The difference, {diff_fmt(c.metric, c.diff)} (95% interval "
            f"{interval_fmt(c.metric, c.low, c.high)}; {c.how}), is not "
            f"resolved at this number of seeds, which is not the same as no difference."
            + caveat + often)
