"""The original assignment's conclusions and mistakes, re-tested with our runs.

Its numbers are single runs on the Kaggle "Digit Recognizer" digits with raw 0-255 pixels
(../shared/seed/original-assignment.md): they are what we test, not results of ours.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlplab import outcomes
from mlplab.results import Status
from mlplab.summary.records import (
    data_key,
    find_run,
    is_digits,
    main_records,
    plain_runs,
    seed_outcomes,
    split_per_seed,
)
from mlplab.summary.registry import BY_NAME, COMPARISONS, E20, ES, Page, net, net_label
from mlplab.summary.stats import Method, diff_fmt, fmt, interval_fmt, sentence, verdict
from mlplab.wording import pct, points, span

# The assignment's data: 42,000 Kaggle digits, 30% held out for testing; `fit` then kept
# the last 30% of the remaining 29,400 rows for validation (validation_split=0.3) ...
ASSIGNMENT_ROWS = 29_400
ASSIGNMENT_TRAIN = 20_580
# ... except in its 784-50-10, 20-epoch run, which also passed validation_data=(X_test,
# y_test): Keras then ignores validation_split and trains on all 29,400 rows.
ASSIGNMENT_TEST = 12_600
# Its fit calls left batch_size at Keras' default.
ASSIGNMENT_BATCH = 32


def on_digits(df: pd.DataFrame, records: list[dict[str, Any]]) -> bool:
    """Whether the runs the index compares classify digits, the assignment's task."""
    compared = main_records(df, records)
    return bool(compared) and all(is_digits(r) for r in compared)


def claims_table(df: pd.DataFrame, page: Page, digits: bool = True) -> pd.DataFrame:
    """Each claim beside our means over seeds, the interval of the difference, how often
    one beats the other on a seed, and a verdict within the claims' family. On other data
    than digits the assignment's column says its numbers are from digits."""
    rows = []
    theirs = "assignment (one run)" if digits else "assignment (one run, on digits)"
    for entry, runs in page.plan.claims(page.comparisons):
        claim, q = entry.claim, entry.pairs
        row = {"claim": claim.text,
               theirs: f"{fmt(q.metric, claim.assignment_a)} vs "
                       f"{fmt(q.metric, claim.assignment_b)}"}
        if runs is None:
            rows.append({**row, "ours (mean over seeds)": "runs not in this suite",
                         "verdict": "not tested"})
            continue
        c = page.get(*runs, q.metric)
        single = c.method == Method.SINGLE
        rows.append({**row,
                     "ours (mean over seeds)": f"{fmt(q.metric, c.mean_a)} vs "
                                               f"{fmt(q.metric, c.mean_b)}",
                     "difference (95% interval)": f"{diff_fmt(q.metric, c.diff)} ("
                     + ("one seed: no interval" if single
                        else interval_fmt(q.metric, c.low, c.high)) + ")",
                     "P(first > second) on a fresh seed": "" if single else _higher_cell(c),
                     "test": c.how, "verdict": verdict(c, claim.a_greater),
                     "runs": f"{runs[0]} vs {runs[1]}",
                     "note": " ".join(filter(None, [claim.note, _holm_note(c)]))})
    columns = ["claim", theirs, "ours (mean over seeds)", "difference (95% interval)",
               "P(first > second) on a fresh seed", "test", "verdict", "runs", "note"]
    return pd.DataFrame(rows, columns=columns).fillna("")


def _higher_cell(c: Any) -> str:
    if c.method == Method.PAIRED:
        return (f"{c.higher:.2f} ({c.wins} of {c.n_a} seeds"
                + (f", {c.ties} tied" if c.ties else "")
                + f"; 95% interval {c.higher_low:.2f} to {c.higher_high:.2f})")
    return f"{c.higher:.2f} (all pairs of seeds; unpaired: no interval)"


def _holm_note(c: Any) -> str:
    """Why a row whose interval excludes zero reads 'not resolved': the correction."""
    if c.resolved or not c.interval_excludes_zero or c.family_size < 2:
        return ""
    return (f"Its interval excludes zero, but its p-value, Holm-adjusted over the "
            f"{c.family_size} tests of {c.family}, is {c.p_adjusted:.3f}: not resolved.")


def _train_sizes(records: list[dict[str, Any]]) -> list[int]:
    return sorted({r["data"]["n_train"] for r in records if r["status"] == Status.OK})


def regime_paragraph(df: pd.DataFrame, records: list[dict[str, Any]]) -> str:
    """How the compared runs' data and training differ from the assignment's, so a verdict
    is read in its regime: 'not resolved' here cannot refute a single run made in another,
    and on another dataset than digits only a claim's direction carries over."""
    compared = main_records(df, records)
    if not compared:
        return ""
    sizes, sources = _train_sizes(compared), sorted({r["data"]["source"] for r in compared})
    e20 = plain_runs(df, epochs=20)
    fitted = ""
    if len(e20) and "train_accuracy" in e20:
        acc = e20["train_accuracy"]
        own = max(_train_sizes([r for r in compared if r["name"] in set(e20["run"])]))
        fitted = (f" Our 20-epoch networks (default settings) end with a training accuracy of "
                  f"{span([acc.min(), acc.max()], '{:.1%}')}"
                  + (f": they fit their training images almost perfectly. Extra capacity may "
                     f"show up differently there than with the assignment's "
                     f"{ASSIGNMENT_TRAIN / own:.0f} times more data, but that is a conjecture: "
                     f"no comparison on this page varies the data size together with width "
                     f"or depth."
                     if acc.median() > 0.99 and own < ASSIGNMENT_TRAIN else "."))
    task = ("" if on_digits(df, records) else
            f" Above all, the assignment's numbers were measured on handwritten digits; ours "
            f"on `{', '.join(sources)}`, a different task: only the direction of a claim can "
            f"be compared, not its numbers.")
    return (
        f"**Two different regimes.** Our networks train on {span(sizes, '{:,}')} images of "
        f"`{', '.join(sources)}` (pixels scaled unless a run says otherwise); the assignment's "
        f"trained on {ASSIGNMENT_TRAIN:,} Kaggle digits ({ASSIGNMENT_ROWS:,} for one run) "
        f"with raw pixels and tested on {ASSIGNMENT_TEST:,}.{_steps_sentence(compared)}"
        f"{fitted}{task} A verdict below "
        f"says whether the *direction* of a claim holds in our regime: *not resolved* cannot "
        f"refute the assignment's numbers, and *contradicted* means the direction fails here, "
        f"not that its single run was wrong."
    )


def _steps_sentence(compared: list[dict[str, Any]]) -> str:
    """An epoch is not a unit of training: what one is in optimiser steps, ours and the
    assignment's, so epoch counts are compared by the updates they stand for."""
    ours = sorted({outcomes.steps_per_epoch(r["data"]["n_train"], r["params"]["batch_size"])
                   for r in compared})
    theirs = outcomes.steps_per_epoch(ASSIGNMENT_TRAIN, ASSIGNMENT_BATCH)
    one_run = outcomes.steps_per_epoch(ASSIGNMENT_ROWS, ASSIGNMENT_BATCH)
    return (f" One epoch is {span(ours, '{:,}')} optimiser steps for our networks and was "
            f"{theirs:,} for the assignment's ({ASSIGNMENT_TRAIN:,} images in batches of "
            f"{ASSIGNMENT_BATCH}; {one_run:,} for its run on {ASSIGNMENT_ROWS:,}), so at an "
            f"equal number of epochs its networks took "
            f"{span([theirs / n for n in ours], '{:.0f}')} times as many steps.")


def smallest_claimed_gap() -> float:
    """The smallest accuracy difference the assignment based a conclusion on."""
    return min(abs(e.claim.assignment_a - e.claim.assignment_b) for e in COMPARISONS
               if e.claim and e.pairs.metric == "test_accuracy")


def _mean(df: pd.DataFrame, run: str, column: str) -> float:
    return float(df.loc[(df["run"] == run) & (df["status"] == Status.OK), column].mean())


def assignment_mistakes(df: pd.DataFrame, records: list[dict[str, Any]],
                        family: Page) -> list[str]:
    """The assignment's mistakes, each with what our runs show once it is fixed; bullets
    that rest on reasoning rather than a measurement say so."""
    out = []
    ce = find_run(df, **net([50, 50], **E20))
    if ce:
        loss = _mean(df, ce, "test_loss")
        out.append(
            f"**Missing minus sign.** It wrote the loss as Σ y log ŷ. Our 784-50-50-10 ends "
            f"with a test cross-entropy of {loss:.3f}; the unsigned formula gives −{loss:.3f}, "
            f"and *minimising* it would drive the true class's probability towards 0.")
    runs = family.runs("raw-pixels")
    if runs:
        sizes = _train_sizes([r for r in records if r["name"] in runs])
        raw = find_run(df, **net([50, 50], **E20, scale_inputs=False))
        assignment_raw = BY_NAME["depth-20-epochs"].claim.assignment_a
        q = BY_NAME["raw-pixels"].pairs
        out.append(
            "**Unscaled pixels.** " + sentence(family.get(*runs), q.label_a, q.label_b)
            + f" That is measured on {span(sizes, '{:,}')} training images. The assignment's "
            f"own raw-pixel 784-50-50-10 reached {pct(assignment_raw)} with {ASSIGNMENT_TRAIN:,}"
            f" digit images, so this is not what raw pixels cost it; what they cost depends on the "
            f"data and the number of steps"
            + (f" (ours reached {pct(_mean(df, raw, 'test_accuracy'))} on raw pixels)." if raw
               else "."))
    extra = ASSIGNMENT_ROWS / ASSIGNMENT_TRAIN - 1
    out.append(
        f"**`validation_data` with `validation_split`** *(reasoning from its code, not a "
        f"measurement)*. Its 784-50-10, 20-epoch run passed both. That run had no callbacks, "
        f"so the validation set never affected its training. The real effect: Keras ignored "
        f"`validation_split`, so that network trained on all {ASSIGNMENT_ROWS:,} training rows "
        f"while the others trained on {ASSIGNMENT_TRAIN:,}, {extra:.0%} more data. That "
        f"confounds its \"two hidden layers beat one after 20 epochs\". "
        + _split_sentence(records))
    out += _early_stopping_mistakes(df, records, family)
    where = ("the *Accuracy against cost* figure does" if len(plain_runs(df))
             else "the *All runs* table's training time per seed does")
    out.append(
        "**µs/step is not run time** *(reasoning)*. The µs/step Keras' progress bar prints "
        "at the end of an epoch is a mean over that epoch's steps: the time from the end of "
        "its first step to the end of the epoch (validation pass included), divided by the "
        "steps after the first (`Progbar._estimate_step_duration`, keras/src/utils/"
        "progbar.py). The first step, which in the first epoch also compiles the graph, is "
        "left out, so it is neither the time of one batch nor compilation. The assignment "
        "compared the largest of its 20 per-epoch figures for two runs (953 µs for "
        "784-30-30-10, 2 ms for 784-70-70-10) and concluded \"more than twice the time\". "
        "Both networks take the same number of steps per epoch, so the ratio of two such "
        "means is about the ratio of epoch times; the largest of 20 noisy means, though, "
        "says little about either. Compare time "
        f"measured around the whole training, as {where}.")
    ok = df[df["status"] == Status.OK]
    if ok["seed"].nunique() > 1:
        learned = _learned_runs(records)
        spread = ok[ok["run"].isin(learned)].groupby("run")["test_accuracy"].agg(
            lambda s: s.max() - s.min())
        if len(spread):
            rest = spread.drop(spread.idxmax())
            others = ("" if not len(rest) else f"; {points(rest.item())} in `{rest.index[0]}`"
                      if len(rest) == 1 else f"; median over runs {points(spread.median())}")
            out.append(
                f"**One run per setting.** Across our seeds, the same setting's test accuracy "
                f"varies by up to {points(spread.max())} (run `{spread.idxmax()}`{others}), "
                f"counting only runs whose every seed learned "
                f"(none collapsed, diverged, failed to learn or learned only partly). "
                f"That is how far **one run's** number can move with the seed; the assignment "
                f"drew conclusions from differences as small as "
                f"{points(smallest_claimed_gap(), 2)} between single runs. A mean over seeds "
                f"moves far less, and its interval says how far."
                + _ruled_out(family, records))
    return out


def _ruled_out(family: Page, records: list[dict[str, Any]]) -> str:
    """What the data rule out for the claim the assignment based on its smallest gap
    between accuracies: its interval, set beside the assignment's own gap (both to the
    hundredth of a point, so they read as the claims table's numbers do), and what the
    verdict, corrected within its family, lets the interval say."""
    entry = min((e for e in COMPARISONS if e.claim and e.pairs.metric == "test_accuracy"),
                key=lambda e: abs(e.claim.assignment_a - e.claim.assignment_b))
    runs = family.runs(entry.name)
    if not runs or (c := family.get(*runs)).method == Method.SINGLE:
        return ""
    gap = entry.claim.assignment_a - entry.claim.assignment_b
    where = ("inside it" if c.low <= gap <= c.high
             else "above it" if gap > c.high else "below it")
    compared = [r for r in records if r["name"] in runs]
    split = ("each seed drawing its own split of the data" if split_per_seed(compared)
             else "one fixed split of the data: another split could move it")
    if c.resolved:  # adjusted p < ALPHA, so the unadjusted interval excludes zero too
        wider = (f" (an interval for this comparison alone: corrected for the "
                 f"{c.family_size} tests of {c.family}, it would be wider)"
                 if c.family_size > 1 else "")
        read = (f"Differences outside that interval are what these seeds rule out{wider}, "
                f"for {split}.")
    elif c.interval_excludes_zero:
        read = (f"That interval is for this comparison alone: corrected for the "
                f"{c.family_size} tests of {c.family} (Holm-adjusted p = "
                f"{c.p_adjusted:.3f}), the difference is *not resolved*: these seeds do not "
                f"rule out even a zero difference (for {split}).")
    else:
        read = (f"The interval holds zero: these seeds cannot tell the two apart (for "
                f"{split}).")
    return (f" For example, for *{entry.claim.text}* (the smallest gap the assignment "
            f"claimed a difference from), the 95% interval of our mean difference runs from "
            f"{interval_fmt(c.metric, c.low, c.high, 2)}; the assignment's own gap, "
            f"{diff_fmt(c.metric, gap, digits=2)}, lies {where}. {read}")


def _learned_runs(records: list[dict[str, Any]]) -> set[str]:
    """Runs in which every seed learned (none collapsed, stalled, diverged or learned only
    partly): the spread of a run whose seeds land in different cases is not seed noise."""
    return {r["name"] for r in records if r["status"] == Status.OK
            and {o.verdict for o in seed_outcomes(r)} == {outcomes.Kind.LEARNED.value}}


def _split_sentence(records: list[dict[str, Any]]) -> str:
    """How the runs' data were split, true whether they share one data setting or not."""
    ok = [r for r in records if r["status"] == Status.OK]
    if split_per_seed(ok):
        return ("Here each seed draws its own split, and runs trained from the same seed "
                "share it (sizes in *Provenance*).")
    if len({data_key(r["params"]) for r in ok}) <= 1:
        return ("Here the split is made once and every run uses the same three parts (sizes "
                "in *Provenance*).")
    return ("Here each data setting is split once, and every comparison pairs runs that use "
            "the same three parts (each setting's sizes and runs in *Provenance*).")


def val_peaks(records: list[dict[str, Any]], run: str) -> tuple[float, float, float, float]:
    """Mean epoch of the lowest validation loss and of the highest validation accuracy over
    a run's seeds, and the mean validation accuracy at each of those epochs."""
    seeds = next(r["seeds"] for r in records if r["name"] == run)
    loss_at = [int(np.argmin(s["history"]["val_loss"])) for s in seeds]
    acc_at = [int(np.argmax(s["history"]["val_accuracy"])) for s in seeds]
    acc = [s["history"]["val_accuracy"] for s in seeds]
    return (float(np.mean(loss_at)) + 1, float(np.mean(acc_at)) + 1,
            float(np.mean([a[i] for a, i in zip(acc, loss_at, strict=True)])),
            float(np.mean([a[i] for a, i in zip(acc, acc_at, strict=True)])))


def _early_stopping_mistakes(df: pd.DataFrame, records: list[dict[str, Any]],
                             family: Page) -> list[str]:
    out = []
    for layers in ([50], [50, 50]):
        label = net_label(layers)
        stop = find_run(df, **net(layers, **ES))
        full = find_run(df, **net(layers, **E20))
        if not stop:
            continue
        ran, best = _mean(df, stop, "epochs_run"), _mean(df, stop, "best_epoch")
        patience = ES["early_stopping_patience"]
        text = (f"**Early stopping ({label}).** With patience {patience}, a run that stops has "
                f"run exactly {patience} epochs past its lowest validation loss, by "
                f"construction: here it stopped after {ran:.1f} epochs on average, best epoch "
                f"{best:.1f}. That is not a finding; what stopping costs or saves is measured "
                f"in *Early stopping* below.")
        if full:
            c = family.get(full, stop)
            loss_epoch, acc_epoch, acc_at_loss, acc_best = val_peaks(records, full)
            if c.resolved and c.diff > 0 and acc_epoch > loss_epoch + 1:
                text += (f" Why it costs {points(c.diff)} here: in the 20-epoch runs "
                         f"validation loss is lowest around epoch {loss_epoch:.1f}, but "
                         f"validation accuracy keeps improving until around epoch "
                         f"{acc_epoch:.1f} ({pct(acc_at_loss)} → {pct(acc_best)}). The loss "
                         f"rises because the network grows more confident on the images it "
                         f"gets wrong while it still gets more images right; stopping on the "
                         f"loss stops before accuracy peaks.")
        out.append(text)
    return out
