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

import re
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlplab.handout_answers import QUESTIONS, encode, form_problem
from mlplab.wording import join, pct, points

MINUS = "\u2212"
CURVES = ("loss", "val_loss", "accuracy", "val_accuracy")  # each seed's, for Questions 4-5
UNANSWERED = "(not answered yet)"


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
            "histories": [_plain({k: s.history[k] for k in CURVES if k in s.history})
                          for s in experiment.seeds],
            "epochs_run": int(experiment.first.epochs_run),
            "best_epoch": int(experiment.first.best_epoch)}

    for name in ("baseline", "tiny", "one_layer", "narrow", "stop", "stop_restore", "raw_ce",
                 "raw_mse", "dropped"):
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
            ("n_classes", lambda: int(len(ns["dataset"].class_names))),
            ("own", lambda: {"history": _plain(ns["own_history"].history),
                             "loss": loss_name(ns["own_model"].loss),
                             "compiled": ns["own_model"].optimizer is not None})):
        try:
            facts[key] = compute()
        except Exception:  # noqa: BLE001
            pass
    return facts


def loss_name(loss: Any) -> str:
    """'categorical_crossentropy' whether compile got that string, a Keras loss object or its
    class."""
    name = getattr(loss, "name", None) or getattr(loss, "__name__", None) or str(loss)
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower().replace("cross_entropy", "crossentropy")


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
