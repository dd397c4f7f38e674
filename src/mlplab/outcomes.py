"""What happened to one trained network, read from its numbers alone.

Shared by the run pages (kernel side) and the index (summary side), so both name the same
cases the same way: a network that learned (or learned only partly: less than halfway from
chance to perfect), one that collapsed (nearly all its answers one class or a few:
``collapse_rule``), one that never got past chance, one whose loss became NaN; and, for a
network that learned, whether its curves show overfitting. Pure NumPy on plain lists: no
TensorFlow, no pandas.

"Learned", "did not learn", "learned only partly" and "collapsed" are claims about a
proportion measured on a finite test set: 2 right of 15 images is 13%, but the network's
accuracy could as well be 4% or 38%. Each is made only when the 95% interval of that
proportion (Wilson's score interval for a binomial count) lies wholly on one side of the
rule's threshold; where it straddles one, the verdict is withheld and says so. "Diverged" is
an observation (the loss became NaN), not an estimate.

Overfitting has one definition here (``generalisation``), used by every run page, its
figure's alt text and the index: Goodfellow et al. (2016, §5.2) call a model overfitted when
the gap between its training and its test error is too large, and TensorFlow's "Overfit and
underfit" tutorial reads it from the curves, where validation loss turns up while training
loss goes on falling. Neither a gap nor a rise is judged against one fixed threshold: each
verdict names the measure it rests on (the generalisation gap, validation loss, validation
accuracy), how far it moved, and whether that exceeds the spread over seeds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from mlplab.wording import (
    join,
    number,
    number_interval,
    pct,
    pct_span,
    points,
    seeds_phrase,
    span,
)

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
    # The test set is too small (or empty: no prediction at all) to tell whether the
    # accuracy is past NO_LEARNING_FACTOR × chance: its 95% interval reaches both sides.
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
    n_train: int = 0  # training images each epoch's training accuracy was measured on
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
        """Training accuracy first rose to a level that counts as learning, then fell: judged
        like the test verdicts, with each epoch's training accuracy taken as a proportion of
        the ``n_train`` images it was measured on. The peak's 95% interval lies past the
        ``NO_LEARNING_FACTOR`` bar and wholly above the last epoch's interval. Unknown
        ``n_train`` (0) or classes: never said."""
        peak, final = self.peak_train_accuracy, self.final_train_accuracy
        if self.n_classes < 2 or self.n_train <= 0 or not (
                math.isfinite(peak) and math.isfinite(final)):
            return False
        high = wilson_interval(round(peak * self.n_train), self.n_train)
        low = wilson_interval(round(final * self.n_train), self.n_train)
        return high[0] >= NO_LEARNING_FACTOR / self.n_classes and high[0] > low[1]

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
             test_accuracy: float, n_classes: int, n_train: int = 0) -> Outcome:
    """Name the case a trained network falls into, from its history and test predictions
    (their total is the test set's size, which sets how sure each verdict can be; with no
    test prediction at all nothing can be judged). ``n_train``: the training images of an
    epoch (0: unknown), for ``Outcome.learned_then_fell_back``."""
    counts = np.asarray(predicted_counts, dtype=float)
    n_test = int(counts.sum())
    if n_test == 0:
        counts = np.zeros(0)  # no prediction: no class holds any share of them
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
              "n_classes": n_classes, "n_test": n_test, "n_train": n_train,
              "interval": interval,
              "share_interval": share_interval,
              "peak_train_accuracy": float(train_acc[peak]) if len(train_acc) else math.nan,
              "peak_epoch": peak + 1,
              "final_train_accuracy": float(train_acc[-1]) if len(train_acc) else math.nan}
    if len(losses) and not np.isfinite(losses).all():
        return Outcome(Kind.DIVERGED, **common)
    if n_test == 0:
        return Outcome(Kind.UNJUDGED, **common)
    if few <= max(1, n_classes // 5) and share_interval[0] >= COLLAPSE_SHARE:
        return Outcome(Kind.COLLAPSED, collapsed_to=tuple(int(c) for c in order[:few]),
                       **common)
    bar = NO_LEARNING_FACTOR / n_classes
    if interval[1] < bar:
        return Outcome(Kind.NO_LEARNING, **common)
    if interval[0] >= bar:
        return Outcome(Kind.LEARNED, **common)
    return Outcome(Kind.UNJUDGED, **common)


def collapse_rule(n_classes: int) -> str:
    """``classify``'s line between "collapsed" and the accuracy verdicts, in words, so that
    run pages and the index state the same rule: a reader sees why 22% on two classes is
    "collapsed" while 27% on three is "learned only partly"."""
    few = max(1, n_classes // 5)
    to = ("one class" if few == 1 else
          f"one class or {few} classes (a fifth of the {n_classes})")
    return (f"at least {COLLAPSE_SHARE:.0%} of its test images go to {to}, even at the low "
            f"end of the 95% interval of that share; a network whose answers spread wider "
            f"is judged by its test accuracy instead")


def collapsed_to(found: list[tuple[int, Outcome]]) -> str:
    """'one class (seeds 0 and 3) or 2 classes (seed 4)': how many classes each collapsed
    seed gives at least ``COLLAPSE_SHARE`` of its test images to (not all it ever predicts)."""
    sizes = sorted({len(o.collapsed_to) for _, o in found})
    if len(sizes) == 1:
        return "one class" if sizes[0] == 1 else f"{sizes[0]} classes"
    return join([("one class" if n == 1 else f"{n} classes") + " (" + seeds_phrase(
        [sd for sd, o in found if len(o.collapsed_to) == n]) + ")" for n in sizes], "or")


def of_seeds(seed_records: list[dict], n_classes: int, n_train: int = 0) -> list[Outcome]:
    """Each seed's case, from the per-seed records a run page and a results record share
    (``n_train``: the training images of a seed whose record does not say)."""
    return [classify(s["history"], s.get("test_predicted_counts", [1] * n_classes),
                     s["metrics"]["test_accuracy"], n_classes, s.get("n_train", n_train))
            for s in seed_records]


# Per-epoch history entries on the validation images the network gets wrong: their mean loss
# and the mean probability of the class it (wrongly) predicts. They show why validation loss
# can rise while validation accuracy holds.
MISCLASSIFIED_KEYS = ("val_loss_wrong", "val_confidence_wrong")
# History key, only with an L2 penalty (written by ``mlplab.lab.train``): the penalty after each
# epoch. Keras adds it to every loss it reports; the definition below reads validation loss
# without it, as the data loss that the misclassified images' losses add up to.
PENALTY = "l2_penalty"


def misclassified(logits: np.ndarray, targets: np.ndarray, loss: str) -> dict[str, float]:
    """The ``MISCLASSIFIED_KEYS`` for one epoch, from the logits of the validation images and
    their one-hot targets; each per-image loss as training computes it (cross-entropy from
    the logits, unclipped, or squared error on the softmax). NaN when nothing is wrong."""
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(targets, dtype=np.float64)
    shifted = z - z.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    p = np.exp(log_p)
    losses = (np.mean((p - y) ** 2, axis=1) if loss == "mean_squared_error"
              else -np.sum(y * log_p, axis=1))
    wrong = p.argmax(axis=1) != y.argmax(axis=1)
    if not wrong.any():
        return dict.fromkeys(MISCLASSIFIED_KEYS, math.nan)
    return dict(zip(MISCLASSIFIED_KEYS, (float(losses[wrong].mean()),
                                         float(p.max(axis=1)[wrong].mean())), strict=True))


# A training loss that climbs back above this multiple of the lowest value it had reached
# is called unstable ("spiky") on the page, with the numbers: a network that trains steadily
# lowers its epoch-mean training loss almost every epoch.
UNSTABLE_FACTOR = 2.0


def generalisation_gap(train_accuracy: Any, val_accuracy: Any, train_loss: Any,
                       val_loss: Any) -> dict[str, Any]:
    """The one definition of the generalisation gap: how much better the network does on the
    images it trains on than on validation images, in accuracy (training − validation) and
    in loss (validation − training); positive when training looks better. Numbers or
    per-epoch arrays. With L2, both losses carry the same penalty, which cancels."""
    return {"accuracy": train_accuracy - val_accuracy, "loss": val_loss - train_loss}


def gap_curves(history: dict[str, list[float]]) -> dict[str, np.ndarray]:
    """The generalisation gap (``generalisation_gap``) after each epoch of a history."""
    h = {k: np.asarray(history[k], dtype=float)
         for k in ("loss", "val_loss", "accuracy", "val_accuracy")}
    return generalisation_gap(h["accuracy"], h["val_accuracy"], h["loss"], h["val_loss"])


@dataclass(frozen=True)
class Change:
    """How one measure moved between two epochs, per seed and on the mean over seeds.

    ``low``–``high`` is the 95% t-interval of the mean change over seeds (NaN with one seed:
    then nothing separates the change from seed-to-seed noise)."""

    start: float
    end: float
    per_seed: tuple[float, ...]
    low: float
    high: float

    @property
    def mean(self) -> float:
        return self.end - self.start

    @property
    def direction(self) -> str | None:
        """'rose' or 'fell' when the interval excludes zero, 'held' when it includes it,
        None with one seed."""
        if not math.isfinite(self.low):
            return None
        return "rose" if self.low > 0 else "fell" if self.high < 0 else "held"


def _change(curves: np.ndarray, start: int, end: int) -> Change:
    """``curves`` (seeds, epochs): the change from 0-based epoch ``start`` to ``end``."""
    from mlplab.results import seed_summary

    diffs = curves[:, end] - curves[:, start]
    s = seed_summary(list(diffs))
    low, high = (s["ci95_low"], s["ci95_high"]) if len(diffs) > 1 else (math.nan, math.nan)
    return Change(float(curves[:, start].mean()), float(curves[:, end].mean()),
                  tuple(float(d) for d in diffs), float(low), float(high))


@dataclass(frozen=True)
class TrainingLoss:
    """The whole training-loss curve of one seed: where it was lowest, where it ended, and
    its largest climb back above the lowest value reached before."""

    seed: int
    epochs: int
    low_epoch: int
    low: float
    final: float
    rises: int  # epochs whose training loss is above the previous epoch's
    falls: int  # epochs whose training loss is below the previous epoch's
    rebound: float  # largest loss[e] / min(loss[:e]) (1.0: never above an earlier low)
    rebound_epoch: int
    rebound_from_epoch: int

    @property
    def unstable(self) -> bool:
        return self.rebound > UNSTABLE_FACTOR


def training_loss_of(seed: int, losses: list[float]) -> TrainingLoss:
    loss = np.asarray(losses, dtype=float)
    low = int(np.nanargmin(loss))
    running = np.fmin.accumulate(loss)
    ratios = np.r_[1.0, loss[1:] / running[:-1]] if len(loss) else np.ones(0)
    worst = int(np.nanargmax(ratios))
    return TrainingLoss(seed=seed, epochs=len(loss), low_epoch=low + 1, low=float(loss[low]),
                        final=float(loss[-1]), rises=int(np.sum(np.diff(loss) > 0)),
                        falls=int(np.sum(np.diff(loss) < 0)),
                        rebound=float(ratios[worst]), rebound_epoch=worst + 1,
                        rebound_from_epoch=int(np.nanargmin(loss[:max(worst, 1)])) + 1)


@dataclass(frozen=True)
class Generalisation:
    """The one definition of over- and underfitting, read from several seeds' curves.

    Everything is per epoch over the epochs every seed ran (``epochs``), so seeds are
    compared at the same epoch: the mean validation loss is lowest at ``loss_best_epoch``
    and the mean validation accuracy highest at ``accuracy_best_epoch``; ``val_loss`` and
    ``val_accuracy`` are how each moved from ``loss_best_epoch`` to the last epoch, per seed
    with the 95% interval of the mean, and ``accuracy_gap``/``loss_gap`` the generalisation
    gap (``gap_curves``) at each seed's last epoch and at ``loss_best_epoch``. Where the
    history holds them, ``wrong_loss``/``wrong_confidence`` follow the misclassified
    validation images (their mean loss, their mean top probability) over the same epochs:
    why validation loss can rise while validation accuracy holds. ``stopped_early``: some
    seed's training was ended by early stopping, which cuts each curve a fixed number of
    epochs after its minimum, so a long rise cannot show there by construction.
    ``final_*`` describe the network that is tested: each seed's last epoch, or the epoch
    whose weights early stopping restored (``tested_epochs``, ``restored``), as in the
    results record. ``dropout``: the rate Keras trained with, and measured the training
    figures with (``thinned_network``).
    """

    n_seeds: int
    epochs: int
    epochs_run: tuple[int, ...]
    stopped_early: bool
    loss_best_epoch: int
    best_val_loss: float
    accuracy_best_epoch: int
    best_val_accuracy: float
    val_loss: Change
    val_accuracy: Change
    accuracy_gap: Change  # from loss_best_epoch to the last common epoch
    final_accuracy_gap: tuple[float, ...]  # each seed's last epoch
    final_loss_gap: tuple[float, ...]
    final_train_accuracy: tuple[float, ...]
    final_val_accuracy: tuple[float, ...]
    own_best_epochs: tuple[int, ...]  # each seed's own lowest validation loss
    own_rise: tuple[float, ...]  # each seed's last validation loss / its own minimum − 1
    wrong_loss: Change | None
    wrong_confidence: Change | None
    error_rate: Change
    penalised: bool = False  # validation loss read without the L2 penalty Keras adds
    tested_epochs: tuple[int, ...] = ()  # each seed's tested network, 1-based
    restored: bool = False  # tested_epochs are the best epochs early stopping restored
    dropout: float = 0.0

    @property
    def judged(self) -> bool:
        """Whether the curves can say more than their numbers: several seeds (to compare a
        change with seed-to-seed noise), more than one epoch, a minimum before the last
        epoch, and no early stopping (which ends each curve soon after its minimum)."""
        return (self.n_seeds > 1 and not self.stopped_early
                and self.loss_best_epoch < self.epochs)

    @property
    def loss_rose(self) -> bool:
        """Validation loss rose after its (mean) minimum by more than seed-to-seed noise."""
        return self.judged and self.val_loss.direction == "rose"

    @property
    def accuracy_fell(self) -> bool:
        """Validation accuracy fell from where the validation loss was lowest, by more than
        seed-to-seed noise."""
        return self.judged and self.val_accuracy.direction == "fell"

    @property
    def still_improving(self) -> bool:
        """The mean validation loss was lowest at the last epoch every seed ran."""
        return self.epochs > 1 and self.loss_best_epoch == self.epochs

    @property
    def gap_shown(self) -> bool:
        """Training accuracy above validation accuracy at the last epoch for every seed,
        and with several seeds, the interval of the mean gap above zero."""
        gaps = np.asarray(self.final_accuracy_gap)
        if not (gaps > 0).all():
            return False
        if self.n_seeds == 1:
            return True
        from mlplab.results import seed_summary

        return seed_summary(list(gaps))["ci95_low"] > 0


def generalisation(histories: list[dict[str, list[float]]], max_epochs: int | None = None,
                   restored: list[int] | None = None, dropout: float = 0.0) -> Generalisation:
    """Read ``histories`` (one Keras-style history per seed, at least one epoch each) by the
    one definition. ``max_epochs``: the epochs asked for; a seed that ran fewer was stopped
    early (None: every seed ran what was asked). ``restored``: each seed's best epoch
    (1-based) when early stopping restored its weights, so the gap is that of the network
    that is tested, as the index reads it (None: each seed's last epoch). ``dropout``: the
    rate the network trained with."""
    runs = [len(h["val_loss"]) for h in histories]
    tested = list(restored) if restored is not None else runs
    n = min(runs)

    def curves(key: str) -> np.ndarray:
        return np.array([np.asarray(h[key][:n], dtype=float) for h in histories])

    val_acc, acc = curves("val_accuracy"), curves("accuracy")
    penalised = all(PENALTY in h for h in histories)
    val_loss = curves("val_loss") - (curves(PENALTY) if penalised else 0)
    best = int(np.nanargmin(np.nanmean(val_loss, axis=0)))
    best_acc = int(np.nanargmax(np.nanmean(val_acc, axis=0)))
    last = n - 1
    gaps = [gap_curves(h) for h in histories]
    own_curves = [np.asarray(h["val_loss"], dtype=float)
                  - (np.asarray(h[PENALTY], dtype=float) if penalised else 0) for h in histories]
    own = [int(np.nanargmin(v)) for v in own_curves]
    has_wrong = all("val_loss_wrong" in h for h in histories)
    return Generalisation(
        n_seeds=len(histories), epochs=n, epochs_run=tuple(runs),
        stopped_early=max_epochs is not None and min(runs) < max_epochs,
        loss_best_epoch=best + 1, best_val_loss=float(np.nanmean(val_loss[:, best])),
        accuracy_best_epoch=best_acc + 1,
        best_val_accuracy=float(np.nanmean(val_acc[:, best_acc])),
        val_loss=_change(val_loss, best, last), val_accuracy=_change(val_acc, best, last),
        accuracy_gap=_change(acc - val_acc, best, last),
        final_accuracy_gap=tuple(float(g["accuracy"][e - 1]) for g, e in zip(gaps, tested,
                                                                             strict=True)),
        final_loss_gap=tuple(float(g["loss"][e - 1]) for g, e in zip(gaps, tested, strict=True)),
        final_train_accuracy=tuple(float(h["accuracy"][e - 1])
                                   for h, e in zip(histories, tested, strict=True)),
        final_val_accuracy=tuple(float(h["val_accuracy"][e - 1])
                                 for h, e in zip(histories, tested, strict=True)),
        own_best_epochs=tuple(b + 1 for b in own),
        own_rise=tuple(float(v[-1] / v[b] - 1) for v, b in zip(own_curves, own, strict=True)),
        wrong_loss=_change(curves("val_loss_wrong"), best, last) if has_wrong else None,
        wrong_confidence=(_change(curves("val_confidence_wrong"), best, last)
                          if has_wrong else None),
        error_rate=_change(1 - val_acc, best, last), penalised=penalised,
        tested_epochs=tuple(tested), restored=restored is not None, dropout=float(dropout))


def _interval(change: Change, unit: str, of: float = math.nan) -> str:
    """'; 95% interval of the mean change over seeds −0.2% to +0.8%' (nothing with one
    seed). A loss change is given in percent of ``of`` (the minimum it is measured from), as
    its mean change is: an MSE loss of 0.013 moves by 0.00004, which three decimals show
    as '0.000 to 0.000'."""
    if change.direction is None:
        return ""
    if unit == "points":
        return (f"; 95% interval of the mean change over seeds "
                f"{number_interval(100 * change.low, 100 * change.high, 1)} points")
    low, high = number_interval(100 * change.low / of, 100 * change.high / of, 0).split(" to ")
    return f"; 95% interval of the mean change over seeds {low}% to {high}%"


def _noise(change: Change) -> str:
    """': within seed-to-seed noise' and the like; nothing with one seed, whose verdict
    sentence says once that a single seed gives no estimate of that noise."""
    return {None: "", "held": ": within seed-to-seed noise",
            "rose": ": a rise beyond seed-to-seed noise",
            "fell": ": a fall beyond seed-to-seed noise"}[change.direction]


def thinned_network(dropout: float) -> str:
    """Why a dropout network's training figures cannot be set against its validation ones:
    Keras measures them in training mode. Shared by the run pages and the index."""
    return (f"Keras measures training accuracy and loss with dropout switched on, so they "
            f"score a thinned network (each hidden unit silenced with probability {dropout:g} "
            f"at every step) on the training images, against the whole network on the "
            f"validation images")


def gap_sentence(g: Generalisation) -> str:
    """The generalisation gap of the network that is tested, in accuracy and in loss, and
    what it says: overfitting, underfitting while still improving, or, with dropout, not
    generalisation at all."""
    train, val = list(g.final_train_accuracy), list(g.final_val_accuracy)
    gaps = [100 * x for x in g.final_accuracy_gap]
    if g.restored:
        where = (f"each seed's best epoch ({_epochs(list(g.tested_epochs))}), whose weights "
                 f"early stopping restored for testing")
    else:
        where = "the last epoch" if len(set(g.epochs_run)) == 1 else "each seed's last epoch"
    loss_gap = list(g.final_loss_gap)
    text = (f"**Generalisation gap** (training minus validation): at {where}, training "
            f"accuracy is {pct_span(train)} against {pct_span(val)} on validation, a gap "
            f"of {_signed_span(gaps, 1)} points; in loss, validation minus training is "
            f"{_signed_span(loss_gap, 3)}.")
    if g.gap_shown:
        text += (" The network does better on the images it trains on than on images it "
                 "has not seen: the gap is what overfitting means (Goodfellow et al., §5.2).")
        if g.dropout:
            text += f" {thinned_network(g.dropout)}, so this is not the whole network's gap."
    elif g.dropout:
        text += (" Training accuracy is not clearly above validation accuracy here, and this "
                 f"gap does not measure generalisation: {thinned_network(g.dropout)}.")
    else:
        if g.still_improving and not g.stopped_early:
            text += (" Training accuracy is not clearly above validation accuracy here, and "
                     "validation loss was still falling at the last epoch (below): the "
                     "network is not clearly better on the images it trains on than on unseen "
                     "ones, and had not finished learning. That is underfitting, not overfitting: "
                     "there is still room to improve on the training images (TensorFlow's "
                     "*Overfit and underfit*), and more epochs might raise both figures.")
        else:
            text += (" Training accuracy is not clearly above validation accuracy here: by "
                     "this measure the network does not overfit.")
        text += (" Keras' training figure, a mean over the epoch's batches while the weights "
                 "still change, also lags behind the network at the epoch's end.")
    if not g.stopped_early and g.loss_best_epoch < g.epochs and g.accuracy_gap.start != 0:
        text += (f" At epoch {g.loss_best_epoch}, where the mean validation loss was lowest, "
                 f"the accuracy gap was {points(g.accuracy_gap.start, signed=True)}"
                 f"{' (mean over seeds)' if g.n_seeds > 1 else ''}; at epoch {g.epochs}, "
                 f"{points(g.accuracy_gap.end, signed=True)}.")
    return text


def loss_sentence(g: Generalisation) -> str:
    """Where the (mean) validation loss was lowest and how it moved from there."""
    bare = ", without the L2 penalty Keras adds to it," if g.penalised else ""
    over = (f" (mean over {g.n_seeds} seeds)" if g.n_seeds > 1 else "") + bare
    if g.stopped_early:
        rises = [100 * r for r in g.own_rise]
        return (f"**Validation loss**{bare} was lowest at {_epochs(list(g.own_best_epochs))} "
                f"(each seed's own minimum); where training ended, it was "
                f"{span(rises, '{:.0f}%')} above that minimum.")
    if g.still_improving:
        return (f"**Validation loss**{over} was lowest at the last epoch, {g.epochs}: by "
                f"this measure training had not yet gone past its best, and more epochs "
                f"might lower it further.")
    rise = g.val_loss.mean / g.best_val_loss if g.best_val_loss else math.nan
    low, end = _two_losses(g.best_val_loss, g.val_loss.end)
    text = (f"**Validation loss**{over} was lowest at epoch {g.loss_best_epoch} "
            f"({low}) and is {end} at epoch {g.epochs} "
            f"({number(100 * rise, 0, signed=True)}%"
            f"{_interval(g.val_loss, 'loss', g.best_val_loss) if g.best_val_loss else ''})"
            f"{_noise(g.val_loss)}.")
    if g.n_seeds > 1:
        rises = [100 * r for r in g.own_rise]
        text += (f" Each seed's own lowest validation loss came at "
                 f"{_epochs(list(g.own_best_epochs))}; its last value is "
                 f"{span(rises, '{:.0f}%')} above that.")
    return text


def _two_losses(a: float, b: float) -> tuple[str, str]:
    """Two losses with three decimals, or, below 0.1 (an MSE loss: 0.0131), three
    significant figures, and more (up to five) where they would read as equal."""
    def fixed(v: float, sig: int) -> str:  # '0.0131', never '1.31e-02'
        if abs(v) >= 0.1 or not math.isfinite(v) or v == 0:
            return f"{v:.3f}"
        return f"{v:.{sig - 1 - math.floor(math.log10(abs(v)))}f}"

    for sig in range(3, 6):
        shown = fixed(a, sig), fixed(b, sig)
        if shown[0] != shown[1]:
            break
    return shown


def accuracy_sentence(g: Generalisation) -> str:
    """How validation accuracy moved from the validation-loss minimum, and its best epoch."""
    if g.still_improving or g.stopped_early:
        return ""
    change = g.val_accuracy
    return (f"**Validation accuracy** went from {pct(change.start, 2)} at epoch "
            f"{g.loss_best_epoch} to {pct(change.end, 2)} at epoch {g.epochs} "
            f"({points(change.mean, signed=True)}{_interval(change, 'points')}"
            f"{_noise(change)}); it was highest at epoch {g.accuracy_best_epoch} "
            f"({pct(g.best_val_accuracy, 2)}).")


def verdict_sentence(g: Generalisation) -> str:
    """Which measures say the network overfits after the validation-loss minimum."""
    if g.stopped_early:
        return ("Early stopping ends a seed's training a fixed number of epochs (the "
                "patience) after its lowest validation loss, so these curves cannot show a "
                "long rise by construction: "
                "early stopping is itself a regulariser (Goodfellow et al., §7.8), which "
                "keeps the network from fitting its training images further. The gap above "
                "is what remains to read.")
    if g.still_improving:
        return ""
    after = f"after epoch {g.loss_best_epoch}"
    if not g.judged:
        return ("With one seed these changes are stated, not judged: whether they exceed "
                "seed-to-seed noise takes several seeds (the `seeds` parameter).")
    if g.loss_rose and g.accuracy_fell:
        return (f"**Overfitting, by both measures**: {after} validation loss rose and "
                f"validation accuracy fell.")
    if g.loss_rose:
        better = g.val_accuracy.direction == "rose"
        return (f"**Overfitting in loss, not in accuracy**: {after} validation loss rose, "
                f"but validation accuracy {'rose' if better else 'did not fall'}; the network "
                f"that trained longer classifies validation images "
                f"{'better' if better else 'no worse'}.")
    if g.accuracy_fell:
        return (f"**Overfitting in accuracy**: {after} validation accuracy fell, while "
                f"validation loss did not rise beyond seed-to-seed noise.")
    return (f"**No rise in validation loss and no fall in validation accuracy {after}** "
            f"beyond seed-to-seed noise"
            + ("; the overfitting these curves show is the gap above." if g.gap_shown else "."))


def why_sentence(g: Generalisation) -> str:
    """Why validation loss can rise while accuracy holds, from the misclassified images."""
    parted = g.loss_rose or (not g.judged and g.loss_best_epoch < g.epochs
                             and not g.stopped_early and g.val_accuracy.mean >= 0)
    if not (parted and not g.accuracy_fell and g.wrong_loss is not None
            and g.wrong_confidence is not None
            and all(map(math.isfinite, (g.wrong_loss.start, g.wrong_loss.end)))):
        return ""
    a, b = g.loss_best_epoch, g.epochs
    share = [g.error_rate.start, g.error_rate.end]
    wrong = [e * w for e, w in zip(share, (g.wrong_loss.start, g.wrong_loss.end), strict=True)]
    right = [g.val_loss.start - wrong[0], g.val_loss.end - wrong[1]]
    conf = g.wrong_confidence
    sure = ("grew more confident in its wrong answers" if conf.end > conf.start else
            "did not grow more confident in its wrong answers")
    return (f"Why loss and accuracy part ways: validation loss averages every image's loss, "
            f"accuracy only counts right answers. From epoch {a} to epoch {b} the share of "
            f"validation images misclassified went from {pct(share[0], 2)} to "
            f"{pct(share[1], 2)}, while the mean loss on those images went from "
            f"{g.wrong_loss.start:.2f} to {g.wrong_loss.end:.2f} and the mean top "
            f"probability the network gave them from {conf.start:.3f} to {conf.end:.3f}: "
            f"it {sure}. The misclassified images contribute {wrong[0]:.3f} and "
            f"{wrong[1]:.3f} to the mean validation loss, the correctly classified ones "
            f"{right[0]:.3f} and {right[1]:.3f}{' (means over seeds)' if g.n_seeds > 1 else ''}.")


def _signed_span(values: list[float], digits: int) -> str:
    """'7.1–8.0' when every value is positive, else '−0.5 to +1.2' (real minus signs)."""
    lo, hi = min(values), max(values)
    if lo > 0:
        return span(values, f"{{:.{digits}f}}")
    ends = [number(v, digits, signed=True) for v in (lo, hi)]
    return ends[0] if ends[0] == ends[1] else f"{ends[0]} to {ends[1]}"


def _epochs(values: list[int]) -> str:
    text = span(values)
    return f"epoch{'s' if '–' in text else ''} {text}"


def describe(g: Generalisation) -> list[str]:
    """Every sentence of the definition for one run, in reading order (empty ones left out)."""
    return [s for s in (gap_sentence(g), loss_sentence(g), accuracy_sentence(g),
                        verdict_sentence(g), why_sentence(g)) if s]
