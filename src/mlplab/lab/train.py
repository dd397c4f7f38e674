"""Training: one seeded fit, timed, with the history a report needs."""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mlplab import outcomes
from mlplab.lab import data as data_mod
from mlplab.lab import models, theory
from mlplab.lab.backend import native_stderr_silenced
from mlplab.lab.record import dead_units
from mlplab.lab.seeding import seed_training
from mlplab.params import EPOCH_PROGRESS_ENV, RUNNER_ONLY, Params

# Steps run inside one call into TensorFlow on the fast path. The updates are the same
# as Keras' default loop (same batches, same order); only Python overhead is saved.
STEPS_PER_EXECUTION = 256
VALIDATION_BATCH = 1024
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


def prepare(dataset: data_mod.Dataset, split: data_mod.Split, scale: bool) -> Prepared:
    return SeedSplits.of(dataset, scale, {0: split}).prepared(0)


@dataclass
class SeedSplits:
    """Every example as network inputs, computed once, and each seed's split of them (rows of
    ``x``): with ``data_split: per_seed`` every seed draws its own, and the seeds of one run
    still train together on the fast path, gathering their rows from the one copy."""

    x: np.ndarray  # (n, 784) float32
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


def compile_model(model, params: Params) -> None:
    fast = params.fast_training
    model.compile(
        optimizer=models.optimizer(params),
        loss=params.loss,
        metrics=["accuracy"],
        steps_per_execution=STEPS_PER_EXECUTION if fast else 1,
    )


def _terminal_progress(params: Params, seed: int):
    """A callback printing one line per epoch to the kernel's terminal, not the notebook."""
    import keras

    class TerminalProgress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            print(f"  {params.run_name}: seed {seed}, epoch {epoch + 1}/{params.epochs}, "
                  f"val_accuracy {logs.get('val_accuracy', float('nan')):.3f}",
                  file=sys.__stdout__, flush=True)

    return TerminalProgress()


def fit_seed(params: Params, prepared: Prepared, seed: int, verbose: int = 0,
             n_classes: int = 10) -> SeedResult:
    """Train one network from ``seed`` and evaluate it on the held-out test set."""
    import keras

    seed_training(seed)
    model = models.build(params, n_classes, n_inputs=prepared.x_train.shape[1])
    compile_model(model, params)

    epoch_seconds: list[float] = []
    penalties: list[float] = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            epoch_seconds.append(time.perf_counter() - self.start)
            if params.l2 > 0:
                penalties.append(float(sum(float(x) for x in self.model.losses)))

    misclassified: dict[str, list[float]] = {key: [] for key in outcomes.MISCLASSIFIED_KEYS}

    class Misclassified(keras.callbacks.Callback):
        """The validation images it gets wrong, after each epoch (``outcomes.misclassified``)."""

        def on_epoch_end(self, epoch, logs=None):
            logits = theory.model_logits(self.model, prepared.x_val)
            for key, value in outcomes.misclassified(logits, prepared.y_val,
                                                     params.loss).items():
                misclassified[key].append(value)

    callbacks: list[Any] = [EpochTimer(), Misclassified()]
    if os.environ.get(EPOCH_PROGRESS_ENV):
        callbacks.append(_terminal_progress(params, seed))
    if params.early_stopping_patience is not None:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=params.early_stopping_patience,
            restore_best_weights=params.restore_best_weights))

    start = time.perf_counter()
    with native_stderr_silenced():
        fitted = model.fit(
            prepared.x_train, prepared.y_train,
            validation_data=(prepared.x_val, prepared.y_val),
            epochs=params.epochs, batch_size=params.batch_size,
            # Validation only evaluates: a large batch changes no update, only overhead.
            validation_batch_size=VALIDATION_BATCH if params.fast_training else None,
            shuffle=True, callbacks=callbacks, verbose=verbose,
        )
    train_seconds = time.perf_counter() - start

    history = {k: [float(v) for v in vals] for k, vals in fitted.history.items()}
    history["epoch_seconds"] = epoch_seconds
    history.update(misclassified)
    if params.l2 > 0:
        history[PENALTY] = penalties
    epochs_run = len(history["loss"])
    best_epoch = int(np.argmin(history["val_loss"])) + 1
    with native_stderr_silenced():
        test_loss, test_accuracy = model.evaluate(prepared.x_test, prepared.y_test, verbose=0,
                                                  batch_size=1024)
    restored = params.early_stopping_patience is not None and params.restore_best_weights
    metrics = tested_metrics(history, best_epoch if restored else epochs_run)
    metrics.update(test_accuracy=float(test_accuracy), test_loss=float(test_loss))
    return SeedResult(seed=seed, metrics=metrics, history=history, epochs_run=epochs_run,
                      best_epoch=best_epoch, train_seconds=train_seconds,
                      seconds_per_epoch=train_seconds / epochs_run, model=model)


def tested_metrics(history: dict[str, list[float]], epoch: int) -> dict[str, float]:
    """Training and validation metrics of the network that is tested: the one after
    ``epoch`` (1-based), which is the best epoch when early stopping restored its weights."""
    keys = {"val_accuracy": "val_accuracy", "val_loss": "val_loss",
            "train_accuracy": "accuracy", "train_loss": "loss"}
    metrics = {name: history[key][epoch - 1] for name, key in keys.items()}
    metrics["tested_epoch"] = epoch
    return metrics


def predict_probabilities(model, x: np.ndarray, batch_size: int = 8192) -> np.ndarray:
    """Softmax outputs by direct calls in large batches: the same numbers as
    ``model.predict`` without its per-call tf.data machinery (about 20x faster here)."""
    return np.concatenate([np.asarray(model(x[i:i + batch_size], training=False))
                           for i in range(0, len(x), batch_size)])


def predict_labels(model, x: np.ndarray) -> np.ndarray:
    return np.argmax(predict_probabilities(model, x), axis=1)


@dataclass
class Experiment:
    """Everything one notebook run produced: the data, each seed's split and one result per
    seed. The per-run figures show the first seed: its network, on its split."""

    params: Params
    dataset: data_mod.Dataset
    data: SeedSplits
    seeds: list[SeedResult]

    @property
    def first(self) -> SeedResult:
        """The first seed's network, shown in the per-run figures."""
        return self.seeds[0]

    @property
    def split(self) -> data_mod.Split:
        """The first seed's split."""
        return self.data.splits[self.first.seed]

    @functools.cached_property
    def prepared(self) -> Prepared:
        """The first seed's split as network inputs."""
        return self.data.prepared(self.first.seed)

    def seed_records(self) -> list[dict[str, Any]]:
        """Each seed's JSON-ready record plus the size of its test set and how many of its
        test images it assigned to each class: a network that collapsed assigns them all to
        one, which the report must say."""
        n_classes = len(self.dataset.class_names)
        records = []
        for s in self.seeds:
            split = self.data.splits[s.seed]
            steps = outcomes.steps_per_epoch(len(split.train), self.params.batch_size)
            predicted = predict_labels(s.model, self.data.x[split.test])
            records.append({**s.record(), "n_test": len(split.test),
                            "test_predicted_counts": np.bincount(
                                predicted, minlength=n_classes).tolist(),
                            "steps_per_epoch": steps,
                            "dead_units": dead_units(s.model, self.data.x[split.val])})
        return records

    def data_record(self) -> dict[str, Any]:
        """The data and the first seed's split; with ``data_split: per_seed`` every other
        seed's split is drawn the same way from that seed (``data.split_of``)."""
        return {"source": self.dataset.source, "files": self.dataset.files,
                "sha256": self.dataset.sha256, "n_total": self.dataset.n,
                "data_split": self.params.data_split,
                "n_train": len(self.split.train), "n_val": len(self.split.val),
                "n_test": len(self.split.test), "class_names": list(self.dataset.class_names),
                # Which examples went where, as 0-based data rows (CSV: 0 = first row after
                # the header; IDX/npz: training file first, then the t10k file).
                "rows": {"train": self.split.train.tolist(), "val": self.split.val.tolist(),
                         "test": self.split.test.tolist()}}


def run_experiment(params: Params, dataset: data_mod.Dataset | None = None,
                   verbose: int = 0) -> Experiment:
    """Load the data, split it for each seed, and train one network per seed (or load the
    networks from ``params.networks_path`` when the runner kept them from an identical run)."""
    dataset = dataset or data_mod.load(params.dataset)
    data = SeedSplits.of(dataset, params.scale_inputs,
                         {seed: data_mod.split_of(dataset, params, seed)
                          for seed in params.seeds})
    n_classes = len(dataset.class_names)
    kept = params.networks_path
    if kept and Path(kept).exists():
        seeds = load_networks(kept, params, n_classes)
    elif params.fast_training:  # all seeds together in one compiled graph
        from mlplab.lab import multiseed

        seeds = multiseed.fit_seeds(params, data, params.seeds, n_classes)
    else:  # Keras' own fit, one seed after another
        seeds = [fit_seed(params, data.prepared(seed), seed, verbose, n_classes)
                 for seed in params.seeds]
    if kept and not Path(kept).exists():
        save_networks(kept, params, seeds)
    return Experiment(params, dataset, data, seeds)


def _training_inputs(params: Params) -> dict[str, Any]:
    return {k: v for k, v in params.as_dict().items() if k not in RUNNER_ONLY}


def save_networks(path: Path | str, params: Params, seeds: list[SeedResult]) -> None:
    """Every seed's weights and record in one .npz (no pickles): enough to rebuild the
    experiment exactly, since the data, split and predictions follow from the parameters."""
    meta = {"params": _training_inputs(params), "seeds": [s.record() for s in seeds]}
    arrays = {f"seed{i}_{j}": w for i, s in enumerate(seeds)
              for j, w in enumerate(s.model.get_weights())}
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez(tmp, meta=np.array(json.dumps(meta)), **arrays)
    os.replace(tmp, path)


def load_networks(path: Path | str, params: Params, n_classes: int) -> list[SeedResult]:
    """The seeds ``save_networks`` kept, each with its trained, compiled Keras model."""
    with np.load(path) as kept:
        meta = json.loads(str(kept["meta"]))
        if meta["params"] != _training_inputs(params):
            raise ValueError(f"{path}: networks trained with other parameters")
        seeds = []
        for i, record in enumerate(meta["seeds"]):
            first_kernel = kept[f"seed{i}_0"]
            model = models.build(params, n_classes, n_inputs=first_kernel.shape[0])
            compile_model(model, params)
            model.set_weights([kept[f"seed{i}_{j}"] for j in range(len(model.weights))])
            seeds.append(SeedResult(**record, model=model))
    return seeds
