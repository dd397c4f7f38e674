"""What the student notebook of the classroom kit uses (runs in the notebook kernel).

Three things, none of which computes an answer:

- ``check("q2")``: the *public* check of a question. It looks only at the form of the answers
  (a number, a word from the list, an interval low-high, a set of letters) and at what any
  right answer must satisfy (a loss is not negative, an accuracy lies in [0, 1]); it says
  what is wrong with a hint, never an expected value. The grading checks are hidden: they live
  in the kit's autograder (``handout_templates/handout_grading.py``, not in this package).
- ``collect(namespace)``: the answers and the run's numbers the hidden checks need, turned
  into plain JSON (numbers, text, lists), so grading never touches a student's objects: an
  object that "equals anything" arrives as ``{"type": "other"}`` and scores nothing.
- formatting helpers for the notebook's printouts.

TensorFlow is not imported here.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlplab.wording import join, pct, points

MINUS = "\u2212"
UNANSWERED = "(not answered yet)"
DIAGNOSES = ("overfitting", "underfitting", "good fit")
VERDICTS = ("supported", "contradicted", "not resolved")
INTERVAL_KINDS = ("paired", "independent")
STATEMENTS = tuple("abcdef")
MAX_ITEMS = 100_000  # longest array an answer may be (Q13's predictions: one per test image)


# --- The answers each question asks for ------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    """One variable a question asks for and the form any right answer has.

    kind: 'count' (a whole number), 'number', 'numbers' (a list or array), 'interval'
    (low, high), 'word' (one of ``choices``), 'letters' (a set of letters from ``choices``).
    ``low``/``high``: bounds every right answer respects (a sanity check, not the answer).
    """

    name: str
    kind: str
    hint: str
    low: float = -math.inf
    high: float = math.inf
    choices: tuple[str, ...] = ()
    length: int | None = None


QUESTIONS: dict[str, tuple[Answer, ...]] = {
    "q1": (Answer("n_params", "count", "a whole number of weights plus biases", low=1),),
    "q2": (Answer("ce_first", "number", "a cross-entropy is never negative, and this image is "
                  "one the network gets wrong", low=0),
           Answer("ce_uniform", "number", "a cross-entropy is never negative", low=0)),
    "q3": (Answer("test_loss_by_hand", "number", "a mean cross-entropy, one number", low=0),),
    "q4": (Answer("best_epoch", "count", "an epoch number, counting from 1", low=1),
           Answer("diagnosis_baseline", "word", "one of the three words", choices=DIAGNOSES)),
    "q5": (Answer("tiny_train_accuracy", "number", "an accuracy lies between 0 and 1",
                  low=0, high=1),
           Answer("tiny_gap", "number", "a difference of two losses, one number"),
           Answer("diagnosis_tiny", "word", "one of the three words", choices=DIAGNOSES)),
    "q6": (Answer("mean_base", "number", "a mean accuracy lies between 0 and 1", low=0, high=1),
           Answer("sd_base", "number", "a standard deviation is never negative", low=0),
           Answer("se_base", "number", "a standard error is never negative", low=0),
           Answer("ci_base", "interval", "two numbers (low, high), low first")),
    "q7": (Answer("d_depth", "numbers", "one difference per seed", length=3),
           Answer("ci_depth", "interval", "two numbers (low, high), low first"),
           Answer("verdict_depth", "word", "one of the three verdicts", choices=VERDICTS)),
    "q8": (Answer("ci_width", "interval", "two numbers (low, high), low first"),
           Answer("verdict_width", "word", "one of the three verdicts", choices=VERDICTS)),
    "q9": (Answer("true_statements", "letters", "a set of letters such as {\"a\", \"c\"}",
                  choices=STATEMENTS),),
    "q10": (Answer("epochs_after_best", "count", "a whole number of epochs", low=0),
            Answer("val_loss_kept", "number", "a loss is never negative", low=0),
            Answer("val_loss_restored", "number", "a loss is never negative", low=0)),
    "q11": (Answer("ci_paired", "interval", "two numbers (low, high), low first"),
            Answer("ci_welch", "interval", "two numbers (low, high), low first"),
            Answer("narrower", "word", "\"paired\" or \"independent\"", choices=INTERVAL_KINDS)),
    "q12": (Answer("largest_raw_input", "number", "a pixel value", low=0),
            Answer("first_epoch_ratio", "number", "a ratio of two losses", low=0),
            Answer("scaling_gain", "number", "a difference of two test accuracies"),
            Answer("gain_in_sds", "number", "a number of standard deviations")),
    "q13": (Answer("mse_predictions", "numbers", "one predicted digit per test image"),
            Answer("n_digits_predicted", "count", "how many different digits: 1 to 10",
                   low=1, high=10),
            Answer("top_digit", "count", "a digit, 0 to 9", low=0, high=9),
            Answer("constant_mse", "number", "a mean squared error is never negative", low=0)),
}


def normal_word(text: str) -> str:
    """A word answer as the checks compare it: case, spaces, hyphens and underscores aside
    ('Good-Fit ' is 'good fit')."""
    return " ".join(re.sub(r"[-_]", " ", text).lower().split())


def letters_of(value: Any) -> set[str] | None:
    """A set-of-letters answer as the checks compare it ({'A', 'c '} is {'a', 'c'}); a string
    such as 'a, c' counts too. None when it is not letters."""
    if isinstance(value, str):
        items = re.findall(r"[A-Za-z]+", value)
    elif isinstance(value, set | frozenset | list | tuple):
        items = list(value)
    else:
        return None
    if not all(isinstance(x, str) for x in items):
        return None
    return {x.strip().lower() for x in items}


def _is_number(value: Any) -> bool:
    return (isinstance(value, int | float | np.integer | np.floating)
            and not isinstance(value, bool | np.bool_))


def form_problem(answer: Answer, value: Any) -> str | None:
    """What is wrong with the *form* of ``value`` for ``answer``, or None. Never compares it
    with the right answer."""
    if value is Ellipsis:
        return "not answered yet: replace the ... with your code"
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if answer.kind in ("number", "count"):
        if not _is_number(value):
            return f"should be a single number, not {_kind_of(value)}"
        if not math.isfinite(float(value)):
            return "is not a finite number (nan or inf): check for a log of 0 or a division by 0"
        if answer.kind == "count" and float(value) != round(float(value)):
            return "should be a whole number"
        if not answer.low <= float(value) <= answer.high:
            return f"is outside what any right answer can be: {answer.hint}"
        return None
    if answer.kind in ("numbers", "interval"):
        if isinstance(value, str | set | frozenset | dict) or not hasattr(value, "__len__"):
            return f"should be {answer.hint}, not {_kind_of(value)}"
        items = list(value)
        if not all(_is_number(x.item() if isinstance(x, np.ndarray) and x.ndim == 0 else x)
                   for x in items):
            return f"should contain only numbers ({answer.hint})"
        if answer.kind == "interval":
            if len(items) != 2:
                return f"should be {answer.hint}, not {len(items)} values"
            if float(items[0]) > float(items[1]):
                return "has its low end above its high end: give (low, high)"
        if answer.length is not None and len(items) != answer.length:
            return f"should have {answer.length} values ({answer.hint}), not {len(items)}"
        return None
    if answer.kind == "word":
        if not isinstance(value, str):
            return f"should be text, one of {_quoted(answer.choices)}; not {_kind_of(value)}"
        if normal_word(value) not in answer.choices:
            return f"should be one of {_quoted(answer.choices)}"
        return None
    if answer.kind == "letters":
        chosen = letters_of(value)
        if chosen is None:
            return f"should be {answer.hint}, not {_kind_of(value)}"
        if extra := sorted(chosen - set(answer.choices)):
            return f"contains {_quoted(extra)}, which is not one of the statements"
        return None
    raise ValueError(f"unknown answer kind {answer.kind!r}")


def _kind_of(value: Any) -> str:
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool | np.bool_):
        return "True/False"
    if value is None:
        return "None (did the cell assign it?)"
    if isinstance(value, set | frozenset | list | tuple | np.ndarray):
        return f"a {type(value).__name__} of {len(value)} values"
    return f"a {type(value).__name__}"


def _quoted(words: Any) -> str:
    return join([f'"{w}"' for w in words], "or")


@dataclass
class CheckResult:
    """What ``check`` found: one line per answer; ``passed`` when every form is right."""

    question: str
    problems: dict[str, str]

    @property
    def passed(self) -> bool:
        return not self.problems

    def __repr__(self) -> str:
        names = [a.name for a in QUESTIONS[self.question]]
        if self.passed:
            return (f"{self.question}: the form of {join(names)} looks right. This check does "
                    "not know the answer; your numbers are graded when you hand in.")
        lines = [f"{self.question}: not yet."]
        lines += [f"  {name} {problem}" for name, problem in self.problems.items()]
        return "\n".join(lines)


def check(question: str, namespace: dict[str, Any] | None = None) -> CheckResult:
    """The public check of ``question`` (e.g. "q2") against the notebook's variables.

    It needs no file: a renamed or moved notebook checks the same.
    """
    if question not in QUESTIONS:
        raise KeyError(f"no question {question!r}; the questions are {', '.join(QUESTIONS)}")
    ns = namespace if namespace is not None else sys._getframe(1).f_globals
    problems = {}
    for answer in QUESTIONS[question]:
        if answer.name not in ns:
            problems[answer.name] = "is not defined: run the cell that computes it"
        elif (problem := form_problem(answer, ns[answer.name])) is not None:
            problems[answer.name] = problem
    return CheckResult(question, problems)


# --- What grading reads from a run -----------------------------------------------------------

def encode(value: Any) -> dict[str, Any]:
    """An answer as plain JSON: its form and its value, nothing of the object itself."""
    if value is Ellipsis:
        return {"type": "unanswered"}
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool | np.bool_):
        return {"type": "bool", "value": bool(value)}
    if isinstance(value, int | np.integer):
        return {"type": "number", "value": int(value), "integer": True}
    if isinstance(value, float | np.floating):
        number = float(value)
        return {"type": "number", "value": number if math.isfinite(number) else None}
    if isinstance(value, str):
        return {"type": "text", "value": value[:1000]}
    if isinstance(value, set | frozenset):
        return {"type": "set", "value": [encode(v) for v in list(value)[:100]]}
    if isinstance(value, list | tuple | np.ndarray) and len(value) <= MAX_ITEMS:
        return {"type": "sequence", "tuple": isinstance(value, tuple),
                "value": [encode(v) for v in value]}
    return {"type": "other", "name": type(value).__name__}


def _plain(value: Any) -> Any:
    """The run's own numbers (histories, accuracies, probabilities) as JSON lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return np.asarray(value, dtype=float).tolist()


def _run_facts(ns: dict[str, Any]) -> dict[str, Any]:
    """Each run the questions rest on, by name; a run that failed is left out."""
    facts: dict[str, Any] = {}

    def seeds(name: str) -> None:
        experiment = ns.get(name)
        if experiment is None or not hasattr(experiment, "seeds"):
            return
        facts[name] = {
            "seeds": [int(s.seed) for s in experiment.seeds],
            "test_accuracy": _plain([s.metrics["test_accuracy"] for s in experiment.seeds]),
            "test_loss": _plain([s.metrics["test_loss"] for s in experiment.seeds]),
            "history": _plain(experiment.first.history),
            "epochs_run": int(experiment.first.epochs_run),
            "best_epoch": int(experiment.first.best_epoch)}

    for name in ("baseline", "tiny", "one_layer", "narrow", "stop", "stop_restore", "raw_ce",
                 "raw_mse"):
        try:
            seeds(name)
        except Exception:  # noqa: BLE001 -- a broken run costs its questions, nothing more
            facts.pop(name, None)
    for key, compute in (
            ("probs", lambda: _plain(ns["probs"])),
            ("labels_test", lambda: _plain(ns["labels_test"])),
            ("raw_x_train_max", lambda: float(np.max(ns["raw_ce"].prepared.x_train))),
            ("raw_mse_predictions", lambda: _plain(ns["train"].predict_labels(
                ns["raw_mse"].first.model, ns["raw_mse"].prepared.x_test))),
            ("raw_mse_labels_test", lambda: _plain(ns["raw_mse"].prepared.labels_test)),
            ("n_classes", lambda: int(len(ns["dataset"].class_names)))):
        try:
            facts[key] = compute()
        except Exception:  # noqa: BLE001
            pass
    return facts


def collect(namespace: dict[str, Any]) -> dict[str, Any]:
    """Every answer (encoded) and the run's numbers, as one JSON-able dict."""
    names = [a.name for answers in QUESTIONS.values() for a in answers]
    answers = {n: encode(namespace[n]) for n in names if n in namespace}
    return {"answers": answers, "run": _run_facts(namespace)}


# --- Printing ---------------------------------------------------------------------------------

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
