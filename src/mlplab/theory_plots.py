"""Figures for the loss-function section, in the report's one style (mlplab.plots)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from mlplab.plots import OKABE_ITO, use_style


def plot_loss_and_gradient(curves: pd.DataFrame):
    """Loss and |gradient| on the true logit against how far the true class trails."""
    use_style()
    fig, (ax_loss, ax_grad) = plt.subplots(1, 2, figsize=(12, 4.2))
    for key, label, colour in (("ce", "cross-entropy", OKABE_ITO[0]),
                               ("mse", "mean squared error", OKABE_ITO[3])):
        ax_loss.plot(curves["gap"], curves[f"{key}_loss"], color=colour, label=label)
        ax_grad.plot(curves["gap"], curves[f"{key}_grad"], color=colour, label=label)
    ax_loss.set(xlabel="logit gap: wrong class minus true class", ylabel="loss",
                title="Loss as the prediction gets more wrong")
    ax_grad.set(xlabel="logit gap: wrong class minus true class", yscale="log",
                ylabel="|gradient| on the true logit (log scale)",
                title="How hard the gradient pushes")
    ax_grad.legend()
    fig.tight_layout()
    return fig


def plot_weight_line(scan: pd.DataFrame):
    """Accuracy (steps) and cross-entropy (smooth) along one line through the weights."""
    use_style()
    fig, (ax_acc, ax_ce) = plt.subplots(1, 2, figsize=(12, 4.2))
    ax_acc.step(scan["t"], 100 * scan["accuracy"], where="mid", color=OKABE_ITO[1])
    ax_acc.plot(scan["t"], 100 * scan["accuracy"], "o", markersize=3, color=OKABE_ITO[1])
    ax_acc.set(xlabel="step t along direction d (0 = trained weights)",
               ylabel="validation accuracy (%)", title="Accuracy: flat steps")
    ax_ce.plot(scan["t"], scan["cross_entropy"], color=OKABE_ITO[0])
    ax_ce.set(xlabel="step t along direction d (0 = trained weights)",
              ylabel="validation cross-entropy", title="Cross-entropy: a smooth slope")
    fig.tight_layout()
    return fig
