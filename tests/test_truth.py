"""Every generated sentence is true for its run, on parameter sets chosen to break them.

The master notebook is executed as the runner does, on adversarial parameters: MSE on raw
pixels (collapses to one class), sigmoid with plain SGD for two epochs (barely learns), one
seed and one epoch, a tiny sample with early stopping and restore, and Fashion-MNIST. Each
page's words are then checked against the run's own numbers, read from its results record.
"""

from __future__ import annotations

import json
import re

import nbformat
import numpy as np
import pytest
from conftest import ROOT

from mlplab import datafiles, outcomes
from mlplab.lab import data
from mlplab.outcomes import Kind

pytestmark = pytest.mark.slow

CASES = {
    "mse-raw": {"loss": "mean_squared_error", "scale_inputs": False, "seeds": [0],
                "epochs": 12},
    "sigmoid-sgd": {"activation": "sigmoid", "optimizer": "sgd", "learning_rate": 0.01,
                    "epochs": 2, "seeds": [0, 1], "max_samples": 400},
    "one-epoch-one-seed": {"epochs": 1, "seeds": [3], "max_samples": 1000},
    "tiny-restore": {"max_samples": 60, "epochs": 6, "early_stopping_patience": 0,
                     "restore_best_weights": True, "seeds": [0, 1], "hidden_layers": [8]},
    "fashion": {"dataset": "fashion-mnist", "max_samples": 1500, "epochs": 4,
                "seeds": [0, 1], "hidden_layers": [30]},
}
LOG_LINE = re.compile(r"^[EWI]\d{4} \d\d:\d\d:\d\d|node_def_util|WARNING:tensorflow|retracing",
                      re.M)
SLIPS = re.compile(r"\b1 (epochs|seeds|networks|values|classes|points)\b|[−-]0\.0\b|\bnan\b"
                   r"|(?<![\w.])-\d|\bepoch \d+–|predicts only|train 1 seed|(\d+\.\d+%)–\2",
                   re.I)


@pytest.fixture(scope="module", params=sorted(CASES))
def page(request, tmp_path_factory):
    import papermill

    from mlplab.pipeline.runner import MASTER_NOTEBOOK, ipc_kernel_manager

    name = request.param
    if CASES[name].get("dataset") == "fashion-mnist" and not datafiles.FASHION_MNIST_DIR.exists():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    tmp = tmp_path_factory.mktemp(name)
    record_path = tmp / "record.json"
    papermill.execute_notebook(
        str(ROOT / MASTER_NOTEBOOK), str(tmp / "out.ipynb"),
        parameters={**CASES[name], "run_name": name, "results_path": str(record_path)},
        kernel_name="python3", language="python", cwd=str(ROOT), progress_bar=False,
        kernel_manager_class=ipc_kernel_manager(tmp))
    nb = nbformat.read(tmp / "out.ipynb", as_version=4)
    return name, nb, json.loads(record_path.read_text())


def outputs(nb) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def prose(nb) -> str:
    return "\n".join("".join(o.get("data", {}).get("text/markdown", ""))
                     for o in outputs(nb))


def test_no_stderr_no_log_lines_no_errors(page):
    _, nb, _ = page
    for o in outputs(nb):
        text = "".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
        assert o.get("name") != "stderr", text[:300]
        assert o.get("output_type") != "error"
        assert not LOG_LINE.search(text), text[:300]


def test_no_number_slips(page):
    _, nb, _ = page
    text = prose(nb)
    assert not SLIPS.search(text), SLIPS.search(text).group(0)


def test_fate_of_each_seed_is_named_as_it_happened(page):
    name, nb, record = page
    text = prose(nb)
    k = len(record["data"]["class_names"])
    found = outcomes.of_seeds(record["seeds"], k)
    kinds = {o.kind for o in found}
    assert ("**Collapsed**" in text) == (Kind.COLLAPSED in kinds)
    assert ("**Did not learn**" in text) == (Kind.NO_LEARNING in kinds)
    assert ("**Diverged**" in text) == (Kind.DIVERGED in kinds)
    assert ("**Learned only partly**" in text) == any(o.partly_learned for o in found)
    if "No seed learned," in text:  # not even partly
        assert Kind.LEARNED not in kinds
    if name == "mse-raw":
        assert kinds == {Kind.COLLAPSED}  # the case this parameter set is here for
    learned = [s for s, o in zip(record["seeds"], found, strict=True) if o.kind == Kind.LEARNED]
    # The one definition of overfitting (mlplab.outcomes.generalisation), word for word.
    curves = [s["history"] for s in learned if len(s["history"]["loss"]) > 1]
    if curves:
        p = record["params"]
        stops = p["early_stopping_patience"] is not None
        g = outcomes.generalisation(curves, p["epochs"] if stops else None)
        for sentence in outcomes.describe(g):
            assert sentence in text
        assert ("**Overfitting" in text) == (g.loss_rose or g.accuracy_fell)
        assert all(k in h for h in curves for k in outcomes.MISCLASSIFIED_KEYS)
    else:
        assert "**Generalisation gap**" not in text and "**Overfitting" not in text
    if all(len(s["history"]["loss"]) == 1 for s in record["seeds"]):
        assert "single point, so no trend can be read" in text or not learned


def test_confusion_sentence_matches_the_matrix(page):
    _, nb, record = page
    text = prose(nb)
    names = record["data"]["class_names"]
    counts = np.array(record["seeds"][0]["test_predicted_counts"])
    if counts.max() == counts.sum():
        assert f"predicts *{names[int(counts.argmax())]}* for every test image" in text
        assert "hardest" not in text
    else:
        hardest = re.search(r"the hardest class is \*([^*]+)\*", text)
        tie = re.search(r"(\d+) classes tie as hardest", text)
        assert hardest or tie
    mentioned = set(re.findall(r"true \*([^*]+)\* predicted as \*([^*]+)\*", text))
    assert all(a in names and b in names for a, b in mentioned)


def test_class_names_follow_the_dataset(page):
    name, nb, record = page
    names = record["data"]["class_names"]
    expected = data.FASHION_CLASSES if name == "fashion" else data.DIGITS
    assert tuple(names) == expected
    italic = set(re.findall(r"\*([^*\s][^*]*)\*", prose(nb))) & set(data.FASHION_CLASSES)
    assert bool(italic) == (name == "fashion")


def test_weight_line_words_match_what_the_scan_can_show(page):
    _, nb, _ = page
    text = prose(nb)
    sentence = next(line for line in text.splitlines() if line.startswith("Along "))
    changes = re.search(r"from (\d+\.\d+) at its lowest to (\d+\.\d+)", sentence)
    if changes:
        assert changes.group(1) != changes.group(2)
    distinct = re.search(r"accuracy takes only (\d+) distinct values", sentence)
    if distinct:
        assert int(distinct.group(1)) >= 2
        flat, pairs = map(int, re.search(r"flat between (\d+) of the (\d+)", sentence).groups())
        assert flat >= 0.75 * pairs  # shown at a scale where it is a staircase


def test_headline_accuracy_is_the_records(page):
    _, nb, record = page
    accs = [s["metrics"]["test_accuracy"] for s in record["seeds"]]
    assert f"**{100 * np.mean(accs):.1f}%**" in prose(nb)


def test_restore_runs_record_the_tested_network(page):
    name, _, record = page
    for s in record["seeds"]:
        m, h = s["metrics"], s["history"]
        tested = (s["best_epoch"] if name == "tiny-restore" else s["epochs_run"]) - 1
        assert m["val_loss"] == h["val_loss"][tested]
        assert m["train_accuracy"] == h["accuracy"][tested]


def test_worked_example_is_the_same_untrained_network_every_time():
    """The untrained model is built from the run's first seed, so the example is stable."""
    from mlplab import params
    from mlplab.lab import models, theory, train

    p = params.validate({"max_samples": 200})
    ds = data.load(p.dataset)
    x = data.features(ds, np.arange(1), True)
    first, second = (theory.worked_example(train.predict_probabilities(
        models.build(p, 10, seed=p.seeds[0]), x)[0], int(ds.y[0])) for _ in range(2))
    assert first == second


def test_no_raw_python_values_on_the_page(page):
    """Every result is a sentence, a table or a described figure: no dict repr, no
    ``model.summary()`` box drawing."""
    _, nb, _ = page
    for o in outputs(nb):
        data = o.get("data", {})
        if o.get("output_type") == "execute_result":
            assert set(data) - {"text/plain"}, "".join(data.get("text/plain", ""))[:200]
        assert "Param #" not in "".join(data.get("text/html", ""))


def test_worked_example_gives_the_unclipped_loss_first(page):
    _, nb, _ = page
    sentence = next(line for line in prose(nb).splitlines() if line.startswith("Before training"))
    shown = float(re.search(r"−ln ŷ(?: = |: by hand )\*\*(\d+\.\d+)\*\*", sentence).group(1))
    if "clips ŷ" in sentence:  # below 1e-7: the true loss is above the clipped 16.118
        assert shown > 16.2 and sentence.index(f"{shown}") < sentence.index("reports")


def test_weight_line_names_the_loss_the_run_trained_on(page):
    name, nb, record = page
    sentence = next(line for line in prose(nb).splitlines() if line.startswith("Along "))
    mse = record["params"]["loss"] == "mean_squared_error"
    assert ("trained on mean squared error" in sentence) == mse
    assert "stopped learning" not in sentence and "clipped" not in sentence


def test_mistakes_gallery_is_titled_as_sampled(page):
    _, nb, record = page
    counts = np.array(record["seeds"][0]["test_predicted_counts"])
    accuracy = record["seeds"][0]["metrics"]["test_accuracy"]
    wrong = round((1 - accuracy) * counts.sum())
    alts = [o["metadata"]["image/png"]["alt"] for o in outputs(nb)
            if "image/png" in o.get("metadata", {})]
    gallery = [a for a in alts if "misclassified test image" in a]
    if wrong == 0:
        assert not gallery and "classifies every test image correctly" in prose(nb)
        return
    assert len(gallery) == 1
    expected = (f"{min(wrong, 20)} of the {wrong:,} misclassified" if wrong > 20 else
                "The only misclassified" if wrong == 1 else f"All {wrong:,} misclassified")
    assert gallery[0].startswith(expected), gallery[0][:120]
