"""HTML and Markdown tables of the index: every run, provenance and the speed benchmark."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from mlplab.summary.records import summarise
from mlplab.wording import layers_label


def runs_table_html(manifest: list[dict[str, Any]], df: pd.DataFrame) -> str:
    """Every run with its parameters, mean test accuracy, epochs, time and page link."""
    summary = summarise(df).set_index("run") if (df["status"] == "ok").any() else None
    head = ("<table class='runs'><thead><tr><th>run</th><th>network</th><th>loss</th>"
            "<th>inputs</th><th>epochs (max)</th><th>early stopping</th><th>seeds</th>"
            "<th>test accuracy, mean ± sd (points)</th><th>epochs run</th>"
            "<th>train time per seed</th><th>parameters</th><th>status</th></tr></thead><tbody>")
    rows = []
    for entry in manifest:
        p = entry["params"]
        name = html.escape(entry["name"])
        link = f"<a href='{html.escape(entry['page'])}'>{name}</a>" if entry.get("page") \
            else name
        stop = "—" if p["early_stopping_patience"] is None else (
            f"patience {p['early_stopping_patience']}"
            + (", restore best" if p["restore_best_weights"] else ""))
        cells = [link, layers_label(p["hidden_layers"]), p["loss"].replace("_", " "),
                 "scaled [0,1]" if p["scale_inputs"] else "raw 0–255", str(p["epochs"]), stop,
                 str(len(p["seeds"]))]
        if entry["status"] == "ok" and summary is not None and entry["name"] in summary.index:
            s = summary.loc[entry["name"]]
            cells += [f"{100 * s['mean']:.1f}% ± {100 * s['std']:.1f}",
                      f"{s['epochs_run']:.1f}", f"{s['train_seconds']:.1f} s",
                      f"{int(s['param_count']):,}", "ok"]
        elif entry["status"] == "not run":
            cells += ["—", "—", "—", "—", "not run yet"]
        else:
            error = html.escape(entry.get("error") or "")
            cells += ["—", "—", "—", "—", f"<b class='failed'>FAILED</b> {error}"]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return head + "".join(rows) + "</tbody></table>"


def provenance(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Where the numbers came from: versions, commit, data, seeds, hardware, time."""
    ok = [r for r in records if r["status"] == "ok"]
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
    """The benchmark's table and verdict, from report/bench.json."""
    rows = ["| training loop | seconds per epoch | samples per second | test accuracy | "
            "share of arithmetic peak |", "|---|---|---|---|---|"]
    for name, s in bench["paths"].items():
        rows.append(f"| {name.replace('_', ' ')} | {s['seconds_per_epoch']:.3f} | "
                    f"{s['samples_per_second']:,.0f} | {100 * s['test_accuracy_mean']:.2f}% | "
                    f"{100 * s['fraction_of_peak']:.1f}% |")
    costs = ", ".join(f"{k.replace('_', ' ')} {v:.1f} s"
                      for k, v in bench["overheads_seconds"].items())
    return "\n".join(rows) + (
        f"\n\nOn {bench['n_train']:,} training images of `{bench['dataset']}` "
        f"({layers_label(bench['hidden_layers'])}, batch {bench['batch_size']}, "
        f"{bench['epochs']} epochs, seeds {bench['seeds']}), mlplab's loop is "
        f"**{bench['speedup_per_epoch']:.2f}× faster per epoch** "
        f"({bench['speedup_total']:.2f}× over the whole fit, one-off compilation included); "
        f"the largest test-accuracy difference between the loops for the same seed is "
        f"{100 * bench['test_accuracy_diff_max']:.3f} points. Arithmetic peak measured by a "
        f"matrix multiply: {bench['matmul_peak_gflops']:.0f} GFLOP/s; a training step needs "
        f"about {bench['flops_per_sample']:,} FLOPs per image, so both loops are bound by "
        f"per-step overhead, not arithmetic. Peak memory {bench['peak_memory_mb']:.0f} MB. "
        f"Fixed costs of one report run: {costs}."
    )
