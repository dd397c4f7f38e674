"""Every verdict on a network rests on a proportion measured on a finite test set, so each
is tested against the uncertainty of that proportion (issue 21's counter-examples first,
then every count on small and large sets).

The oracle is scipy's binomial test (``binomtest(...).proportion_ci(method="wilson")``), an
implementation independent of ``outcomes.wilson_interval``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest

from mlplab import outcomes
from mlplab.outcomes import Kind

FLAT = {"loss": [1.0, 0.9], "accuracy": [0.5, 0.6], "val_loss": [1.0, 0.9],
        "val_accuracy": [0.5, 0.6]}


def spread(n: int, k: int = 10) -> list[int]:
    """Predictions spread over every class (no collapse): n test images in total."""
    counts = [n // k] * k
    counts[0] += n - sum(counts)
    return counts


def judge(correct: int, n: int, k: int = 10, counts: list[int] | None = None):
    return outcomes.classify(FLAT, counts or spread(n, k), correct / n, k)


def test_the_50_image_run_is_not_said_to_have_not_learned():
    """Issue 21: 2 of 15 test images (13.3%) read 'did not learn' while the same seed reached
    100% training and 63.6% validation accuracy; 15 images cannot tell."""
    o = judge(2, 15)
    assert o.kind == Kind.UNJUDGED and o.verdict == "could not be judged"
    assert o.n_test == 15 and o.correct == 2
    low, high = o.interval
    assert low < 0.10 and high > 0.15
    # The same proportion on 15,000 images (full MNIST's test part is 21,000) is clear.
    assert judge(2000, 15_000).kind == Kind.NO_LEARNING


@pytest.mark.parametrize("n", [12, 15, 30, 105, 450, 1500])
def test_each_verdict_holds_across_its_whole_interval(n):
    """For every count on sets from 12 to 1,500 images: a verdict is given only when the
    95% binomial interval lies on one side of its threshold, and withheld otherwise."""
    k = 10
    bar, halfway = outcomes.NO_LEARNING_FACTOR / k, 1 / k + outcomes.PARTLY_LEARNED_SHARE * (
        1 - 1 / k)
    for correct in range(n + 1):
        o = judge(correct, n, k)
        ci = binomtest(correct, n, 1 / k).proportion_ci(method="wilson")
        assert o.interval == pytest.approx((ci.low, ci.high), abs=1e-9)
        if ci.high < bar:
            assert o.verdict == "did not learn"
        elif ci.low >= bar:
            assert o.kind == Kind.LEARNED
            expected = ("learned" if ci.low >= halfway else "learned only partly"
                        if ci.high < halfway else "learned, how far unclear")
            assert o.verdict == expected, (correct, n)
        else:
            assert o.verdict == "could not be judged", (correct, n)


def test_a_verdict_made_on_few_images_survives_more_images_of_the_same_accuracy():
    """Monotone in the evidence: more test images never turn a verdict into its opposite."""
    for accuracy in np.linspace(0, 1, 41):
        verdicts = [judge(round(accuracy * n), n).verdict for n in (20, 100, 500, 2500)]
        given = [v for v in verdicts if v not in {"could not be judged",
                                                  "learned, how far unclear"}]
        assert len(set(given)) <= 1, (accuracy, verdicts)


@pytest.mark.parametrize("n,expected", [(15, False), (30, False), (40, True), (1500, True)])
def test_collapse_needs_enough_images_to_be_sure(n, expected):
    """A network predicting one class for every image is called collapsed only when the
    lower end of that share's interval is at least COLLAPSE_SHARE."""
    counts = [n] + [0] * 9
    o = outcomes.classify(FLAT, counts, 0.1, 10)
    lower = binomtest(n, n).proportion_ci(method="wilson").low
    assert (lower >= outcomes.COLLAPSE_SHARE) == expected
    assert (o.kind == Kind.COLLAPSED) == expected
    if not expected:
        assert o.kind in {Kind.UNJUDGED, Kind.NO_LEARNING}


def test_divergence_is_an_observation_whatever_the_set_size():
    nan = {**FLAT, "loss": [1.0, math.nan]}
    for n in (15, 1500):
        assert outcomes.classify(nan, spread(n), 0.1, 10).kind == Kind.DIVERGED


def test_every_verdict_is_listed_for_the_index():
    kinds = {Kind(k) for k in Kind}
    assert {v for v in outcomes.VERDICTS} >= {k.value for k in kinds}
    assert {"learned only partly", "learned, how far unclear"} <= set(outcomes.VERDICTS)
    assert len(set(outcomes.VERDICTS)) == len(outcomes.VERDICTS)


def test_steps_per_epoch_counts_the_partial_batch():
    assert outcomes.steps_per_epoch(2450, 32) == 77
    assert outcomes.steps_per_epoch(20_580, 32) == 644  # the assignment's epoch
    assert outcomes.steps_per_epoch(2450, 512) == 5
