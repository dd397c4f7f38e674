"""Sentences for the master notebook, generated from the run's own numbers.

No number in the notebook's prose is typed by hand: each paragraph here is a function of the
parameters and results, so it follows them when they change. Each function first decides
which case its numbers fall into (a network that learned, collapsed to one class, did not
learn or diverged; a flat scan; one seed; one epoch; ties) and words that case, so no
sentence claims a change, a winner or a slope that the numbers do not show.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mlplab import outcomes
from mlplab.lab import data as data_mod
from mlplab.lab.models import param_count
from mlplab.outcomes import Kind
from mlplab.params import Params
from mlplab.results import seed_summary
from mlplab.wording import (
    decimals,
    join,
    layers_label,
    number,
    pct,
    pct_span,
    plural,
    points,
    seconds,
    seeds_phrase,
    span,
)

MINUS = "\u2212"
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def magnitude(x: float, decimals: int = 3) -> str:
    """A number for a sentence and its table alike: ``decimals`` places while that shows at
    least two significant digits, else 'm × 10⁻ⁿ' with three; a real minus sign.

    A tiny gradient written as 0.000 or -0.000018 would hide its size or disagree with the
    sentence beside it, so both are written by this one function.
    """
    x = float(x)
    if x == 0 or not math.isfinite(x):
        return "0" if x == 0 else str(x)
    if 10.0 ** (1 - decimals) <= abs(x) < 1e6:
        text = f"{x:.{decimals}f}"
    else:
        mantissa, exponent = f"{x:.2e}".split("e")
        text = f"{mantissa} × 10{str(int(exponent)).translate(_SUPERSCRIPT)}"
    return text.replace("-", MINUS)


def epochs_phrase(values: list[int]) -> str:
    """'epoch 7' when every value is 7, else 'epochs 4–7'."""
    text = span(values)
    return f"epoch{'s' if '–' in text else ''} {text}"


def data_paragraph(dataset: data_mod.Dataset, split: data_mod.Split,
                   params: Params) -> str:
    counts = np.bincount(dataset.y[split.train], minlength=len(dataset.class_names))
    scaled = ("divided by 255, so the network sees values in [0, 1]"
              if params.scale_inputs else
              "left as raw intensities 0–255 (unscaled, as in the original assignment)")
    cap = (f" (a stratified sample of {params.max_samples:,} of them)"
           if params.max_samples else "")
    fewer = (f" (a stratified {pct(params.train_fraction)} of the training part, to show "
             "what less data does)" if params.train_fraction < 1 else "")
    return (
        f"**Dataset `{dataset.source}`**: {dataset.n:,} images{cap}, sha256 "
        f"`{dataset.sha256[:16]}…`. Split: **{len(split.train):,} training**{fewer}, "
        f"**{len(split.val):,} validation** ({pct(params.validation_fraction)} of the "
        f"training part) and **{len(split.test):,} test** ({pct(params.test_fraction)}). "
        f"Training examples per class: {span(list(counts), '{:,}')}. "
        f"Pixels are {scaled}. {split_sentence(params)}"
    )


def split_sentence(params: Params) -> str:
    """Which images each seed trains, validates and tests on (``data_split``)."""
    first = params.seeds[0]
    if params.data_split == "fixed":
        return ("Every seed uses this one split (`data_split: fixed`), so seeds vary only the "
                "initial weights and the order of the mini-batches. The row numbers of each "
                "part are saved in this run's results record (`data.rows`).")
    if len(params.seeds) == 1:
        return (f"Seed {first} drew this split (`data_split: per_seed`): a run with the same "
                "seed draws the same one. The row numbers of each part are saved in this "
                "run's results record (`data.rows`).")
    return (f"Each seed draws its own stratified split of these sizes (`data_split: "
            f"per_seed`), so the spread over seeds includes which images were drawn, and a "
            f"run with the same seed draws the same split, so the two stay paired. The counts "
            f"and images shown are seed {first}'s; its row numbers are saved in this run's "
            f"results record (`data.rows`).")


def model_paragraph(params: Params, keras_count: int, n_classes: int, n_inputs: int) -> str:
    sizes = [n_inputs, *params.hidden_layers, n_classes]
    terms = " + ".join(f"({a}+1)×{b}" for a, b in zip(sizes, sizes[1:], strict=False))
    ours = param_count(params.hidden_layers, n_inputs, n_classes)
    check = "matches" if ours == keras_count else f"does NOT match ({ours:,})"
    return (
        f"The network is **{layers_label(params.hidden_layers, n_inputs, n_classes)}** with "
        f"`{params.activation}` hidden units and a softmax output. Each dense layer has one "
        f"weight per input–unit pair plus one bias per unit: {terms} = **{keras_count:,} "
        f"parameters** (Keras' count; the formula {check})."
    )


def worked_example_paragraph(worked: dict[str, Any], class_names: tuple[str, ...],
                             params: Params) -> str:
    true = class_names[worked["true_class"]]
    k = len(class_names)
    uniform = math.log(k)
    loss = worked["loss_unclipped"]
    if worked["clipped"]:
        cost = (f"Its loss is −ln ŷ = **{magnitude(loss)}**: that is what training computes, "
                f"from the logits, with no clip. Called on these probabilities, Keras' "
                f"`CategoricalCrossentropy` first clips ŷ to [10⁻⁷, 1 − 10⁻⁷] (log 0 would "
                f"be −∞), so it reports **{worked['loss_keras']:.6f}** instead; by hand, with "
                f"the same clip, **{worked['loss_by_hand']:.6f}**.")
    else:
        cost = (f"Its loss is −ln ŷ: by hand **{worked['loss_by_hand']:.6f}**, Keras' "
                f"`CategoricalCrossentropy` on the same probabilities "
                f"**{worked['loss_keras']:.6f}**.")
    if abs(loss - uniform) < 0.5:
        start = ("this untrained network is close to that: small random initial weights "
                 "give nearly equal probabilities to every class")
    else:
        why = (": raw 0–255 pixels make the first layer's sums large, so even untrained "
               "weights give confident, arbitrary answers" if not params.scale_inputs else "")
        start = f"this untrained network is {'above' if loss > uniform else 'below'} that{why}"
    mse = (" (This run trains on mean squared error; the cross-entropy is shown because it is "
           "what the next section explains.)" if params.loss == "mean_squared_error" else "")
    shown = (magnitude(worked["p_true"]) if worked["p_true"] > 0 or not math.isfinite(loss) else
             f"exp({MINUS}{loss:.1f}), too small for a float64")
    return (
        f"Before training (initial weights from seed {params.seeds[0]}), the network gives "
        f"the true class (*{true}*) of the first test image probability ŷ = {shown}. "
        f"{cost} A network that gives all {k} classes the same "
        f"probability would score ln {k} = {uniform:.4f}; {start}.{mse}"
    )


def seeds_paragraph(params: Params) -> str:
    """What a seed fixes, including the batch order Keras repeats under a global seed, its
    measured cost, and the recipe that reshuffles every epoch yet stays reproducible. The
    cost was measured once, not by this run: the page points to where, and states no number
    of it (every number on a page is computed by its run)."""
    seed = params.seeds[0]
    effect = ("With this run's single epoch the order is never repeated." if params.epochs == 1
              else
              f"This run's networks are trained the same way, so each sees one order "
              f"{'up to ' if params.early_stopping_patience is not None else ''}"
              f"{params.epochs} times.")
    return (
        f"Each seed sets the initial weights and the order of the mini-batches. Under "
        f"`keras.utils.set_random_seed`, Keras 3's `fit(shuffle=True)` on arrays draws that "
        f"order once and **repeats it in every epoch**: its seeded shuffle starts again from "
        f"the same state for each epoch (TensorFlow issue 26179 is the same class of "
        f"problem). {effect} Over several epochs the repetition can cost accuracy: in a "
        f"comparison over seeds on mnist-5k, made once for this project and not by this run, "
        f"reshuffling every epoch reached a higher mean test accuracy, beyond seed-to-seed "
        f"noise (its numbers are in the project's `docs/using.md`, section *Speed*). To "
        f"reshuffle every epoch and still "
        f"reproduce the run, shuffle in a `tf.data` pipeline with its own seed:\n\n"
        "```python\n"
        "import tensorflow as tf\n\n"
        "train = (tf.data.Dataset.from_tensor_slices((x_train, y_train))\n"
        f"         .shuffle(len(x_train), seed={seed}, reshuffle_each_iteration=True)\n"
        f"         .batch({params.batch_size}))\n"
        "model.fit(train, validation_data=(x_val, y_val), epochs="
        f"{params.epochs}, shuffle=False)  # the pipeline shuffles\n"
        "```"
    )


def training_path_sentence(params: Params, first: Any, fit_accuracy: float,
                           n_test: int) -> str:
    """Which loop trained the run's seeds, and the first seed's test accuracy from both:
    the page's own evidence that the code shown above is what the report's numbers come from."""
    seeds = len(params.seeds)
    if not params.fast_training:
        how = ("This run trains its one seed" if seeds == 1 else
               f"This run trains each of its {seeds} seeds")
        how += " with exactly the code above: Keras' own `fit`, one network after another."
        other = "from `fit` again"
    else:
        how = ("This run trains its one seed" if seeds == 1 else
               f"To train its {seeds} seeds quickly, this run trains them together")
        regularised = []
        if params.l2 > 0:
            regularised.append("the L2 penalty in every loss, as Keras adds it")
        if params.dropout > 0:
            regularised.append("dropout with Keras' own masks (the same units dropped in the "
                               "same steps)")
        also = f", {' and '.join(regularised)}," if regularised else ""
        how += (" in one compiled TensorFlow graph (`fast_training`): the same network, initial "
                f"weights, batch order, loss{also} and update rule as `fit` above; only the "
                "per-step overhead of `fit` is gone. `make bench` trains this graph and Keras' "
                "default loop from the same seeds and compares their results.")
        other = "from the compiled graph"
    fast = first.metrics["test_accuracy"]
    apart = round(abs(fast - fit_accuracy) * n_test)
    agree = ("the same" if apart == 0 else
             f"{apart} of the {n_test:,} test images apart")
    return (f"{how} Seed {first.seed}'s test accuracy: {pct(fit_accuracy, 2)} from `fit` above, "
            f"{pct(fast, 2)} {other}: {agree}.")


def training_paragraph(params: Params, seeds: list, steps_per_epoch: int) -> str:
    taken = seconds([s.train_seconds for s in seeds])
    per_epoch = seconds([s.seconds_per_epoch for s in seeds])
    patience = params.early_stopping_patience
    stop = ""
    if patience is not None:
        stopped = [s for s in seeds if s.epochs_run < params.epochs]
        full = [s.seed for s in seeds if s.epochs_run == params.epochs]
        best = [s.best_epoch for s in seeds]
        # Keras stops once `patience` epochs in a row fail to improve (at least one).
        past = max(patience, 1)
        ended = (f" ended training of {seeds_phrase([s.seed for s in stopped])} after "
                 f"{span([s.epochs_run for s in stopped])} epochs" if stopped else
                 " never triggered")
        stop = (
            f" Early stopping (patience {patience}){ended}"
            + (f"; {seeds_phrase(full)} ran all {params.epochs} epochs" if stopped and full
               else "")
            + f". The lowest validation loss came at {epochs_phrase(best)}."
            + (f" By construction, a run that stops has run exactly {plural(past, 'epoch')} "
               f"past its best one." if stopped else "")
            + (" The weights of the best epoch were restored before testing."
               if params.restore_best_weights else
               " The weights were *not* restored: the network tested is the last one"
               + (f", {plural(past, 'epoch')} after the lowest validation loss"
                  if stopped and not full else "")
               + " (the index measures whether restoring changes test accuracy).")
        )
    shared = ""
    if params.fast_training and len(seeds) > 1:
        shared = ("; networks trained together share each epoch's time equally"
                  + (", so one that ran fewer epochs is charged less"
                     if len({s.epochs_run for s in seeds}) > 1 else ""))
    return (
        f"Trained {plural(len(seeds), 'network')} ({seeds_phrase([s.seed for s in seeds])}) "
        f"for {'up to ' if patience is not None else ''}{plural(params.epochs, 'epoch')}, "
        f"batch size {params.batch_size} "
        f"({steps_phrase(steps_per_epoch, [s.epochs_run for s in seeds])}), optimizer "
        f"`{params.optimizer}` (learning rate {params.learning_rate:g}), loss "
        f"`{params.loss}`.{stop} Wall-clock training time per network: "
        f"{taken} ({per_epoch} per epoch on average, one-off compilation included{shared}). "
        + PROGRESS_BAR_STEP_TIME
    )


# What Keras 3 prints as a step time, from its source: Progbar._estimate_step_duration
# (keras/src/utils/progbar.py) divides the time since the epoch's first step ended by the
# steps after it, once it has seen step 1, else the time since the epoch began by the steps.
# ProgbarLogger feeds it every step only with verbose=1; with verbose=2 it sees only the
# epoch's end, which fit reaches after the validation pass.
PROGRESS_BAR_STEP_TIME = (
    "That is time measured around training. The step time Keras prints (ms/step or µs/step) "
    "is a different number, a mean per step (`Progbar._estimate_step_duration` in "
    "keras/src/utils/progbar.py): with `verbose=2`, as in the `fit` call above, each "
    "epoch's line divides the epoch's whole time (the validation pass included and, in the "
    "first epoch, building and compiling the graph) by its steps; the progress bar of "
    "`verbose=1` (the default) instead ends each epoch on the time from the end of its first "
    "step to the end of the epoch, divided by the steps after the first, so the first step "
    "is left out. Neither is the time of one batch.")


def steps_phrase(steps_per_epoch: int, epochs_run: list[int]) -> str:
    """'77 optimiser steps per epoch, 1,540 in all': what an epoch count means in updates,
    so runs with different batch sizes or data are compared by the steps they took."""
    return (f"{plural(steps_per_epoch, 'optimiser step')} per epoch, "
            f"{span([steps_per_epoch * e for e in epochs_run], '{:,}')} in all")


# Validation accuracy that changed by less than this from the first epoch to the last
# "barely moved": a reading aid on the page, not a verdict (none rests on it).
BARELY_MOVED = 0.02


def _barely_moved(seed_record: dict[str, Any]) -> str:
    """A sentence when training hardly changed validation accuracy after the first epoch."""
    val = seed_record["history"]["val_accuracy"]
    if len(val) < 2 or abs(val[-1] - val[0]) >= BARELY_MOVED:
        return ""
    return (f" For seed {seed_record['seed']}, validation accuracy was {pct(val[0])} after "
            f"epoch 1 and {pct(val[-1])} after epoch {len(val)}: the later epochs barely "
            f"moved it.")


def learning_paragraph(params: Params, seed_records: list[dict[str, Any]],
                       class_names: tuple[str, ...]) -> str:
    """What the curves show: collapse, no learning or divergence first, then over- or
    underfitting for the networks that learned."""
    found = outcomes.of_seeds(seed_records, len(class_names))
    out = [_fate_sentence(params, seed_records, found, class_names)]
    learned = [s for s, o in zip(seed_records, found, strict=True) if o.kind == Kind.LEARNED]
    if not learned:
        return " ".join(x for x in out if x)
    if all(len(s["history"]["loss"]) == 1 for s in learned):
        train = [s["history"]["accuracy"][0] for s in learned]
        val = [s["history"]["val_accuracy"][0] for s in learned]
        steps = learned[0].get("steps_per_epoch")
        one = f"One epoch ({plural(steps, 'optimiser step')})" if steps else "One epoch"
        out.append(f"{one} gives each curve a single point, so no trend can be read; after "
                   f"it, training accuracy is {span(train, '{:.1%}')} and validation accuracy "
                   f"{span(val, '{:.1%}')}."
                   + (" The training figure sits below the validation figure, measured at "
                      "the end: it is averaged over the epoch while the network was still "
                      "improving"
                      + (f"; and {outcomes.thinned_network(params.dropout)}"
                         if params.dropout else "") + "."
                      if max(train) < min(val) else ""))
        return " ".join(x for x in out if x)
    stops = params.early_stopping_patience is not None
    # With restored weights the tested network is each seed's best epoch (its record's).
    restored = ([s["best_epoch"] for s in learned]
                if stops and params.restore_best_weights else None)
    gen = outcomes.generalisation([s["history"] for s in learned],
                                  params.epochs if stops else None, restored, params.dropout)
    out += outcomes.describe(gen)
    out.append(training_loss_sentence(learned))
    return " ".join(x for x in out if x)


def _accuracy_with_interval(found: list[outcomes.Outcome]) -> str:
    """'13.3% (2 of 15 test images; 95% interval 3.7%–37.9%)', one clause per seed, so a
    verdict always shows how sure the test set lets it be."""
    return join([f"{pct(o.test_accuracy)} ({o.correct:,} of {o.n_test:,} test images; 95% "
                 f"interval {pct_span(list(o.interval))})" for o in found])


def _after_steps(seed_records: list[dict[str, Any]]) -> str:
    """' after 5 optimiser steps (1 epoch of 5)': learning judged with the updates it got."""
    steps = [s.get("steps_per_epoch") for s in seed_records]
    if not all(steps):
        return ""
    epochs = [len(s["history"]["loss"]) for s in seed_records]
    return (f", after {span([n * e for n, e in zip(steps, epochs, strict=True)], '{:,}')} "
            f"optimiser steps ({span(epochs)} epoch{'s' if max(epochs) > 1 else ''} of "
            f"{span(steps, '{:,}')})")


def _validation_peak(seed_record: dict[str, Any]) -> str:
    """Where validation accuracy got to: a second, independent hint when the test set is
    too small to judge."""
    val = seed_record["history"]["val_accuracy"]
    return (f" Seed {seed_record['seed']}'s validation accuracy peaked at {pct(max(val))} "
            f"(training accuracy {pct(max(seed_record['history']['accuracy']))}).")


def _percent_span(values: list[float]) -> str:
    """'0.4%' or '0.4%–310%': whole percent, with decimals only where they keep a small
    value from reading as zero."""
    ends = [number(v, 0) for v in (min(values), max(values))]
    return f"{ends[0]}%" if ends[0] == ends[1] else f"{ends[0]}%–{ends[1]}%"


def times(n: int) -> str:
    """'once', 'twice', '3 times'."""
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def training_loss_sentence(seed_records: list[dict[str, Any]]) -> str:
    """The shape of each seed's whole training-loss curve: whether it fell in every epoch,
    where it ended above its lowest value, and where it climbed back far enough to call the
    training unstable."""
    shapes = [outcomes.training_loss_of(s["seed"], s["history"]["loss"]) for s in seed_records]
    lengths = {t.epochs for t in shapes}
    # "changes", not "steps": on these pages a step is one optimiser update.
    of = (f" in the {lengths.pop() - 1} changes from one epoch to the next"
          if len(lengths) == 1 else " from one epoch to the next")
    rising = [t for t in shapes if t.rises]
    every = "for every seed" if len(shapes) > 1 else f"for seed {shapes[0].seed}"
    if not rising:
        if all(t.falls == t.epochs - 1 for t in shapes):
            return f"The training loss fell in every epoch, {every}."
        if not any(t.falls for t in shapes):
            return f"The training loss did not change from epoch to epoch, {every}."
        return (f"The training loss never rose, {every}, but stayed level "
                f"{span([t.epochs - 1 - t.falls for t in shapes])} times{of}.")
    counts = [t.rises for t in rising]
    how_often = times(counts[0]) if len(set(counts)) == 1 else f"{span(counts)} times"
    text = (f"The training loss did not fall in every epoch: for "
            f"{seeds_phrase([t.seed for t in rising])} it rose {how_often}{of}.")
    ended = [t for t in rising if t.final > t.low]
    if ended:
        text += (f" It ended above its lowest value for {seeds_phrase([t.seed for t in ended])} "
                 f"(lowest at {epochs_phrase([t.low_epoch for t in ended])}; last value "
                 f"{_percent_span([100 * (t.final / t.low - 1) for t in ended])} above it).")
    unstable = [t for t in shapes if t.unstable]
    if unstable:
        worst = max(unstable, key=lambda t: t.rebound)
        text += (f" Training was unstable for {seeds_phrase([t.seed for t in unstable])}: the "
                 f"training loss climbed back to more than {outcomes.UNSTABLE_FACTOR:g}× the "
                 f"lowest value it had reached (most for seed {worst.seed}: "
                 f"{worst.rebound:.1f}× its low at epoch {worst.rebound_from_epoch}, at epoch "
                 f"{worst.rebound_epoch}).")
    return text


def _fate_sentence(params: Params, seed_records: list[dict[str, Any]],
                   found: list[outcomes.Outcome], class_names: tuple[str, ...]) -> str:
    k = len(class_names)
    bar = outcomes.NO_LEARNING_FACTOR / k
    parts = []
    for kind in (Kind.COLLAPSED, Kind.NO_LEARNING, Kind.UNJUDGED, Kind.DIVERGED):
        hit = [(s, o) for s, o in zip(seed_records, found, strict=True) if o.kind == kind]
        if not hit:
            continue
        who = seeds_phrase([s["seed"] for s, _ in hit])
        if kind == Kind.COLLAPSED:
            each = join([f"seed {s['seed']} predicts "
                         + ("nothing but " if o.predicted_share == 1
                            and len(o.collapsed_to) > 1 else "")
                         + join([f"*{class_names[c]}*" for c in o.collapsed_to], "or")
                         + " for "
                         + (f"every one of the {o.n_test:,} test images"
                            if o.predicted_share == 1
                            else f"{o.predicted_share:.1%} of the {o.n_test:,} test images")
                         for s, o in hit])
            accuracy = span([o.test_accuracy for _, o in hit], '{:.1%}')
            # Only a network that gives one class to every image is right on exactly that
            # class's images; with any other answer its accuracy has no such bound here.
            if all(o.predicted_share == 1 and len(o.collapsed_to) == 1 for _, o in hit):
                whose = ("the", "that") if len(hit) == 1 else ("each seed's", "its")
                text = (f"so {whose[0]} accuracy ({accuracy}) is the share of {whose[1]} "
                        f"class in the test set.")
            else:
                text = f"with test accuracy {accuracy}."
            text = (f"**Collapsed** ({who}): {each}, whatever the image shows, {text} A network "
                    f"counts as collapsed when {outcomes.collapse_rule(k)}.")
            early = [(s["seed"], o) for s, o in hit if o.learned_then_fell_back]
            if early:
                text += (f" {seeds_phrase([sd for sd, _ in early]).capitalize()} learned a "
                         f"little at first (training accuracy peaked at "
                         f"{span([o.peak_train_accuracy for _, o in early], '{:.1%}')} in "
                         f"{epochs_phrase([o.peak_epoch for _, o in early])}) and then fell "
                         f"back.")
            final = [s["history"]["loss"][-1] for s, _ in hit]
            one_class = (1 - 1 / k) * 2 / k
            if params.loss == "mean_squared_error" and all(
                    abs(x - one_class) < 0.01 for x in final):
                text += (f" The final training loss, {span(final, '{:.3f}')}, is the loss of a "
                         f"network certain of one class for every image: "
                         f"{1 - 1 / k:.1f} × 2/{k} = {one_class:.3f}. With a saturated softmax "
                         f"MSE's gradient is almost zero, so it cannot climb out.")
            parts.append(text)
        elif kind == Kind.NO_LEARNING:
            parts.append(f"**Did not learn** ({who}): test accuracy "
                         f"{_accuracy_with_interval([o for _, o in hit])} stays below "
                         f"{outcomes.NO_LEARNING_FACTOR:g}× chance ({pct(bar)}) even at the "
                         f"top of its interval.")
        elif kind == Kind.UNJUDGED:
            parts.append(f"**Could not be judged** ({who}): test accuracy "
                         f"{_accuracy_with_interval([o for _, o in hit])}. "
                         f"{'That interval' if len(hit) == 1 else 'Each interval'} reaches "
                         f"both below and above {outcomes.NO_LEARNING_FACTOR:g}× chance "
                         f"({pct(bar)}), the line between *did not learn* and *learned*, so "
                         f"{plural(hit[0][1].n_test, 'test image')} cannot tell which; a larger "
                         f"test set (more data, or a larger `max_samples`) could."
                         + "".join(_validation_peak(s) for s, _ in hit))
        else:
            parts.append(f"**Diverged** ({who}): the training loss became NaN (not a "
                         f"number), so the weights are meaningless.")
    partly = [(s, o) for s, o in zip(seed_records, found, strict=True) if o.partly_learned]
    if partly:
        parts.append(
            f"**Learned only partly** ({seeds_phrase([s['seed'] for s, _ in partly])}): test "
            f"accuracy {_accuracy_with_interval([o for _, o in partly])}, past "
            f"{outcomes.NO_LEARNING_FACTOR:g}× chance ({pct(bar)}) but, even at the top of "
            f"its interval, less than halfway from chance to 100% ({pct(partly[0][1].halfway)})"
            + _after_steps([s for s, _ in partly]) + "."
            + "".join(_barely_moved(s) for s, _ in partly))
    unclear = [(s, o) for s, o in zip(seed_records, found, strict=True)
               if o.verdict == outcomes.EXTENT_UNCLEAR]
    if unclear:
        parts.append(
            f"**Learned, how far unclear** ({seeds_phrase([s['seed'] for s, _ in unclear])}): "
            f"test accuracy {_accuracy_with_interval([o for _, o in unclear])}, clearly past "
            f"chance; but the interval straddles {pct(unclear[0][1].halfway)}, halfway from "
            f"chance to 100%, so these test images cannot tell whether it learned fully or "
            f"only partly" + _after_steps([s for s, _ in unclear]) + ".")
    uniform = math.log(k)
    peaks = {s["seed"]: max((x for x in s["history"]["loss"] if math.isfinite(x)),
                            default=math.nan) for s in seed_records}
    blown = {sd: x for sd, x in peaks.items() if x > outcomes.BLOW_UP_FACTOR * uniform}
    if params.loss == "categorical_crossentropy" and blown:
        parts.append(
            f"The training loss of {seeds_phrase(list(blown))} reached "
            f"{span(list(blown.values()), '{:,.0f}')}, more than "
            f"{outcomes.BLOW_UP_FACTOR}× that of guessing every class equally (ln {k} = "
            f"{uniform:.3f}): steps this large overshoot, the usual sign of a learning rate "
            f"({params.learning_rate:g}) too large for this network.")
    parts.append(_dead_units_sentence(seed_records))
    return " ".join(x for x in parts if x)


def _dead_units_sentence(seed_records: list[dict[str, Any]]) -> str:
    """Name dying ReLUs where the run measured them: hidden layers in which at least
    ``outcomes.DEAD_SHARE_HIGH`` of the units never fired on a validation image."""
    dead = [(s["seed"], layer) for s in seed_records for layer in s.get("dead_units") or []
            if layer["dead"] >= outcomes.DEAD_SHARE_HIGH * layer["units"]]
    if not dead:
        return ""
    seeds = sorted({seed for seed, _ in dead})
    each = "; ".join(f"seed {seed}: " + join([f"{layer['dead']} of {layer['units']} in hidden "
                                              f"layer {layer['layer']}"
                                              for sd, layer in dead if sd == seed])
                     for seed in seeds)
    whole = [seed for seed, layer in dead if layer["dead"] == layer["units"]]
    return (f"**Dead units** ({seeds_phrase(seeds)}): ReLU units that output 0 on every one of "
            f"the {dead[0][1]['images']:,} validation images ({each}). Such a unit's gradient "
            f"is zero for every image, so the loss gives its weights no signal to recover: "
            f"these are *dying ReLUs*."
            + (f" With a whole layer dead ({seeds_phrase(sorted(set(whole)))}), the layers "
               f"after it receive the same input for every image, so the network gives every "
               f"image the same output." if whole else ""))


def results_paragraph(seed_records: list[dict[str, Any]], class_names: tuple[str, ...]) -> str:
    accs = [s["metrics"]["test_accuracy"] for s in seed_records]
    found = outcomes.of_seeds(seed_records, len(class_names))
    chance = f" Guessing at random would score {pct(1 / len(class_names))}."
    if len(accs) == 1:
        return (f"Test accuracy: **{pct(accs[0])}** (seed {seed_records[0]['seed']})."
                + chance + " With a single seed there is no estimate of seed-to-seed "
                "spread: treat differences of a point or so between runs with caution.")
    s = seed_summary(accs)
    low, high = max(0.0, s["ci95_low"]), min(1.0, s["ci95_high"])
    clipped = " (cut at the possible range 0–100%)" if (low, high) != (s["ci95_low"],
                                                                       s["ci95_high"]) else ""
    lo, hi = min(accs), max(accs)
    if lo == hi:
        spread_text = f"every seed scored exactly {pct(lo)}"
    else:
        spread_text = (f"standard deviation {points(s['std'])} (range {pct_span(accs)}; "
                       f"95% interval of the mean {pct_span([low, high])}{clipped})")
    head = f"Test accuracy over {s['n']} seeds: **{pct(s['mean'])}**, {spread_text}."
    learned = [a for a, o in zip(accs, found, strict=True) if o.learned_fully]
    if len(learned) == len(accs):
        moved = points(hi - lo, decimals([100 * lo, 100 * hi]))  # as precise as the range
        spread = (f" Training the same network from a different seed moves test accuracy by "
                  f"up to {moved}: between two single runs of different settings, a smaller "
                  f"difference is not, by itself, evidence that one is better (a mean over "
                  f"seeds moves far less; its interval says how far)." if hi > lo else
                  " These seeds show no spread, so this run gives no estimate of "
                  "seed-to-seed noise.")
    elif learned:
        spread = (" The spread mixes networks that learned fully with ones that did not, "
                  "learned only partly or could not be judged (see above), so it says "
                  "nothing about ordinary seed-to-seed noise.")
    elif any(o.kind == Kind.UNJUDGED for o in found):
        spread = (" Some seeds could not be judged on so few test images (see above), so "
                  "this spread says nothing about ordinary seed-to-seed noise.")
    elif any(o.kind == Kind.LEARNED for o in found):
        spread = (" No seed learned fully (see above), so this spread describes failures and "
                  "partial learning, not ordinary seed-to-seed noise.")
    else:
        spread = " No seed learned, so these numbers describe failures, not a spread."
    return head + chance + spread


def exercise_three(params: Params) -> str:
    """Exercise 3 asks for the raw-pixel, mean-squared-error setting; a page that already
    uses it asks for the other loss instead of for the parameters it already has."""
    mse = params.loss == "mean_squared_error"
    if mse and not params.scale_inputs:
        return ("3. This run already uses raw pixels (`scale_inputs = False`) and mean "
                "squared error. Set `loss = \"categorical_crossentropy\"` in the parameters "
                "cell, keep the raw pixels, and run the notebook again. How do the learning "
                "curves and the predictions differ from this page's, and why?")
    wanted = [setting for setting, missing in (("`scale_inputs = False`", params.scale_inputs),
                                               ("`loss = \"mean_squared_error\"`", not mse))
              if missing]
    return (f"3. Set {join(wanted)} in the parameters cell and run the notebook. What happens "
            f"to the learning curves and to the predictions, and why?")


def confusion_paragraph(matrix: np.ndarray, class_names: tuple[str, ...], seed: int) -> str:
    """Most frequent confusion and hardest/easiest class, naming ties and collapse."""
    total = int(matrix.sum())
    predicted = matrix.sum(axis=0)
    who = f"For seed {seed}"
    if total == 0:
        return f"{who} there are no test images."
    top = int(np.argmax(predicted))
    if predicted[top] == total:
        return (f"{who} the network predicts *{class_names[top]}* for every test image: it "
                f"has collapsed to one class. It recognises all of that class and none of "
                f"the others, so the matrix has a single filled column.")
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    per_class = matrix.diagonal() / np.maximum(matrix.sum(axis=1), 1)

    def named(indices) -> str:
        return join([f"*{class_names[i]}*" for i in indices])

    if off.max() == 0:
        confusion = f"{who} every test image is classified correctly."
    else:
        pairs = np.argwhere(off == off.max())
        listed = [f"true *{class_names[i]}* predicted as *{class_names[j]}*"
                  for i, j in pairs[:4]]
        listed_text = (f"{', '.join(listed)} and {len(pairs) - 4} more" if len(pairs) > 4
                       else join(listed))
        confusion = (f"{who} the most frequent confusion"
                     + (f"s, tied at {off.max()} test images each, are {listed_text}"
                        if len(pairs) > 1 else f" is {listed_text} ({off.max()} test images)")
                     + ".")
    lo, hi = per_class.min(), per_class.max()
    if lo == hi:
        return confusion + f" Every class is recognised equally often ({pct(lo)})."
    hardest, easiest = np.flatnonzero(per_class == lo), np.flatnonzero(per_class == hi)

    def ranked(word: str, indices: np.ndarray, value: float) -> str:
        if len(indices) == 1:
            return f"the {word} class is {named(indices)} ({pct(value)} recognised)"
        return f"{len(indices)} classes tie as {word} ({named(indices)}, {pct(value)} each)"

    return (confusion + f" Per class, {ranked('hardest', hardest, lo)}; "
            f"{ranked('easiest', easiest, hi)}.")


def confusion_matrix(truth: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    from sklearn.metrics import confusion_matrix as sk_confusion

    return sk_confusion(truth, predicted, labels=list(range(n_classes)))


GRADIENT_HEADERS = {"gap": "logit gap", "p_true": "p(true class)",
                    "ce_autodiff": "cross-entropy gradient (autodiff)",
                    "ce_closed_form": "cross-entropy gradient (closed form)",
                    "mse_autodiff": "MSE gradient (autodiff)",
                    "mse_closed_form": "MSE gradient (closed form)"}


def gradient_table_view(table):
    """``theory.gradient_table`` as the page shows it: readable headers, and every number
    written by ``magnitude``, as in the paragraph beside it."""
    view = table.rename(columns=GRADIENT_HEADERS)
    return (view.style.set_uuid("gradients").hide(axis="index")  # fixed ids: same page twice
            .format(lambda v: f"{v:g}", subset=[GRADIENT_HEADERS["gap"]])
            .format(magnitude, subset=[c for c in view.columns if c != GRADIENT_HEADERS["gap"]]))


def gradient_paragraph(table) -> str:
    first, last = table.iloc[0], table.iloc[-1]
    return (
        f"As the true class falls behind by a logit gap of {first['gap']:g} to {last['gap']:g}, "
        f"its probability drops from {magnitude(first['p_true'])} to {magnitude(last['p_true'])}. "
        f"The cross-entropy gradient on its logit goes from {magnitude(first['ce_autodiff'])} "
        f"to {magnitude(last['ce_autodiff'])}; the MSE gradient from "
        f"{magnitude(first['mse_autodiff'])} to {magnitude(last['mse_autodiff'])}. Autodiff and "
        f"closed form agree to within {magnitude(max_disagreement(table))}. (Exercise 2 asks "
        f"what the ratio means.)"
    )


def max_disagreement(table) -> float:
    """Largest difference between autodiff and closed-form gradients in the table."""
    return float(max((table["ce_autodiff"] - table["ce_closed_form"]).abs().max(),
                     (table["mse_autodiff"] - table["mse_closed_form"]).abs().max()))


def weight_line_titles(scan) -> tuple[str, str]:
    """Panel titles for the weight-line figure that describe what this scan shows."""
    acc, ce = scan["accuracy"].to_numpy(), scan["cross_entropy"].to_numpy()
    acc_title = ("Accuracy: constant along the line" if np.ptp(acc) == 0
                 else "Accuracy: flat steps, zero gradient")
    ce_title = ("Cross-entropy: constant along the line" if np.ptp(ce) == 0
                else "Cross-entropy: changes at every step" if np.all(np.diff(ce) != 0)
                else "Cross-entropy")
    return acc_title, ce_title


def _lowest_highest(values: np.ndarray) -> tuple[str, str]:
    """('0.16774', '0.16781'): lowest and highest with the decimals (3 to 8) that tell them
    apart."""
    lo, hi = values.min(), values.max()
    d = next((d for d in range(3, 8) if f"{lo:.{d}f}" != f"{hi:.{d}f}"), 8)
    return f"{lo:.{d}f}", f"{hi:.{d}f}"


def _range_text(values: np.ndarray) -> str:
    """'from 0.16774 to 0.16781'."""
    lo, hi = _lowest_highest(values)
    return f"from {lo} to {hi}"


def weight_line_paragraph(scan, span_used: float, loss: str = "categorical_crossentropy") -> str:
    """Accuracy vs cross-entropy along one line through the weights, for any scan shape;
    for a run trained on mean squared error, what that loss does along the same line."""
    acc, ce = scan["accuracy"].to_numpy(), scan["cross_entropy"].to_numpy()
    pairs = len(scan) - 1
    flat = int(np.sum(np.diff(acc) == 0))
    ce_moves = int(np.sum(np.diff(ce) != 0))
    where = (f"Along {len(scan)} evenly spaced points (each layer moved by up to "
             f"{span_used:.1%} of its own size)")
    if np.ptp(acc) == 0 and np.ptp(ce) == 0:
        text = (f"{where}, neither measure changes: accuracy stays at {pct(acc[0])} and "
                f"cross-entropy at {ce[0]:.3f}, so along this line neither gives gradient "
                f"descent a direction.")
    else:
        if np.ptp(acc) == 0:
            acc_text = (f"accuracy is {pct(acc[0])} at every point: completely flat, so its "
                        f"gradient is zero along the whole line")
        else:
            acc_text = (f"accuracy takes only {len(np.unique(acc))} distinct values and is "
                        f"exactly flat between {flat} of the {pairs} neighbouring pairs: "
                        f"there, its gradient is zero, and it only changes in jumps of whole "
                        f"images")
        if ce_moves == pairs:
            lo, hi = _lowest_highest(ce)
            ce_text = (f"cross-entropy changes between every neighbouring pair, from {lo} at "
                       f"its lowest to {hi}: along this line it has a slope wherever accuracy "
                       f"has none")
        elif ce_moves == 0:
            ce_text = f"cross-entropy stays at {ce[0]:.3f}"
        else:
            ce_text = (f"cross-entropy changes between {ce_moves} of the {pairs} pairs, "
                       f"{_range_text(ce)}")
        text = f"{where}, {acc_text}; {ce_text}."
    if loss == "mean_squared_error":
        text += " " + _mse_along_line(scan)
    return text


def _mse_along_line(scan) -> str:
    """What the loss an MSE run trained on does along the scan's line, and why."""
    mse = scan["mean_squared_error"].to_numpy()
    centre = int(np.argmin(np.abs(scan["t"].to_numpy())))
    saturated = float(scan["saturated"].iloc[centre])
    if np.ptp(mse) < 1e-6:
        moves = (f"stays at {mse[0]:.3f} (it changes by less than 10⁻⁶ along the whole line), "
                 f"so here it gives gradient descent almost no direction")
    else:
        moves = f"changes {_range_text(mse)}"
    text = (f"This run, though, trained on mean squared error, not cross-entropy: along the "
            f"same line it {moves}.")
    if saturated > 0:
        text += (f" At the trained weights the softmax is saturated (top probability above "
                 f"1 − 10⁻⁶) on {pct(saturated)} of the validation images; on such an image "
                 f"MSE's gradient is almost zero whether the answer is right or wrong, "
                 f"while cross-entropy's is not when it is wrong (section 3).")
    return text


def misclassified_sample(truth: np.ndarray, predicted: np.ndarray, n: int = 20) -> np.ndarray:
    """Up to ``n`` misclassified test rows, taken in turn from each true class (lowest class
    first, each class's rows in test order), so the gallery shows every kind of mistake
    rather than the first class of a class-ordered test set."""
    wrong = np.flatnonzero(np.asarray(truth) != np.asarray(predicted))
    by_class = [list(wrong[truth[wrong] == c]) for c in np.unique(truth[wrong])]
    picked: list[int] = []
    while len(picked) < min(n, len(wrong)):
        for rows in by_class:
            if rows and len(picked) < n:
                picked.append(int(rows.pop(0)))
    return np.array(picked, dtype=int)


def misclassified_title(shown: np.ndarray, truth: np.ndarray, predicted: np.ndarray,
                        seed: int) -> str:
    """The gallery's title: how many of how many mistakes, and from how many true classes."""
    total = int(np.sum(np.asarray(truth) != np.asarray(predicted)))
    classes = len(np.unique(np.asarray(truth)[shown]))
    what = "the one true class" if classes == 1 else f"{classes} true classes"
    if total == 1:
        return f"The only misclassified test image (seed {seed})"
    if len(shown) == total:
        return f"All {total:,} misclassified test images (seed {seed}), from {what}"
    return (f"{len(shown)} of the {total:,} misclassified test images (seed {seed}), taken in "
            f"turn from {what}")


def no_mistakes_sentence(seed: int) -> str:
    return f"Seed {seed} classifies every test image correctly: there is no mistake to show."


def layer_table(model):
    """The network's layers as a small table (what ``model.summary()`` prints, without its
    box drawing): units, activation and parameters of each dense layer, and the rate of
    each dropout layer."""
    import pandas as pd

    def row(layer) -> dict[str, Any]:
        if not hasattr(layer, "units"):  # Dropout: no weights, active in training only
            return {"layer": layer.name, "units": "", "activation":
                    f"drops each unit with probability {layer.rate:g} (training only)",
                    "weights + biases": 0}
        return {"layer": layer.name, "units": layer.units,
                "activation": layer.activation.__name__,
                "weights + biases": layer.count_params()}

    rows = [row(layer) for layer in model.layers]
    # A fixed id, not a random one: the same run gives the same page.
    return pd.DataFrame(rows).style.set_uuid("layers").hide(axis="index").format(thousands=",")


def record_sentence(results_path: str | None, record: dict[str, Any]) -> str:
    """One line on the results record instead of a raw dictionary on the page."""
    from pathlib import PurePath

    if not results_path:
        return ("No results record was written: `results_path` is not set (the runner sets "
                "it when it builds the report).")
    n = len(record["seeds"])
    return (f"This run's results record ({plural(n, 'seed')}, "
            f"{'with' if n == 1 else 'each with'} its metrics and per-epoch history) is saved as "
            f"`{PurePath(results_path).name}`.")
