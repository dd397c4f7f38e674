"""Experiment files: named parameter sets, compact grids, validated before any run.

Format (``notebooks/experiments.yaml``)::

    defaults:            # applied to every run
      seeds: [0, 1, 2]
    runs:
      - name: mlp50-e1   # one parameter set
        hidden_layers: [50]
        epochs: 1
      - name: "mlp{hidden_layers}-e20"   # a grid: one run per combination
        grid:
          hidden_layers: [[30], [50], [30, 30]]
        epochs: 20

A grid's name template fills ``{param}`` with the value, lists joined by 'x'
(``[50, 50]`` -> ``50x50``). Every error names the file and line.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlplab import params as P


class ExperimentError(ValueError):
    """An experiment file that cannot be run; the message is 'file:line: problem'."""


@dataclass(frozen=True)
class RunSpec:
    name: str
    params: dict[str, Any]  # every parameter, defaults filled, run_name set
    line: int


class _LineDict(dict):
    """A mapping that remembers the line of each key and of itself."""

    lines: dict[str, int]
    line: int


class SafeLineLoader(yaml.SafeLoader):
    """yaml.SafeLoader whose mappings remember line numbers, for error messages."""


def _construct_line_mapping(loader: SafeLineLoader, node: yaml.MappingNode) -> _LineDict:
    mapping = _LineDict(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    mapping.lines = {k.value: k.start_mark.line + 1 for k, _ in node.value
                     if isinstance(k, yaml.ScalarNode)}
    return mapping


SafeLineLoader.add_constructor("tag:yaml.org,2002:map", _construct_line_mapping)


def _slug(value: Any) -> str:
    if isinstance(value, list):
        return "x".join(_slug(v) for v in value)
    return str(value).replace(".", "p") if isinstance(value, float) else str(value)


def load(path: Path, overrides: dict[str, Any] | None = None) -> list[RunSpec]:
    """Read, expand and validate an experiment file; raise ExperimentError on any problem.

    ``overrides`` (from the command line) replace a parameter in every run.
    """
    path = Path(path)
    overrides = overrides or {}
    try:
        doc = yaml.load(path.read_text(), Loader=SafeLineLoader)  # safe: SafeLoader subclass
    except FileNotFoundError:
        raise ExperimentError(f"{path}: file not found") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ExperimentError(f"{where}: not valid YAML ({getattr(err, 'problem', err)})") from None

    def fail(line: int, message: str) -> ExperimentError:
        return ExperimentError(f"{path}:{line}: {message}")

    if not isinstance(doc, dict) or not isinstance(doc.get("runs"), list) or not doc["runs"]:
        raise fail(1, "expected a mapping with a non-empty 'runs' list")
    for key in doc:
        if key not in ("defaults", "runs"):
            raise fail(doc.lines[key], f"unknown top-level key {key!r} (expected 'defaults' "
                       "and 'runs')")
    defaults = doc.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise fail(doc.lines["defaults"], "'defaults' must be a mapping of parameters")
    _check_names(defaults, fail, "defaults")

    specs: list[RunSpec] = []
    seen: dict[str, int] = {}
    for entry in doc["runs"]:
        if not isinstance(entry, dict):
            raise fail(doc.lines["runs"], "each run must be a mapping with a 'name'")
        if "name" not in entry:
            raise fail(entry.line, "run has no 'name'")
        grid = entry.get("grid") or {}
        if not isinstance(grid, dict) or ("grid" in entry and not grid):
            raise fail(entry.lines.get("grid", entry.line),
                       "'grid' must map parameter names to non-empty lists of values")
        fixed = {k: v for k, v in entry.items() if k not in ("name", "grid")}
        _check_names(entry, fail, f"run {entry['name']!r}", skip=("name", "grid"))
        _check_names(grid, fail, f"grid of {entry['name']!r}")
        for key, values in grid.items():
            if not isinstance(values, list) or not values:
                raise fail(grid.lines[key], f"grid values of {key!r} must be a non-empty list")
        combos = [dict(zip(grid, combo, strict=True))
                  for combo in itertools.product(*grid.values())] or [{}]
        for combo in combos:
            try:
                name = str(entry["name"]).format(**{k: _slug(v) for k, v in combo.items()})
            except (KeyError, IndexError, ValueError) as err:
                raise fail(entry.lines["name"], f"name template {entry['name']!r} refers to "
                           f"{err}, which is not a grid parameter") from None
            values = {**defaults, **fixed, **combo, **overrides, "run_name": name}
            try:
                checked = P.validate(values)
            except P.ParamError as err:
                line = _line_of(str(err), grid, entry, defaults)
                raise fail(line, f"run {name!r}: {err}") from None
            if name in seen:
                raise fail(entry.lines["name"], f"duplicate run name {name!r} (first defined "
                           f"on line {seen[name]})")
            seen[name] = entry.lines["name"]
            specs.append(RunSpec(name=name, params=checked, line=entry.lines["name"]))
    return specs


def _check_names(mapping: dict, fail, where: str, skip: tuple[str, ...] = ()) -> None:
    for key in mapping:
        if key in skip:
            continue
        if key in P.RUNNER_ONLY:
            raise fail(mapping.lines[key], f"{where}: {key!r} is set by the runner, not here")
        if key not in P.BY_NAME:
            raise fail(mapping.lines[key], f"{where}: {P.unknown_name_message(key)}")


def _line_of(message: str, *mappings: dict) -> int:
    """The line of the field a ParamError names, searching the most specific mapping first."""
    field = message.split("'")[1] if message.startswith("field '") else None
    for mapping in mappings:
        if field in mapping and hasattr(mapping, "lines"):
            return mapping.lines[field]
    return mappings[1].lines["name"]


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """'name=value' pairs from the command line, values read as YAML ('[50, 50]', 'true')."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise ExperimentError(f"--set {item!r}: expected NAME=VALUE")
        if name not in P.BY_NAME or name in P.RUNNER_ONLY:
            raise ExperimentError(f"--set {item!r}: {P.unknown_name_message(name)}")
        out[name] = yaml.safe_load(value)
    return out
