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

Experiment files may come from anyone (a classmate, a forum): they are read with
YAML's safe loader and any tag that would construct an object is refused; a run name
must be a plain file name, since it names files under ``report/runs/``; and a file
that expands to more runs or trainings than a class machine can do is refused unless
the user passes ``--allow-large``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlplab import params as P

MAX_FILE_BYTES = 1_000_000  # experiment files are a few kB; larger ones are not hand-written
MAX_RUNS = 200  # without --allow-large; the default suite is 15 runs
MAX_TRAININGS = 1000  # runs x seeds, without --allow-large; the default suite is 45
HARD_MAX_RUNS = 10_000  # never expanded, even with --allow-large
# A run's files are <name>.html, <name>.failed.html, <name>.student.html, ...: these
# endings would make one run's files another's.
RESERVED_ENDINGS = (".failed", ".student")


class ExperimentError(ValueError):
    """An experiment file that cannot be run; the message is 'file:line: problem'."""


class _TagRefused(yaml.YAMLError):
    """A YAML tag that constructs something other than plain data."""

    def __init__(self, tag: str, line: int) -> None:
        super().__init__(tag)
        self.tag, self.line = tag, line


@dataclass(frozen=True)
class RunSpec:
    name: str
    params: P.Params  # every parameter, defaults filled, run_name set
    line: int


class _LineDict(dict):
    """A mapping that remembers the line of each key and of itself."""

    lines: dict[str, int]
    line: int


class SafeLineLoader(yaml.SafeLoader):
    """yaml.SafeLoader whose mappings remember line numbers, for error messages."""


def _construct_line_mapping(loader: SafeLineLoader, node: yaml.MappingNode) -> _LineDict:
    first: dict[str, int] = {}
    for key, _ in node.value:  # PyYAML keeps the last of two equal keys without a word
        if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
            if key.value in first:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key.value!r} appears twice in one mapping (first on "
                    f"line {first[key.value]})", key.start_mark)
            first[key.value] = key.start_mark.line + 1
    mapping = _LineDict(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    mapping.lines = {k.value: k.start_mark.line + 1 for k, _ in node.value
                     if isinstance(k, yaml.ScalarNode)}
    return mapping


def _refuse_tag(loader: SafeLineLoader, node: yaml.Node) -> None:
    raise _TagRefused(node.tag.replace("tag:yaml.org,2002:", "!!"), node.start_mark.line + 1)


SafeLineLoader.add_constructor("tag:yaml.org,2002:map", _construct_line_mapping)
SafeLineLoader.add_constructor(None, _refuse_tag)  # any tag SafeLoader does not know


def _slug(value: Any) -> str:
    if isinstance(value, list):
        return "x".join(_slug(v) for v in value)
    return str(value).replace(".", "p") if isinstance(value, float) else str(value)


def load(path: Path, overrides: dict[str, Any] | None = None,
         allow_large: bool = False) -> list[RunSpec]:
    """Read, expand and validate an experiment file; raise ExperimentError on any problem.

    ``overrides`` (from the command line) replace a parameter in every run. Files that
    expand to more than MAX_RUNS runs or MAX_TRAININGS trainings are refused unless
    ``allow_large``; grids are sized before they are expanded.
    """
    path = Path(path)
    overrides = overrides or {}
    try:
        raw = path.read_bytes()
        if len(raw) > MAX_FILE_BYTES:
            raise ExperimentError(f"{path}: {len(raw):,} bytes, too large for an experiment "
                                  f"file (at most {MAX_FILE_BYTES:,})")
        doc = yaml.load(raw.decode("utf-8-sig"), Loader=SafeLineLoader)  # a SafeLoader
    except FileNotFoundError:
        raise ExperimentError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ExperimentError(f"{path}: cannot read as UTF-8 text ({err})") from None
    except _TagRefused as err:
        raise ExperimentError(
            f"{path}:{err.line}: YAML tag {err.tag} is not allowed: experiment files hold "
            "plain values (mappings, lists, strings, numbers, true/false, null)") from None
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

    for entry in doc["runs"]:
        if not isinstance(entry, dict):
            raise fail(doc.lines["runs"], "each run must be a mapping with a 'name'")
        if "name" not in entry:
            raise fail(entry.line, "run has no 'name'")
        grid = entry.get("grid") or {}
        if not isinstance(grid, dict) or ("grid" in entry and not grid):
            raise fail(entry.lines.get("grid", entry.line),
                       "'grid' must map parameter names to non-empty lists of values")
        _check_names(entry, fail, f"run {entry['name']!r}", skip=("name", "grid"))
        _check_names(grid, fail, f"grid of {entry['name']!r}")
        for key, values in grid.items():
            if not isinstance(values, list) or not values:
                raise fail(grid.lines[key], f"grid values of {key!r} must be a non-empty list")
    _check_run_count(doc, fail, allow_large)

    specs: list[RunSpec] = []
    seen: dict[str, tuple[str, int]] = {}  # lower-cased name -> (name, line)
    for entry in doc["runs"]:
        grid = entry.get("grid") or {}
        fixed = {k: v for k, v in entry.items() if k not in ("name", "grid")}
        combos = [dict(zip(grid, combo, strict=True))
                  for combo in itertools.product(*grid.values())] or [{}]
        for combo in combos:
            try:
                name = str(entry["name"]).format(**{k: _slug(v) for k, v in combo.items()})
            except (KeyError, IndexError, ValueError) as err:
                raise fail(entry.lines["name"], f"name template {entry['name']!r} refers to "
                           f"{err}, which is not a grid parameter") from None
            _check_run_name(name, entry, fail, seen)
            values = {**defaults, **fixed, **combo, **overrides, "run_name": name}
            try:
                checked = P.validate(values)
            except P.ParamError as err:
                line = _line_of(str(err), grid, entry, defaults)
                raise fail(line, f"run {name!r}: {err}") from None
            specs.append(RunSpec(name=name, params=checked, line=entry.lines["name"]))
    trainings = count_trainings(specs)
    if trainings > MAX_TRAININGS and not allow_large:
        raise fail(doc.lines["runs"], f"{len(specs):,} runs with their seeds make "
                   f"{trainings:,} trainings, more than {MAX_TRAININGS:,} (pass --allow-large "
                   "to build them anyway)")
    return specs


def count_trainings(specs: list[RunSpec]) -> int:
    """Networks trained in all: one per run and seed."""
    return sum(len(spec.params.seeds) for spec in specs)


def _check_run_count(doc: dict, fail, allow_large: bool) -> None:
    """Size every grid before expanding it: a few lines of YAML can ask for billions of runs."""
    sizes = []
    for entry in doc["runs"]:
        grid = entry.get("grid") or {}
        factors = [len(values) for values in grid.values()]
        sizes.append((math.prod(factors), factors, entry))
    total = sum(size for size, _, _ in sizes)
    if total <= MAX_RUNS or (allow_large and total <= HARD_MAX_RUNS):
        return
    size, factors, entry = max(sizes, key=lambda s: s[0])
    largest = (f"the grid of {entry['name']!r} alone expands to "
               f"{' x '.join(map(str, factors))} = {size:,} runs")
    if total > HARD_MAX_RUNS:
        raise fail(entry.lines.get("grid", entry.line), f"this file expands to {total:,} runs "
                   f"({largest}); at most {HARD_MAX_RUNS:,} can be built, even with "
                   "--allow-large")
    raise fail(entry.lines.get("grid", entry.line), f"this file expands to {total:,} runs "
               f"({largest}), more than {MAX_RUNS} (pass --allow-large to build them anyway)")


def _check_run_name(name: str, entry: dict, fail, seen: dict[str, tuple[str, int]]) -> None:
    """A run name becomes file names under report/runs/: no paths, no clashes."""
    line = entry.lines["name"]
    if not P.SAFE_NAME.match(name):
        raise fail(line, f"run name {name!r} cannot name files in report/runs/: use letters, "
                   "digits, '.', '_' or '-', starting with a letter or digit, at most 80 "
                   "characters")
    if name.endswith(RESERVED_ENDINGS):
        raise fail(line, f"run name {name!r} ends in {name[name.rindex('.'):]!r}, which "
                   "mlplab's own file names use (a run's failed or student page)")
    other = seen.get(name.lower())
    if other and other[0] == name:
        raise fail(line, f"duplicate run name {name!r} (first defined on line {other[1]})")
    if other:
        raise fail(line, f"run names {other[0]!r} (line {other[1]}) and {name!r} differ only "
                   "in case: their files would be the same on macOS and Windows disks")
    seen[name.lower()] = (name, line)


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
