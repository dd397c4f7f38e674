"""All seeds trained together in one graph give what per-seed Keras `fit` gives."""

from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import BENCH_SEEDS

from mlplab import outcomes, params
from mlplab.lab import data, experiment, fitting, models, multiseed, train
from mlplab.lab.seeding import seed_training


@pytest.fixture(scope="module")
def prepared(fits):
    """mnist-5k's 600-image split, the one the session's shared fits train on."""
    return fits.prepared


def keras_model(p: dict, seed: int):
    seed_training(seed)
    model = models.build(p)
    fitting.compile_model(model, p)
    return model


_EVALUATORS: dict[tuple, object] = {}


def keras_evaluate(p: params.Params, model, x: np.ndarray, y: np.ndarray) -> list[float]:
    """``model.evaluate(x, y)``: Keras' own loss and accuracy of ``model``'s weights, in one
    model per architecture, since each new model traces its own test step (~0.6 CPU-s)."""
    key = (tuple(p.hidden_layers), p.activation, p.loss, p.l2, p.dropout)
    if key not in _EVALUATORS:
        _EVALUATORS[key] = keras_model(p, 0)
    evaluator = _EVALUATORS[key]
    evaluator.set_weights(model.get_weights())
    return evaluator.evaluate(x, y, verbose=0)


@pytest.mark.slow
def test_training_starts_from_the_weights_keras_builds_for_each_seed(prepared):
    # SGD with a step of 1e-12 moves no float32 kernel entry (each is > 1e-6 in size, the
    # step < 1e-11): the returned kernels are the initial ones, bit for bit.
    p = params.validate({"epochs": 1, "optimizer": "sgd", "learning_rate": 1e-12})
    seeds = [4, 0, 7]
    results = multiseed.fit_seeds(p, prepared, seeds)
    for seed, r in zip(seeds, results, strict=True):
        assert r.seed == seed
        expected = keras_model(p, seed).get_weights()
        for got, want in zip(r.model.get_weights(), expected, strict=True):
            if want.ndim == 2:
                np.testing.assert_array_equal(got, want)
            else:  # biases start at zero; they move by ~1e-12
                np.testing.assert_allclose(got, want, atol=1e-9)
    assert not np.array_equal(results[0].model.get_weights()[0],
                              results[1].model.get_weights()[0])


@pytest.mark.slow
@pytest.mark.parametrize("setting, compared", [
    ({}, [5]),
    # SGD with MSE and both regularisers in one case: each case's Keras fit costs seconds.
    ({"optimizer": "sgd", "loss": "mean_squared_error", "learning_rate": 0.1, "l2": 1e-2,
      "dropout": 0.2}, [5]),
    ({"optimizer": "rmsprop", "activation": "sigmoid", "hidden_layers": [20]}, [5]),
    ({"l2": 1e-3}, [3, 5]),
    ({"dropout": 0.5}, [3, 5]),
])
def test_each_seed_takes_the_steps_of_its_keras_fit(fits, setting, compared):
    """Same initial weights, same batches in the same order, same updates: Keras' own
    fit (shuffle=True, seeded) and the batched path agree up to float rounding, epoch by
    epoch. This checks initialisation, batch order, forward pass, loss, gradient,
    optimizer formulas, the running-mean training metrics and validation at once.

    With a regulariser, every seed, not only one (each Keras fit costs seconds): the L2
    penalty is in the losses Keras reports (training, validation, test) and the penalty
    after each epoch is recorded; dropout drops the units Keras drops in each step, each
    seed its own (a different mask would move the weights far more than rounding does).

    The batched path trains the seeds and settings `mlplab bench`'s test trains (the plain
    setting on BENCH_SEEDS, each regulariser on the first three), so that test reads these
    fits and Keras' fits of seed 5 (``fits``) instead of making its own."""
    p = params.validate({"epochs": 3, "fast_training": False, **setting})
    seeds = BENCH_SEEDS if not setting else BENCH_SEEDS[:3]
    ours = dict(zip(seeds, fits.batched(p, seeds), strict=True))
    for seed in compared:
        mine, theirs = ours[seed], fits.keras(p, seed)
        assert set(mine.history) == set(theirs.history)
        # The misclassified validation images, in the graph (float32) and by NumPy from the
        # Keras model's logits (float64): the same images, the same loss and confidence.
        for key in mine.history.keys() - {"epoch_seconds"}:
            np.testing.assert_allclose(
                mine.history[key], theirs.history[key], err_msg=f"seed {seed}: {key}",
                rtol=1e-4 if key in outcomes.MISCLASSIFIED_KEYS else 2e-6)
        for got, want in zip(mine.model.get_weights(), theirs.model.get_weights(),
                             strict=True):
            np.testing.assert_allclose(got, want, atol=1e-5)
        assert mine.metrics["test_loss"] == pytest.approx(theirs.metrics["test_loss"],
                                                          rel=1e-5)
        assert mine.metrics["test_accuracy"] == pytest.approx(
            theirs.metrics["test_accuracy"], abs=1e-7)


# Of seeds 0-19 on these settings, four that stop after 5, 6, 7 and 8 epochs: 12 and 2
# improve again after an epoch without improvement (patience starts over), and 3's last
# epoch misses its best by 0.0014 (a near tie). Each Keras fit costs seconds, about a
# tenth more per epoch, so these four stand for the twenty; at learning rate 0.003 the
# same cases took seeds stopping after 8-11 epochs.
STOPPING_SEEDS = [3, 10, 12, 2]


@pytest.mark.slow
def test_seeds_with_early_stopping_end_as_their_keras_fits(prepared):
    """Each seed stops after the same epoch and tests within one image of its Keras fit, on
    seeds that stop at different epochs, some after patience started over. (Rounding
    differences grow with epochs; if a change of rounding ever flips a near-tie in
    validation loss, the distributions would still have to agree.)"""
    p = params.validate({"epochs": 20, "early_stopping_patience": 2, "learning_rate": 0.005,
                         "fast_training": False})
    seeds = STOPPING_SEEDS
    ours = multiseed.fit_seeds(p, prepared, seeds)
    theirs = [train.fit_seed(p, prepared, seed) for seed in seeds]
    assert [r.epochs_run for r in ours] == [r.epochs_run for r in theirs]
    assert [r.best_epoch for r in ours] == [r.best_epoch for r in theirs]
    assert len({r.epochs_run for r in ours}) >= 3 and max(r.epochs_run for r in ours) < 20

    def restarted(val_loss: list[float]) -> bool:  # a worse epoch, then a new best
        best = int(np.argmin(val_loss))
        return any(b >= a for a, b in zip(val_loss[:best], val_loss[1:best + 1], strict=True))

    assert sum(restarted(r.history["val_loss"]) for r in ours) >= 2  # still the cases above
    one_image = 1 / len(prepared.y_test)
    for a, b in zip(ours, theirs, strict=True):
        assert abs(a.metrics["test_accuracy"] - b.metrics["test_accuracy"]) <= one_image


@pytest.mark.slow
def test_same_seeds_same_numbers_and_honest_timing(prepared):
    p = params.validate({"epochs": 3})
    start = time.perf_counter()
    a = multiseed.fit_seeds(p, prepared, [0, 1])
    wall = time.perf_counter() - start
    b = multiseed.fit_seeds(p, prepared, [0, 1])
    for x, y in zip(a, b, strict=True):
        assert x.metrics == y.metrics
        assert {k: v for k, v in x.history.items() if k != "epoch_seconds"} == \
            {k: v for k, v in y.history.items() if k != "epoch_seconds"}
        for wx, wy in zip(x.model.get_weights(), y.model.get_weights(), strict=True):
            assert np.array_equal(wx, wy)
    assert a[0].history["loss"] != a[1].history["loss"]
    # each seed is charged its share: the shares add up to the call's wall time
    assert 0.9 * wall <= sum(r.train_seconds for r in a) <= wall
    for r in a:
        assert len(r.history["epoch_seconds"]) == r.epochs_run == 3
        assert r.seconds_per_epoch == pytest.approx(r.train_seconds / 3)


@pytest.mark.slow
@pytest.mark.parametrize("restore", [True, False])
def test_each_seed_stops_on_its_own_with_keras_rules(prepared, restore):
    patience = 1
    p = params.validate({"epochs": 40, "early_stopping_patience": patience,
                         "restore_best_weights": restore, "learning_rate": 0.01})
    results = multiseed.fit_seeds(p, prepared, list(range(6)))
    assert len({r.epochs_run for r in results}) > 1  # seeds stopped at different epochs
    for r in results:
        h = r.history
        best = r.best_epoch
        assert best == int(np.argmin(h["val_loss"])) + 1
        assert r.epochs_run == best + patience < 40
        assert min(h["val_loss"][best:]) >= h["val_loss"][best - 1]
        tested = best if restore else r.epochs_run
        val_loss, val_accuracy = keras_evaluate(p, r.model, prepared.x_val, prepared.y_val)
        assert val_loss == pytest.approx(h["val_loss"][tested - 1], rel=1e-5)
        assert val_accuracy == pytest.approx(h["val_accuracy"][tested - 1], abs=1e-6)
        for key, hkey in (("val_loss", "val_loss"), ("train_loss", "loss"),
                          ("train_accuracy", "accuracy")):
            assert r.metrics[key] == h[hkey][tested - 1]
        test_loss, _ = keras_evaluate(p, r.model, prepared.x_test, prepared.y_test)
        assert r.metrics["test_loss"] == pytest.approx(test_loss, rel=1e-5)


@pytest.mark.parametrize("patience, stops_at", [(0, 3), (1, 3), (2, 4), (3, 5), (4, None)])
def test_a_seed_stops_after_patience_epochs_without_a_strictly_lower_loss(patience, stops_at):
    """Keras' rule, by hand: epoch 2 is the best (0.9); epoch 3 ties it, which is no
    improvement; patience p stops at the p-th epoch without one (patience 0 acts as 1)."""
    losses = [1.0, 0.9, 0.9, 0.95, 0.91]
    stopper = multiseed._Stopper(patience)
    steps = [stopper.update(epoch, value) for epoch, value in enumerate(losses)]
    assert [improved for improved, _ in steps] == [True, True, False, False, False]
    stopped = [epoch + 1 for epoch, (_, stop) in enumerate(steps) if stop]
    assert (stopped[0] if stopped else None) == stops_at
    assert stopper.best == 0.9
    no_stopping = multiseed._Stopper(None)
    assert not any(no_stopping.update(e, v)[1] for e, v in enumerate(losses))


def test_keras_best_epoch_is_the_first_strictly_lowest_and_never_a_nan():
    assert multiseed.keras_best_epoch([1.0, 0.8, 0.8, 0.9]) == 2
    assert multiseed.keras_best_epoch([0.5, float("nan"), 0.6]) == 1
    assert multiseed.keras_best_epoch([float("nan"), 0.4, 0.3]) == 1  # NaN first is kept
    assert multiseed.keras_best_epoch([0.7]) == 1


@pytest.mark.parametrize("restore", [True, False])
def test_restored_networks_are_their_best_epochs_and_the_others_their_last(prepared, restore):
    """Two seeds, a step large enough to overfit within a few epochs: the tested network
    is the best epoch's with restore_best_weights, else the last epoch's."""
    p = params.validate({"epochs": 12, "early_stopping_patience": 2, "learning_rate": 0.02,
                         "restore_best_weights": restore})
    for r in multiseed.fit_seeds(p, prepared, [0, 1]):
        h = r.history
        assert r.best_epoch < r.epochs_run  # stopping chose an earlier network
        tested = r.best_epoch if restore else r.epochs_run
        val_loss, _ = keras_evaluate(p, r.model, prepared.x_val, prepared.y_val)
        assert val_loss == pytest.approx(h["val_loss"][tested - 1], rel=1e-5)
        assert r.metrics["val_loss"] == h["val_loss"][tested - 1]
        assert r.metrics["train_accuracy"] == h["accuracy"][tested - 1]


class _StubModel:
    stop_training = False

    def get_weights(self):
        return []


@pytest.mark.parametrize("patience", [0, 1, 2])
@pytest.mark.parametrize("losses", [
    [1.0, 0.9, 0.9, 0.95, 0.8, 0.85, 0.86, 0.87, 0.7],  # a tie is no improvement
    [0.5, 0.6, 0.7, 0.4, 0.3, 0.3, 0.3, 0.3],
    [float("nan"), 1.0, 0.5, 0.4],  # a NaN first epoch is kept as 'best'
    [1.0, float("nan"), float("nan"), 0.9, 0.8],
])
def test_stopping_rule_is_keras_early_stopping(losses, patience):
    import keras

    callback = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience)
    stub = _StubModel()
    callback.set_model(stub)
    callback.on_train_begin()
    stopper = multiseed._Stopper(patience)
    for epoch, value in enumerate(losses):
        callback.on_epoch_end(epoch, {"val_loss": value})
        _, stop = stopper.update(epoch, value)
        assert stop == stub.stop_training, (epoch, value)
        if stop:
            break
    assert multiseed.keras_best_epoch(losses[:epoch + 1]) == callback.best_epoch + 1


@pytest.mark.slow
def test_terminal_progress_one_line_per_epoch(prepared, capfd, monkeypatch):
    monkeypatch.setenv(params.EPOCH_PROGRESS_ENV, "1")
    p = params.validate({"epochs": 2, "run_name": "demo"})
    multiseed.fit_seeds(p, prepared, [0, 1])
    lines = [line for line in capfd.readouterr().out.splitlines() if "demo" in line]
    assert len(lines) == 2 and "epoch 2/2" in lines[1] and "2 of 2 seeds" in lines[1]


def test_run_experiment_dispatches_on_fast_training(monkeypatch):
    """`fast_training` picks the way to train, with the run's data, split and seeds. Both
    ways are stand-ins here, recording their calls: each way's numbers are checked against
    Keras' fit by the tests above, so training here would check nothing more."""
    calls = []

    def fit_seeds(p, splits, seeds):
        calls.append(("fit_seeds", p, splits, seeds))
        return [f"batched {seed}" for seed in seeds]

    def fit_seed(p, prepared, seed, verbose=0):
        calls.append(("fit_seed", p, prepared, seed))
        return f"keras {seed}"

    monkeypatch.setattr(multiseed, "fit_seeds", fit_seeds)
    monkeypatch.setattr(train, "fit_seed", fit_seed)
    ds = data.load("mnist-5k")
    base = {"epochs": 2, "seeds": [3, 1], "max_samples": 400}
    p = params.validate({**base, "fast_training": True})
    fast = experiment.run_experiment(p, ds)
    assert fast.seeds == ["batched 3", "batched 1"]
    [(name, given, splits, seeds)] = calls
    assert (name, given, list(seeds)) == ("fit_seeds", p, [3, 1]) and splits is fast.data
    for seed in seeds:  # each seed's own split (data_split: per_seed)
        want = data.split_of(ds, p, seed)
        for part in ("train", "val", "test"):
            np.testing.assert_array_equal(getattr(splits.splits[seed], part), getattr(want, part))

    calls.clear()
    p = params.validate({**base, "fast_training": False})
    plain = experiment.run_experiment(p, ds)
    assert plain.seeds == ["keras 3", "keras 1"]
    assert [(name, given, seed) for name, given, _, seed in calls] == [
        ("fit_seed", p, 3), ("fit_seed", p, 1)]
    for (*_, prepared, seed) in calls:  # each seed's own split, as network inputs
        want = fitting.prepare(ds, data.split_of(ds, p, seed), p.scale_inputs)
        for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
            np.testing.assert_array_equal(getattr(prepared, name), getattr(want, name))


def test_l2_penalty_is_in_the_losses_as_keras_reports_them(prepared):
    p = params.validate({"epochs": 1, "l2": 1e-2})
    r = multiseed.fit_seeds(p, prepared, [0])[0]
    kernels = [w for w in r.model.get_weights() if w.ndim == 2][:-1]  # hidden layers only
    penalty = 1e-2 * sum(float(np.sum(np.square(w))) for w in kernels)
    assert r.history[fitting.PENALTY] == [pytest.approx(penalty, rel=1e-5)]
    probs = train.predict_probabilities(r.model, prepared.x_val)
    data_loss = -np.mean(np.log(np.sum(probs * prepared.y_val, axis=1)))
    assert penalty > 0.01
    assert r.history["val_loss"][0] == pytest.approx(data_loss + penalty, rel=1e-4)


def test_dropout_keeps_each_seeds_initial_weights(prepared):
    """Dropout layers are created after the Dense layers draw their seeds: a run with
    dropout starts from the same networks as the run without, so the two stay paired."""
    plain = keras_model(params.validate({}), 3).get_weights()
    dropped = keras_model(params.validate({"dropout": 0.5, "l2": 1e-3}), 3).get_weights()
    for a, b in zip(plain, dropped, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_seeds_with_their_own_splits_train_together_as_each_would_alone():
    """data_split: per_seed: each seed's batches, validation and test rows are its own, and
    the batched path still takes the steps of that seed's Keras fit on its split."""
    ds = data.load("mnist-5k")
    p = params.validate({"epochs": 2, "seeds": [0, 1], "max_samples": 600, "dropout": 0.2,
                         "fast_training": False})
    splits = fitting.SeedSplits.of(ds, True, {s: data.split_of(ds, p, s) for s in p.seeds})
    assert not np.array_equal(splits.splits[0].test, splits.splits[1].test)
    ours = multiseed.fit_seeds(p, splits, p.seeds)
    for seed, mine in zip(p.seeds, ours, strict=True):
        own = splits.prepared(seed)
        theirs = train.fit_seed(p, own, seed)
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            np.testing.assert_allclose(mine.history[key], theirs.history[key], rtol=2e-6,
                                       err_msg=f"seed {seed}: {key}")
        assert mine.metrics["test_loss"] == pytest.approx(theirs.metrics["test_loss"],
                                                          rel=1e-5)
        assert mine.metrics["test_accuracy"] == pytest.approx(
            theirs.metrics["test_accuracy"], abs=1e-7)


@pytest.mark.slow
def test_experiment_records_each_seeds_own_test_set():
    ds = data.load("mnist-5k")
    p = params.validate({"epochs": 1, "seeds": [0, 1], "max_samples": 400})
    run = experiment.run_experiment(p, ds)
    records = run.seed_records()
    for seed, record in zip(p.seeds, records, strict=True):
        test = data.split_of(ds, p, seed).test
        assert record["n_test"] == len(test) == 120
        model = run.seeds[p.seeds.index(seed)].model
        x_test = data.features(ds, test, True)
        expected = np.bincount(train.predict_labels(model, x_test), minlength=10).tolist()
        assert record["test_predicted_counts"] == expected
    assert run.data_record()["data_split"] == "per_seed"
    assert np.array_equal(run.split.test, data.split_of(ds, p, 0).test)
    np.testing.assert_array_equal(run.prepared.x_test,
                                  data.features(ds, run.split.test, True))
