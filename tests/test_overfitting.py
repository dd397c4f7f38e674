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
    assert "it rose once in the 9 steps" in text and "unstable" not in text


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
