"""The parameter declaration validates experiment files and generates the notebook cell."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT

from mlplab import params
from mlplab.lab.models import param_count
from mlplab.pipeline import experiments
from mlplab.pipeline.notebook import parameters_cell

GOOD = """\
defaults:
  seeds: [0, 1]
runs:
  - name: one
    hidden_layers: [50]
    epochs: 1
  - name: "w{hidden_layers}-s{seeds}"
    grid:
      hidden_layers: [[30], [50, 50]]
      seeds: [[0], [1, 2]]
    epochs: 2
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    return path


def test_grid_expands_to_named_runs_with_defaults(tmp_path: Path):
    specs = experiments.load(write(tmp_path, GOOD))
    assert [s.name for s in specs] == ["one", "w30-s0", "w30-s1x2", "w50x50-s0", "w50x50-s1x2"]
    assert specs[0].params.seeds == (0, 1) and specs[0].params.epochs == 1
    assert specs[4].params.hidden_layers == (50, 50) and specs[4].params.seeds == (1, 2)
    assert specs[1].params.loss == params.BY_NAME["loss"].default


@pytest.mark.parametrize("snippet, line, words", [
    ("    epochz: 3\n", 7, "unknown parameter 'epochz' (did you mean 'epochs'?)"),
    ("    epochs: 0\n", 7, "field 'epochs': expected an integer in [1, 1000]"),
    ("    epochs: two\n", 7, "field 'epochs': expected an integer"),
    ("    hidden_layers: []\n", 7, "non-empty list of integers"),
    ("    hidden_layers: [50, -5]\n", 7, "each in [1, 4096]"),
    ("    test_fraction: 1.0\n", 7, "in (0, 1)"),
    ("    loss: hinge\n", 7, "one of 'categorical_crossentropy'"),
    ("    scale_inputs: 1\n", 7, "true or false"),
    ("    restore_best_weights: true\n", 7, "only meaningful with early_stopping_patience"),
    ("    results_path: x.json\n", 7, "set by the runner"),
])
def test_bad_values_name_file_line_and_field(tmp_path: Path, snippet, line, words):
    text = "defaults:\n  seeds: [0]\nruns:\n  - name: ok\n    epochs: 1\n  - name: bad\n" + snippet
    path = write(tmp_path, text)
    with pytest.raises(experiments.ExperimentError) as err:
        experiments.load(path)
    assert str(err.value).startswith(f"{path}:{line}:")
    assert words in str(err.value)


@pytest.mark.parametrize("name", ["../x", "/abs", "has space", ""])
def test_unsafe_run_names_rejected(tmp_path: Path, name):
    path = write(tmp_path, f"runs:\n  - name: {json.dumps(name)}\n")
    with pytest.raises(experiments.ExperimentError, match="run_name|name"):
        experiments.load(path)


def test_duplicate_names_and_bad_yaml(tmp_path: Path):
    path = write(tmp_path, "runs:\n  - name: a\n  - name: a\n")
    with pytest.raises(experiments.ExperimentError, match=r":3: duplicate run name 'a'"):
        experiments.load(path)
    path = write(tmp_path, "runs: [\n")
    with pytest.raises(experiments.ExperimentError, match="not valid YAML"):
        experiments.load(path)
    path = write(tmp_path, "runs:\n  - name: a\n    grid:\n      epochs: 3\n")
    with pytest.raises(experiments.ExperimentError, match=":4: grid values of 'epochs'"):
        experiments.load(path)


def test_default_suite_is_valid_and_covers_the_assignment():
    specs = experiments.load(ROOT / "notebooks/experiments.yaml")
    layers = {tuple(s.params.hidden_layers) for s in specs}
    assert {(50,), (50, 50), (30,), (70,), (30, 30), (70, 70)} <= layers
    assert {s.params.epochs for s in specs} >= {1, 20}
    assert any(s.params.early_stopping_patience == 2 for s in specs)
    assert {s.params.loss for s in specs} == {"categorical_crossentropy",
                                                 "mean_squared_error"}
    assert all(len(s.params.seeds) >= 3 for s in specs)


def test_notebook_parameters_cell_is_generated_from_declaration():
    nb = nbformat.read(ROOT / "notebooks/mlp_lab.ipynb", as_version=4)
    cell = parameters_cell(nb)
    assert cell.source == params.parameters_cell_source()
    for p in params.PARAMS:
        assert f"{p.name}: {p.type_hint} = {p.default!r}" in cell.source


def test_source_notebooks_have_no_outputs():
    for path in (ROOT / "notebooks").glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path


@pytest.mark.parametrize("name, allowed, refused, words", [
    ("l2", [0, 0.0, 1e-4, 1.0], [-1e-9, 1.0001, True, "0.1"], "a number in [0, 1]"),
    ("dropout", [0, 0.0, 0.5, 0.999], [1.0, 1, -0.1], "a number in [0, 1)"),
    ("train_fraction", [1, 1.0, 0.25, 1e-6], [0, 0.0, 1.5, None], "a number in (0, 1]"),
    ("learning_rate", [1e-9, 9.99], [0, 10], "a number in (0, 10)"),
])
def test_bounds_are_open_or_closed_exactly_as_declared(name, allowed, refused, words):
    for value in allowed:
        assert getattr(params.validate({name: value}), name) == value
    for value in refused:
        with pytest.raises(params.ParamError,
                           match=re.escape(f"field '{name}': expected {words}")):
            params.validate({name: value})


def test_declared_defaults_pass_validation():
    assert params.validate({}).as_dict() == params.defaults()


@pytest.mark.parametrize("layers, count", [([50], 39_760), ([50, 50], 42_310),
                                           ([30], 23_860), ([70, 70], 60_630)])
def test_param_count_formula(layers, count):
    assert param_count(layers) == count


def test_usage_guide_documents_every_parameter_from_the_declaration():
    assert params.markdown_table() in (ROOT / "docs" / "using.md").read_text()


def test_environment_yml_pins_match_the_lock_file():
    import re

    lock = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", (ROOT / "requirements.lock")
                           .read_text(), re.M))
    lock = {k.lower(): v for k, v in lock.items()}
    pins = re.findall(r"^\s+- ([A-Za-z0-9_.-]+)==(\S+)", (ROOT / "environment.yml").read_text(),
                      re.M)
    assert len(pins) >= 15
    for name, version in pins:
        assert lock.get(name.lower()) == version, name


@pytest.mark.parametrize("n", [20, 30, 44])
def test_max_samples_below_the_split_bound_is_refused_in_one_line(n):
    """Issue 21: [20, inf] was documented, yet 20 and 30 failed with a DataError."""
    with pytest.raises(params.ParamError) as err:
        params.validate({"max_samples": n})
    assert str(err.value) == (
        "field 'max_samples': expected at least 45 for 10 classes at test_fraction 0.3 and "
        f"validation_fraction 0.3 (each part needs one example per class), got {n}")
    assert params.validate({"max_samples": 45}).max_samples == 45
    # A path's classes are unknown until it is read: data.split checks it then.
    assert params.validate({"dataset": "my.csv", "max_samples": n}).max_samples == n
    assert "at least 45 for 10 classes at the default fractions" in params.markdown_table()


@pytest.mark.parametrize("name, value", [
    ("learning_rate", 0.0), ("learning_rate", 10.0), ("test_fraction", 0.0),
    ("test_fraction", 1.0), ("validation_fraction", 0), ("validation_fraction", 1),
])
def test_open_bounds_reject_the_bound_itself(name, value):
    with pytest.raises(params.ParamError, match=r"in \(0, (10|1)\)"):
        params.validate({name: value})
    inside = 0.5 if value == 0 else value * 0.99
    assert getattr(params.validate({name: inside}), name) == inside


@pytest.mark.parametrize("name, low, high", [("epochs", 1, 1000), ("batch_size", 1, 65536),
                                             ("early_stopping_patience", 0, 1000)])
def test_closed_bounds_accept_the_bound_and_reject_one_past_it(name, low, high):
    for value in (low, high):
        assert getattr(params.validate({name: value}), name) == value
    for value in (low - 1, high + 1):
        with pytest.raises(params.ParamError, match=rf"in \[{low}, {high}\]"):
            params.validate({name: value})


@pytest.mark.parametrize("name, value, words", [
    ("epochs", True, "an integer in [1, 1000]"),  # a bool is no integer here
    ("epochs", 2.0, "an integer in [1, 1000]"),
    ("epochs", None, "an integer in [1, 1000]"),
    ("learning_rate", False, "a number in (0, 10)"),
    ("learning_rate", "0.1", "a number in (0, 10)"),
    ("scale_inputs", 0, "true or false"),
    ("dataset", "", "a string"),
    ("dataset", 5, "a string"),
    ("hidden_layers", [50, True], "a non-empty list of integers, each in [1, 4096]"),
    ("hidden_layers", (50,), "a non-empty list of integers, each in [1, 4096]"),
    ("hidden_layers", [4097], "a non-empty list of integers, each in [1, 4096]"),
    ("activation", "Relu", "one of 'relu', 'sigmoid', 'tanh', 'elu'"),
    ("early_stopping_patience", -1, "an integer in [0, 1000], or null"),
])
def test_each_kind_accepts_only_its_own_values(name, value, words):
    with pytest.raises(params.ParamError) as err:
        params.BY_NAME[name].validate(value)
    assert str(err.value) == f"expected {words}, got {'null' if value is None else repr(value)}"


def test_values_come_back_as_their_kind():
    assert params.BY_NAME["learning_rate"].validate(1) == 1.0
    assert type(params.BY_NAME["learning_rate"].validate(1)) is float
    assert params.BY_NAME["early_stopping_patience"].validate(None) is None
    assert params.BY_NAME["hidden_layers"].validate([4096, 1]) == [4096, 1]
    assert params.BY_NAME["scale_inputs"].validate(False) is False
    p = params.validate({"hidden_layers": [30, 20], "learning_rate": 1})
    assert p.hidden_layers == (30, 20) and p.learning_rate == 1.0


def test_a_field_error_names_the_field_and_an_unknown_name_is_refused():
    with pytest.raises(params.ParamError, match=r"^field 'epochs': expected an integer"):
        params.validate({"epochs": "two"})
    with pytest.raises(params.ParamError, match="unknown parameter 'epoch'"):
        params.validate({"epoch": 3})


@pytest.mark.parametrize("option, value, expected", [
    ("hidden_layers", "[100]", [100]), ("hidden_layers", "[50, 50]", [50, 50]),
    ("seeds", "[0,1,2]", [0, 1, 2]), ("scale_inputs", "False", False),
    ("early_stopping_patience", "None", None), ("learning_rate", "1e-2", 0.01)])
def test_papermill_values_given_as_text_are_read(option, value, expected):
    """`papermill ... -p hidden_layers "[100]"` hands the notebook the text '[100]'."""
    from papermill.cli import _resolve_type

    assert params.validate({option: _resolve_type(value)}).as_dict()[option] == expected


def test_text_that_is_not_a_value_of_the_parameter_is_still_refused():
    with pytest.raises(params.ParamError, match="hidden_layers.*got '\\[100'"):
        params.validate({"hidden_layers": "[100"})
    with pytest.raises(params.ParamError, match="run_name"):
        params.validate({"run_name": ""})
    assert params.validate({"dataset": "[1]"}).dataset == "[1]"  # a str stays text
    with pytest.raises(params.ParamError, match="l2"):
        params.validate({"l2": "0.1"})  # only lists are read from text


def test_lists_of_parameters_derive_from_their_declared_roles():
    assert params.DATA == ("dataset", "test_fraction", "validation_fraction", "max_samples")
    assert params.RUNNER_ONLY == {"run_name", "results_path", "networks_path"}
    assert params.SCRATCH_PATHS == {"results_path", "networks_path"}
    assert "l2" in params.with_role("training") and "seeds" in params.with_role("training")
    with pytest.raises(ValueError, match="role 'trainig' is not one of"):
        params.Param("x", "int", 1, "help", role="trainig")
