"""The classroom kit: student notebook and key, public and hidden checks, sandboxed grading,
offline slides and PDFs.

One build (no key execution, slides of the master notebook) is shared by the tests; one
execution of the key gives the run that the wrong-answer table grades against; one grading
run grades three submissions (the key's code with slips and a cheat after a failing cell,
blank with an escape attempt, broken), the two notebooks executed at once in their
sandboxes, each on a smaller baseline than the key's; otter's own grading runs the slips
once more. The offline install and the key's tests are a
group of their own under `make test` (tests/conftest.py), on the other worker, reading the
same build of the kit.
"""

from __future__ import annotations

import csv
import hashlib
import html
import json
import math
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from urllib.parse import unquote, urlsplit

import nbformat
import numpy as np
import pytest

from mlplab import handout_answers, outcomes
from mlplab.lab import handout_lab
from mlplab.params import NO_FIGURES_ENV
from mlplab.pipeline import handout, handout_grade, handout_slides

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "notebooks" / "handout.ipynb"
HAS_CHROMIUM = shutil.which(handout.CHROMIUM) is not None
HAS_BWRAP = shutil.which(handout_grade.BWRAP) is not None
QUESTIONS = [f"q{i}" for i in range(1, 18)]
N = str(len(QUESTIONS))


@pytest.fixture(scope="session")
def kit(tmp_path_factory) -> Path:
    """The kit, its slides from the master notebook with two real figures in its first
    code cell (as executed, with their alt text), so the slides' figures are checked too.

    Built once per test session: under pytest-xdist the first worker to ask builds it in
    the session's shared temporary folder while the other waits on a lock (~25 CPU-s
    saved; the kit's two worker groups ask for it a minute apart, see conftest's
    TEST_GROUPS). The tests only read it."""
    import fcntl

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the session's, above each worker's popen-gwN
    root, out = shared / "kit", shared / "kit" / "handout"
    root.mkdir(exist_ok=True)
    with (shared / "kit.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (root / "built").is_file():
            master = read(ROOT / "notebooks" / "mlp_lab.ipynb")
            cell = next(c for c in master.cells if c.cell_type == "code"
                        and not set(c.metadata.get("tags", [])) & {"parameters"})
            cell.outputs, cell.execution_count = figure_outputs(), 1
            nbformat.write(master, root / "mlp_lab.ipynb")
            handout.build(out, SOURCE, ROOT / "notebooks" / "mlp_lab.ipynb",
                          slides_from=root / "mlp_lab.ipynb", execute_the_key=False,
                          pdf=HAS_CHROMIUM)
            (root / "built").touch()
    return out


@pytest.fixture(scope="session")
def checks(kit) -> ModuleType:
    """The hidden checks, as grading loads them: from the kit's autograder.zip."""
    return handout_grade.load_checks(kit / "autograder.zip")


# TensorFlow and NumPy on one thread each, as the grading sandbox runs them two at a time:
# `make test` keeps both cores busy, where idle TensorFlow threads spin (the key cost 40
# CPU-s with TensorFlow's default threads at load 6, 22 CPU-s with one).
ONE_THREAD = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1",
              "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


@pytest.fixture(scope="session")
def key_run(tmp_path_factory) -> dict:
    """The key executed once: its answers and its run's numbers (``collect``'s bundle).
    Without figures, as the grading sandbox runs (~3 CPU-s less): the tests read only the
    bundle, and the kit's tests build the key unexecuted."""
    _, key, _ = handout.assign(read(SOURCE))
    folder = tmp_path_factory.mktemp("key")  # given relative, as `make handout` gives it
    with pytest.MonkeyPatch.context() as mp:  # the kernel inherits this environment
        for name, value in {**ONE_THREAD, NO_FIGURES_ENV: "1"}.items():
            mp.setenv(name, value)
        _, bundle = handout.execute_key(key, Path(os.path.relpath(folder)))
    return bundle


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


# --- The student notebook against the key ---------------------------------------------------

def test_handout_source_is_committed_without_outputs():
    assert not handout.has_outputs(read(SOURCE))


def test_a_source_with_outputs_is_refused_before_anything_is_written(tmp_path):
    nb = read(SOURCE)
    cell = next(c for c in nb.cells if c.cell_type == "code")
    cell.outputs = [nbformat.v4.new_output("stream", text="leaked\n")]
    nbformat.write(nb, tmp_path / "handout.ipynb")
    with pytest.raises(handout.HandoutError, match="without outputs"):
        handout.build(tmp_path / "out", tmp_path / "handout.ipynb", pdf=False)
    assert not (tmp_path / "out").exists()


def test_the_kit_modules_do_not_import_tensorflow():
    code = ("import sys, mlplab.pipeline.handout, mlplab.pipeline.handout_grade, "
            "mlplab.lab.handout_lab; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)


def test_solution_lines_become_blanks_and_helpers_go():
    code = ("h = run.history\n"
            "best = int(np.argmin(h))  # SOLUTION\n"
            "rose = best > 3  # SOLUTION NO PROMPT\n"
            "s = set()\n# BEGIN SOLUTION\ns.add('a')\n# END SOLUTION\nprint(best)")
    assert handout.strip_solution(code) == "h = run.history\nbest = ...\ns = set()\nprint(best)"
    key = handout.key_code(code)
    assert "# SOLUTION" not in key and "rose = best > 3" in key


def test_student_notebook_has_no_solution_and_a_check_per_question(kit):
    student, key = read(kit / handout.NOTEBOOK_NAME), read(kit / "key" / handout.NOTEBOOK_NAME)
    assert not handout.has_outputs(student)
    text = "\n".join(c.source for c in student.cells)
    key_text = "\n".join(c.source for c in key.cells)
    assert "SOLUTION" not in text and "SOLUTION" not in key_text
    source_text = "\n".join(c.source for c in read(SOURCE).cells)
    for line in re.findall(r"^.*# SOLUTION.*$", source_text, re.M):
        assert line.split("#")[0].split("=", 1)[-1].strip() not in text, line
    checks_ = [c.source for c in student.cells if c.source.startswith("check(")]
    assert checks_ == [f'check("{q}")' for q in QUESTIONS]
    for hidden in ("handout_grading", "diagnose(", "paired_interval", "welch_interval",
                   "seed_summary", "param_count", "claim_verdict", "t_multiplier", "outcomes"):
        assert hidden not in text, hidden  # no helper that computes an answer


def test_the_key_explains_every_answer(kit):
    """Between each question and its check, the key has a text cell the student lacks."""
    student, key = read(kit / handout.NOTEBOOK_NAME), read(kit / "key" / handout.NOTEBOOK_NAME)
    student_text = {c.source for c in student.cells}
    question = None
    explained = set()
    for cell in key.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("**Question"):
            question = cell.source
        elif cell.cell_type == "markdown" and question and cell.source not in student_text:
            explained.add(question.split(" ")[1])
        elif cell.source.startswith("check("):
            question = None
    assert explained == {q[1:] for q in QUESTIONS}


def test_every_blank_is_asked_for_by_its_question(kit):
    student = read(kit / handout.NOTEBOOK_NAME)
    question, blanks = "", {}
    for cell in student.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("**Question"):
            question = cell.source
        elif cell.cell_type == "code":
            for name in re.findall(r"^\s*(\w+)\s*=\s*\.\.\.\s*$", cell.source, re.M):
                blanks[name] = question
    asked = {a.name for answers in handout_answers.QUESTIONS.values() for a in answers}
    assert set(blanks) <= asked
    assert {name for name, q in blanks.items() if f"`{name}`" not in q} == set()


def test_the_wheel_students_install_has_no_hidden_checks(kit):
    import zipfile

    wheels = list((kit / "install").glob("mlplab-*.whl"))
    assert len(wheels) == 1 and (kit / "install" / "requirements.txt").is_file()
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert "mlplab/lab/handout_lab.py" in names
    assert not any("handout_grading" in n for n in names)
    assert not [p for p in kit.rglob("*") if p.name.startswith(".")]  # nothing internal


# --- Public checks: form and hints, never the answer ------------------------------------------

def blank_namespace() -> dict:
    return {a.name: ... for answers in handout_answers.QUESTIONS.values() for a in answers}


def test_a_blank_notebooks_checks_show_no_line_of_any_hidden_test(kit):
    hidden = (handout.TEMPLATES_DIR / handout.GRADING_MODULE).read_text(encoding="utf-8")
    hidden_lines = {line.strip() for line in hidden.splitlines() if len(line.strip()) > 12}
    shown = "\n".join(repr(handout_lab.check(q, blank_namespace())) for q in QUESTIONS)
    assert "not answered yet" in shown
    assert not [line for line in shown.splitlines() if line.strip() in hidden_lines]
    assert "assert" not in shown and "expected" not in shown.lower()


@pytest.mark.parametrize("name, value, ok", [
    ("ce_first", 0.7, True), ("ce_first", -0.1, False), ("ce_first", "0.7", False),
    ("ce_first", float("nan"), False), ("ce_first", np.float32(0.7), True),
    ("best_epoch", 3.5, False), ("best_epoch", np.int64(4), True), ("best_epoch", True, False),
    ("diagnosis_baseline", "Overfitting ", True), ("diagnosis_baseline", "over fit", False),
    ("ci_base", (0.9, 0.95), True), ("ci_base", (0.95, 0.9), False), ("ci_base", 0.9, False),
    ("true_statements", {"A", "e"}, True), ("true_statements", {"g"}, False),
    ("d_depth", [0.01, 0.0], False), ("d_depth", np.array([0.01, 0.0, -0.01]), True)])
def test_public_check_judges_the_form_only(name, value, ok):
    q = next(q for q, answers in handout_answers.QUESTIONS.items()
             if name in [a.name for a in answers])
    result = handout_lab.check(q, {**blank_namespace(), name: value})
    assert (name not in result.problems) == ok, result


def test_public_check_needs_no_file(tmp_path):
    """A renamed notebook ("handout (1).ipynb") checks the same: nothing is read by name."""
    ns = {"n_params": 100}
    assert handout_lab.check("q1", ns).passed


# --- Hidden checks: the wrong-answer table ----------------------------------------------------

class Anything:
    """What a student might submit to fool an equality test."""

    def __eq__(self, other):
        return True

    def __float__(self):
        return 0.0


def score(checks, bundle: dict, **answers) -> dict[str, bool]:
    """Each named answer, right or not, after replacing it in the key's bundle."""
    b = json.loads(json.dumps(bundle))
    b["answers"].update({k: handout_answers.encode(v) for k, v in answers.items()})
    results = checks.grade(b)
    return {p.name: p.passed for r in results.values() for p in r.parts if p.name in answers}


def table(run: dict) -> list[tuple[str, object, bool]]:
    """(answer, value, should pass): plausible slips that must fail, and right answers in
    other forms (another machine's float32, percentage points, other case) that must pass."""
    probs = np.asarray(run["probs"])
    labels = np.asarray(run["labels_test"], dtype=int)
    i = int(np.flatnonzero(probs.argmax(1) != labels)[0])
    p = probs[i, labels[i]]
    p_true = probs[np.arange(len(labels)), labels]
    acc = {k: np.asarray(run[k]["test_accuracy"]) for k in
           ("baseline", "one_layer", "narrow", "stop", "stop_restore", "raw_ce")}
    h, th = run["baseline"]["history"], run["tiny"]["history"]
    t2 = 4.302652729911275
    d = acc["baseline"] - acc["one_layer"]
    se = d.std(ddof=1) / math.sqrt(3)
    ci = (d.mean() - t2 * se, d.mean() + t2 * se)
    verdict = "supported" if ci[0] > 0 else "contradicted" if ci[1] < 0 else "not resolved"
    dd = np.asarray(run["dropped"]["test_accuracy"]) - acc["baseline"]
    drop_ci = (dd.mean() - t2 * dd.std(ddof=1) / math.sqrt(3),
               dd.mean() + t2 * dd.std(ddof=1) / math.sqrt(3))
    sd = acc["baseline"].std(ddof=1)
    stop, restore = run["stop"], run["stop_restore"]
    gain = acc["baseline"][0] - acc["raw_ce"][0]
    pred = np.asarray(run["raw_mse_predictions"], dtype=int)
    top = int(np.bincount(pred, minlength=10).argmax())
    wrong_mse = np.asarray(run["raw_mse_labels_test"]) != top
    g = outcomes.generalisation(run["baseline"]["histories"])
    loss_ci, acc_ci = (g.val_loss.low, g.val_loss.high), (g.val_accuracy.low, g.val_accuracy.high)
    vl = np.array([x["val_loss"] for x in run["baseline"]["histories"]])
    d_loss = vl[:, -1] - vl[:, g.loss_best_epoch - 1]
    z_half = 1.96 * d_loss.std(ddof=1) / math.sqrt(3)
    own_best = int(np.argmin(h["val_loss"])) + 1  # seed 0's own minimum, not the mean curve's
    diagnoses = {name: diagnosis(run[name]["histories"]) for name in ("baseline", "tiny")}
    tiny_mean = float(np.mean([x["accuracy"][-1] for x in run["tiny"]["histories"]]))
    return [
        ("n_params", 784 * 30 + 30 * 20 + 20 * 10, False),  # weights only
        ("n_params", float((784 + 1) * 30 + 31 * 20 + 21 * 10), True),
        ("n_params", "24380", False),
        ("ce_first", 0, False), ("ce_first", 1 - p, False),
        ("ce_first", -np.log(probs[i].max()), False), ("ce_first", -np.log10(p), False),
        ("ce_first", -np.log(probs[0, labels[0]]), False),  # the first image, not the mistake
        ("ce_first", np.float32(-np.log(np.float32(p))), True),
        ("ce_uniform", np.log10(10), False), ("ce_uniform", 0.1, False),
        ("ce_uniform", np.float32(np.log(10)), True),
        ("test_loss_by_hand", -np.mean(np.log(probs)), False),
        ("test_loss_by_hand", -np.sum(np.log(p_true)), False),
        ("test_loss_by_hand", -np.mean(np.log10(p_true)), False),
        ("test_loss_by_hand", np.float32(-np.mean(np.log(p_true.astype(np.float32)))), True),
        ("best_epoch", g.loss_best_epoch - 1, False), ("best_epoch", g.loss_best_epoch, True),
        ("best_epoch", own_best, own_best == g.loss_best_epoch),
        ("ci_loss_change", loss_ci, True), ("ci_loss_change", np.float32(loss_ci), True),
        ("ci_loss_change", (d_loss.mean() - z_half, d_loss.mean() + z_half), False),  # 1.96
        ("ci_loss_change", (-loss_ci[1], -loss_ci[0]), False),  # first minus last
        ("ci_accuracy_change", tuple(100 * x for x in acc_ci), True),
        ("ci_accuracy_change", loss_ci, False),  # the loss's interval
        ("diagnosis_baseline", f" {diagnoses['baseline'].title()}", True),
        *[("diagnosis_baseline", other, False)
          for other in handout_answers.DIAGNOSES if other != diagnoses["baseline"]],
        ("diagnosis_tiny", f"{diagnoses['tiny'].upper()} ", True),
        *[("diagnosis_tiny", other, False)
          for other in handout_answers.DIAGNOSES if other != diagnoses["tiny"]],
        ("tiny_train_accuracy", tiny_mean, True),
        ("tiny_train_accuracy", th["accuracy"][-1],  # seed 0's alone
         math.isclose(th["accuracy"][-1], tiny_mean, rel_tol=1e-4)),
        ("tiny_gap", th["loss"][-1] - th["val_loss"][-1], False),
        ("sd_base", acc["baseline"].std(), False), ("sd_base", 100 * sd, True),
        ("se_base", sd / math.sqrt(2), False),
        ("ci_base", (acc["baseline"].mean() - 1.96 * sd / math.sqrt(3),
                     acc["baseline"].mean() + 1.96 * sd / math.sqrt(3)), False),
        ("ci_base", (acc["baseline"].mean() - sd, acc["baseline"].mean() + sd), False),
        ("d_depth", -d, False), ("d_depth", list(100 * d), True),
        ("ci_depth", tuple(100 * x for x in ci), True), ("ci_depth", list(ci), True),
        ("ci_depth", (ci[0], ci[1] * 1.01 + 1e-4), False),
        ("verdict_depth", f" {verdict.upper()}", True),
        *[("verdict_depth", other, False)
          for other in handout_answers.VERDICTS if other != verdict],
        ("true_statements", {"a", "b", "c", "d", "e", "f"}, False),
        ("true_statements", set(), False),
        ("epochs_after_best", stop["epochs_run"], False),
        ("val_loss_kept", min(restore["history"]["val_loss"]), False),  # the wrong model
        ("val_loss_restored", stop["history"]["val_loss"][-1], False),
        ("val_loss_kept", np.float32(stop["history"]["val_loss"][-1]), True),
        ("ci_paired", tuple(sorted(-x for x in (0.01, 0.02))), False),
        ("scaling_gain", -100 * gain, False), ("scaling_gain", gain, True),
        ("gain_in_sds", gain / acc["baseline"].std(), False),
        ("constant_mse", float(np.mean(wrong_mse)) / 10, False),
        ("constant_mse", 2 / 10 * float(np.mean(wrong_mse)), True),
        ("top_digit", (top + 1) % 10, False),
        ("gap_final", h["val_accuracy"][-1] - h["accuracy"][-1], False),  # reversed
        ("gap_final", 100 * (h["accuracy"][-1] - h["val_accuracy"][-1]), True),
        ("gap_best", h["accuracy"][0] - h["val_accuracy"][0], False),  # the first epoch
        ("best_accuracy_epoch", int(np.argmax(h["val_accuracy"])), False),
        ("val_loss_rise", h["val_loss"][-1] - min(h["val_loss"]), False),  # not relative
        ("val_loss_rise", 100 * (h["val_loss"][-1] / min(h["val_loss"]) - 1), True),
        ("ci_dropout", tuple(sorted(-x for x in drop_ci)), False),  # baseline minus dropout
        ("ci_dropout", tuple(100 * x for x in drop_ci), True),
        ("gap_dropout", h["accuracy"][-1] - h["val_accuracy"][-1], False),  # the baseline's
        *[(name, Anything(), False) for name in ("n_params", "ce_first", "diagnosis_baseline",
                                                   "ci_depth", "true_statements")],
    ]


def diagnosis(histories: list[dict]) -> str:
    """Section 4's rule, written out from the report's definition (``outcomes``)."""
    g = outcomes.generalisation(histories)
    if g.loss_rose or g.accuracy_fell:
        return "overfitting"
    mean_train = float(np.mean(g.final_train_accuracy))
    return "underfitting" if mean_train < 0.90 else "good fit"


@pytest.mark.slow
def test_the_keys_answers_pass_every_hidden_check(key_run, checks):
    # key_run first: the key runs while the other worker builds the kit this needs.
    results = checks.grade(key_run)
    assert {q: r.score for q, r in results.items()} == {q: 1.0 for q in QUESTIONS}


@pytest.mark.slow
def test_wrong_answers_fail_and_right_answers_in_other_forms_pass(checks, key_run):
    outcome = [(name, value, ok, score(checks, key_run, **{name: value})[name])
               for name, value, ok in table(key_run["run"])]
    assert [(n, v, ok) for n, v, ok, got in outcome if got != ok] == []


@pytest.mark.slow
@pytest.mark.parametrize("change, passes", [
    ({}, {"own_model": True, "own_history": True}),
    ({"loss": "mean_squared_error"}, {"own_model": False, "own_history": True}),
    ({"compiled": False}, {"own_model": False, "own_history": True}),
    ({"epochs": 4}, {"own_model": True, "own_history": False}),
    ({"no_validation": True}, {"own_model": True, "own_history": False})])
def test_q16_reads_what_the_students_own_keras_calls_did(checks, key_run, change, passes):
    b = json.loads(json.dumps(key_run))
    own = b["run"]["own"]
    own.update({k: v for k, v in change.items() if k in ("loss", "compiled")})
    if "epochs" in change:
        own["history"] = {k: v[:change["epochs"]] for k, v in own["history"].items()}
    if "no_validation" in change:
        own["history"] = {k: v for k, v in own["history"].items() if not k.startswith("val_")}
    assert {p.name: p.passed for p in checks.grade(b)["q16"].parts} == passes


def test_q2_uses_an_image_where_the_slips_differ(checks):
    """On the first mistaken image p(true) <= 1/2, so -log p, 1 - p and log10 are far apart."""
    probs = np.array([[0.9, 0.1], [0.3, 0.7], [0.8, 0.2]])
    assert checks.first_mistake(probs, np.array([0, 0, 0])) == 1
    assert checks.first_mistake(probs[:1], np.array([0])) == 0


# --- Grading a class in sandboxes ----------------------------------------------------------

ESCAPE = """\
import os, pathlib
for target in [{victim!r}, {project!r}, os.path.expanduser("~/pwned"), "/tmp/pwned"]:
    try:
        pathlib.Path(target).write_text("pwned")
    except OSError as err:
        print("refused:", err)
pathlib.Path({victim!r}).write_text("pwned")
"""


# Erin's slips, and an answer that "equals anything" (it must arrive as nothing in particular).
ERIN = ("n_params = 784 * 30 + 30 * 20 + 20 * 10\nbest_epoch = best_epoch - 1\n"
        "mean_base = mean_base + 0.01\nverdict_width = 'maybe'\n"
        "class Anything:\n    def __eq__(self, other):\n        return True\n\n\n"
        "ce_uniform = Anything()")
ERIN_WRONG = {"q1": 0.0, "q2": 0.5, "q4": 0.75, "q6": 0.75, "q8": 0.5}
ERIN_FAILS = 'print(f"{acc_base.mean:.3f}")  # the method, not the mean: a TypeError'
ERIN_FILE = "erin_101_9001_handout.ipynb"  # as Canvas names a download: student, user id, …
ERIN_TOTAL = handout_grade._num(len(QUESTIONS) - sum(1 - v for v in ERIN_WRONG.values()))


def solved(key: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The key's code as a student would hand it in: no outputs."""
    nb = nbformat.reads(nbformat.writes(key), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


# The baseline of the graded submissions: 3 epochs, not the handout's 20, and fewer seeds:
# two for the key's code, the fewest an interval needs (its t then has 1 degree of freedom,
# not the handout's 2, so a check that assumed three seeds would show), one for the blank,
# whose runs nothing is graded on. The hidden checks recompute every expected value from the
# submission's own run, so the key's code still scores full marks (and a slip still loses
# the same points). Each network costs ~0.4 CPU-s here; most of a submission's ~20 CPU-s
# is TensorFlow's import and the networks' set-up.
SMALLER_BASELINE = ('"epochs": 20,', '"epochs": 3,')
SEEDS_LINE = "SEEDS = [0, 1, 2]"


def smaller(nb: nbformat.NotebookNode, seeds: int) -> nbformat.NotebookNode:
    """``nb`` (the key's code or the student notebook) on the smaller baseline, with the
    first ``seeds`` seeds."""
    cell = next(c for c in nb.cells if c.cell_type == "code")
    for old, new in (SMALLER_BASELINE, (SEEDS_LINE, f"SEEDS = {list(range(seeds))}")):
        assert old in cell.source, "the handout's baseline changed: update this"
        cell.source = cell.source.replace(old, new)
    return nb


@pytest.fixture(scope="session")
def graded(kit, tmp_path_factory) -> tuple[Path, dict[str, dict[str, str]], str]:
    """Three submissions: erin (a Canvas download) the key's code with a failing cell, then
    slips and a cheat, which otter's grading runs too (it cannot run bob's escape: otter runs
    unsandboxed); bob the blank student notebook with an attempt to overwrite erin's file (a
    cell that sets no answer: the blank still scores 0); dave a broken file. Two executed
    (~25 CPU-s each): erin's twelve questions without a slip and the other parts of her five
    with one show the key's code right as the sandbox grades it, as a submission of the key
    alone did before."""
    folder = tmp_path_factory.mktemp("submissions")
    _, key, _ = handout.assign(read(SOURCE))
    sneaky = smaller(read(kit / handout.NOTEBOOK_NAME), seeds=1)  # blank
    sneaky.cells.append(nbformat.v4.new_code_cell(ESCAPE.format(
        victim=str(folder / ERIN_FILE), project=str(ROOT / "pwned.txt"))))
    nbformat.write(sneaky, folder / "bob.ipynb")
    slips = smaller(solved(key), seeds=2)
    slips.cells.append(nbformat.v4.new_code_cell(ERIN_FAILS))  # the slips after it still count
    slips.cells.append(nbformat.v4.new_code_cell(ERIN))
    nbformat.write(slips, folder / ERIN_FILE)
    (folder / "dave.ipynb").write_text('{"cells": [')  # a broken file
    before = hashlib.sha256((folder / ERIN_FILE).read_bytes()).hexdigest()
    proc = subprocess.run([sys.executable, "-m", "mlplab.pipeline.handout", "grade", str(folder),
                           "--autograder", str(kit / "autograder.zip"), "--jobs", "2"],
                          capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert proc.returncode == 0, proc.stderr
    after = hashlib.sha256((folder / ERIN_FILE).read_bytes()).hexdigest()
    assert before == after  # bob could not touch erin's file
    with (folder / "scores.csv").open() as fh:
        rows = {row["submission"]: row for row in csv.DictReader(fh)}
    return folder, rows, proc.stderr


@pytest.mark.slow
@pytest.mark.skipif(not HAS_BWRAP, reason="bubblewrap not installed")
def test_grading_scores_right_wrong_blank_and_broken(graded):
    folder, rows, _ = graded
    erin, bob, dave = (rows[n] for n in (ERIN_FILE, "bob.ipynb", "dave.ipynb"))
    assert {q: float(erin[q]) for q in QUESTIONS} == {q: ERIN_WRONG.get(q, 1.0)
                                                       for q in QUESTIONS}
    assert erin["total"] == ERIN_TOTAL and erin["possible"] == N
    assert [bob[q] for q in QUESTIONS] == ["0"] * len(QUESTIONS)  # blank
    assert dave["error"] and dave["total"] == "0"


@pytest.mark.slow
@pytest.mark.skipif(not HAS_BWRAP, reason="bubblewrap not installed")
def test_a_submission_cannot_write_outside_its_sandbox_and_is_named(graded):
    folder, rows, stderr = graded
    assert not (ROOT / "pwned.txt").exists()
    assert not Path("/tmp/pwned").exists() and not (Path.home() / "pwned").exists()
    assert "outside its own folder" in rows["bob.ipynb"]["notes"]
    assert "bob.ipynb" in stderr and "outside its own folder" in stderr
    assert "outside" not in rows[ERIN_FILE]["notes"]


@pytest.mark.slow
@pytest.mark.skipif(not HAS_BWRAP, reason="bubblewrap not installed")
def test_otters_standard_grading_scores_as_make_grade_does(graded, kit, tmp_path):
    """`otter run` (otter's grading without Docker, in this environment) on autograder.zip
    gives each question the points `make grade` gave the same notebook."""
    folder, rows, _ = graded
    erin = rows[ERIN_FILE]
    assert {q: float(erin[q]) for q in QUESTIONS} == {q: ERIN_WRONG.get(q, 1.0)
                                                       for q in QUESTIONS}
    (tmp_path / "out").mkdir()
    shutil.copyfile(folder / ERIN_FILE, tmp_path / "handout.ipynb")
    # mlplab imported first in otter's process and in the kernel it starts, as the kit's own
    # call of otter does (handout.OTTER): ~14 CPU-s less (jsonschema's rfc3987 grammar).
    (tmp_path / "first").mkdir()
    (tmp_path / "first" / "sitecustomize.py").write_text("import mlplab\n")
    path = os.pathsep.join(filter(None, [str(tmp_path / "first"), os.environ.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-m", "otter", "run", "-a",
                           str(kit / "autograder.zip"), "-o", "out", "handout.ipynb"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=900,
                          env={**os.environ, **ONE_THREAD, "PYTHONPATH": path,
                               NO_FIGURES_ENV: "1"})  # as the grading sandbox runs it
    assert proc.returncode == 0, proc.stderr[-2000:]
    tests = json.loads((tmp_path / "out" / "results.json").read_text())["tests"]
    otter = {t["name"]: t["score"] for t in tests if t["name"] in QUESTIONS}
    assert otter == pytest.approx({q: float(erin[q]) for q in QUESTIONS})


def test_a_cell_past_the_time_limit_is_stopped_and_the_answers_so_far_count(tmp_path):
    """The sandbox's side of grading, run here without the sandbox: cells run in one process,
    a failing cell is noted and the next still runs, a cell still running at the time limit
    is interrupted, and the answers given so far are handed over."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# title"),
        nbformat.v4.new_code_cell("n_params = 24380"),
        nbformat.v4.new_code_cell("1 / 0"),
        nbformat.v4.new_code_cell("ce_uniform = 2.302585092994046"),
        nbformat.v4.new_code_cell("while True:\n    pass"),
        nbformat.v4.new_code_cell("best_epoch = 3")])
    nbformat.write(nb, tmp_path / "s.ipynb")
    proc = subprocess.run([sys.executable, "-m", "mlplab.pipeline.handout_grade", "execute",
                           str(tmp_path / "s.ipynb"), str(tmp_path / "a.json"), "3"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    notes = [line for line in proc.stdout.splitlines() if line.startswith("NOTE ")]
    assert notes[0].startswith("NOTE cell 3: ZeroDivisionError")
    assert notes[1].startswith("NOTE cell 5: ") and "time limit" in notes[1]
    answers = json.loads((tmp_path / "a.json").read_text())["answers"]
    assert set(answers) == {"n_params", "ce_uniform"}  # the cell after the limit did not run


@pytest.mark.parametrize("ename, evalue, escaped", [
    ("FileNotFoundError", "[Errno 2] No such file or directory: '/work/x/alice.ipynb'", True),
    ("OSError", "[Errno 30] Read-only file system: '/usr/lib/x'", True),
    ("FileNotFoundError", "[Errno 2] No such file or directory: '/tmp/class/bob.ipynb'", True),
    ("FileNotFoundError", "[Errno 2] No such file or directory: '/submission/data.csv'", False),
    ("ValueError", "'/work/x' is not a digit", False)])
def test_an_error_is_an_escape_only_for_a_path_outside_the_sandbox(ename, evalue, escaped):
    assert handout_grade.escaped({"ename": ename, "evalue": evalue}) == escaped


@pytest.mark.slow
@pytest.mark.skipif(not HAS_BWRAP, reason="bubblewrap not installed")
def test_feedback_files_and_canvas_csv(graded, checks):
    folder, rows, _ = graded
    erin = (folder / "feedback" / ERIN_FILE.replace(".ipynb", ".md")).read_text(encoding="utf-8")
    assert "## q6: 0.75 of 1" in erin and "mean_base: not right. Hint:" in erin
    assert "return" not in erin and "close(" not in erin  # hints, never the checks' code
    with (folder / "canvas.csv").open() as fh:
        canvas = list(csv.reader(fh))
    assert canvas[0][:2] == ["Student", "ID"] and canvas[1][0] == "Points Possible"
    assert ["erin", "101", "", "", "", ERIN_TOTAL] in canvas and canvas[1][-1] == N


def test_grading_refuses_a_folder_without_submissions(kit, tmp_path):
    with pytest.raises(handout_grade.GradingError, match="no .ipynb submissions"):
        handout_grade.grade(tmp_path, kit / "autograder.zip", tmp_path / "scores.csv")
    assert not (tmp_path / "scores.csv").exists()


# --- Offline pages ---------------------------------------------------------------------

class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


def outside_references(page: Path, root: Path) -> list[str]:
    """src/href values of ``page`` that leave ``root`` or need the network."""
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    bad = []
    for url in parser.urls:
        parts = urlsplit(url)
        if parts.scheme in ("data", "mailto") or url.startswith("#"):
            continue
        if parts.scheme or parts.netloc:
            bad.append(url)
            continue
        target = (page.parent / unquote(parts.path)).resolve()
        if not target.is_relative_to(root.resolve()) or not target.exists():
            bad.append(url)
    return bad


@pytest.mark.parametrize("page", ["slides.html", "handout.html", "key/handout.html"])
def test_pages_reference_nothing_outside_the_folder(kit, page):
    assert outside_references(kit / page, kit) == []


def test_slides_load_local_reveal_and_mathjax_and_tell_the_story(kit):
    text = (kit / "slides.html").read_text(encoding="utf-8")
    for local in ('src="reveal.js/dist/reveal.js"', 'href="reveal.js/dist/reveal.css"',
                  'src="assets/mathjax/tex-svg-full.js"'):
        assert local in text
    assert (kit / "reveal.js" / "dist" / "theme" / "fonts" / "source-sans-pro").is_dir()
    urls = re.sub(r"data:[^\"']+", "", text).lower()  # a figure's base64 may spell "cdn"
    assert "cdn" not in urls and "unpkg" not in urls
    shown = html.unescape(text)
    # The master's story, then the handout's sections past the three the story covers.
    for source, first in ((ROOT / "notebooks" / "mlp_lab.ipynb", 0), (SOURCE, 3)):
        headings = [line.lstrip("# ").strip() for c in read(source).cells
                    if c.cell_type == "markdown" for line in c.source.splitlines()
                    if line.startswith("## ")][first:]
        told = [h for h in headings if not any(s in h for s in handout_slides.SKIP_SECTIONS)]
        assert told and all(h in shown for h in told), [h for h in told if h not in shown]
    for i in range(1, len(QUESTIONS) + 1):  # the handout's exercises, not the master's
        assert f"Exercise: Question {i} (" in shown, i
    for topic in ("Seeds, spread", "Depth and width", "Early stopping", "overfitting"):
        assert topic in shown, topic


def test_slide_text_is_one_sentence_and_the_rest_goes_to_the_notes():
    text = ("The loss is **small**. It grows when the network is wrong, e.g. on a 7 "
            "read as 1.\n\nMore prose here.")
    (slide,) = handout_slides.text_slides("Loss", text)
    assert "It grows" not in slide.body and "The loss is" in slide.body
    assert "More prose here" in slide.notes
    bullets = "* **mean**: the average. More.\n* **sd**: the spread. More."
    assert [s.body.count("<strong>") for s in handout_slides.text_slides("S", bullets)] == [1, 1]


@pytest.fixture(scope="class")
def browser():
    """One Chromium for ``TestInChromium``'s pages (a launch costs ~1 CPU-second, ~2 with
    Playwright's driver), closed with the class: the pinned Playwright marks its event loop
    as running while it is open, which would break the key's execution on this worker if a
    browser open for the module were still open when the worker came to it."""
    from test_browser import offline_chromium

    with offline_chromium() as b:
        yield b


@pytest.mark.browser
@pytest.mark.skipif(not HAS_CHROMIUM, reason="Debian chromium not installed")
class TestInChromium:
    """The slides and the kit's pages as Chromium renders them, in one browser."""

    def test_every_slide_fits_1280x720_with_body_text_of_24px_or_more(self, kit, browser):
        """Measured in Chromium at a projector's 1280 x 720: the rendered size of every text
        element (computed font size times reveal.js' scale) and each slide's scroll size."""
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        try:
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
                ("file:", "data:", "blob:", "about:")) else route.abort())
            page.goto((kit / "slides.html").resolve().as_uri(), wait_until="load")
            page.wait_for_function("() => window.Reveal && Reveal.isReady()")
            page.wait_for_timeout(1000)  # MathJax
            slides = page.evaluate(SLIDE_FACTS_JS)
        finally:
            page.close()
        assert len(slides) >= 40
        assert [s for s in slides if s["small"] or s["overflows"]] == []

    @pytest.mark.parametrize("page", ["slides.html", "handout.html", "key/handout.html"])
    def test_kit_pages_meet_wcag_aa(self, kit, browser, page):
        """The kit's pages pass the same axe-core WCAG 2.1 A/AA check as the report's."""
        from test_a11y import check_page, describe

        violations = check_page(kit / page, browser)
        assert violations == [], describe(violations)


SLIDE_FACTS_JS = """() => Reveal.getSlides().map((s, i) => {
  const at = Reveal.getIndices(s);
  Reveal.slide(at.h, at.v);
  const scale = Reveal.getScale(), small = [];
  s.querySelectorAll('p, li, td, th, h1, h2, strong, em, code').forEach(e => {
    if (!e.textContent.trim() || e.closest('aside.notes')) return;
    const px = parseFloat(getComputedStyle(e).fontSize) * scale;
    if (px < 24) small.push(`${e.tagName} ${px.toFixed(1)}px: ${e.textContent.slice(0, 40)}`);
  });
  return {slide: i, title: (s.querySelector('h1, h2') || {}).textContent, small,
          overflows: s.scrollHeight > s.clientHeight + 1 || s.scrollWidth > s.clientWidth + 1};
})"""


@pytest.mark.skipif(not HAS_CHROMIUM, reason="Debian chromium not installed")
@pytest.mark.parametrize("paper, width_pt", [("a4", 595), ("letter", 612)])
def test_pdf_has_every_exercise_title_first_and_bookmarks(kit, paper, width_pt):
    pdf = kit / f"handout-{paper}.pdf"
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    assert b"/Outlines" in data  # bookmarks from the headings
    box = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\]", data)
    assert box and abs(float(box.group(1)) - width_pt) < 2, box
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    text = " ".join(text.split())
    for i in range(1, len(QUESTIONS) + 1):
        assert f"Question {i} (" in text, i
    assert "Seeds, spread and what three runs can tell you" in text
    assert text.lstrip().startswith("Lab: how a small neural network")  # the title first


# --- Section 4's rule: the report's definition of overfitting, the handout's underfitting bar

def history(val_loss: list[float], train_accuracy: float = 0.99,
            val_accuracy: list[float] | None = None) -> dict[str, list[float]]:
    n = len(val_loss)
    return {"val_loss": val_loss, "loss": list(np.linspace(1.0, 0.1, n)),
            "accuracy": [train_accuracy] * n, "val_accuracy": val_accuracy or [0.9] * n}


def seeds(rises: list[float], **kw) -> list[dict[str, list[float]]]:
    """Three seeds' curves, lowest at epoch 2, whose last validation loss is ``rise`` above."""
    return [history([0.5, 0.4, 0.4 + rise], **kw) for rise in rises]


@pytest.mark.parametrize("rises, expected", [
    ([0.02, 0.03, 0.04], "overfitting"),  # a small rise, but every seed's: beyond noise
    ([0.20, -0.01, 0.05], "good fit"),  # a large mean rise that the seeds do not agree on
    ([0.0, 0.0, 0.0], "good fit")])
def test_overfitting_is_a_rise_beyond_seed_noise_not_a_fixed_threshold(grading, rises,
                                                                       expected):
    assert grading.diagnosis(seeds(rises)) == expected
    assert not hasattr(grading, "RISE_TOLERANCE")


def test_a_fall_in_validation_accuracy_beyond_noise_is_overfitting_too(grading):
    flat = [history([0.5, 0.4, 0.4], val_accuracy=[0.9, 0.9, 0.9 - fall])
            for fall in (0.02, 0.03, 0.025)]
    assert grading.diagnosis(flat) == "overfitting"


def test_the_handouts_diagnosis_is_the_reports_definition(grading):
    """Overfitting exactly where the report's run page says a measure moved beyond noise."""
    rng = np.random.default_rng(0)
    for _ in range(40):
        hs = [history(list(0.4 + np.cumsum(rng.normal(0, 0.02, 8))),
                      val_accuracy=list(0.9 + np.cumsum(rng.normal(0, 0.01, 8))))
              for _ in range(3)]
        g = outcomes.generalisation(hs)
        assert (grading.diagnosis(hs) == "overfitting") == (g.loss_rose or g.accuracy_fell)


def test_underfitting_is_a_low_training_accuracy_without_overfitting(grading):
    falling = [history([0.9, 0.8, 0.79], train_accuracy=0.6) for _ in range(3)]
    assert grading.diagnosis(falling) == "underfitting"
    assert grading.diagnosis(seeds([0.02, 0.03, 0.04], train_accuracy=0.6)) == "overfitting"


@pytest.mark.parametrize("n_seeds, table", [(2, 12.706), (3, 4.303), (10, 2.262)])
def test_t_multiplier_is_the_two_sided_95_quantile_on_n_minus_1_degrees(grading, n_seeds, table):
    """The values of every t table (two-sided 95%, n − 1 degrees of freedom)."""
    assert grading.t95(n_seeds) == pytest.approx(table, abs=5e-4)


def test_the_handout_states_the_reports_definition_and_its_own_bar(checks):
    text = "\n".join(c.source for c in read(SOURCE).cells if c.cell_type == "markdown")
    rule = " ".join(text.split("* **overfitting**")[1].split("* **underfitting**")[0].split())
    assert not re.search(r"(?<![\d.])5%", rule) and "rule of thumb" not in text
    assert "beyond noise" in rule and "95% interval" in rule and "No fixed threshold" in rule
    assert "overfitting in loss, not in accuracy" in rule.lower()
    underfit = text.split("* **underfitting**")[1].split("* **good fit**")[0]
    assert f"below {checks.UNDERFIT_TRAIN_ACCURACY:.0%}" in underfit
    assert "handout's own" in underfit


# --- Every figure of the slides is described ---------------------------------------------

def figure_outputs() -> list:
    """Two figures as a run page shows them (each with its alt text in the output's
    metadata), captured from mlplab's own plotting functions."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from mlplab.lab import plots

    InteractiveShell.instance()
    try:
        with capture_output() as captured:
            plots.digit_grid(np.zeros((2, 784)), ["0", "1"], "One training image of each digit")
            plots.learning_curves([history([0.5, 0.4, 0.45])], [0], "categorical_crossentropy")
    finally:
        InteractiveShell.clear_instance()
    return [nbformat.v4.new_output("display_data", data=o.data, metadata=o.metadata)
            for o in captured.outputs]


def test_no_figure_is_rendered_while_grading(monkeypatch):
    """The sandbox sets NO_FIGURES_ENV: the handout's figures are neither built nor shown."""
    monkeypatch.setenv(NO_FIGURES_ENV, "1")
    assert figure_outputs() == []
    monkeypatch.delenv(NO_FIGURES_ENV)
    assert len(figure_outputs()) >= 2


def image_alts(page: Path) -> list[str | None]:
    parser = handout._ImageAlts()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.alts


def test_slides_keep_each_figures_own_description(kit):
    alts = [o.metadata["image/png"]["alt"] for o in figure_outputs() if "image/png" in o.data]
    assert len(alts) == 2 and all(len(a.split()) >= 8 for a in alts)
    assert image_alts(kit / "slides.html") == alts  # the run pages' text, not a placeholder


def test_an_undescribed_image_stops_the_kit_and_names_its_page(tmp_path):
    png = next(o for o in figure_outputs() if "image/png" in o.data).data["image/png"]
    bare = nbformat.v4.new_output("display_data", data={"image/png": png})  # no alt anywhere
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=[bare])])
    handout_slides.export(nb, nbformat.v4.new_notebook(), tmp_path / "slides.html", "Bare")
    assert image_alts(tmp_path / "slides.html") == [None]
    (tmp_path / "page.html").write_text('<img src="a.png"><img src="b.png" alt=" ">'
                                        '<img src="c.png" alt="Three digits: 0, 1 and 2.">')
    assert handout.undescribed_images(tmp_path / "page.html") == 2
    with pytest.raises(handout.HandoutError, match=r"^slides\.html: 1 image\(s\) without"):
        handout.check_described([tmp_path / "slides.html"], tmp_path)


@pytest.mark.parametrize("page", ["slides.html", "handout.html", "key/handout.html"])
def test_no_kit_page_has_an_undescribed_image(kit, page):
    assert handout.undescribed_images(kit / page) == 0


# --- A student installs from the kit alone ------------------------------------------------------

WHEELHOUSE = ROOT / ".venv" / "wheelhouse"  # the build's wheel cache, kept between runs
SELF_CHECK = """\
import json, sys
nb = json.load(open(sys.argv[1]))
code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
g = {"__name__": "__main__"}
exec(code[0], g)  # the student notebook's first cell: imports, the digits, the settings
import mlplab
print("mlplab", mlplab.__file__)
print(g["check"]("q1", {"n_params": ...}))
print("form ok", g["check"]("q1", {"n_params": 7}).passed)
one = g["run"](hidden_layers=[3], seeds=[0], epochs=1)  # TensorFlow and Keras train
print("trained", one.first.epochs_run, "epoch")
"""


@pytest.mark.slow
def test_the_kit_installs_offline_into_a_fresh_venv_from_its_own_files(kit, tmp_path):
    """docs/teaching.md's install, offline: a fresh virtual environment, pip with no index
    and no configuration, the kit's install/ (the mlplab wheel and the pinned requirements)
    and the wheels of those pins (``mlplab.pipeline.wheelhouse``, repacked from this
    environment, kept in .venv/wheelhouse); then the student notebook's first cell, its
    self-check and one epoch of training run there."""
    import venv

    from mlplab.pipeline import wheelhouse

    wheelhouse.build(kit / "install" / "requirements.txt", WHEELHOUSE)
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    py = env / "bin" / "python"
    clean = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PIP_CONFIG_FILE": os.devnull,
             "PIP_NO_INPUT": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "MPLBACKEND": "Agg",
             "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "", **ONE_THREAD}
    wheel = next((kit / "install").glob("mlplab-*.whl"))
    # --no-warn-conflicts: the resolver still checks that the pins resolve (and fails if
    # not); pip's second check, of every package's metadata once installed, could only add a
    # conflict with one already there, and a fresh venv has only pip and setuptools (~9% of
    # pip's time, profiled).
    install = subprocess.run(
        [str(py), "-m", "pip", "install", "--quiet", "--no-compile", "--no-warn-conflicts",
         "--no-index", "--find-links", str(WHEELHOUSE), "--find-links", str(kit / "install"),
         "-r", str(kit / "install" / "requirements.txt"), str(wheel)],
        capture_output=True, text=True, env=clean, timeout=1500)
    assert install.returncode == 0, install.stderr[-2000:]
    site = next(env.glob("lib/python*/site-packages"))
    out = subprocess.run([str(py), "-I", "-c", SELF_CHECK, str(kit / handout.NOTEBOOK_NAME)],
                         capture_output=True, text=True, env=clean, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"mlplab {site}" in out.stdout
    assert "not answered yet" in out.stdout and "form ok True" in out.stdout
    assert "trained 1 epoch" in out.stdout
    assert not list(site.rglob("handout_grading.py"))
    frozen = tmp_path / "frozen.txt"
    frozen.write_text(subprocess.run([str(py), "-m", "pip", "freeze"], capture_output=True,
                                     text=True, env=clean).stdout)
    installed = {wheelhouse._canonical(n): v for n, v in wheelhouse.pins(frozen)}
    pinned = {wheelhouse._canonical(n): v
              for n, v in wheelhouse.pins(kit / "install" / "requirements.txt")}
    assert pinned and {n: installed.get(n) for n in pinned} == pinned
    # And nothing the pins leave out: pip needed no package beyond them (the wheelhouse kept
    # in .venv may hold more, from a fuller lock).
    assert set(installed) - set(pinned) <= {"mlplab", "setuptools", "wheel"}


def test_students_install_what_the_notebooks_need_at_the_locks_versions(kit):
    """install/requirements.txt: the lock's pins of what the mlplab wheel needs (its
    Requires-Dist and all they need), not the report's or the kit builder's tools."""
    from mlplab.pipeline import wheelhouse

    lock = {wheelhouse._canonical(n): v for n, v in wheelhouse.pins(ROOT / "requirements.lock")}
    pinned = {wheelhouse._canonical(n): v
              for n, v in wheelhouse.pins(kit / "install" / "requirements.txt")}
    assert {n: lock.get(n) for n in pinned} == pinned
    assert {"tensorflow", "keras", "jupyterlab", "mlxtend", "ipykernel"} <= set(pinned)
    assert not {"dask", "papermill", "otter-grader", "playwright", "sphinx", "pytest",
                "ruff"} & set(pinned)
    # What an extra asks for is followed: jupyter-events needs jsonschema[format-nongpl].
    assert {"rfc3339-validator", "webcolors"} <= set(pinned)


def test_needed_follows_markers_and_the_extras_asked_for():
    from mlplab.pipeline import wheelhouse

    plain = wheelhouse.needed(["jsonschema"])
    extra = wheelhouse.needed(["jsonschema[format-nongpl]"])
    assert "rfc3339-validator" in set(extra) - set(plain)
    assert "jsonschema" in plain and "attrs" in plain  # the package itself, and what it needs
    assert wheelhouse.needed(["jsonschema; python_version < '3'"]) == {}


def test_the_wheelhouse_reads_pins_and_compresses_tags(tmp_path):
    from mlplab.pipeline import wheelhouse

    req = tmp_path / "r.txt"
    req.write_text("# comment\nnumpy==2.4.6\nfoo == 1.0 ; python_version < '3'\n-e .\n")
    assert wheelhouse.pins(req) == [("numpy", "2.4.6"), ("foo", "1.0")]
    assert wheelhouse._tags("Tag: cp311-cp311-a\nTag: cp311-cp311-b\n") == "cp311-cp311-a.b"
    assert wheelhouse._tags("Tag: py2-none-any\nTag: py3-none-any\n") == "py2.py3-none-any"


# --- The checks' own arithmetic, without a kit: each rule fails its own test -------------

@pytest.fixture(scope="module")
def grading() -> ModuleType:
    """The hidden checks straight from their source (the kit ships this file in its zip)."""
    import importlib.util

    source = Path(handout.__file__).parent / "handout_templates" / "handout_grading.py"
    # Named as its path in the package, so tools that map code to tests (make mutate) find it.
    spec = importlib.util.spec_from_file_location(
        "mlplab.pipeline.handout_templates.handout_grading", source)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_questions_sort_by_number_not_by_text():
    assert handout.natural_order(["q10", "q2", "q1", "q1b", "q21"]) == [
        "q1", "q1b", "q2", "q10", "q21"]


@pytest.mark.parametrize("answer, expected, ok", [
    (1.00009, 1.0, True), (0.99991, 1.0, True), (1.00011, 1.0, False), (None, 1.0, False),
    (1e-13, 0.0, True), (1e-11, 0.0, False), (1.0, float("nan"), False),
])
def test_an_answer_is_close_within_the_tolerance_and_never_when_missing(grading, answer,
                                                                      expected, ok):
    assert grading.close(answer, expected) is ok


def test_the_handouts_intervals_are_scipys_and_the_reports(grading):
    """Paired over the same seeds, Welch otherwise: the interval the handout expects is
    scipy's, and the one the report's index states."""
    import pandas as pd
    from scipy import stats as scipy_stats

    from mlplab.summary import stats

    a, b = [0.91, 0.93, 0.92], [0.89, 0.92, 0.90]
    ci = scipy_stats.ttest_rel(a, b).confidence_interval(0.95)
    assert grading.paired(a, b) == pytest.approx((ci.low, ci.high))
    rows = [{"run": run, "status": "ok", "seed": seed + offset, "test_accuracy": v}
            for run, values, offset in (("a", a, 0), ("b", b, 5))
            for seed, v in enumerate(values)]
    welch = stats.compare(pd.DataFrame(rows), "a", "b")
    assert grading.welch(a, b) == pytest.approx((welch.low, welch.high))


def test_the_claim_verdict_follows_the_interval(grading):
    assert grading.verdict((0.001, 0.02)) == "supported"
    assert grading.verdict((-0.02, -0.001)) == "contradicted"
    assert grading.verdict((0.0, 0.02)) == "not resolved"
    assert grading.verdict((-0.02, 0.0)) == "not resolved"


def test_underfitting_starts_below_the_bar(grading):
    at_the_bar = [history([0.9, 0.8, 0.79], train_accuracy=grading.UNDERFIT_TRAIN_ACCURACY)
                  for _ in range(3)]
    assert grading.diagnosis(at_the_bar) == "good fit"
