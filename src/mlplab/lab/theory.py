"""The loss-function maths the notebook teaches, computed two ways so each checks the other.

Why we train on categorical cross-entropy, report accuracy, and avoid mean squared error
on a softmax: hand formulas in NumPy sit beside Keras' own losses and TensorFlow's
automatic differentiation, and the tests hold them equal. TensorFlow, Keras and pandas are
imported inside the functions that need them, so importing this module costs only NumPy.

Conventions: ``K`` classes, one-hot targets ``y``, softmax outputs ``p`` (written ŷ in the
notebook), logits ``z``. In the gradient experiments the true class is class 0 with logit 0,
one wrong class (class 1) has logit ``gap`` and the others 0, so the true class trails the
wrong one by ``gap``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

EPSILON = 1e-7  # keras.config.epsilon(): Keras clips probabilities to [eps, 1 - eps]
TRUE_CLASS, WRONG_CLASS = 0, 1  # the two classes of the gradient experiments


# --- Cross-entropy by hand and by Keras ------------------------------------------------

def _cross_entropy_rows(y_true_onehot: Any, probs: Any, eps: float) -> np.ndarray:
    """Per-example -sum_k y_k log p_k, exactly as Keras computes it from probabilities."""
    y = np.asarray(y_true_onehot, dtype=np.float64)
    p = np.asarray(probs, dtype=np.float64)
    p = p / p.sum(axis=-1, keepdims=True)  # Keras rescales each row to sum to 1 ...
    p = np.clip(p, eps, 1 - eps)  # ... then clips, so log never sees 0
    return -np.sum(y * np.log(p), axis=-1)


def log_softmax(z: np.ndarray) -> np.ndarray:
    """log softmax(z) row by row, stably: z - max - log sum exp(z - max), never -inf."""
    z = np.asarray(z, dtype=np.float64)
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy_by_hand(y_true_onehot: np.ndarray, probs: np.ndarray,
                          eps: float = EPSILON) -> float:
    """L = -(1/N) sum_n sum_k y_nk log p_nk: the mean cost of the true classes' probabilities.

    Matches ``keras.losses.CategoricalCrossentropy`` on probabilities step by step: each row
    is first divided by its sum, then clipped to [eps, 1 - eps] (a probability of exactly 0
    would give log 0 = -inf), then the log is taken and the batch averaged. In float64; Keras
    works in float32, so the two agree to about 1e-6.
    """
    return float(np.mean(_cross_entropy_rows(y_true_onehot, probs, eps)))


def cross_entropy_keras(y_true: np.ndarray, probs: np.ndarray) -> float:
    """Keras' own CategoricalCrossentropy (mean over the batch), the reference for the hand
    formula. ``probs`` are probabilities (a model's softmax output), not logits."""
    from mlplab.lab.backend import tensorflow

    tensorflow()
    import keras

    loss = keras.losses.CategoricalCrossentropy()
    return float(loss(np.asarray(y_true, np.float32), np.asarray(probs, np.float32)))


def worked_example(probs_row: np.ndarray, true_class: int,
                   logits_row: np.ndarray | None = None) -> dict[str, Any]:
    """The numbers a student needs to follow the loss of one digit by hand.

    Only the true class's term survives the sum over classes, so the loss is -log p_true.
    Returns ``true_class``, ``p_true`` (the network's probability: from ``logits_row`` in
    float64 when given, so a value that float32 rounds to 0 keeps its size), ``loss_unclipped``
    (-log p_true itself, the loss training computes from the logits; infinite if p_true is 0
    and no logits are given), ``clipped`` (whether Keras' [eps, 1 - eps] clip changes the
    probability Keras is handed), ``log_p_true`` (log of the rescaled, clipped probability),
    ``loss_by_hand`` (its negative) and ``loss_keras`` (CategoricalCrossentropy on
    ``probs_row``).
    """
    probs_row = np.asarray(probs_row, dtype=np.float64)
    y = np.zeros_like(probs_row)
    y[true_class] = 1.0
    given = float(probs_row[true_class])
    p_used = float(np.clip(given / probs_row.sum(), EPSILON, 1 - EPSILON))
    if logits_row is not None:
        log_p = float(log_softmax(np.asarray(logits_row, dtype=np.float64)[None])[0, true_class])
        p_true, unclipped = float(np.exp(log_p)), -log_p
    else:
        p_true = given
        unclipped = float(-np.log(given)) if given > 0 else float("inf")
    return {"true_class": int(true_class), "p_true": p_true, "loss_unclipped": unclipped,
            "clipped": not EPSILON <= given <= 1 - EPSILON,
            "log_p_true": float(np.log(p_used)),
            "loss_by_hand": cross_entropy_by_hand(y[None], probs_row[None]),
            "loss_keras": cross_entropy_keras(y[None], probs_row[None])}


# --- Gradients on the true class's logit -------------------------------------------------

def _logits(gaps: Any, n_classes: int) -> np.ndarray:
    """One row of logits per gap: all 0 except the wrong class, at ``gap``."""
    gaps = np.atleast_1d(np.asarray(gaps, dtype=np.float64))
    z = np.zeros((len(gaps), n_classes))
    z[:, WRONG_CLASS] = gaps
    return z


def _softmax(z: np.ndarray) -> np.ndarray:
    return np.exp(log_softmax(z))


def closed_form_gradients(gaps: Any, n_classes: int = 10) -> dict[str, np.ndarray]:
    """p_true and both losses' gradients on the true logit, from the closed forms.

    Cross-entropy: dL/dz_j = p_j - y_j, which stays near -1 however wrong the network is.
    Keras' MSE, (1/K) sum_k (p_k - y_k)^2, through the softmax:
    dL/dz_j = (2/K) p_j [(p_j - y_j) - sum_k (p_k - y_k) p_k]; the factor p_j makes it
    vanish exactly when the true class is confidently wrong. The closed forms ignore Keras'
    1e-7 clip, which only matters once p_true < 1e-7 (see ``autodiff_gradients``).
    """
    p = _softmax(_logits(gaps, n_classes))
    y = np.zeros(n_classes)
    y[TRUE_CLASS] = 1.0
    j = TRUE_CLASS
    inner = np.sum((p - y) * p, axis=-1)
    return {"p_true": p[:, j], "ce_grad": p[:, j] - y[j],
            "mse_grad": (2 / n_classes) * p[:, j] * ((p[:, j] - y[j]) - inner)}


def autodiff_gradients(gap: float, n_classes: int = 10) -> tuple[float, float]:
    """dL/dz_true for Keras' CategoricalCrossentropy and MeanSquaredError on softmax outputs,
    by tf.GradientTape: an independent check of the closed forms.

    The softmax is ``tf.nn.softmax``, so both losses see plain probabilities and the tape
    differentiates through softmax, Keras' rescale-and-clip and log (Keras computes in
    float32). Caveat for gaps where p_true < 1e-7 (gap > ~16 with 10 classes): there the clip
    makes this cross-entropy gradient exactly 0. A Keras model does not suffer this: its
    softmax activation hands the logits to the loss, which then uses the fused, unclipped
    softmax-cross-entropy whose gradient is p - y.
    """
    from mlplab.lab.backend import tensorflow

    tf = tensorflow()
    import keras

    z = tf.Variable(_logits(gap, n_classes), dtype=tf.float64)
    y = tf.constant(np.eye(n_classes)[[TRUE_CLASS]], dtype=tf.float64)
    grads = []
    for loss in (keras.losses.CategoricalCrossentropy(), keras.losses.MeanSquaredError()):
        with tf.GradientTape() as tape:
            value = loss(y, tf.nn.softmax(z))
        grads.append(float(tape.gradient(value, z).numpy()[0, TRUE_CLASS]))
    return grads[0], grads[1]


def gradient_table(gaps: tuple[float, ...] = (0.0, 5.0, 10.0),
                   n_classes: int = 10) -> pd.DataFrame:
    """How hard each loss pushes the true class's logit up as it trails a wrong class by
    ``gap``: autodiff beside closed form, for cross-entropy and MSE.

    Columns: gap, p_true, ce_autodiff, ce_closed_form, mse_autodiff, mse_closed_form (each
    gradient is dL/dz_true; negative means gradient descent raises the true logit).
    """
    import pandas as pd

    closed = closed_form_gradients(gaps, n_classes)
    rows = []
    for i, gap in enumerate(gaps):
        ce_auto, mse_auto = autodiff_gradients(gap, n_classes)
        rows.append({"gap": float(gap), "p_true": float(closed["p_true"][i]),
                     "ce_autodiff": ce_auto, "ce_closed_form": float(closed["ce_grad"][i]),
                     "mse_autodiff": mse_auto,
                     "mse_closed_form": float(closed["mse_grad"][i])})
    return pd.DataFrame(rows)


def loss_curves(gaps: np.ndarray | None = None, n_classes: int = 10) -> dict[str, np.ndarray]:
    """Both losses and their gradients on the true logit as the prediction gets more wrong.

    For the loss-and-gradient figure. Keys: gap, p_true, ce_loss (-log p_true, computed
    stably from the logits as Keras does in training), mse_loss (Keras' mean over classes),
    ce_grad and mse_grad (signed dL/dz_true, closed forms; ``gradient_table`` checks them
    against autodiff). ``gaps`` defaults to 0 to 15 in steps of 0.1.
    """
    gaps = np.linspace(0, 15, 151) if gaps is None else np.asarray(gaps, dtype=np.float64)
    z = _logits(gaps, n_classes)
    p = _softmax(z)
    y = np.zeros(n_classes)
    y[TRUE_CLASS] = 1.0
    closed = closed_form_gradients(gaps, n_classes)
    return {"gap": gaps, "p_true": closed["p_true"],
            "ce_loss": -log_softmax(z)[:, TRUE_CLASS],
            "mse_loss": np.mean((p - y) ** 2, axis=-1),
            "ce_grad": closed["ce_grad"], "mse_grad": closed["mse_grad"]}


# --- Accuracy against cross-entropy along a line in weight space -----------------------

SATURATED = 1e-6  # a softmax is "saturated" on an image when its top probability > 1 - this


def model_logits(model, x: np.ndarray, batch_size: int = 8192) -> np.ndarray:
    """The logits z that the model's softmax output layer receives, in float64.

    Every layer but the last runs as Keras runs it; the last Dense layer's kernel and bias
    are applied in float64 without its softmax. From these logits a log-softmax needs no
    clip: a probability far below 1e-7, which float32 rounds to 0, keeps its true log.
    """
    import keras

    last = model.layers[-1]
    kernel = np.asarray(last.kernel, dtype=np.float64)
    bias = np.asarray(last.bias, dtype=np.float64)
    dtype = model.layers[0].compute_dtype
    width = model.inputs[0].shape[-1] if getattr(model, "inputs", None) else None
    if width is not None and np.shape(x)[-1] != width:  # as calling the layers would say
        raise ValueError(f"expected {width} input features, got {np.shape(x)[-1]}")
    out = []
    for i in range(0, len(x), batch_size):
        # The layers' own computation, without the bookkeeping of calling a layer (which
        # casts the input to this dtype first): the same numbers, in half the time.
        h = keras.ops.convert_to_tensor(x[i:i + batch_size], dtype=dtype)
        for layer in model.layers[:-1]:
            h = layer.call(h, training=False)
        out.append(np.asarray(h, dtype=np.float64) @ kernel + bias)
    return np.concatenate(out) if out else np.zeros((0, kernel.shape[1]))


def weight_line_scan(model, x: np.ndarray, y_onehot: np.ndarray, steps: int = 81,
                     span: float = 0.1, seed: int = 0) -> pd.DataFrame:
    """Accuracy and both losses at weights w + t*d, t in linspace(-span, span, steps).

    Shows why we do not train on accuracy: along any line through the weights it is a
    staircase (flat almost everywhere, so its gradient is zero), while cross-entropy changes
    smoothly at every step. The direction d is one Gaussian draw (``seed``) per trainable
    weight tensor, rescaled to that tensor's norm (a simple, per-layer form of filter
    normalisation): at t = 1 every kernel and bias has moved by its own size. The default
    span, 10% of each layer's size, is where a trained MLP's accuracy shows its flat steps;
    at span 1 accuracy falls towards chance and the steps, each one validation image, look
    like a continuous curve. The model itself is not changed.

    Every point is computed from the Dense layers' weights and their own activation
    functions in float64, all points at once (``_scan_rows``), and both losses from the
    logits, as Keras computes the training loss: no 1e-7 clip, so a saturated network's
    loss is not pinned at a clipped value that training never sees. Returns columns t,
    accuracy (fraction correct), cross_entropy, mean_squared_error (Keras' mean over
    classes of (p - y)^2) and saturated (share of images whose top probability exceeds
    1 - ``SATURATED``).
    """
    import pandas as pd

    return pd.DataFrame(_scan_rows(model, x, y_onehot, np.linspace(-span, span, steps), seed))


SCAN_CHUNK = 1 << 23  # values of one layer's outputs held at once, over all points (64 MB)


def _line_layers(model, seed: int) -> list[tuple[Any, np.ndarray, np.ndarray]]:
    """Each Dense layer of ``model`` with its weights w and the direction d, kernel and bias
    stacked as [kernel; bias] (float64); Dropout layers pass inputs through at inference.
    d draws one Gaussian per trainable variable, in the model's order of variables."""
    import keras

    rng = np.random.default_rng(seed)
    direction = {}
    for v in model.trainable_variables:
        w = np.asarray(v.numpy(), dtype=np.float64)
        d = rng.standard_normal(w.shape)
        norm = np.linalg.norm(d)
        direction[id(v)] = d * (np.linalg.norm(w) / norm) if norm > 0 else d
    layers = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dropout):
            continue
        if not isinstance(layer, keras.layers.Dense):
            raise ValueError(f"the weight-line scan takes Dense and Dropout layers, not "
                             f"{type(layer).__name__} ({layer.name})")
        w = np.vstack([np.asarray(layer.kernel.numpy(), dtype=np.float64),
                       np.asarray(layer.bias.numpy(), dtype=np.float64)])
        d = np.vstack([direction[id(layer.kernel)], direction[id(layer.bias)]])
        layers.append((layer, w, d))
    return layers


def _products(h: np.ndarray, w: np.ndarray, d: np.ndarray) -> np.ndarray:
    """[h, 1] [K; b] and [h, 1] [dK; db] side by side (``_line_layers``' w and d): a Dense
    layer's output at t = 0 and its change per unit of t, from one product."""
    inputs = np.concatenate([h, np.ones(h.shape[:-1] + (1,))], axis=-1)
    return (inputs.reshape(-1, inputs.shape[-1]) @ np.concatenate([w, d], axis=1)
            ).reshape(inputs.shape[:-1] + (2 * w.shape[1],))


def _scan_rows(model, x: np.ndarray, y_onehot: np.ndarray, ts: np.ndarray,
               seed: int) -> list[dict[str, float]]:
    """``weight_line_scan``'s rows at ``ts``. A Dense layer's output at w + t*d is
    act(h_t [K; b] + t h_t [dK; db]) (h_t with a column of ones), so each layer takes one
    product for all points of a chunk, and the first layer, whose input is the same at every
    t, one for all chunks."""
    layers = _line_layers(model, seed)
    width = layers[0][1].shape[0] - 1
    if np.shape(x)[-1] != width:  # as calling the layers would say
        raise ValueError(f"expected {width} input features, got {np.shape(x)[-1]}")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y_onehot, dtype=np.float64)
    labels = np.argmax(y, axis=1)
    widest = max(d.shape[1] for _, _, d in layers)
    per_chunk = max(1, SCAN_CHUNK // (2 * widest * max(len(x), 1)))
    # (points, images, features): the first layer's input is one "point" for every t.
    first = _products(x[None], *layers[0][1:])
    rows = []
    for start in range(0, len(ts), per_chunk):
        t = np.asarray(ts[start:start + per_chunk], dtype=np.float64)[:, None, None]
        h = x[None]
        for i, (layer, w, d) in enumerate(layers):
            both = first if i == 0 else _products(h, w, d)
            out = both[..., :w.shape[1]] + t * both[..., w.shape[1]:]
            h = out if i == len(layers) - 1 else np.asarray(layer.activation(out),
                                                            dtype=np.float64)
        log_p = log_softmax(h)  # the last layer's output: the logits its softmax receives
        p = np.exp(log_p)
        for j, t_j in enumerate(t[:, 0, 0]):
            rows.append({"t": float(t_j),
                         "accuracy": float(np.mean(np.argmax(log_p[j], axis=1) == labels)),
                         "cross_entropy": float(np.mean(-np.sum(y * log_p[j], axis=1))),
                         "mean_squared_error": float(np.mean((p[j] - y) ** 2)),
                         "saturated": float(np.mean(p[j].max(axis=1) > 1 - SATURATED))})
    return rows


# Spans tried by ``staircase_scan``, widest first (fractions of each layer's size).
STAIRCASE_SPANS = (0.1, 0.03, 0.01, 0.003, 0.001)
STAIRCASE_FLAT_SHARE = 0.75  # "a staircase": flat between at least this share of pairs


def staircase_scan(model, x: np.ndarray, y_onehot: np.ndarray, seed: int = 0,
                   steps: int = 81) -> tuple[pd.DataFrame, float]:
    """A weight-line scan at the widest span where accuracy reads as a staircase.

    How wide a step is depends on the network and the data: at a span that is too wide,
    flips of single validation images crowd together and accuracy looks continuous. Tries
    ``STAIRCASE_SPANS`` from widest to narrowest and keeps the first where accuracy both
    changes and is flat between at least ``STAIRCASE_FLAT_SHARE`` of neighbouring points;
    if none qualifies (e.g. a collapsed network whose accuracy never changes), the widest.
    Returns the scan and its span.
    """
    import pandas as pd

    widest = None
    for span in STAIRCASE_SPANS:
        rows = _scan_rows(model, x, y_onehot, np.linspace(-span, span, steps), seed)
        widest = widest if widest is not None else rows
        acc = np.array([row["accuracy"] for row in rows])
        if np.ptp(acc) > 0 and np.mean(np.diff(acc) == 0) >= STAIRCASE_FLAT_SHARE:
            return pd.DataFrame(rows), span
    return pd.DataFrame(widest), STAIRCASE_SPANS[0]  # no span qualifies: the widest
