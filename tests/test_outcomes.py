"""Each rule that names a network's fate, at its boundary: one value on each side.

The rules are shared by run pages and the index, so a rule moved by a hair
(``<`` for ``<=``, a dropped condition) changes words everywhere; these tests say which rule.
"""

from __future__ import annotations

import math

import pytest

from mlplab import outcomes
from mlplab.outcomes import Kind


def curves(val_loss: list[float], train_loss: list[float] | None = None,
           train_accuracy: list[float] | None = None) -> dict[str, list[float]]:
    n = len(val_loss)
    return {"val_loss": val_loss,
            "loss": train_loss if train_loss is not None else [1.0 - 0.1 * i for i in range(n)],
            "accuracy": train_accuracy if train_accuracy is not None else [0.9] * n,
            "val_accuracy": [0.8] * n}


def classify(test_accuracy: float = 0.9, counts: list[int] | None = None, n_classes: int = 10,
             n_train: int = 0, **history) -> outcomes.Outcome:
    h = curves([0.5, 0.4, 0.3], **history)
    return outcomes.classify(h, [10] * n_classes if counts is None else counts, test_accuracy,
                             n_classes, n_train)


# --- Overfitting, one definition: which measure moved, against seed-to-seed noise -------

def seeds(val_losses: list[list[float]], val_accuracy: float = 0.8) -> list[dict]:
    return [{**curves(v), "val_accuracy": [val_accuracy] * len(v)} for v in val_losses]


def test_a_change_is_a_rise_or_fall_only_when_its_interval_excludes_zero():
    assert outcomes.Change(0, 0, (1.0, 2.0), 1e-12, 3.0).direction == "rose"
    assert outcomes.Change(0, 0, (1.0, 2.0), 0.0, 3.0).direction == "held"
    assert outcomes.Change(0, 0, (-1.0,), -3.0, -1e-12).direction == "fell"
    assert outcomes.Change(0, 0, (-1.0,), -3.0, 0.0).direction == "held"
    assert outcomes.Change(0, 0, (1.0,), math.nan, math.nan).direction is None


def test_the_minimum_is_the_mean_curves_and_changes_are_paired_at_that_epoch():
    g = outcomes.generalisation(seeds([[0.5, 0.3, 0.40, 0.41], [0.5, 0.35, 0.30, 0.45],
                                       [0.5, 0.3, 0.35, 0.40]]))
    assert (g.loss_best_epoch, g.epochs) == (2, 4)  # means 0.5, 0.317, 0.35, 0.42
    assert g.val_loss.per_seed == pytest.approx((0.41 - 0.3, 0.45 - 0.35, 0.40 - 0.3))
    assert g.own_best_epochs == (2, 3, 2)  # each seed's own minimum, reported beside it
    assert g.judged and g.loss_rose and not g.accuracy_fell


def test_noise_as_large_as_the_change_is_no_rise():
    g = outcomes.generalisation(seeds([[0.5, 0.3, 0.5], [0.5, 0.3, 0.29]]))
    assert g.val_loss.direction == "held" and not g.loss_rose


def test_one_seed_early_stopping_and_a_minimum_at_the_end_are_not_judged():
    assert not outcomes.generalisation(seeds([[0.5, 0.3, 0.9]])).judged
    stopped = outcomes.generalisation(seeds([[0.5, 0.3, 0.4], [0.5, 0.3, 0.4, 0.45]]), 10)
    assert stopped.stopped_early and not stopped.judged and not stopped.loss_rose
    ran_all = outcomes.generalisation(seeds([[0.5, 0.3, 0.4], [0.5, 0.3, 0.41]]), 3)
    assert not ran_all.stopped_early and ran_all.loss_rose
    improving = outcomes.generalisation(seeds([[0.5, 0.4, 0.3], [0.5, 0.4, 0.31]]))
    assert improving.still_improving and not improving.judged


def test_the_gap_shows_only_when_every_seed_and_the_interval_are_above_zero():
    def gap(train: list[float]) -> bool:
        histories = [{**curves([0.5, 0.4]), "accuracy": [0.5, a], "val_accuracy": [0.5, 0.8]}
                     for a in train]
        return outcomes.generalisation(histories).gap_shown

    assert gap([0.9, 0.91]) and gap([0.81])
    assert not gap([0.9, 0.8]) and not gap([0.79])
    assert not gap([0.81, 0.99])  # both above, but two seeds this far apart: interval < 0


def test_training_is_unstable_past_twice_its_lowest_value_so_far():
    at_bar = outcomes.training_loss_of(0, [1.0, 0.1, 0.1 * outcomes.UNSTABLE_FACTOR])
    assert not at_bar.unstable and at_bar.rebound_from_epoch == 2
    level = outcomes.training_loss_of(0, [1.0, 0.1, 0.05, 0.1])  # twice 0.05, the low so far
    assert (level.rises, level.falls, level.low_epoch) == (1, 2, 3) and not level.unstable
    assert outcomes.training_loss_of(0, [1.0, 0.1, 0.05, math.nextafter(0.1, 1)]).unstable
    spike = outcomes.training_loss_of(0, [1.0, 0.1, 0.3, 0.05])
    assert spike.unstable and (spike.rebound_epoch, spike.rebound_from_epoch) == (3, 2)


def test_nan_epochs_are_skipped_when_finding_the_minimum():
    g = outcomes.generalisation(seeds([[math.nan, 0.4, 0.5], [0.6, 0.4, 0.5]]))
    assert g.loss_best_epoch == 2 and g.own_best_epochs == (2, 2)


# --- The kinds: diverged, collapsed, did not learn, learned -------------------------------

def test_a_nan_training_loss_is_divergence_whatever_the_accuracy():
    assert classify(0.9, train_loss=[0.5, math.inf, 0.3]).kind == Kind.DIVERGED
    assert classify(0.9, train_loss=[0.5, math.nan, 0.3]).kind == Kind.DIVERGED
    assert classify(0.9).kind == Kind.LEARNED


@pytest.mark.parametrize("counts, kind, to", [
    ([990, 10, 0, 0, 0, 0, 0, 0, 0, 0], Kind.COLLAPSED, (0,)),  # one class, surely over 90%
    ([0, 0, 500, 0, 450, 25, 25, 0, 0, 0], Kind.COLLAPSED, (2, 4)),  # two classes: a fifth
    ([0, 0, 400, 300, 250, 50, 0, 0, 0, 0], Kind.LEARNED, ()),  # three classes cover 95%
    ([880, 80, 10, 10, 10, 10, 0, 0, 0, 0], Kind.COLLAPSED, (0, 1)),  # 88% + the next 8%
    ([900, 100, 0, 0, 0, 0, 0, 0, 0, 0], Kind.LEARNED, ()),  # exactly 90%: not surely over
])
def test_collapse_is_nine_tenths_of_predictions_in_a_fifth_of_the_classes(counts, kind, to):
    o = classify(0.3, counts)
    assert (o.kind, o.collapsed_to) == (kind, to)
    if kind == Kind.COLLAPSED:
        assert o.predicted_share == pytest.approx(sum(counts[c] for c in to) / sum(counts))
        assert o.share_interval[0] >= outcomes.COLLAPSE_SHARE


def test_collapse_needs_the_lower_end_of_its_share_interval_past_nine_tenths():
    """All predictions in one class: collapsed from the first set size whose interval's
    lower end reaches COLLAPSE_SHARE, not before (issue 21)."""
    least = next(n for n in range(1, 200)
                 if outcomes.wilson_interval(n, n)[0] >= outcomes.COLLAPSE_SHARE)
    assert classify(0.1, [least] + [0] * 9).kind == Kind.COLLAPSED
    assert classify(0.1, [least - 1] + [0] * 9).kind != Kind.COLLAPSED


def test_collapse_on_two_classes_is_one_class():
    assert classify(0.5, [950, 50], n_classes=2).kind == Kind.COLLAPSED
    assert classify(0.8, [850, 150], n_classes=2).kind == Kind.LEARNED


def test_below_one_and_a_half_times_chance_is_no_learning_only_when_the_interval_is():
    """'Did not learn' when even the top of the accuracy's interval is below 1.5 × chance;
    'learned' when even its bottom reaches it; between, the verdict is withheld."""
    n, bar = 1500, outcomes.NO_LEARNING_FACTOR / 10
    below = max(c for c in range(n) if outcomes.wilson_interval(c, n)[1] < bar)
    above = min(c for c in range(n) if outcomes.wilson_interval(c, n)[0] >= bar)
    assert classify(below / n, [n // 10] * 10).kind == Kind.NO_LEARNING
    assert classify((below + 1) / n, [n // 10] * 10).kind == Kind.UNJUDGED
    assert classify((above - 1) / n, [n // 10] * 10).kind == Kind.UNJUDGED
    assert classify(above / n, [n // 10] * 10).kind == Kind.LEARNED


# --- Learned only partly, learned then fell back ------------------------------------------

def test_gap_closed_runs_from_chance_to_perfect():
    assert outcomes.gap_closed(0.1, 10) == pytest.approx(0.0)
    assert outcomes.gap_closed(1.0, 10) == pytest.approx(1.0)
    assert outcomes.gap_closed(0.75, 2) == 0.5
    assert math.isnan(outcomes.gap_closed(0.9, 1))


def test_partly_learned_is_less_than_halfway_from_chance():
    # four classes: chance 25%, halfway to perfect 62.5%; 4,000 test images
    n, halfway = 4000, 0.625
    top = max(c for c in range(n) if outcomes.wilson_interval(c, n)[1] < halfway)
    bottom = min(c for c in range(n) if outcomes.wilson_interval(c, n)[0] >= halfway)
    assert classify(top / n, [1000] * 4, n_classes=4).verdict == "learned only partly"
    assert classify((top + 1) / n, [1000] * 4, n_classes=4).verdict == \
        "learned, how far unclear"
    assert classify((bottom - 1) / n, [1000] * 4, n_classes=4).verdict == \
        "learned, how far unclear"
    halfway_up = classify(bottom / n, [1000] * 4, n_classes=4)
    assert not halfway_up.partly_learned and halfway_up.verdict == "learned"
    assert not classify(0.1, [150] * 10).partly_learned  # did not learn: its own case
    unknown = outcomes.Outcome(Kind.LEARNED, 0.2)  # n_classes 0: nothing to compare with
    assert not unknown.partly_learned and unknown.verdict == "learned"
    one_class = outcomes.Outcome(Kind.LEARNED, 0.2, n_classes=1)
    assert not one_class.partly_learned


def test_learned_then_fell_back_needs_a_peak_whose_interval_clears_the_last_epochs():
    """Judged as the test verdicts are: each epoch's training accuracy is a proportion of the
    n_train images it was measured on, and the peak's 95% interval must lie wholly above the
    last epoch's (and past the no-learning bar)."""
    n, final = 1000, 0.5
    low_final, high_final = outcomes.wilson_interval(round(final * n), n)

    def peak_low(k: int) -> float:
        return outcomes.wilson_interval(k, n)[0]

    # the fewest correct images at the peak whose interval clears the last epoch's
    k = next(k for k in range(round(final * n), n + 1) if peak_low(k) > high_final)
    fell = classify(n_train=n, train_accuracy=[0.3, k / n, final])
    assert fell.learned_then_fell_back and fell.peak_epoch == 2
    assert fell.final_train_accuracy == final and fell.n_train == n
    assert not classify(n_train=n, train_accuracy=[0.3, (k - 1) / n, final]
                        ).learned_then_fell_back
    # the same drop measured on ten times the images is sure
    assert classify(n_train=10 * n, train_accuracy=[0.3, (k - 1) / n, final]
                    ).learned_then_fell_back
    # unknown training-set size: never said, however large the fall
    assert not classify(train_accuracy=[0.3, 0.9, 0.1]).learned_then_fell_back
    # the peak's interval must itself clear the no-learning bar (1.5 x chance)
    bar = outcomes.NO_LEARNING_FACTOR / 10
    k = next(k for k in range(n + 1) if peak_low(k) >= bar)
    assert classify(0.1, n_train=n, train_accuracy=[0.0, k / n, 0.0]).learned_then_fell_back
    assert not classify(0.1, n_train=n, train_accuracy=[0.0, (k - 1) / n, 0.0]
                        ).learned_then_fell_back
    assert not outcomes.Outcome(Kind.LEARNED, 0.5, peak_train_accuracy=0.9,
                                final_train_accuracy=0.1, n_classes=1,
                                n_train=n).learned_then_fell_back


def test_no_test_prediction_at_all_cannot_be_judged():
    """Every predicted count zero (an empty test set): no IndexError, and no verdict."""
    o = classify(0.0, counts=[0] * 10)
    assert o.kind == Kind.UNJUDGED and o.n_test == 0 and o.collapsed_to == ()
    assert o.verdict == "could not be judged"
    assert classify(0.0, counts=[]).kind == Kind.UNJUDGED
    # a diverged history still says so: that needs no test image
    assert classify(0.0, counts=[0] * 10, train_loss=[1.0, math.nan, math.nan]).kind == \
        Kind.DIVERGED


def test_peak_is_the_first_best_epoch_and_nan_epochs_are_skipped():
    o = classify(train_accuracy=[math.nan, 0.8, 0.8])
    assert (o.peak_epoch, o.peak_train_accuracy) == (2, 0.8)
    o = classify(train_accuracy=[math.nan] * 3)
    assert o.peak_epoch == 1


def test_of_seeds_reads_each_seed_record():
    seed = {"history": curves([0.5, 0.4]), "metrics": {"test_accuracy": 0.05},
            "test_predicted_counts": [150] * 10}
    no_counts = {"history": curves([0.5, 0.4]), "metrics": {"test_accuracy": 0.9}}
    got = outcomes.of_seeds([seed, no_counts], 10)
    assert [o.kind for o in got] == [Kind.NO_LEARNING, Kind.LEARNED]
    assert got[1].n_classes == 10
    assert got[0].n_test == 1500  # the counts' total is the test set's size
    tiny = {**seed, "test_predicted_counts": [1] * 10}  # 0.05 of 10 images: cannot tell
    assert outcomes.of_seeds([tiny], 10)[0].kind == Kind.UNJUDGED


def test_validation_loss_is_read_without_the_l2_penalty_keras_adds():
    """A validation loss that rises only because the penalty grew is no rise of the data
    loss, the one the misclassified images' losses add up to."""
    histories = seeds([[0.5, 0.3, 0.4], [0.5, 0.3, 0.41], [0.5, 0.3, 0.405]])
    for h in histories:
        h[outcomes.PENALTY] = [0.1, 0.0, h["val_loss"][2] - 0.3]
    g = outcomes.generalisation(histories)
    assert g.penalised and g.loss_best_epoch == 2 and not g.loss_rose
    assert outcomes.loss_sentence(g) == (
        "**Validation loss** (mean over 3 seeds), without the L2 penalty Keras adds to it, was "
        "lowest at epoch 2 (0.300) and is 0.300 at epoch 3 (0%; 95% interval of the mean "
        "change over seeds 0% to 0%): within seed-to-seed noise. Each seed's own lowest "
        "validation loss came at epoch 2; its last value is 0% above that.")
    assert outcomes.generalisation(seeds([[0.5, 0.3, 0.4], [0.5, 0.3, 0.41]])).loss_rose


@pytest.mark.parametrize("values, digits, text", [
    ([0.4, 0.8], 1, "0.4–0.8"),  # all positive: a plain span
    ([7.1, 8.0], 1, "7.1–8.0"),
    ([0.0, 1.0], 1, "0.0 to +1.0"),  # zero is not positive: signed ends, zero unsigned
    ([-0.5, 1.25], 2, "−0.50 to +1.25"),
    ([-0.5, -0.5], 1, "−0.5"),  # one value once
])
def test_a_span_that_reaches_zero_or_below_signs_its_ends(values, digits, text):
    assert outcomes._signed_span(values, digits) == text


@pytest.mark.parametrize("successes, n", [(3, 10), (0, 12), (1, 1), (16, 16), (40, 40), (7, 9)])
def test_the_share_interval_is_wilsons_as_scipy_computes_it(successes, n):
    """scipy's Wilson interval is the oracle; at n of n the upper end is 1, never above it
    (16 of 16 rounds to just over 1 before the clip)."""
    from scipy.stats import binomtest

    ci = binomtest(successes, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = outcomes.wilson_interval(successes, n)
    assert (low, high) == pytest.approx((ci.low, ci.high), abs=1e-12)
    assert 0.0 <= low <= high <= 1.0


def test_no_trials_give_the_whole_unit_interval():
    assert outcomes.wilson_interval(0, 0) == (0.0, 1.0)


def test_each_seed_is_judged_on_its_own_training_set_size():
    """A record's own n_train wins over the run's default (seeds can draw their own split)."""
    seed = {"seed": 0, "metrics": {"test_accuracy": 0.9}, "history": curves([0.5, 0.4, 0.3]),
            "test_predicted_counts": [150] * 10}
    got = outcomes.of_seeds([{**seed, "n_train": 4321}, seed], 10, n_train=1234)
    assert [o.n_train for o in got] == [4321, 1234]
