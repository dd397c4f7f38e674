"""One notebook run: load the data, split it for each seed, train every seed (Keras' own
``fit`` one seed after another, or all seeds in one graph) and keep the trained networks.

This module sits above both ways of training (``train``, ``multiseed``), which share their
types through ``fitting`` and never import each other."""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlplab import outcomes
from mlplab.lab import data as data_mod
from mlplab.lab import models, multiseed, train
from mlplab.lab.fitting import Prepared, SeedResult, SeedSplits, compile_model
from mlplab.lab.record import dead_units
from mlplab.params import RUNNER_ONLY, Params


@dataclass
class Experiment:
    """Everything one notebook run produced: the data, each seed's split and one result per
    seed. The per-run figures show the first seed: its network, on its split."""

    params: Params
    dataset: data_mod.Dataset
    data: SeedSplits
    seeds: list[SeedResult]

    @property
    def first(self) -> SeedResult:
        """The first seed's network, shown in the per-run figures."""
        return self.seeds[0]

    @property
    def split(self) -> data_mod.Split:
        """The first seed's split."""
        return self.data.splits[self.first.seed]

    @functools.cached_property
    def prepared(self) -> Prepared:
        """The first seed's split as network inputs."""
        return self.data.prepared(self.first.seed)

    def seed_records(self) -> list[dict[str, Any]]:
        """Each seed's JSON-ready record plus the size of its test set and how many of its
        test images it assigned to each class: a network that collapsed assigns them all to
        one, which the report must say."""
        records = []
        for s in self.seeds:
            split = self.data.splits[s.seed]
            steps = outcomes.steps_per_epoch(len(split.train), self.params.batch_size)
            predicted = train.predict_labels(s.model, self.data.x[split.test])
            records.append({**s.record(), "n_train": len(split.train),
                            "n_test": len(split.test),
                            "test_predicted_counts": np.bincount(
                                predicted, minlength=self.data.n_classes).tolist(),
                            "steps_per_epoch": steps,
                            "dead_units": dead_units(s.model, self.data.x[split.val])})
        return records

    def data_record(self) -> dict[str, Any]:
        """The data and the first seed's split; with ``data_split: per_seed`` every other
        seed's split is drawn the same way from that seed (``data.split_of``)."""
        return {"source": self.dataset.source, "files": self.dataset.files,
                "sha256": self.dataset.sha256, "n_total": self.dataset.n,
                "n_inputs": self.data.n_inputs, "data_split": self.params.data_split,
                "n_train": len(self.split.train), "n_val": len(self.split.val),
                "n_test": len(self.split.test), "class_names": list(self.dataset.class_names),
                # Which examples went where, as 0-based data rows (CSV: 0 = first row after
                # the header; IDX/npz: training file first, then the t10k file).
                "rows": {"train": self.split.train.tolist(), "val": self.split.val.tolist(),
                         "test": self.split.test.tolist()}}


def run_experiment(params: Params, dataset: data_mod.Dataset | None = None,
                   verbose: int = 0) -> Experiment:
    """Load the data, split it for each seed, and train one network per seed (or load the
    networks from ``params.networks_path`` when the runner kept them from an identical run).
    The networks' inputs and classes are the dataset's."""
    dataset = dataset or data_mod.load(params.dataset)
    data = SeedSplits.of(dataset, params.scale_inputs,
                         {seed: data_mod.split_of(dataset, params, seed)
                          for seed in params.seeds})
    kept = params.networks_path
    if kept and Path(kept).exists():
        seeds = load_networks(kept, params)
    elif params.fast_training:  # all seeds together in one compiled graph
        seeds = multiseed.fit_seeds(params, data, params.seeds)
    else:  # Keras' own fit, one seed after another
        seeds = [train.fit_seed(params, data.prepared(seed), seed, verbose)
                 for seed in params.seeds]
    if kept and not Path(kept).exists():
        save_networks(kept, params, seeds)
    return Experiment(params, dataset, data, seeds)


def _training_inputs(params: Params) -> dict[str, Any]:
    return {k: v for k, v in params.as_dict().items() if k not in RUNNER_ONLY}


def save_networks(path: Path | str, params: Params, seeds: list[SeedResult]) -> None:
    """Every seed's weights and record in one .npz (no pickles): enough to rebuild the
    experiment exactly, since the data, split and predictions follow from the parameters."""
    meta = {"params": _training_inputs(params), "seeds": [s.record() for s in seeds]}
    arrays = {f"seed{i}_{j}": w for i, s in enumerate(seeds)
              for j, w in enumerate(s.model.get_weights())}
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez(tmp, meta=np.array(json.dumps(meta)), **arrays)
    os.replace(tmp, path)


def load_networks(path: Path | str, params: Params) -> list[SeedResult]:
    """The seeds ``save_networks`` kept, each with its trained, compiled Keras model (its
    inputs and classes read from the kept weights: the first kernel's rows, the last
    bias's length)."""
    with np.load(path) as kept:
        meta = json.loads(str(kept["meta"]))
        if meta["params"] != _training_inputs(params):
            raise ValueError(f"{path}: networks trained with other parameters")
        seeds = []
        for i, record in enumerate(meta["seeds"]):
            n_arrays = sum(name.startswith(f"seed{i}_") for name in kept.files)
            n_inputs = kept[f"seed{i}_0"].shape[0]
            n_classes = kept[f"seed{i}_{n_arrays - 1}"].shape[0]  # the output layer's bias
            model = models.build(params, n_classes, n_inputs=n_inputs)
            compile_model(model, params)
            model.set_weights([kept[f"seed{i}_{j}"] for j in range(len(model.weights))])
            seeds.append(SeedResult(**record, model=model))
    return seeds
