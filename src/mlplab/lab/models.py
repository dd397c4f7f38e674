"""The multilayer perceptron, built from the run's parameters."""

from __future__ import annotations

from mlplab.params import DEFAULT_DATA, Params

# Sizes when a caller gives none: the default dataset's (a registry entry), e.g. for a
# network built before any data is loaded. Training passes the loaded data's own.
DEFAULT_INPUTS, DEFAULT_CLASSES = DEFAULT_DATA.input_size, DEFAULT_DATA.classes


def param_count(hidden_layers: list[int], n_inputs: int = DEFAULT_INPUTS,
                n_classes: int = DEFAULT_CLASSES) -> int:
    """Weights plus biases of a dense inputs-...-classes network (no TensorFlow needed)."""
    sizes = [n_inputs, *hidden_layers, n_classes]
    return sum((a + 1) * b for a, b in zip(sizes, sizes[1:], strict=False))


def build(params: Params, n_classes: int = DEFAULT_CLASSES, seed: int | None = None,
          n_inputs: int = DEFAULT_INPUTS):
    """An uncompiled Keras MLP: Dense(ReLU...) hidden layers, each with the run's L2 penalty
    and followed by its dropout, and a softmax output.

    With ``seed`` the initial weights are those of that training seed, so a page that shows
    an untrained network shows the same one every time it is built."""
    from mlplab.lab.backend import tensorflow

    tensorflow()
    import keras

    if seed is not None:
        from mlplab.lab.seeding import seed_training

        seed_training(seed)
    # As in TensorFlow's "Overfit and underfit" tutorial: the penalty on the hidden layers'
    # kernels, dropout after each hidden layer; the output layer has neither.
    penalty = keras.regularizers.L2(params.l2) if params.l2 > 0 else None
    dense = [keras.layers.Dense(units, activation=params.activation, kernel_regularizer=penalty,
                                name=f"hidden_{i}")
             for i, units in enumerate(params.hidden_layers, start=1)]
    dense.append(keras.layers.Dense(n_classes, activation="softmax", name="class_probs"))
    # Each layer draws its random seed when it is created: the Dense layers first, so a
    # seed's initial weights are the same with dropout as without (the runs stay paired).
    layers = [keras.Input(shape=(n_inputs,), name="pixels")]
    for i, layer in enumerate(dense[:-1], start=1):
        layers.append(layer)
        if params.dropout > 0:
            layers.append(keras.layers.Dropout(params.dropout, name=f"dropout_{i}"))
    layers.append(dense[-1])
    return keras.Sequential(layers, name="mlp_" + "_".join(map(str, params.hidden_layers)))


def optimizer(params: Params):
    import keras

    classes = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD,
               "rmsprop": keras.optimizers.RMSprop}
    return classes[params.optimizer](learning_rate=params.learning_rate)
