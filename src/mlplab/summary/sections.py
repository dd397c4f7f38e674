"""The index's sections: generated sentences plus what each figure needs.

Each section finds its runs by parameters, so a renamed or partial suite still gets what it
has. Every comparison any section states is declared in ``page_pairs`` first, so the whole
page is one Holm family.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from mlplab import outcomes, params
from mlplab.results import Status
from mlplab.summary import claims
from mlplab.summary.claims import E1, E20, ES, Question, net
from mlplab.summary.records import (
    data_key,
    describe_data,
    find_run,
    is_digits,
    main_records,
    plain_runs,
    seed_outcomes,
)
from mlplab.summary.stats import ALPHA, Family, Method, sentence
from mlplab.wording import (
    join,
    layers_label,
    pct,
    pct_span,
    plural,
    points,
    seconds,
    seeds_phrase,
    span,
)


def bullets(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


DEPTH_EPOCH = [
    Question(net([50, 50], **E1), net([50], **E1), "784-50-50-10 after 1 epoch",
             "784-50-10 after 1 epoch"),
    Question(net([50, 50], **E20), net([50], **E20), "784-50-50-10 after 20 epochs",
             "784-50-10 after 20 epochs"),
    Question(net([50, 50], **E20), net([50, 50], **E1), "784-50-50-10 after 20 epochs",
             "after 1 epoch"),
    Question(net([50], **E20), net([50], **E1), "784-50-10 after 20 epochs", "after 1 epoch"),
]


def width_questions(df: pd.DataFrame) -> list[Question]:
    """Neighbouring widths of the plain 20-epoch runs, at each depth present."""
    plain = plain_runs(df)
    out = []
    for depth in sorted(plain["depth"].unique()):
        widths = sorted(plain.loc[plain["depth"] == depth, "width"].unique())
        for narrow, wide in zip(widths, widths[1:], strict=False):
            a, b = [int(wide)] * int(depth), [int(narrow)] * int(depth)
            out.append(Question(net(a, **E20), net(b, **E20), layers_label(a), layers_label(b)))
    return out


def early_stopping_questions() -> list[Question]:
    out = []
    for layers in ([50], [50, 50]):
        label = layers_label(layers)
        out += [Question(net(layers, **E20), net(layers, **ES),
                         f"{label} with 20 full epochs", "with early stopping"),
                Question(net(layers, **ES, restore_best_weights=True), net(layers, **ES),
                         f"{label} restoring the best epoch", "keeping the last")]
    return out


LOSS_QUESTION = Question(net([50, 50], **E20),
                         net([50, 50], **E20, loss="mean_squared_error"),
                         "Cross-entropy", "MSE (both on scaled pixels)")


def page_pairs(df: pd.DataFrame) -> list[tuple[str, str, str]]:
    """Every (run a, run b, metric) the index compares: one family for the correction."""
    questions = DEPTH_EPOCH + width_questions(df) + early_stopping_questions() + [
        LOSS_QUESTION]
    pairs = [(*runs, q.metric) for q in questions if (runs := q.runs(df))]
    return pairs + claims.claim_pairs(df) + claims.mistake_pairs(df)


def page_family(df: pd.DataFrame) -> Family:
    return Family(df, page_pairs(df))


def answer(df: pd.DataFrame, family: Family, questions: list[Question]) -> list[str]:
    return [sentence(family.get(*runs, q.metric), q.label_a, q.label_b, family.size)
            for q in questions if (runs := q.runs(df))]


def _seed_counts(ok: pd.DataFrame) -> str:
    """'Each setting was trained from 10 seeds.', or the range when settings differ."""
    counts = sorted(ok.groupby("run")["seed"].nunique().unique())
    if len(counts) == 1:
        return f"Each setting was trained from {plural(int(counts[0]), 'seed')}."
    return (f"Settings were trained from {counts[0]} to {plural(int(counts[-1]), 'seed')} "
            f"(each run's count is in *All runs*).")


def _correction(family: Family) -> str:
    """How the page's p-values are read: none, one uncorrected, or Holm over several; the
    comparisons without a test (a single seed on a side) are neither counted nor corrected."""
    judged = family.tested
    untested = len(family.by_key) - len(judged)
    if not judged:
        return ("With a single seed on one side of every comparison this page states, no "
                "difference between settings can be judged; each says so." if untested
                else "This suite has none of the pairs of runs the page compares.")
    paired = ", as every comparison here did" if {c.method for c in judged} == {
        Method.PAIRED} else ""
    one = untested == 1
    single = (f" {plural(untested, 'comparison')} with a single seed on one side "
              f"{'has' if one else 'have'} no interval and no test, so "
              f"{'it is' if one else 'they are'} left out of the count and the correction "
              f"below." if untested else "")
    if len(judged) == 1:
        rule = (f"The page tests one comparison, so its p-value needs no correction: the "
                f"difference is called *resolved* (and a claim *supported* or "
                f"*contradicted*) only when p is below {ALPHA}.")
    else:
        rule = (f"The page tests {len(judged)} comparisons at once, so their p-values are "
                f"**Holm-adjusted**: a difference is called *resolved* (and a claim "
                f"*supported* or *contradicted*) only when its adjusted p is below {ALPHA}.")
    return (
        f"A difference between two settings is the mean over seeds with a 95% t-interval. "
        f"When both used the same seeds{paired}, it is a **paired** interval over the "
        f"per-seed differences (trained from the same seed, a 1-epoch run *is* epoch 1 of a "
        f"20-epoch run, so the two are not independent); otherwise Welch's.{single} {rule} "
        f"*Not resolved* means these seeds cannot tell; it does not mean no difference.")


def statistics_note(df: pd.DataFrame, records: list[dict[str, Any]], family: Family) -> str:
    """How to read every interval on the page, and what they leave out."""
    ok = df[df["status"] == Status.OK]
    compared = main_records(df, records)
    if not compared:
        return ""
    n_test = sorted({r["data"]["n_test"] for r in compared})
    # A typical network the page compares: the median seed among those that learned, so a
    # collapsed run or a one-seed run does not set the scale.
    found = [o for r in compared for o in seed_outcomes(r)]
    learned = [o.test_accuracy for o in found if o.verdict == outcomes.Kind.LEARNED]
    typical = float(np.median(learned or [o.test_accuracy for o in found]))
    which = ("the median network that learned" if learned
             else "the median network, none of which learned fully")
    se = np.sqrt(typical * (1 - typical) / min(n_test))
    guide = (
        f" As a rough guide, a supported difference smaller than about twice that "
        f"({points(2 * se)}) says these networks differ on these images, and a fresh test set "
        f"of the same size could shift it. Only a rough guide: two networks scored on the same "
        f"images are right and wrong on many of the same ones, so the uncertainty of their "
        f"difference depends on the images they disagree on (McNemar's test counts those) and "
        f"can be much smaller than that of one accuracy." if family.tested else "")
    return (
        f"**How to read the statistics.** {_seed_counts(ok)} {_correction(family)}\n\n"
        f"What the intervals measure: the seed-to-seed noise of training (initial weights and "
        f"batch order), scored on **one fixed test set of {span(n_test, '{:,}')} images**. "
        f"They leave out which images happened to land in the test set: at {pct(typical)} "
        f"accuracy ({which}) the binomial standard error of one accuracy on "
        f"{min(n_test):,} images is about {points(se)}.{guide}"
    )


def other_data_sentence(df: pd.DataFrame, records: list[dict[str, Any]]) -> str:
    """Which runs were trained or tested on other data than the runs compared, and why the
    page leaves them out of every comparison; empty when every run shares one data setting."""
    compared = main_records(df, records)
    if not compared:
        return ""
    names = {r["name"] for r in compared}
    others: dict[str, list[str]] = {}
    for r in records:
        if r["status"] == Status.OK and r["name"] not in names:
            others.setdefault(describe_data(r), []).append(f"`{r['name']}`")
    if not others:
        return ""
    n_other = sum(map(len, others.values()))
    groups = join([f"{join(runs)} ({data})" for data, runs in others.items()], "and")
    by_setting = Counter(data_key(r["params"]) for r in records if r["status"] == Status.OK)
    tie = list(by_setting.values()).count(len(compared)) > 1
    why = ("the first in the suite of the data settings that tie for the most runs" if tie
           else "the data setting most runs share")
    return (f"**Runs on other data.** Every comparison on this page pairs runs trained and "
            f"tested on the same images: the {plural(len(compared), 'run')} on "
            f"{describe_data(compared[0])}, {why}. "
            f"{'Run' if n_other == 1 else 'Runs'} {groups} used other data, so "
            f"{'it is' if n_other == 1 else 'they are'} listed under *All runs* but left out "
            f"of every comparison: a difference between runs on different data would mix the "
            f"data's effect with the setting's.")


def data_sentence(records: list[dict[str, Any]]) -> str:
    """What the suite's networks learn to classify, from its records' datasets and classes."""
    tasks = {}
    for r in records:
        if r["status"] == Status.OK:
            d = r["data"]
            names = d["class_names"]
            tasks[d["source"]] = (
                f"handwritten digits (`{d['source']}`)" if is_digits(r)
                else f"`{d['source']}` images into {len(names)} classes ({join(names)})")
    if len(tasks) > 1:  # each dataset with its own classes, never one list read as shared
        return "The runs classify " + "; ".join(tasks.values()) + "."
    return f"The networks classify {next(iter(tasks.values()))}." if tasks else ""


def depth_epoch_section(df: pd.DataFrame, summary: pd.DataFrame,
                        family: Family) -> tuple[list[str], pd.DataFrame]:
    runs = {r for q in DEPTH_EPOCH for r in (q.runs(df) or ())}
    chosen = summary[summary["run"].isin(runs)].sort_values(["epochs", "architecture"])
    return answer(df, family, DEPTH_EPOCH), chosen


def width_section(df: pd.DataFrame, summary: pd.DataFrame,
                  family: Family) -> tuple[list[str], dict[str, pd.DataFrame]]:
    """Neighbouring widths compared at each depth; per-depth summaries for the figure."""
    plain = plain_runs(df)
    by_depth = {}
    for depth in sorted(plain["depth"].unique()):
        widths_of = plain.loc[plain["depth"] == depth, ["run", "width"]].drop_duplicates()
        s = summary.merge(widths_of, on="run").sort_values("width")
        if len(s) >= 2:
            by_depth[plural(int(depth), "hidden layer")] = s
    return answer(df, family, width_questions(df)), by_depth


def cost_sentence(plain_summary: pd.DataFrame, df: pd.DataFrame | None = None) -> str:
    """Whether training time followed the parameter count, what one network's time is, and
    (from runs that differ only in epochs) how much of it does not grow with the epochs.
    Claims only what these numbers show."""
    if len(plain_summary) < 2:
        return ""
    s = plain_summary.sort_values("param_count")
    times = s["train_seconds"].to_numpy()
    smallest, largest = s.iloc[0], s.iloc[-1]
    head = (f"From the smallest network ({smallest['architecture']}, "
            f"{int(smallest['param_count']):,} parameters, {seconds(smallest['train_seconds'])}) "
            f"to the largest ({largest['architecture']}, {int(largest['param_count']):,}, "
            f"{seconds(largest['train_seconds'])})")
    order = (", training time grows with every step up in size." if np.all(np.diff(times) > 0)
             else ", training time does not follow the parameter count in order.")
    return head + order + ("" if df is None else _time_share(df, s) + _fixed_cost(df))


def _time_share(df: pd.DataFrame, summary: pd.DataFrame) -> str:
    """What 'training time per network' is: a share of a joint fit, or a fit of its own."""
    rows = df[df["run"].isin(summary["run"]) & (df["status"] == Status.OK)]
    fast = set(rows["fast_training"])
    if fast == {True}:
        seeds = span(sorted(rows.groupby("run")["seed"].nunique().unique()))
        return (f" Each time is one network's share of its run: the run trains its {seeds} "
                f"seeds together and its wall time is split between them.")
    return " Each time is one network's own Keras fit." if fast == {False} else ""


def _fixed_cost(df: pd.DataFrame) -> str:
    """Runs that differ only in epochs (1 and 20) split a network's time into a part per
    epoch and a part paid once, whatever the epochs: (t20 − t1) / 19 and t1 minus that."""
    same = [c for c in params.defaults() if c in df.columns and c != "epochs"] + ["seed"]
    long_ = plain_runs(df, epochs=20)
    parts = []
    for _, a in plain_runs(df, epochs=1).groupby("run", sort=False):
        key = a[same].sort_values("seed").astype(str).to_numpy().tolist()
        match = [b for _, b in long_.groupby("run", sort=False)
                 if b[same].sort_values("seed").astype(str).to_numpy().tolist() == key]
        if len(match) != 1:
            continue
        t1, t20 = float(a["train_seconds"].mean()), float(match[0]["train_seconds"].mean())
        per_epoch = (t20 - t1) / 19
        fixed = t1 - per_epoch
        if per_epoch > 0 and fixed > 0:
            parts.append((a["architecture"].iloc[0], t1, t20, per_epoch, fixed))
    if not parts:
        return ""
    each = "; ".join(f"{name} took {t1:.2f} s per network for 1 epoch and {t20:.2f} s for "
                     f"20, so about {per_epoch:.3f} s per epoch and {fixed:.2f} s paid once"
                     for name, t1, t20, per_epoch, fixed in parts)
    shares = [round(100 * fixed / t20) for _, _, t20, _, fixed in parts]
    return (f" Runs that differ only in epochs split that time into a part per epoch and a "
            f"part paid once: {each}. The part paid "
            f"once (the time that does not grow with the epochs) is "
            f"{span(shares)}% of a 20-epoch network's time here.")


def early_stopping_section(df: pd.DataFrame, family: Family) -> tuple[pd.DataFrame, list[str]]:
    """Epochs run, best epoch, accuracy and time of early-stopped runs (means over seeds,
    written for reading), and what stopping costs."""
    ok = df[df["status"] == Status.OK]
    es = ok[ok["early_stopping_patience"].notna()]
    rows = [{"run": run, "network": g["architecture"].iloc[0],
             "patience": f"{int(g['early_stopping_patience'].iloc[0])}",
             "restores best weights": "Yes" if g["restore_best_weights"].iloc[0] else "No",
             "seeds": f"{len(g)}",
             "epochs run": f"{g['epochs_run'].mean():.1f}",
             "best epoch": f"{g['best_epoch'].mean():.1f}",
             "test accuracy": pct(g["test_accuracy"].mean()),
             "training time per network": seconds(g["train_seconds"].mean())}
            for run, g in es.groupby("run", sort=False)]
    return pd.DataFrame(rows), answer(df, family, early_stopping_questions())


def loss_section(df: pd.DataFrame, records: list[dict[str, Any]],
                 family: Family) -> tuple[dict[str, str], list[str]]:
    """Cross-entropy vs MSE on scaled and raw inputs: which learned, which collapsed."""
    variants = {}
    for loss, loss_label in (("categorical_crossentropy", "cross-entropy"),
                             ("mean_squared_error", "MSE")):
        for scaled in (True, False):
            run = find_run(df, **net([50, 50], **E20, loss=loss, scale_inputs=scaled))
            if run:
                variants[f"{loss_label}, {'scaled' if scaled else 'raw'} inputs"] = run
    if len(variants) < 2:  # one variant compares nothing: no section
        return {}, []
    by_name = {r["name"]: r for r in records}
    lines = [f"**{label}**: " + fate(by_name[run]) for label, run in variants.items()]
    runs = LOSS_QUESTION.runs(df)
    if runs:
        c = family.get(*runs)
        lines.append(sentence(c, LOSS_QUESTION.label_a, LOSS_QUESTION.label_b, family.size))
        if abs(c.diff) < 0.01:
            lines.append(
                "On scaled inputs the two losses end close. That fits the theory: MSE's "
                "weakness is its vanishing gradient when the softmax saturates, which scaled "
                "inputs avoid. (Nielsen, ch. 3, explains that slowdown and argues for "
                "cross-entropy; Hui & Belkin, 2021, find square loss competitive, but applied "
                "to the logits without a softmax, which is not what Keras' MSE on a softmax "
                "output does.)")
    return variants, lines


def loss_intro(variants: dict[str, str]) -> str:
    """What the loss section shows, naming only the variants this suite has."""
    mse = any(label.startswith("MSE") for label in variants)
    return (f"The same network (784-50-50-10, 20 epochs), trained "
            f"{'with ' if len(variants) == 1 else 'in each of these ways: '}"
            f"{join([f'*{label}*' for label in variants])}."
            + (" The master notebook explains why MSE on a saturated softmax gets almost no "
               "gradient." if mse else ""))


def fate(record: dict[str, Any]) -> str:
    """What happened to a run's seeds, in one sentence: mean accuracy and each case found;
    seeds that learned only partly are named with their accuracy."""
    k = len(record["data"]["class_names"])
    seeds = record["seeds"]
    found = seed_outcomes(record)
    mean = float(np.mean([o.test_accuracy for o in found]))
    cases = []
    for verdict in outcomes.VERDICTS:
        hit = [(s["seed"], o) for s, o in zip(seeds, found, strict=True)
               if o.verdict == verdict]
        if hit:
            who = "every seed" if len(hit) == len(seeds) else seeds_phrase([s for s, _ in hit])
            to = ""
            if hit[0][1].kind == outcomes.Kind.COLLAPSED:
                sizes = sorted({len(o.collapsed_to) for _, o in hit})
                to = " to predicting " + join(
                    ["one class" if n == 1 else f"only {n} classes" for n in sizes], "or")
            elif verdict == outcomes.Kind.UNJUDGED:
                to = (f" (test accuracy {pct_span([o.test_accuracy for _, o in hit])} on "
                      f"{hit[0][1].n_test:,} test images, too few to tell whether it learned)")
            elif verdict == outcomes.PARTLY:
                to = (f" ({pct_span([o.test_accuracy for _, o in hit])} test accuracy, less "
                      f"than halfway from chance to 100%)")
            cases.append(f"{who} {verdict}{to}")
    collapsed = [o for o in found if o.kind == outcomes.Kind.COLLAPSED]
    early = [o for o in collapsed if o.learned_then_fell_back]
    peaks = pct_span([o.peak_train_accuracy for o in early]) if early else ""
    detail = (f"; {plural(len(early), 'collapsed seed')} first learned a little (training "
              f"accuracy peaking at {peaks}) and then fell back" if early else "")
    return (f"{pct(mean)} mean test accuracy (chance is {pct(1 / k)}); {join(cases)}"
            f"{detail}.")
