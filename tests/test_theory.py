"""The maths the notebook teaches, checked: by hand equals Keras, autodiff equals closed form,
and accuracy is a staircase where cross-entropy is smooth."""

from __future__ import annotations

import numpy as np
import pytest

from mlplab import params
from mlplab.lab import theory

EPS = 1e-7


def naive_cross_entropy(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """-log p_true: the textbook formula with neither Keras' rescaling nor its clipping."""
    with np.errstate(divide="ignore"):
        return -np.log(np.sum(y * p, axis=-1))


def probability_rows(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(10), size=64)
    y = np.eye(10)[rng.integers(0, 10, size=64)]
    probs[0], y[0] = np.eye(10)[3], np.eye(10)[3]  # certain and right: log(1 - eps)
    probs[1], y[1] = np.eye(10)[4], np.eye(10)[0]  # certain and wrong: log 0 clipped to log eps
    probs[2, 5], y[2] = 0.0, np.eye(10)[5]  # a zero on the true class among other mass
    probs[3:8] *= np.array([[0.5], [2.0], [3.0], [0.8], [1.3]])  # rows not summing to 1
    return y, probs


def test_cross_entropy_by_hand_equals_keras_including_clipping():
    y, probs = probability_rows()
    assert theory.cross_entropy_by_hand(y, probs) == pytest.approx(
        theory.cross_entropy_keras(y, probs), abs=1e-6)
    for row in range(10):  # the special rows one by one, so none hides in the mean
        assert theory.cross_entropy_by_hand(y[[row]], probs[[row]]) == pytest.approx(
            theory.cross_entropy_keras(y[[row]], probs[[row]]), rel=1e-6, abs=1e-6)
    assert theory.cross_entropy_by_hand(y[[1]], probs[[1]]) == pytest.approx(-np.log(EPS))
    assert theory.cross_entropy_by_hand(y[[0]], probs[[0]]) == pytest.approx(EPS, rel=1e-3)
    # The data really exercise Keras' two adjustments: without them the formula disagrees.
    naive = naive_cross_entropy(y, probs)
    assert np.isinf(naive[1]) and np.isinf(naive[2])
    assert np.abs(naive[3:8] - [theory.cross_entropy_keras(y[[r]], probs[[r]])
                                for r in range(3, 8)]).min() > 0.2


def test_worked_example_uniform_guess_is_log_k():
    worked = theory.worked_example(np.full(10, 0.1), 3)
    assert worked["true_class"] == 3 and worked["p_true"] == pytest.approx(0.1)
    assert not worked["clipped"]
    assert worked["log_p_true"] == pytest.approx(np.log(0.1))
    assert worked["loss_by_hand"] == pytest.approx(np.log(10))
    assert worked["loss_keras"] == pytest.approx(np.log(10), abs=1e-6)
    assert worked["loss_unclipped"] == pytest.approx(np.log(10))


def test_worked_example_clips_a_zero_probability_like_keras():
    probs = np.zeros(10)
    probs[2] = 1.0
    worked = theory.worked_example(probs, 0)
    assert worked["clipped"] and worked["log_p_true"] == pytest.approx(np.log(EPS))
    assert worked["loss_by_hand"] == pytest.approx(-worked["log_p_true"])
    assert worked["loss_keras"] == pytest.approx(worked["loss_by_hand"], rel=1e-6)
    assert worked["loss_unclipped"] == np.inf  # no logits given: −ln 0


def test_worked_example_from_logits_keeps_the_loss_the_clip_hides():
    logits = np.r_[-60.0, np.zeros(9)]  # p_true = e^-60 / (9 + e^-60), about 9.7e-28
    probs = np.exp(logits) / np.exp(logits).sum()
    worked = theory.worked_example(probs, 0, logits)
    assert worked["clipped"]
    assert worked["loss_unclipped"] == pytest.approx(60 + np.log(9), rel=1e-12)
    assert worked["p_true"] == pytest.approx(np.exp(-60) / 9, rel=1e-9)
    assert worked["loss_by_hand"] == pytest.approx(-np.log(EPS))  # what Keras reports


def test_gradient_table_autodiff_matches_closed_form_and_mse_vanishes():
    table = theory.gradient_table((0.0, 5.0, 10.0))
    assert list(table.columns) == ["gap", "p_true", "ce_autodiff", "ce_closed_form",
                                   "mse_autodiff", "mse_closed_form"]
    np.testing.assert_allclose(table["ce_autodiff"], table["ce_closed_form"], rtol=1e-4)
    np.testing.assert_allclose(table["mse_autodiff"], table["mse_closed_form"], rtol=1e-4)
    # p_true = 1 / (K - 1 + e^gap) with K = 10
    np.testing.assert_allclose(table["p_true"], 1 / (9 + np.exp([0.0, 5.0, 10.0])), rtol=1e-12)
    np.testing.assert_allclose(table["ce_closed_form"], [-0.9, -0.993647, -0.999955], atol=1e-6)
    np.testing.assert_allclose(table["mse_closed_form"], [-1.8e-2, -2.38427e-3, -1.81443e-5],
                               rtol=1e-5)
    ce, mse = table["ce_autodiff"].abs(), table["mse_autodiff"].abs()
    assert (table["ce_autodiff"] < 0).all() and (table["mse_autodiff"] < 0).all()  # both push up
    assert ce.min() >= 0.9 - 1e-6  # cross-entropy keeps pushing (Keras computes in float32)
    assert mse.iloc[-1] < 1e-3 * ce.iloc[-1]  # MSE has almost stopped
    assert mse.iloc[0] / mse.iloc[-1] > 500  # ...having shrunk by orders of magnitude


def test_loss_curves_are_monotone_and_agree_with_the_table():
    gaps = np.linspace(0, 15, 31)
    curves = theory.loss_curves(gaps)
    assert set(curves) == {"gap", "p_true", "ce_loss", "mse_loss", "ce_grad", "mse_grad"}
    assert all(len(v) == len(gaps) for v in curves.values())
    np.testing.assert_allclose(curves["ce_loss"], -np.log(curves["p_true"]), rtol=1e-9)
    assert np.all(np.diff(curves["ce_loss"]) > 0)  # cross-entropy keeps growing...
    assert curves["mse_loss"].max() < 2 / 10  # ...while MSE is capped at 2/K
    assert np.all(np.diff(np.abs(curves["mse_grad"])) < 0)  # MSE's push fades
    assert np.abs(curves["ce_grad"]).min() >= 0.9
    table = theory.gradient_table((0.0, 5.0, 10.0))
    at = np.searchsorted(gaps, [0.0, 5.0, 10.0])
    np.testing.assert_allclose(curves["ce_grad"][at], table["ce_autodiff"], rtol=1e-4)
    np.testing.assert_allclose(curves["mse_grad"][at], table["mse_autodiff"], rtol=1e-4)


def clustered_digits(n: int = 600, noise: float = 0.6, seed: int = 0):
    """MNIST-shaped synthetic data: 10 random sparse binary 'prototype digits' + noise."""
    rng = np.random.default_rng(seed)
    prototypes = (rng.random((10, 784)) < 0.2).astype(np.float32)
    labels = np.arange(n) % 10
    x = np.clip(prototypes[labels] + noise * rng.standard_normal((n, 784)), 0, 1)
    return x.astype(np.float32), np.eye(10, dtype=np.float32)[labels]


@pytest.mark.slow
def test_weight_line_accuracy_is_a_staircase_cross_entropy_smooth():
    import keras

    from mlplab.lab import models

    x, y = clustered_digits()
    keras.utils.set_random_seed(0)
    model = models.build(params.validate({"hidden_layers": [16]}))
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    model.fit(x[:400], y[:400], epochs=2, batch_size=32, verbose=0)
    x_val, y_val = x[400:], y[400:]
    before = [w.copy() for w in model.get_weights()]
    probs_before = np.asarray(model(x_val, training=False))

    scan = theory.weight_line_scan(model, x_val, y_val, steps=81, span=0.1, seed=0)

    assert list(scan.columns) == ["t", "accuracy", "cross_entropy", "mean_squared_error",
                                  "saturated"]
    np.testing.assert_allclose(scan["t"], np.linspace(-0.1, 0.1, 81))
    acc, ce = scan["accuracy"].to_numpy(), scan["cross_entropy"].to_numpy()
    # t = 0 is the trained network itself, which has learned something
    centre = np.argmin(np.abs(scan["t"].to_numpy()))
    assert acc[centre] == np.mean(probs_before.argmax(1) == y_val.argmax(1)) > 0.5
    assert ce[centre] == pytest.approx(theory.cross_entropy_keras(y_val, probs_before), abs=1e-5)
    mse = np.mean((probs_before.astype(np.float64) - y_val) ** 2)
    assert scan["mean_squared_error"].iloc[centre] == pytest.approx(mse, abs=1e-7)
    # accuracy: a staircase, with steps (not one flat line) but few of them
    assert 2 <= len(np.unique(acc)) < len(acc) / 4
    assert np.sum(np.diff(acc) == 0) > len(acc) / 2  # flat between most neighbours
    # cross-entropy: changes at every step, and smoothly (accuracy would fail this test)
    assert len(np.unique(ce)) == len(ce)

    def roughness(v: np.ndarray) -> float:
        return float(np.abs(np.diff(v, 2)).max() / np.ptp(v))

    assert roughness(ce) < 0.01 < roughness(acc)
    # the model is left exactly as it was
    for w, w0 in zip(model.get_weights(), before, strict=True):
        assert np.array_equal(w, w0)
    assert np.array_equal(np.asarray(model(x_val, training=False)), probs_before)


@pytest.mark.slow
def test_staircase_scan_is_the_widest_span_that_reads_as_a_staircase(monkeypatch):
    """The span and scan are those of trying every span in full, widest first (the
    definition, below); when no span qualifies, the widest."""
    import keras
    import pandas as pd

    from mlplab.lab import models

    def in_full(model, x, y):
        first = None
        for span in theory.STAIRCASE_SPANS:
            scan = theory.weight_line_scan(model, x, y, steps=81, span=span, seed=0)
            first = scan if first is None else first
            acc = scan["accuracy"].to_numpy()
            if np.ptp(acc) > 0 and np.mean(np.diff(acc) == 0) >= theory.STAIRCASE_FLAT_SHARE:
                return scan, span
        return first, theory.STAIRCASE_SPANS[0]

    x, y = clustered_digits(n=1400, noise=1.0)
    keras.utils.set_random_seed(0)
    model = models.build(params.validate({"hidden_layers": [16]}))
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    model.fit(x[:400], y[:400], epochs=3, batch_size=32, verbose=0)

    # 0.1: accuracy moves between most neighbours; 0.03 is a staircase. Span 0 never moves:
    # with it alone after 0.1, no span qualifies, and the answer is 0.1's scan.
    for spans, chosen in (((0.1, 0.03, 0.01), 0.03), ((0.1, 0.0), 0.1)):
        monkeypatch.setattr(theory, "STAIRCASE_SPANS", spans)
        expected = in_full(model, x[400:], y[400:])
        scan, span = theory.staircase_scan(model, x[400:], y[400:], seed=0)
        assert span == expected[1] == chosen
        pd.testing.assert_frame_equal(scan, expected[0], check_exact=True)


def test_the_scan_is_what_the_network_computes_at_each_point_and_leaves_it_unchanged():
    """All points at once, from the layers' weights: each equals the network itself with its
    weights set to w + t*d (Keras' own layers, float32: to float rounding), through Dropout
    and two activations, and on more images than one chunk of points holds."""
    import keras

    from mlplab.lab import models

    keras.utils.set_random_seed(0)
    model = models.build(params.validate({"hidden_layers": [12, 6], "activation": "tanh",
                                          "dropout": 0.5}))
    rng = np.random.default_rng(1)
    x = rng.random((300, 784)).astype(np.float32)
    y = np.eye(10)[rng.integers(0, 10, 300)]
    before = [w.copy() for w in model.get_weights()]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(theory, "SCAN_CHUNK", 300 * 12 * 2 * 3)  # three points a chunk
        scan = theory.weight_line_scan(model, x, y, steps=7, span=0.5, seed=3)
    assert np.array_equal(scan["t"], np.linspace(-0.5, 0.5, 7))
    for w, w0 in zip(model.get_weights(), before, strict=True):
        assert np.array_equal(w, w0)

    direction_rng = np.random.default_rng(3)
    directions = []
    for w in before:
        d = direction_rng.standard_normal(w.shape)
        directions.append(d * np.linalg.norm(w) / np.linalg.norm(d))
    for row in scan.itertuples():
        model.set_weights([w + row.t * d for w, d in zip(before, directions, strict=True)])
        log_p = theory.log_softmax(theory.model_logits(model, x))
        assert row.cross_entropy == pytest.approx(np.mean(-np.sum(y * log_p, axis=1)),
                                                  rel=1e-5)
        assert row.accuracy == np.mean(log_p.argmax(1) == y.argmax(1))
        assert row.mean_squared_error == pytest.approx(np.mean((np.exp(log_p) - y) ** 2),
                                                       rel=1e-4)
    model.set_weights(before)
    with pytest.raises(ValueError, match="expected 784 input features, got 783"):
        theory.weight_line_scan(model, np.zeros((5, 783)), np.eye(10)[:5], steps=3)


def test_logits_scan_is_not_pinned_where_the_clipped_loss_was():
    """Raw 0-255 pixels saturate the softmax: nearly every wrong image's p_true is below
    1e-7, so a cross-entropy from clipped probabilities sits at (share wrong) x -ln 1e-7
    and cannot move, although training (which uses the logits) sees a loss that does."""
    import keras

    from mlplab.lab import models, train

    keras.utils.set_random_seed(0)
    model = models.build(params.validate({"hidden_layers": [8]}))
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (300, 784)).astype(np.float32)
    y = np.eye(10)[rng.integers(0, 10, 300)]
    kernel = model.layers[-1].kernel
    kernel.assign(20 * kernel.numpy())  # a network as saturated as MSE on raw pixels leaves it
    original = np.array(kernel.numpy())
    z = theory.model_logits(model, x)
    np.testing.assert_allclose(np.exp(theory.log_softmax(z)), train.predict_probabilities(model, x),
                               atol=1e-6)
    clipped, exact = [], []
    for t in (-0.002, 0.0, 0.002):
        kernel.assign(original * (1 + t))
        clipped.append(theory.cross_entropy_by_hand(y, train.predict_probabilities(model, x)))
        exact.append(float(np.mean(-np.sum(y * theory.log_softmax(
            theory.model_logits(model, x)), axis=1))))
    kernel.assign(original)
    wrong = np.mean(z.argmax(1) != y.argmax(1))
    assert np.ptp(clipped) < 1e-4 < 1 < np.ptp(exact)
    assert clipped[1] == pytest.approx(-wrong * np.log(EPS), rel=0.05)
    assert np.all(np.diff(exact) != 0) and exact[1] > 3 * clipped[1]

    scan = theory.weight_line_scan(model, x, y, steps=5, span=0.001, seed=0)
    # the scan's hidden layer in float64, model_logits' in float32 as Keras runs it
    assert scan["cross_entropy"].iloc[2] == pytest.approx(exact[1], rel=1e-6)
    assert np.all(np.diff(scan["cross_entropy"]) != 0)
    assert scan["saturated"].iloc[2] > 0.9
