"""The answers the classroom handout asks for: their names, forms and how they compare.

Shared by the student's public check (``mlplab.lab.handout_lab``, in the notebook kernel) and
the grading (``mlplab.pipeline.handout_grade`` and the hidden checks of the kit's
autograder), so both read an answer the same way. Nothing here knows a right answer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlplab.wording import join

DIAGNOSES = ("overfitting", "underfitting", "good fit")
VERDICTS = ("supported", "contradicted", "not resolved")
INTERVAL_KINDS = ("paired", "independent")
STATEMENTS = tuple("abcdef")
GAP_TRENDS = ("grew", "shrank")
MAX_ITEMS = 100_000  # longest array an answer may be (Q13's predictions: one per test image)


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
           Answer("ci_loss_change", "interval", "two numbers (low, high), low first"),
           Answer("ci_accuracy_change", "interval", "two numbers (low, high), low first"),
           Answer("diagnosis_baseline", "word", "one of the three words", choices=DIAGNOSES)),
    "q5": (Answer("tiny_train_accuracy", "number", "a mean of accuracies lies between 0 and 1",
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
    "q14": (Answer("gap_final", "number", "a difference of two accuracies", low=-100, high=100),
            Answer("gap_best", "number", "a difference of two accuracies", low=-100, high=100),
            Answer("gap_trend", "word", "one of the two words", choices=GAP_TRENDS)),
    "q15": (Answer("best_accuracy_epoch", "count", "an epoch number, counting from 1", low=1),
            Answer("val_loss_rise", "number", "a relative rise: 0.12 for 12%", low=0),
            Answer("val_accuracy_change", "number", "a difference of two accuracies",
                   low=-100, high=100)),
    "q16": (Answer("own_model", "model", "the Keras model you compiled"),
            Answer("own_history", "history", "what model.fit returns")),
    "q17": (Answer("gap_dropout", "number", "a difference of two accuracies",
                   low=-100, high=100),
            Answer("ci_dropout", "interval", "two numbers (low, high), low first"),
            Answer("verdict_dropout", "word", "one of the three verdicts", choices=VERDICTS)),
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
    if answer.kind == "model":
        if not callable(getattr(value, "count_params", None)):
            return f"should be a Keras model, not {_kind_of(value)}"
        if getattr(value, "optimizer", None) is None or not getattr(value, "compiled", True):
            return "is not compiled yet: call its compile method"
        return None
    if answer.kind == "history":
        if not isinstance(getattr(value, "history", None), dict):
            return f"should be what model.fit returns, not {_kind_of(value)}"
        if not value.history.get("loss"):
            return "holds no epochs: did fit run?"
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


