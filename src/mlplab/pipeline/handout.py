"""The classroom kit: a student notebook, its key, an autograder, lecture slides and a PDF.

``make handout`` runs ``python -m mlplab.pipeline.handout build``. Its sources are the report's:
notebooks/handout.ipynb is an otter-grader master notebook (questions, solutions and checks
in one file) that trains with ``mlplab.lab.train`` and checks answers with mlplab's own functions;
the slides are the master notebook notebooks/mlp_lab.ipynb, executed. Into report/handout/:

- ``handout.ipynb``: the student notebook (no outputs, no solutions; its checks travel in its
  metadata, so ``grader.check("q1")`` works offline) and ``handout.html``/``handout.pdf``,
  the same notebook to read or print;
- ``key/handout.ipynb`` and ``key/handout.html``: the instructor's key, executed, every check
  passing (the build fails otherwise);
- ``autograder.zip``: otter's grading configuration, for
  ``python -m mlplab.pipeline.handout grade``,
  which grades a folder of submitted notebooks without Docker and writes a CSV of scores;
- ``slides.html``: reveal.js slides of the master notebook, with reveal.js and MathJax copied
  beside them (``reveal.js/``, ``assets/``): nothing is loaded from the network.

Every figure on these pages carries the text description (alt text) the report's pages give
it; the build fails on an image without one.

This module runs on the driver side and never imports TensorFlow: kernels do.
"""

from __future__ import annotations

import argparse
import ast
import copy
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import nbformat

from mlplab.results import write_bytes_atomic

SOURCE = Path("notebooks/handout.ipynb")
MASTER = Path("notebooks/mlp_lab.ipynb")
OUT = Path("report/handout")
NOTEBOOK_NAME = "handout.ipynb"  # the name the student notebook's otter init cell opens
TEMPLATES_DIR = Path(__file__).parent / "handout_templates"
SLIDES_TEMPLATE = "slides"
REVEAL_FILES = ("LICENSE", "dist/reveal.js", "dist/reveal.css", "dist/theme/white.css",
                "dist/theme/fonts/source-sans-pro", "plugin/notes/notes.js")
CHROMIUM = "chromium"
CELL_TIMEOUT = 900  # seconds; the key's slowest cell trains six networks
CHECKS_MARK = "MLPLAB-CHECKS "
SKIP_SECTIONS = ("Results record",)  # master-notebook sections that are no lecture material
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
class Assigned:
    """What ``otter assign`` made from the handout source."""

    student: Path
    key: Path
    autograder: Path


def assign(source: Path, dest: Path) -> Assigned:
    """Split the otter master notebook into student notebook, key and autograder zip.

    Otter's own test run is skipped: ``execute_key`` runs the key once and keeps its outputs.
    """
    proc = subprocess.run([sys.executable, "-m", "otter", "assign", "--no-run-tests",
                           "--no-pdfs", str(source), str(dest)],
                          capture_output=True, text=True)
    zips = sorted((dest / "autograder").glob("*.zip"))
    if proc.returncode != 0 or len(zips) != 1:
        raise HandoutError(f"{source}: otter assign failed: {_last_line(proc.stderr)}")
    return Assigned(dest / "student" / source.name, dest / "autograder" / source.name, zips[0])


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no message)"


def questions(nb: nbformat.NotebookNode) -> list[str]:
    """The question names of an otter notebook, in order (its checks live in its metadata)."""
    return natural_order(nb.metadata.get("otter", {}).get("tests", {}))


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
    """Run every cell of ``nb`` in place, in a fresh kernel started in ``cwd``."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from mlplab.pipeline.runner import ipc_kernel_manager

    with _kernel_sockets() as sockets:
        client = NotebookClient(nb, kernel_name="python3", timeout=timeout,
                                resources={"metadata": {"path": str(cwd)}},
                                kernel_manager_class=ipc_kernel_manager(sockets))
        try:
            client.execute()
        except CellExecutionError as err:
            raise HandoutError(f"{_first_line(str(err))}") from None


def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    error = next((line for line in reversed(lines) if re.match(r"^\w*(Error|Exception)", line)),
                 lines[-1] if lines else "error")
    return " ".join(error.split())[:300]


def execute_key(key: Path) -> tuple[nbformat.NotebookNode, dict[str, bool]]:
    """Execute the key beside its own file (otter's init cell opens it) and ask every check.

    Returns the executed notebook (without the probe cell) and {question: passed}.
    """
    nb = nbformat.read(key, as_version=4)
    names = questions(nb)
    probe = nbformat.v4.new_code_cell(
        "import json as _json\n"
        f"print({CHECKS_MARK!r} + _json.dumps({{_q: bool(grader.check(_q).passed_all) "
        f"for _q in {names!r}}}))")
    nb.cells.append(probe)
    execute(nb, key.parent)
    nb.cells.pop()
    text = "".join(o.get("text", "") for o in probe.outputs if o.get("name") == "stdout")
    found = [line for line in text.splitlines() if line.startswith(CHECKS_MARK)]
    if not found:
        raise HandoutError(f"{key.name}: the key's checks did not report")
    return nb, json.loads(found[0][len(CHECKS_MARK):])


def execute_master(master: Path, cwd: Path) -> nbformat.NotebookNode:
    """The master notebook executed with its own defaults (one seed, as a student opens it)."""
    nb = nbformat.read(master, as_version=4)
    execute(nb, cwd)
    return nb


def has_outputs(nb: nbformat.NotebookNode) -> bool:
    return any(c.cell_type == "code" and (c.outputs or c.execution_count is not None)
               for c in nb.cells)


# --- Slides -----------------------------------------------------------------------------

def slide_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` with reveal.js slide types set, for a lecture from its story.

    Top-level headings (#, ##) open a slide, ### headings and every other text cell a
    sub-slide below it, and each code cell's output (a figure, a table, a computed paragraph)
    its own sub-slide; code cells without output, the parameters cell, solutions and cells
    tagged ``not-on-slides`` (how to build or open the notebook) are skipped, and so are the
    sections named in ``SKIP_SECTIONS``. The master notebook itself
    is not changed.
    """
    nb = copy.deepcopy(nb)
    kept, skipping = [], False
    for cell in nb.cells:
        tags = set(cell.metadata.get("tags", []))
        if tags & {"parameters", "solution", "injected-parameters", "not-on-slides"}:
            continue
        heading = re.match(r"\s*(#+)\s+(.*)", cell.source) if cell.cell_type == "markdown" \
            else None
        if heading and len(heading.group(1)) <= 2:
            skipping = heading.group(2).strip() in SKIP_SECTIONS
        if skipping:
            continue
        if cell.cell_type == "markdown":
            kind = "slide" if heading and len(heading.group(1)) <= 2 else "subslide"
        elif cell.cell_type == "code" and _visible_outputs(cell):
            cell.outputs = _visible_outputs(cell)
            kind = "subslide"
        else:
            continue
        cell.metadata["slideshow"] = {"slide_type": kind}
        kept.append(cell)
    if kept:
        kept[0].metadata["slideshow"] = {"slide_type": "slide"}
    nb.cells = kept
    return nb


def _visible_outputs(cell: nbformat.NotebookNode) -> list:
    """Outputs worth a slide: displays, not stderr warnings or a bare Python repr."""
    return [o for o in cell.get("outputs", [])
            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            and not (o.get("output_type") == "execute_result"
                     and set(o.get("data", {})) <= {"text/plain"})]


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


def export_slides(nb: nbformat.NotebookNode, html_path: Path, title: str) -> None:
    """reveal.js slides of ``nb`` (code hidden) at ``html_path``, loading reveal.js and
    MathJax from ``reveal.js/`` and ``assets/`` beside it."""
    from nbconvert import SlidesExporter
    from traitlets.config import Config

    config = Config()
    config.SlidesExporter.exclude_input = True
    config.SlidesExporter.exclude_input_prompt = True
    config.SlidesExporter.exclude_output_prompt = True
    exporter = SlidesExporter(config=config, template_name=SLIDES_TEMPLATE,
                              extra_template_basedirs=[str(TEMPLATES_DIR)],
                              reveal_url_prefix="reveal.js", reveal_theme="white",
                              mathjax_url="assets/mathjax/tex-svg-full.js")
    nb = slide_notebook(nb)
    nb.metadata["title"] = title
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    write_bytes_atomic(html_path, body.encode("utf-8"))


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


def print_pdf(html_path: Path, pdf_path: Path, browser: str, timeout: int = 120) -> None:
    """Print a local page to PDF with headless Chromium, every network request refused."""
    with tempfile.TemporaryDirectory(prefix="mlplab-chromium-") as profile:
        proc = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update",
             "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
             f"--user-data-dir={profile}", "--no-pdf-header-footer",
             "--virtual-time-budget=20000", f"--print-to-pdf={pdf_path}",
             html_path.resolve().as_uri()],
            capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0 or not pdf_path.is_file() or pdf_path.stat().st_size == 0:
        raise HandoutError(f"{html_path}: chromium could not print it to PDF: "
                           f"{_last_line(proc.stderr)}")


# --- The build --------------------------------------------------------------------------

def build(out: Path = OUT, source: Path = SOURCE, master: Path = MASTER, *,
          slides_from: Path | None = None, execute_the_key: bool = True,
          pdf: bool = True) -> Path:
    """Build the kit into ``out``, replacing it whole only once everything succeeded.

    ``slides_from``: a notebook to make the slides from as it is (e.g. an executed
    report/runs/<name>.ipynb); by default the master notebook is executed with its own
    defaults. ``execute_the_key=False`` keeps the key unexecuted (and unchecked).
    """
    from mlplab.pipeline import html

    out, source = Path(out), Path(source)
    for path in (source, master, slides_from):
        if path is not None and not Path(path).is_file():
            raise HandoutError(f"{path}: no such notebook")
    if has_outputs(nbformat.read(source, as_version=4)):
        raise HandoutError(f"{source}: the handout source must be committed without outputs")
    browser = chromium() if pdf else None
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".handout-", dir=out.parent))
    work = Path(tempfile.mkdtemp(prefix="mlplab-handout-"))
    try:
        made = assign(source, work / "otter")
        shutil.copyfile(made.student, stage / NOTEBOOK_NAME)
        shutil.copyfile(made.autograder, stage / "autograder.zip")
        (stage / "key").mkdir()
        if execute_the_key:
            key, passed = execute_key(made.key)
            failed = [q for q, ok in passed.items() if not ok]
            if failed:
                raise HandoutError(f"{source}: the key fails its own checks: "
                                   f"{', '.join(failed)}")
        else:
            key = nbformat.read(made.key, as_version=4)
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
        export_slides(slides_nb, stage / "slides.html",
                      "How a small neural network learns handwritten digits")
        check_described([stage / "handout.html", stage / "key" / "handout.html",
                         stage / "slides.html"], stage)
        if browser:
            print_pdf(stage / "handout.html", stage / "handout.pdf", browser)
        _replace_dir(stage, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(stage, ignore_errors=True)
    return out


def _replace_dir(new: Path, old: Path) -> None:
    """Put ``new`` in the place of ``old`` by renames: a reader sees one or the other."""
    new.chmod(0o755)
    trash = old.with_name(f".{old.name}-old-{os.getpid()}")
    if old.exists():
        old.rename(trash)
    new.rename(old)
    shutil.rmtree(trash, ignore_errors=True)


# --- Grading ----------------------------------------------------------------------------

@dataclass
class Graded:
    """One submission's scores: {question: points}, or the error that stopped grading it."""

    submission: str
    scores: dict[str, float]
    error: str = ""


def grade_one(submission: Path, autograder: Path, threads: int = 1,
              timeout: int = 1800) -> Graded:
    """Grade one notebook with ``otter run`` (no Docker): it executes the notebook in a fresh
    kernel and runs every check against the student's own run."""
    with tempfile.TemporaryDirectory(prefix="mlplab-grade-") as tmp:
        env = {**os.environ, "TF_NUM_INTRAOP_THREADS": str(threads),
               "TF_NUM_INTEROP_THREADS": "1"}
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "otter", "run", "--no-logo", "-a", str(autograder),
                 "-o", tmp, str(submission)],
                capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            return Graded(submission.name, {}, f"grading took over {timeout} s")
        results = Path(tmp) / "results.json"
        if proc.returncode != 0 or not results.is_file():
            return Graded(submission.name, {}, _last_line(proc.stderr or proc.stdout))
        tests = json.loads(results.read_text())["tests"]
    return Graded(submission.name, {t["name"]: float(t["score"]) for t in tests
                                    if "score" in t and "max_score" in t})


def autograder_points(autograder: Path) -> dict[str, float]:
    """{question: points} from the ``tests/*.py`` files of otter's autograder zip."""
    try:
        with zipfile.ZipFile(autograder) as z:
            sources = {n: z.read(n).decode("utf-8") for n in z.namelist()
                       if re.fullmatch(r"tests/[^/]+\.py", n)}
        points = {}
        for source in sources.values():
            for node in ast.parse(source).body:
                if isinstance(node, ast.Assign) and [t.id for t in node.targets
                                                     if isinstance(t, ast.Name)] == ["test"]:
                    test = ast.literal_eval(node.value)
                    points[test["name"]] = float(test.get("points") or 1)
    except (OSError, zipfile.BadZipFile, SyntaxError, ValueError, KeyError) as err:
        raise HandoutError(f"{autograder}: not an otter autograder zip ({err})") from None
    if not points:
        raise HandoutError(f"{autograder}: no tests/*.py in it; run `make handout` again")
    return {q: points[q] for q in natural_order(points)}


def grade(folder: Path, autograder: Path, out_csv: Path, jobs: int = 1) -> list[Graded]:
    """Grade every ``*.ipynb`` in ``folder`` and write one CSV row per submission.

    Columns: submission, one per question (points), total, possible, percent, error. A
    submission that cannot be graded at all gets a row with its error and no points.
    """
    folder, autograder = Path(folder), Path(autograder)
    if not folder.is_dir():
        raise HandoutError(f"{folder}: not a folder of submitted notebooks")
    if not autograder.is_file():
        raise HandoutError(f"{autograder}: no autograder; run `make handout` first")
    points = autograder_points(autograder)
    submissions = sorted(p for p in folder.glob("*.ipynb") if p.is_file())
    if not submissions:
        raise HandoutError(f"{folder}: no .ipynb submissions in it")
    threads = max(1, (os.cpu_count() or 1) // max(1, jobs))
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        graded = list(pool.map(lambda s: grade_one(s, autograder, threads), submissions))
    write_scores(graded, points, out_csv)
    return graded


def write_scores(graded: list[Graded], points: dict[str, float], out_csv: Path) -> None:
    """The CSV: a column per question of the autograder, in its order, then the totals."""
    names, total_possible = list(points), sum(points.values())
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["submission", *names, "total", "possible", "percent", "error"])
    for g in graded:
        total = sum(g.scores.get(q, 0.0) for q in names)
        writer.writerow([g.submission, *(_num(g.scores.get(q, 0.0)) for q in names),
                         _num(total), _num(total_possible),
                         f"{100 * total / total_possible:.1f}" if total_possible else "",
                         g.error])
    write_bytes_atomic(Path(out_csv), buf.getvalue().encode("utf-8"))


def _num(x: float) -> str:
    return f"{x:g}"


# --- Command line -----------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlplab.pipeline.handout", description=__doc__
                                     .split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build the classroom kit into report/handout/")
    b.add_argument("--out", type=Path, default=OUT)
    b.add_argument("--source", type=Path, default=SOURCE, help="otter master notebook")
    b.add_argument("--master", type=Path, default=MASTER, help="notebook the slides tell")
    b.add_argument("--slides-from", type=Path, default=None,
                   help="an already executed notebook to make the slides from, as it is")
    b.add_argument("--no-pdf", action="store_true", help="skip handout.pdf (no chromium)")
    g = sub.add_parser("grade", help="grade a folder of submitted notebooks into a CSV")
    g.add_argument("folder", type=Path)
    g.add_argument("--autograder", type=Path, default=OUT / "autograder.zip")
    g.add_argument("--out", type=Path, default=None, help="CSV (default: FOLDER/scores.csv)")
    g.add_argument("--jobs", type=int, default=1, help="submissions graded at once")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            out = build(args.out, args.source, args.master, slides_from=args.slides_from,
                        pdf=not args.no_pdf)
            print(f"wrote {out}/: {NOTEBOOK_NAME} (hand out), key/, autograder.zip, "
                  f"slides.html" + ("" if args.no_pdf else ", handout.pdf"), file=sys.stderr)
        else:
            out_csv = args.out or args.folder / "scores.csv"
            graded = grade(args.folder, args.autograder, out_csv, args.jobs)
            possible = sum(autograder_points(args.autograder).values())
            for g in graded:
                line = (f"ERROR {g.error}" if g.error else
                        f"{sum(g.scores.values()):g} / {possible:g}")
                print(f"{g.submission}: {line}", file=sys.stderr)
            print(f"wrote {out_csv}", file=sys.stderr)
    except HandoutError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
