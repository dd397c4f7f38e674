"""Every figure in the report, in one style that reads on a classroom projector.

Colours are the Okabe-Ito palette (distinguishable with colour-blindness), reordered so the
first five have at least 3:1 contrast against white and without its yellow (1.3:1); no figure
relies on colour alone: lines also differ by marker or line style. Fonts are large; every
axis says what it measures and in what unit.

Each function displays its own figure through ``show``: a PNG whose alt text, generated
from the plotted data by ``mlplab.lab.alt_text``, tells a screen-reader user what the figure
shows, followed by the numbers as a table in a ``<details>`` element where a reader may want
them. It returns the (closed) figure; end the call with ``;`` in a notebook.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import os
import pickle
from collections.abc import Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.layout_engine import PlaceHolderLayoutEngine

from mlplab import outcomes
from mlplab.lab import alt_text
from mlplab.params import NO_FIGURES_ENV

# Okabe & Ito (2008): blue, vermillion, bluish green, reddish purple, black (each >= 3:1 on
# white), then orange and sky blue (about 2.3:1: used only with a marker and line style).
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#000000", "#E69F00", "#56B4E9")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
LINESTYLES = ("-", "--", "-.", ":")
STYLE = {
    "figure.dpi": 90,
    "savefig.dpi": 90,
    "font.size": 13,
    "axes.titlesize": 14,
    "axes.labelsize": 13,
    "legend.fontsize": 11,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=OKABE_ITO),
}


def use_style() -> None:
    plt.rcParams.update(STYLE)


use_style()


def details_html(table: pd.DataFrame, summary: str) -> str:
    """``table`` as an HTML table inside a closed ``<details>`` element labelled ``summary``."""
    body = table.to_html(index=False, border=0, na_rep="–",
                         float_format=lambda v: f"{v:.4g}")
    return (f"<details class='mlplab-figure-data'><summary>{html.escape(summary)}</summary>"
            f"{body}</details>")


def show(fig: Figure, alt: str, table: pd.DataFrame | None = None,
         about: str = "this figure") -> Figure:
    """Display ``fig`` once, as a PNG with ``alt`` as its text alternative, then close it.

    The inline backend would show an open figure again, without alt text, so it is closed.
    ``table`` (the plotted numbers) follows in a ``<details>`` element labelled "The
    numbers behind {about}"; ``alt=""`` marks a decorative image. Outside IPython
    (a script), nothing is displayed and the figure stays open for ``plt.show``/``savefig``.
    The returned figure, displayed again, shows the same described PNG.
    """
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import HTML, display

    if not InteractiveShell.initialized():
        return fig
    if os.environ.get(NO_FIGURES_ENV):
        plt.close(fig)
        return fig
    buf = io.BytesIO()
    # Drawn once, at its size: every figure here was fitted by tight_layout already, and a
    # "tight" bounding box would draw it a second time to measure it. tight_layout leaves a
    # do-nothing placeholder layout engine, for which savefig would also lay every text out
    # in a first pass (a third of its time); without it the PNG is the same.
    if isinstance(fig.get_layout_engine(), PlaceHolderLayoutEngine):
        fig.set_layout_engine(None)
    fig.savefig(buf, format="png")
    png = base64.b64encode(buf.getvalue()).decode("ascii")
    outputs = [functools.partial(display, {"image/png": png, "text/plain": alt}, raw=True,
                                 metadata={"image/png": {"alt": alt}})]
    if table is not None:
        outputs.append(functools.partial(display, HTML(details_html(
            table, f"The numbers behind {about} ({len(table):,} rows)"))))
    for output in outputs:
        output()
    plt.close(fig)
    fig._ipython_display_ = outputs[0]  # shown again (a call without ';'): still described
    fig.mlplab_outputs = outputs  # what ``drawn_once`` shows again
    return fig


_DRAWN: dict[bytes, Figure] = {}  # figures of this kernel that runs draw alike, by key
DRAWN_KEPT = 8  # the last figures kept (a figure keeps its canvas: about 2 MB each)


def drawn_once(fn):
    """A figure that many runs draw alike (the loss curves depend only on the number of
    classes, the examples of each class on the data and its split) is drawn once per
    kernel: a warm kernel (``mlplab.pipeline.kernels``) executes run after run, and shows
    the same outputs again, the same PNG and table, for the same arguments and style."""
    @functools.wraps(fn)
    def figure(*args, **kwargs):
        from IPython.core.interactiveshell import InteractiveShell

        if not InteractiveShell.initialized() or os.environ.get(NO_FIGURES_ENV):
            return fn(*args, **kwargs)  # a script's open figure, or none drawn
        # Every setting but "interactive", which pyplot turns on when a kernel shows its
        # first figure (a warm kernel's second run starts with it off) and no PNG shows.
        style = sorted((k, v) for k, v in matplotlib.rcParams.items() if k != "interactive")
        key = pickle.dumps((fn.__module__, fn.__qualname__, args, kwargs, style))
        fig = _DRAWN.get(key)
        if fig is None:
            fig = _DRAWN[key] = fn(*args, **kwargs)
            while len(_DRAWN) > DRAWN_KEPT:
                del _DRAWN[next(iter(_DRAWN))]
        else:
            for output in fig.mlplab_outputs:
                output()
        return fig
    return figure


def _unless_no_figures(fn):
    """Build nothing where ``NO_FIGURES_ENV`` is set (grading: nobody looks at the figures,
    and building one costs ~0.1 CPU-s, the first ~0.8 with matplotlib's set-up); None then."""
    @functools.wraps(fn)
    def figure(*args, **kwargs):
        return None if os.environ.get(NO_FIGURES_ENV) else fn(*args, **kwargs)
    return figure


@_unless_no_figures
@drawn_once
def digit_grid(images: np.ndarray, labels: Sequence[str], title: str, ncols: int = 10,
               colours: Sequence[str] | None = None):
    """Small multiples of square images (rows of flattened pixels: 784 are 28x28), each
    captioned (e.g. 'true 3 / predicted 5')."""
    n = len(images)
    side = int(np.sqrt(images.shape[1]))
    if side * side != images.shape[1]:
        raise ValueError(f"digit_grid: {images.shape[1]} pixels per image are no square image")
    nrows = max(1, int(np.ceil(n / ncols)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.3 * ncols, 1.55 * nrows + 0.5),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        # No ticks on the hidden axes: the same picture, but the layout no longer measures
        # tick labels nobody sees (most of a grid's time).
        ax.set(xticks=[], yticks=[])
        ax.axis("off")
        if i < n:
            ax.imshow(images[i].reshape(side, side), cmap="gray_r", vmin=0, vmax=255)
            ax.set_title(labels[i], fontsize=10,
                         color=colours[i] if colours is not None else "black")
    fig.suptitle(title)
    fig.tight_layout()
    return show(fig, alt_text.digit_grid(labels, title, side))


@_unless_no_figures
def learning_curves(histories: Sequence[dict[str, list[float]]], seeds: Sequence[int],
                    loss_name: str, max_epochs: int | None = None):
    """Loss and accuracy per epoch, training (solid) and validation (dashed), every seed,
    and the generalisation gap between them (``outcomes.gap_curves``: training minus
    validation accuracy). ``max_epochs``: the epochs asked for, so that the alt text can tell
    curves that early stopping cut short."""
    fig, (ax_loss, ax_acc, ax_gap) = plt.subplots(1, 3, figsize=(17, 4.4))
    rows = []
    for i, (history, seed) in enumerate(zip(histories, seeds, strict=True)):
        style = {"color": OKABE_ITO[i % len(OKABE_ITO)], "marker": MARKERS[i % len(MARKERS)],
                 "markersize": 5}
        epochs = np.arange(1, len(history["loss"]) + 1)
        for ax, key, scale in ((ax_loss, "loss", 1), (ax_acc, "accuracy", 100)):
            ax.plot(epochs, scale * np.asarray(history[key]), label=f"train, seed {seed}",
                    **style)
            ax.plot(epochs, scale * np.asarray(history[f"val_{key}"]), linestyle="--",
                    markerfacecolor="white", label=f"validation, seed {seed}", **style)
        gap = 100 * outcomes.gap_curves(history)["accuracy"]
        ax_gap.plot(epochs, gap, linestyle=":", label=f"seed {seed}", **style)
        rows += [{"seed": seed, "epoch": int(e), "training loss": history["loss"][e - 1],
                  "validation loss": history["val_loss"][e - 1],
                  "training accuracy (%)": 100 * history["accuracy"][e - 1],
                  "validation accuracy (%)": 100 * history["val_accuracy"][e - 1],
                  "accuracy gap (points)": gap[e - 1]}
                 for e in epochs]
    ax_loss.set(xlabel="epoch", ylabel=f"{loss_name.replace('_', ' ')}", title="Loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    ax_gap.axhline(0, color="black", linewidth=1)
    ax_gap.set(xlabel="epoch", ylabel="training − validation (points)",
               title="Generalisation gap (accuracy)")
    for ax in (ax_loss, ax_acc, ax_gap):
        ax.xaxis.get_major_locator().set_params(integer=True)
    if len(seeds) <= 3:
        ax_acc.legend(loc="lower right")
    else:  # twenty entries would cover the curves: explain the encoding once instead
        from matplotlib.lines import Line2D

        ax_acc.legend(handles=[Line2D([], [], color="black", label="training"),
                               Line2D([], [], color="black", linestyle="--",
                                      markerfacecolor="white", label="validation")],
                      loc="lower right", title=f"one colour and marker per seed ({len(seeds)})")
    fig.tight_layout()
    return show(fig, alt_text.learning_curves(histories, seeds, loss_name, max_epochs),
                pd.DataFrame(rows), "the learning curves")


def confusion(matrix: np.ndarray, class_names: Sequence[str]):
    """Counts of (true, predicted) test labels; the diagonal is what the network got right."""
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    image = ax.imshow(matrix, cmap="Blues")
    ax.set(xticks=range(len(class_names)), yticks=range(len(class_names)),
           xticklabels=class_names, yticklabels=class_names,
           xlabel="predicted class", ylabel="true class", title="Confusion matrix (test set)")
    ax.grid(False)
    plt.setp(ax.get_xticklabels(), rotation=45 if len(class_names[0]) > 2 else 0, ha="right")
    for (i, j), count in np.ndenumerate(matrix):
        # The count in whichever of black and white contrasts more with its cell.
        red, green, blue, _ = image.cmap(image.norm(count))
        luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
        ax.text(j, i, str(count), ha="center", va="center", fontsize=9,
                color="black" if luminance > 0.18 else "white")
    fig.colorbar(image, ax=ax, label="number of test images")
    fig.tight_layout()
    table = pd.DataFrame(np.asarray(matrix), columns=[f"predicted {c}" for c in class_names])
    table.insert(0, "true class", list(class_names))
    return show(fig, alt_text.confusion(matrix, class_names), table, "the confusion matrix")


def _percent_intervals(summary) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and 95% interval bounds of a ``report.summarise`` frame, in percent."""
    return (100 * summary["mean"].to_numpy(dtype=float),
            100 * summary["ci95_low"].to_numpy(dtype=float),
            100 * summary["ci95_high"].to_numpy(dtype=float))


def _interval_table(first: dict, mean, low, high, seeds) -> pd.DataFrame:
    return pd.DataFrame({**first, "mean (%)": mean, "95% interval low (%)": low,
                         "95% interval high (%)": high, "seeds": seeds})


def seed_errorbars(summary, labels: Sequence[str], title: str, ylabel: str = "test accuracy (%)"):
    """Mean over seeds with 95% intervals, one bar per run, seeds' spread made visible."""
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(summary) + 2), 4.2))
    x = np.arange(len(summary))
    mean, low, high = _percent_intervals(summary)
    err = np.vstack([mean - low, high - mean])
    ax.errorbar(x, mean, yerr=np.nan_to_num(err), fmt="o", capsize=6, markersize=8,
                color=OKABE_ITO[0], label="mean, 95% interval")
    ax.set(xticks=x, xticklabels=labels, ylabel=ylabel, title=title)
    plt.setp(ax.get_xticklabels(), rotation=20, ha="right")
    ax.legend(loc="best")
    fig.tight_layout()
    table = _interval_table({"run": list(labels)}, mean, low, high, summary["seeds"].to_numpy())
    return show(fig, alt_text.seed_errorbars(labels, mean, low, high, title, ylabel), table,
                f"“{title}”")


def width_curves(summary_by_depth: dict[str, object]):
    """Test accuracy against hidden-layer width, one line per depth, 95% intervals."""
    title = "Wider networks, 20 epochs"
    fig, ax = plt.subplots(figsize=(7, 4.2))
    described, tables = {}, []
    for i, (label, s) in enumerate(summary_by_depth.items()):
        mean, low, high = _percent_intervals(s)
        err = np.vstack([mean - low, high - mean])
        ax.errorbar(s["width"], mean, yerr=np.nan_to_num(err), marker=MARKERS[i % len(MARKERS)],
                    linestyle=LINESTYLES[i % len(LINESTYLES)], capsize=5,
                    color=OKABE_ITO[i % len(OKABE_ITO)], label=label)
        described[label] = (s["width"].to_numpy(), mean, low, high)
        tables.append(_interval_table({"depth": label, "units per layer": s["width"].to_numpy()},
                                      mean, low, high, s["seeds"].to_numpy()))
    ax.set(xlabel="units per hidden layer", ylabel="test accuracy (%)", title=title)
    ax.legend()
    fig.tight_layout()
    return show(fig, alt_text.width_curves(described, title), pd.concat(tables), f"“{title}”")


def mean_curves(groups: dict[str, list[list[float]]], ylabel: str, title: str):
    """Per-epoch mean across seeds (line) and min-max spread (band), one style per run.
    The legend stands below the axes: inside, it covered a curve wherever it was put."""
    fig, ax = plt.subplots(figsize=(8, 4.4 + 0.25 * ((len(groups) + 1) // 2)))
    rows = []
    for i, (label, curves) in enumerate(groups.items()):
        length = min(len(c) for c in curves)
        arr = np.array([c[:length] for c in curves])
        epochs = np.arange(1, length + 1)
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        ax.plot(epochs, arr.mean(axis=0), color=colour, marker=MARKERS[i % len(MARKERS)],
                markersize=5, linestyle=LINESTYLES[i % len(LINESTYLES)], label=label)
        ax.fill_between(epochs, arr.min(axis=0), arr.max(axis=0), color=colour, alpha=0.2)
        rows += [{"network": label, "epoch": int(e), "mean": arr[:, e - 1].mean(),
                  "lowest seed": arr[:, e - 1].min(), "highest seed": arr[:, e - 1].max()}
                 for e in epochs]
    ax.set(xlabel="epoch", ylabel=ylabel, title=title)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=10, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2,
              frameon=False)
    fig.tight_layout()
    return show(fig, alt_text.mean_curves(groups, ylabel, title), pd.DataFrame(rows),
                f"“{title}”")


def pareto(summary, x: str, xlabel: str):
    """Accuracy against a cost (parameters or seconds): is the extra accuracy worth it?"""
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    mean = 100 * summary["mean"].to_numpy(dtype=float)
    std = 100 * summary["std"].to_numpy(dtype=float)
    ax.errorbar(summary[x], mean, yerr=std, fmt="o", capsize=4, color=OKABE_ITO[0])
    xs, below = summary[x].to_numpy(dtype=float), False
    near, prev = 0.1 * (np.ptp(xs) or 1.0), None
    for i in np.argsort(xs, kind="stable"):  # a label close to its left neighbour's goes below
        below = prev is not None and xs[i] - xs[prev] < near and not below
        ax.annotate(summary["architecture"].iloc[i], (xs[i], mean[i]), fontsize=10,
                    textcoords="offset points", xytext=(6, -14 if below else 4))
        prev = i
    ax.set(xlabel=xlabel, ylabel="test accuracy (%), mean ± sd",
           title=f"Accuracy against {xlabel.split(' (')[0]}")
    fig.tight_layout()
    names = list(summary["architecture"])
    table = pd.DataFrame({"network": names, xlabel: summary[x].to_numpy(), "mean (%)": mean,
                          "sd (%)": std, "seeds": summary["seeds"].to_numpy()})
    unit = " s" if x.endswith("seconds") else ""
    alt = alt_text.pareto(names, summary[x].to_numpy(), mean, std, xlabel, unit)
    return show(fig, alt, table,
                f"accuracy against {xlabel.split(' (')[0]}")


def fit_curves(groups: dict[str, list[dict[str, list[float]]]], key: str = "loss"):
    """Training (solid) against validation (dashed) per epoch, one panel per variant, mean
    over seeds with a min-max band, as TensorFlow's "Overfit and underfit" tutorial draws
    them: the space between the two lines is the generalisation gap. ``groups`` maps a
    variant's label to its seeds' histories; ``key`` is "loss" or "accuracy". Losses are
    drawn without the L2 penalty Keras adds to them, so every panel shows the data loss."""
    from mlplab.outcomes import PENALTY

    scale, unit = (100, " (%)") if key == "accuracy" else (1, "")
    ncols = min(4, len(groups))
    nrows = int(np.ceil(len(groups) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 3.0 * nrows + 0.6),
                             sharex=True, sharey=True, squeeze=False)
    rows, described = [], {}
    bare = key == "loss" and any(PENALTY in h for hs in groups.values() for h in hs)
    for ax, (label, histories) in zip(axes.flat, groups.items(), strict=False):
        n = min(len(h[key]) for h in histories)
        epochs = np.arange(1, n + 1)
        pair = {}
        for i, (name, k, style) in enumerate((("training", key, "-"),
                                              ("validation", f"val_{key}", "--"))):
            arr = scale * np.array([h[k][:n] for h in histories], dtype=float)
            if key == "loss" and all(PENALTY in h for h in histories):
                arr -= np.array([h[PENALTY][:n] for h in histories], dtype=float)
            colour = OKABE_ITO[i]
            ax.plot(epochs, arr.mean(axis=0), color=colour, linestyle=style,
                    marker=MARKERS[i], markersize=3, label=name)
            ax.fill_between(epochs, arr.min(axis=0), arr.max(axis=0), color=colour, alpha=0.2)
            pair[name] = arr.mean(axis=0)
            rows += [{"variant": label, "epoch": int(e), "curve": name,
                      "mean": arr[:, e - 1].mean()} for e in epochs]
        described[label] = (pair["training"], pair["validation"], len(histories),
                            len({len(h[key]) for h in histories}) > 1)
        ax.set_title(label, fontsize=11)
        ax.xaxis.get_major_locator().set_params(integer=True)
    for ax in axes.flat[len(groups):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel(key + unit)
    for ax in axes[-1, :]:
        ax.set_xlabel("epoch")
    axes.flat[0].legend(fontsize=9)
    title = (f"Training against validation {key}"
             + (" (without the L2 penalty)" if bare else "")
             + ", mean over seeds (band: min–max)")
    fig.suptitle(title)
    fig.tight_layout()
    return show(fig, alt_text.fit_curves(described, key, title), pd.DataFrame(rows),
                f"“{title}”")
