"""The maths the notebook teaches, checked: by hand equals Keras, autodiff equals closed form,
and accuracy is a staircase where cross-entropy is smooth."""

from __future__ import annotations

import numpy as np
import pytest

from mlplab import theory


def test_cross_entropy_by_hand_equals_keras_including_clipping():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(10), size=64)
    probs[0] = np.eye(10)[3]  # certain and right: clipped log(1 - eps)
    probs[1] = np.eye(10)[4]  # certain and wrong: clipped log(eps)
    y = np.eye(10)[rng.integers(0, 10, size=64)]
    y[0], y[1] = np.eye(10)[3], np.eye(10)[0]
    assert theory.cross_entropy_by_hand(y, probs) == pytest.approx(
        theory.cross_entropy_keras(y, probs), abs=1e-6)
    # the sign: a loss is positive, and higher for the wrong certain answer
    assert theory.cross_entropy_by_hand(y[1:2], probs[1:2]) == pytest.approx(-np.log(1e-7),
                                                                          rel=1e-6)


def test_worked_example_uniform_guess_is_log_k():
    worked = theory.worked_example(np.full(10, 0.1), 3)
    assert worked["loss_by_hand"] == pytest.approx(np.log(10))
    assert worked["loss_keras"] == pytest.approx(np.log(10), abs=1e-6)


def test_gradient_table_autodiff_matches_closed_form_and_mse_vanishes():
    table = theory.gradient_table((0.0, 5.0, 10.0))
    np.testing.assert_allclose(table["ce_autodiff"], table["ce_closed_form"], rtol=1e-6)
    np.testing.assert_allclose(table["mse_autodiff"], table["mse_closed_form"], rtol=1e-6)
    np.testing.assert_allclose(table["ce_closed_form"], [-0.9, -0.99365, -0.99995], atol=1e-4)
    np.testing.assert_allclose(table["mse_closed_form"], [-1.8e-2, -2.384e-3, -1.8e-5],
                               rtol=2e-2)
    assert table["ce_autodiff"].abs().min() >= 0.9 - 1e-6  # Keras computes in float32
    assert abs(table["mse_autodiff"].iloc[-1]) < 1e-3 * abs(table["ce_autodiff"].iloc[-1])


def test_loss_curves_are_monotone_where_they_should_be():
    curves = theory.loss_curves(np.linspace(0, 15, 31))
    assert np.all(np.diff(curves["ce_loss"]) > 0)
    assert np.all(np.diff(curves["mse_grad"]) < 0)  # MSE's push fades as it gets more wrong
    assert curves["ce_grad"].min() > 0.89


@pytest.mark.slow
def test_weight_line_accuracy_is_a_staircase_cross_entropy_smooth():
    from mlplab import data, params, train

    ds = data.load("mnist-5k")
    split = data.split(ds, 0.3, 0.3, max_samples=600)
    prepared = train.prepare(ds, split, scale=True)
    result = train.fit_seed(params.validate({"epochs": 3, "hidden_layers": [20]}), prepared, 0)
    before = [w.copy() for w in result.model.get_weights()]
    scan = theory.weight_line_scan(result.model, prepared.x_val, prepared.y_val, steps=81,
                                   span=0.2)
    acc, ce = scan["accuracy"].to_numpy(), scan["cross_entropy"].to_numpy()
    assert len(np.unique(acc)) < len(acc) / 2  # few distinct values...
    assert np.sum(np.diff(acc) == 0) > len(acc) / 3  # ...with flat runs: zero gradient
    assert len(np.unique(ce)) == len(ce)  # cross-entropy changes at every step
    assert np.abs(np.diff(ce, 2)).max() < 0.1 * (ce.max() - ce.min())  # and smoothly
    for w, w0 in zip(result.model.get_weights(), before, strict=True):
        assert np.array_equal(w, w0)  # the model is left as it was


def test_worked_example_clips_a_zero_probability_like_keras():
    probs = np.zeros(10)
    probs[2] = 1.0
    worked = theory.worked_example(probs, 0)
    assert worked["clipped"] and np.isfinite(worked["log_p_true"])
    assert worked["loss_by_hand"] == pytest.approx(-np.log(1e-7), rel=1e-6)
    assert worked["loss_keras"] == pytest.approx(worked["loss_by_hand"], rel=1e-5)
