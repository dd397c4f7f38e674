"""Render notebooks to HTML pages that work fully offline (no CDN, local MathJax 3)."""

from __future__ import annotations

import copy
import filecmp
import functools
import importlib.util
import re
import threading
from collections.abc import Set
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

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
    render_editions(notebook, {Path(html_path): exclude_tags}, assets_href=assets_href,
                    hide_input=hide_input, title=title)


def render_editions(
    notebook: Path | nbformat.NotebookNode,
    pages: dict[Path, Set[str]],
    *,
    assets_href: str,
    hide_input: bool = False,
    title: str | None = None,
) -> None:
    """Render editions of one notebook in one pass: each page in ``pages`` leaves out the
    cells tagged with its set of tags (see ``render``). The editions share one exporter and
    convert each cell's markdown and highlight each cell's code once, which is most of the
    work (a run's page and its student edition differ only by the solution cells)."""
    if isinstance(notebook, nbformat.NotebookNode):
        nb = notebook
    else:
        nb = nbformat.read(notebook, as_version=4)
    mathjax_url = f"{assets_href.rstrip('/')}/mathjax/{MATHJAX_FILE}"
    with _exporter_lock:
        exporter = _exporter(mathjax_url, hide_input)
        exporter.memo.clear()
        try:
            for html_path, exclude_tags in pages.items():
                html_path = Path(html_path)
                edition = copy.copy(nb)
                edition.cells = [c for c in nb.cells
                                 if not set(exclude_tags) & set(c.get("metadata", {})
                                                                 .get("tags", []))]
                if title is not None and "title" in nb.metadata:  # the template prefers it
                    edition.metadata = copy.deepcopy(nb.metadata)
                    del edition.metadata["title"]
                name = title or edition.metadata.get("title") or page_title(edition, html_path)
                resources = {"metadata": {"name": name, "path": str(html_path.parent)}}
                body, _ = exporter.from_notebook_node(edition, resources=resources)
                write_bytes_atomic(html_path, body.encode("utf-8"))
        finally:
            exporter.memo.clear()


# Filters whose result depends only on their arguments: kept for the next edition.
MEMO_FILTERS = ("markdown2html", "highlight_code", "clean_html")
_exporter_lock = threading.Lock()  # one exporter serves the threads of a process in turn


@functools.cache
def _exporter(mathjax_url: str, hide_input: bool) -> HTMLExporter:
    """One exporter per setting and process: its templates are compiled once."""

    class Exporter(HTMLExporter):
        memo: dict = {}

        def register_filter(self, name, jinja_filter):
            if name in MEMO_FILTERS:
                jinja_filter = _memoized(name, jinja_filter, self.memo)
            return super().register_filter(name, jinja_filter)

        def from_notebook_node(self, nb, resources=None, **kw):
            """nbconvert 7.17's HTMLExporter.from_notebook_node, whose last step re-parses
            the whole page with BeautifulSoup (four fifths of an export) only to add
            attributes: ``focusable`` adds the same ones to the template's output."""
            from nbconvert.exporters.templateexporter import TemplateExporter
            from nbconvert.filters.highlight import Highlight2HTML
            from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            self.register_filter("highlight_code", self.filters.get(
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
            resources = self._init_resources(resources)
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            body, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            return focusable(body), resources

    exporter = Exporter(template_name=TEMPLATE_NAME, extra_template_basedirs=[str(TEMPLATES_DIR)],
                        mathjax_url=mathjax_url, exclude_input=hide_input)
    exporter.memo = {}
    filters = exporter.environment.filters
    for name in MEMO_FILTERS:
        if name in filters:
            filters[name] = _memoized(name, filters[name], exporter.memo)
    return exporter


# What nbconvert's HTMLExporter adds to a page: keyboard focus on every cell's input and
# output (scrollable regions a keyboard user must reach) and a placeholder text alternative
# on an image that has none (every figure of ours has its own).
FOCUSABLE_CLASSES = frozenset({"jp-Cell-inputWrapper", "jp-OutputArea-output"})
NO_ALT = "No description has been provided for this image"
_DIV = re.compile(r"<div\b([^>]*)>")
_CLASS = re.compile(r"""\bclass\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_TABINDEX = re.compile(r"""\s+tabindex\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)""")
_IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\balt\s*=)([^>]*?)(\s*/?)>")


def focusable(page: str) -> str:
    """``page`` with tabindex="0" on each div of a class in ``FOCUSABLE_CLASSES`` and
    ``NO_ALT`` on each img without alt: what nbconvert does with BeautifulSoup, in one pass
    over the text (the page is otherwise left byte for byte as the template wrote it)."""
    def div(match: re.Match) -> str:
        attributes = match.group(1)
        found = _CLASS.search(attributes)
        classes = set((found.group(1) or found.group(2) or "").split()) if found else set()
        if not classes & FOCUSABLE_CLASSES:
            return match.group(0)
        return f'<div{_TABINDEX.sub("", attributes)} tabindex="0">'

    page = _DIV.sub(div, page)
    return _IMG_WITHOUT_ALT.sub(lambda m: f'<img{m.group(1)} alt="{NO_ALT}"{m.group(2)}>', page)


def _memoized(name: str, jinja_filter, memo: dict):
    """``jinja_filter`` remembering its results in ``memo`` (cleared around each notebook).
    A filter that takes Jinja's context (markdown2html) is keyed by the cell's attachments,
    the only thing it reads from the context."""
    pass_arg = getattr(jinja_filter, "jinja_pass_arg", None)

    def memoized(*args, **kwargs):
        shown = args
        if pass_arg is not None:
            shown = (args[0].get("cell", {}).get("attachments"), *args[1:])
        key = (name, repr(shown), repr(sorted(kwargs.items())))
        if key not in memo:
            memo[key] = jinja_filter(*args, **kwargs)
        return memo[key]

    if pass_arg is not None:
        memoized.jinja_pass_arg = pass_arg  # type: ignore[attr-defined]
    return memoized
