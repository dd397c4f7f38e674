"""Every comparison the index states, as data: adding one is an entry here plus its runs in
``notebooks/experiments.yaml``, nothing else.

An entry names the runs it pairs by their parameters (never by run name), the question it
answers, the index section (and so the figure) it belongs to, and its family of tests: the
original assignment's claims, Holm-corrected among themselves, or the exploratory
comparisons this report adds, corrected among themselves. The index's sections, the claims
table, the summary notebook and the matching of records to questions all read this table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from mlplab import datafiles, params
from mlplab.summary.records import ANY, MainRuns, plain_runs, run_value
from mlplab.summary.stats import Family, FamilyName
from mlplab.wording import layers_label


@dataclass(frozen=True)
class Question:
    """'How does run a differ from run b on a metric?', each run described by its
    parameters; a parameter given as ``ANY`` may take any value the two runs share."""

    a: dict[str, Any]
    b: dict[str, Any]
    label_a: str
    label_b: str
    metric: str = "test_accuracy"

    def runs(self, df: pd.DataFrame, main: MainRuns | None = None) -> tuple[str, str] | None:
        """The runs of ``df`` it compares (``main``: ``df``'s, when read already)."""
        main = main or MainRuns(df)
        a, b = main.find(**self.a), main.find(**self.b)
        if not (a and b):
            return None
        free = [k for k, v in {**self.a, **self.b}.items() if v is ANY]
        return (a, b) if all(run_value(df, a, k) == run_value(df, b, k) for k in free) else None


@dataclass(frozen=True)
class Claim:
    """A conclusion of the assignment, 'a beats b' (or 'a is below b'), with its numbers
    (single runs on Kaggle digits with raw pixels: what we test, not results of ours)."""

    text: str
    assignment_a: float
    assignment_b: float
    a_greater: bool = True
    note: str = ""


@dataclass(frozen=True)
class Sweep:
    """Every run that differs from ``baseline`` in the parameter ``vary`` alone, paired
    with the baseline on each metric: a new value in the experiments file joins by itself."""

    baseline: dict[str, Any]
    vary: str
    label: str  # names a variant; {value} is the parameter's value
    baseline_label: str

    def values(self, df: pd.DataFrame, main: MainRuns | None = None) -> list[Any]:
        """The values of ``vary`` whose runs fit the baseline otherwise, in suite order."""
        if self.vary not in df.columns:
            return []
        default = params.defaults()[self.vary]
        main = main or MainRuns(df)
        return [v for v in dict.fromkeys(df.loc[df["status"] == "ok", self.vary])
                if v != default and not pd.isna(v)
                and main.find(**{**self.baseline, self.vary: v})]

    def questions(self, df: pd.DataFrame, main: MainRuns | None = None) -> list[Question]:
        return [Question({**self.baseline, self.vary: v}, self.baseline,
                         self.label.format(value=v), self.baseline_label)
                for v in self.values(df, main)]


@dataclass(frozen=True)
class Entry:
    """One comparison (or a sweep of them) on the index."""

    name: str
    section: str  # the ``Section`` it is stated in
    question: str  # what it asks, in words
    pairs: Question | Sweep | Callable[[pd.DataFrame], list[Question]]
    family: FamilyName = FamilyName.EXPLORATORY
    claim: Claim | None = None
    metrics: tuple[str, ...] = ()  # each pair on these metrics; () keeps its question's

    def questions(self, df: pd.DataFrame, main: MainRuns | None = None) -> list[Question]:
        """The pairs of runs this entry compares in ``df`` (none when its runs are absent)."""
        if isinstance(self.pairs, Question):
            found = [self.pairs]
        elif isinstance(self.pairs, Sweep):
            found = self.pairs.questions(df, main)
        else:
            found = self.pairs(df)
        return [replace(q, metric=m) for q in found for m in self.metrics] if self.metrics \
            else found


@dataclass(frozen=True)
class Section:
    """A part of the index: its heading, and how its comparisons are drawn."""

    name: str
    heading: str
    figure: str = "errorbars"  # what the summary notebook draws for a section it has no cell for
    intro: str = ""


def net(layers: list[int], **extra: Any) -> dict[str, Any]:
    return {"hidden_layers": layers, **extra}


# The claims the comparisons test are the assignment's, about its networks on MNIST's digits:
# the questions name those networks with that dataset's inputs and classes (the registry's).
ASSIGNMENT_DATA = datafiles.DATASETS["mnist"]


def net_label(layers: list[int]) -> str:
    """'784-50-50-10': the assignment's network with these hidden layers."""
    return layers_label(layers, ASSIGNMENT_DATA.input_size, ASSIGNMENT_DATA.classes)


E1, E20, ES = {"epochs": 1}, {"epochs": 20}, {"epochs": 50, "early_stopping_patience": 2}
# The unregularised network every regulariser is measured against (mlp50x50-e20).
BASELINE = net([50, 50], **E20)
# What a regulariser changes, measured at the end of training: the generalisation gap in
# accuracy and in loss, the test loss (without the L2 penalty Keras adds to it, so that runs
# with and without L2 compare the same quantity) and the test accuracy. The loss is the test
# set's, not validation's: early stopping chose its tested epoch by validation loss, so its
# validation loss is the lowest of its epochs by construction; no run chose anything by the
# test images.
FIT_METRICS = ("gap_accuracy", "gap_loss", "test_data_loss", "test_accuracy")


def width_questions(df: pd.DataFrame) -> list[Question]:
    """Neighbouring widths of the plain 20-epoch runs, at each depth present."""
    plain = plain_runs(df)
    out = []
    for depth in sorted(plain["depth"].unique()):
        widths = sorted(plain.loc[plain["depth"] == depth, "width"].unique())
        for narrow, wide in zip(widths, widths[1:], strict=False):
            a, b = [int(wide)] * int(depth), [int(narrow)] * int(depth)
            label = {w: plain.loc[(plain["depth"] == depth) & (plain["width"] == w),
                                  "architecture"].iloc[0] for w in (wide, narrow)}
            out.append(Question(net(a, **E20), net(b, **E20), label[wide], label[narrow]))
    return out


SECTIONS: tuple[Section, ...] = (
    Section("mistakes", "The original assignment, re-examined", figure="none"),
    Section("depth-epochs", "Depth and epochs"),
    Section("width", "Width", figure="width"),
    Section("early-stopping", "Early stopping", figure="table"),
    Section("loss", "Does the loss matter? Cross-entropy vs mean squared error",
            figure="curves"),
    Section("regularisation", "Regularisation: what narrows the gap", figure="fit-curves"),
)

CLAIMS = FamilyName.CLAIMS
_QUICKER = ("Fewer epochs run means the validation loss stopped improving sooner (its "
            "lowest epoch plus the patience), not that the network learned faster or "
            "reached a lower loss: see *What \"converge quicker\" measured* under *Early "
            "stopping*.")
_BEAT = "Its own numbers show the opposite (91.2% vs 91.7%)."
_CONFOUNDED = ("Its 784-50-10 run trained on 29,400 images, the 784-50-50-10 on 20,580 "
               "(see below).")
_A20, _A1 = 0.9305555820465088, 0.7979364991188049  # its 784-50-50-10 at 20 and 1 epochs
_B20, _B1 = 0.9253174662590027, 0.6874603033065796  # its 784-50-10 at 20 and 1 epochs
_AES, _BES = 0.9123809337615967, 0.9171428680419922  # both with early stopping

COMPARISONS: tuple[Entry, ...] = (
    Entry("depth-1-epoch", "depth-epochs", "Do two hidden layers beat one after 1 epoch?",
          Question(net([50, 50], **E1), net([50], **E1), f"{net_label([50, 50])} after 1 epoch",
                   f"{net_label([50])} after 1 epoch"), CLAIMS,
          Claim("Two hidden layers beat one after 1 epoch", _A1, _B1)),
    Entry("depth-20-epochs", "depth-epochs", "Do two hidden layers beat one after 20 epochs?",
          Question(net([50, 50], **E20), net([50], **E20), f"{net_label([50, 50])} after 20 epochs",
                   f"{net_label([50])} after 20 epochs"), CLAIMS,
          Claim("Two hidden layers beat one after 20 epochs", _A20, _B20,
                note=_CONFOUNDED)),
    Entry("epochs-two-layers", "depth-epochs", f"Do 20 epochs beat 1 ({net_label([50, 50])})?",
          Question(net([50, 50], **E20), net([50, 50], **E1),
                   f"{net_label([50, 50])} after 20 epochs", "after 1 epoch"), CLAIMS,
          Claim("20 epochs beat 1 (784-50-50-10)", _A20, _A1)),
    Entry("epochs-one-layer", "depth-epochs", f"Do 20 epochs beat 1 ({net_label([50])})?",
          Question(net([50], **E20), net([50], **E1), f"{net_label([50])} after 20 epochs",
                   "after 1 epoch"), CLAIMS,
          Claim("20 epochs beat 1 (784-50-10)", _B20, _B1)),
    Entry("stopping-cost-two-layers", "early-stopping",
          f"Do 20 full epochs beat early stopping ({net_label([50, 50])})?",
          Question(net([50, 50], **E20), net([50, 50], **ES),
                   f"{net_label([50, 50])} with 20 full epochs", "with early stopping"), CLAIMS,
          Claim("20 full epochs beat early stopping with patience 2 (784-50-50-10)",
                _A20, _AES)),
    Entry("stopping-quicker", "early-stopping",
          "With early stopping, does the deeper network stop after fewer epochs?",
          Question(net([50, 50], **ES), net([50], **ES), net_label([50, 50]), net_label([50]),
                   "epochs_run"), CLAIMS,
          Claim("With early stopping, two hidden layers converge quicker than one (fewer "
                "epochs)", 8, 12, a_greater=False, note=_QUICKER)),
    Entry("stopping-better", "early-stopping",
          "With early stopping, does the deeper network end more accurate?",
          Question(net([50, 50], **ES), net([50], **ES),
                   f"{net_label([50, 50])} with early stopping",
                   f"{net_label([50])} with early stopping"), CLAIMS,
          Claim("… and to a better accuracy", _AES, _BES, note=_BEAT)),
    Entry("width-50-30-two-layers", "width", "Do 50 units per layer beat 30 (two layers)?",
          Question(net([50, 50], **E20), net([30, 30], **E20), net_label([50, 50]),
                   net_label([30, 30])), CLAIMS,
          Claim("50 units per layer beat 30 (784-50-50-10 vs 784-30-30-10)", _A20,
                0.9082539677619934)),
    Entry("width-50-30-one-layer", "width", "Do 50 units beat 30 (one layer)?",
          Question(net([50], **E20), net([30], **E20), net_label([50]), net_label([30])), CLAIMS,
          Claim("50 units beat 30 (784-50-10 vs 784-30-10)", _B20, 0.8876984119415283)),
    Entry("width-70-50-two-layers", "width", "Do 70 units per layer beat 50 (two layers)?",
          Question(net([70, 70], **E20), net([50, 50], **E20), net_label([70, 70]),
                   net_label([50, 50])), CLAIMS,
          Claim("70 units per layer beat 50 (784-70-70-10 vs 784-50-50-10)",
                0.9526190757751465, _A20)),
    Entry("width-70-50-one-layer", "width", "Do 70 units beat 50 (one layer)?",
          Question(net([70], **E20), net([50], **E20), net_label([70]), net_label([50])), CLAIMS,
          Claim("70 units beat 50 (784-70-10 vs 784-50-10)", 0.9276190400123596, _B20)),
    Entry("raw-pixels", "mistakes", "What do unscaled 0–255 pixels cost?",
          Question(net([50, 50], **E20), net([50, 50], **E20, scale_inputs=False),
                   f"{net_label([50, 50])} on pixels scaled to [0, 1]", "on raw 0–255 pixels")),
    Entry("width", "width", "How does accuracy change from one width to the next?",
          width_questions),
    Entry("stopping-cost-one-layer", "early-stopping",
          f"Do 20 full epochs beat early stopping ({net_label([50])})?",
          Question(net([50], **E20), net([50], **ES), f"{net_label([50])} with 20 full epochs",
                   "with early stopping")),
    *(Entry(f"restore-{len(layers)}", "early-stopping",
            "Does restoring the best epoch's weights beat keeping the last?",
            Question(net(layers, **ES, restore_best_weights=True), net(layers, **ES),
                     f"{net_label(layers)} restoring the best epoch", "keeping the last"))
      for layers in ([50], [50, 50])),
    Entry("loss-adam", "loss", "Does the loss matter on scaled pixels (Adam)?",
          Question(BASELINE, {**BASELINE, "loss": "mean_squared_error"}, "Cross-entropy",
                   "MSE (both on scaled pixels)")),
    Entry("loss-sgd", "loss", "Does the loss matter with plain SGD?",
          Question({**BASELINE, "optimizer": "sgd", "learning_rate": ANY},
                   {**BASELINE, "optimizer": "sgd", "learning_rate": ANY,
                    "loss": "mean_squared_error"},
                   "Cross-entropy with plain SGD", "MSE with plain SGD")),
    Entry("l2", "regularisation", "What does an L2 weight penalty change?",
          Sweep(BASELINE, "l2", "L2 {value:g}", "no regulariser"), metrics=FIT_METRICS),
    Entry("dropout", "regularisation", "What does dropout change?",
          Sweep(BASELINE, "dropout", "dropout {value:g}", "no regulariser"),
          metrics=FIT_METRICS),
    Entry("train-fraction", "regularisation", "What does less training data change?",
          Sweep(BASELINE, "train_fraction", "{value:.0%} of the training part",
                "all of it"), metrics=FIT_METRICS),
    Entry("stopping-regulariser", "regularisation",
          "What does early stopping change, seen as a regulariser?",
          Question({**BASELINE, **ES, "restore_best_weights": True}, BASELINE,
                   "early stopping (best epoch restored)", "no regulariser"),
          metrics=FIT_METRICS),
)


@dataclass(frozen=True)
class Stated:
    """A question of an entry, with the runs it found in this suite."""

    entry: Entry
    question: Question
    runs: tuple[str, str]

    @property
    def key(self) -> tuple[str, str, str]:
        return (*self.runs, self.question.metric)


@dataclass
class Plan:
    """What a suite's index states: each question whose runs are present, with its family
    (a pair any claim states belongs to the claims; every other to the exploratory)."""

    stated: list[Stated] = field(default_factory=list)

    @classmethod
    def of(cls, df: pd.DataFrame, comparisons: tuple[Entry, ...] = COMPARISONS) -> Plan:
        main = MainRuns(df)  # read once for every question's look-ups
        return cls([Stated(e, q, runs) for e in comparisons for q in e.questions(df, main)
                    if (runs := q.runs(df, main))])

    def families(self) -> dict[FamilyName, list[tuple[str, str, str]]]:
        claims = {s.key for s in self.stated if s.entry.family == CLAIMS}
        out: dict[FamilyName, list[tuple[str, str, str]]] = {n: [] for n in FamilyName}
        for s in self.stated:
            out[CLAIMS if s.key in claims else FamilyName.EXPLORATORY].append(s.key)
        return {n: list(dict.fromkeys(keys)) for n, keys in out.items()}

    def in_section(self, section: str) -> list[Stated]:
        """The section's questions, each pair and metric once, in registry order."""
        seen: dict[tuple[str, str, str], Stated] = {}
        for s in self.stated:
            if s.entry.section == section:
                seen.setdefault(s.key, s)
        return list(seen.values())

    def claims(self, comparisons: tuple[Entry, ...]) -> list[tuple[Entry, tuple[str, str] | None]]:
        """Every claim of ``comparisons`` with its runs here (None when absent)."""
        found = {s.entry.name: s.runs for s in self.stated}
        return [(e, found.get(e.name)) for e in comparisons if e.claim]


BY_NAME = {e.name: e for e in COMPARISONS}


class Page(Family):
    """The families of the comparisons a suite's index states, with the plan they come
    from: every section and table reads its comparisons from here."""

    def __init__(self, df: pd.DataFrame, comparisons: tuple[Entry, ...] = COMPARISONS,
                 sections: tuple[Section, ...] = SECTIONS) -> None:
        self.comparisons, self.sections = comparisons, sections
        self.plan = Plan.of(df, comparisons)
        super().__init__(df, self.plan.families())

    def runs(self, name: str) -> tuple[str, str] | None:
        """The runs of the entry ``name``'s first question, None when absent."""
        return next((s.runs for s in self.plan.stated if s.entry.name == name), None)
