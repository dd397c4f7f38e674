"""Text alternatives for every figure, generated from the figure's own data.

A screen-reader user gets what a sighted reader sees: what the figure shows and the
numbers that matter, stated from the data so the text stays true for every parameter set
(one epoch, one seed, a collapsed network, ten clothing classes...). Pure functions of
plain data: ``mlplab.lab.plots`` and ``mlplab.lab.theory_plots`` call them with what they draw.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np

from mlplab import outcomes
from mlplab.wording import join as series
from mlplab.wording import pct, plural

MINUS = "\u2212"


def num(x: float, digits: int = 3) -> str:
    """A number as a reader says it: 3 significant digits, no exponent, real minus sign."""
    x = float(x)
    if not np.isfinite(x):
        return "not a number" if np.isnan(x) else ("infinity" if x > 0 else f"{MINUS}infinity")
    if float(x).is_integer() and abs(x) >= 1000:
        text = f"{abs(x):,.0f}"
    elif abs(x) >= 10 ** digits:
        text = f"{abs(round(x)):,}"
    else:
        text = np.format_float_positional(abs(x), precision=digits, unique=True,
                                          fractional=False, trim="-")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    return (MINUS if x < 0 and text.strip("0.,") else "") + text


def sentence(text: str) -> str:
    """``text`` with its first letter capitalised, to start a sentence."""
    return text[:1].upper() + text[1:]


def trend(name: str, values: Sequence[float], fmt=num, lower_is_better: bool = True,
          x_name: str = "epoch") -> str:
    """How a per-epoch curve moves: first and last value, and its best point if inside.

    E.g. 'validation loss falls from 0.62 at epoch 1 to 0.39 at epoch 20, lowest 0.33 at
    epoch 7'. The verb comes from the formatted numbers, so it never contradicts them.
    """
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return f"{name}: no values"
    first, last = fmt(values[0]), fmt(values[-1])
    if len(values) == 1:
        return f"{name} {first} after {x_name} 1"
    if first == last:
        text = f"{name} is {first} at {x_name} 1 and at {x_name} {len(values)}"
    else:
        verb = "falls" if values[-1] < values[0] else "rises"
        text = f"{name} {verb} from {first} at {x_name} 1 to {last} at {x_name} {len(values)}"
    best = int(np.argmin(values) if lower_is_better else np.argmax(values))
    if 0 < best < len(values) - 1 and fmt(values[best]) not in (first, last):
        word = "lowest" if lower_is_better else "highest"
        text += f", {word} {fmt(values[best])} at {x_name} {best + 1}"
    return text


# --- Figures of a run's page ---------------------------------------------------------------

def digit_grid(labels: Sequence[str], title: str, side: int = 28) -> str:
    """Small multiples of ``side`` x ``side`` images: how many, and each caption in order (a
    caption repeated by neighbours is said once, with its count)."""
    captions = [" ".join(str(label).split()) for label in labels]
    if not captions:
        return f"{title}: no images to show."
    said = [caption if (n := len(list(group))) == 1 else f"{caption} ({n} images)"
            for caption, group in itertools.groupby(captions)]
    return (f"{title}: {plural(len(captions), 'grey-scale image')} of {side} by {side} pixels, "
            f"captioned in reading order: {'; '.join(said)}.")


def learning_curves(histories: Sequence[Mapping[str, Sequence[float]]], seeds: Sequence[int],
                    loss_name: str, max_epochs: int | None = None) -> str:
    """Loss, accuracy and the generalisation gap per epoch for each seed: how they move, and
    which measures say it overfits (``outcomes.generalisation``, as the page's prose)."""
    loss = loss_name.replace("_", " ")
    lengths = [len(h["loss"]) for h in histories]
    n = min(lengths)
    seed_text = ("seed " if len(seeds) == 1 else "seeds ") + series([str(s) for s in seeds])
    if len(set(lengths)) == 1:
        span = f"over {plural(n, 'epoch')}"
    else:
        span = f"trained for {min(lengths)} to {max(lengths)} epochs (early stopping)"
    head = (f"Learning curves for {seed_text}, {span}: {loss} (left) and accuracy (middle) "
            "per epoch, training as solid lines and validation as dashed lines, and the "
            "generalisation gap, training minus validation accuracy in points (right, dotted), "
            "one colour and marker per seed.")

    def mean(key: str) -> np.ndarray:
        return np.mean([np.asarray(h[key][:n], dtype=float) for h in histories], axis=0)

    where = ""
    if len(histories) > 1:
        where = (" Means over the seeds" + ("" if len(set(lengths)) == 1
                                           else f", first {plural(n, 'epoch')}, run by all")
                 + ":")
    train_loss, val_loss, val_acc = mean("loss"), mean("val_loss"), mean("val_accuracy")
    parts = [trend("training loss", train_loss), trend("validation loss", val_loss),
             trend("validation accuracy", val_acc, fmt=pct, lower_is_better=False)]
    text = f"{head}{where} " + ("; ".join(parts) if where else sentence("; ".join(parts))) + "."
    finite = [h for h in histories if all(np.isfinite(h[k]).all() for k in ("loss", "val_loss"))]
    if not finite:  # every seed diverged: no gap or minimum to read
        return text
    gen = outcomes.generalisation(finite, max_epochs)
    gaps = [100 * g for g in gen.final_accuracy_gap]
    where = "the last epoch" if len(set(lengths)) == 1 else "each seed's last epoch"
    low, high = num(min(gaps)), num(max(gaps))
    some = "" if len(finite) == len(histories) else ", of the seeds whose loss stayed finite,"
    text += (f" The gap at {where}{some} is {low if low == high else f'{low} to {high}'} "
             f"points.")
    if n > 1:
        text += " " + outcomes.verdict_sentence(gen).replace("**", "")
    return text.rstrip()


def confusion(matrix: np.ndarray, class_names: Sequence[str], top: int = 3) -> str:
    """Counts of (true, predicted) classes: accuracy, per-class range, worst confusions."""
    m = np.asarray(matrix)
    total, correct = int(m.sum()), int(np.trace(m))
    head = (f"Confusion matrix of {plural(total, 'test image')}, true class in rows against "
            f"predicted class in columns, {plural(len(class_names), 'class', 'classes')}")
    if total == 0:
        return head + ": no test images to count."
    text = (f"{head}: {correct:,} on the diagonal, correctly classified "
            f"({pct(correct / total)}).")
    rows = m.sum(axis=1)
    recall = {class_names[i]: m[i, i] / rows[i] for i in range(len(class_names)) if rows[i]}
    if len(recall) > 1:
        worst = min(recall, key=recall.get)
        best = max(recall, key=recall.get)
        text += (f" Per true class, the share classified correctly ranges from "
                 f"{pct(recall[worst])} (class {worst}) to {pct(recall[best])} (class {best}).")
    off = [(int(m[i, j]), i, j) for i in range(len(m)) for j in range(len(m))
           if i != j and m[i, j] > 0]
    off.sort(key=lambda c: (-c[0], c[1], c[2]))
    if off:
        shown = [f"true {class_names[i]} predicted as {class_names[j]} "
                 f"({plural(count, 'image')})" for count, i, j in off[:top]]
        text += f" Most frequent mistakes: {series(shown)}."
    else:
        text += " No mistakes."
    return text


def loss_and_gradient(gap: Sequence[float], ce_loss: Sequence[float],
                      mse_loss: Sequence[float], ce_grad: Sequence[float],
                      mse_grad: Sequence[float]) -> str:
    """Both losses and their gradients' sizes as the true class trails by a growing gap."""
    gap = np.asarray(gap, dtype=float)
    ce_grad, mse_grad = np.abs(ce_grad), np.abs(mse_grad)

    def span(name: str, values: Sequence[float]) -> str:
        values = np.asarray(values, dtype=float)
        a, b = num(values[0]), num(values[-1])
        if a == b:
            return f"{name} stays at {a}"
        return f"{name} {'grows' if values[-1] > values[0] else 'shrinks'} from {a} to {b}"

    return (
        "Two panels against the logit gap, the wrong class's logit minus the true class's, "
        f"from {num(gap[0])} to {num(gap[-1])}; cross-entropy as solid blue lines, mean "
        "squared error as dashed vermillion lines. Left, the loss for this example: "
        f"{span('cross-entropy', ce_loss)}, while {span('mean squared error', mse_loss)}. "
        "Right, the size of the gradient on the true class's logit, on a log scale: "
        f"{span('cross-entropy', ce_grad)}; {span('mean squared error', mse_grad)}, "
        f"{num(mse_grad[0] / mse_grad[-1]) if mse_grad[-1] else 'infinitely many'} "
        "times smaller at the end than at the start."
    )


def weight_line(t: Sequence[float], accuracy: Sequence[float],
                cross_entropy: Sequence[float],
                titles: tuple[str, str] = ("Accuracy", "Cross-entropy")) -> str:
    """Accuracy and cross-entropy along a line through trained weights: how often each
    changes between neighbouring points (steps or a slope), its value at the trained
    weights and its range. ``titles`` are the panels' titles."""
    t = np.round(np.asarray(t, dtype=float), 12)  # linspace's centre, 1e-17, reads as 0
    acc = np.asarray(accuracy, dtype=float)
    ce = np.asarray(cross_entropy, dtype=float)
    zero = int(np.argmin(np.abs(t)))
    at_zero = f"at t = {num(t[zero])}"

    def changes(values: np.ndarray, fmt) -> str:
        steps = len(values) - 1
        changed = int(np.count_nonzero(np.diff(values)))
        if changed == 0:
            return f"it stays at {fmt(values[0])} all along the line"
        if changed == steps:
            how = f"it changes at every one of the {plural(steps, 'step')} between points"
        else:
            how = (f"it changes at only {changed} of the {plural(steps, 'step')} between "
                   f"points and is flat in between")
        return (f"{how}; {fmt(values[zero])} {at_zero}, lowest {fmt(values.min())} at t = "
                f"{num(t[int(np.argmin(values))])}, highest {fmt(values.max())} at t = "
                f"{num(t[int(np.argmax(values))])}")

    return (
        f"Two panels against the distance t along one random direction d from the trained "
        f"weights (t = 0), {plural(len(t), 'point')} from t = {num(t[0])} to t = "
        f"{num(t[-1])}. Left panel, “{titles[0].rstrip('.')}”: validation accuracy takes "
        f"{plural(len(np.unique(acc)), 'distinct value')}; {changes(acc, pct)}. Right panel, "
        f"“{titles[1].rstrip('.')}”: validation cross-entropy; {changes(ce, num)}."
    )


# --- Figures of the index ------------------------------------------------------------------

def _interval(mean: float, low: float, high: float) -> str:
    """'92.3% (95% interval 91.0% to 93.6%)', or 'one seed, no interval' when it is NaN."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return f"{mean:.1f}% (one seed, no interval)"
    return f"{mean:.1f}% (95% interval {low:.1f}% to {high:.1f}%)"


def seed_errorbars(labels: Sequence[str], mean: Sequence[float], low: Sequence[float],
                   high: Sequence[float], title: str, ylabel: str) -> str:
    """One point per run, mean over seeds (in %) with its 95% interval. No run is named
    best: two means a hair apart are not a ranking, and whether a difference is resolved
    is a paired test's verdict, stated in the text beside the figure."""
    if not len(labels):
        return f"{title}: no runs to show."
    items = [f"{label} {_interval(m, lo, hi)}"
             for label, m, lo, hi in zip(labels, mean, low, high, strict=True)]
    judged = (" Which differences are resolved is stated in the text, from paired tests, "
              "not read from this figure." if len(labels) > 1 else "")
    return (f"{title}: {ylabel}, mean over seeds with 95% interval, for "
            f"{plural(len(labels), 'run')}: {'; '.join(items)}.{judged}")


def width_curves(by_depth: Mapping[str, tuple[Sequence[float], Sequence[float],
                                               Sequence[float], Sequence[float]]],
                 title: str) -> str:
    """Accuracy (in %) against width, one line per depth: (widths, mean, low, high)."""
    lines = []
    for label, (widths, mean, low, high) in by_depth.items():
        points = [f"{num(w)} units {_interval(m, lo, hi)}"
                  for w, m, lo, hi in zip(widths, mean, low, high, strict=True)]
        lines.append(f"{label}: {', '.join(points)}")
    return (f"{title}: test accuracy against units per hidden layer, mean over seeds with 95% "
            f"interval, one line per depth, each with its own colour and marker. "
            + sentence("; ".join(lines)) + ".")


def mean_curves(groups: Mapping[str, Sequence[Sequence[float]]], ylabel: str,
                title: str) -> str:
    """Per-epoch mean over seeds for each run: how each moves and where it is best."""
    lower = "loss" in ylabel.lower() or "error" in ylabel.lower()
    fmt = (lambda x: f"{num(x)}%") if "(%)" in ylabel else num
    parts, best_epochs = [], []
    for label, curves in groups.items():
        n = min(len(c) for c in curves)
        mean = np.mean([np.asarray(c[:n], dtype=float) for c in curves], axis=0)
        best_epochs.append(int(np.argmin(mean) if lower else np.argmax(mean)) + 1)
        parts.append(trend(f"{label} ({plural(len(curves), 'seed')})", mean, fmt,
                           lower_is_better=lower))
    word = "lowest" if lower else "highest"
    text = (f"{title}. {sentence(ylabel)} per epoch for "
            f"{plural(len(groups), 'network')}, the mean over seeds as a line (each with its "
            f"own colour, line style and marker) and the spread between seeds as a band: "
            + "; ".join(parts) + ".")
    if len(best_epochs) > 1:  # each network's own best epoch, never a pooled one
        a, b = min(best_epochs), max(best_epochs)
        text += (f" Every network's mean is {word} at epoch {a}." if a == b else
                 f" The networks' means are {word} at different epochs, from epoch {a} to "
                 f"epoch {b}.")
    return text


def pareto(names: Sequence[str], x: Sequence[float], mean: Sequence[float],
           std: Sequence[float], xlabel: str, unit: str = "") -> str:
    """Accuracy (in %, mean ± sd over seeds) against a cost (in ``unit``), one point per
    network."""
    if not len(names):
        return f"Accuracy against {xlabel}: no runs to show."
    cost = xlabel.split(" (")[0]
    order = np.argsort(np.asarray(x, dtype=float), kind="stable")

    def point(i: int) -> str:
        return (f"{names[i]}: {cost} {num(x[i])}{unit}, accuracy {mean[i]:.1f}% ± "
                f"{num(std[i], 2)}")

    best, cheap = int(np.argmax(mean)), int(order[0])
    return (f"Test accuracy (mean ± standard deviation over seeds, in %) against {xlabel}, one "
            f"point for each of {plural(len(names), 'network')}, in order of {cost}: "
            f"{'; '.join(point(i) for i in order)}. Most accurate: {point(best)}. Lowest "
            f"{cost}: {point(cheap)}.")


def fit_curves(variants: Mapping[str, tuple[Sequence[float], Sequence[float], int, bool]],
               key: str, title: str) -> str:
    """Training against validation per variant (means over seeds, in % for accuracy): how
    each moves and the gap between them at the last epoch drawn."""
    percent = key == "accuracy"
    fmt = (lambda x: f"{num(x)}%") if percent else num
    parts = []
    for label, (train, val, seeds, cut) in variants.items():
        train, val = np.asarray(train, dtype=float), np.asarray(val, dtype=float)
        gap = (train[-1] - val[-1]) if percent else (val[-1] - train[-1])
        unit = ("" if not percent else " point" if num(gap) == "1" else " points")
        which = "training minus validation" if percent else "validation minus training"
        parts.append(
            f"{label} ({plural(seeds, 'seed')}"
            + (f", first {plural(len(train), 'epoch')}, run by all" if cut else "") + "): "
            + trend(f"training {key}", train, fmt, lower_is_better=not percent) + "; "
            + trend(f"validation {key}", val, fmt, lower_is_better=not percent)
            + f"; gap at epoch {len(train)} ({which}) {num(gap)}{unit}")
    return (f"{title}. One panel per variant, {plural(len(variants), 'panel')} sharing their "
            f"axes: {key} per epoch, training as a solid blue line and validation as a dashed "
            f"vermillion line, each the mean over seeds with the spread between seeds as a "
            f"band. " + sentence("; ".join(parts)) + ".")
