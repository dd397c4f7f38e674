"""Shared fixtures: small, self-written data files and the repository root."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def kaggle_rows(n_per_class: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(10), n_per_class)
    pixels = rng.integers(0, 256, size=(len(labels), 784))
    return labels, pixels


def write_kaggle_csv(path: Path, labels: np.ndarray, pixels: np.ndarray,
                     header: str | None = None) -> Path:
    header = header or "label," + ",".join(f"pixel{i}" for i in range(784))
    lines = [header] + [",".join(map(str, [lab, *row]))
                        for lab, row in zip(labels, pixels, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_idx(folder: Path, images: np.ndarray, labels: np.ndarray, prefix: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    n = len(labels)
    head = (0x803).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in (n, 28, 28))
    with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as fh:
        fh.write(head + images.astype(np.uint8).tobytes())
    with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as fh:
        fh.write((0x801).to_bytes(4, "big") + n.to_bytes(4, "big") +
                 labels.astype(np.uint8).tobytes())


@pytest.fixture
def kaggle_csv(tmp_path: Path) -> Path:
    labels, pixels = kaggle_rows()
    return write_kaggle_csv(tmp_path / "MNIST_train.csv", labels, pixels)
