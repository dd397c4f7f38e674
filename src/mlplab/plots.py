"""Every figure in the report, in one style that reads on a classroom projector.

Colours are the Okabe-Ito palette (distinguishable with colour-blindness); fonts are
large; every axis says what it measures and in what unit.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
             "#000000")
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


def digit_grid(images: np.ndarray, labels: Sequence[str], title: str, ncols: int = 10,
               colours: Sequence[str] | None = None):
    """Small multiples of 28x28 images, each captioned (e.g. 'true 3 / predicted 5')."""
    n = len(images)
    nrows = max(1, int(np.ceil(n / ncols)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.3 * ncols, 1.55 * nrows + 0.5),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i].reshape(28, 28), cmap="gray_r", vmin=0, vmax=255)
            ax.set_title(labels[i], fontsize=10,
                         color=colours[i] if colours is not None else "black")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def learning_curves(histories: Sequence[dict[str, list[float]]], seeds: Sequence[int],
                    loss_name: str):
    """Loss and accuracy per epoch, training (solid) and validation (dashed), every seed."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 4.2))
    for i, (history, seed) in enumerate(zip(histories, seeds, strict=True)):
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        epochs = np.arange(1, len(history["loss"]) + 1)
        for ax, key in ((ax_loss, "loss"), (ax_acc, "accuracy")):
            ax.plot(epochs, history[key], color=colour, label=f"train, seed {seed}")
            ax.plot(epochs, history[f"val_{key}"], color=colour, linestyle="--",
                    label=f"validation, seed {seed}")
    ax_loss.set(xlabel="epoch", ylabel=f"{loss_name.replace('_', ' ')}", title="Loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (fraction correct)", title="Accuracy")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax_acc.legend(loc="lower right")
    fig.tight_layout()
    return fig


def confusion(matrix: np.ndarray, class_names: Sequence[str]):
    """Counts of (true, predicted) test labels; the diagonal is what the network got right."""
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    image = ax.imshow(matrix, cmap="Blues")
    ax.set(xticks=range(len(class_names)), yticks=range(len(class_names)),
           xticklabels=class_names, yticklabels=class_names,
           xlabel="predicted class", ylabel="true class", title="Confusion matrix (test set)")
    ax.grid(False)
    plt.setp(ax.get_xticklabels(), rotation=45 if len(class_names[0]) > 2 else 0, ha="right")
    threshold = matrix.max() / 2
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center", fontsize=9,
                color="white" if count > threshold else "black")
    fig.colorbar(image, ax=ax, label="number of test images")
    fig.tight_layout()
    return fig


def seed_errorbars(summary, labels: Sequence[str], title: str, ylabel: str = "test accuracy (%)"):
    """Mean over seeds with 95% intervals, one bar per run, seeds' spread made visible."""
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(summary) + 2), 4.2))
    x = np.arange(len(summary))
    mean = 100 * summary["mean"].to_numpy()
    err = np.vstack([mean - 100 * summary["ci95_low"].to_numpy(),
                     100 * summary["ci95_high"].to_numpy() - mean])
    ax.errorbar(x, mean, yerr=np.nan_to_num(err), fmt="o", capsize=6, markersize=8,
                color=OKABE_ITO[0], label="mean, 95% interval")
    ax.set(xticks=x, xticklabels=labels, ylabel=ylabel, title=title)
    plt.setp(ax.get_xticklabels(), rotation=20, ha="right")
    ax.legend(loc="best")
    fig.tight_layout()
    return fig


def width_curves(summary_by_depth: dict[str, object]):
    """Test accuracy against hidden-layer width, one line per depth, 95% intervals."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for i, (label, s) in enumerate(summary_by_depth.items()):
        mean = 100 * s["mean"].to_numpy()
        err = np.vstack([mean - 100 * s["ci95_low"].to_numpy(),
                         100 * s["ci95_high"].to_numpy() - mean])
        ax.errorbar(s["width"], mean, yerr=np.nan_to_num(err), marker="os"[i % 2], capsize=5,
                    color=OKABE_ITO[i], label=label)
    ax.set(xlabel="units per hidden layer", ylabel="test accuracy (%)",
           title="Wider networks, 20 epochs")
    ax.legend()
    fig.tight_layout()
    return fig


def mean_curves(groups: dict[str, list[list[float]]], ylabel: str, title: str):
    """Per-epoch mean across seeds (line) and min-max spread (band), one colour per run."""
    fig, ax = plt.subplots(figsize=(8, 4.4))
    for i, (label, curves) in enumerate(groups.items()):
        length = min(len(c) for c in curves)
        arr = np.array([c[:length] for c in curves])
        epochs = np.arange(1, length + 1)
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        ax.plot(epochs, arr.mean(axis=0), color=colour, label=label)
        ax.fill_between(epochs, arr.min(axis=0), arr.max(axis=0), color=colour, alpha=0.2)
    ax.set(xlabel="epoch", ylabel=ylabel, title=title)
    ax.legend(fontsize=10)
    fig.tight_layout()
    return fig


def pareto(summary, x: str, xlabel: str):
    """Accuracy against a cost (parameters or seconds): is the extra accuracy worth it?"""
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    mean = 100 * summary["mean"].to_numpy()
    ax.errorbar(summary[x], mean, yerr=100 * summary["std"].to_numpy(), fmt="o", capsize=4,
                color=OKABE_ITO[0])
    for xi, yi, label in zip(summary[x], mean, summary["architecture"], strict=True):
        ax.annotate(label, (xi, yi), textcoords="offset points", xytext=(6, 4), fontsize=10)
    ax.set(xlabel=xlabel, ylabel="test accuracy (%), mean ± sd",
           title=f"Accuracy against {xlabel.split(' (')[0]}")
    fig.tight_layout()
    return fig
