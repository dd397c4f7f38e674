"""Grading a class's handouts: each submission in its own sandbox, the checks outside it.

``python -m mlplab.pipeline.handout grade FOLDER`` (``make grade SUBMISSIONS=FOLDER``):

1. Each ``FOLDER/*.ipynb`` is copied alone into a fresh folder and executed there inside
   Debian's bubblewrap (``bwrap``): the system, Python and mlplab read-only, a private empty
   ``/tmp`` and home, no network, no other process visible, nothing of the instructor's
   folders (the hidden checks included) mounted at all; under a time limit (``--timeout``)
   and an address-space limit (``--memory``). The only thing it can write is its own copy.
   A cell that fails costs the questions that rest on it, nothing more.
2. After the last cell, ``mlplab.lab.handout_lab.collect`` writes the answers and the run's
   numbers as plain JSON. This driver reads that JSON (never a student's object) and grades it
   with the hidden checks of the kit's ``autograder.zip`` (``handout_grading.py``), outside
   the sandbox: the student's code never runs beside the checks or the scores.
3. Written beside ``scores.csv``: ``feedback/<submission>.md`` (each question's parts, right
   or not, with the hint, never the expected value), ``canvas.csv`` (Canvas' grade-import
   format; the student and user id come from Canvas' download names) and the scores.

What the sandbox does not stop is listed in the README ("Teaching with mlplab").
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from mlplab.params import NO_FIGURES_ENV
from mlplab.pipeline.processes import exit_now
from mlplab.results import write_bytes_atomic

BWRAP = "bwrap"
GRADING_MODULE = "handout_grading.py"  # the hidden checks, in autograder.zip's files/
# The hidden checks' source folder (``handout`` builds the kit from it); a sandbox hides it.
TEMPLATES_DIR = Path(__file__).parent / "handout_templates"
BUNDLE = "answers.json"
MAX_BUNDLE_BYTES = 64 * 2**20
TIMEOUT = 600  # seconds for one submission, all cells
MEMORY = 8 * 2**30  # bytes of address space (TensorFlow reserves far more than it uses)
MAX_FILE = 512 * 2**20  # largest file a submission may write
ASSIGNMENT = "MLP lab handout"  # the column Canvas' import creates or matches
# Canvas names downloaded submissions "name[_late]_userid_submissionid_original.ipynb".
CANVAS_NAME = re.compile(r"^(?P<student>[^_]+)(?:_LATE|_late)?_(?P<id>\d+)_\d+_")
# Where a submission may write; an OSError about any other absolute path (the private /tmp
# included: a host path there, such as another submission's, does not exist in the sandbox)
# is the sandbox refusing.
SANDBOX_OWN = ("/submission", "/home/student")
OS_ERRORS = ("OSError", "PermissionError", "FileNotFoundError", "IsADirectoryError",
             "NotADirectoryError")
COLLECT_CELL = """\
import json as _mlplab_json
from mlplab.lab.handout_lab import collect as _mlplab_collect
with open({path!r}, "w") as _mlplab_f:
    _mlplab_json.dump(_mlplab_collect(globals()), _mlplab_f)
"""


class GradingError(Exception):
    """A problem that stops grading, said in one line."""


@dataclass
class Graded:
    """One submission: {question: points}, the checks' parts, and what went wrong."""

    submission: str
    scores: dict[str, float] = field(default_factory=dict)
    parts: dict[str, list[Any]] = field(default_factory=dict)
    error: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(self.scores.values())


# --- The hidden checks ---------------------------------------------------------------------------

def load_checks(autograder: Path) -> ModuleType:
    """``handout_grading`` from the kit's autograder zip, imported from a private copy."""
    try:
        with zipfile.ZipFile(autograder) as z:
            source = z.read(f"files/{GRADING_MODULE}")
    except (OSError, zipfile.BadZipFile, KeyError) as err:
        raise GradingError(f"{autograder}: not the kit's autograder zip ({err}); "
                           "run `make handout` again") from None
    folder = Path(tempfile.mkdtemp(prefix="mlplab-checks-"))
    path = folder / GRADING_MODULE
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("handout_grading", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    shutil.rmtree(folder, ignore_errors=True)
    return module


def possible(checks: ModuleType) -> dict[str, float]:
    from mlplab.handout_answers import QUESTIONS

    return {q: checks.POINTS for q in QUESTIONS}


# --- The sandbox ---------------------------------------------------------------------------------

def _readonly_roots() -> list[Path]:
    """What a kernel needs to read: the system, this Python, its packages, mlplab's source."""
    import mlplab

    roots = {Path(sys.prefix), Path(sys.base_prefix), Path(mlplab.__file__).resolve().parent}
    for path in sys.path:
        p = Path(path)
        if p.is_dir() and "site-packages" in p.parts:
            roots.add(p.resolve())
    return sorted(roots)


def sandbox_command(work: Path, out: Path, argv: list[str]) -> list[str]:
    """bwrap running ``argv`` with ``work`` (the notebook's copy) as its only writable folder
    and ``out`` for the answers; no network, a private /tmp and home."""
    cmd = [shutil.which(BWRAP) or BWRAP, "--unshare-all", "--die-with-parent", "--new-session",
           "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
           "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
           "--tmpfs", "/home/student", "--setenv", "HOME", "/home/student"]
    for link in ("bin", "sbin", "lib", "lib64"):
        target = Path("/") / link
        if target.is_symlink():
            cmd += ["--symlink", os.readlink(target), f"/{link}"]
        elif target.exists():
            cmd += ["--ro-bind", str(target), f"/{link}"]
    for root in _readonly_roots():
        cmd += ["--ro-bind", str(root), str(root)]
    # The hidden checks sit beside the templates in a source checkout: not for a submission.
    cmd += ["--tmpfs", str(TEMPLATES_DIR.resolve())]
    cmd += ["--bind", str(work), "/submission", "--bind", str(out), "/answers",
            "--remount-ro", "/", "--chdir", "/submission"]
    return cmd + argv


def _limits(memory: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE, MAX_FILE))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def execute_in_sandbox(submission: Path, threads: int, timeout: int = TIMEOUT,
                       memory: int = MEMORY) -> tuple[dict | None, list[str], str]:
    """Run one submission in its sandbox. Returns (bundle or None, notes, error)."""
    with tempfile.TemporaryDirectory(prefix="mlplab-sub-") as tmp:
        work, out = Path(tmp) / "work", Path(tmp) / "out"
        work.mkdir()
        out.mkdir()
        shutil.copyfile(submission, work / "submission.ipynb")
        argv = [sys.executable, "-m", "mlplab.pipeline.handout_grade", "execute",
                "/submission/submission.ipynb", f"/answers/{BUNDLE}", str(timeout)]
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/home/student",
               "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1", "TF_CPP_MIN_LOG_LEVEL": "2",
               "TF_NUM_INTRAOP_THREADS": str(threads), "TF_NUM_INTEROP_THREADS": "1",
               "OMP_NUM_THREADS": str(threads), "CUDA_VISIBLE_DEVICES": "",
               NO_FIGURES_ENV: "1"}
        try:
            proc = subprocess.run(sandbox_command(work, out, argv), env=env, text=True,
                                  stdin=subprocess.DEVNULL,
                                  capture_output=True, timeout=timeout + 60,
                                  preexec_fn=lambda: _limits(memory))
        except subprocess.TimeoutExpired:
            return None, [], f"stopped after {timeout} s (time limit)"
        notes = [line.removeprefix("NOTE ") for line in proc.stdout.splitlines()
                 if line.startswith("NOTE ")]
        bundle_path = out / BUNDLE
        if not bundle_path.is_file() or bundle_path.stat().st_size > MAX_BUNDLE_BYTES:
            return None, notes, _last_line(proc.stderr) or "the notebook could not be run"
        try:
            return json.loads(bundle_path.read_text(encoding="utf-8")), notes, ""
        except (ValueError, UnicodeDecodeError):
            return None, notes, "its answers could not be read"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


class _TimeUp(BaseException):
    """The submission's time limit, raised inside the cell that was running."""


def execute_here(notebook: Path, bundle: Path, timeout: int) -> None:
    """Inside the sandbox: run every code cell (errors allowed), then write the answers.

    The cells run in this process, in an IPython shell: no Jupyter kernel, no messaging,
    no second Python to start (that saved ~2 CPU-s per submission); what the cells print is
    discarded and figures are not drawn (``NO_FIGURES_ENV``). After ``timeout`` seconds the
    running cell is interrupted and the remaining cells are skipped; the answers so far are
    still written.
    Prints one ``NOTE`` line per cell that failed, naming a refused write outside the folder.
    """
    import signal

    import matplotlib

    matplotlib.use("Agg")
    from IPython.core.interactiveshell import InteractiveShell

    cells = code_cells(notebook)
    os.chdir(notebook.parent)
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False  # no history database to write
    shell = InteractiveShell.instance(config=config)
    notes: list[str] = []

    def time_up(signum, frame):
        raise _TimeUp(f"stopped after {timeout} s (time limit)")

    signal.signal(signal.SIGALRM, time_up)
    signal.alarm(max(1, timeout))
    real_out, real_err = sys.stdout, sys.stderr
    with open(os.devnull, "w") as sink:
        sys.stdout = sys.stderr = sink
        try:
            for n, source in cells:
                result = shell.run_cell(source, store_history=False)
                err = result.error_before_exec or result.error_in_exec
                if err is not None:
                    notes.append(_note(n, type(err).__name__, str(err)))
                if isinstance(err, _TimeUp):
                    break
        finally:
            signal.alarm(0)
            sys.stdout, sys.stderr = real_out, real_err
    shell.run_cell(COLLECT_CELL.format(path=str(bundle)), store_history=False)
    for note in notes:
        print(f"NOTE {note}")


def code_cells(notebook: Path) -> list[tuple[int, str]]:
    """(position from 1, source) of each code cell. A v4 notebook is read as plain JSON:
    nbformat's schema validation would cost ~1.3 CPU-s per submission (jsonschema's import)
    and grading needs only the sources; older formats go through nbformat's conversion."""
    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    if not isinstance(nb, dict) or nb.get("nbformat", 0) < 4:
        import nbformat

        nb = nbformat.reads(json.dumps(nb), as_version=4)
    return [(n, "".join(c["source"]) if isinstance(c["source"], list) else c["source"])
            for n, c in enumerate(nb["cells"], start=1) if c.get("cell_type") == "code"]


def _note(n: int, ename: str, evalue: str) -> str:
    what = f"{ename}: {evalue}"[:200]
    refused = escaped({"ename": ename, "evalue": evalue})
    return f"cell {n}: " + ("tried to reach outside its own folder; refused by the sandbox: "
                            if refused else "") + what


def escaped(error: dict) -> bool:
    """Whether a cell's error is the sandbox refusing a path outside the submission's own."""
    paths = re.findall(r"'(/[^']*)'", str(error.get("evalue", "")))
    return error.get("ename") in OS_ERRORS and any(
        not p.startswith(SANDBOX_OWN) for p in paths)


# --- Grading a folder ----------------------------------------------------------------------------

def grade_one(submission: Path, checks: ModuleType, threads: int, timeout: int,
              memory: int) -> Graded:
    bundle, notes, error = execute_in_sandbox(submission, threads, timeout, memory)
    graded = Graded(submission.name, notes=notes, error=error)
    if bundle is None:
        return graded
    for q, result in checks.grade(bundle).items():
        graded.scores[q] = result.score
        graded.parts[q] = result.parts
    return graded


def grade(folder: Path, autograder: Path, out_csv: Path, jobs: int = 1,
          timeout: int = TIMEOUT, memory: int = MEMORY) -> list[Graded]:
    """Grade every ``*.ipynb`` in ``folder``; write scores, feedback and the Canvas CSV."""
    folder, autograder = Path(folder), Path(autograder)
    if not folder.is_dir():
        raise GradingError(f"{folder}: not a folder of submitted notebooks")
    if not autograder.is_file():
        raise GradingError(f"{autograder}: no autograder; run `make handout` first")
    if shutil.which(BWRAP) is None:
        raise GradingError("grading needs Debian's bubblewrap (apt-get install bubblewrap)")
    checks = load_checks(autograder)
    submissions = sorted(p for p in folder.glob("*.ipynb") if p.is_file())
    if not submissions:
        raise GradingError(f"{folder}: no .ipynb submissions in it")
    threads = max(1, (os.cpu_count() or 1) // max(1, jobs))
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        graded = list(pool.map(lambda s: grade_one(s, checks, threads, timeout, memory),
                               submissions))
    points = possible(checks)
    write_scores(graded, points, out_csv)
    write_feedback(graded, points, out_csv.parent / "feedback")
    write_canvas(graded, points, out_csv.parent / "canvas.csv")
    return graded


def write_scores(graded: list[Graded], points: dict[str, float], out_csv: Path) -> None:
    """One row per submission: points per question, total, possible, percent, error."""
    names, total_possible = list(points), sum(points.values())
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["submission", *names, "total", "possible", "percent", "error", "notes"])
    for g in graded:
        writer.writerow([g.submission, *(_num(g.scores.get(q, 0.0)) for q in names),
                         _num(g.total), _num(total_possible),
                         f"{100 * g.total / total_possible:.1f}", g.error,
                         "; ".join(g.notes)])
    write_bytes_atomic(Path(out_csv), buf.getvalue().encode("utf-8"))


def feedback_text(g: Graded, points: dict[str, float]) -> str:
    """A student's feedback: score, each question's parts with hints, and what failed."""
    lines = [f"# Feedback on {g.submission}", "",
             f"Score: {_num(g.total)} of {_num(sum(points.values()))} points.", ""]
    if g.error:
        lines += [f"Your notebook could not be graded: {g.error}.", ""]
    for q, possible_points in points.items():
        parts = g.parts.get(q, [])
        lines.append(f"## {q}: {_num(g.scores.get(q, 0.0))} of {_num(possible_points)}")
        for p in parts:
            lines.append(f"- {p.name}: " + ("right" if p.passed else f"not right. Hint: {p.hint}"))
        lines.append("")
    if g.notes:
        lines += ["## Cells that failed when your notebook was run", ""]
        lines += [f"- {note}" for note in g.notes] + [""]
    return "\n".join(lines)


def write_feedback(graded: list[Graded], points: dict[str, float], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for g in graded:
        write_bytes_atomic(folder / f"{Path(g.submission).stem}.md",
                           feedback_text(g, points).encode("utf-8"))


def write_canvas(graded: list[Graded], points: dict[str, float], path: Path) -> None:
    """Canvas' gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, then the
    assignment's points. Canvas matches rows by ID, which its download names carry."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT])
    writer.writerow(["Points Possible", "", "", "", "", _num(sum(points.values()))])
    for g in graded:
        m = CANVAS_NAME.match(g.submission)
        student, canvas_id = (m["student"], m["id"]) if m else (Path(g.submission).stem, "")
        writer.writerow([student, canvas_id, "", "", "", _num(g.total)])
    write_bytes_atomic(path, buf.getvalue().encode("utf-8"))


def _num(x: float) -> str:
    return f"{x:.4g}"


def main(argv: list[str] | None = None) -> int:
    """The sandbox's side: ``execute NOTEBOOK BUNDLE TIMEOUT`` (see ``execute_here``)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 4 or args[0] != "execute":
        print("usage: python -m mlplab.pipeline.handout_grade execute NOTEBOOK BUNDLE TIMEOUT",
              file=sys.stderr)
        return 2
    execute_here(Path(args[1]), Path(args[2]), int(args[3]))
    return 0


if __name__ == "__main__":
    exit_now(main())  # the submission's TensorFlow left unfinalized: ~2 CPU-s a submission
