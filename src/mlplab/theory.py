"""The loss-function maths the notebook teaches, computed two ways so each checks the other.

Hand formulas in NumPy sit beside TensorFlow's own losses and automatic differentiation;
the tests hold them equal. TensorFlow is imported inside the functions that need it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

EPSILON = 1e-7  # keras.config.epsilon(): probabilities are clipped to [eps, 1 - eps]


def cross_entropy_by_hand(y_true: Any, probs: Any, eps: float = EPSILON) -> float:
    """L = -(1/N) sum_n sum_k y_nk log p_nk, as Keras computes it on probabilities.

    Keras first rescales each row to sum to 1, then clips to [eps, 1 - eps].
    """
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(probs, dtype=np.float64)
    p = p / p.sum(axis=-1, keepdims=True)
    p = np.clip(p, eps, 1 - eps)
    return float(np.mean(-np.sum(y * np.log(p), axis=-1)))


def cross_entropy_keras(y_true: Any, probs: Any) -> float:
    import keras

    loss = keras.losses.CategoricalCrossentropy()
    return float(loss(np.asarray(y_true, np.float32), np.asarray(probs, np.float32)))


def worked_example(probs_row: np.ndarray, true_class: int) -> dict[str, Any]:
    """The numbers a student needs to follow the loss of one digit by hand."""
    y = np.zeros_like(probs_row, dtype=np.float64)
    y[true_class] = 1.0
    p_true = float(probs_row[true_class])
    return {"true_class": true_class, "p_true": p_true,
            "clipped": not EPSILON <= p_true <= 1 - EPSILON,
            "log_p_true": float(np.log(np.clip(p_true, EPSILON, 1 - EPSILON))),
            "loss_by_hand": cross_entropy_by_hand(y[None], probs_row[None]),
            "loss_keras": cross_entropy_keras(y[None], probs_row[None])}


def _logits(gap: float, n_classes: int) -> np.ndarray:
    """Logits all 0 except one wrong class (index 1) at ``gap``; class 0 is the true one."""
    z = np.zeros(n_classes)
    z[1] = gap
    return z


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def closed_form_gradients(gap: float, n_classes: int = 10) -> tuple[float, float, float]:
    """p_true, dCE/dz_true = p - y, and Keras-MSE's gradient
    (2/K) p_j [(p_j - y_j) - sum_k (p_k - y_k) p_k] at j = true class."""
    p = _softmax(_logits(gap, n_classes))
    y = np.eye(n_classes)[0]
    ce = p[0] - y[0]
    mse = (2 / n_classes) * p[0] * ((p[0] - y[0]) - np.sum((p - y) * p))
    return float(p[0]), float(ce), float(mse)


def autodiff_gradients(gap: float, n_classes: int = 10) -> tuple[float, float]:
    """The same two gradients by tf.GradientTape through softmax and Keras' losses."""
    import keras
    import tensorflow as tf

    z = tf.Variable(_logits(gap, n_classes)[None], dtype=tf.float64)
    y = tf.constant(np.eye(n_classes)[:1], dtype=tf.float64)
    grads = []
    for loss in (keras.losses.CategoricalCrossentropy(from_logits=True),
                 keras.losses.MeanSquaredError()):
        with tf.GradientTape() as tape:
            outputs = z if getattr(loss, "from_logits", False) else tf.nn.softmax(z)
            value = loss(y, outputs)
        grads.append(float(tape.gradient(value, z).numpy()[0, 0]))
    return grads[0], grads[1]


def gradient_table(gaps: tuple[float, ...] = (0.0, 5.0, 10.0),
                   n_classes: int = 10) -> pd.DataFrame:
    """Gradient on the true class's logit as it trails a wrong class by ``gap``."""
    rows = []
    for gap in gaps:
        p_true, ce_closed, mse_closed = closed_form_gradients(gap, n_classes)
        ce_auto, mse_auto = autodiff_gradients(gap, n_classes)
        rows.append({"gap": gap, "p_true": p_true, "ce_autodiff": ce_auto,
                     "ce_closed_form": ce_closed, "mse_autodiff": mse_auto,
                     "mse_closed_form": mse_closed})
    return pd.DataFrame(rows)


def loss_curves(gaps: np.ndarray | None = None, n_classes: int = 10) -> pd.DataFrame:
    """Loss and gradient magnitude of both losses as the prediction gets more wrong."""
    gaps = np.linspace(-5, 15, 201) if gaps is None else np.asarray(gaps)
    rows = []
    for gap in gaps:
        p = _softmax(_logits(gap, n_classes))
        p_true, ce_grad, mse_grad = closed_form_gradients(gap, n_classes)
        y = np.eye(n_classes)[0]
        rows.append({"gap": gap, "p_true": p_true, "ce_loss": -np.log(p_true),
                     "mse_loss": float(np.mean((p - y) ** 2)),
                     "ce_grad": abs(ce_grad), "mse_grad": abs(mse_grad)})
    return pd.DataFrame(rows)


def weight_line_scan(model, x: np.ndarray, y_onehot: np.ndarray, steps: int = 81,
                     span: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """Accuracy and cross-entropy at w + t*d along one random direction d of weight space.

    Each layer's slice of d is scaled to that layer's weight norm (so t = 1 moves every
    layer by its own size). The model's weights are restored afterwards.
    """
    rng = np.random.default_rng(seed)
    original = model.get_weights()
    direction = []
    for w in original:
        d = rng.standard_normal(w.shape)
        direction.append(d * (np.linalg.norm(w) / (np.linalg.norm(d) + 1e-12)))
    labels = np.argmax(y_onehot, axis=1)
    rows = []
    try:
        for t in np.linspace(-span, span, steps):
            model.set_weights([w + t * d for w, d in zip(original, direction, strict=True)])
            probs = np.asarray(model(x, training=False), dtype=np.float64)
            rows.append({"t": float(t),
                         "accuracy": float(np.mean(np.argmax(probs, axis=1) == labels)),
                         "cross_entropy": cross_entropy_by_hand(y_onehot, probs)})
    finally:
        model.set_weights(original)
    return pd.DataFrame(rows)
