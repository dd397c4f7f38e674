"""HTML and Markdown tables of the index: every run, provenance and the speed benchmark."""

from __future__ import annotations

import html
import re
from typing import Any

import numpy as np
import pandas as pd

from mlplab.results import ManifestEntry, Status
from mlplab.summary.records import summarise
from mlplab.wording import layers_label, points

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


def runs_table_html(manifest: list[ManifestEntry], df: pd.DataFrame) -> str:
    """Every run with its parameters, mean test accuracy, epochs, time and page link."""
    summary = summarise(df).set_index("run") if (df["status"] == Status.OK).any() else None
    head = ("<table class='runs mlplab-table'><thead><tr><th>run</th><th>network</th><th>loss</th>"
            "<th>inputs</th><th>epochs (max)</th><th>early stopping</th><th>seeds</th>"
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
        cells = [link, _cell(layers_label(p.hidden_layers)), p.loss.replace("_", " "),
                 "scaled [0,1]" if p.scale_inputs else "raw 0–255", str(p.epochs), stop,
                 str(len(p.seeds))]
        if entry.status == Status.OK and summary is not None and entry.name in summary.index:
            s = summary.loc[entry.name]
            cells += [f"{100 * s['mean']:.1f}% ± {100 * s['std']:.1f}",
                      f"{s['epochs_run']:.1f}", f"{s['train_seconds']:.1f} s",
                      f"{int(s['param_count']):,}", "ok"]
        elif entry.status == Status.NOT_RUN:
            cells += ["—", "—", "—", "—", "not run yet"]
        else:
            error = html.escape(entry.error or "")
            cells += ["—", "—", "—", "—", f"<b class='failed'>FAILED</b> {error}"]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return head + "".join(rows) + "</tbody></table>"


def provenance(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Where the numbers came from: versions, commit, data, seeds, hardware, time."""
    ok = [r for r in records if r["status"] == Status.OK]
    if not ok:
        return {}
    first = ok[0]
    return {
        "git commit": ", ".join(sorted({str(r.get("git_commit")) for r in ok})),
        "data": ", ".join(sorted({f"{r['data']['source']} (sha256 {r['data']['sha256'][:16]}…"
                                  f", {r['data']['n_total']:,} images)" for r in ok})),
        "split (train / validation / test)": ", ".join(sorted(
            {f"{r['data']['n_train']:,} / {r['data']['n_val']:,} / {r['data']['n_test']:,}"
             for r in ok})),
        "seeds": ", ".join(sorted({str(s["seed"]) for r in ok for s in r["seeds"]}, key=int)),
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


def bench_paragraph(bench: dict[str, Any]) -> str:
    """The benchmark's table and verdict, from report/bench.json (also what `mlplab bench`
    prints)."""
    rows = ["| training loop | whole fit per seed (s) | seconds per epoch | samples per second "
            "| test accuracy, mean ± sd | share of arithmetic peak |",
            "|---|---|---|---|---|---|"]
    names = {"keras_default": "Keras `fit`, one seed after another",
             "mlplab_fast": f"mlplab, {bench['seeds_together']} seeds in one graph (per seed)"}
    for name, s in bench["paths"].items():
        rows.append(f"| {names.get(name, name)} | {s['train_seconds_mean']:.2f} | "
                    f"{s['seconds_per_epoch']:.3f} | {s['samples_per_second']:,.0f} | "
                    f"{100 * s['test_accuracy_mean']:.2f}% ± {100 * s['test_accuracy_sd']:.2f} | "
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
        f"({layers_label(bench['hidden_layers'])}, batch {bench['batch_size']}, "
        f"{bench['epochs']} epochs, seeds {', '.join(map(str, bench['seeds']))}), training "
        f"the seeds together is **{bench['speedup_total']:.1f}× faster over the whole fit**"
        f"{met('speedup_total', 'graph building included')} and "
        f"**{bench['speedup_per_epoch']:.1f}× faster per epoch**{met('speedup_per_epoch')}. "
        f"Same network, initial weights, batches and updates: "
        + ("test accuracy is identical for every seed. " if bench["test_accuracy_diff_max"] == 0
           else f"test accuracy differs by "
                f"{points(bench['test_accuracy_mean_diff'], 2, signed=True)} on average "
                f"(paired standard error {points(bench['test_accuracy_diff_se'], 2)}; largest "
                f"for one seed {points(bench['test_accuracy_diff_max'], 2)}, from float "
                f"rounding). ")
        + f"A matrix multiply reaches {bench['matmul_peak_gflops']:.0f} GFLOP/s here; a training "
        f"step needs about {bench['flops_per_sample']:,} FLOPs per image, so Keras' loop, bound "
        f"by per-step overhead, uses "
        f"{100 * bench['paths']['keras_default']['fraction_of_peak']:.1f}% of that and the "
        f"batched one {100 * bench['paths']['mlplab_fast']['fraction_of_peak']:.1f}%. Peak "
        f"memory {bench['peak_memory_mb']:.0f} MB."
        + (f" Fixed costs of one report run, which no training loop removes: {costs}."
           if costs else "")
    )
