"""Datasets: load, validate and split, without TensorFlow.

Every source becomes the same thing: ``uint8`` pixels of shape (n, inputs), integer
labels 0 to classes - 1 (its ``datafiles`` registry entry says how many of each), the class
names, and the sha256 of the files read, so a run can say exactly what it learned from. Bad
input stops here with one line naming the file and the problem, before any training starts.
"""

from __future__ import annotations

import bz2
import csv
import dataclasses
import gzip
import io
import lzma
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mlplab.datafiles import N_PIXELS, DataError, registry_entry, resolve, sha256_files
from mlplab.lab.seeding import SPLIT_SEED
from mlplab.params import MIN_PER_CLASS, Params, max_samples_error


@dataclass
class Dataset:
    x: np.ndarray  # (n, inputs) uint8, pixel intensities 0-255
    y: np.ndarray  # (n,) int64 labels 0 to classes - 1
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


# A warm kernel runs one run after another on the same data: it is parsed once per process,
# and each load gets its own copy of the arrays (milliseconds), so nothing a run does to its
# data reaches the next run.
_LOADED: dict[tuple[str, str], Dataset] = {}


def load(dataset: str, data_dir: Path | None = None) -> Dataset:
    """Load and validate a dataset by name or path (``mlplab.datafiles.DATASETS``). Files
    this process has read before, with the same sha256, are not parsed again."""
    files = resolve(dataset, data_dir)
    key = (dataset, sha256_files(files))
    if key not in _LOADED:
        _LOADED.clear()  # one dataset kept: a build's runs share theirs
        _LOADED[key] = _read(dataset, files, key[1])
    kept = _LOADED[key]
    return dataclasses.replace(kept, x=kept.x.copy(), y=kept.y.copy(), files=list(kept.files))


def _read(dataset: str, files: list[Path], sha256: str) -> Dataset:
    entry = registry_entry(dataset, files)
    x, y = READERS[entry.reader](files, entry)
    _check_values(files[0], x, y, entry.classes)
    if x.shape[1] != entry.input_size:
        raise DataError(f"{files[0]}: {x.shape[1]} inputs per example, expected "
                        f"{entry.input_size}")
    return Dataset(x=x, y=y, class_names=entry.class_names, source=dataset, sha256=sha256,
                   files=[str(f) for f in files])


# Kaggle layout, as the header names it; an unnamed first column is a row index that
# pandas' to_csv() and R's write.csv() add by default, and is ignored.
KAGGLE_COLUMNS = ["label"] + [f"pixel{i}" for i in range(N_PIXELS)]
INDEX_NAMES = ("", "Unnamed: 0")
SEPARATORS = (",", ";", "\t")  # comma; semicolon (Excel where ',' is the decimal mark); tab


def _read_csv(path: Path, *, label_first: bool, header: bool,
              classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Parse a CSV in any shape spreadsheets, editors and compressors save it.

    See ``read_text`` for encodings and compression. The separator is the one of
    comma, semicolon and tab that splits the header into the expected columns
    (files without a header use commas). Blank rows and rows of separators only
    are skipped; every other row must have as many fields as the header.
    """
    import pandas as pd

    text = read_text(path)
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise DataError(f"{path}: the file is empty")
    sep, drop_first = ",", False
    n_fields = N_PIXELS + 1
    if header:
        sep = max(SEPARATORS, key=lines[first].count)
        names = [_unquote(n) for n in lines[first].split(sep)]
        drop_first = len(names) == n_fields + 1 and names[0] in INDEX_NAMES
        _check_header(path, names[1:] if drop_first else names)
        n_fields = len(names)
        first += 1
    rows, numbers = _data_lines(path, lines, first, sep, n_fields)
    decimal = "," if sep != "," and any("," in row for row in rows[:100]) else "."
    body = io.StringIO("\n".join(rows))
    try:
        # float32 keeps 42k x 785 values at ~130 MB and lets NaN through to be reported.
        frame = pd.read_csv(body, sep=sep, header=None, dtype="float32", decimal=decimal,
                            skipinitialspace=True, skip_blank_lines=False)
    except ValueError:
        raise DataError(_non_numeric(path, rows, numbers, sep, decimal)) from None
    values = frame.to_numpy()
    if drop_first:
        values = values[:, 1:]
    bad = np.argwhere(np.isnan(values))
    if len(bad):
        row, col = bad[0]
        raise DataError(f"{path}: missing value (NaN) in data row {row + 1} (line "
                        f"{numbers[row]}), column {col + 1 + drop_first}")
    labels = values[:, 0] if label_first else values[:, -1]
    pixels = values[:, 1:] if label_first else values[:, :-1]
    _check_not_scaled(path, pixels)
    _check_integral(path, labels, "label", numbers)
    _check_integral(path, pixels, "pixel", numbers)
    _check_ranges(path, pixels, labels, numbers, classes)
    return pixels.astype(np.uint8), labels.astype(np.int64)


def read_text(path: Path) -> str:
    """A data file's text: decompressed, decoded, with '\\n' line ends only.

    Compression is recognised by its magic bytes, whatever the file is called: gzip,
    bzip2, xz, and zip archives holding one file (macOS Finder's '__MACOSX/' entries
    are ignored). Encoding: UTF-8 with or without a byte-order mark, or UTF-16 (LE or
    BE, as Excel's "Unicode text" and Windows PowerShell 5 write); a file with no mark
    is read as UTF-8, which also covers Windows-1252 or Mac Roman files of digits.
    Line ends: '\\r\\n' (Windows), '\\r' (classic Mac Excel) or '\\n'.
    """
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read the file ({err.strerror})") from None
    raw = _decompress(path, raw)
    if raw.startswith(b"\xef\xbb\xbf"):
        encoding, raw = "utf-8", raw[3:]
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding, raw = ("utf-16-le" if raw[0] == 0xFF else "utf-16-be"), raw[2:]
    elif b"\x00" in raw[:1000] and len(raw) % 2 == 0 and not raw[1:1000:2].strip(b"\x00"):
        encoding = "utf-16-le"  # UTF-16 without a byte-order mark: ASCII leaves odd bytes 0
    elif b"\x00" in raw[:1000] and len(raw) % 2 == 0 and not raw[0:1000:2].strip(b"\x00"):
        encoding = "utf-16-be"
    else:
        encoding = "utf-8"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not a text file in UTF-8 or UTF-16 (byte "
                        f"0x{raw[err.start]:02x} at offset {err.start} is not {encoding}); "
                        "save it as 'CSV UTF-8'") from None
    if "\x00" in text:
        raise DataError(f"{path}: a binary file, not CSV text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decompress(path: Path, raw: bytes) -> bytes:
    try:
        if raw.startswith(b"\x1f\x8b"):
            return gzip.decompress(raw)
        if raw.startswith(b"BZh"):
            return bz2.decompress(raw)
        if raw.startswith(b"\xfd7zXZ\x00"):
            return lzma.decompress(raw)
        if raw.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                names = [i.filename for i in archive.infolist() if not i.is_dir()
                         and not i.filename.startswith("__MACOSX/")
                         and not Path(i.filename).name.startswith("._")
                         and Path(i.filename).name != ".DS_Store"]
                if "xl/workbook.xml" in names:
                    raise DataError(f"{path}: an Excel workbook, not a CSV file: in Excel use "
                                    "File > Save As > 'CSV UTF-8 (Comma delimited)'")
                if len(names) != 1:
                    raise DataError(f"{path}: a zip archive must hold exactly one CSV file, "
                                    f"found {len(names)}" + (f" ({_few(names)})" if names else ""))
                return archive.read(names[0])
    except (OSError, EOFError, ValueError, RuntimeError, zipfile.BadZipFile) as err:
        if isinstance(err, DataError):
            raise
        raise DataError(f"{path}: damaged or unreadable compressed file ({err})") from None
    if raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise DataError(f"{path}: an Excel 97-2003 workbook, not a CSV file: in Excel use "
                        "File > Save As > 'CSV UTF-8 (Comma delimited)'")
    for magic, what in ((b"7z\xbc\xaf", "7-Zip"), (b"Rar!", "RAR"),
                        (b"\x28\xb5\x2f\xfd", "zstd")):
        if raw.startswith(magic):
            raise DataError(f"{path}: a {what} archive: extract the CSV first (gzip, bzip2, "
                            "xz and single-file zip are read directly)")
    return raw


def _unquote(name: str) -> str:
    name = name.strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1].replace('""', '"').strip()
    return name


def _check_header(path: Path, names: list[str]) -> None:
    """The Kaggle header, or one line saying what is wrong with it."""
    if names == KAGGLE_COLUMNS:
        return
    if names == KAGGLE_COLUMNS[1:]:
        raise DataError(f"{path}: no label column: this looks like Kaggle's test.csv "
                        "(pixel0..pixel783 only), whose labels are not published; train on "
                        "train.csv, whose first column is the label")
    if _is_number(names[0]):
        raise DataError(f"{path}: the first line is data, not the header label,pixel0,...,"
                        "pixel783 that a Kaggle-layout CSV starts with")
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            raise DataError(f"{path}: column {names[i]!r} appears twice (columns "
                            f"{seen[name] + 1} and {i + 1}); expected the Kaggle 'Digit "
                            "Recognizer' header label,pixel0,...,pixel783")
        seen[name] = i
    missing = [c for c in KAGGLE_COLUMNS if c not in seen]
    extra = [n for n in names if n not in KAGGLE_COLUMNS]
    detail = []
    if missing:
        detail.append("missing " + _few(missing))
    if extra:
        detail.append("unexpected " + _few([repr(e) if not e else e for e in extra]))
    if not detail:
        detail.append("columns out of order")
    raise DataError(f"{path}: expected the Kaggle 'Digit Recognizer' header label,pixel0,...,"
                    f"pixel783 ({'; '.join(detail)})")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _data_lines(path: Path, lines: list[str], start: int, sep: str,
                n_fields: int) -> tuple[list[str], list[int]]:
    """Rows with values and their 1-based line numbers; a row of the wrong width stops here."""
    empty = f" \t\"{sep}"
    rows, numbers = [], []
    for number, line in enumerate(lines[start:], start=start + 1):
        if line.strip(empty):
            rows.append(line)
            numbers.append(number)
    if not rows:
        raise DataError(f"{path}: no data rows")
    if any('"' in row for row in rows):  # quoted fields: count them as a CSV reader does
        widths = [len(fields) for fields in csv.reader(rows, delimiter=sep)]
    else:
        widths = [row.count(sep) + 1 for row in rows]
    what = (f"a label and {N_PIXELS} pixels" if n_fields == N_PIXELS + 1
            else "as many as the header")
    for i, width in enumerate(widths):
        if width != n_fields:
            raise DataError(f"{path}: data row {i + 1} (line {numbers[i]}) has {width} "
                            f"fields, expected {n_fields} ({what})")
    return rows, numbers


def _non_numeric(path: Path, rows: list[str], numbers: list[int], sep: str,
                 decimal: str) -> str:
    """Where the first value that is not a number is (only called after a parse failed)."""
    import pandas as pd

    frame = pd.read_csv(io.StringIO("\n".join(rows)), sep=sep, header=None, dtype=str,
                        skipinitialspace=True, skip_blank_lines=False)
    for row, values in enumerate(frame.itertuples(index=False)):
        for col, value in enumerate(values):
            if isinstance(value, str) and not _is_number(value.strip().replace(decimal, ".")):
                return (f"{path}: non-numeric value {value!r} in data row {row + 1} (line "
                        f"{numbers[row]}), column {col + 1}")
    return f"{path}: non-numeric value"


def _few(items: list[str]) -> str:
    return ", ".join(items[:3]) + (f" and {len(items) - 3} more" if len(items) > 3 else "")


def _check_not_scaled(path: Path, pixels: np.ndarray) -> None:
    if pixels.size and pixels.min() >= 0 and pixels.max() <= 1:
        raise DataError(f"{path}: every pixel value lies in [0, 1] (largest "
                        f"{pixels.max():g}), so the pixels look already scaled; mlplab expects "
                        "raw intensities 0-255 and scales them itself (scale_inputs): save the "
                        "unscaled pixels, or multiply them by 255 and round")


def _check_integral(path: Path, values: np.ndarray, what: str, numbers: list[int]) -> None:
    bad = np.argwhere(values != np.round(values))
    if len(bad):
        row = bad[0][0]
        raise DataError(f"{path}: {what} values must be whole numbers, found "
                        f"{values[tuple(bad[0])]:g} in data row {row + 1} (line {numbers[row]})")


def _check_ranges(path: Path, pixels: np.ndarray, labels: np.ndarray,
                  numbers: list[int], classes: int) -> None:
    """Labels 0 to ``classes`` - 1 (the dataset's registry entry) and pixels 0-255, the first
    value outside named with its row and line."""
    bad_label = np.flatnonzero((labels < 0) | (labels > classes - 1))
    if len(bad_label):
        i = bad_label[0]
        raise DataError(f"{path}: label {labels[i]:g} in data row {i + 1} (line {numbers[i]}) "
                        f"is outside 0-{classes - 1}")
    bad_pixel = np.argwhere((pixels < 0) | (pixels > 255))
    if len(bad_pixel):
        row, col = bad_pixel[0]
        raise DataError(f"{path}: pixel value {pixels[row, col]:g} in data row {row + 1} "
                        f"(line {numbers[row]}) is outside 0-255")


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


def _read_idx_files(files: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of IDX image and label files, pooled in order (training pair first)."""
    parts = [_read_idx_pair(files[i], files[i + 1]) for i in range(0, len(files), 2)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _read_idx_pair(images: Path, labels: Path) -> tuple[np.ndarray, np.ndarray]:
    x = _read_idx(images, 0x00000803)
    y = _read_idx(labels, 0x00000801)
    if x.shape[1:] != (28, 28):
        raise DataError(f"{images}: expected 28x28 images, found {x.shape[1:]}")
    if len(x) != len(y):
        raise DataError(f"{labels}: {len(y)} labels for {len(x)} images in {images.name}")
    return x.reshape(len(x), N_PIXELS), y.astype(np.int64)


def _check_values(path: Path, x: np.ndarray, y: np.ndarray, classes: int) -> None:
    if y.size and (y.min() < 0 or y.max() > classes - 1):
        raise DataError(f"{path}: labels must be 0-{classes - 1}, found "
                        f"{int(y.min())}..{int(y.max())}")
    _check_classes(path, y)


def _check_classes(where: Path | str, y: np.ndarray) -> None:
    """At least two classes, each large enough for a stratified train/validation/test split."""
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        only = f"label {classes[0]}" if len(classes) else "no labels"
        raise DataError(f"{where}: all {len(y)} examples have {only}; classification needs "
                        "at least two classes")
    few = [f"class {c} ({n})" for c, n in zip(classes, counts, strict=True)
           if n < MIN_PER_CLASS]
    if few:
        raise DataError(f"{where}: too few examples of {_few(few)}: the stratified split needs "
                        f"at least {MIN_PER_CLASS} of every class (one each for training, "
                        "validation and test)")


def split(data: Dataset, test_fraction: float, validation_fraction: float,
          max_samples: int | None = None, train_fraction: float = 1.0,
          seed: int = SPLIT_SEED) -> Split:
    """Stratified split drawn from ``seed``: the same seed gives the same split, whatever
    else a run changes, so runs trained with one seed are compared on the same images.

    The test rows are never seen during training, early stopping or model choice.
    ``train_fraction`` < 1 keeps a stratified share of the training part: fewer examples
    to learn from, the same validation and test sets as with all of them. The sizes of the
    parts depend on the fractions only, not on the seed.
    """
    from sklearn.model_selection import train_test_split

    rows = np.arange(data.n)
    if max_samples is not None:
        error = max_samples_error(max_samples, test_fraction, validation_fraction,
                                  len(np.unique(data.y)), train_fraction)
        if error:
            raise DataError(f"{data.source}: {error}")
    if max_samples is not None and max_samples < data.n:
        rows, _ = train_test_split(rows, train_size=max_samples, stratify=data.y,
                                   random_state=seed)
        rows = np.sort(rows)
        _check_classes(f"{data.source} (max_samples={max_samples})", data.y[rows])
    try:
        train, test = train_test_split(rows, test_size=test_fraction, stratify=data.y[rows],
                                       random_state=seed)
        train, val = train_test_split(train, test_size=validation_fraction,
                                      stratify=data.y[train], random_state=seed)
        if train_fraction < 1:
            train, _ = train_test_split(train, train_size=train_fraction,
                                        stratify=data.y[train], random_state=seed)
    except ValueError as err:
        raise DataError(f"{data.source}: cannot split {len(rows)} examples with "
                        f"test_fraction={test_fraction}, validation_fraction="
                        f"{validation_fraction}, train_fraction={train_fraction} "
                        f"({err})") from None
    return Split(train=np.sort(train), val=np.sort(val), test=np.sort(test))


def split_of(data: Dataset, params: Params, seed: int | None = None) -> Split:
    """The split a run's parameters ask for, for training seed ``seed`` (by default the
    first): drawn from that seed with ``data_split: per_seed``, from SPLIT_SEED with
    ``fixed``."""
    seed = params.seeds[0] if seed is None else seed
    return split(data, params.test_fraction, params.validation_fraction, params.max_samples,
                 params.train_fraction, seed if params.data_split == "per_seed" else SPLIT_SEED)


def features(data: Dataset, rows: np.ndarray, scale: bool) -> np.ndarray:
    """Pixels as float32 network inputs, in [0, 1] when ``scale`` (else raw 0-255)."""
    x = data.x[rows].astype(np.float32)
    return x / 255.0 if scale else x


# How each kind of file in ``mlplab.datafiles.DATASETS`` is read, given its files and its
# registry entry (the classes its labels may name): (pixels, labels).
READERS = {
    "headerless-csv": lambda files, entry: _read_csv(files[0], label_first=False, header=False,
                                                     classes=entry.classes),
    "kaggle-csv": lambda files, entry: _read_csv(files[0], label_first=True, header=True,
                                                 classes=entry.classes),
    "npz": lambda files, entry: _read_npz(files[0]),
    "idx": lambda files, entry: _read_idx_files(files),
}


def one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    return np.eye(n_classes, dtype=np.float32)[labels]
