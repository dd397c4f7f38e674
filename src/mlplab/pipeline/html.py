"""Render notebooks to HTML pages that work fully offline (no CDN, local MathJax 3)."""

from __future__ import annotations

import copy
import filecmp
import importlib.util
import re
from collections.abc import Set
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from traitlets.config import Config

from mlplab.results import write_bytes_atomic

TEMPLATES_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAME = "offline"
MATHJAX_FILE = "tex-svg-full.js"  # the -full bundle: every TeX extension inside, nothing to fetch


def mathjax_source() -> Path:
    """Path of MathJax 3 ``es5/tex-svg-full.js`` shipped by the django-static-mathjax wheel."""
    spec = importlib.util.find_spec("mathjax")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("MathJax not found: install django-static-mathjax")
    src = Path(spec.origin).parent / "static" / "mathjax" / "es5" / MATHJAX_FILE
    if not src.is_file():
        raise FileNotFoundError(f"MathJax bundle missing: {src}")
    return src


def install_assets(report_dir: Path) -> Path:
    """Copy MathJax to ``report_dir/assets/mathjax/tex-svg-full.js`` if missing or different.

    The copy is atomic. Returns the installed path.
    """
    src = mathjax_source()
    dest = Path(report_dir) / "assets" / "mathjax" / MATHJAX_FILE
    if not (dest.is_file() and filecmp.cmp(src, dest, shallow=False)):
        write_bytes_atomic(dest, src.read_bytes())
    return dest


def first_heading(nb: nbformat.NotebookNode) -> str | None:
    """The text of the notebook's first level-1 markdown heading, markup removed."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            match = re.match(r"#\s+(.+?)\s*#*\s*$", line)
            if match:
                return re.sub(r"[*`]|\[([^\]]*)\]\([^)]*\)", r"\1", match.group(1)).strip()
    return None


def page_title(nb: nbformat.NotebookNode, html_path: Path) -> str:
    """A title that says what the page is: its name, then the notebook's first heading.

    'mlp50x50-e20: How a small neural network learns handwritten digits'; a student edition
    ('<name>.student.html') says so. The front page (index.html) is titled by its heading
    alone; a page without a heading by its name alone.
    """
    name = Path(html_path).name.removesuffix(".html")
    heading = first_heading(nb)
    if name == "index" and heading:
        return heading
    if name.endswith(".student"):
        name = name.removesuffix(".student") + " (student edition)"
    return f"{name}: {heading}" if heading else name


def render(
    notebook: Path | nbformat.NotebookNode,
    html_path: Path,
    *,
    assets_href: str,
    hide_input: bool = False,
    exclude_tags: Set[str] = frozenset(),
    title: str | None = None,
) -> None:
    """Render ``notebook`` to ``html_path`` (atomically) with the offline template.

    ``assets_href`` is the URL of the assets folder relative to the page ("assets",
    "../assets"); ``hide_input`` drops code cells' source; cells tagged with any of
    ``exclude_tags`` are removed (e.g. {"solution"} for a student edition). ``title`` is
    the page's ``<title>`` (default: the notebook's metadata title, else ``page_title``).
    """
    html_path = Path(html_path)
    if isinstance(notebook, nbformat.NotebookNode):
        nb = notebook
    else:
        nb = nbformat.read(notebook, as_version=4)
    if title is not None and "title" in nb.metadata:  # the template prefers the metadata's
        nb = copy.deepcopy(nb)
        del nb.metadata["title"]
    title = title or nb.metadata.get("title") or page_title(nb, html_path)

    c = Config()
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_cell_tags = set(exclude_tags)
    exporter = HTMLExporter(
        config=c,
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        mathjax_url=f"{assets_href.rstrip('/')}/mathjax/{MATHJAX_FILE}",
        exclude_input=hide_input,
    )
    resources = {"metadata": {"name": title, "path": str(html_path.parent)}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    write_bytes_atomic(html_path, body.encode("utf-8"))
