"""HTML and Markdown tables of the index: every run, provenance and the speed benchmark."""

from __future__ import annotations

import html
import re
from typing import Any

import numpy as np
import pandas as pd

from mlplab import params
from mlplab.outcomes import VERDICTS, Kind
from mlplab.results import ManifestEntry, Status
from mlplab.summary.records import (
    MATCHED,
    architecture,
    data_key,
    main_setting,
    seed_outcomes,
    summarise,
)
from mlplab.wording import plural, points, seeds_phrase

# Names joined by hyphens (784-50-50-10, mlp30x30-e20, Holm-adjusted): a browser may break
# a line after any hyphen, which splits a run or network name in two.
HYPHENATED = re.compile(r"[\w.×]+(?:-[\w.×]+)+")


def _cell(value: Any) -> str:
    """Escaped text with hyphenated names kept on one line; True/False as Yes/No."""
    if isinstance(value, bool | np.bool_):
        value = "Yes" if value else "No"
    text = html.escape(str(value))
    return HYPHENATED.sub(lambda m: f"<span class='mlplab-nowrap'>{m.group(0)}</span>", text)


def html_table(table: pd.DataFrame, numeric: tuple[str, ...] = ()) -> str:
    """An index table for reading: the columns' own headers (no row-number column), text
    left-aligned, the ``numeric`` columns right-aligned, names never broken at a hyphen."""
    def cls(column: str) -> str:
        return " class='mlplab-num'" if column in numeric else ""

    head = "".join(f"<th scope='col'{cls(c)}>{html.escape(str(c))}</th>" for c in table.columns)
    rows = "".join("<tr>" + "".join(f"<td{cls(c)}>{_cell(v)}</td>"
                                    for c, v in zip(table.columns, row, strict=True)) + "</tr>"
                   for row in table.itertuples(index=False))
    return (f"<table class='mlplab-table'><thead><tr>{head}</tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def seed_status(record: dict[str, Any]) -> str:
    """'ok' only when every seed learned; else each other case with its share of the seeds,
    e.g. 'collapsed (7 of 10 seeds); learned only partly (3 of 10 seeds)'."""
    verdicts = [o.verdict for o in seed_outcomes(record)]
    n = len(verdicts)
    cases = [v for v in VERDICTS if v != Kind.LEARNED and v in verdicts]
    if not cases:
        return "ok"

    def share(v: str) -> str:
        hit = verdicts.count(v)
        if hit == n:
            return "" if n == 1 else " (both seeds)" if n == 2 else f" (all {n} seeds)"
        return f" ({hit} of {plural(n, 'seed')})"

    return "<b>" + "; ".join(v + share(v) for v in cases) + "</b>"


def _accuracy_cell(s: pd.Series) -> str:
    """Mean ± sd over seeds; one seed has no spread, so it shows none rather than ± 0.0."""
    if s["seeds"] == 1:
        return f"{100 * s['mean']:.1f}% (1 seed, no sd)"
    return f"{100 * s['mean']:.1f}% ± {100 * s['std']:.1f}"


def runs_table_html(manifest: list[ManifestEntry], df: pd.DataFrame,
                    records: list[dict[str, Any]]) -> str:
    """Every run with its parameters, mean test accuracy, epochs, time, what happened to its
    seeds and its page link; a suite on several data settings also gets a data column that
    marks the runs left out of the comparisons."""
    summary = summarise(df).set_index("run") if (df["status"] == Status.OK).any() else None
    by_name = {r["name"]: r for r in records}
    main = main_setting(df)
    several = len({data_key(e.params.as_dict()) for e in manifest}) > 1
    head = ("<table class='runs mlplab-table'><thead><tr><th>run</th>"
            + ("<th>data (train / validation / test)</th>" if several else "")
            + "<th>network</th><th>loss</th>"
            "<th>inputs</th><th>epochs (max)</th><th>early stopping</th>"
            "<th>other settings</th><th>seeds</th>"
            "<th>test accuracy, mean ± sd (points)</th><th>epochs run</th>"
            "<th>train time per seed</th><th>parameters</th><th>status</th></tr></thead><tbody>")
    rows = []
    for entry in manifest:
        p = entry.params
        name = html.escape(entry.name)
        link = "<span class='mlplab-nowrap'>" + (
            f"<a href='{html.escape(entry.page)}'>{name}</a>" if entry.page else name) + "</span>"
        stop = "—" if p.early_stopping_patience is None else (
            f"patience {p.early_stopping_patience}"
            + (", restore best" if p.restore_best_weights else ""))
        cells = [link]
        if several:
            record = by_name.get(entry.name, {})
            d = record.get("data")
            sizes = (f", {d['n_train']:,} / {d['n_val']:,} / {d['n_test']:,}" if d else "")
            left_out = (entry.status == Status.OK
                        and data_key(p.as_dict()) != main)
            cells.append(_cell(p.dataset) + sizes
                         + (" <b>(other data: not compared)</b>" if left_out else ""))
        cells += [_cell(architecture(by_name.get(entry.name) or {"params": p.as_dict()})),
                  p.loss.replace("_", " "),
                  "scaled [0,1]" if p.scale_inputs else "raw 0–255", str(p.epochs), stop,
                  _cell(other_settings(p.as_dict())), str(len(p.seeds))]
        if entry.status == Status.OK and summary is not None and entry.name in summary.index:
            s = summary.loc[entry.name]
            cells += [_accuracy_cell(s), f"{s['epochs_run']:.1f}",
                      f"{s['train_seconds']:.1f} s", f"{int(s['param_count']):,}",
                      seed_status(by_name[entry.name])]
        elif entry.status == Status.NOT_RUN:
            cells += ["—", "—", "—", "—", "not run yet"]
        else:
            error = html.escape(entry.error or "")
            cells += ["—", "—", "—", "—", f"<b class='failed'>FAILED</b> {error}"]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return head + "".join(rows) + "</tbody></table>"


# Settings the runs table has columns of its own for.
_COLUMNS = {"loss", "scale_inputs", "early_stopping_patience", "restore_best_weights"}


def other_settings(p: dict[str, Any]) -> str:
    """The compared settings a run changes from their defaults beyond the table's own
    columns ('optimizer sgd, learning_rate 0.1', 'l2 0.001'), or '—'."""
    defaults = params.defaults()
    changed = [f"{k} {p[k]:g}" if isinstance(p[k], float) else f"{k} {p[k]}"
               for k in MATCHED if k not in _COLUMNS and p.get(k, defaults[k]) != defaults[k]]
    return ", ".join(changed) or "—"


def _by_runs(values: dict[str, str]) -> str:
    """One value when every run shares it, else each value followed by its runs."""
    groups: dict[str, list[str]] = {}
    for run, value in values.items():
        groups.setdefault(value, []).append(run)
    if len(groups) == 1:
        return next(iter(groups))
    return "; ".join(f"{value} ({'run' if len(runs) == 1 else 'runs'} {', '.join(runs)})"
                     for value, runs in groups.items())


def provenance(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Where the numbers came from: versions, commit, data, seeds, hardware, time; data,
    split and seeds name their runs where runs differ."""
    ok = [r for r in records if r["status"] == Status.OK]
    if not ok:
        return {}
    first = ok[0]
    return {
        "git commit": ", ".join(sorted({str(r.get("git_commit")) for r in ok})),
        "data": _by_runs({r["name"]: f"{r['data']['source']} (sha256 "
                                     f"{r['data']['sha256'][:16]}…, {r['data']['n_total']:,} "
                                     f"images)" for r in ok}),
        "split (train / validation / test)": _by_runs(
            {r["name"]: f"{r['data']['n_train']:,} / {r['data']['n_val']:,} / "
                        f"{r['data']['n_test']:,}" for r in ok}),
        "seeds": _by_runs({r["name"]: ", ".join(str(s["seed"]) for s in r["seeds"])
                           for r in ok}),
        "python": first["env"]["python"],
        "packages": ", ".join(f"{k} {v}" for k, v in first["env"]["packages"].items() if v),
        "hardware": f"{first['env']['machine']}, {first['env']['cpu_count']} CPU cores, "
                    f"GPU: {', '.join(first['env']['gpus'] or []) or 'none'}",
        "platform": first["env"]["platform"],
        "peak memory of one run": f"{max(r.get('peak_memory_mb', 0) for r in ok):.0f} MB "
                                  "(resident, kernel process)",
        "total training time": f"{sum(r['train_seconds_total'] for r in ok):.0f} s "
                               f"(wall clock of all runs, notebook overhead included: "
                               f"{sum(r.get('wall_seconds', 0) for r in ok):.0f} s)",
    }


def _keras_seeds(compared: dict[str, Any]) -> list[int]:
    """The seeds Keras' fit trained in one comparison of `make bench`; a bench.json from
    before issue 24 has no such field: Keras trained every seed then."""
    return compared.get("keras_seeds", compared["seeds"])


def _regularised_sentence(bench: dict[str, Any]) -> str:
    """The batched path with each regulariser the suite trains it with, against Keras' fit."""
    parts = []
    for r in bench.get("regularised", []):
        keras = _keras_seeds(r)
        setting = ", ".join(f"`{k}` {v:g}" for k, v in r["setting"].items())
        apart = points(r["test_accuracy_diff_max"], 2)
        same = ("identical test accuracy" if r["test_accuracy_diff_max"] == 0 else
                f"test accuracy {apart} apart" if len(keras) == 1 else
                f"test accuracy at most {apart} apart")
        parts.append(f"with {setting}, {r['speedup_per_epoch']:.1f}× faster per epoch "
                     f"({seeds_phrase(r['seeds'])} in one graph; Keras' `fit` on "
                     f"{seeds_phrase(keras)}) and {same} for {seeds_phrase(keras)}")
    return ("The regularised runs take the same path: " + "; ".join(parts) + ". "
            if parts else "")


def _agreement(bench: dict[str, Any]) -> str:
    """Test accuracy of the two paths, compared on the seeds both trained."""
    both = _keras_seeds(bench)
    if bench["test_accuracy_diff_max"] == 0:
        return (f"test accuracy is identical for {'each of ' if len(both) > 1 else ''}"
                f"{seeds_phrase(both)}, trained on both paths. ")
    if len(both) == 1:
        return (f"test accuracy differs by "
                f"{points(bench['test_accuracy_mean_diff'], 2, signed=True)} for "
                f"{seeds_phrase(both)}, trained on both paths. ")
    return (f"test accuracy differs by "
            f"{points(bench['test_accuracy_mean_diff'], 2, signed=True)} on average over "
            f"{seeds_phrase(both)}, trained on both paths (paired standard error "
            f"{points(bench['test_accuracy_diff_se'], 2)}; largest for one seed "
            f"{points(bench['test_accuracy_diff_max'], 2)}). ")


def _conditions(bench: dict[str, Any]) -> str:
    """What the bench's times were measured beside: its threads and the machine's load."""
    if "load_average" not in bench:  # measured before these were recorded
        return ""
    threads = bench["tensorflow_threads"]
    return (f" Both paths trained with {threads} TensorFlow thread{'s' if threads > 1 else ''};"
            f" when the bench ended, the machine's load average (processes wanting a core, "
            f"over the last minute) was {bench['load_average']:.1f} on its {bench['cores']} "
            "cores.")


def bench_paragraph(bench: dict[str, Any]) -> str:
    """The benchmark's table and verdict, from report/bench.json (also what `mlplab bench`
    prints)."""
    both = _keras_seeds(bench)  # test accuracy is compared on these (bench._path_summary)
    accuracy = (f"test accuracy, {seeds_phrase(both)}" if len(both) == 1 else
                f"test accuracy, mean ± sd over {seeds_phrase(both)}")
    rows = ["| training loop | whole fit per seed (s) | seconds per epoch | samples per second "
            f"| {accuracy} | share of arithmetic peak |",
            "|---|---|---|---|---|---|"]
    names = {"keras_default": f"Keras `fit`, one seed after another ({seeds_phrase(both)})",
             "mlplab_fast": f"mlplab, {bench['seeds_together']} seeds in one graph (per seed)"}
    for name, s in bench["paths"].items():
        sd = f" ± {100 * s['test_accuracy_sd']:.2f}" if len(both) > 1 else ""
        rows.append(f"| {names.get(name, name)} | {s['train_seconds_mean']:.2f} | "
                    f"{s['seconds_per_epoch']:.3f} | {s['samples_per_second']:,.0f} | "
                    f"{100 * s['test_accuracy_mean']:.2f}%{sd} | "
                    f"{100 * s['fraction_of_peak']:.1f}% |")
    targets = bench.get("targets") or {}

    def met(key: str, *notes: str) -> str:
        """One parenthesis: the notes, then the target and whether it was met."""
        if key in targets:
            verdict = "met" if bench[key] >= targets[key] else "NOT met"
            notes = (*notes, f"target ≥ {targets[key]:g}×: {verdict}")
        return f" ({'; '.join(notes)})" if notes else ""

    # A cost that rounds to 0.0 s (starting Python) says nothing about where time goes.
    costs = ", ".join(f"{k.replace('_', ' ')} {v:.1f} s"
                      for k, v in bench["overheads_seconds"].items() if round(v, 1) > 0)
    return "\n".join(rows) + (
        f"\n\nOn {bench['n_train']:,} training images of `{bench['dataset']}` "
        f"({architecture({'params': bench})}, batch {bench['batch_size']}, "
        f"{bench['epochs']} epochs; {seeds_phrase(bench['seeds'])} in one graph, "
        f"{seeds_phrase(both)} also with Keras' `fit`), training "
        f"the seeds together is **{bench['speedup_total']:.1f}× faster over the whole fit**"
        f"{met('speedup_total', 'graph building included')} and "
        f"**{bench['speedup_per_epoch']:.1f}× faster per epoch**{met('speedup_per_epoch')}. "
        f"Same network, initial weights, batches and updates: " + _agreement(bench)
        + _regularised_sentence(bench)
        + f"A matrix multiply reaches {bench['matmul_peak_gflops']:.0f} GFLOP/s here; a training "
        f"step needs about {bench['flops_per_sample']:,} FLOPs per image, so Keras' loop, bound "
        f"by per-step overhead, uses "
        f"{100 * bench['paths']['keras_default']['fraction_of_peak']:.1f}% of that and the "
        f"batched one {100 * bench['paths']['mlplab_fast']['fraction_of_peak']:.1f}%. Peak "
        f"memory {bench['peak_memory_mb']:.0f} MB."
        + (f" Start-up costs, each measured at the start of a new process, which a build pays "
           f"once per worker, not once per run (each worker keeps a warm kernel and an HTML "
           f"exporter from run to run): {costs}." if costs else "")
        + _conditions(bench)
    )
