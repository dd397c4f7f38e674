"""The index's sections: generated sentences plus what each figure needs.

Each section states the comparisons ``registry.COMPARISONS`` gives it, found by their runs'
parameters, so a renamed or partial suite still gets what it has. Every comparison is
computed once, in its family (the assignment's claims, or exploratory), before any section
states it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from mlplab import outcomes, params
from mlplab.results import Status
from mlplab.summary.records import (
    architecture,
    data_key,
    describe_data,
    find_run,
    is_digits,
    main_records,
    plain_runs,
    run_value,
    seed_outcomes,
    split_per_seed,
)
from mlplab.summary.registry import (
    BASELINE,
    BY_NAME,
    COMPARISONS,
    E20,
    FIT_METRICS,
    SECTIONS,
    Entry,
    Page,
    Section,
    net,
    net_label,
)
from mlplab.summary.stats import (
    ALPHA,
    Comparison,
    FamilyName,
    Method,
    diff_fmt,
    fmt,
    interval_fmt,
    metric_words,
    sentence,
)
from mlplab.wording import (
    join,
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


def page_family(df: pd.DataFrame, comparisons: tuple[Entry, ...] = COMPARISONS,
                sections: tuple[Section, ...] = SECTIONS) -> Page:
    """Every comparison the index states, computed once and corrected in its family."""
    return Page(df, comparisons, sections)


def answer(family: Page, section: str) -> list[str]:
    """A sentence for each comparison of ``section``, in the registry's order."""
    return [sentence(family.get(*s.key), s.question.label_a, s.question.label_b)
            for s in family.plan.in_section(section)]


# Sections the summary notebook shows with a cell of their own (their figures differ).
OWN_CELLS = frozenset({"mistakes", "depth-epochs", "width", "early-stopping", "loss",
                       "regularisation"})


def other_sections(family: Page) -> list[tuple[Section, list[str], list[str]]]:
    """Sections of the registry that the summary notebook has no cell of its own for, with
    their sentences and runs: a new section is shown without editing the notebook."""
    out = []
    for section in family.sections:
        stated = family.plan.in_section(section.name)
        if section.name not in OWN_CELLS and stated:
            runs = list(dict.fromkeys(r for s in stated for r in s.runs))
            out.append((section, answer(family, section.name), runs))
    return out


def _seed_counts(ok: pd.DataFrame) -> str:
    """'Each setting was trained from 10 seeds.', or the range when settings differ."""
    counts = sorted(ok.groupby("run")["seed"].nunique().unique())
    if len(counts) == 1:
        return f"Each setting was trained from {plural(int(counts[0]), 'seed')}."
    return (f"Settings were trained from {counts[0]} to {plural(int(counts[-1]), 'seed')} "
            f"(each run's count is in *All runs*).")


def _family_rule(name: FamilyName, tests: int) -> str:
    """How one family's p-values are read: none, one uncorrected, or Holm over several."""
    what = ("the assignment's claims" if name == FamilyName.CLAIMS
            else "the comparisons this report adds (exploratory)")
    if tests == 1:
        return f"{what}: one test, whose p-value needs no correction"
    return f"{what}: {tests} tests, whose p-values are **Holm-adjusted** together"


def _correction(family: Page) -> str:
    """How the page's p-values are read, family by family; the comparisons without a test
    (a single seed on a side) are neither counted nor corrected."""
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
              f"{'it is' if one else 'they are'} left out of the counts and the corrections "
              f"below." if untested else "")
    tested = {name: len(cs) for name, cs in family.families.items() if cs}
    rules = [_family_rule(name, n) for name, n in tested.items()]
    if len(rules) == 1:
        families = (f"Every test on this page belongs to one family, {rules[0]}.")
    else:
        families = (
            f"The tests fall into two families, each corrected on its own: {rules[0]}; and "
            f"{rules[1]}. The claims are what this report set out to re-test; the exploratory "
            f"comparisons are added questions, and adding one must not change a claim's "
            f"verdict. Each verdict names its family.")
    return (
        f"A difference between two settings is the mean over seeds with a 95% t-interval. "
        f"When both used the same seeds{paired}, it is a **paired** interval over the "
        f"per-seed differences (trained from the same seed, a 1-epoch run *is* epoch 1 of a "
        f"20-epoch run, so the two are not independent); otherwise Welch's.{single} "
        f"{families} A difference is called *resolved* (and a claim *supported* or "
        f"*contradicted*) only when its p-value, adjusted within its family, is below "
        f"{ALPHA}. *Not resolved* means these seeds cannot tell; it does not mean no "
        f"difference. Beside each interval, **P(A > B)** (Bouthillier et al., 2021) is the "
        f"probability that the first setting comes out higher than the second on a fresh "
        f"seed: the share of paired seeds on which it did (a tie counting half), with an "
        f"exact binomial 95% interval. A difference can be resolved while P(A > B) stays "
        f"well below 1: the mean moved, yet on one seed either may win.")


def statistics_note(df: pd.DataFrame, records: list[dict[str, Any]], family: Page) -> str:
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
    head = f"**How to read the statistics.** {_seed_counts(ok)} {_correction(family)}\n\n"
    if split_per_seed(compared):
        return head + (
            f"What the intervals measure: the seed-to-seed spread of training (initial "
            f"weights and batch order) *and* of the data: each seed draws its own stratified "
            f"split into training, validation and test sets ({span(n_test, '{:,}')} test "
            f"images), and two settings trained from the same seed share it, so they stay "
            f"paired. The intervals therefore also cover which images happened to land in "
            f"each set (Bouthillier et al., 2021, find this a main source of variance).")
    return head + (
        f"What the intervals measure: the seed-to-seed noise of training (initial weights and "
        f"batch order), for **one fixed split** of the data, scored on **one fixed test set "
        f"of {span(n_test, '{:,}')} images**. They leave out which images happened to land "
        f"in each set: at {pct(typical)} accuracy ({which}) the binomial standard error of "
        f"one accuracy on {min(n_test):,} images is about {points(se)}.{guide}"
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


def depth_epoch_section(summary: pd.DataFrame,
                        family: Page) -> tuple[list[str], pd.DataFrame]:
    runs = {r for s in family.plan.in_section("depth-epochs") for r in s.runs}
    chosen = summary[summary["run"].isin(runs)].sort_values(["epochs", "architecture"])
    return answer(family, "depth-epochs"), chosen


def width_section(df: pd.DataFrame, summary: pd.DataFrame,
                  family: Page) -> tuple[list[str], dict[str, pd.DataFrame]]:
    """Neighbouring widths compared at each depth; per-depth summaries for the figure."""
    plain = plain_runs(df)
    by_depth = {}
    for depth in sorted(plain["depth"].unique()):
        widths_of = plain.loc[plain["depth"] == depth, ["run", "width"]].drop_duplicates()
        s = summary.merge(widths_of, on="run").sort_values("width")
        if len(s) >= 2:
            by_depth[plural(int(depth), "hidden layer")] = s
    return answer(family, "width"), by_depth


def cost_sentence(plain_summary: pd.DataFrame, df: pd.DataFrame | None = None) -> str:
    """Whether training time followed the parameter count, what one network's time is, and
    how far single timings of the same work differ. Claims only what these numbers show."""
    if len(plain_summary) < 2:
        return ""
    s = plain_summary.sort_values("param_count")
    smallest, largest = s.iloc[0], s.iloc[-1]
    head = (f"From the smallest network ({smallest['architecture']}, "
            f"{int(smallest['param_count']):,} parameters, {seconds(smallest['train_seconds'])}) "
            f"to the largest ({largest['architecture']}, {int(largest['param_count']):,}, "
            f"{seconds(largest['train_seconds'])})")
    # One time per run, its seeds trained together: no repeats, so no spread to say whether
    # one network trains faster than another of similar size; no order is claimed.
    order = (". Each run's time is measured once, without repeats that would show its spread, "
             "so this page claims no order between networks by training time.")
    return head + order + ("" if df is None else _time_share(df, s) + _same_work(df))


def _time_share(df: pd.DataFrame, summary: pd.DataFrame) -> str:
    """What 'training time per network' is: a share of a joint fit, or a fit of its own."""
    rows = df[df["run"].isin(summary["run"]) & (df["status"] == Status.OK)]
    fast = set(rows["fast_training"])
    counts = sorted(rows.groupby("run")["seed"].nunique().unique())
    if fast == {True} and counts == [1]:
        return " Each run trains one seed, so each time is that run's whole wall time."
    if fast == {True}:
        return (f" Each time is one network's share of its run: the run trains its "
                f"{span(counts)} seeds together and its wall time is split between them.")
    return " Each time is one network's own Keras fit." if fast == {False} else ""


# Settings that change neither a network's size nor its number of steps: runs that differ
# only in these do the same work, so their times show how far one timing can be trusted.
SAME_WORK = ("loss", "scale_inputs", "optimizer", "learning_rate")


def _same_work(df: pd.DataFrame) -> str:
    """How far single timings of the same work differ: runs from the same seeds that
    differ only in ``SAME_WORK``. (Two single timings, of 1 and 20 epochs, were once split
    into a part per epoch and a part paid once: this spread is why no longer.)"""
    ok = df[df["status"] == Status.OK]
    same = [c for c in params.defaults() if c in ok.columns and c not in SAME_WORK]
    groups: dict[str, list[tuple[str, float, str]]] = {}
    for run, g in ok.groupby("run", sort=False):
        key = str(g[same].iloc[0].astype(str).tolist()) + str(sorted(g["seed"]))
        groups.setdefault(key, []).append(
            (run, float(g["train_seconds"].mean()),
             f"{g['architecture'].iloc[0]}, {plural(int(g['epochs'].iloc[0]), 'epoch')}"))
    spread = [g for g in groups.values() if len(g) > 1]
    if not spread:
        return ""
    widest = max(spread, key=lambda g: max(t for _, t, _ in g) - min(t for _, t, _ in g))
    times = [t for _, t, _ in widest]
    return (f" How far one timing can be trusted: the same network, trained for the same "
            f"steps from the same seeds ({widest[0][2]}) in runs that differ only in the loss, "
            f"the input scaling or the optimiser ({join([f'`{r}`' for r, _, _ in widest])}), "
            f"took from {min(times):.2f} to {max(times):.2f} s per network.")


def early_stopping_section(df: pd.DataFrame, records: list[dict[str, Any]],
                           family: Page) -> tuple[pd.DataFrame, list[str]]:
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
    quicker = converge_words(family, records)
    return pd.DataFrame(rows), answer(family, "early-stopping") + ([quicker] if quicker else [])


def converge_words(family: Page, records: list[dict[str, Any]]) -> str:
    """What the assignment's "converge quicker" was measured by here (epochs run: the best
    epoch plus the patience) and what else the word can mean: where each network's mean
    validation-loss curve over 20 full epochs is lowest, and how low."""
    runs = family.runs("stopping-quicker")
    if not runs:
        return ""
    df = family.df
    patience = int(run_value(df, runs[0], "early_stopping_patience"))
    text = (f"**What \"converge quicker\" measured.** Under early stopping, epochs run is "
            f"the epoch of the lowest validation loss plus the patience ({patience}): it "
            f"counts when validation loss stopped improving, not how low it got or how "
            f"accurate the network was then. \"Converge\" can also mean reaching the "
            f"lowest loss sooner *and* no higher.")
    full = [find_run(df, **net(layers, **E20)) for layers in ([50, 50], [50])]
    if not all(full):
        return text
    by_name = {r["name"]: r for r in records}
    lowest, seeds = [], set()
    for run in full:
        curves = [s["history"]["val_loss"] for s in by_name[run]["seeds"]]
        n = min(len(c) for c in curves)
        mean = np.mean([c[:n] for c in curves], axis=0)
        lowest.append((int(np.argmin(mean)) + 1, round(float(mean.min()), 3)))
        seeds.add(len(curves))
    (e2, v2), (e1, v1) = lowest  # compared as shown, to three decimals
    order = ("earlier" if e2 < e1 else "later" if e2 > e1 else "at the same epoch")
    level = ("lower" if v2 < v1 else "higher" if v2 > v1 else "equal at three decimals")
    curve = ("validation-loss curve of the one seed" if seeds == {1} else
             "mean validation-loss curve over seeds")
    return text + (
        f" Over 20 full epochs, the {curve} is lowest at epoch {e2} ({v2:.3f}) for "
        f"{architecture(by_name[full[0]])} and at epoch {e1} ({v1:.3f}) for "
        f"{architecture(by_name[full[1]])}: the deeper network's "
        f"minimum comes {order} and is {level} (curves' minima, without intervals).")


def loss_section(df: pd.DataFrame, records: list[dict[str, Any]],
                 family: Page) -> tuple[dict[str, str], list[str]]:
    """Cross-entropy vs MSE on scaled and raw inputs, and with plain SGD: which learned,
    which collapsed, and what each optimiser shows."""
    variants = {}
    for loss, loss_label in (("categorical_crossentropy", "cross-entropy"),
                             ("mean_squared_error", "MSE")):
        for scaled in (True, False):
            run = find_run(df, **net([50, 50], **E20, loss=loss, scale_inputs=scaled))
            if run:
                variants[f"{loss_label}, {'scaled' if scaled else 'raw'} inputs"] = run
    sgd = family.runs("loss-sgd")
    if sgd:  # the other variants train with Adam: said once there are two optimisers
        variants = {f"{label}, Adam": run for label, run in variants.items()}
        rate = f"{float(run_value(df, sgd[0], 'learning_rate')):g}"
        variants.update({f"cross-entropy, plain SGD (learning rate {rate})": sgd[0],
                         f"MSE, plain SGD (learning rate {rate})": sgd[1]})
    if len(variants) < 2:  # one variant compares nothing: no section
        return {}, []
    by_name = {r["name"]: r for r in records}
    lines = [f"**{label}**: " + fate(by_name[run]) for label, run in variants.items()]
    adam = family.runs("loss-adam")
    for name, runs in (("loss-adam", adam), ("loss-sgd", sgd)):
        if runs:
            q = BY_NAME[name].pairs
            lines.append(sentence(family.get(*runs), q.label_a, q.label_b))
    if adam or sgd:
        raw_mse = variants.get(next((label for label in variants
                                     if label.startswith("MSE, raw inputs")), ""))
        lines.append(_optimisers(family, by_name, adam, sgd,
                                 by_name[raw_mse] if raw_mse else None))
    return variants, lines


def still_improving(record: dict[str, Any]) -> bool:
    """Whether a run's mean validation loss over seeds is still falling at its last epoch
    (lowest there, after more than one epoch): its accuracy then is where training was cut
    off, not where it would settle."""
    curves = [s["history"]["val_loss"] for s in record["seeds"]]
    n = min(len(c) for c in curves)
    mean = np.mean([c[:n] for c in curves], axis=0)
    return n > 1 and int(np.argmin(mean)) == n - 1


def _optimisers(family: Page, by_name: dict[str, dict[str, Any]],
                adam: tuple[str, str] | None, sgd: tuple[str, str] | None,
                raw_mse: dict[str, Any] | None = None) -> str:
    """What each optimiser shows about cross-entropy against MSE, and what the runs do not
    measure: the vanishing-gradient argument is made for plain gradient descent; Adam
    rescales its steps, which weakens it without voiding it (a gradient far below Adam's
    constant still gives a tiny step), and a raw-pixel MSE run that failed under Adam is
    named. No cause is asserted; a difference is said to be one after the epochs run."""
    def outcome(runs: tuple[str, str], who: str) -> str:
        c = family.get(*runs)
        if c.method == Method.SINGLE:
            return f"with {who}, one seed cannot tell the two losses apart"
        if not c.resolved:
            return f"with {who}, the two losses are not told apart at this number of seeds"
        order = (("cross-entropy", runs[0]), ("MSE", runs[1]))
        better = order[0][0] if c.diff > 0 else order[1][0]
        epochs = int(run_value(family.df, runs[0], "epochs"))
        text = (f"with {who}, {better} is higher by {points(abs(c.diff))} after "
                f"{plural(epochs, 'epoch')}")
        rising = [label for label, run in order if still_improving(by_name[run])]
        if rising:
            text += (f" ({join(rising)} still improving then: the mean validation loss over "
                     f"seeds is lowest at the last epoch, so this is the difference at "
                     f"{plural(epochs, 'epoch')}, not where training would settle)")
        return text

    found = [outcome(runs, who) for runs, who in ((adam, "Adam"), (sgd, "plain SGD")) if runs]
    text = (f"On scaled inputs, {', while '.join(found)}. The argument against MSE is its "
            f"vanishing gradient when the softmax saturates (Nielsen, ch. 3), made for plain "
            f"gradient descent, where a step is the learning rate times the gradient. Adam "
            f"divides each step by a running estimate of the gradient's size plus a small "
            f"constant (Keras' default is 10⁻⁷), so a small gradient need not mean a small "
            f"step, but a gradient far below that constant still does: with Adam the "
            f"argument is weakened, not void.")
    if raw_mse:
        failed = [o for o in seed_outcomes(raw_mse) if o.verdict != outcomes.Kind.LEARNED]
        if failed:
            text += (f" Adam did not rescue MSE on raw pixels: {len(failed)} of "
                     f"{plural(len(raw_mse['seeds']), 'seed')} did not learn fully there "
                     f"(its line above).")
    if not sgd:
        text += (" This suite has no plain-SGD pair of the two losses, so it cannot show "
                 "whether the loss matters where the argument applies.")
    return (text + " These runs measure accuracy, not gradient sizes: they show whether the "
            "loss mattered with each optimiser, not why. (Hui & Belkin, 2021, find square "
            "loss competitive, but applied to the logits without a softmax, which is not "
            "what Keras' MSE on a softmax output does.)")


# The master notebook's section on the losses: each run page's heading, and so its anchor.
LOSS_SECTION = "3. What we minimise, and why"


def loss_intro(variants: dict[str, str], pages: dict[str, str] | None = None) -> str:
    """What the loss section shows, naming only the variants this suite has, with a link to
    where a run page works out the losses' gradients (an MSE run's page where it has one)."""
    mse = [run for label, run in variants.items() if label.startswith("MSE")]
    page = next((pages[run] for run in mse if pages and pages.get(run)), None)
    number, title = LOSS_SECTION.split(". ", 1)
    where = (f"[Section {number} of a run's page]({page}#{LOSS_SECTION.replace(' ', '-')})"
             if page else f"Section {number} of each run's page")
    return (f"The same network ({net_label(BASELINE['hidden_layers'])}, "
            f"{plural(BASELINE['epochs'], 'epoch')}), trained "
            f"{'with ' if len(variants) == 1 else 'in each of these ways: '}"
            f"{join([f'*{label}*' for label in variants])}."
            + (f" {where} (*{title}*) works out why MSE on a saturated softmax gets almost no "
               f"gradient." if mse else ""))


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
                to = (f", giving at least {outcomes.COLLAPSE_SHARE:.0%} of each seed's test "
                      f"images to {outcomes.collapsed_to(hit)}")
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


def regularisation_section(family: Page) -> tuple[pd.DataFrame, list[str], dict[str, str]]:
    """Each regulariser against the unregularised network, paired over seeds: the table
    of the four measures (with each change's interval, P(A > B) and whether it is
    resolved, and a warning where the measure is not the tested network's), the resolved
    changes in words, and the runs to draw (label -> run)."""
    stated = family.plan.in_section("regularisation")
    if not stated:
        return pd.DataFrame(), [], {}
    baseline = stated[0].runs[1]
    label = stated[0].question.label_b
    variants: dict[str, dict[str, Any]] = {}
    for s in stated:
        variants.setdefault(s.question.label_a, {"run": s.runs[0]})[s.question.metric] = \
            family.get(*s.key)
    first = next(iter(variants.values()))
    rows = [{"variant": label, "run": baseline,
             **{metric_words(m): fmt(m, first[m].mean_b) for m in FIT_METRICS if m in first}}]
    for name, found in variants.items():
        rows.append({"variant": name, "run": found["run"],
                     **{metric_words(m): _change_cell(found[m])
                        + (f"; {why}" if (why := skewed(family.df, found["run"], m)) else "")
                        for m in FIT_METRICS if m in found}})
    lines = [_resolved_changes(family.df, variants, m) for m in FIT_METRICS]
    return (pd.DataFrame(rows).fillna("—"), [line for line in lines if line],
            {label: baseline, **{name: found["run"] for name, found in variants.items()}})


# Why a variant's value of a measure is not that of its tested network on fresh images.
DROPOUT_ON = "training figure taken with dropout on"
CHOSEN_ON_VALIDATION = "validation loss chose this epoch"


def skewed(df: pd.DataFrame, run: str, metric: str) -> str:
    """Why ``run``'s ``metric`` is not comparable with the unregularised network's, or "".
    Keras measures a dropout network's training accuracy and loss with dropout on, so its
    gap compares a thinned network with the whole one; an early-stopped run that restores
    its best epoch was tested at its lowest validation loss, so every validation figure
    (the gaps included) is favoured by that choice."""
    if not metric.startswith(("gap_", "val_")):
        return ""
    if metric.startswith("gap_") and float(run_value(df, run, "dropout") or 0) > 0:
        return DROPOUT_ON
    stopped = not pd.isna(run_value(df, run, "early_stopping_patience"))
    return CHOSEN_ON_VALIDATION if stopped and run_value(df, run, "restore_best_weights") \
        else ""


def _change_cell(c: Comparison) -> str:
    """'0.512; change −0.031 (−0.05 to −0.01), P(A > B) 0.10, resolved'."""
    if c.method == Method.SINGLE:
        return f"{fmt(c.metric, c.mean_a)}; one seed: no interval"
    resolved = "resolved" if c.resolved else "not resolved"
    higher = (f"P(A > B) {c.higher:.2f}" + (f" ({c.higher_low:.2f} to {c.higher_high:.2f})"
                                            if c.method == Method.PAIRED else ""))
    return (f"{fmt(c.metric, c.mean_a)}; change {diff_fmt(c.metric, c.diff)} "
            f"({interval_fmt(c.metric, c.low, c.high)}), {higher}, {resolved}")


def _resolved_changes(df: pd.DataFrame, variants: dict[str, dict[str, Any]],
                      metric: str) -> str:
    """Which variants moved ``metric`` by a resolved amount, each with its change; those
    whose value is not the tested network's (``skewed``) are set apart with the reason."""
    moved = {name: found[metric] for name, found in variants.items()
             if metric in found and found[metric].resolved}
    if not moved:
        return ""
    why = {name: skewed(df, variants[name]["run"], metric) for name in moved}
    fair = {name: c for name, c in moved.items() if not why[name]}
    families = {c.family for c in moved.values()}
    down = [f"{name} ({diff_fmt(metric, c.diff)})" for name, c in fair.items() if c.diff < 0]
    up = [f"{name} ({diff_fmt(metric, c.diff)})" for name, c in fair.items() if c.diff > 0]
    parts = ([f"lower with {join(down)}"] if down else []) + (
        [f"higher with {join(up)}"] if up else [])
    head = f"**{sentence_case(metric_words(metric))}**: "
    text = (f"resolved {'; '.join(parts)} than without a regulariser (within "
            f"{join(sorted(families))})." if parts else "")
    reasons = {DROPOUT_ON: "the training figure is taken with dropout on, so the change "
                           "compares a thinned network with the whole one, not the gap of "
                           "the network that is tested",
               CHOSEN_ON_VALIDATION: "the tested epoch is the one of lowest validation "
                                     "loss, so the validation figure is favoured by that "
                                     "choice (the test loss and test accuracy are not)"}
    apart = []
    for reason, words in reasons.items():
        hit = [f"{name} ({diff_fmt(metric, c.diff)})" for name, c in moved.items()
               if why[name] == reason]
        if hit:
            apart.append(f"{join(hit)}: {words}")
    if apart:
        text += (" Also resolved, but not a fair measure of the change: " if text
                 else "Resolved, but not a fair measure of the change: ")
        text += "; ".join(apart) + "."
    return head + text


def sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


def regularisation_intro(family: Page, records: list[dict[str, Any]]) -> str:
    """What the section compares and how the gap is measured, naming only the regularisers
    this suite has, why a dropout run's gap reads differently, and what a cell holds for
    the comparisons this suite could make (paired, Welch, or one seed with no interval)."""
    stated = family.plan.in_section("regularisation")
    variants = list(dict.fromkeys(s.question.label_a for s in stated))
    names = {r["name"]: r for r in records}
    runs = {s.runs[0] for s in stated}
    dropout = any(names[r]["params"].get("dropout") for r in runs if r in names)
    restored = any(skewed(family.df, r, "val_loss") for r in runs)
    found = [family.get(*s.key) for s in stated]
    tests = {c.family_size for c in found if c.family_size}
    methods = {c.method for c in found}
    baseline = names.get(stated[0].runs[1]) if stated else None
    network = (f"{architecture(baseline)}, {plural(baseline['params']['epochs'], 'epoch')}"
               if baseline else "20 epochs")
    tested = [kind for method, kind in ((Method.PAIRED, "paired, seed by seed"),
                                        (Method.WELCH, "Welch's, where the seeds differ"))
              if method in methods]
    cells = []
    if tested:
        cells.append(
            ("where both runs have several seeds, " if Method.SINGLE in methods else "")
            + f"a cell gives the variant's mean over seeds, its change against the "
            f"unregularised network with the 95% interval ({join(tested)}), P(A > B) (the "
            f"probability that the variant's value is the higher on a fresh seed) and whether "
            f"the change is resolved"
            + (f"; all belong to {FamilyName.EXPLORATORY}, Holm-adjusted over its "
               f"{plural(max(tests), 'test')}" if tests and max(tests) > 1 else
               f"; all belong to {FamilyName.EXPLORATORY}" if tests else ""))
    if Method.SINGLE in methods:
        cells.append("where a run has one seed, its cell gives that seed's value and says "
                     "there is no interval: one seed shows no seed-to-seed spread to judge a "
                     "change against")
    how = ("compared seed by seed with it" if methods == {Method.PAIRED}
           else "compared with it")
    return (
        f"Each variant ({join([f'*{v}*' for v in variants])}) is the unregularised network "
        f"({network}) changed in one way, and is {how} (as in TensorFlow's *Overfit and "
        f"underfit* tutorial" + (", but over seeds, with intervals" if tested else "")
        + "). Early stopping is a regulariser too (Goodfellow "
        "et al., *Deep Learning*, §7.8): it limits how far training moves the weights, as "
        "an L2 penalty does (§7.1; dropout: §7.12). The **generalisation gap** is training "
        "minus validation accuracy, and validation minus training loss, of the network "
        "that is tested, at the end of training: it is what overfitting widens. Training "
        "accuracy and loss are Keras' means over the last epoch's batches, taken while the "
        "weights still change"
        + (", and with dropout switched on in the dropout runs, so their gap compares a "
           "thinned network on training images with the whole network on validation images"
           if dropout else "")
        + (". The early-stopping run restores the epoch of lowest validation loss, so its "
           "validation figures, and the gaps built on them, are favoured by that choice; the "
           "loss is therefore compared on the test images, which no run chose anything by, "
           "and without the L2 penalty Keras adds to it" if restored else
           ". The loss is compared on the test images, without the L2 penalty Keras adds to "
           "it")
        + (". " + sentence_case("; ".join(cells)) if cells else "") + "."
    )


def heading(section: str) -> str:
    """A section's Markdown heading, from the registry."""
    return "## " + next(s.heading for s in SECTIONS if s.name == section)
