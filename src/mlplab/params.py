"""The one declaration of every notebook parameter.

This table drives validation of ``experiments.yaml``, the master notebook's
``parameters`` cell and ``mlplab params``, so a parameter is added here and
nowhere else. It imports nothing heavy: the driver uses it without TensorFlow.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from dataclasses import dataclass, field, make_dataclass
from typing import Any

from mlplab.datafiles import DATASETS, NAMED

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")


class ParamError(ValueError):
    """A parameter value that is not what the declaration allows."""


ROLES = ("training", "data", "display", "runner")  # see Param.role


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # "int", "float", "bool", "str", "int_list"
    default: Any
    help: str
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    open_minimum: bool = False  # the minimum itself is not allowed: (minimum, ...
    open_maximum: bool = False  # the maximum itself is not allowed: ..., maximum)
    optional: bool = False  # None is allowed
    # What the parameter is for, from which every list of parameters derives:
    # "training" (how the networks learn), "data" (which images: runs that differ here are
    # not compared), "display" (names the run, changes no number), "runner" (a scratch path
    # the runner sets for one build).
    role: str = "training"

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"parameter {self.name!r}: role {self.role!r} is not one of {ROLES}")

    @property
    def type_hint(self) -> str:
        """The annotation in the notebook; papermill's parser reads Optional[...], not '|'."""
        base = {"int_list": "list[int]"}.get(self.kind, self.kind)
        return f"Optional[{base}]" if self.optional else base

    def expected(self) -> str:
        """Plain words for what this parameter accepts, used in error messages."""
        words = {
            "int": "an integer",
            "float": "a number",
            "bool": "true or false",
            "str": "a string",
            "int_list": "a non-empty list of integers",
        }[self.kind]
        if self.choices:
            words = "one of " + ", ".join(repr(c) for c in self.choices)
        if self.minimum is not None or self.maximum is not None:
            lo = "(" if self.open_minimum else "["
            hi = ")" if self.open_maximum else "]"
            lo_v = "-inf" if self.minimum is None else f"{self.minimum:g}"
            hi_v = "inf" if self.maximum is None else f"{self.maximum:g}"
            words += f" in {lo}{lo_v}, {hi_v}{hi}"
            if self.kind == "int_list":
                words = words.replace(" in ", ", each in ")
        if self.optional:
            words += ", or null"
        return words

    def validate(self, value: Any) -> Any:
        """Return ``value`` (ints accepted as floats) or raise ParamError.

        A list given as text is read as JSON (YAML's flow style): papermill passes
        ``-p hidden_layers "[100]"`` as the text '[100]'."""
        if isinstance(value, str) and self.kind == "int_list":
            try:
                value = json.loads(value)
            except ValueError:
                pass  # not JSON: refused below, with the text as given
        if value is None:
            if self.optional:
                return None
            raise ParamError(f"expected {self.expected()}, got null")
        checkers = {
            "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
            "bool": lambda v: isinstance(v, bool),
            "str": lambda v: isinstance(v, str) and v != "",
            "int_list": lambda v: isinstance(v, list)
            and len(v) > 0
            and all(isinstance(x, int) and not isinstance(x, bool) for x in v),
        }
        if not checkers[self.kind](value):
            raise ParamError(f"expected {self.expected()}, got {value!r}")
        if self.kind == "float":
            value = float(value)
        if self.choices and value not in self.choices:
            raise ParamError(f"expected {self.expected()}, got {value!r}")
        for number in value if self.kind == "int_list" else [value]:
            if not isinstance(number, int | float):
                continue
            too_low = self.minimum is not None and (
                number <= self.minimum if self.open_minimum else number < self.minimum
            )
            too_high = self.maximum is not None and (
                number >= self.maximum if self.open_maximum else number > self.maximum
            )
            if too_low or too_high:
                raise ParamError(f"expected {self.expected()}, got {value!r}")
        return value


# One example of every class in each of training, validation and test.
MIN_PER_CLASS = 3
DEFAULT_DATA = DATASETS["mnist-5k"]


def _sizes(hidden_layers: list[int]) -> str:
    """'784-50-10': the default dataset's network with these hidden layers, for the help."""
    return "-".join(map(str, [DEFAULT_DATA.input_size, *hidden_layers, DEFAULT_DATA.classes]))


# The most classes of a named dataset (``datafiles.DATASETS``): the help's example count.
NAMED_CLASSES = max(d.classes for d in DATASETS.values())
DEFAULT_TEST_FRACTION = DEFAULT_VALIDATION_FRACTION = 0.3


def min_samples(test_fraction: float, validation_fraction: float, n_classes: int,
                train_fraction: float = 1.0) -> int:
    """Smallest ``max_samples`` the stratified split can use: at least ``MIN_PER_CLASS`` per
    class, and each part (test; validation and training from the rest; with
    ``train_fraction`` < 1, the share kept for training and the share left out) at least one
    image per class. Parts are rounded as scikit-learn rounds them: test and validation up,
    the kept training share down."""
    n = MIN_PER_CLASS * n_classes
    while True:
        test = math.ceil(test_fraction * n)
        val = math.ceil(validation_fraction * (n - test))
        fit = n - test - val
        parts = [test, val, fit]
        if train_fraction < 1:
            kept = math.floor(train_fraction * fit)
            parts += [kept, fit - kept]
        if min(parts) >= n_classes:
            return n
        n += 1


def max_samples_error(max_samples: int, test_fraction: float, validation_fraction: float,
                      n_classes: int, train_fraction: float = 1.0) -> str | None:
    """Why ``max_samples`` is too small for this split, in one line; None if it is not."""
    least = min_samples(test_fraction, validation_fraction, n_classes, train_fraction)
    if max_samples >= least:
        return None
    fractions = (f"test_fraction {test_fraction:g} and validation_fraction "
                 f"{validation_fraction:g}" if train_fraction == 1 else
                 f"test_fraction {test_fraction:g}, validation_fraction "
                 f"{validation_fraction:g} and train_fraction {train_fraction:g}")
    return (f"field 'max_samples': expected at least {least} for {n_classes} classes at "
            f"{fractions} (each part needs one example per class), got {max_samples}")


# Defaults run quickly (well under a minute on 2 CPU cores) when the notebook is
# opened interactively; the experiment suite overrides them per run.
PARAMS: tuple[Param, ...] = (
    Param("run_name", "str", "interactive",
          "Name of this run; names the files under report/runs/.", role="display"),
    Param("dataset", "str", DEFAULT_DATA.name,
          "'mnist-5k' (embedded, offline), 'fashion-mnist', 'mnist', or a path to a "
          "Kaggle-layout CSV or a folder of IDX .gz files.", role="data"),
    Param("hidden_layers", "int_list", [50, 50],
          f"Units in each hidden layer: on {DEFAULT_DATA.name}, [50] is {_sizes([50])} and "
          f"[50, 50] is {_sizes([50, 50])} (inputs and classes are the dataset's).",
          minimum=1, maximum=4096),
    Param("activation", "str", "relu", "Hidden-layer activation.",
          choices=("relu", "sigmoid", "tanh", "elu")),
    Param("loss", "str", "categorical_crossentropy", "What training minimises.",
          choices=("categorical_crossentropy", "mean_squared_error")),
    Param("optimizer", "str", "adam", "Gradient-descent variant.",
          choices=("adam", "sgd", "rmsprop")),
    Param("learning_rate", "float", 0.001, "Optimizer step size.",
          minimum=0.0, maximum=10.0, open_minimum=True, open_maximum=True),
    Param("epochs", "int", 20, "Maximum passes over the training data.",
          minimum=1, maximum=1000),
    Param("batch_size", "int", 32, "Examples per gradient step (Keras' default is 32).",
          minimum=1, maximum=65536),
    Param("early_stopping_patience", "int", None,
          "Stop after this many epochs without a lower validation loss; null trains "
          "every epoch.", minimum=0, maximum=1000, optional=True),
    Param("restore_best_weights", "bool", False,
          "With early stopping, roll back to the epoch with the lowest validation loss."),
    Param("l2", "float", 0.0,
          "L2 weight penalty: l2 times the sum of squared kernel weights of each hidden "
          "layer is added to the loss (Keras' kernel_regularizer); 0 adds none.",
          minimum=0.0, maximum=1.0),
    Param("dropout", "float", 0.0,
          "Dropout rate after each hidden layer during training (keras.layers.Dropout); "
          "0 adds no dropout layer.", minimum=0.0, maximum=1.0, open_maximum=True),
    Param("scale_inputs", "bool", True, "Divide pixels by 255 so inputs lie in [0, 1]."),
    Param("test_fraction", "float", DEFAULT_TEST_FRACTION,
          "Share of all examples held out as the test set (stratified).",
          minimum=0.0, maximum=1.0, open_minimum=True,
          open_maximum=True, role="data"),
    Param("validation_fraction", "float", DEFAULT_VALIDATION_FRACTION,
          "Share of the training part used for validation (early stopping, curves); "
          "0.3 as in the original assignment.",
          minimum=0.0, maximum=1.0, open_minimum=True,
          open_maximum=True, role="data"),
    Param("train_fraction", "float", 1.0,
          "Share of the training part the networks learn from (stratified); validation and "
          "test sets stay as they are. Below 1 shows how the amount of data affects "
          "overfitting.", minimum=0.0, maximum=1.0, open_minimum=True),
    Param("data_split", "str", "per_seed",
          "How the seeds split the data (stratified): 'per_seed' draws each seed's split "
          "from the seed itself, so the spread over seeds includes which images were drawn "
          "and runs trained with the same seed still share a split; 'fixed' splits once "
          "(as seed 0 does) for every seed, so seeds vary only the initial weights and the "
          "batch order.", choices=("per_seed", "fixed"), role="data"),
    Param("seeds", "int_list", [0],
          "One training run per seed; the report shows their mean and spread.",
          minimum=0, maximum=2**31 - 1),
    Param("max_samples", "int", None,
          "Use at most this many examples (stratified); null uses them all. The split needs "
          "one example per class in each part: at least "
          f"{min_samples(DEFAULT_TEST_FRACTION, DEFAULT_VALIDATION_FRACTION, NAMED_CLASSES)}"
          f" for {NAMED_CLASSES} classes at the default fractions "
          "(`mlplab.params.min_samples` for others).",
          minimum=MIN_PER_CLASS * 2, optional=True, role="data"),
    Param("fast_training", "bool", True,
          "Train all seeds together in one compiled graph (Keras' updates, several times "
          "faster); false runs Keras' own fit once per seed."),
    Param("results_path", "str", None,
          "Where the notebook writes its results record (JSON); null writes none. "
          "Set by the runner.", optional=True, role="runner"),
    Param("networks_path", "str", None,
          "Where the notebook keeps its trained networks (.npz): loaded from there when the "
          "file exists, written there after training; null always trains. Set by the runner, "
          "so a page whose wording changed is rebuilt without training its seeds again.",
          optional=True, role="runner"),
)

BY_NAME: dict[str, Param] = {p.name: p for p in PARAMS}
def with_role(*roles: str) -> tuple[str, ...]:
    """Names of the parameters with one of ``roles``, in declaration order."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown parameter roles {sorted(unknown)}: expected {ROLES}")
    return tuple(p.name for p in PARAMS if p.role in roles)


# Which images a run was trained and tested on.
DATA = with_role("data")
# Set by the runner, not by experiment files.
RUNNER_ONLY = frozenset(with_role("display", "runner"))
# The runner's scratch-file paths: not part of an experiment, gone once the build ends.
SCRATCH_PATHS = frozenset(with_role("runner"))
# Set by the runner for a single run: the kernel then reports its epochs on the terminal
# running `make report` (its own stdout), not in the notebook.
EPOCH_PROGRESS_ENV = "MLPLAB_EPOCH_PROGRESS"
# Set (to anything) where nobody looks at the figures, as when grading a class: no figure
# is rendered (~0.2 CPU-s each), and the handout's (digit grid, learning curves) are not
# even built.
NO_FIGURES_ENV = "MLPLAB_NO_FIGURES"


# The Python type of each kind of parameter, as a Params field holds it.
_FIELD_TYPES = {"int": int, "float": float, "bool": bool, "str": str,
                "int_list": tuple[int, ...]}


def _frozen(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _params_post_init(self) -> None:
    """Every Params is valid: each field is checked against its declaration on creation."""
    for p in PARAMS:
        value = getattr(self, p.name)
        try:
            value = p.validate(list(value) if isinstance(value, tuple) else value)
        except ParamError as err:
            raise ParamError(f"field {p.name!r}: {err}") from None
        object.__setattr__(self, p.name, _frozen(value))
    if self.early_stopping_patience is None and self.restore_best_weights:
        raise ParamError(
            "field 'restore_best_weights': only meaningful with early_stopping_patience set"
        )
    # A path's classes are only known once it is read: data.split checks it then.
    if self.max_samples is not None and self.dataset in NAMED:
        error = max_samples_error(self.max_samples, self.test_fraction,
                                  self.validation_fraction, DATASETS[self.dataset].classes,
                                  self.train_fraction)
        if error:
            raise ParamError(error)
    if not SAFE_NAME.match(self.run_name):
        raise ParamError(
            f"field 'run_name': expected letters, digits, '.', '_' or '-' (a safe file "
            f"name, at most 80 characters), got {self.run_name!r}"
        )


def _params_as_dict(self) -> dict[str, Any]:
    """JSON-ready: lists for the list parameters, as papermill and the records expect."""
    return {p.name: list(v) if isinstance(v := getattr(self, p.name), tuple) else v
            for p in PARAMS}


def _params_replace(self, **changes: Any) -> Params:
    """A copy with ``changes``, checked like any other parameter set."""
    return validate({**self.as_dict(), **changes})


# One run's parameters: a frozen dataclass whose fields are PARAMS, so the declaration
# above stays the only place a parameter is named. List parameters are stored as tuples.
Params = make_dataclass(
    "Params",
    [(p.name, _FIELD_TYPES[p.kind] | None if p.optional else _FIELD_TYPES[p.kind],
      field(default=_frozen(p.default))) for p in PARAMS],
    frozen=True,
    namespace={"__post_init__": _params_post_init, "as_dict": _params_as_dict,
               "replace": _params_replace,
               "__doc__": "One run's parameters, every field checked against PARAMS."},
)
Params.__module__ = __name__


def defaults() -> dict[str, Any]:
    return {p.name: p.default for p in PARAMS}


def unknown_name_message(name: str) -> str:
    hint = difflib.get_close_matches(name, list(BY_NAME), n=1)
    return f"unknown parameter {name!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")


def validate(values: dict[str, Any]) -> Params:
    """``values`` as Params, defaults filled; ParamError names the first bad field."""
    for name in values:
        if name not in BY_NAME:
            raise ParamError(unknown_name_message(name))
    return Params(**values)


def parameters_cell_source() -> str:
    """The master notebook's ``parameters`` cell, generated from PARAMS."""
    lines = ["# Parameters: papermill replaces these per run. Generated by `mlplab params --sync`;",
             "# edit src/mlplab/params.py, not this cell.",
             "from typing import Optional", ""]
    for p in PARAMS:
        lines.append(f"{p.name}: {p.type_hint} = {p.default!r}  # {p.help}")
    return "\n".join(lines)


def markdown_table() -> str:
    """Parameters as a Markdown table, for docs/using.md and `mlplab params`."""
    rows = ["| name | type | default | allowed | meaning |", "|---|---|---|---|---|"]
    for p in PARAMS:
        rows.append(
            f"| `{p.name}` | `{p.type_hint}` | `{p.default!r}` | {p.expected()} | {p.help} |"
        )
    return "\n".join(rows)
