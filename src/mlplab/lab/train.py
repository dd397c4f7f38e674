"""Keras' own training: one seeded ``fit``, timed, with the history a report needs.

The reference every faster path is held to (``multiseed`` trains all seeds at once and a
test holds each seed equal to this); ``experiment`` chooses between them."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import numpy as np

from mlplab import outcomes
from mlplab.lab import models, theory
from mlplab.lab.backend import native_stderr_silenced
from mlplab.lab.fitting import PENALTY, Prepared, SeedResult, compile_model
from mlplab.lab.seeding import seed_training
from mlplab.params import EPOCH_PROGRESS_ENV, Params

VALIDATION_BATCH = 1024


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
             default_loop: bool = False) -> SeedResult:
    """Train one network from ``seed`` and evaluate it on the held-out test set (the
    network's inputs and classes are those of ``prepared``); ``default_loop``: one step per
    call into TensorFlow, Keras' default (``compile_model``)."""
    import keras

    seed_training(seed)
    model = models.build(params, prepared.n_classes, n_inputs=prepared.n_inputs)
    compile_model(model, params, default_loop)

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
