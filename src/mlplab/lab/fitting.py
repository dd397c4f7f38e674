"""What both ways of training share: the data as network inputs, the compiled model and
one seed's result. Keras' own ``fit`` (``train``) and all seeds in one graph
(``multiseed``) both import this module; neither imports the other, and the experiment
(``experiment``) picks between them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlplab import outcomes
from mlplab.lab import data as data_mod
from mlplab.lab import models
from mlplab.params import Params

# Steps run inside one call into TensorFlow, as the master notebook's shown `fit` runs
# them. The updates are the same as Keras' default loop (same batches, same order); only
# Python overhead is saved.
STEPS_PER_EXECUTION = 256
# History key, only with an L2 penalty: the penalty after each epoch, on the weights that
# validation saw. Keras includes it in every loss it reports (training, validation, test),
# so validation loss minus this is the validation data loss that runs without L2 report.
PENALTY = outcomes.PENALTY


@dataclass
class Prepared:
    """One split of the data as network inputs: what one seed trains, validates and tests on."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    labels_test: np.ndarray

    @property
    def n_inputs(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_classes(self) -> int:
        """Classes of the dataset (the one-hot width), whether or not every one is present."""
        return int(self.y_train.shape[1])


def prepare(dataset: data_mod.Dataset, split: data_mod.Split, scale: bool) -> Prepared:
    return SeedSplits.of(dataset, scale, {0: split}).prepared(0)


@dataclass
class SeedSplits:
    """Every example as network inputs, computed once, and each seed's split of them (rows of
    ``x``): with ``data_split: per_seed`` every seed draws its own, and the seeds of one run
    still train together on the fast path, gathering their rows from the one copy."""

    x: np.ndarray  # (n, inputs) float32
    y: np.ndarray  # (n, classes) one-hot
    labels: np.ndarray  # (n,)
    splits: dict[int, data_mod.Split]  # by seed

    @classmethod
    def of(cls, dataset: data_mod.Dataset, scale: bool,
           splits: dict[int, data_mod.Split]) -> SeedSplits:
        rows = np.arange(dataset.n)
        return cls(data_mod.features(dataset, rows, scale),
                   data_mod.one_hot(dataset.y, len(dataset.class_names)), dataset.y, splits)

    @classmethod
    def shared(cls, prepared: Prepared, seeds: list[int]) -> SeedSplits:
        """One prepared split that every seed shares (rows: training, validation, test)."""
        sizes = np.cumsum([0, len(prepared.x_train), len(prepared.x_val),
                           len(prepared.x_test)])
        split = data_mod.Split(*(np.arange(a, b) for a, b in zip(sizes, sizes[1:],
                                                                   strict=False)))
        return cls(np.concatenate([prepared.x_train, prepared.x_val, prepared.x_test]),
                   np.concatenate([prepared.y_train, prepared.y_val, prepared.y_test]),
                   np.concatenate([np.argmax(prepared.y_train, axis=1),
                                   np.argmax(prepared.y_val, axis=1), prepared.labels_test]),
                   dict.fromkeys(seeds, split))

    @property
    def n_inputs(self) -> int:
        return int(self.x.shape[1])

    @property
    def n_classes(self) -> int:
        return int(self.y.shape[1])

    def prepared(self, seed: int) -> Prepared:
        split = self.splits[seed]
        return Prepared(self.x[split.train], self.y[split.train], self.x[split.val],
                        self.y[split.val], self.x[split.test], self.y[split.test],
                        self.labels[split.test])


@dataclass
class SeedResult:
    seed: int
    metrics: dict[str, float]
    history: dict[str, list[float]]
    epochs_run: int
    best_epoch: int
    train_seconds: float
    seconds_per_epoch: float
    model: Any = field(repr=False, default=None)

    def record(self) -> dict[str, Any]:
        """The JSON-ready part (everything but the model)."""
        return {k: v for k, v in self.__dict__.items() if k != "model"}


def compile_model(model, params: Params, default_loop: bool = False) -> None:
    """Compile as the notebook's shown cell does; ``default_loop`` runs one step per call
    into TensorFlow instead, Keras' default, which ``make bench`` measures."""
    model.compile(
        optimizer=models.optimizer(params),
        loss=params.loss,
        metrics=["accuracy"],
        steps_per_execution=1 if default_loop else STEPS_PER_EXECUTION,
    )
