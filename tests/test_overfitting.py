"""One definition of overfitting, read from synthetic curves, without training.

Each case is a counter-example from issue 20 that the old wording got wrong (a fixed 5% rise
of validation loss, judged at the last epoch only): a large rise called "within 5%", a
training loss that rose again called "keeps falling", a loss rise called overfitting while
accuracy held, a 100%-vs-45% gap called "no sign of overfitting", and early stopping's
curves called "no clear overfitting" by construction. Every sentence that says "overfit" must
name the measure it rests on.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from mlplab import outcomes, params
from mlplab.lab import alt_text, narrative

DIGITS = tuple(str(d) for d in range(10))
OLD_WORDING = ("no clear overfitting", "within 5%", "keeps falling", "no sign of overfitting")


def seed_record(seed: int, history: dict, accuracy: float = 0.9) -> dict:
    return {"seed": seed, "metrics": {"test_accuracy": accuracy}, "history": history,
            "test_predicted_counts": [150] * 10}


def history(loss, val_loss, accuracy, val_accuracy, wrong_loss=None, wrong_conf=None) -> dict:
    h = {"loss": list(map(float, loss)), "val_loss": list(map(float, val_loss)),
         "accuracy": list(map(float, accuracy)), "val_accuracy": list(map(float, val_accuracy))}
    if wrong_loss is not None:
        h["val_loss_wrong"] = list(map(float, wrong_loss))
        h["val_confidence_wrong"] = list(map(float, wrong_conf))
    return h


def loss_up_accuracy_holds(seed: int, epochs: int = 20, rise: float = 0.07) -> dict:
    """Validation loss lowest at epoch 8 then rising; validation accuracy creeping up; the
    misclassified images' loss and confidence growing (finding 3)."""
    rng = np.random.default_rng(seed)
    e = np.arange(1, epochs + 1)
    val_loss = 0.31 + 0.02 * np.maximum(8 - e, 0) + rise * np.maximum(e - 8, 0) / (epochs - 8)
    val_acc = 0.9106 + 0.0003 * (e - 8) + rng.normal(0, 0.0005, epochs)
    err = 1 - val_acc
    right = 0.05 * np.ones(epochs)
    wrong = (val_loss - (1 - err) * right) / err  # so that the decomposition is exact
    return history(1 / e, val_loss + rng.normal(0, 0.002, epochs),
                   np.minimum(0.989, 0.85 + 0.01 * e), val_acc,
                   wrong, 0.70 + 0.01 * np.maximum(e - 8, 0))


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.:])\s+(?=[A-Z*])", text) if s]


def names_its_measure(text: str) -> None:
    for s in sentences(text):
        if "overfit" in s.lower():
            assert re.search(r"loss|accuracy|gap", s), s


def paragraph(records: list[dict], **overrides) -> str:
    longest = max(len(r["history"]["loss"]) for r in records)
    p = params.validate({"seeds": [r["seed"] for r in records], "epochs": longest, **overrides})
    text = narrative.learning_paragraph(p, records, DIGITS)
    for old in OLD_WORDING:
        assert old not in text, old
    names_its_measure(text)
    return text


def test_finding_1_each_seeds_own_rise_is_reported_not_called_within_5_percent():
    """Seed 4 of mlp50x50-e20-raw: validation loss 2.226 -> 2.988 (+34%)."""
    records = []
    for seed, (low, last) in enumerate([(2.226, 2.988), (1.924, 2.064), (1.9, 1.91)]):
        e = np.arange(1, 21)
        val = np.where(e <= 8, low + 0.1 * (8 - e), low + (last - low) * (e - 8) / 12)
        records.append(seed_record(seed, history(
            np.r_[np.linspace(3, 0.5, 10), np.linspace(0.5, 0.6, 10)], val,
            np.full(20, 0.95), np.full(20, 0.85))))
    text = paragraph(records)
    assert "its last value is 1%–34% above that" in text
    assert "Each seed's own lowest validation loss came at epoch 8" in text


def test_finding_2_a_training_loss_that_rose_again_is_not_keeps_falling():
    """Seed 9 of mlp50x50-e20-raw: training loss 0.042 at epoch 17, 0.172 at epoch 20."""
    loss = list(np.linspace(1.0, 0.05, 16)) + [0.042, 0.09, 0.13, 0.172]
    e = np.arange(1, 21)
    h = history(loss, 0.3 + 0.01 * np.abs(e - 8), np.full(20, 0.97), np.full(20, 0.9))
    text = paragraph([seed_record(9, h)])
    assert "did not fall in every epoch" in text
    assert ("It ended above its lowest value for seed 9 (lowest at epoch 17; last value 310% "
            "above it)") in text
    assert "Training was unstable for seed 9" in text and "4.1× its low at epoch 17, at " \
        "epoch 20" in text


def test_a_steady_training_loss_is_said_to_fall_in_every_epoch_only_when_it_does():
    e = np.arange(1, 11)
    steady = history(1 / e, 1 / e, 0.5 + 0.04 * e, 0.5 + 0.03 * e)
    assert "fell in every epoch, for seed 0" in paragraph([seed_record(0, steady)])
    bumped = {**steady, "loss": list(1 / e)[:5] + [0.21] + list(1 / e)[6:]}
    text = paragraph([seed_record(0, bumped)])
    assert "fell in every epoch" not in text
    # "changes", not "steps", which on these pages are optimiser updates (review finding 17)
    assert "it rose once in the 9 changes from one epoch to the next" in text
    assert "unstable" not in text


@pytest.mark.parametrize("epochs", [2, 5, 12])
def test_training_loss_sentence_matches_the_whole_curve(epochs):
    """Property: 'fell in every epoch' exactly when no epoch's training loss rose, and the
    count of rises is the curve's own, whatever the curve."""
    rng = np.random.default_rng(epochs)
    for trial in range(30):
        loss = np.exp(np.cumsum(rng.normal(-0.2, 0.3 if trial % 2 else 0.01, epochs)))
        e = np.arange(1, epochs + 1)
        h = history(loss, 1 / e, np.full(epochs, 0.9), np.full(epochs, 0.85))
        text = narrative.training_loss_sentence([seed_record(0, h)])
        rises = int(np.sum(np.diff(loss) > 0))
        assert ("fell in every epoch" in text) == (rises == 0)
        if rises:
            assert f"it rose {narrative.times(rises)} in" in text
            shape = outcomes.training_loss_of(0, list(loss))
            assert ("unstable" in text) == (shape.rebound > outcomes.UNSTABLE_FACTOR)


def test_finding_3_loss_rising_while_accuracy_holds_is_overfitting_in_loss_only():
    records = [seed_record(s, loss_up_accuracy_holds(s)) for s in range(10)]
    text = paragraph(records)
    assert "**Overfitting in loss, not in accuracy**: after epoch 8 validation loss rose" in text
    assert "**Overfitting**" not in text
    g = outcomes.generalisation([r["history"] for r in records], 20)
    assert g.loss_rose and not g.accuracy_fell
    # The explanation, in the run's own numbers: confidence on the wrong images grew.
    assert "from 0.700 to 0.820: it grew more confident in its wrong answers" in text
    wrong_start = g.error_rate.start * g.wrong_loss.start
    assert f"The misclassified images contribute {wrong_start:.3f}" in text
    # The contributions add up to the mean validation loss at both epochs.
    right_start = g.val_loss.start - wrong_start
    assert f"the correctly classified ones {right_start:.3f}" in text
    assert right_start == pytest.approx(0.05 * (1 - g.error_rate.start), abs=2e-3)


def test_loss_and_accuracy_both_moving_is_overfitting_by_both_measures():
    records = []
    for s in range(6):
        h = loss_up_accuracy_holds(s)
        e = np.arange(1, 21)
        h["val_accuracy"] = list(0.91 - 0.002 * np.maximum(e - 8, 0) + 0.0005 * s)
        records.append(seed_record(s, h))
    text = paragraph(records)
    assert "**Overfitting, by both measures**" in text and "Why loss and accuracy" not in text


def test_flat_curves_claim_no_overfitting():
    records = [seed_record(s, history(np.full(10, 0.2), np.full(10, 0.3 + 0.01 * s),
                                      np.full(10, 0.95), np.full(10, 0.9 - 0.01 * s)))
               for s in range(8)]
    text = paragraph(records)
    assert ("**No rise in validation loss and no fall in validation accuracy after epoch 1** "
            "beyond seed-to-seed noise; the overfitting these curves show is the gap above.") \
        in text
    assert "fell in every epoch" not in text and "did not fall in every epoch" not in text
    assert "The training loss did not change from epoch to epoch" in text


def test_finding_4_the_gap_is_reported_whatever_the_loss_ratio():
    """mlp30-e20: ~98.9% training against ~91% validation for all ten seeds, whatever each
    seed's loss ratio (1.012-1.055)."""
    records = []
    for s, ratio in enumerate(np.linspace(1.012, 1.055, 10)):
        e = np.arange(1, 21)
        val = np.where(e <= 10, 0.3 + 0.01 * (10 - e), 0.3 * (1 + (ratio - 1) * (e - 10) / 10))
        records.append(seed_record(s, history(1 / e, val, np.full(20, 0.989),
                                              np.full(20, 0.91) + 0.001 * s)))
    text = paragraph(records)
    assert ("**Generalisation gap** (training minus validation): at the last epoch, training "
            "accuracy is 98.9% against 91.0%–91.9% on validation, a gap of 7.0–7.9 points") in text
    assert "the gap is what overfitting means" in text


def test_finding_4_a_tiny_training_set_shows_its_gap_while_loss_still_falls():
    """max_samples 50: 100% training against 36-55% validation accuracy."""
    records = []
    for s, val_acc in enumerate([0.36, 0.45, 0.55]):
        e = np.arange(1, 21)
        records.append(seed_record(s, history(1 / e, 2.3 - 0.03 * e, np.full(20, 1.0),
                                              np.full(20, val_acc)), 0.4))
    text = paragraph(records)
    assert "a gap of 45.0–64.0 points" in text and "100.0% against 36.0%–55.0%" in text
    assert "was lowest at the last epoch, 20" in text


def test_finding_5_early_stopping_is_a_regulariser_not_no_clear_overfitting():
    records = []
    for s, best in enumerate([6, 8, 9]):
        e = np.arange(1, best + 3)
        val = 0.3 + 0.01 * np.abs(e - best)
        records.append(seed_record(s, history(1 / e, val, 0.9 + 0.005 * e, np.full(len(e), 0.9))))
    text = paragraph(records, epochs=50, early_stopping_patience=2)
    assert "early stopping is itself a regulariser (Goodfellow et al., §7.8)" in text
    assert "**Validation loss** was lowest at epochs 6–9 (each seed's own minimum)" in text
    assert "Overfitting" not in text


def test_one_seed_states_changes_without_judging_them():
    h = loss_up_accuracy_holds(0)
    text = paragraph([seed_record(0, h)])
    assert "With one seed these changes are stated, not judged" in text
    assert "**Overfitting" not in text
    assert "Why loss and accuracy part ways" in text  # the numbers still explain the parting


def test_one_epoch_and_collapsed_runs_read_no_trend():
    one = history([0.5], [0.4], [0.8], [0.85])
    text = paragraph([seed_record(0, one, 0.85)], epochs=1)
    assert "single point, so no trend can be read" in text and "gap" not in text
    collapsed = {"seed": 1, "metrics": {"test_accuracy": 0.1},
                 "history": history([2.3] * 4, [2.3] * 4, [0.1] * 4, [0.1] * 4),
                 "test_predicted_counts": [1500] + [0] * 9}
    text = paragraph([collapsed], epochs=4)
    assert "**Collapsed**" in text and "gap" not in text and "overfit" not in text.lower()


def test_misclassified_measures_follow_the_loss_training_uses():
    logits = np.array([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 1.0]])
    targets = np.eye(3)[[0, 0, 2]]  # the second image is wrong
    p = np.exp(logits[1]) / np.exp(logits[1]).sum()
    ce = outcomes.misclassified(logits, targets, "categorical_crossentropy")
    assert ce["val_loss_wrong"] == pytest.approx(-np.log(p[0]))
    assert ce["val_confidence_wrong"] == pytest.approx(p.max())
    mse = outcomes.misclassified(logits, targets, "mean_squared_error")
    assert mse["val_loss_wrong"] == pytest.approx(np.mean((p - [1, 0, 0]) ** 2))
    assert np.isnan(outcomes.misclassified(logits[[0, 2]], targets[[0, 2]], "x")[
        "val_loss_wrong"])


def test_alt_text_names_the_gap_and_the_measure_that_moved():
    records = [loss_up_accuracy_holds(s) for s in range(4)]
    text = alt_text.learning_curves(records, list(range(4)), "categorical_crossentropy", 20)
    assert "generalisation gap, training minus validation accuracy" in text
    gaps = [100 * (h["accuracy"][-1] - h["val_accuracy"][-1]) for h in records]
    assert (f"The gap at the last epoch is {alt_text.num(min(gaps))} to "
            f"{alt_text.num(max(gaps))} points") in text
    assert "Overfitting in loss, not in accuracy: after epoch 8" in text
    names_its_measure(text)


def test_misclassified_measures_stay_finite_for_saturated_logits():
    """Logits in the hundreds (a confident network, or MSE's unbounded outputs) beside
    small ones: each image's softmax is shifted by its own largest logit, so neither
    overflows nor underflows to a log of zero."""
    logits = np.array([[900.0, 0.0, 1000.0], [0.0, 2.0, 1.0]])
    targets = np.eye(3)[[0, 2]]  # both images wrong
    ce = outcomes.misclassified(logits, targets, "categorical_crossentropy")
    small = np.exp([0.0, 2.0, 1.0]) / np.exp([0.0, 2.0, 1.0]).sum()
    assert ce["val_loss_wrong"] == pytest.approx((100.0 - np.log(small[2])) / 2)
    assert ce["val_confidence_wrong"] == pytest.approx((1.0 + small.max()) / 2)


# --- The definition's sentences, word for word, from curves whose numbers are known ------

def t_interval(changes: list[float]) -> tuple[float, float]:
    """The 95% t-interval of the mean change over seeds, from scipy."""
    from scipy import stats

    ci = stats.ttest_1samp(changes, 0.0).confidence_interval(0.95)
    return ci.low, ci.high


def signed(x: float, digits: int) -> str:
    return f"{x:+.{digits}f}".replace("-", "−")


def three_seeds(wrong: bool = True) -> list[dict]:
    """Validation loss lowest (in the mean) at epoch 2, then up by 0.10-0.12 on every seed;
    validation accuracy back where it was, within noise; training accuracy 99%."""
    return [history([0.6, 0.3, 0.2, 0.1], [0.50, 0.40, 0.45, 0.50 + 0.01 * s],
                    [0.8, 0.9, 0.95, 0.99], [0.80, 0.85, 0.86, 0.85 + d],
                    [2.0, 2.5, 2.8, 3.0 + 0.1 * s] if wrong else None,
                    [0.6, 0.7, 0.75, 0.8] if wrong else None)
            for s, d in enumerate((0.01, -0.01, 0.003))]


def test_every_sentence_of_a_loss_rise_over_three_seeds_states_its_numbers():
    hs = three_seeds()
    val_last = [h["val_accuracy"][-1] for h in hs]
    loss_changes = [h["val_loss"][-1] - h["val_loss"][1] for h in hs]
    acc_changes = [h["val_accuracy"][-1] - h["val_accuracy"][1] for h in hs]
    lo, hi = t_interval(loss_changes)
    alo, ahi = (100 * x for x in t_interval(acc_changes))
    assert lo > 0 and alo < 0 < ahi  # the loss rose beyond noise, the accuracy held
    mean_last = np.mean([h["val_loss"][-1] for h in hs])
    wrong = [np.mean([h[k][i] for h in hs]) for k in ("val_loss_wrong", "val_confidence_wrong")
             for i in (1, 3)]
    share = [1 - np.mean([h["val_accuracy"][i] for h in hs]) for i in (1, 3)]
    assert outcomes.describe(outcomes.generalisation(hs)) == [
        "**Generalisation gap** (training minus validation): at the last epoch, training "
        f"accuracy is 99.0% against {100 * min(val_last):.1f}%–{100 * max(val_last):.1f}% on "
        f"validation, a gap of {100 * (0.99 - max(val_last)):.1f}–"
        f"{100 * (0.99 - min(val_last)):.1f} points; in loss, validation minus training is "
        "0.400–0.420. The network does better on the images it trains on than on images it "
        "has not seen: the gap is what overfitting means (Goodfellow et al., §5.2). At epoch "
        "2, where the mean validation loss was lowest, the accuracy gap was +5.0 points (mean "
        f"over seeds); at epoch 4, {signed(100 * (0.99 - np.mean(val_last)), 1)} points.",
        f"**Validation loss** (mean over 3 seeds) was lowest at epoch 2 (0.400) and is "
        f"{mean_last:.3f} at epoch 4 ({signed(100 * (mean_last / 0.4 - 1), 0)}%; 95% interval "
        f"of the mean change over seeds {signed(100 * lo / 0.4, 0)}% to "
        f"{signed(100 * hi / 0.4, 0)}%): a rise beyond "
        "seed-to-seed noise. Each seed's own lowest validation loss came at epoch 2; its last "
        "value is 25%–30% above that.",
        f"**Validation accuracy** went from 85.00% at epoch 2 to {100 * np.mean(val_last):.2f}% "
        f"at epoch 4 ({signed(100 * np.mean(acc_changes), 1)} points; 95% interval of the "
        f"mean change over seeds {signed(alo, 1)} to {signed(ahi, 1)} points: within "
        "seed-to-seed noise); it was highest at epoch 3 (86.00%).",
        "**Overfitting in loss, not in accuracy**: after epoch 2 validation loss rose, but "
        "validation accuracy did not fall; the network that trained longer classifies "
        "validation images no worse.",
        "Why loss and accuracy part ways: validation loss averages every image's loss, "
        "accuracy only counts right answers. From epoch 2 to epoch 4 the share of validation "
        f"images misclassified went from {100 * share[0]:.2f}% to {100 * share[1]:.2f}%, while "
        f"the mean loss on those images went from {wrong[0]:.2f} to {wrong[1]:.2f} and the "
        f"mean top probability the network gave them from {wrong[2]:.3f} to {wrong[3]:.3f}: it "
        "grew more confident in its wrong answers. The misclassified images contribute "
        f"{share[0] * wrong[0]:.3f} and {share[1] * wrong[1]:.3f} to the mean validation loss, "
        f"the correctly classified ones {0.4 - share[0] * wrong[0]:.3f} and "
        f"{mean_last - share[1] * wrong[1]:.3f} (means over seeds)."]


def test_every_sentence_of_one_seed_states_its_changes_without_a_verdict():
    """Seed 0 of ``three_seeds``, by hand: 0.50 / 0.40 = +25%; 15% misclassified at a mean
    loss of 2.5 give 0.375 of the 0.400, 14% at 3.0 give 0.420 of the 0.500."""
    h = three_seeds()[0]
    assert outcomes.describe(outcomes.generalisation([h])) == [
        "**Generalisation gap** (training minus validation): at the last epoch, training "
        "accuracy is 99.0% against 86.0% on validation, a gap of 13.0 points; in loss, "
        "validation minus training is 0.400. The network does better on the images it trains "
        "on than on images it has not seen: the gap is what overfitting means (Goodfellow et "
        "al., §5.2). At epoch 2, where the mean validation loss was lowest, the accuracy gap "
        "was +5.0 points; at epoch 4, +13.0 points.",
        "**Validation loss** was lowest at epoch 2 (0.400) and is 0.500 at epoch 4 (+25%).",
        "**Validation accuracy** went from 85.00% at epoch 2 to 86.00% at epoch 4 (+1.0 "
        "points); it was highest at epoch 3 (86.00%).",
        "With one seed these changes are stated, not judged: whether they exceed seed-to-seed "
        "noise takes several seeds (the `seeds` parameter).",
        "Why loss and accuracy part ways: validation loss averages every image's loss, "
        "accuracy only counts right answers. From epoch 2 to epoch 4 the share of validation "
        "images misclassified went from 15.00% to 14.00%, while the mean loss on those images "
        "went from 2.50 to 3.00 and the mean top probability the network gave them from 0.700 "
        "to 0.800: it grew more confident in its wrong answers. The misclassified images "
        "contribute 0.375 and 0.420 to the mean validation loss, the correctly classified "
        "ones 0.025 and 0.080."]


def test_every_sentence_under_early_stopping_reads_each_seeds_own_minimum():
    """Seeds stopped after 4, 5 and 6 of 10 epochs, two epochs past their own minimum
    (0.30, then 0.51: 70% above it); training accuracy 90% + 1 point an epoch."""
    hs = []
    for n in (4, 5, 6):
        e = np.arange(1, n + 1)
        hs.append(history(1 / e, 0.3 + 0.105 * np.abs(e - (n - 2)), 0.9 + 0.01 * e,
                          np.full(n, 0.9)))
    assert outcomes.describe(outcomes.generalisation(hs, max_epochs=10)) == [
        "**Generalisation gap** (training minus validation): at each seed's last epoch, "
        "training accuracy is 94.0%–96.0% against 90.0% on validation, a gap of 4.0–6.0 "
        f"points; in loss, validation minus training is {0.51 - 1 / 4:.3f}–{0.51 - 1 / 6:.3f}. "
        "The network does better on the images it trains on than on images it has not seen: "
        "the gap is what overfitting means (Goodfellow et al., §5.2).",
        "**Validation loss** was lowest at epochs 2–4 (each seed's own minimum); where "
        "training ended, it was 70% above that minimum.",
        "Early stopping ends a seed's training a fixed number of epochs (the patience) after "
        "its lowest validation loss, so these curves cannot show a long rise by construction: "
        "early stopping is itself a regulariser (Goodfellow et al., §7.8), which keeps the "
        "network from fitting its training images further. The gap above is what remains to "
        "read."]


def test_every_sentence_of_a_loss_still_falling_without_a_clear_gap():
    """Validation loss lowest at the last epoch; training and validation accuracy level: a
    network still improving, which underfits (review finding 7: the sgd-mse page blamed only
    Keras' lag for the missing gap)."""
    hs = [history([0.5, 0.4, 0.3], [0.6, 0.5, 0.4 - 0.01 * s], [0.8, 0.85, 0.9],
                  [0.8, 0.86, 0.9 + 0.01 * (s - 1)]) for s in range(3)]
    assert outcomes.describe(outcomes.generalisation(hs)) == [
        "**Generalisation gap** (training minus validation): at the last epoch, training "
        "accuracy is 90.0% against 89.0%–91.0% on validation, a gap of −1.0 to +1.0 points; "
        f"in loss, validation minus training is {0.38 - 0.3:.3f}–{0.4 - 0.3:.3f}. Training "
        "accuracy is not clearly above validation accuracy here, and validation loss was "
        "still falling at the last epoch (below): the network is not clearly better on the "
        "images it trains on than on unseen ones, and had not finished learning. That is "
        "underfitting, not overfitting: there is still room to improve on the training "
        "images (TensorFlow's *Overfit and underfit*), and more epochs might raise both "
        "figures. Keras' training figure, a mean over the epoch's batches while the weights "
        "still change, also lags behind the network at the epoch's end.",
        "**Validation loss** (mean over 3 seeds) was lowest at the last epoch, 3: by this "
        "measure training had not yet gone past its best, and more epochs might lower it "
        "further."]


def test_no_gap_past_the_minimum_is_no_overfitting_by_that_measure_not_underfitting():
    """Validation loss lowest at epoch 2, training level with validation: the network is
    not still improving, so the page calls it neither underfitting nor lag-only."""
    hs = [history([0.5, 0.4, 0.3], [0.6, 0.4, 0.45 + 0.01 * s], [0.8, 0.85, 0.9],
                  [0.8, 0.86, 0.9 + 0.01 * (s - 1)]) for s in range(3)]
    text = outcomes.gap_sentence(outcomes.generalisation(hs))
    assert ("Training accuracy is not clearly above validation accuracy here: by this measure "
            "the network does not overfit. Keras' training figure") in text
    assert "underfitting" not in text


def test_a_dropout_networks_negative_gap_is_not_blamed_on_keras_lag():
    """Review finding 1 (mlp50x50-e20-dropout-0.5): training 85.8–87.1% against validation
    89.7–92.0%, explained by Keras' lag. The training figure is the thinned network's
    (dropout on), so the gap does not measure generalisation, whatever the lag."""
    hs = [history([0.6, 0.5, 0.45], [0.4, 0.35, 0.30 + 0.01 * s], [0.80, 0.84, 0.86],
                  [0.88, 0.90, 0.91 + 0.01 * s]) for s in range(3)]
    g = outcomes.generalisation(hs, dropout=0.5)
    text = outcomes.gap_sentence(g)
    assert text.endswith(
        "a gap of −7.0 to −5.0 points; in loss, validation minus training is −0.150 to "
        "−0.130. Training accuracy is not clearly above validation accuracy here, and this "
        "gap does not measure generalisation: Keras measures training accuracy and loss "
        "with dropout switched on, so they score a thinned network (each hidden unit "
        "silenced with probability 0.5 at every step) on the training images, against the "
        "whole network on the validation images.")
    assert "lag" not in text and "underfit" not in text
    # A positive gap with dropout is still a gap, said to be the thinned network's.
    wide = [history([0.5, 0.4, 0.3], [0.6, 0.5, 0.4], [0.9, 0.95, 0.99], [0.85, 0.86, 0.87])]
    text = outcomes.gap_sentence(outcomes.generalisation(wide, dropout=0.2))
    assert "the gap is what overfitting means" in text
    assert text.endswith("probability 0.2 at every step) on the training images, against the "
                         "whole network on the validation images, so this is not the whole "
                         "network's gap.")
    # On the page: the run's dropout rate reaches the sentence, also after one epoch.
    records = [seed_record(s, h) for s, h in enumerate(hs)]
    assert "probability 0.5 at every step" in paragraph(records, dropout=0.5)
    one = [seed_record(0, history([0.9], [0.5], [0.7], [0.85]))]
    text = paragraph(one, epochs=1, dropout=0.3)
    assert text.endswith("still improving; and Keras measures training accuracy and loss "
                         "with dropout switched on, so they score a thinned network (each "
                         "hidden unit silenced with probability 0.3 at every step) on the "
                         "training images, against the whole network on the validation images.")


def test_a_restored_network_is_described_at_its_best_epoch_as_the_index_reads_it():
    """Review finding 4 (mlp50x50-es2-restore): the page gave the gap at each seed's last
    epoch, whose weights early stopping threw away; the index (``generalisation_gap`` of the
    record's metrics) gives that of the restored network. Both now read the tested one."""
    records = []
    for s, best in enumerate((3, 5)):
        e = np.arange(1, best + 3)  # patience 2: two epochs past the minimum
        h = history(1 / e, 0.3 + 0.01 * np.abs(e - best), 0.90 + 0.01 * e,
                    0.88 + 0.001 * e)
        tested = best - 1
        metrics = {k: h[key][tested] for k, key in (
            ("train_accuracy", "accuracy"), ("val_accuracy", "val_accuracy"),
            ("train_loss", "loss"), ("val_loss", "val_loss"))}
        records.append({**seed_record(s, h), "best_epoch": best,
                        "metrics": {**metrics, "test_accuracy": 0.9}})
    text = paragraph(records, epochs=20, early_stopping_patience=2, restore_best_weights=True)
    gaps = [100 * outcomes.generalisation_gap(**{k: r["metrics"][k] for k in (
        "train_accuracy", "val_accuracy", "train_loss", "val_loss")})["accuracy"]
        for r in records]
    assert gaps == pytest.approx([4.7, 6.5])  # 93% − 88.3%, 95% − 88.5%
    assert ("at each seed's best epoch (epochs 3–5), whose weights early stopping restored "
            "for testing, training accuracy is 93.0%–95.0% against 88.3%–88.5% on "
            "validation, a gap of 4.7–6.5 points") in text
    # Without restoring, the last epoch's network is the tested one.
    text = paragraph(records, epochs=20, early_stopping_patience=2)
    assert "at each seed's last epoch, training accuracy is 95.0%–97.0%" in text


@pytest.mark.parametrize("loss_rise, accuracy_change, verdict", [
    (0.10, -0.05, "**Overfitting, by both measures**: after epoch 2 validation loss rose and "
                  "validation accuracy fell."),
    (0.0, -0.05, "**Overfitting in accuracy**: after epoch 2 validation accuracy fell, while "
                 "validation loss did not rise beyond seed-to-seed noise."),
    (0.10, 0.02, "**Overfitting in loss, not in accuracy**: after epoch 2 validation loss "
                 "rose, but validation accuracy rose; the network that trained longer "
                 "classifies validation images better."),
    (0.0, 0.0, "**No rise in validation loss and no fall in validation accuracy after epoch "
               "2** beyond seed-to-seed noise; the overfitting these curves show is the gap "
               "above."),
])
def test_the_verdict_names_each_measure_that_moved(loss_rise, accuracy_change, verdict):
    """Per seed, validation loss moves by loss_rise ± 0.01 after epoch 2 and validation
    accuracy by accuracy_change ± 0.001: beyond the noise exactly when nonzero."""
    hs = [history([0.6, 0.3, 0.2, 0.1], [0.50, 0.40, 0.45, 0.40 + loss_rise + 0.01 * (s - 1)],
                  [0.8, 0.9, 0.95, 0.99],
                  [0.80, 0.85, 0.86, 0.85 + accuracy_change + 0.001 * (s - 1)])
          for s in range(3)]
    assert outcomes.verdict_sentence(outcomes.generalisation(hs)) == verdict


def test_no_verdict_without_a_gap_ends_plainly():
    hs = [history([0.6, 0.3, 0.2, 0.1], [0.50, 0.40, 0.45, 0.40 + 0.01 * (s - 1)],
                  [0.8, 0.9, 0.95, 0.85], [0.80, 0.85, 0.86, 0.85 + 0.01 * (s - 1)])
          for s in range(3)]
    assert outcomes.verdict_sentence(outcomes.generalisation(hs)) == (
        "**No rise in validation loss and no fall in validation accuracy after epoch 2** "
        "beyond seed-to-seed noise.")


def with_wrong(loss_last: float, acc_last: float, seed_offset: float = 0.0) -> dict:
    """Four epochs, validation loss lowest at epoch 2, the misclassified images tracked."""
    return history([0.6, 0.3, 0.2, 0.1], [0.50, 0.40, 0.45, loss_last + seed_offset],
                   [0.8, 0.9, 0.95, 0.99], [0.80, 0.85, 0.86, acc_last],
                   [2.0, 2.5, 2.8, 3.0], [0.6, 0.7, 0.75, 0.8])


@pytest.mark.parametrize("histories, max_epochs, explained", [
    ([with_wrong(0.50, 0.85)], None, True),  # one seed, loss up, accuracy level: parted
    ([with_wrong(0.50, 0.84)], None, False),  # accuracy fell too: nothing to explain
    ([with_wrong(0.30, 0.85)], None, False),  # loss lowest at the last epoch
    ([with_wrong(0.50, 0.85)], 10, False),  # stopped early: no rise to read
    ([with_wrong(0.50, 0.85, 0.01 * s) for s in range(3)], None, True),  # rose beyond noise
    ([with_wrong(0.40, 0.85, 0.01 * (s - 1)) for s in range(3)], None, False),  # held
])
def test_why_loss_and_accuracy_part_is_said_only_where_they_part(histories, max_epochs,
                                                                 explained):
    g = outcomes.generalisation(histories, max_epochs=max_epochs)
    why = outcomes.why_sentence(g)
    assert why.startswith("Why loss and accuracy part ways: ") if explained else why == ""


def test_two_seeds_are_several_and_a_flat_confidence_is_said_not_to_grow():
    """Two seeds get means, intervals (t on 1 degree of freedom) and a verdict like three;
    the misclassified images' confidence stays at 0.700, so it 'did not grow'. Own rises by
    hand: 0.68 / 0.40 and 0.66 / 0.40, +70% and +65%."""
    hs = [history([0.6, 0.3, 0.2, 0.1], [0.50, 0.40, 0.50, last], [0.8, 0.9, 0.95, 0.99],
                  [0.80, 0.85, 0.86, 0.85 + d], [2.0, 2.5, 2.8, 3.0], [0.7, 0.7, 0.7, 0.7])
          for last, d in ((0.68, 0.01), (0.66, -0.01))]
    lo, hi = t_interval([0.28, 0.26])
    alo, ahi = t_interval([0.01, -0.01])
    assert lo > 0  # a rise beyond noise even on two seeds
    assert outcomes.describe(outcomes.generalisation(hs)) == [
        "**Generalisation gap** (training minus validation): at the last epoch, training "
        "accuracy is 99.0% against 84.0%–86.0% on validation, a gap of 13.0–15.0 points; in "
        "loss, validation minus training is 0.560–0.580. The network does better on the "
        "images it trains on than on images it has not seen: the gap is what overfitting "
        "means (Goodfellow et al., §5.2). At epoch 2, where the mean validation loss was "
        "lowest, the accuracy gap was +5.0 points (mean over seeds); at epoch 4, +14.0 points.",
        "**Validation loss** (mean over 2 seeds) was lowest at epoch 2 (0.400) and is 0.670 "
        f"at epoch 4 ({signed(100 * 0.27 / 0.4, 0)}%; 95% interval of the mean change over "
        f"seeds {signed(100 * lo / 0.4, 0)}% to {signed(100 * hi / 0.4, 0)}%): a rise beyond "
        "seed-to-seed noise. Each "
        "seed's own lowest validation loss came at epoch 2; its last value is 65%–70% above "
        "that.",
        "**Validation accuracy** went from 85.00% at epoch 2 to 85.00% at epoch 4 (0.0 "
        f"points; 95% interval of the mean change over seeds {signed(100 * alo, 1)} to "
        f"{signed(100 * ahi, 1)} points: within seed-to-seed noise); it was highest at epoch "
        "3 (86.00%).",
        "**Overfitting in loss, not in accuracy**: after epoch 2 validation loss rose, but "
        "validation accuracy did not fall; the network that trained longer classifies "
        "validation images no worse.",
        "Why loss and accuracy part ways: validation loss averages every image's loss, "
        "accuracy only counts right answers. From epoch 2 to epoch 4 the share of validation "
        "images misclassified went from 15.00% to 15.00%, while the mean loss on those images "
        "went from 2.50 to 3.00 and the mean top probability the network gave them from 0.700 "
        "to 0.700: it did not grow more confident in its wrong answers. The misclassified "
        f"images contribute {0.15 * 2.5:.3f} and {0.15 * 3.0:.3f} to the mean validation "
        f"loss, the correctly classified ones {0.4 - 0.15 * 2.5:.3f} and "
        f"{0.67 - 0.15 * 3.0:.3f} (means over seeds)."]


def test_an_mse_loss_change_reads_in_percent_of_its_minimum_not_as_zero():
    """Review finding 17 (mlp50x50-e20-mse): an MSE validation loss of 0.0126 moved by a
    few 0.00001: '(0.013) and is 0.013 ... 95% interval ... 0.000 to 0.000'. The change and
    its interval are now in percent of the minimum, the losses with three significant
    figures (more where they would read as equal)."""
    changes = [-0.00003, 0.00002, 0.00010]
    hs = [history([0.03, 0.02, 0.015, 0.012], [0.0140, 0.0126, 0.0130, 0.0126 + d],
                  np.full(4, 0.95), np.full(4, 0.92)) for d in changes]
    text = outcomes.loss_sentence(outcomes.generalisation(hs))
    lo, hi = t_interval(changes)
    mean = np.mean(changes)
    assert text.startswith(
        f"**Validation loss** (mean over 3 seeds) was lowest at epoch 2 (0.01260) and is "
        f"{0.0126 + mean:.5f} at epoch 4 ({signed(100 * mean / 0.0126, 1)}%; 95% interval of "
        f"the mean change over seeds {signed(100 * lo / 0.0126, 0)}% to "
        f"{signed(100 * hi / 0.0126, 0)}%): within seed-to-seed noise.")
    assert "0.000 to 0.000" not in text


def test_a_fall_in_accuracy_beyond_the_noise_is_said_with_its_interval_in_points():
    """Validation accuracy down 10, 12 and 14 points after epoch 2."""
    changes = [-0.10, -0.12, -0.14]
    hs = [history([0.6, 0.3, 0.2, 0.1], [0.50, 0.40, 0.45, 0.40 + 0.01 * (s - 1)],
                  [0.8, 0.9, 0.95, 0.99], [0.80, 0.85, 0.86, 0.85 + d])
          for s, d in enumerate(changes)]
    lo, hi = (100 * x for x in t_interval(changes))
    assert outcomes.accuracy_sentence(outcomes.generalisation(hs)) == (
        "**Validation accuracy** went from 85.00% at epoch 2 to 73.00% at epoch 4 (−12.0 "
        f"points; 95% interval of the mean change over seeds {signed(lo, 1)} to "
        f"{signed(hi, 1)} points: a fall beyond seed-to-seed noise); it was highest at epoch "
        "3 (86.00%).")


def test_a_gap_while_the_loss_still_falls_is_not_compared_with_an_earlier_minimum():
    """Validation loss lowest at the last epoch: no earlier epoch to restate the gap at."""
    hs = [history([0.5, 0.4, 0.3], [0.6, 0.5, 0.4 - 0.01 * s], [0.8, 0.9, 0.99],
                  [0.8, 0.86, 0.9 + 0.01 * (s - 1)]) for s in range(3)]
    assert outcomes.gap_sentence(outcomes.generalisation(hs)) == (
        "**Generalisation gap** (training minus validation): at the last epoch, training "
        "accuracy is 99.0% against 89.0%–91.0% on validation, a gap of 8.0–10.0 points; in "
        f"loss, validation minus training is {0.38 - 0.3:.3f}–{0.4 - 0.3:.3f}. The network "
        "does better on the images it trains on than on images it has not seen: the gap is "
        "what overfitting means (Goodfellow et al., §5.2).")


def test_a_gap_that_opened_only_after_the_minimum_is_not_restated_there():
    """Training and validation accuracy level (85%) at epoch 2, where validation loss was
    lowest: the sentence gives the gap at the last epoch only."""
    hs = three_seeds(wrong=False)
    for h in hs:
        h["accuracy"][1] = 0.85
    assert "where the mean validation loss was lowest" not in outcomes.gap_sentence(
        outcomes.generalisation(hs))
    hs[0]["accuracy"][1] = 0.88
    assert ("At epoch 2, where the mean validation loss was lowest, the accuracy gap was +1.0 "
            "points (mean over seeds); at epoch 4, ") in outcomes.gap_sentence(
        outcomes.generalisation(hs))
