"""The multilayer perceptron, built from the run's parameters."""

from __future__ import annotations

from mlplab.datafiles import N_PIXELS
from mlplab.params import Params


def param_count(hidden_layers: list[int], n_inputs: int = N_PIXELS, n_classes: int = 10) -> int:
    """Weights plus biases of a dense 784-...-10 network (no TensorFlow needed)."""
    sizes = [n_inputs, *hidden_layers, n_classes]
    return sum((a + 1) * b for a, b in zip(sizes, sizes[1:], strict=False))


def build(params: Params, n_classes: int = 10, seed: int | None = None):
    """An uncompiled Keras MLP: Dense(ReLU...) hidden layers and a softmax output.

    With ``seed`` the initial weights are those of that training seed, so a page that shows
    an untrained network shows the same one every time it is built."""
    from mlplab.lab.backend import tensorflow

    tensorflow()
    import keras

    if seed is not None:
        from mlplab.lab.seeding import seed_training

        seed_training(seed)
    layers = [keras.Input(shape=(N_PIXELS,), name="pixels")]
    for i, units in enumerate(params.hidden_layers, start=1):
        layers.append(keras.layers.Dense(units, activation=params.activation,
                                         name=f"hidden_{i}"))
    layers.append(keras.layers.Dense(n_classes, activation="softmax", name="class_probs"))
    return keras.Sequential(layers, name="mlp_" + "_".join(map(str, params.hidden_layers)))


def optimizer(params: Params):
    import keras

    classes = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD,
               "rmsprop": keras.optimizers.RMSprop}
    return classes[params.optimizer](learning_rate=params.learning_rate)
