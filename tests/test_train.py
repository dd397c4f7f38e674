"""Training is reproducible from the seed on CPU, and the model has the expected shape."""

from __future__ import annotations

import numpy as np
import pytest

from mlplab import params
from mlplab.lab import data, experiment, fitting, models, train


@pytest.fixture(scope="module")
def small():
    ds = data.load("mnist-5k")
    split = data.split(ds, 0.3, 0.3, max_samples=600)
    return ds, split


@pytest.mark.parametrize("layers, count", [([50], 39_760), ([50, 50], 42_310)])
def test_keras_parameter_count(layers, count):
    model = models.build(params.validate({"hidden_layers": layers}))
    assert model.count_params() == count == models.param_count(layers)


@pytest.mark.slow
def test_same_seed_same_result_other_seed_differs_and_the_fast_path_takes_keras_steps(small):
    """One test, as the fits are shared (each costs seconds): a seed's Keras fit repeats
    exactly, another seed's differs, and the fast path (many steps per call into
    TensorFlow, validation in large batches) takes the steps of Keras' default loop."""
    ds, split = small
    p = params.validate({"epochs": 2, "seeds": [0], "fast_training": True})
    prepared = fitting.prepare(ds, split, scale=True)
    a = train.fit_seed(p, prepared, seed=0)
    b = train.fit_seed(p, prepared, seed=0)
    c = train.fit_seed(p, prepared, seed=1)
    assert a.history["loss"] == b.history["loss"]
    assert a.metrics == b.metrics
    for wa, wb in zip(a.model.get_weights(), b.model.get_weights(), strict=True):
        assert np.array_equal(wa, wb)
    assert a.history["loss"] != c.history["loss"]

    plain = train.fit_seed(p.replace(fast_training=False), prepared, 0, default_loop=True)
    np.testing.assert_allclose(a.history["loss"], plain.history["loss"], rtol=1e-5)
    assert a.metrics["test_accuracy"] == pytest.approx(plain.metrics["test_accuracy"], abs=1e-6)


@pytest.mark.slow
def test_early_stopping_records_best_epoch_and_restores(small):
    ds, split = small
    prepared = fitting.prepare(ds, split, scale=True)
    p = params.validate({"epochs": 40, "early_stopping_patience": 1,
                         "restore_best_weights": True, "learning_rate": 0.01})
    r = train.fit_seed(p, prepared, 0)
    assert r.epochs_run < 40
    assert r.best_epoch == int(np.argmin(r.history["val_loss"])) + 1
    assert r.epochs_run == r.best_epoch + 1
    assert len(r.history["epoch_seconds"]) == r.epochs_run
    assert r.train_seconds >= sum(r.history["epoch_seconds"]) * 0.99
    # The network tested is the restored one: its validation loss is the best epoch's, not
    # the last epoch's, and the record says so.
    val_loss = float(r.model.evaluate(prepared.x_val, prepared.y_val, verbose=0)[0])
    best = r.history["val_loss"][r.best_epoch - 1]
    assert val_loss == pytest.approx(best, rel=1e-5)
    assert abs(val_loss - r.history["val_loss"][-1]) > 1e-4
    assert r.metrics["val_loss"] == best and r.metrics["tested_epoch"] == r.best_epoch


@pytest.mark.slow
def test_kept_networks_rebuild_the_experiment_without_training(tmp_path, monkeypatch):
    """The runner's networks file: the first run trains and keeps its networks; a rerun
    loads them (training would fail here) and gives the same records and predictions."""
    from mlplab.lab import multiseed

    kept = tmp_path / "run.networks.npz"
    p = params.validate({"epochs": 2, "seeds": [0, 1], "max_samples": 600,
                         "networks_path": str(kept)})
    first = experiment.run_experiment(p)
    assert kept.exists()

    def no_training(*args, **kwargs):
        raise AssertionError("trained again")

    monkeypatch.setattr(multiseed, "fit_seeds", no_training)
    again = experiment.run_experiment(p)
    assert again.seed_records() == first.seed_records()
    for a, b in zip(first.seeds, again.seeds, strict=True):
        assert np.array_equal(train.predict_probabilities(a.model, first.prepared.x_test),
                              train.predict_probabilities(b.model, again.prepared.x_test))
    with pytest.raises(ValueError, match="run.networks.npz: networks trained with other "
                       "parameters"):
        experiment.run_experiment(p.replace(epochs=3))


@pytest.mark.slow
def test_a_dataset_of_other_inputs_and_classes_trains_on_its_own_sizes(tmp_path):
    """Nothing assumes 784 pixels or ten classes: 64 inputs and 3 classes give 64-8-3
    networks on both paths, counts over 3 classes, a record whose label and verdicts say
    so, and kept networks that reload at those sizes."""
    from mlplab.lab.record import build_record
    from mlplab.summary import records

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    x = np.clip(rng.normal(60 + 60 * y[:, None], 30, (60, 64)), 0, 255).astype(np.uint8)
    ds = data.Dataset(x=x, y=y, class_names=("a", "b", "c"), source="synthetic",
                      sha256="0" * 64)
    base = {"hidden_layers": [8], "epochs": 2}
    # Keras' fit on one seed (each fit costs seconds; every seed's is the same code).
    for fast, seeds in ((True, [0, 1]), (False, [0])):
        p = params.validate({**base, "fast_training": fast, "seeds": seeds,
                             "networks_path": str(tmp_path / f"{fast}.npz")})
        run = experiment.run_experiment(p, ds)
        again = experiment.run_experiment(p, ds)  # from the kept networks
        for r in (run, again):
            assert [(s.model.input_shape, s.model.output_shape) for s in r.seeds] == [
                ((None, 64), (None, 3))] * len(seeds)
        seed_records = run.seed_records()
        assert [len(s["test_predicted_counts"]) for s in seed_records] == [3] * len(seeds)
        assert sum(seed_records[0]["test_predicted_counts"]) == seed_records[0]["n_test"]
        record = build_record(p, run.data_record(), run.first.model.count_params(),
                              seed_records, "now")
        assert record["data"]["n_inputs"] == 64
        assert records.architecture(record) == "64-8-3"
        assert record["param_count"] == models.param_count([8], 64, 3)
        assert all(o.n_classes == 3 for o in records.seed_outcomes(record))
