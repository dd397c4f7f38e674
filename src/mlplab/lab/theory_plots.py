"""Figures for the loss-function section, in the report's one style (mlplab.lab.plots).

Cross-entropy is always blue and solid, mean squared error vermillion and dashed; accuracy
is bluish green. Each figure is shown with alt text generated from its data (mlplab.lab.alt_text).
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from mlplab.lab import alt_text
from mlplab.lab.plots import OKABE_ITO, drawn_once, show, use_style

CE_COLOUR, MSE_COLOUR, ACCURACY_COLOUR = OKABE_ITO[0], OKABE_ITO[1], OKABE_ITO[2]
GAP_LABEL = "logit gap: wrong class minus true class"


@drawn_once
def plot_loss_and_gradient(curves: Mapping[str, np.ndarray]):
    """Loss (left) and |dL/dz_true| on a log scale (right) against how far the true class
    trails, cross-entropy beside MSE: MSE's push fades just when the network is most wrong.

    ``curves`` is ``theory.loss_curves(...)`` (a dict of arrays, or a DataFrame)."""
    use_style()
    gap = np.asarray(curves["gap"])
    fig, (ax_loss, ax_grad) = plt.subplots(1, 2, figsize=(12, 4.6))
    for key, label, colour, style in (("ce", "cross-entropy", CE_COLOUR, "-"),
                                      ("mse", "mean squared error", MSE_COLOUR, "--")):
        ax_loss.plot(gap, curves[f"{key}_loss"], color=colour, linestyle=style, linewidth=2.5,
                     label=label)
        ax_grad.plot(gap, np.abs(curves[f"{key}_grad"]), color=colour, linestyle=style,
                     linewidth=2.5, label=label)
    ax_loss.set(xlabel=GAP_LABEL, ylabel="loss for this example",
                title="Loss as the prediction gets more wrong")
    ax_loss.legend(loc="upper left")
    ax_loss.annotate("MSE can never exceed 2/K:\nit barely notices how wrong",
                     xy=(gap[-1], float(np.asarray(curves["mse_loss"])[-1])),
                     xytext=(0.97, 0.22), textcoords="axes fraction", ha="right",
                     color="black", fontsize=11,
                     arrowprops={"arrowstyle": "->", "color": MSE_COLOUR})
    ax_grad.set(xlabel=GAP_LABEL, yscale="log",
                ylabel="|gradient| on the true logit (log scale)",
                title="How hard gradient descent pushes")
    ax_grad.legend(loc="lower left")
    fig.tight_layout()
    columns = ("gap", "ce_loss", "mse_loss", "ce_grad", "mse_grad")
    data = {c: np.asarray(curves[c], dtype=float) for c in columns}
    rows = np.unique(np.linspace(0, len(gap) - 1, min(len(gap), 16)).round().astype(int))
    table = pd.DataFrame({"logit gap": data["gap"][rows],
                          "cross-entropy loss": data["ce_loss"][rows],
                          "mean squared error loss": data["mse_loss"][rows],
                          "|cross-entropy gradient|": np.abs(data["ce_grad"][rows]),
                          "|mean squared error gradient|": np.abs(data["mse_grad"][rows])})
    return show(fig, alt_text.loss_and_gradient(*data.values()), table,
                "the loss and gradient curves")


def plot_weight_line(scan, titles: tuple[str, str] = ("Accuracy", "Cross-entropy")):
    """Accuracy (left: flat steps, zero gradient) and cross-entropy (right: a smooth curve)
    at w + t*d along one random line through the trained weights w.

    ``scan`` is ``theory.weight_line_scan(...)``: columns t, accuracy, cross_entropy.
    ``titles`` describe what this scan shows (``narrative.weight_line_titles``)."""
    use_style()
    t = np.asarray(scan["t"])
    fig, (ax_acc, ax_ce) = plt.subplots(1, 2, figsize=(12, 4.6), sharex=True)
    ax_acc.plot(t, 100 * np.asarray(scan["accuracy"]), drawstyle="steps-mid",
                color=ACCURACY_COLOUR, linewidth=2.5)
    ax_acc.plot(t, 100 * np.asarray(scan["accuracy"]), "o", markersize=4,
                color=ACCURACY_COLOUR, label="accuracy at each evaluated point")
    ax_ce.plot(t, scan["cross_entropy"], "-o", markersize=4, color=CE_COLOUR, linewidth=2.5,
               label="cross-entropy at each evaluated point")
    ax_acc.xaxis.set_major_locator(MaxNLocator(5))  # shared x: both panels
    for ax in (ax_acc, ax_ce):
        ax.axvline(0, color="grey", linestyle=":", linewidth=1.5)
        ax.set_xlabel("distance t along direction d (0 = trained weights)")
    ax_acc.set(ylabel="validation accuracy (%)", title=titles[0])
    ax_ce.set(ylabel="validation cross-entropy (from the logits)", title=titles[1])
    ax_acc.legend(loc="best")
    ax_ce.legend(loc="best")
    fig.tight_layout()
    table = pd.DataFrame({"t": t, "validation accuracy (%)": 100 * np.asarray(scan["accuracy"]),
                          "validation cross-entropy": np.asarray(scan["cross_entropy"])})
    alt = alt_text.weight_line(t, scan["accuracy"], scan["cross_entropy"], titles)
    return show(fig, alt, table, "the scan along the line")
