"""Results records in, one tidy table out: one row per (run, seed), parameters as columns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlplab import datafiles, outcomes, params, results
from mlplab.results import ManifestEntry
from mlplab.wording import layers_label

MANIFEST = "manifest.json"
RESULTS_CSV = "results.csv"
# Parameters a comparison holds at their defaults unless it names them, so a run added with
# another optimizer, loss, regulariser or any parameter declared later is never compared by
# mistake: every parameter but the network's shape and length (which a comparison always
# names), the data setting, the seeds it averages over, the runner's own and
# ``fast_training`` (Keras' own updates either way).
MATCHED = tuple(p.name for p in params.PARAMS
                if p.name not in {*params.RUNNER_ONLY, *params.DATA, "seeds", "fast_training",
                                  "hidden_layers", "epochs"})


class _Any:
    """A parameter value that matches whatever a run has (see ``find_run``)."""

    def __repr__(self) -> str:
        return "ANY"


ANY = _Any()


class AmbiguousRun(LookupError):
    """Several runs fit a comparison's description: the suite must say which one it means."""


def load_manifest(report_dir: Path) -> list[ManifestEntry]:
    """The suite's runs in file order, with status and page links (written by the CLI)."""
    path = Path(report_dir) / MANIFEST
    try:
        return [ManifestEntry.from_json(e) for e in json.loads(path.read_text())]
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise results.RecordError(f"{path}: not a manifest this mlplab wrote ({err}): "
                                  "rebuild it with `make report`") from None


def load_records(report_dir: Path, manifest: list[ManifestEntry]) -> list[dict[str, Any]]:
    """Each run's record; a run never executed (e.g. left out by --only) gets a stub."""
    return [results.load_checked(Path(report_dir) / entry.record)
            if entry.status != results.Status.NOT_RUN
            else {"name": entry.name, "status": results.Status.NOT_RUN.value,
                  "params": entry.params.as_dict()}
            for entry in manifest]


def tidy(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per (run, seed) with the parameters as columns; failed runs get one row."""
    rows = []
    for record in records:
        p = {k: v for k, v in record["params"].items()
             if k not in params.RUNNER_ONLY | {"seeds"}}
        base = {"run": record["name"], "status": record["status"], **p,
                "architecture": architecture(record),
                "hidden_layers": "x".join(map(str, p["hidden_layers"])),
                "depth": len(p["hidden_layers"]), "width": p["hidden_layers"][0],
                "param_count": record.get("param_count")}
        for seed in record.get("seeds") or [None]:
            row = dict(base)
            if seed is not None:
                metrics = {k: v for k, v in seed["metrics"].items() if k != "tested_epoch"}
                row.update({"seed": seed["seed"], **metrics, **gaps(metrics),
                            "val_data_loss": metrics["val_loss"] - _penalty(seed),
                            "test_data_loss": metrics["test_loss"] - _penalty(seed),
                            "epochs_run": seed["epochs_run"], "best_epoch": seed["best_epoch"],
                            "train_seconds": seed["train_seconds"],
                            "seconds_per_epoch": seed["seconds_per_epoch"]})
            rows.append(row)
    return pd.DataFrame(rows)


def sizes(record: dict[str, Any]) -> tuple[int, int]:
    """A run's (inputs, classes): read from its data, or, for a run that has none (never run,
    failed) or a record from before the data said its input size, the ones its dataset
    declares (``datafiles.declared``: what loading it would have given)."""
    data = record.get("data") or {}
    if "n_inputs" in data and "class_names" in data:
        return int(data["n_inputs"]), len(data["class_names"])
    entry = datafiles.declared(record["params"]["dataset"])
    return (int(data.get("n_inputs", entry.input_size)),
            len(data.get("class_names", entry.class_names)))


def architecture(record: dict[str, Any]) -> str:
    """'784-50-50-10': the run's inputs, hidden layers and classes ('?' for sizes unknown:
    a run that never read its data, from a path that does not exist)."""
    hidden = record["params"]["hidden_layers"]
    try:
        return layers_label(hidden, *sizes(record))
    except datafiles.DataError:
        return "-".join(map(str, ["?", *hidden, "?"]))


def _penalty(seed: dict[str, Any]) -> float:
    """The L2 penalty in the tested network's reported losses (0 without L2)."""
    penalties = seed["history"].get(outcomes.PENALTY)  # Keras adds it to every loss
    if not penalties:
        return 0.0
    return float(penalties[seed["metrics"].get("tested_epoch", seed["epochs_run"]) - 1])


def gaps(metrics: dict[str, float]) -> dict[str, float]:
    """The generalisation gap (``outcomes.generalisation_gap``) of the tested network, as
    the columns ``gap_accuracy`` and ``gap_loss``."""
    gap = outcomes.generalisation_gap(metrics["train_accuracy"], metrics["val_accuracy"],
                                      metrics["train_loss"], metrics["val_loss"])
    return {f"gap_{k}": float(v) for k, v in gap.items()}


def summarise(df: pd.DataFrame, metric: str = "test_accuracy") -> pd.DataFrame:
    """Per run: seeds, mean ± std and 95% interval of ``metric``, epochs and time."""
    ok = df[df["status"] == results.Status.OK]
    rows = []
    for run, group in ok.groupby("run", sort=False):
        s = results.seed_summary(list(group[metric]))
        rows.append({"run": run, "architecture": group["architecture"].iloc[0],
                     "epochs": group["epochs"].iloc[0], "seeds": s["n"], "mean": s["mean"],
                     "std": s["std"], "ci95_low": s["ci95_low"], "ci95_high": s["ci95_high"],
                     "epochs_run": group["epochs_run"].mean(),
                     "best_epoch": group["best_epoch"].mean(),
                     "train_seconds": group["train_seconds"].mean(),
                     "param_count": group["param_count"].iloc[0]})
    return pd.DataFrame(rows, columns=["run", "architecture", "epochs", "seeds", "mean", "std",
                                       "ci95_low", "ci95_high", "epochs_run", "best_epoch",
                                       "train_seconds", "param_count"])


# A record from before a data parameter existed trained with this value of it: one split
# for every seed, drawn as 'fixed' draws it. Any other missing data parameter is None.
BEFORE_PARAMETER = {"data_split": "fixed"}


def _data_value(name: str, value: Any) -> Any:
    """A data parameter's value as a record or tidy row holds it; missing (None, or NaN in
    a table) means the value before the parameter existed."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return BEFORE_PARAMETER.get(name)
    return value


def data_key(setting: Any) -> tuple[Any, ...]:
    """A run's data setting (the parameters of role "data", ``params.DATA``: runs that
    differ there saw other images, so the index compares runs of one data setting only and
    lists the others apart) from its params or a tidy row (``_data_value`` for a missing
    one)."""
    return tuple(_data_value(k, setting.get(k)) for k in params.DATA)


def main_setting(df: pd.DataFrame) -> tuple[Any, ...] | None:
    """The data setting the index compares in: the one shared by the most successful runs,
    the first in the suite's order on a tie; None when no run succeeded."""
    ok = df[df["status"] == results.Status.OK].drop_duplicates("run")
    keys = _keys(ok)
    return max(dict.fromkeys(keys), key=keys.count) if keys else None


def _keys(df: pd.DataFrame) -> list[tuple[Any, ...]]:
    return [data_key(row) for row in df.reindex(columns=list(params.DATA)).to_dict("records")]


def split_per_seed(records: list[dict[str, Any]]) -> bool:
    """Whether every one of ``records`` let each seed draw its own split (records from
    before the ``data_split`` parameter split once: ``BEFORE_PARAMETER``)."""
    return bool(records) and all(
        _data_value("data_split", r["params"].get("data_split")) == "per_seed"
        for r in records)


def in_main_setting(df: pd.DataFrame) -> pd.Series:
    """Rows of successful runs trained and tested on the main data setting."""
    main = main_setting(df)
    same = pd.Series([key == main for key in _keys(df)], index=df.index, dtype=bool)
    return same & (df["status"] == results.Status.OK)


class MainRuns:
    """The rows ``find_run`` searches (``in_main_setting``), read out of a frame once: an
    index looks up dozens of runs by their parameters in one frame (``registry.Plan``), and
    finding the main setting again for each took most of its time."""

    def __init__(self, df: pd.DataFrame) -> None:
        self.columns = set(df.columns)
        self.rows = df[in_main_setting(df)].to_dict("records")

    def find(self, hidden_layers: list[int], **criteria: Any) -> str | None:
        """``find_run`` in these rows."""
        defaults = params.defaults()
        wanted = {**{k: defaults[k] for k in MATCHED}, **criteria,
                  "hidden_layers": "x".join(map(str, hidden_layers))}
        tests = []
        for key, value in wanted.items():
            if value is ANY:
                continue
            if key not in self.columns:  # a record older than the parameter: its default
                if value != defaults[key]:
                    return None
            else:
                tests.append((key, value))
        names = list(dict.fromkeys(
            row["run"] for row in self.rows
            if all(pd.isna(row[k]) if v is None else row[k] == v for k, v in tests)))
        if len(names) > 1:
            raise AmbiguousRun(f"runs {', '.join(names)} all match {wanted}: give them "
                               f"different parameters or compare them by name")
        return str(names[0]) if names else None


def find_run(df: pd.DataFrame, hidden_layers: list[int], **criteria: Any) -> str | None:
    """The one successful run of the main data setting with these hidden layers and
    criteria, the parameters in ``MATCHED`` at their defaults unless given (``ANY``
    matches every value); None if absent, AmbiguousRun if several. Looking up many runs in
    one frame: ``MainRuns(df).find``."""
    return MainRuns(df).find(hidden_layers, **criteria)


def run_value(df: pd.DataFrame, run: str, column: str) -> Any:
    """One run's value of a parameter (the same on each of its rows)."""
    return df.loc[df["run"] == run, column].iloc[0]


def plain_runs(df: pd.DataFrame, epochs: int = 20) -> pd.DataFrame:
    """Successful default-setting runs (cross-entropy, scaled, no early stopping) of
    ``epochs`` on the main data setting."""
    defaults = params.defaults()
    ok = df[in_main_setting(df)]
    mask = ok["epochs"] == epochs
    for key in MATCHED:
        if key in ok.columns:
            mask &= ok[key].isna() if defaults[key] is None else ok[key] == defaults[key]
    return ok[mask]


def main_records(df: pd.DataFrame, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The successful runs' records on the main data setting: those the index compares."""
    main = main_setting(df)
    return [r for r in records
            if r["status"] == results.Status.OK and data_key(r["params"]) == main]


def seed_outcomes(record: dict[str, Any]) -> list[outcomes.Outcome]:
    """What happened to each seed of a successful run (learned, collapsed, ...)."""
    data = record["data"]
    return outcomes.of_seeds(record["seeds"], len(data["class_names"]), data["n_train"])


def is_digits(record: dict[str, Any]) -> bool:
    """Whether a run's classes are the ten digits (MNIST, the assignment's Kaggle digits)."""
    return tuple(record["data"]["class_names"]) == datafiles.DIGITS


def describe_data(record: dict[str, Any]) -> str:
    """A run's data in words: '`mnist-5k`, at most 1,000 images: 490 / 210 / 300 for
    training / validation / test'."""
    d, cap = record["data"], record["params"].get("max_samples")
    return (f"`{d['source']}`, " + (f"at most {cap:,} images: " if cap else "")
            + f"{d['n_train']:,} / {d['n_val']:,} / {d['n_test']:,} for training / "
              f"validation / test")
