"""Where a suite's run time went, summed from its records (issue 24: training's share of the
summed run wall time), so that the timing tables in docs/using.md can be reproduced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlplab.summary.records import load_manifest, load_records

# The runner's split of ``wall_seconds`` (mlplab.pipeline.execute), in the order it runs.
PARTS = ("kernel", "notebook", "pages")


def totals(records: list[dict[str, Any]]) -> dict[str, float]:
    """Seconds summed over the records that carry the runner's times (a run never executed
    has none): wall, the seeds' training, the page's own Keras fit, and each wall part;
    ``runs`` counts them."""
    timed = [r for r in records if "wall_seconds" in r]
    sums = {"runs": float(len(timed)),
            "wall": sum(r["wall_seconds"] for r in timed),
            "train": sum(r.get("train_seconds_total") or 0.0 for r in timed),
            "shown_fit": sum(r.get("shown_fit_seconds") or 0.0 for r in timed)}
    for part in PARTS:
        sums[part] = sum((r.get("wall_parts") or {}).get(part, 0.0) for r in timed)
    return sums


def table(sums: dict[str, float], of: int) -> str:
    """``totals`` as the lines `mlplab timings` prints (``of``: the suite's runs)."""
    runs, wall = int(sums["runs"]), sums["wall"]
    if not runs or wall <= 0:
        return f"no run of the {of} has its times recorded: build the report first"

    def line(label: str, seconds: float) -> str:
        return f"{label:58} {seconds:9.1f} s {100 * seconds / wall:5.1f}%"

    rest = sums["notebook"] - sums["train"] - sums["shown_fit"]
    training = sums["train"] + sums["shown_fit"]
    return "\n".join([
        f"runs with times: {runs} of {of}",
        line(f"summed run wall time (wall_seconds; {wall / runs:.1f} s a run)", wall),
        line("  kernel: a warm kernel made fresh (or started)", sums["kernel"]),
        line("  notebook", sums["notebook"]),
        line("    the seeds' training (train_seconds_total)", sums["train"]),
        line("    the page's own Keras fit (shown_fit_seconds)", sums["shown_fit"]),
        line("    the rest: data, figures, weight-line scan, text, ...", rest),
        line("  pages: both HTML editions", sums["pages"]),
        line("  the runner's own (staging, the record)",
             wall - sum(sums[part] for part in PARTS)),
        line("training: train_seconds_total + shown_fit_seconds", training),
    ])


def report_timings(report_dir: Path) -> str:
    """The table for a built report folder (its manifest and the records it names)."""
    manifest = load_manifest(report_dir)
    return table(totals(load_records(report_dir, manifest)), len(manifest))
