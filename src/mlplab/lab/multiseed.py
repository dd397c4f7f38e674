"""Train every seed of a run together: K copies of the MLP in one compiled TensorFlow graph.

Keras' ``fit`` trains one network per call and pays its per-step overhead (iterators,
callbacks, a separate validation pass) for each seed. Here the K networks' weights are
stacked as (K, in, out) tensors, so each step runs one batched matrix product per layer for
all seeds, and a whole epoch (every step, then validation) is one call into a compiled
``tf.function`` with no Python per step.

Each seed's network is still trained exactly as ``train.fit_seed`` trains it with Keras:
- initial weights: those of ``models.build`` after ``keras.utils.set_random_seed(seed)``
  (the Keras models are built that way and their weights read, so they are identical);
- the same forward pass (Dense = matmul + bias, Keras' activation functions, softmax),
  loss (cross-entropy from the softmax's logits, or MSE on the softmax, averaged over the
  batch), gradient (automatic differentiation of each seed's own batch loss) and Adam /
  SGD / RMSprop update formulas with Keras' default constants;
- the same regularisation: the L2 penalty (``l2`` times the sum of squared hidden kernels)
  added to the loss as Keras adds regularisation losses in ``fit``, so the training,
  validation and test losses include it as Keras reports them; and dropout with Keras'
  own masks: each Dropout layer's seed state is read from the Keras model built for the
  seed, and each step draws ``stateless_uniform`` from [seed, step] as Keras'
  ``SeedGenerator`` does, so the same units are dropped in the same steps;
- the same batches in the same order: Keras' own permutation for the seed (see
  ``batch_order``), in batches of ``batch_size``, the last one partial;
- the epoch's training loss and accuracy as Keras reports them (a running mean over the
  epoch's batches, weighted by batch size), validation loss and accuracy after each epoch,
  and the mean loss and top probability of the misclassified validation images (the
  callback ``fit_seed`` adds: ``outcomes.MISCLASSIFIED_KEYS``);
- EarlyStopping with Keras' rules (monitor val_loss, min_delta 0, patience, the first epoch
  always counts as an improvement, restore_best_weights), each seed on its own: a stopped
  seed is removed from the batch and updates no more.

So a seed's numbers equal ``fit_seed``'s up to float rounding (batched matrix products
round differently; validation and test are one pass over the whole set, not batches of
1,024). Over many epochs the rounding differences can grow, as between any two machines.
Results are reproducible from the seeds on CPU.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from mlplab import outcomes
from mlplab.lab import models
from mlplab.lab.fitting import PENALTY, Prepared, SeedResult, SeedSplits, compile_model
from mlplab.lab.seeding import seed_training
from mlplab.params import EPOCH_PROGRESS_ENV, Params

# Keras' default constants for the optimizers models.optimizer builds.
ADAM_BETA_1, ADAM_BETA_2, ADAM_EPSILON = 0.9, 0.999, 1e-7
RMSPROP_RHO, RMSPROP_EPSILON = 0.9, 1e-7
# Optimizer state tensors per weight tensor: Adam's m and v, RMSprop's v, none for SGD.
SLOTS = {"adam": 2, "rmsprop": 1, "sgd": 0}


def keras_best_epoch(val_losses: list[float]) -> int:
    """1-based epoch EarlyStopping(restore_best_weights=True) restores, as Keras picks it.

    The first epoch always counts as an improvement; later ones only if strictly lower
    (a NaN never is). Equals argmin(val_loss) + 1 whenever no loss is NaN.
    """
    best, best_value = 0, val_losses[0]
    for epoch, value in enumerate(val_losses):
        if value < best_value:
            best, best_value = epoch, value
    return best + 1


def batch_order(seed: int, n: int) -> np.ndarray:
    """The order in which Keras' ``fit(shuffle=True)`` visits n rows after ``seed_training``.

    Keras (3.15, on TensorFlow 2.21) shuffles in-memory arrays with ``tf.random.shuffle`` of
    ``range(n)`` inside a ``tf.data`` map. Under the global seed that
    ``keras.utils.set_random_seed`` sets, that op restarts from the same seeded state for
    each epoch's iterator, so *every epoch repeats the first epoch's order* (unseeded, it
    would reshuffle). The same op, built the same way, gives the same permutation here; a
    test checks the result against ``fit`` itself. (Reshuffling every epoch instead trained
    measurably better than seeded Keras, docs/using.md, Speed; so this is not a detail, and
    the run pages teach it.)
    """
    return _batch_order(seed, n).copy()


@functools.lru_cache(maxsize=64)
def _batch_order(seed: int, n: int) -> np.ndarray:
    """``batch_order``, computed once per process: the permutation depends on (seed, n)
    alone, and each tf.data pipeline costs ~0.05 CPU-s (a notebook of several runs over the
    same seeds asks again and again)."""
    from mlplab.lab.backend import tensorflow

    tf = tensorflow()
    seed_training(seed)
    rows = tf.data.Dataset.range(1).map(
        lambda _: tf.random.shuffle(tf.range(n, dtype=tf.int64)))
    return next(iter(rows)).numpy().astype(np.int32)


@dataclass
class _Stopper:
    """Keras' EarlyStopping state for one seed."""

    patience: int | None
    best: float | None = None
    wait: int = 0

    def update(self, epoch: int, value: float) -> tuple[bool, bool]:
        """(improved, stop) after ``epoch`` (0-based) ended with val_loss ``value``."""
        self.wait += 1
        if self.best is None or value < self.best:
            self.best, self.wait = value, 0
            return True, False
        return False, self.patience is not None and self.wait >= self.patience and epoch > 0


class _Graph:
    """The compiled functions for one architecture, optimizer and data set."""

    def __init__(self, params: Params, data: SeedSplits, seeds: list[int]):
        import keras
        import tensorflow as tf

        self.tf = tf
        self.batch_size = int(params.batch_size)
        self.hidden = keras.activations.get(params.activation)
        self.mse = params.loss == "mean_squared_error"
        self.optimizer = params.optimizer
        self.lr = float(params.learning_rate)
        self.l2 = float(params.l2)
        self.dropout = float(params.dropout)
        splits = [data.splits[seed] for seed in seeds]
        sizes = {(len(s.train), len(s.val), len(s.test)) for s in splits}
        if len(sizes) != 1:
            raise ValueError(f"the seeds' splits differ in size: {sorted(sizes)}")
        self.n_train = len(splits[0].train)
        # One split for all seeds (data_split: fixed): its rows are evaluated once, broadcast.
        self.shared = all(np.array_equal(s.val, splits[0].val)
                          and np.array_equal(s.test, splits[0].test) for s in splits)
        # The seed dimension is left free: one trace serves every number of seeds still
        # training, so a seed that stops early costs no new compilation.
        sizes = [data.n_inputs, *params.hidden_layers, data.n_classes]
        weights = []
        for a, b in zip(sizes, sizes[1:], strict=False):
            weights += [tf.TensorSpec([None, a, b]), tf.TensorSpec([None, b])]
        slots = [tuple(w for _ in range(SLOTS[self.optimizer])) for w in weights]
        n_dropout = len(params.hidden_layers) if self.dropout > 0 else 0
        rows = tf.TensorSpec([None, None], tf.int32)  # (K, n): each seed's rows of x
        # Every example once (x, y); each seed's batches, validation and test sets are rows
        # of it. They are arguments, not constants, so runs on other data reuse the trace.
        x = tf.TensorSpec([None, data.n_inputs], tf.float32)
        y = tf.TensorSpec([None, data.n_classes], tf.float32)
        self.epoch = tf.function(self._epoch, autograph=False, input_signature=[
            weights, slots, tf.TensorSpec([], tf.int64), rows, rows,
            tf.TensorSpec([None, n_dropout, 2], tf.int64), x, y])
        self.evaluate = tf.function(self._evaluate, autograph=False,
                                    input_signature=[weights, rows, x, y])

    # -- the network -------------------------------------------------------------------
    def _logits(self, weights, x, shared: bool, dropout_seeds=None):
        """Logits (K, n, classes). ``shared``: x is (n, in), the same rows for every seed.
        ``dropout_seeds`` (K, hidden layers, 2): training, with Keras' dropout masks."""
        tf = self.tf
        h = x
        n_layers = len(weights) // 2
        for i in range(n_layers):
            kernel, bias = weights[2 * i], weights[2 * i + 1]
            # Rows shared by all seeds (validation, test) broadcast without a copy.
            z = tf.matmul(h[None] if i == 0 and shared else h, kernel)
            z = z + bias[:, None, :]
            h = self.hidden(z) if i < n_layers - 1 else z
            if dropout_seeds is not None and i < n_layers - 1:
                h = self._dropped(h, dropout_seeds[:, i])
        return h

    def _dropped(self, h, seeds):
        """Keras' Dropout in training (``tf.nn.experimental.stateless_dropout``'s formula),
        each seed's mask drawn from its layer's [seed, step] (K, 2), cast as Keras casts it."""
        tf = self.tf
        seeds = tf.cast(tf.math.floormod(seeds, tf.int32.max - 1), tf.int32)
        shape = tf.shape(h)[1:]
        noise = tf.map_fn(lambda s: tf.random.stateless_uniform(shape, seed=s), seeds,
                          fn_output_signature=tf.float32)
        kept = h * tf.constant(1 / (1 - self.dropout), tf.float32)
        return tf.where(noise >= tf.constant(self.dropout, tf.float32), kept,
                        tf.constant(0, tf.float32))

    def _penalty(self, weights):
        """Each seed's L2 regularisation losses, one (K,) tensor per hidden layer."""
        tf = self.tf
        hidden_kernels = weights[0:len(weights) - 2:2]
        return [tf.constant(self.l2, tf.float32) * tf.reduce_sum(tf.square(w), axis=[1, 2])
                for w in hidden_kernels]

    def _total(self, data_loss, weights):
        """The loss Keras' ``fit`` minimises and reports: data loss plus regularisation."""
        if self.l2 == 0:
            return data_loss
        return self.tf.reduce_sum(self.tf.stack([data_loss, *self._penalty(weights)]), axis=0)

    def _losses(self, y, logits):
        """Per-sample losses (K, n) and correct predictions (K, n), as Keras computes them."""
        tf = self.tf
        probs = tf.nn.softmax(logits, axis=-1)
        if self.mse:
            import keras

            losses = keras.losses.mean_squared_error(y, probs)
        else:  # Keras uses the softmax's logits: no clipping
            losses = tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits)
        correct = tf.cast(tf.equal(tf.argmax(y, axis=-1), tf.argmax(probs, axis=-1)),
                          tf.float32)
        return losses, correct

    def _evaluate(self, weights, rows, x, y):
        """Mean loss (with the L2 penalty, as Keras' ``evaluate``) and accuracy per seed over
        its ``rows`` (K, n) of the data (``x``, ``y``)."""
        losses, correct, _ = self._scored(weights, rows, x, y)
        return (self._total(self.tf.reduce_mean(losses, axis=1), weights),
                self.tf.reduce_mean(correct, axis=1))

    def _scored(self, weights, rows, x_all, y_all):
        """Per-sample losses, correct predictions and logits of each seed on its ``rows``
        (K, n) of the data."""
        tf = self.tf
        if self.shared:  # the same rows for every seed: one copy, broadcast
            x, y = tf.gather(x_all, rows[0]), tf.gather(y_all, rows[0])
        else:
            x, y = tf.gather(x_all, rows), tf.gather(y_all, rows)
        logits = self._logits(weights, x, shared=self.shared)
        losses, correct = self._losses(tf.broadcast_to(y, tf.shape(logits)), logits)
        return losses, correct, logits

    def _validation(self, weights, rows, x, y):
        """Validation loss and accuracy per seed (as ``_evaluate``) and, over the images
        (``rows``) each seed gets wrong, their mean loss and mean top probability
        (``outcomes.misclassified``, computed here in the graph): one forward pass."""
        tf = self.tf
        losses, correct, logits = self._scored(weights, rows, x, y)
        wrong = 1 - correct
        count = tf.reduce_sum(wrong, axis=1)  # 0/0 gives NaN, as outcomes.misclassified
        top = tf.reduce_max(tf.nn.softmax(logits, axis=-1), axis=-1)
        return (self._total(tf.reduce_mean(losses, axis=1), weights),
                tf.reduce_mean(correct, axis=1),
                tf.reduce_sum(losses * wrong, axis=1) / count,
                tf.reduce_sum(top * wrong, axis=1) / count)

    # -- the optimizers, Keras' update_step formulas -------------------------------------
    def _apply(self, weights, slots, grads, step):
        tf = self.tf
        lr = tf.constant(self.lr, tf.float32)
        new_w, new_s = [], []
        if self.optimizer == "adam":
            t = tf.cast(step, tf.float32)
            alpha = lr * tf.sqrt(1 - tf.pow(tf.constant(ADAM_BETA_2), t)) / (
                1 - tf.pow(tf.constant(ADAM_BETA_1), t))
            for w, (m, v), g in zip(weights, slots, grads, strict=True):
                m = m + (g - m) * (1 - ADAM_BETA_1)
                v = v + (tf.square(g) - v) * (1 - ADAM_BETA_2)
                new_w.append(w - (m * alpha) / (tf.sqrt(v) + ADAM_EPSILON))
                new_s.append((m, v))
        elif self.optimizer == "rmsprop":
            for w, (v,), g in zip(weights, slots, grads, strict=True):
                v = RMSPROP_RHO * v + (1 - RMSPROP_RHO) * tf.square(g)
                new_w.append(w - (lr * g) / tf.sqrt(v + RMSPROP_EPSILON))
                new_s.append((v,))
        else:  # plain SGD, Keras' default momentum 0
            new_w = [w - g * lr for w, g in zip(weights, grads, strict=True)]
            new_s = slots
        return new_w, new_s

    def _epoch(self, weights, slots, step, perm, val_rows, dropout_seeds, x_all, y_all):
        """One epoch for the seeds in the batch: every step, then validation.

        perm: (K, n) each seed's training rows of the data in the order of its batches;
        val_rows: (K, n_val) each seed's validation rows; dropout_seeds: (K, hidden layers,
        2), each Dropout layer's initial Keras seed state (its step part advances with
        ``step``). Returns the new weights, optimizer slots and step count, the epoch's
        training loss and accuracy (Keras' running means), the validation loss and
        accuracy after the epoch and its misclassified images' mean loss and confidence,
        each (K,), from one pass over the validation images. Written as an explicit while
        loop: autograph's source conversion would cost ~1 s per run.
        """
        tf = self.tf
        n, bs = self.n_train, self.batch_size
        k = tf.shape(perm)[0]

        def body(start, weights, slots, step, loss_sum, correct_sum):
            idx = perm[:, start:tf.minimum(start + bs, n)]
            x, y = tf.gather(x_all, idx), tf.gather(y_all, idx)
            size = tf.cast(tf.shape(idx)[1], tf.float32)
            # Keras' SeedGenerator: state [seed, calls so far], one call per training step.
            seeds = (dropout_seeds + tf.stack([tf.zeros_like(step), step])
                     if self.dropout > 0 else None)
            with tf.GradientTape() as tape:
                tape.watch(weights)
                logits = self._logits(weights, x, shared=False, dropout_seeds=seeds)
                losses, correct = self._losses(y, logits)
                # Keras: sum over the batch size, plus the regularisation losses
                batch_loss = self._total(tf.reduce_sum(losses, axis=1) / size, weights)
                total = tf.reduce_sum(batch_loss)  # seeds share no weights: own gradients
            grads = tape.gradient(total, weights)
            step = step + 1
            weights, slots = self._apply(weights, slots, grads, step)
            return (start + bs, weights, slots, step, loss_sum + batch_loss * size,
                    correct_sum + tf.reduce_sum(correct, axis=1))

        zeros = tf.zeros([k], tf.float32)
        _, weights, slots, step, loss_sum, correct_sum = tf.while_loop(
            lambda start, *_: start < n, body,
            (tf.constant(0), weights, slots, step, zeros, zeros))
        val_loss, val_acc, wrong_loss, wrong_confidence = self._validation(
            weights, val_rows, x_all, y_all)
        return (weights, slots, step, loss_sum / n, correct_sum / n, val_loss, val_acc,
                wrong_loss, wrong_confidence)


# Compiled graphs kept per process: tracing one costs ~0.4 CPU-s, and a notebook that trains
# several runs of one architecture (a baseline, with early stopping, on raw pixels) reuses it.
GRAPHS_KEPT = 8
_GRAPHS: OrderedDict[tuple, _Graph] = OrderedDict()


def _graph(params: Params, data: SeedSplits, seeds: list[int]) -> _Graph:
    """The ``_Graph`` for these settings and data, traced once per process.

    The key is everything a trace depends on: the architecture, loss, optimizer and its
    step, regularisation, batch size, the inputs' and training set's sizes, and whether the
    seeds share their validation and test rows (the data itself is an argument)."""
    splits = [data.splits[seed] for seed in seeds]
    shared = all(np.array_equal(s.val, splits[0].val) and np.array_equal(s.test, splits[0].test)
                 for s in splits)
    key = (tuple(params.hidden_layers), params.activation, params.loss, params.optimizer,
           float(params.learning_rate), float(params.l2), float(params.dropout),
           int(params.batch_size), data.n_inputs, data.n_classes, len(splits[0].train),
           shared)
    if key in _GRAPHS:
        _GRAPHS.move_to_end(key)
        return _GRAPHS[key]
    graph = _GRAPHS[key] = _Graph(params, data, seeds)
    while len(_GRAPHS) > GRAPHS_KEPT:
        _GRAPHS.popitem(last=False)
    return graph


def forget_graphs() -> None:
    """Drop the traced graphs, so the next fit pays its tracing as a fresh process would
    (the bench times whole fits, graph building included)."""
    _GRAPHS.clear()


def dropout_states(model) -> np.ndarray:
    """Each Dropout layer's Keras seed state [seed, calls] as the model holds it, (layers, 2)."""
    import keras

    states = [layer.seed_generator.state.numpy() for layer in model.layers
              if isinstance(layer, keras.layers.Dropout)]
    return np.array(states, np.int64).reshape(len(states), 2)


def _stack(per_seed: list[list[np.ndarray]]):
    import tensorflow as tf

    return [tf.constant(np.stack(ws)) for ws in zip(*per_seed, strict=True)]


def _zero_slots(weights, optimizer: str):
    """Keras' optimizer state at the start: all zero."""
    import tensorflow as tf

    return [tuple(tf.zeros_like(w) for _ in range(SLOTS[optimizer])) for w in weights]


def _take(tensors, rows: list[int]):
    """Rows (seeds) of every stacked tensor, nested in lists/tuples like the input."""
    import tensorflow as tf

    if isinstance(tensors, list | tuple):
        return type(tensors)(_take(t, rows) for t in tensors)
    return tf.gather(tensors, rows)


def fit_seeds(params: Params, data: Prepared | SeedSplits,
              seeds: list[int]) -> list[SeedResult]:
    """Train one network per seed, all together, and evaluate each on its test set.

    ``data``: one prepared split that every seed shares, or each seed's own split
    (``fitting.SeedSplits``), in which case each seed trains on its own split exactly as
    ``train.fit_seed`` does on that seed's ``data.prepared(seed)``.

    Returns one ``fitting.SeedResult`` per seed, in order, with a compiled Keras model (built
    by ``models.build``) holding that seed's final weights, or its best epoch's with
    ``restore_best_weights``. Timing: the seeds share every step, so a seed's
    ``epoch_seconds`` is its share of the batched epoch (wall time / seeds still training),
    and its ``train_seconds`` adds an equal share of set-up and final evaluation: the
    seeds' ``train_seconds`` sum to the wall time of the whole call.
    """
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds: expected distinct values, got {seeds}")
    start = time.perf_counter()
    if isinstance(data, Prepared):
        data = SeedSplits.shared(data, seeds)
    keras_models, order_list = [], []
    for seed in seeds:
        # Keras visits the seed's training set in this order: these rows of the data.
        rows = data.splits[seed].train
        order_list.append(rows[batch_order(seed, len(rows))])
        seed_training(seed)
        model = models.build(params, data.n_classes, n_inputs=data.n_inputs)
        compile_model(model, params)
        keras_models.append(model)
    graph = _graph(params, data, seeds)
    tf = graph.tf
    x_all, y_all = tf.constant(data.x, tf.float32), tf.constant(data.y, tf.float32)
    weights = _stack([m.get_weights() for m in keras_models])
    slots = _zero_slots(weights, params.optimizer)
    dropout_seeds = tf.constant(np.stack([dropout_states(m) for m in keras_models]))
    step = tf.constant(0, tf.int64)

    k_all = len(seeds)
    orders = np.stack(order_list).astype(np.int32)
    val_rows = tf.constant(np.stack([data.splits[s].val for s in seeds]).astype(np.int32))
    patience = params.early_stopping_patience
    restore = patience is not None and params.restore_best_weights
    stoppers = [_Stopper(patience) for _ in seeds]
    history: list[dict[str, list[float]]] = [
        {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": [], "epoch_seconds": [],
         **{key: [] for key in outcomes.MISCLASSIFIED_KEYS},
         **({PENALTY: []} if params.l2 > 0 else {})}
        for _ in seeds]
    final: list[list[np.ndarray] | None] = [None] * k_all
    best: list[list[np.ndarray] | None] = [None] * k_all
    active = list(range(k_all))  # positions in `seeds` of the networks still training
    progress = bool(os.environ.get(EPOCH_PROGRESS_ENV))
    setup_seconds = time.perf_counter() - start

    for epoch in range(params.epochs):
        epoch_start = time.perf_counter()
        weights, slots, step, *measured = graph.epoch(
            weights, slots, step, tf.constant(orders[active]), val_rows, dropout_seeds,
            x_all, y_all)
        loss, acc, val_loss, val_acc, *wrong_values = (t.numpy() for t in measured)
        wrong = dict(zip(outcomes.MISCLASSIFIED_KEYS, wrong_values, strict=True))
        penalty = tf.add_n(graph._penalty(weights)).numpy() if params.l2 > 0 else None
        keep = []
        for row, i in enumerate(active):
            h = history[i]
            h["loss"].append(float(loss[row]))
            h["accuracy"].append(float(acc[row]))
            h["val_loss"].append(float(val_loss[row]))
            h["val_accuracy"].append(float(val_acc[row]))
            for key, values in wrong.items():
                h[key].append(float(values[row]))
            if penalty is not None:
                h[PENALTY].append(float(penalty[row]))
            improved, stop = stoppers[i].update(epoch, float(val_loss[row]))
            if restore and improved:
                best[i] = [w[row].numpy() for w in weights]
            if stop or epoch == params.epochs - 1:
                final[i] = [w[row].numpy() for w in weights]
            else:
                keep.append(row)
        seconds = time.perf_counter() - epoch_start
        for i in active:
            history[i]["epoch_seconds"].append(seconds / len(active))
        if progress:
            print(f"  {params.run_name}: epoch {epoch + 1}/{params.epochs}, "
                  f"{len(active)} of {k_all} seeds training, mean val_accuracy "
                  f"{float(np.mean(val_acc)):.3f}", file=sys.__stdout__, flush=True)
        if len(keep) < len(active):
            if not keep:
                break
            weights, slots = _take(weights, keep), _take(slots, keep)
            dropout_seeds, val_rows = _take(dropout_seeds, keep), _take(val_rows, keep)
            active = [active[row] for row in keep]

    end_start = time.perf_counter()
    chosen = [best[i] if restore else final[i] for i in range(k_all)]
    for model, w in zip(keras_models, chosen, strict=True):
        model.set_weights(w)
    test_rows = np.stack([data.splits[s].test for s in seeds]).astype(np.int32)
    test_loss, test_acc = (t.numpy() for t in graph.evaluate(
        _stack(chosen), tf.constant(test_rows), x_all, y_all))
    shared_seconds = setup_seconds + time.perf_counter() - end_start

    results = []
    for i, seed in enumerate(seeds):
        h = history[i]
        epochs_run = len(h["loss"])
        best_epoch = keras_best_epoch(h["val_loss"])
        at = best_epoch - 1 if restore else epochs_run - 1
        train_seconds = shared_seconds / k_all + sum(h["epoch_seconds"])
        metrics = {
            "test_accuracy": float(test_acc[i]), "test_loss": float(test_loss[i]),
            "val_accuracy": h["val_accuracy"][at], "val_loss": h["val_loss"][at],
            "train_accuracy": h["accuracy"][at], "train_loss": h["loss"][at],
        }
        results.append(SeedResult(
            seed=seed, metrics=metrics, history=h, epochs_run=epochs_run,
            best_epoch=best_epoch, train_seconds=train_seconds,
            seconds_per_epoch=train_seconds / epochs_run, model=keras_models[i]))
    return results
