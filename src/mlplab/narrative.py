"""Sentences for the master notebook, generated from the run's own numbers.

No number in the notebook's prose is typed by hand: each paragraph here is a function
of the parameters and results, so it follows them when they change.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mlplab import data as data_mod
from mlplab.models import param_count
from mlplab.report import layers_label
from mlplab.results import seed_summary


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def data_paragraph(dataset: data_mod.Dataset, split: data_mod.Split,
                   params: dict[str, Any]) -> str:
    counts = np.bincount(dataset.y[split.train], minlength=len(dataset.class_names))
    scaled = ("divided by 255, so the network sees values in [0, 1]"
              if params["scale_inputs"] else
              "left as raw intensities 0–255 (unscaled, as in the original assignment)")
    cap = (f" (a stratified sample of {params['max_samples']:,} of them)"
           if params["max_samples"] else "")
    return (
        f"**Dataset `{dataset.source}`**: {dataset.n:,} images{cap}, sha256 "
        f"`{dataset.sha256[:16]}…`. Split: **{len(split.train):,} training**, "
        f"**{len(split.val):,} validation** ({pct(params['validation_fraction'])} of the "
        f"training part) and **{len(split.test):,} test** ({pct(params['test_fraction'])}). "
        f"Training examples per class: {_range(list(counts), '{:,}')}. "
        f"Pixels are {scaled}. The row numbers of each part are saved in this run's "
        f"results record (`data.rows`)."
    )


def model_paragraph(params: dict[str, Any], keras_count: int) -> str:
    sizes = [784, *params["hidden_layers"], 10]
    terms = " + ".join(f"({a}+1)×{b}" for a, b in zip(sizes, sizes[1:], strict=False))
    ours = param_count(params["hidden_layers"])
    check = "matches" if ours == keras_count else f"does NOT match ({ours:,})"
    return (
        f"The network is **{layers_label(params['hidden_layers'])}** with "
        f"`{params['activation']}` hidden units and a softmax output. Each dense layer has one "
        f"weight per input–unit pair plus one bias per unit: {terms} = **{keras_count:,} "
        f"parameters** (Keras' count; the formula {check})."
    )


def worked_example_paragraph(worked: dict[str, Any], class_names: tuple[str, ...]) -> str:
    true = class_names[worked["true_class"]]
    clip = (" (clipped to 10⁻⁷ first, as Keras does, since log 0 is −∞)"
            if worked["clipped"] else "")
    return (
        f"Before training, the network gives the true class (*{true}*) of the first test "
        f"image probability ŷ = {worked['p_true']:.4g}. Its loss is −log ŷ{clip} = "
        f"{-worked['log_p_true']:.6f}, by hand **{worked['loss_by_hand']:.6f}**; Keras' "
        f"`CategoricalCrossentropy` gives **{worked['loss_keras']:.6f}**. A network that "
        f"guesses uniformly among {len(class_names)} classes would score "
        f"ln {len(class_names)} = {math.log(len(class_names)):.4f}: that is where training "
        f"starts."
    )


def training_paragraph(params: dict[str, Any], seeds: list) -> str:
    epochs = [s.epochs_run for s in seeds]
    seconds = [s.train_seconds for s in seeds]
    per_epoch = [s.seconds_per_epoch for s in seeds]
    stop = ""
    if params["early_stopping_patience"] is not None:
        best = [s.best_epoch for s in seeds]
        stop = (
            f" Early stopping (patience {params['early_stopping_patience']}) ended training "
            f"after {_range(epochs)} epochs; the lowest validation loss came at epoch "
            f"{_range(best)}. "
            + ("The weights of that best epoch were restored before testing."
               if params["restore_best_weights"] else
               "The weights were *not* restored, so the network tested is the one from the "
               "last epoch run, not the best one.")
        )
    return (
        f"Trained {len(seeds)} network(s) (seeds {', '.join(str(s.seed) for s in seeds)}) "
        f"for up to {params['epochs']} epochs, batch size {params['batch_size']}, optimizer "
        f"`{params['optimizer']}` (learning rate {params['learning_rate']:g}), loss "
        f"`{params['loss']}`.{stop} Wall-clock training time per network: "
        f"{_range(seconds, '{:.1f}')} s ({_range(per_epoch, '{:.2f}')} s per epoch, the "
        f"first epoch including one-off compilation). This is time measured around "
        f"training, unlike the µs/step in Keras' progress bar, which is per batch."
    )


def _range(values: list[float], pattern: str = "{}") -> str:
    lo, hi = min(values), max(values)
    return pattern.format(lo) if lo == hi else f"{pattern.format(lo)}–{pattern.format(hi)}"


def results_paragraph(seeds: list, class_names: tuple[str, ...]) -> str:
    accs = [s.metrics["test_accuracy"] for s in seeds]
    if len(accs) == 1:
        spread = (" With a single seed there is no estimate of seed-to-seed spread: treat "
                  "differences of a point or so between runs with caution.")
        head = f"Test accuracy: **{pct(accs[0])}**."
    else:
        s = seed_summary(accs)
        head = (f"Test accuracy over {s['n']} seeds: **{pct(s['mean'])} ± {pct(s['std'])}** "
                f"(mean ± standard deviation; range {pct(min(accs))}–{pct(max(accs))}, 95% "
                f"interval of the mean {pct(s['ci95_low'])}–{pct(s['ci95_high'])}).")
        spread = (f" Training the same network from a different seed moves test accuracy by "
                  f"up to {100 * (max(accs) - min(accs)):.1f} points: a smaller difference "
                  f"between two settings is not evidence that one is better.")
    chance = 1 / len(class_names)
    return head + f" Guessing would score {pct(chance)}." + spread


def confusion_paragraph(matrix: np.ndarray, class_names: tuple[str, ...]) -> str:
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    i, j = np.unravel_index(np.argmax(off), off.shape)
    per_class = matrix.diagonal() / np.maximum(matrix.sum(axis=1), 1)
    worst = int(np.argmin(per_class))
    return (
        f"The most frequent confusion is true *{class_names[i]}* predicted as "
        f"*{class_names[j]}* ({off[i, j]} test images). The hardest class is "
        f"*{class_names[worst]}* ({pct(per_class[worst])} recognised); the easiest is "
        f"*{class_names[int(np.argmax(per_class))]}* ({pct(per_class.max())})."
    )


def confusion_matrix(truth: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    from sklearn.metrics import confusion_matrix as sk_confusion

    return sk_confusion(truth, predicted, labels=list(range(n_classes)))


def gradient_paragraph(table) -> str:
    first, last = table.iloc[0], table.iloc[-1]
    shrink = abs(first["mse_autodiff"] / last["mse_autodiff"])
    return (
        f"As the true class falls behind by a logit gap of {first['gap']:g} to {last['gap']:g}, "
        f"its probability drops from {first['p_true']:.3f} to {last['p_true']:.1e}. The "
        f"cross-entropy gradient on its logit goes from {first['ce_autodiff']:.3f} to "
        f"{last['ce_autodiff']:.3f}: it stays near −1, a strong push. The MSE gradient goes "
        f"from {first['mse_autodiff']:.2e} to {last['mse_autodiff']:.2e}, {shrink:,.0f} times "
        f"smaller: the more wrong the network, the less MSE tells it. Autodiff and closed form "
        f"agree to within {max_disagreement(table):.1e}."
    )


def max_disagreement(table) -> float:
    """Largest difference between autodiff and closed-form gradients in the table."""
    return float(max((table["ce_autodiff"] - table["ce_closed_form"]).abs().max(),
                     (table["mse_autodiff"] - table["mse_closed_form"]).abs().max()))


def weight_line_paragraph(scan) -> str:
    acc, ce = scan["accuracy"].to_numpy(), scan["cross_entropy"].to_numpy()
    flat = int(np.sum(np.diff(acc) == 0))
    return (
        f"Along {len(scan)} evenly spaced points, accuracy takes only "
        f"{len(np.unique(acc))} distinct values and is exactly flat between {flat} of the "
        f"{len(scan) - 1} neighbouring pairs: there, its gradient is zero. Cross-entropy takes "
        f"{len(np.unique(ce))} distinct values and changes smoothly, from "
        f"{ce.min():.3f} at its lowest to {ce.max():.3f}, so it always tells gradient descent "
        f"which way is downhill."
    )
