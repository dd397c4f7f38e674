"""The classroom kit: a student notebook, its key, an autograder, lecture slides and PDFs.

``make handout`` runs ``python -m mlplab.pipeline.handout build``. Its sources are the report's:
notebooks/handout.ipynb holds questions, solutions and explanations in one file (``assign``
splits it); the hidden checks are handout_templates/handout_grading.py; the slides are the
master notebook notebooks/mlp_lab.ipynb, executed. Into report/handout/:

- ``handout.ipynb``: the student notebook (no outputs, no solutions; ``check("q1")`` cells
  check the form of each answer, never its value, and need no file) and ``handout.html``,
  ``handout-a4.pdf``, ``handout-letter.pdf``: the same to read or print;
- ``install/``: the mlplab wheel and the pinned requirements a student installs from;
- ``key/``: the instructor's key, executed, every hidden check passing (the build fails
  otherwise), with every answer explained, and ``rubric.md`` for the "My predictions" cell;
- ``autograder.zip``: the hidden checks, for ``python -m mlplab.pipeline.handout grade``
  (``handout_grade``: each submission in its own sandbox) and for otter's standard grading;
- ``slides.html``: reveal.js slides for a room (``handout_slides``): the master notebook's
  story and the handout's sections and exercises, with reveal.js and MathJax copied beside
  them (``reveal.js/``, ``assets/``): nothing is loaded from the network.

Every figure on these pages carries the text description (alt text) the report's pages give
it; the build fails on an image without one.

This module runs on the driver side and never imports TensorFlow: kernels do.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import nbformat

from mlplab.pipeline import wheelhouse
from mlplab.pipeline.handout_grade import TEMPLATES_DIR
from mlplab.results import write_bytes_atomic

SOURCE = Path("notebooks/handout.ipynb")
MASTER = Path("notebooks/mlp_lab.ipynb")
OUT = Path("report/handout")
NOTEBOOK_NAME = "handout.ipynb"
REQUIREMENTS = Path("requirements.lock")  # install/requirements.txt: its pins a student needs
GRADING_MODULE = "handout_grading.py"  # the hidden checks (handout_templates/), never in the wheel
RUBRIC = "rubric.md"  # how to mark the ungraded "My predictions" cell
PAPER_SIZES = ("A4", "Letter")
REVEAL_FILES = ("LICENSE", "dist/reveal.js", "dist/reveal.css", "dist/theme/white.css",
                "dist/theme/fonts/source-sans-pro", "plugin/notes/notes.js")
CHROMIUM = "chromium"
CELL_TIMEOUT = 900  # seconds; the key's slowest cell trains six networks
# otter's command line (`python -m otter`), mlplab imported first: otter imports nbformat,
# whose jsonschema would build rfc3987-syntax's grammar (~10 CPU-seconds a process; see
# mlplab/__init__.py).
OTTER = (sys.executable, "-c", "import mlplab; from otter.cli import cli; cli(prog_name='otter')")
# What nbconvert writes for an image that has no alt text: no description at all.
NBCONVERT_PLACEHOLDER_ALT = "No description has been provided for this image"
# On paper: no on-screen "Hide code" switch, and long code lines wrap instead of being cut.
PRINT_CSS = """<style media="print">
.mlplab-toggle { display: none !important; }
.jp-Cell pre { white-space: pre-wrap; overflow-wrap: anywhere; }
</style>
"""


class HandoutError(Exception):
    """A problem that stops the build or the grading, said in one line."""


# --- Building ---------------------------------------------------------------------------

@dataclass
class Question:
    """A question of the handout source: its name and points (from its BEGIN QUESTION cell)."""

    name: str
    points: float


def _marker(cell: nbformat.NotebookNode) -> str:
    """'BEGIN QUESTION', 'BEGIN SOLUTION', … for a raw marker cell, else ''."""
    if cell.cell_type != "raw":
        return ""
    m = re.match(r"#\s*((?:BEGIN|END) (?:QUESTION|SOLUTION))\b", cell.source.strip())
    return m.group(1) if m else ""


def strip_solution(code: str) -> str:
    """A solution cell as the student gets it: ``x = expr  # SOLUTION`` becomes ``x = ...``,
    ``# SOLUTION NO PROMPT`` lines and ``# BEGIN SOLUTION`` … ``# END SOLUTION`` blocks go."""
    kept, hiding = [], False
    for line in code.splitlines():
        stripped = line.strip()
        if stripped == "# BEGIN SOLUTION":
            hiding = True
        elif stripped == "# END SOLUTION":
            hiding = False
        elif hiding or SOLUTION_LINE.search(line) and "NO PROMPT" in line:
            continue
        elif m := SOLUTION_LINE.search(line):
            target = ASSIGNMENT_TARGET.match(line[:m.start()])
            kept.append(f"{target.group(1)} = ..." if target else
                        line[:len(line) - len(line.lstrip())] + "...")
        else:
            kept.append(line)
    return "\n".join(kept)


def key_code(code: str) -> str:
    """A solution cell as the key shows it: the solution markers taken out."""
    lines = [SOLUTION_LINE.sub("", line) for line in code.splitlines()
             if line.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION")]
    return "\n".join(lines)


SOLUTION_LINE = re.compile(r"\s*# SOLUTION( NO PROMPT)?\s*$")
ASSIGNMENT_TARGET = re.compile(r"(\s*[A-Za-z_][\w, ]*?)\s*=(?!=)")  # `a, b = ...`, not `f(x=1)`


def assign(source: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode,
                                                   nbformat.NotebookNode, list[Question]]:
    """Split the handout source into the student notebook and the key.

    Questions sit between raw ``# BEGIN QUESTION`` (``name:``, ``points:``) and
    ``# END QUESTION`` cells; between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` code cells
    are solutions (stripped for the student) and text cells explanations (key only). Each
    question ends with a ``check("qN")`` cell: the public check of its answers' form.
    """
    student, key = copy.deepcopy(source), copy.deepcopy(source)
    student.cells, key.cells, found = [], [], []
    current, in_solution = None, False
    for cell in source.cells:
        mark = _marker(cell)
        if mark == "BEGIN QUESTION":
            config = dict(line.split(":", 1) for line in cell.source.splitlines()[1:]
                          if ":" in line)
            current = Question(config["name"].strip(), float(config.get("points", 1)))
            found.append(current)
        elif mark == "END QUESTION":
            for nb in (student, key):
                nb.cells.append(nbformat.v4.new_code_cell(f'check("{current.name}")'))
            current = None
        elif mark in ("BEGIN SOLUTION", "END SOLUTION"):
            in_solution = mark == "BEGIN SOLUTION"
        elif in_solution and cell.cell_type == "markdown":
            key.cells.append(copy.deepcopy(cell))
        elif in_solution and cell.cell_type == "code":
            for nb, text in ((student, strip_solution(cell.source)),
                             (key, key_code(cell.source))):
                c = copy.deepcopy(cell)
                c.source = text
                nb.cells.append(c)
        else:
            student.cells.append(copy.deepcopy(cell))
            key.cells.append(copy.deepcopy(cell))
    for nb in (student, key):
        for n, cell in enumerate(nb.cells):
            cell["id"] = f"cell-{n}"
    return student, key, found


def natural_order(names: Iterable[str]) -> list[str]:
    """q1, q2, …, q10 rather than q1, q10, q2."""
    return sorted(names, key=lambda q: [int(p) if p.isdigit() else p
                                        for p in re.split(r"(\d+)", q)])


@contextmanager
def _kernel_sockets() -> Iterator[Path]:
    sockets = Path(tempfile.mkdtemp(prefix="mlk"))
    try:
        yield sockets
    finally:
        shutil.rmtree(sockets, ignore_errors=True)


def execute(nb: nbformat.NotebookNode, cwd: Path, timeout: int = CELL_TIMEOUT) -> None:
    """Run every cell of ``nb`` in place, in a new kernel started in ``cwd`` (forked from a
    server that imported TensorFlow where $MLPLAB_KERNEL_FORKS names one's folder)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from mlplab.pipeline.kernels import ipc_kernel_manager

    with _kernel_sockets() as sockets:
        client = NotebookClient(nb, kernel_name="python3", timeout=timeout,
                                resources={"metadata": {"path": str(cwd)}},
                                kernel_manager_class=ipc_kernel_manager(sockets, forks=True))
        try:
            client.execute()
        except CellExecutionError as err:
            raise HandoutError(f"{_first_line(str(err))}") from None


def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    error = next((line for line in reversed(lines) if re.match(r"^\w*(Error|Exception)", line)),
                 lines[-1] if lines else "error")
    return " ".join(error.split())[:300]


def execute_key(key: nbformat.NotebookNode, cwd: Path) -> tuple[nbformat.NotebookNode, dict]:
    """Execute the key in ``cwd`` and return it with its answers' bundle (``collect``)."""
    from mlplab.pipeline.handout_grade import COLLECT_CELL

    nb = copy.deepcopy(key)
    bundle = cwd.resolve() / ".answers.json"  # the kernel runs in cwd: a relative path fails
    nb.cells.append(nbformat.v4.new_code_cell(COLLECT_CELL.format(path=str(bundle))))
    execute(nb, cwd)
    nb.cells.pop()
    answers = json.loads(bundle.read_text(encoding="utf-8"))
    bundle.unlink()
    return nb, answers


def execute_master(master: Path, cwd: Path) -> nbformat.NotebookNode:
    """The master notebook executed with its own defaults (one seed, as a student opens it)."""
    nb = nbformat.read(master, as_version=4)
    execute(nb, cwd)
    return nb


def has_outputs(nb: nbformat.NotebookNode) -> bool:
    return any(c.cell_type == "code" and (c.outputs or c.execution_count is not None)
               for c in nb.cells)


# --- The autograder ---------------------------------------------------------------------

def otter_test(question: Question, answers: list[str]) -> str:
    """Otter's test file for ``question``: one hidden case per answer, each asking the hidden
    checks (``handout_grading.part``) about the notebook's own variables."""
    cases = [{"code": ">>> import handout_grading\n"
                      ">>> from mlplab.lab.handout_lab import collect\n"
                      f">>> handout_grading.part({question.name!r}, {name!r}, "
                      "collect(globals()))\nTrue",
              "hidden": True, "locked": False, "points": question.points / len(answers)}
             for name in answers]
    test = {"name": question.name, "points": question.points,
            "suites": [{"type": "doctest", "scored": True, "setup": "", "teardown": "",
                        "cases": cases}]}
    # OK_FORMAT: otter reads the dict as an OK-format test only when the file says so (else
    # "Malformed test file" ends the grading cell, and otter reports "Autograder Failed").
    return f"OK_FORMAT = True\n\ntest = {test!r}\n"


def build_autograder(questions: list[Question], wheel: Path, requirements: Path,
                     dest: Path) -> None:
    """``autograder.zip`` for otter's standard grading (``otter run``, or its Docker image):
    the hidden checks as otter tests, ``handout_grading.py``, and an environment that
    installs the kit's own mlplab wheel and pinned requirements."""
    from mlplab.handout_answers import QUESTIONS

    with tempfile.TemporaryDirectory(prefix="mlplab-otter-") as tmp:
        tmp_path = Path(tmp)
        tests = tmp_path / "tests"
        tests.mkdir()
        for q in questions:
            (tests / f"{q.name}.py").write_text(
                otter_test(q, [a.name for a in QUESTIONS[q.name]]), encoding="utf-8")
        shutil.copyfile(TEMPLATES_DIR / GRADING_MODULE, tmp_path / GRADING_MODULE)
        shutil.copyfile(wheel, tmp_path / wheel.name)
        reqs = tmp_path / "requirements.txt"
        reqs.write_text(requirements.read_text(encoding="utf-8")
                        + f"/autograder/source/files/{wheel.name}\n", encoding="utf-8")
        (tmp_path / "otter_config.json").write_text(json.dumps(
            {"lang": "python", "show_stdout": False, "show_hidden": False}), encoding="utf-8")
        proc = subprocess.run(
            [*OTTER, "generate", "-t", "tests", "-r", "requirements.txt",
             "--overwrite-requirements", "-c", "otter_config.json", "--no-environment",
             "--python-version", f"{sys.version_info.major}.{sys.version_info.minor}",
             "-o", str(dest.resolve()), GRADING_MODULE, wheel.name],
            cwd=tmp_path, capture_output=True, text=True)
        if proc.returncode != 0 or not dest.is_file():
            raise HandoutError(f"otter generate failed: {_last_line(proc.stderr)}")


def build_wheel(dest: Path) -> Path:
    """The mlplab wheel students install, built from a clean copy of the sources without the
    hidden checks (and nothing stale or local)."""
    root = Path(__file__).resolve().parents[3]
    with tempfile.TemporaryDirectory(prefix="mlplab-wheel-") as tmp:
        shutil.copytree(root / "src", Path(tmp) / "src",
                        ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
        shutil.copyfile(root / "pyproject.toml", Path(tmp) / "pyproject.toml")
        (Path(tmp) / TEMPLATES_DIR.relative_to(root) / GRADING_MODULE).unlink()
        proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                               "--no-build-isolation", "--quiet", "-w", str(dest.resolve()),
                               tmp], capture_output=True, text=True, cwd=tmp)
    wheels = sorted(dest.glob("mlplab-*.whl"))
    if proc.returncode != 0 or len(wheels) != 1:
        raise HandoutError(f"{root}: could not build the mlplab wheel: "
                           f"{_last_line(proc.stderr)}")
    with zipfile.ZipFile(wheels[0]) as z:
        if any(n.endswith(GRADING_MODULE) for n in z.namelist()):
            raise HandoutError(f"{wheels[0].name} contains the hidden checks")
    return wheels[0]


# --- Slides -----------------------------------------------------------------------------

def reveal_source() -> Path:
    """reveal.js as shipped by the sphinx-revealjs wheel (pinned in requirements.lock)."""
    import importlib.util

    spec = importlib.util.find_spec("sphinx_revealjs")
    if spec is None or spec.origin is None:
        raise HandoutError("reveal.js not found: install sphinx-revealjs (requirements.lock)")
    root = Path(spec.origin).parent / "_static" / "revealjs"
    missing = [f for f in REVEAL_FILES if not (root / f).exists()]
    if missing:
        raise HandoutError(f"{root}: reveal.js files missing: {', '.join(missing)}")
    return root


def install_reveal(out: Path) -> Path:
    """Copy the reveal.js files the slides load into ``out/reveal.js``."""
    root, dest = reveal_source(), out / "reveal.js"
    for name in REVEAL_FILES:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, dest / name, dirs_exist_ok=True)
        else:
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest / name)
    return dest


class _ImageAlts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.alts: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.alts.append(dict(attrs).get("alt"))


def undescribed_images(page: Path) -> int:
    """How many images on ``page`` a screen-reader user would get nothing from: no alt text,
    an empty one or nbconvert's placeholder. Every figure of the kit is data, not decoration,
    so each must say what it shows (``mlplab.lab.plots.show`` puts that in its metadata)."""
    parser = _ImageAlts()
    parser.feed(Path(page).read_text(encoding="utf-8"))
    return sum(1 for alt in parser.alts
               if alt is None or not alt.strip() or alt.strip() == NBCONVERT_PLACEHOLDER_ALT)


def check_described(pages: Iterable[Path], root: Path) -> None:
    """Refuse a kit with an undescribed figure, naming the page (relative to ``root``)."""
    for page in pages:
        if n := undescribed_images(page):
            raise HandoutError(f"{page.relative_to(root)}: {n} image(s) without a description "
                               "(alt text); display figures with mlplab.lab.plots.show")


# --- PDF --------------------------------------------------------------------------------

def add_print_css(page: Path) -> None:
    """Make a rendered notebook page print well (see ``PRINT_CSS``)."""
    text = page.read_text(encoding="utf-8")
    if "</head>" not in text:
        raise HandoutError(f"{page}: no </head> to add the print style to")
    write_bytes_atomic(page, text.replace("</head>", PRINT_CSS + "</head>", 1).encode("utf-8"))


def chromium() -> str:
    path = shutil.which(CHROMIUM)
    if path is None:
        raise HandoutError("handout.pdf needs Debian's chromium (apt-get install chromium); "
                           "or build without it: python -m mlplab.pipeline.handout build --no-pdf")
    return path


def print_pdf(html_path: Path, pdf_path: Path, browser: str, paper: str = "A4",
              timeout: int = 120) -> None:
    """Print a local page to PDF on ``paper`` (a CSS page size: A4, Letter) with headless
    Chromium, bookmarks from its headings, every network request refused."""
    page = html_path.with_name(f".print-{paper.lower()}-{html_path.name}")
    text = html_path.read_text(encoding="utf-8")
    page.write_text(text.replace("</head>", f"<style>@page {{ size: {paper}; margin: 15mm; }}"
                                            "</style></head>", 1), encoding="utf-8")
    try:
        with tempfile.TemporaryDirectory(prefix="mlplab-chromium-") as profile:
            proc = subprocess.run(
                [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
                 f"--user-data-dir={profile}", "--no-pdf-header-footer",
                 "--generate-pdf-document-outline",
                 "--virtual-time-budget=20000", f"--print-to-pdf={pdf_path}",
                 page.resolve().as_uri()],
                capture_output=True, text=True, timeout=timeout)
    finally:
        page.unlink(missing_ok=True)
    if proc.returncode != 0 or not pdf_path.is_file() or pdf_path.stat().st_size == 0:
        raise HandoutError(f"{html_path}: chromium could not print it to PDF: "
                           f"{_last_line(proc.stderr)}")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no message)"


# --- The build --------------------------------------------------------------------------

def build(out: Path = OUT, source: Path = SOURCE, master: Path = MASTER, *,
          slides_from: Path | None = None, execute_the_key: bool = True,
          pdf: bool = True) -> Path:
    """Build the kit into ``out``, replacing it whole only once everything succeeded.

    ``slides_from``: a notebook to make the slides from as it is (e.g. an executed
    report/runs/<name>.ipynb); by default the master notebook is executed with its own
    defaults. ``execute_the_key=False`` keeps the key unexecuted (and unchecked).
    """
    from mlplab.pipeline import handout_slides, html

    out, source = Path(out), Path(source)
    for path in (source, master, slides_from):
        if path is not None and not Path(path).is_file():
            raise HandoutError(f"{path}: no such notebook")
    source_nb = nbformat.read(source, as_version=4)
    if has_outputs(source_nb):
        raise HandoutError(f"{source}: the handout source must be committed without outputs")
    browser = chromium() if pdf else None
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".handout-", dir=out.parent))
    try:
        student, key, found = assign(source_nb)
        nbformat.write(student, stage / NOTEBOOK_NAME)
        (stage / "key").mkdir()
        install = stage / "install"
        install.mkdir()
        wheel = build_wheel(install)
        (install / "requirements.txt").write_text(wheelhouse.pins_for(wheel, REQUIREMENTS),
                                                   encoding="utf-8")
        # otter's grading environment installs the whole lock: otter itself is in it.
        build_autograder(found, wheel, REQUIREMENTS, stage / "autograder.zip")
        shutil.copyfile(TEMPLATES_DIR / RUBRIC, stage / "key" / RUBRIC)
        if execute_the_key:
            key, answers = execute_key(key, stage / "key")
            checks = load_grading(stage / "autograder.zip")
            failed = [f"{q}.{p.name}" for q, r in checks.grade(answers).items()
                      for p in r.parts if not p.passed]
            if failed:
                raise HandoutError(f"{source}: the key fails its own checks: "
                                   f"{', '.join(failed)}")
        nbformat.write(key, stage / "key" / NOTEBOOK_NAME)

        html.install_assets(stage)
        html.render(stage / NOTEBOOK_NAME, stage / "handout.html", assets_href="assets",
                    title="Lab handout: how a small neural network learns digits")
        html.render(key, stage / "key" / "handout.html", assets_href="../assets",
                    title="Lab handout: instructor's key")
        for page in (stage / "handout.html", stage / "key" / "handout.html"):
            add_print_css(page)

        slides_nb = (nbformat.read(slides_from, as_version=4) if slides_from
                     else execute_master(master, Path.cwd()))
        install_reveal(stage)
        handout_slides.export(slides_nb, source_nb, stage / "slides.html",
                              "How a small neural network learns handwritten digits")
        check_described([stage / "handout.html", stage / "key" / "handout.html",
                         stage / "slides.html"], stage)
        if browser:
            for size in PAPER_SIZES:
                print_pdf(stage / "handout.html", stage / f"handout-{size.lower()}.pdf",
                          browser, size)
        _replace_dir(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return out


def load_grading(autograder: Path):
    from mlplab.pipeline.handout_grade import load_checks

    return load_checks(autograder)


def _replace_dir(new: Path, old: Path) -> None:
    """Put ``new`` in the place of ``old`` by renames: a reader sees one or the other."""
    new.chmod(0o755)
    trash = old.with_name(f".{old.name}-old-{os.getpid()}")
    if old.exists():
        old.rename(trash)
    new.rename(old)
    shutil.rmtree(trash, ignore_errors=True)


# --- Command line -----------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    from mlplab.pipeline import handout_grade

    parser = argparse.ArgumentParser(prog="python -m mlplab.pipeline.handout", description=__doc__
                                     .split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build the classroom kit into report/handout/")
    b.add_argument("--out", type=Path, default=OUT)
    b.add_argument("--source", type=Path, default=SOURCE, help="the handout's source notebook")
    b.add_argument("--master", type=Path, default=MASTER, help="notebook the slides tell")
    b.add_argument("--slides-from", type=Path, default=None,
                   help="an already executed notebook to make the slides from, as it is")
    b.add_argument("--no-pdf", action="store_true", help="skip the PDFs (no chromium)")
    g = sub.add_parser("grade", help="grade a folder of submitted notebooks, each in a sandbox")
    g.add_argument("folder", type=Path)
    g.add_argument("--autograder", type=Path, default=OUT / "autograder.zip")
    g.add_argument("--out", type=Path, default=None, help="CSV (default: FOLDER/scores.csv)")
    g.add_argument("--jobs", type=int, default=1, help="submissions graded at once")
    g.add_argument("--timeout", type=int, default=handout_grade.TIMEOUT,
                   help="seconds one submission may run")
    g.add_argument("--memory-gb", type=float, default=handout_grade.MEMORY / 2**30,
                   help="address space one submission may use")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            out = build(args.out, args.source, args.master, slides_from=args.slides_from,
                        pdf=not args.no_pdf)
            print(f"wrote {out}/: {NOTEBOOK_NAME} (hand out), install/, key/, autograder.zip, "
                  f"slides.html" + ("" if args.no_pdf else ", handout-a4.pdf, handout-letter.pdf"),
                  file=sys.stderr)
        else:
            out_csv = args.out or args.folder / "scores.csv"
            graded = handout_grade.grade(args.folder, args.autograder, out_csv, args.jobs,
                                         args.timeout, int(args.memory_gb * 2**30))
            for g in graded:
                line = f"{g.total:.4g} points" + (f"; ERROR {g.error}" if g.error else "")
                line += "".join(f"; {note}" for note in g.notes)
                print(f"{g.submission}: {line}", file=sys.stderr)
            print(f"wrote {out_csv}, {out_csv.parent / 'feedback'}/, "
                  f"{out_csv.parent / 'canvas.csv'}", file=sys.stderr)
    except (HandoutError, handout_grade.GradingError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
