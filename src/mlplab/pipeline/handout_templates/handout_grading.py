"""The hidden checks of the classroom handout: what grades an answer.

Shipped only to instructors (in the kit's ``autograder.zip`` and ``key/``), never in the
mlplab wheel students install, and never shown to a student: a failing part reports a hint,
never the expected value or this code.

Every expected value is recomputed here from the numbers of the student's own run, which
``mlplab.lab.handout_lab.collect`` hands over as plain JSON (``grade``, ``part``). An answer
passes only if it has the right form *and* value: a Python number where a number is asked,
text where a word is asked, so an object that "equals anything" scores nothing. Word answers
are compared after ``normal_word`` (case, spaces, hyphens), differences of accuracies in
fractions or in percentage points alike (the questions say fractions and accept both).

Runs on NumPy, SciPy and mlplab (its answer forms, and `mlplab.outcomes` for overfitting:
the definition the report uses): by ``python -m mlplab.pipeline.handout grade`` outside the
student's sandbox, or by otter's hidden tests (``part``) inside otter's container.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from mlplab.handout_answers import QUESTIONS, letters_of, normal_word
from mlplab.outcomes import Generalisation, generalisation

REL = 1e-4  # relative tolerance of a computed number: float32 against float64 arithmetic
POINTS_SCALE = 100  # a difference of accuracies in percentage points instead of a fraction
UNDERFIT_TRAIN_ACCURACY = 0.90  # the handout's underfitting bar (section 4); not the report's
N_INPUTS = 784
POINTS = 1.0  # per question, shared equally by its answers
OWN_EPOCHS = 5  # Question 16's fit
OWN_LEARNED = 0.8  # validation accuracy a 784-32-10 network passes within 5 epochs


@dataclass
class Part:
    """One answer of a question: right or not, and the hint a student sees when not."""

    name: str
    passed: bool
    hint: str = ""


@dataclass
class QuestionResult:
    question: str
    points: float
    parts: list[Part] = field(default_factory=list)

    @property
    def score(self) -> float:
        if not self.parts:
            return 0.0
        return self.points * sum(p.passed for p in self.parts) / len(self.parts)


class RunMissing(Exception):
    """The run a question rests on did not finish in this notebook."""


# --- Reading answers: the right form first -----------------------------------------------------

def number(answer: dict | None) -> float | None:
    """A number answer, or None: text, True/False, a list, an unknown object do not count."""
    if not answer or answer.get("type") != "number" or answer.get("value") is None:
        return None
    return float(answer["value"])


def whole(answer: dict | None) -> int | None:
    x = number(answer)
    return int(round(x)) if x is not None and x == round(x) else None


def numbers(answer: dict | None) -> list[float] | None:
    """A list, tuple or array of plain numbers, or None."""
    if not answer or answer.get("type") != "sequence":
        return None
    values = [number(item) for item in answer["value"]]
    return None if any(v is None for v in values) else values


def word(answer: dict | None) -> str | None:
    if not answer or answer.get("type") != "text":
        return None
    return normal_word(answer["value"])


def letters(answer: dict | None) -> set[str] | None:
    if not answer:
        return None
    if answer.get("type") == "text":
        return letters_of(answer["value"])
    if answer.get("type") in ("set", "sequence"):
        items = [a.get("value") for a in answer["value"]]
        if all(a.get("type") == "text" for a in answer["value"]):
            return letters_of(items)
    return None


def close(value: float | None, expected: float, rel: float = REL, abs_: float = 1e-12) -> bool:
    return (value is not None and math.isfinite(expected)
            and math.isclose(value, expected, rel_tol=rel, abs_tol=abs_))


def close_all(values: list[float] | None, expected: list[float], rel: float = REL) -> bool:
    return (values is not None and len(values) == len(expected)
            and all(close(v, e, rel) for v, e in zip(values, expected, strict=True)))


def close_in_either_unit(values: list[float] | None, expected: list[float]) -> bool:
    """Differences of accuracies: all as fractions, or all in percentage points."""
    return values is not None and any(
        close_all(values, [scale * e for e in expected]) for scale in (1, POINTS_SCALE))


# --- The statistics the handout teaches ---------------------------------------------------------

def t95(n: int) -> float:
    return float(stats.t.ppf(0.975, n - 1))


def mean_interval(x: list[float]) -> tuple[float, float]:
    """Mean plus or minus t times the standard error (Student's t, n - 1 degrees of freedom)."""
    a = np.asarray(x, dtype=float)
    half = t95(len(a)) * a.std(ddof=1) / math.sqrt(len(a))
    return float(a.mean() - half), float(a.mean() + half)


def paired(a: list[float], b: list[float]) -> tuple[float, float]:
    return mean_interval(list(np.asarray(a) - np.asarray(b)))


def welch(a: list[float], b: list[float]) -> tuple[float, float]:
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    return float(ci.low), float(ci.high)


def verdict(interval: tuple[float, float]) -> str:
    low, high = interval
    return "supported" if low > 0 else "contradicted" if high < 0 else "not resolved"


def diagnosis(histories: list[dict[str, list[float]]]) -> str:
    """Section 4's rule over the seeds' curves. Overfitting is the report's one definition
    (``mlplab.outcomes.generalisation``, as every run page uses it): after the epoch of
    lowest mean validation loss, validation loss rose or validation accuracy fell beyond
    seed-to-seed noise (the 95% interval of the mean change excludes 0). Then underfitting
    below ``UNDERFIT_TRAIN_ACCURACY`` mean final training accuracy (the handout's own bar;
    the report gives no verdict on it); else a good fit."""
    g = generalisation(histories)
    if g.loss_rose or g.accuracy_fell:
        return "overfitting"
    if float(np.mean(g.final_train_accuracy)) < UNDERFIT_TRAIN_ACCURACY:
        return "underfitting"
    return "good fit"


def first_mistake(probs: np.ndarray, labels: np.ndarray) -> int:
    """The test image Question 2 asks about: the first one the network gets wrong (so that
    -log p, 1 - p and -log(max p) all differ); the first image if it gets none wrong."""
    wrong = np.flatnonzero(probs.argmax(axis=1) != labels)
    return int(wrong[0]) if len(wrong) else 0


# --- The checks, one function per question -------------------------------------------------------

class Run:
    """The run's numbers from ``collect``, each checked for plausibility when first read."""

    def __init__(self, facts: dict[str, Any]):
        self.facts = facts

    def experiment(self, name: str) -> dict[str, Any]:
        e = self.facts.get(name)
        if not e:
            raise RunMissing(name)
        acc = np.asarray(e["test_accuracy"], dtype=float)
        h = e["history"]
        if (not len(acc) or not np.all((acc >= 0) & (acc <= 1))
                or not h.get("val_loss") or len(h["val_loss"]) != len(h["loss"])):
            raise RunMissing(f"{name} (its numbers are not those of a run)")
        return e

    def accuracies(self, name: str) -> list[float]:
        return [float(x) for x in self.experiment(name)["test_accuracy"]]

    def history(self, name: str) -> dict[str, list[float]]:
        return self.experiment(name)["history"]

    def histories(self, name: str) -> list[dict[str, list[float]]]:
        """Every seed's curves, in the order of the seeds, all of the same length."""
        e = self.experiment(name)
        hs = e.get("histories") or []
        if (len(hs) != len(e["test_accuracy"])
                or any(not h.get("val_loss") or any(len(h.get(k, [])) != len(h["val_loss"])
                                                    for k in ("loss", "accuracy",
                                                              "val_accuracy"))
                       for h in hs)):
            raise RunMissing(f"{name} (its numbers are not those of a run)")
        return hs

    def array(self, key: str) -> np.ndarray:
        if key not in self.facts:
            raise RunMissing(key)
        return np.asarray(self.facts[key], dtype=float)

    def probabilities(self) -> tuple[np.ndarray, np.ndarray]:
        probs, labels = self.array("probs"), self.array("labels_test").astype(int)
        if (probs.ndim != 2 or len(probs) != len(labels) or np.any(probs < 0)
                or not np.allclose(probs.sum(axis=1), 1, atol=1e-3)):
            raise RunMissing("probs (not the network's probabilities)")
        return probs, labels


Check = Callable[[dict, Run], dict[str, tuple[bool, str]]]
CHECKS: dict[str, Check] = {}


def question(name: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[name] = fn
        return fn
    return register


@question("q1")
def _q1(a, run):
    widths = [N_INPUTS, 30, 20, 10]
    expected = sum((n_in + 1) * n_out for n_in, n_out in zip(widths, widths[1:], strict=False))
    return {"n_params": (whole(a.get("n_params")) == expected,
                         "count (inputs + 1) x units for each of the three dense layers: "
                         "weights and biases, and add them up")}


@question("q2")
def _q2(a, run):
    probs, labels = run.probabilities()
    i = first_mistake(probs, labels)
    return {"ce_first": (close(number(a.get("ce_first")), -math.log(probs[i, labels[i]])),
                         "only the true digit's term survives: minus the natural log (np.log) "
                         "of the probability of the true digit of that image"),
            "ce_uniform": (close(number(a.get("ce_uniform")), math.log(int(run.facts.get(
                "n_classes", 10)))), "a uniform guess gives the true digit probability 1/10; "
                "use the natural log, as Keras does")}


@question("q3")
def _q3(a, run):
    probs, labels = run.probabilities()
    p_true = probs[np.arange(len(labels)), labels]
    by_hand = float(-np.mean(np.log(np.maximum(p_true, 1e-30))))
    keras_like = float(-np.mean(np.log(np.clip(p_true, 1e-7, 1 - 1e-7))))
    x = number(a.get("test_loss_by_hand"))
    return {"test_loss_by_hand": (close(x, by_hand) or close(x, keras_like),
                                  "take each row's probability of its true digit (rows: "
                                  "np.arange(len(labels_test)), columns: labels_test), minus "
                                  "the natural log, then the mean over the images")}


def _curves_read(g: Generalisation, a: dict, names: tuple[str, str, str]):
    """The best epoch and the two change intervals of section 4, against the report's."""
    epoch, loss, accuracy = names
    return {epoch: (whole(a.get(epoch)) == g.loss_best_epoch,
                    "average the validation loss over the seeds first (axis 0), then find its "
                    "lowest epoch; epochs count from 1 but Python from 0"),
            loss: (close_all(numbers(a.get(loss)), [g.val_loss.low, g.val_loss.high]),
                   "for each seed, its last validation loss minus its value at that epoch; "
                   "then the mean minus and plus t (2 degrees of freedom, not 1.96) times "
                   "the standard error"),
            accuracy: (close_in_either_unit(numbers(a.get(accuracy)),
                                            [g.val_accuracy.low, g.val_accuracy.high]),
                       "the same for the validation accuracy: last minus at that epoch")}


@question("q4")
def _q4(a, run):
    hs = run.histories("baseline")
    g = generalisation(hs)
    return {**_curves_read(g, a, ("best_epoch", "ci_loss_change", "ci_accuracy_change")),
            "diagnosis_baseline": (word(a.get("diagnosis_baseline")) == diagnosis(hs),
                                   "overfitting first: does the loss interval lie above 0 or "
                                   "the accuracy interval below 0? Then the 90% test on the "
                                   "mean last training accuracy")}


@question("q5")
def _q5(a, run):
    hs = run.histories("tiny")
    h = hs[0]
    return {"tiny_train_accuracy": (close(number(a.get("tiny_train_accuracy")),
                                          float(np.mean([x["accuracy"][-1] for x in hs]))),
                                    "the last training accuracy of each seed, as a fraction, "
                                    "then their mean"),
            "tiny_gap": (close(number(a.get("tiny_gap")), h["val_loss"][-1] - h["loss"][-1]),
                         "seed 0: last validation loss minus last training loss"),
            "diagnosis_tiny": (word(a.get("diagnosis_tiny")) == diagnosis(hs),
                               "the rule of Question 4 on the tiny network's three seeds: "
                               "overfitting first, then the 90% training-accuracy test")}


@question("q6")
def _q6(a, run):
    acc = np.asarray(run.accuracies("baseline"))
    sd = float(acc.std(ddof=1))
    ci = mean_interval(list(acc))
    one = [number(a.get(n)) for n in ("mean_base", "sd_base", "se_base")]
    return {"mean_base": (close_in_either_unit(_listed(one[0]), [float(acc.mean())]),
                          "the mean of the three test accuracies"),
            "sd_base": (close_in_either_unit(_listed(one[1]), [sd]),
                        "the sample standard deviation: np.std divides by n unless you pass "
                        "ddof=1"),
            "se_base": (close_in_either_unit(_listed(one[2]), [sd / math.sqrt(len(acc))]),
                        "the standard error is the standard deviation divided by the square "
                        "root of the number of seeds"),
            "ci_base": (close_in_either_unit(numbers(a.get("ci_base")), list(ci)),
                        "the mean minus and plus t (2 degrees of freedom, not 1.96) times the "
                        "standard error")}


def _listed(x: float | None) -> list[float] | None:
    return None if x is None else [x]


def _claim(a, run, first: str, second: str, ci_name: str,
           verdict_name: str) -> dict[str, tuple[bool, str]]:
    """A paired claim "first has the higher test accuracy than second": interval, verdict."""
    ci = paired(run.accuracies(first), run.accuracies(second))
    return {ci_name: (close_in_either_unit(numbers(a.get(ci_name)), list(ci)),
                      "paired: the per-seed differences, in the order the question says, "
                      "their mean minus and plus t (2 degrees of freedom) times their standard "
                      "error"),
            verdict_name: (word(a.get(verdict_name)) == verdict(ci),
                           "the verdict follows the interval: above 0, below 0, or "
                           "containing 0")}


@question("q7")
def _q7(a, run):
    d = list(np.asarray(run.accuracies("baseline")) - np.asarray(run.accuracies("one_layer")))
    return {"d_depth": (close_in_either_unit(numbers(a.get("d_depth")), d),
                        "subtract seed by seed, baseline minus one layer, in the order of "
                        "the seeds"),
            **_claim(a, run, "baseline", "one_layer", "ci_depth", "verdict_depth")}


@question("q8")
def _q8(a, run):
    return _claim(a, run, "baseline", "narrow", "ci_width", "verdict_width")


@question("q9")
def _q9(a, run):
    base, one = run.accuracies("baseline"), run.accuracies("one_layer")
    low, high = paired(base, one)
    truth = {"a": np.mean(base) > np.mean(one), "b": low <= 0 <= high,
             "c": False, "d": False, "e": t95(3) > 2 * 1.96, "f": False}
    return {"true_statements": (letters(a.get("true_statements"))
                                == {k for k, v in truth.items() if v},
                                "decide a and b from your numbers and e from t with 2 degrees "
                                "of freedom; reread 'Reading the interval' and the standard "
                                "deviation bullet for c, d and f")}


@question("q10")
def _q10(a, run):
    stop, restore = run.experiment("stop"), run.history("stop_restore")
    return {"epochs_after_best": (whole(a.get("epochs_after_best"))
                                  == stop["epochs_run"] - stop["best_epoch"],
                                  "each run records how many epochs it ran "
                                  "(stop.first.epochs_run) and its best epoch"),
            "val_loss_kept": (close(number(a.get("val_loss_kept")),
                                    stop["history"]["val_loss"][-1]),
                              "the network stop.first.model returned, on the validation "
                              "images: minus the natural log of each image's probability of "
                              "its true digit, then the mean (as in Question 3)"),
            "val_loss_restored": (close(number(a.get("val_loss_restored")),
                                        min(restore["val_loss"])),
                                  "the same for the network stop_restore.first.model "
                                  "returned")}


@question("q11")
def _q11(a, run):
    restored, kept = run.accuracies("stop_restore"), run.accuracies("stop")
    p, w = paired(restored, kept), welch(restored, kept)
    return {"ci_paired": (close_in_either_unit(numbers(a.get("ci_paired")), list(p)),
                          "per-seed differences restored minus kept, their mean minus and plus "
                          "t times their standard error"),
            "ci_welch": (close_in_either_unit(numbers(a.get("ci_welch")), list(w)),
                         "scipy's Welch interval of restored against kept, in that order"),
            "narrower": (word(a.get("narrower"))
                         == ("paired" if p[1] - p[0] < w[1] - w[0] else "independent"),
                         "compare the two widths, high minus low")}


@question("q12")
def _q12(a, run):
    base, raw = run.experiment("baseline"), run.experiment("raw_ce")
    gain = base["test_accuracy"][0] - raw["test_accuracy"][0]
    sd = float(np.std(base["test_accuracy"], ddof=1))
    return {"largest_raw_input": (close(number(a.get("largest_raw_input")),
                                        float(run.array("raw_x_train_max"))),
                                  "the largest value of the array the raw network trained on"),
            "first_epoch_ratio": (close(number(a.get("first_epoch_ratio")),
                                        raw["history"]["loss"][0] / base["history"]["loss"][0]),
                                  "history['loss'][0] is the first epoch's training loss; raw "
                                  "divided by baseline"),
            "scaling_gain": (close_in_either_unit(_listed(number(a.get("scaling_gain"))),
                                                  [gain]),
                             "seed 0's baseline test accuracy minus the raw network's"),
            "gain_in_sds": (sd > 0 and close(number(a.get("gain_in_sds")), gain / sd),
                            "the gain divided by the sample standard deviation (ddof=1) of "
                            "the baseline's three test accuracies, both in the same unit")}


@question("q13")
def _q13(a, run):
    pred = run.array("raw_mse_predictions").astype(int)
    labels = run.array("raw_mse_labels_test").astype(int)
    top = int(np.bincount(pred, minlength=10).argmax())
    given = numbers(a.get("mse_predictions"))
    n_classes = int(run.facts.get("n_classes", 10))
    return {"mse_predictions": (given is not None and len(given) == len(pred)
                                and bool(np.array_equal(np.asarray(given), pred)),
                                "train.predict_labels(model, x) returns one digit per image"),
            "n_digits_predicted": (whole(a.get("n_digits_predicted")) == len(np.unique(pred)),
                                   "count the different values: np.unique"),
            "top_digit": (whole(a.get("top_digit")) == top,
                          "np.bincount counts each digit; argmax picks the most frequent"),
            "constant_mse": (close(number(a.get("constant_mse")),
                                   2 / n_classes * float(np.mean(labels != top))),
                             "2/10 times the share of test images whose label is not that "
                             "digit")}


@question("q14")
def _q14(a, run):
    h = run.history("baseline")
    best = int(np.argmin(h["val_loss"]))
    final = h["accuracy"][-1] - h["val_accuracy"][-1]
    at_best = h["accuracy"][best] - h["val_accuracy"][best]
    return {"gap_final": (close_in_either_unit(_listed(number(a.get("gap_final"))), [final]),
                          "training accuracy minus validation accuracy, both at the last "
                          "epoch"),
            "gap_best": (close_in_either_unit(_listed(number(a.get("gap_best"))), [at_best]),
                         "the same difference at the epoch with the lowest validation loss "
                         "(np.argmin gives its position)"),
            "gap_trend": (word(a.get("gap_trend")) == ("grew" if final > at_best else "shrank"),
                          "compare your two gaps")}


@question("q15")
def _q15(a, run):
    h = run.history("baseline")
    best = int(np.argmin(h["val_loss"]))
    rise = h["val_loss"][-1] / h["val_loss"][best] - 1
    change = h["val_accuracy"][-1] - h["val_accuracy"][best]
    return {"best_accuracy_epoch": (whole(a.get("best_accuracy_epoch"))
                                    == int(np.argmax(h["val_accuracy"])) + 1,
                                    "np.argmax finds the first highest validation accuracy; "
                                    "epochs count from 1"),
            "val_loss_rise": (close_in_either_unit(_listed(number(a.get("val_loss_rise"))),
                                                   [rise]),
                              "the last validation loss divided by its lowest value, minus 1"),
            "val_accuracy_change": (close_in_either_unit(
                _listed(number(a.get("val_accuracy_change"))), [change]),
                "the last validation accuracy minus the one at the lowest-loss epoch")}


@question("q16")
def _q16(a, run):
    own = run.facts.get("own")
    if not own:
        raise RunMissing("own_model and own_history")
    h = own["history"]
    compiled = (own["compiled"] and own["loss"] == "categorical_crossentropy"
                and "accuracy" in h)
    fitted = (len(h.get("loss", [])) == OWN_EPOCHS and "val_loss" in h
              and h.get("val_accuracy", [0])[-1] >= OWN_LEARNED)
    return {"own_model": (compiled, "compile with an optimizer, the categorical cross-entropy "
                                    "loss and metrics=[\"accuracy\"]"),
            "own_history": (fitted, "fit on the training images for 5 epochs with "
                                    "validation_data=(x_val, y_val); the network should reach "
                                    "80% validation accuracy")}


@question("q17")
def _q17(a, run):
    h = run.history("dropped")
    gap = h["accuracy"][-1] - h["val_accuracy"][-1]
    return {"gap_dropout": (close_in_either_unit(_listed(number(a.get("gap_dropout"))), [gap]),
                            "training accuracy minus validation accuracy of the dropout "
                            "network, both at the last epoch"),
            **_claim(a, run, "dropped", "baseline", "ci_dropout", "verdict_dropout")}


# --- Grading ------------------------------------------------------------------------------------

def grade(bundle: dict[str, Any]) -> dict[str, QuestionResult]:
    """Every question's parts, right or wrong, from ``collect``'s bundle."""
    answers, run = bundle.get("answers", {}), Run(bundle.get("run", {}))
    results = {}
    for q, spec in QUESTIONS.items():
        result = QuestionResult(q, POINTS)
        try:
            checked = CHECKS[q](answers, run)
        except RunMissing as missing:
            checked = {a.name: (False, f"the run this question rests on ({missing}) did not "
                                       "finish in your notebook: see the error there")
                       for a in spec}
        for a in spec:
            ok, hint = checked[a.name]
            if a.name not in answers or answers[a.name].get("type") == "unanswered":
                ok, hint = False, "not answered"
            result.parts.append(Part(a.name, bool(ok), "" if ok else hint))
        results[q] = result
    return results


_CACHE: dict[str, dict[str, QuestionResult]] = {}


def part(question_name: str, answer_name: str, bundle: dict[str, Any]) -> bool:
    """Whether one answer is right, for otter's hidden tests (one test case per answer).

    Each case collects the notebook's answers anew; the bundle's content decides whether the
    last grading can be reused (the same notebook state grades the same)."""
    import hashlib
    import json

    key = hashlib.sha256(json.dumps(bundle, sort_keys=True).encode()).hexdigest()
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = grade(bundle)
    return next(p.passed for p in _CACHE[key][question_name].parts if p.name == answer_name)
