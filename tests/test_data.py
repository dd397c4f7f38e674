"""Data sources load real pixels, and every kind of bad input gets one clear error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import kaggle_rows, write_idx, write_kaggle_csv

from mlplab import data


def test_mnist_5k_is_real_balanced_digits():
    ds = data.load("mnist-5k")
    assert ds.x.shape == (5000, 784) and ds.x.dtype == np.uint8
    assert np.bincount(ds.y).tolist() == [500] * 10
    assert ds.x.max() == 255 and ds.x.min() == 0
    assert len(ds.sha256) == 64 and ds.sha256 == data.sha256_files([data.mnist_5k_path()])


def test_kaggle_csv_label_first(kaggle_csv: Path):
    labels, pixels = kaggle_rows()
    ds = data.load(str(kaggle_csv))
    assert ds.y.tolist() == labels.tolist()
    assert np.array_equal(ds.x, pixels.astype(np.uint8))


def test_idx_folder(tmp_path: Path):
    labels, pixels = kaggle_rows(n_per_class=4)
    write_idx(tmp_path / "idx", pixels, labels, "train")
    write_idx(tmp_path / "idx", pixels[:20], labels[:20] % 10, "t10k")
    ds = data.load(str(tmp_path / "idx"))
    assert ds.n == len(labels) + 20
    assert np.array_equal(ds.x[: len(labels)], pixels.astype(np.uint8))


def _csv_with(tmp_path: Path, mutate) -> Path:
    labels, pixels = kaggle_rows()
    rows = [[str(v) for v in [lab, *row]] for lab, row in zip(labels, pixels, strict=True)]
    header = "label," + ",".join(f"pixel{i}" for i in range(784))
    header, rows = mutate(header, rows)
    path = tmp_path / "bad.csv"
    path.write_text("\n".join([header] + [",".join(r) for r in rows]) + "\n")
    return path


def _set(row: int, col: int, value: str):
    def mutate(header, rows):
        rows[row][col] = value
        return header, rows
    return mutate


@pytest.mark.parametrize("mutate, expected", [
    (lambda h, r: (h.replace("pixel5,", ""), [x[:6] + x[7:] for x in r]), "missing pixel5"),
    (lambda h, r: (h.replace("label", "digit"), r), "missing label"),
    (_set(2, 10, "abc"), "non-numeric"),
    (_set(4, 3, ""), "missing value (NaN) in data row 5"),
    (_set(1, 0, "10"), "label 10 in data row 2 is outside 0-9"),
    (_set(3, 0, "-1"), "outside 0-9"),
    (_set(0, 100, "256"), "pixel value 256 in data row 1 is outside 0-255"),
    (_set(0, 100, "-3"), "outside 0-255"),
    (_set(0, 100, "1.5"), "whole numbers"),
    (lambda h, r: (h, [x for x in r if x[0] != "7"] + [r[21]]), "class 7 (1)"),
])
def test_bad_csv_one_line_error_naming_file(tmp_path: Path, mutate, expected):
    path = _csv_with(tmp_path, mutate)
    with pytest.raises(data.DataError) as err:
        data.load(str(path))
    message = str(err.value)
    assert str(path) in message and expected in message and "\n" not in message


def test_missing_file_and_empty_file(tmp_path: Path):
    with pytest.raises(data.DataError, match="nope.csv: file not found"):
        data.load(str(tmp_path / "nope.csv"))
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(data.DataError, match="empty"):
        data.load(str(tmp_path / "empty.csv"))


def test_truncated_idx(tmp_path: Path):
    labels, pixels = kaggle_rows()
    write_idx(tmp_path, pixels, labels, "train")
    path = tmp_path / "train-images-idx3-ubyte.gz"
    import gzip
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(data.DataError, match="truncated IDX"):
        data.load(str(tmp_path))


def test_split_is_stratified_disjoint_and_seed_independent():
    ds = data.load("mnist-5k")
    s = data.split(ds, 0.3, 0.3)
    assert len(s.test) == 1500 and len(s.train) + len(s.val) == 3500
    assert not set(s.test) & set(s.train) and not set(s.test) & set(s.val)
    assert not set(s.train) & set(s.val)
    assert np.bincount(ds.y[s.test]).tolist() == [150] * 10
    again = data.split(ds, 0.3, 0.3)
    assert np.array_equal(s.test, again.test) and np.array_equal(s.val, again.val)


def test_max_samples_caps_and_stays_stratified():
    ds = data.load("mnist-5k")
    s = data.split(ds, 0.3, 0.3, max_samples=400)
    rows = np.concatenate([s.train, s.val, s.test])
    assert len(rows) == 400
    assert np.bincount(ds.y[rows]).tolist() == [40] * 10


def test_write_kaggle_helper_roundtrip(tmp_path: Path):
    labels, pixels = kaggle_rows(n_per_class=2)
    path = write_kaggle_csv(tmp_path / "x.csv", labels, pixels)
    assert data.load(str(path)).n == 20


FASHION = data.FASHION_MNIST_DIR


@pytest.mark.skipif(not FASHION.exists(), reason="Debian's dataset-fashion-mnist not installed")
def test_real_fashion_mnist_loads_and_trains_one_epoch_on_a_slice():
    import resource

    from mlplab import params, train

    ds = data.load("fashion-mnist")
    assert ds.x.shape == (70_000, 784) and ds.class_names[0] == "T-shirt/top"
    assert np.bincount(ds.y).tolist() == [7000] * 10
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 < 3000  # MB
    p = params.validate({"dataset": "fashion-mnist", "epochs": 1, "max_samples": 3000,
                         "hidden_layers": [50]})
    experiment = train.run_experiment(p, ds)
    assert experiment.first.metrics["test_accuracy"] > 0.5  # 10 classes: chance is 0.1
    assert experiment.data_record()["class_names"][9] == "Ankle boot"
