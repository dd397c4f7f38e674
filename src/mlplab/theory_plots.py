"""Figures for the loss-function section, in the report's one style (mlplab.plots).

Cross-entropy is always blue and mean squared error vermillion; accuracy is orange.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from mlplab.plots import OKABE_ITO, use_style

CE_COLOUR, MSE_COLOUR, ACCURACY_COLOUR = OKABE_ITO[0], OKABE_ITO[3], OKABE_ITO[1]
GAP_LABEL = "logit gap: wrong class minus true class"


def plot_loss_and_gradient(curves: Mapping[str, np.ndarray]):
    """Loss (left) and |dL/dz_true| on a log scale (right) against how far the true class
    trails, cross-entropy beside MSE: MSE's push fades just when the network is most wrong.

    ``curves`` is ``theory.loss_curves(...)`` (a dict of arrays, or a DataFrame)."""
    use_style()
    gap = np.asarray(curves["gap"])
    fig, (ax_loss, ax_grad) = plt.subplots(1, 2, figsize=(12, 4.6))
    for key, label, colour in (("ce", "cross-entropy", CE_COLOUR),
                               ("mse", "mean squared error", MSE_COLOUR)):
        ax_loss.plot(gap, curves[f"{key}_loss"], color=colour, linewidth=2.5, label=label)
        ax_grad.plot(gap, np.abs(curves[f"{key}_grad"]), color=colour, linewidth=2.5,
                     label=label)
    ax_loss.set(xlabel=GAP_LABEL, ylabel="loss for this example",
                title="Loss as the prediction gets more wrong")
    ax_loss.legend(loc="upper left")
    ax_loss.annotate("MSE can never exceed 2/K:\nit barely notices how wrong",
                     xy=(gap[-1], float(np.asarray(curves["mse_loss"])[-1])),
                     xytext=(0.97, 0.22), textcoords="axes fraction", ha="right",
                     color=MSE_COLOUR, fontsize=11,
                     arrowprops={"arrowstyle": "->", "color": MSE_COLOUR})
    ax_grad.set(xlabel=GAP_LABEL, yscale="log",
                ylabel="|gradient| on the true logit (log scale)",
                title="How hard gradient descent pushes")
    ax_grad.legend(loc="lower left")
    fig.tight_layout()
    return fig


def plot_weight_line(scan):
    """Accuracy (left: flat steps, zero gradient) and cross-entropy (right: a smooth curve)
    at w + t*d along one random line through the trained weights w.

    ``scan`` is ``theory.weight_line_scan(...)``: columns t, accuracy, cross_entropy."""
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
    ax_acc.set(ylabel="validation accuracy (%)", title="Accuracy: flat steps, zero gradient")
    ax_ce.set(ylabel="validation cross-entropy", title="Cross-entropy: a smooth slope")
    ax_acc.legend(loc="best")
    ax_ce.legend(loc="best")
    fig.tight_layout()
    return fig
