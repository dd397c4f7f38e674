"""The Keras code a student reads in the master notebook is the code the report trains with.

The notebook's cells tagged ``keras-inputs``, ``keras-model`` and ``keras-fit`` are executed
here as written and compared with what the package does for every seed: the same inputs as
``fitting.prepare``, the same network and initial weights as ``models.build``, the same
optimizer as ``models.optimizer``, the same steps per call into TensorFlow as
``fitting.compile_model`` and, after ``fit``, the same numbers as ``train.fit_seed`` in
Keras' default loop (one step per call).
"""

from __future__ import annotations

import nbformat
import numpy as np
import pytest
from conftest import ROOT

from mlplab import params
from mlplab.lab import data, fitting, models, narrative, train
from mlplab.lab.backend import tensorflow

pytestmark = pytest.mark.slow

MASTER = ROOT / "notebooks" / "mlp_lab.ipynb"


def shown(tag: str) -> str:
    """The source of the master notebook's one cell with ``tag``."""
    cells = [c.source for c in nbformat.read(MASTER, as_version=4).cells
             if tag in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {tag!r}, found {len(cells)}"
    return cells[0]


def run_shown(p: params.Params, dataset: data.Dataset, split: data.Split,
              *tags: str) -> dict:
    """Execute the tagged cells in order, in one namespace like the notebook's."""
    tensorflow()
    scope = {"params": p, "dataset": dataset, "split": split,
             "display": lambda *_: None, "Markdown": str,
             "narrative": narrative}
    for tag in tags:
        exec(shown(tag), scope)
    return scope


@pytest.fixture(scope="module")
def small():
    dataset = data.load("mnist-5k")
    return dataset


def layer_configs(model) -> list[dict]:
    return [layer.get_config() for layer in model.layers]


@pytest.mark.parametrize("changes", [
    {},
    {"hidden_layers": [7, 5], "activation": "tanh", "seeds": [4]},
    {"scale_inputs": False, "hidden_layers": [3]},
    {"l2": 0.01, "dropout": 0.5, "hidden_layers": [6, 4], "train_fraction": 0.5},
])
def test_the_shown_inputs_and_model_are_what_the_package_builds(small, changes):
    dataset = small
    p = params.validate({"max_samples": 300, **changes})
    split = data.split_of(dataset, p)
    scope = run_shown(p, dataset, split, "keras-inputs", "keras-model")
    prepared = fitting.prepare(dataset, split, p.scale_inputs)
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        assert np.array_equal(scope[name], getattr(prepared, name)), name
    assert scope["x_test"].max() <= (1.0 if p.scale_inputs else 255.0)
    built = models.build(p, scope["n_classes"], seed=p.seeds[0])
    assert layer_configs(scope["model"]) == layer_configs(built)
    assert all(np.array_equal(a, b) for a, b in
               zip(scope["model"].get_weights(), built.get_weights(), strict=True))


# Each case costs two Keras fits (~2 CPU-s of tracing each, whatever they train), so one
# case carries SGD, MSE and both regularisers, the other early stopping and RMSprop.
@pytest.mark.parametrize("changes", [
    {"epochs": 2, "optimizer": "sgd", "learning_rate": 0.05, "loss": "mean_squared_error",
     "l2": 0.001, "dropout": 0.2},
    {"epochs": 4, "early_stopping_patience": 1, "restore_best_weights": True,
     "optimizer": "rmsprop", "hidden_layers": [9]},
])
def test_the_shown_fit_trains_as_the_package_trains_the_first_seed(small, changes):
    dataset = small
    p = params.validate({**changes, "fast_training": False, "seeds": [3], "max_samples": 300})
    split = data.split_of(dataset, p)
    scope = run_shown(p, dataset, split, "keras-inputs", "keras-model", "keras-fit")
    assert scope["model"].optimizer.get_config() == models.optimizer(p).get_config() | {
        "name": scope["model"].optimizer.name}
    # What `fast_training: false` trains with, so "exactly the code above" holds.
    assert scope["model"].steps_per_execution == fitting.STEPS_PER_EXECUTION
    ours = train.fit_seed(p, fitting.prepare(dataset, split, p.scale_inputs), p.seeds[0],
                          default_loop=True)
    assert scope["history"].history["val_loss"] == ours.history["val_loss"]
    assert scope["test_accuracy"] == ours.metrics["test_accuracy"]
