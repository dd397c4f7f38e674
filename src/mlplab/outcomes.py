"""What happened to one trained network, read from its numbers alone.

Shared by the run pages (kernel side) and the index (summary side), so both name the same
cases the same way: a network that learned (or learned only partly: less than halfway from
chance to perfect), one that collapsed to predicting a single class, one that never got past
chance, one whose loss became NaN; and, for a network that learned, whether its curves show
overfitting. Pure NumPy on plain lists: no TensorFlow, no pandas.

"Learned", "did not learn", "learned only partly" and "collapsed" are claims about a
proportion measured on a finite test set: 2 right of 15 images is 13%, but the network's
accuracy could as well be 4% or 38%. Each is made only when the 95% interval of that
proportion (Wilson's score interval for a binomial count) lies wholly on one side of the
rule's threshold; where it straddles one, the verdict is withheld and says so. "Diverged" is
an observation (the loss became NaN), not an estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

# A network "collapsed" when this share of the test images fall into very few predicted
# classes (one, or up to a fifth of the classes: 2 of 10), whatever the true class.
COLLAPSE_SHARE = 0.9
# Normal quantile of the two-sided 95% intervals every verdict is tested with.
Z95 = 1.959963984540054
# Below this multiple of chance accuracy a network "did not learn".
NO_LEARNING_FACTOR = 1.5
# A network that learned but got right fewer than this share of the images that guessing
# gets wrong "learned only partly": on 10 classes, below 55% test accuracy (chance 10% plus
# half of the remaining 90%). Past chance (NO_LEARNING_FACTOR) is too low a bar to call
# 29% or 50% "learned" beside the ~90% a working MLP reaches on digits; halfway from chance
# to perfect is a rule that needs no other run to compare with and scales with the number
# of classes. Such a network is still reported with its accuracy, never as a plain "learned".
PARTLY_LEARNED_SHARE = 0.5
# Validation loss must end this much (relative) above its minimum to call it a rise.
RISE_TOLERANCE = 0.05
# Training accuracy must peak at least this far above where it ends to say a network
# "learned a little at first and then fell back" (and the peak must itself pass the
# NO_LEARNING_FACTOR bar: 12% on ten classes is noise, not learning).
FELL_BACK = 0.02
# A hidden ReLU layer with at least this share of its units dead (output 0 on every
# validation image) is named on the page: half a layer that no step can revive is a cause
# of failure the run measures, unlike a guess about step sizes.
DEAD_SHARE_HIGH = 0.5
# A cross-entropy training loss above this multiple of ln K (the loss of guessing every
# class equally) means the steps overshoot: the usual sign of a learning rate too large.
BLOW_UP_FACTOR = 10


class Kind(StrEnum):
    LEARNED = "learned"
    COLLAPSED = "collapsed"
    NO_LEARNING = "did not learn"
    DIVERGED = "diverged"
    # The test set is too small to tell whether the accuracy is past NO_LEARNING_FACTOR ×
    # chance: its 95% interval reaches both sides.
    UNJUDGED = "could not be judged"


# Every verdict a seed can get, in the order pages list them.
PARTLY = "learned only partly"
EXTENT_UNCLEAR = "learned, how far unclear"
VERDICTS = (Kind.LEARNED.value, EXTENT_UNCLEAR, PARTLY,
            *(k.value for k in Kind if k != Kind.LEARNED))


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """95% interval of a proportion from ``successes`` of ``n`` trials (Wilson's score
    interval: sensible at 0 or n successes and on a dozen trials, unlike ±1.96 s.e.)."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    """Optimiser steps in one epoch: one per batch, the last batch partial."""
    return math.ceil(n_train / batch_size)


@dataclass(frozen=True)
class Outcome:
    """One network's fate; ``collapsed_to`` (the few classes it still predicts, most
    frequent first) is set only for ``Kind.COLLAPSED``."""

    kind: Kind
    test_accuracy: float
    collapsed_to: tuple[int, ...] = ()
    predicted_share: float = 0.0  # share of test images given the collapsed_to classes
    peak_train_accuracy: float = math.nan  # best training accuracy over the epochs run
    peak_epoch: int = 0
    final_train_accuracy: float = math.nan
    n_classes: int = 0  # 0: unknown, then ``partly_learned`` is never set
    n_test: int = 0  # test images the accuracy was measured on
    interval: tuple[float, float] = (0.0, 1.0)  # 95% interval of the test accuracy
    share_interval: tuple[float, float] = (0.0, 1.0)  # same, of ``predicted_share``

    @property
    def correct(self) -> int:
        """Test images classified correctly."""
        return round(self.test_accuracy * self.n_test)

    @property
    def gap_closed(self) -> float:
        """Share of the way from chance to perfect test accuracy: 0 at chance, 1 at 100%."""
        return gap_closed(self.test_accuracy, self.n_classes)

    @property
    def halfway(self) -> float:
        """The accuracy ``PARTLY_LEARNED_SHARE`` of the way from chance to 100%."""
        chance = 1 / self.n_classes if self.n_classes else math.nan
        return chance + PARTLY_LEARNED_SHARE * (1 - chance)

    @property
    def partly_learned(self) -> bool:
        """Learned, and even the top of its accuracy interval is less than
        ``PARTLY_LEARNED_SHARE`` of the way from chance to 100%."""
        return (self.kind == Kind.LEARNED and self.n_classes > 1
                and self.interval[1] < self.halfway)

    @property
    def learned_fully(self) -> bool:
        """Learned, and even the bottom of its interval is at least halfway to 100%."""
        return (self.kind == Kind.LEARNED and self.n_classes > 1
                and self.interval[0] >= self.halfway)

    @property
    def learned_then_fell_back(self) -> bool:
        """Training accuracy first rose to a level that counts as learning, then fell."""
        return (self.n_classes > 1
                and self.peak_train_accuracy >= NO_LEARNING_FACTOR / self.n_classes
                and self.peak_train_accuracy > self.final_train_accuracy + FELL_BACK)

    @property
    def verdict(self) -> str:
        """The case in words: the kind's name, 'learned only partly', or 'learned, how far
        unclear' when the accuracy's interval straddles halfway from chance to 100%."""
        if self.kind != Kind.LEARNED or self.n_classes < 2 or self.learned_fully:
            return self.kind.value
        return PARTLY if self.partly_learned else EXTENT_UNCLEAR


def gap_closed(test_accuracy: float, n_classes: int) -> float:
    """(accuracy − chance) / (1 − chance): how much of what guessing misses was learned."""
    if n_classes < 2:
        return math.nan
    chance = 1 / n_classes
    return (test_accuracy - chance) / (1 - chance)


def classify(history: dict[str, list[float]], predicted_counts: list[int],
             test_accuracy: float, n_classes: int) -> Outcome:
    """Name the case a trained network falls into, from its history and test predictions
    (their total is the test set's size, which sets how sure each verdict can be)."""
    counts = np.asarray(predicted_counts, dtype=float)
    n_test = int(counts.sum())
    order = np.argsort(-counts, kind="stable")
    shares = np.cumsum(counts[order]) / n_test if n_test else np.zeros(len(counts))
    few = int(np.searchsorted(shares, COLLAPSE_SHARE - 1e-12)) + 1  # classes covering 90%
    share = float(shares[few - 1]) if len(shares) else 0.0
    share_interval = wilson_interval(round(share * n_test), n_test)
    interval = wilson_interval(round(test_accuracy * n_test), n_test)
    train_acc = np.asarray(history.get("accuracy", []), dtype=float)
    losses = np.asarray(history.get("loss", []), dtype=float)
    peak = int(np.nanargmax(train_acc)) if np.isfinite(train_acc).any() else 0
    common = {"test_accuracy": float(test_accuracy), "predicted_share": share,
              "n_classes": n_classes, "n_test": n_test, "interval": interval,
              "share_interval": share_interval,
              "peak_train_accuracy": float(train_acc[peak]) if len(train_acc) else math.nan,
              "peak_epoch": peak + 1,
              "final_train_accuracy": float(train_acc[-1]) if len(train_acc) else math.nan}
    if len(losses) and not np.isfinite(losses).all():
        return Outcome(Kind.DIVERGED, **common)
    if few <= max(1, n_classes // 5) and share_interval[0] >= COLLAPSE_SHARE:
        return Outcome(Kind.COLLAPSED, collapsed_to=tuple(int(c) for c in order[:few]),
                       **common)
    bar = NO_LEARNING_FACTOR / n_classes
    if interval[1] < bar:
        return Outcome(Kind.NO_LEARNING, **common)
    if interval[0] >= bar:
        return Outcome(Kind.LEARNED, **common)
    return Outcome(Kind.UNJUDGED, **common)


def of_seeds(seed_records: list[dict], n_classes: int) -> list[Outcome]:
    """Each seed's case, from the per-seed records a run page and a results record share."""
    return [classify(s["history"], s.get("test_predicted_counts", [1] * n_classes),
                     s["metrics"]["test_accuracy"], n_classes) for s in seed_records]


@dataclass(frozen=True)
class Fit:
    """How validation loss moved: where it was lowest and whether it then rose."""

    best_epoch: int
    best_val_loss: float
    final_val_loss: float
    epochs_run: int
    train_loss_fell_after_best: bool
    final_train_accuracy: float
    final_val_accuracy: float

    @property
    def val_loss_rose(self) -> bool:
        return (self.best_epoch < self.epochs_run
                and self.final_val_loss > self.best_val_loss * (1 + RISE_TOLERANCE))

    @property
    def overfitting(self) -> bool:
        """Validation loss rose after its minimum while the training loss kept falling."""
        return self.val_loss_rose and self.train_loss_fell_after_best

    @property
    def still_improving(self) -> bool:
        """Validation loss was lowest at the last epoch: more epochs might still help."""
        return self.best_epoch == self.epochs_run and self.epochs_run > 1


def fit_of(history: dict[str, list[float]]) -> Fit:
    val_loss = np.asarray(history["val_loss"], dtype=float)
    train_loss = np.asarray(history["loss"], dtype=float)
    best = int(np.nanargmin(val_loss))
    return Fit(best_epoch=best + 1, best_val_loss=float(val_loss[best]),
               final_val_loss=float(val_loss[-1]), epochs_run=len(val_loss),
               train_loss_fell_after_best=bool(train_loss[-1] < train_loss[best]),
               final_train_accuracy=float(history["accuracy"][-1]),
               final_val_accuracy=float(history["val_accuracy"][-1]))
