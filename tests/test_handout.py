"""The classroom kit: student notebook vs key, otter checks and grading, offline slides and PDF.

One build (otter assign, HTML, slides of the unexecuted master notebook, PDF) is shared by the
tests; one grading run executes two real submissions (the key's answers, and the same with
one answer wrong) in parallel and is shared too: together about a minute and a half.
"""

from __future__ import annotations

import csv
import difflib
import html
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import numpy as np
import pytest

from mlplab import outcomes
from mlplab.lab import handout_lab
from mlplab.pipeline import handout

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "notebooks" / "handout.ipynb"
HAS_CHROMIUM = shutil.which(handout.CHROMIUM) is not None
WRONG_QUESTION = "q6"  # `answered(..., wrong=True)` gets question 6's mean wrong
# otter's line markers: "# SOLUTION" blanks the line (`x = ...`), "# SOLUTION NO PROMPT"
# drops it from the student's notebook (a helper variable no question asks for).
SOLUTION_MARK = re.compile(r"\s*# SOLUTION( NO PROMPT)?\s*$")


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> Path:
    """The kit, its slides from the master notebook with two real figures in its first
    code cell (as executed, with their alt text), so the slides' figures are checked too."""
    root = tmp_path_factory.mktemp("kit")
    master = read(ROOT / "notebooks" / "mlp_lab.ipynb")
    cell = next(c for c in master.cells if c.cell_type == "code"
                and not set(c.metadata.get("tags", [])) & {"parameters"})
    cell.outputs, cell.execution_count = figure_outputs(), 1
    nbformat.write(master, root / "mlp_lab.ipynb")
    return handout.build(root / "handout", SOURCE, ROOT / "notebooks" / "mlp_lab.ipynb",
                         slides_from=root / "mlp_lab.ipynb", execute_the_key=False,
                         pdf=HAS_CHROMIUM)


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def is_answer(cell) -> bool:
    return "otter_answer_cell" in cell.metadata.get("tags", [])


def paired_cells(student, key) -> list[tuple[object | None, object | None]]:
    """Student and key cells side by side: equal cells pair up; where they differ, the
    student's answer cells pair with the key's code cells in order, and a key cell with no
    student counterpart pairs with None (and the other way round)."""
    a = [c.source for c in student.cells]
    b = [c.source for c in key.cells]
    pairs: list[tuple[object | None, object | None]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            pairs += list(zip(student.cells[i1:i2], key.cells[j1:j2], strict=True))
            continue
        theirs = list(key.cells[j1:j2])
        for cell in student.cells[i1:i2]:
            match = next((k for k in theirs if k.cell_type == cell.cell_type), None)
            if match is not None:
                theirs.remove(match)
            pairs.append((cell, match))
        pairs += [(None, k) for k in theirs]
    return pairs


def solution_lines(cell) -> list[str]:
    """Lines of a key cell that otter replaced by `...` in the student's version."""
    lines, inside = [], False
    for line in cell.source.splitlines():
        if re.match(r"\s*# BEGIN SOLUTION", line):
            inside = True
        elif re.match(r"\s*# END SOLUTION", line):
            inside = False
        elif inside or SOLUTION_MARK.search(line):
            lines.append(SOLUTION_MARK.sub("", line).strip())
    return [line for line in lines if line]


def answered(student, key, wrong: bool = False):
    """The student notebook with every answer cell replaced by the key's solution; with
    ``wrong``, the answer to question 6's mean is then made one percentage point too high."""
    filled = nbformat.reads(nbformat.writes(student), as_version=4)
    pairs = paired_cells(filled, key)
    for cell, solution in pairs:
        if cell is not None and is_answer(cell):
            cell.source = "\n".join(SOLUTION_MARK.sub("", line) for line in
                                    solution.source.splitlines()
                                    if not re.match(r"\s*# (BEGIN|END) SOLUTION", line))
    if wrong:
        cell = next(c for c in filled.cells if is_answer(c) and "mean_base =" in c.source)
        cell.source += "\nmean_base = mean_base + 0.01  # a wrong answer"
    return filled


# --- The student notebook against the key ----------------------------------------------

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
    code = ("import sys, mlplab.pipeline.handout, mlplab.lab.handout_lab; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)


def test_student_notebook_has_no_solutions_cell_by_cell(kit):
    student, key = read(kit / handout.NOTEBOOK_NAME), read(kit / "key" / handout.NOTEBOOK_NAME)
    assert not handout.has_outputs(student)
    pairs = paired_cells(student, key)
    answer_pairs = [(s, k) for s, k in pairs if s is not None and is_answer(s)]
    assert len(answer_pairs) == 13  # one answer cell per question
    for s, k in pairs:
        assert s is not None or k.cell_type == "markdown", k.source  # only explanations go
        if s is None:
            assert k.source not in "\n".join(c.source for c in student.cells)
        elif is_answer(s):
            hidden = solution_lines(k)
            assert hidden and "..." in s.source, k.source
            for line in hidden:  # no solution line anywhere in the student's cell
                assert line not in s.source, line
        else:
            assert s.source == k.source
    student_text = "\n".join(c.source for c in student.cells)
    assert "# SOLUTION" not in student_text and "BEGIN SOLUTION" not in student_text
    assert handout.questions(student) == [f"q{i}" for i in range(1, 14)]


def test_every_blank_is_asked_for_by_its_question(kit):
    """A student meets `x = ...` only for an `x` that its question names; helpers of the
    key's solution (an intermediate `half`, `rose`) are not left as unexplained blanks."""
    student = read(kit / handout.NOTEBOOK_NAME)
    question, blanks = "", {}
    for cell in student.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("**Question"):
            question = cell.source
        elif is_answer(cell):
            for names in re.findall(r"^\s*([\w, ]+?)\s*=\s*\.\.\.\s*$", cell.source, re.M):
                for name in names.split(","):
                    blanks[name.strip()] = question
    assert len(blanks) >= 13
    unasked = {name: q.split(".**")[0] for name, q in blanks.items() if f"`{name}`" not in q}
    assert unasked == {}


def test_the_key_carries_the_same_checks(kit):
    student, key = read(kit / handout.NOTEBOOK_NAME), read(kit / "key" / handout.NOTEBOOK_NAME)
    assert student.metadata["otter"]["tests"] == key.metadata["otter"]["tests"]
    checks = [c.source for c in student.cells if c.source.startswith("grader.check(")]
    assert checks == [f'grader.check("q{i}")' for i in range(1, 14)]


# --- Grading: the key's answers pass every check, one wrong answer fails only its own --

@pytest.fixture(scope="module")
def graded(kit, tmp_path_factory) -> tuple[list[str], dict[str, dict[str, str]]]:
    student, key = read(kit / handout.NOTEBOOK_NAME), read(kit / "key" / handout.NOTEBOOK_NAME)
    folder = tmp_path_factory.mktemp("submissions")
    nbformat.write(answered(student, key), folder / "alice.ipynb")
    nbformat.write(answered(student, key, wrong=True), folder / "bob.ipynb")
    (folder / "carol.ipynb").write_text('{"cells": [')  # a broken file
    out_csv = folder / "scores.csv"
    proc = subprocess.run([sys.executable, "-m", "mlplab.pipeline.handout", "grade", str(folder),
                           "--autograder", str(kit / "autograder.zip"), "--jobs", "2"],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr
    with out_csv.open() as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), {row["submission"]: row for row in reader}


def test_scores_csv_has_a_column_per_question_in_order(graded):
    header, rows = graded
    assert header == ["submission", *[f"q{i}" for i in range(1, 14)], "total", "possible",
                      "percent", "error"]
    assert sorted(rows) == ["alice.ipynb", "bob.ipynb", "carol.ipynb"]


def test_a_broken_submission_gets_its_error_and_no_points(graded):
    carol = graded[1]["carol.ipynb"]
    assert "JSON" in carol["error"] and "\n" not in carol["error"]
    assert carol["total"] == "0" and carol["possible"] == "13"


def test_the_keys_answers_pass_every_check(graded):
    alice = graded[1]["alice.ipynb"]
    assert alice["error"] == ""
    assert [alice[f"q{i}"] for i in range(1, 14)] == ["1"] * 13
    assert alice["total"] == alice["possible"] == "13" and alice["percent"] == "100.0"


def test_one_wrong_answer_fails_exactly_its_check(graded):
    bob = graded[1]["bob.ipynb"]
    assert bob["error"] == ""
    failed = {f"q{i}": bob[f"q{i}"] for i in range(1, 14) if bob[f"q{i}"] != "1"}
    assert set(failed) == {WRONG_QUESTION}
    assert float(failed[WRONG_QUESTION]) < 1  # partial credit at most: one of its cases fails
    assert float(bob["total"]) == 12 + float(failed[WRONG_QUESTION])


def test_grading_refuses_a_folder_without_submissions(kit, tmp_path):
    with pytest.raises(handout.HandoutError, match="no .ipynb submissions"):
        handout.grade(tmp_path, kit / "autograder.zip", tmp_path / "scores.csv")
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
    story = read(ROOT / "notebooks" / "mlp_lab.ipynb")
    headings = [line.lstrip("# ").strip() for c in story.cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("## ")]
    told = [h for h in headings if h not in handout.SKIP_SECTIONS]
    assert told and all(h in html.unescape(text) for h in told)
    assert text.count("<section") >= len(headings)


@pytest.mark.skipif(not HAS_CHROMIUM, reason="Debian chromium not installed")
def test_pdf_has_every_exercise(kit):
    pdf = kit / "handout.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    text = " ".join(text.split())
    for i in range(1, 14):
        assert f"Question {i} (" in text, i
    assert "Seeds, spread and what three runs can tell you" in text


@pytest.mark.browser
@pytest.mark.skipif(not HAS_CHROMIUM, reason="Debian chromium not installed")
@pytest.mark.parametrize("page", ["slides.html", "handout.html", "key/handout.html"])
def test_kit_pages_meet_wcag_aa(kit, page):
    """The kit's pages pass the same axe-core WCAG 2.1 A/AA check as the report's."""
    from test_a11y import check_page, describe

    violations = check_page(kit / page)
    assert violations == [], describe(violations)


# --- One overfitting rule for the handout and the report --------------------------------

def history(val_loss: list[float], train_accuracy: float = 0.99) -> dict[str, list[float]]:
    n = len(val_loss)
    return {"val_loss": val_loss, "loss": list(np.linspace(1.0, 0.1, n)),
            "accuracy": [train_accuracy] * n, "val_accuracy": [0.9] * n}


@pytest.mark.parametrize("rise", [0.02, 0.04, 0.06, 0.20])
def test_the_handout_calls_overfitting_what_the_report_calls_overfitting(rise):
    h = history([0.5, 0.4, 0.4 * (1 + rise)])
    expected = "overfitting" if outcomes.fit_of(h).overfitting else "good fit"
    assert handout_lab.diagnose(h) == expected
    assert (expected == "overfitting") == (rise > outcomes.RISE_TOLERANCE)


def test_underfitting_is_a_low_training_accuracy_without_overfitting():
    assert handout_lab.diagnose(history([0.9, 0.8, 0.79], train_accuracy=0.6)) == "underfitting"


def test_a_rise_while_the_training_loss_also_rose_is_not_overfitting():
    h = history([0.5, 0.4, 0.6])
    assert handout_lab.diagnose(h) == "overfitting"
    h["loss"] = [1.0, 0.5, 0.6]  # training loss went up too: the network is not overfitting
    assert handout_lab.diagnose(h) == "good fit"


@pytest.mark.parametrize("n_seeds, table", [(2, 12.706), (3, 4.303), (10, 2.262)])
def test_t_multiplier_is_the_two_sided_95_quantile_on_n_minus_1_degrees(n_seeds, table):
    """The values of every t table (two-sided 95%, n − 1 degrees of freedom)."""
    assert handout_lab.t_multiplier(n_seeds) == pytest.approx(table, abs=5e-4)


def test_the_handout_states_the_report_rule():
    text = "\n".join(c.source for c in read(SOURCE).cells if c.cell_type == "markdown")
    rule = text.split("* **overfitting**")[1].split("* **underfitting**")[0]
    assert f"more than {outcomes.RISE_TOLERANCE:.0%} above its lowest" in rule
    assert f"`lab.RISE_TOLERANCE` = {outcomes.RISE_TOLERANCE:g}" in rule
    assert handout_lab.RISE_TOLERANCE is outcomes.RISE_TOLERANCE


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
    handout.export_slides(nb, tmp_path / "slides.html", "Bare")
    assert image_alts(tmp_path / "slides.html") == [handout.NBCONVERT_PLACEHOLDER_ALT]
    (tmp_path / "page.html").write_text('<img src="a.png"><img src="b.png" alt=" ">'
                                        '<img src="c.png" alt="Three digits: 0, 1 and 2.">')
    assert handout.undescribed_images(tmp_path / "page.html") == 2
    with pytest.raises(handout.HandoutError, match=r"^slides\.html: 1 image\(s\) without"):
        handout.check_described([tmp_path / "slides.html"], tmp_path)


@pytest.mark.parametrize("page", ["slides.html", "handout.html", "key/handout.html"])
def test_no_kit_page_has_an_undescribed_image(kit, page):
    assert handout.undescribed_images(kit / page) == 0
