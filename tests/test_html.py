"""Offline HTML rendering: no CDN, local MathJax, student edition, atomic writes."""

from __future__ import annotations

import base64
import io
import os
import re
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from mlplab import results
from mlplab.pipeline import html

DISPLAY_MATH = r"$$L = -\frac{1}{N}\sum_n \sum_k y_{nk} \log \hat y_{nk}$$"
SOLUTION_TEXT = "SOLUTION_MARKER_42"
CODE_TEXT = "CODE_SOURCE_MARKER"
MAX_PAGE_BYTES = 1_500_000

EXTERNAL_SCRIPT = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']?\s*(https?:)?//", re.I)
EXTERNAL_LINK = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']?\s*(https?:)?//", re.I)


def small_png() -> str:
    """A real (small) matplotlib PNG, base64-encoded as in a notebook output."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1.5), dpi=50)
    ax.plot([0, 1, 2], [0, 1, 4])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def tiny_notebook() -> nbformat.NotebookNode:
    """Math, a PNG figure, an HTML table and a cell tagged "solution"."""
    table = "<table><tr><th>epoch</th><th>loss</th></tr><tr><td>1</td><td>0.42</td></tr></table>"
    return new_notebook(
        cells=[
            new_markdown_cell(
                f"# Cross-entropy\n\n{DISPLAY_MATH}\n\nwhere $\\hat y$ is the output."
            ),
            new_code_cell(
                f"plot_and_tabulate()  # {CODE_TEXT}",
                execution_count=1,
                outputs=[
                    new_output("display_data", data={"image/png": small_png()}),
                    new_output("display_data", data={"text/html": table, "text/plain": "t"}),
                ],
            ),
            new_code_cell(
                f'answer = "{SOLUTION_TEXT}"',
                execution_count=2,
                metadata={"tags": ["solution"]},
            ),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )


@pytest.fixture(scope="module")
def nb() -> nbformat.NotebookNode:
    return tiny_notebook()


def render_text(nb, path: Path, **kwargs) -> str:
    html.render(nb, path, assets_href=kwargs.pop("assets_href", "../assets"), **kwargs)
    return path.read_text(encoding="utf-8")


def test_no_cdn_and_local_mathjax(nb, tmp_path):
    page = render_text(nb, tmp_path / "runs" / "page.html")
    assert not EXTERNAL_SCRIPT.search(page)
    assert not EXTERNAL_LINK.search(page)
    assert "require.js" not in page and "require.min.js" not in page
    assert "cdnjs" not in page and "unpkg" not in page and "jsdelivr" not in page
    assert 'src="../assets/mathjax/tex-svg-full.js"' in page
    assert "inlineMath" in page and "processEscapes" in page
    assert DISPLAY_MATH in page  # left to MathJax, not mangled by the markdown renderer
    assert "data:image/png;base64," in page
    assert "<table>" in page and "<td>0.42</td>" in page


def test_assets_href_is_relative_to_page(nb, tmp_path):
    page = render_text(nb, tmp_path / "index.html", assets_href="assets/")
    assert 'src="assets/mathjax/tex-svg-full.js"' in page


def test_student_edition_drops_solution_cells(nb, tmp_path):
    teacher = render_text(nb, tmp_path / "teacher.html")
    student = render_text(nb, tmp_path / "student.html", exclude_tags={"solution"})
    assert SOLUTION_TEXT in teacher
    assert SOLUTION_TEXT not in student
    assert CODE_TEXT in student  # untagged cells stay


def test_hide_input(nb, tmp_path):
    page = render_text(nb, tmp_path / "page.html", hide_input=True)
    assert CODE_TEXT not in page
    assert "data:image/png;base64," in page  # outputs stay
    assert "Cross-entropy" in page  # markdown stays


def test_page_size(nb, tmp_path):
    path = tmp_path / "page.html"
    html.render(nb, path, assets_href="../assets")
    assert path.stat().st_size < MAX_PAGE_BYTES


def test_render_from_path_is_atomic(nb, tmp_path):
    src = tmp_path / "lecture.ipynb"
    nbformat.write(nb, src)
    out = tmp_path / "out"
    out.mkdir()
    (out / "lecture.html").write_text("old", encoding="utf-8")
    html.render(src, out / "lecture.html", assets_href="../assets")
    page = (out / "lecture.html").read_text(encoding="utf-8")
    assert "<title>lecture: Cross-entropy</title>" in page
    assert [p.name for p in out.iterdir()] == ["lecture.html"]


def test_failed_write_leaves_old_page_and_no_temp(nb, tmp_path, monkeypatch):
    path = tmp_path / "page.html"
    path.write_text("old", encoding="utf-8")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(results.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        html.render(nb, path, assets_href="../assets")
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]


def test_pages_are_world_readable(nb, tmp_path):
    html.render(nb, tmp_path / "page.html", assets_href="assets")
    assert (tmp_path / "page.html").stat().st_mode & 0o777 == 0o644


def test_install_assets_copies_once(tmp_path):
    dest = html.install_assets(tmp_path)
    assert dest == tmp_path / "assets" / "mathjax" / "tex-svg-full.js"
    assert dest.read_bytes() == html.mathjax_source().read_bytes()
    os.utime(dest, (1, 1))
    assert html.install_assets(tmp_path) == dest
    assert dest.stat().st_mtime == 1  # identical: not rewritten
    dest.write_text("stale", encoding="utf-8")
    html.install_assets(tmp_path)
    assert dest.read_bytes() == html.mathjax_source().read_bytes()
    assert [p.name for p in dest.parent.iterdir()] == ["tex-svg-full.js"]


def test_code_pages_get_a_hide_code_switch_code_hidden_pages_do_not(nb, tmp_path):
    html.render(nb, tmp_path / "code.html", assets_href="assets")
    html.render(nb, tmp_path / "nocode.html", assets_href="assets", hide_input=True)
    assert 'id="mlplab-hide-code"' in (tmp_path / "code.html").read_text()
    assert "mlplab-hide-code" not in (tmp_path / "nocode.html").read_text()


def test_every_page_has_a_language_and_a_title_that_says_what_it_is(nb, tmp_path):
    def title(path: Path, **kwargs) -> str:
        page = render_text(nb, path, **kwargs)
        assert '<html lang="en">' in page
        return re.search(r"<title>(.*)</title>", page).group(1)

    assert title(tmp_path / "runs" / "mlp50-e1.html") == "mlp50-e1: Cross-entropy"
    assert title(tmp_path / "runs" / "mlp50-e1.student.html") == \
        "mlp50-e1 (student edition): Cross-entropy"
    assert title(tmp_path / "index.html") == "Cross-entropy"  # the front page: its heading
    assert title(tmp_path / "x.html", title="Chosen") == "Chosen"
    untitled = new_notebook(cells=[new_markdown_cell("No heading here.")])
    html.render(untitled, tmp_path / "plain.html", assets_href="assets")
    assert "<title>plain</title>" in (tmp_path / "plain.html").read_text()


def test_first_heading_drops_markup():
    nb = new_notebook(cells=[new_markdown_cell("## Not this\n\n# The *real* `one` [here](x.html)")])
    assert html.first_heading(nb) == "The real one here"


def figure_notebook(**metadata) -> nbformat.NotebookNode:
    """One PNG output per keyword: its output metadata, or ('cell', alt) for the cell's."""
    cells = []
    for where, alt in metadata.values():
        out_meta = {"image/png": {"alt": alt}} if where == "output" else {}
        cells.append(new_code_cell(
            "plot()", execution_count=1, metadata={"alt": alt} if where == "cell" else {},
            outputs=[new_output("display_data", data={"image/png": small_png()},
                                metadata=out_meta)]))
    return new_notebook(cells=cells)


def test_images_carry_the_alt_text_of_their_metadata(tmp_path):
    nb = figure_notebook(described=("output", 'Loss falls from 2.3 to 0.1 & "flat"'),
                         decorative=("output", ""), by_cell=("cell", "Accuracy 91.2%"),
                         missing=("none", None))
    page = BeautifulSoup(render_text(nb, tmp_path / "page.html"), "html.parser")
    assert [img.get("alt") for img in page.find_all("img")] == [
        'Loss falls from 2.3 to 0.1 & "flat"', "", "Accuracy 91.2%",
        "No description has been provided for this image"]  # nbconvert's: a11y tests fail it


@pytest.mark.parametrize("hide_input", [False, True])
def test_a_page_is_the_document_nbconverts_own_exporter_makes(tmp_path, hide_input):
    """html.focusable adds in one pass over the text what nbconvert's HTMLExporter adds by
    re-parsing the page (focus on inputs and outputs, alt on an image without): the same
    document, read back by the parser nbconvert uses, stream and error outputs, an HTML
    output's own focusable div (its tabindex replaced) and an image without alt included."""
    from nbconvert import HTMLExporter

    page = tiny_notebook()
    page.cells += figure_notebook(described=("output", "a described figure"),
                                  missing=("none", None)).cells
    page.cells.append(new_code_cell("print(1); 1 / 0", execution_count=3, outputs=[
        new_output("stream", name="stdout", text="1\n"),
        new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                   traceback=["ZeroDivisionError: division by zero"]),
        new_output("display_data", data={"text/html": "<div class='jp-OutputArea-output x' "
                                                      "tabindex='-1'>own</div>"})]))
    exporter = html._exporter("assets/mathjax/" + html.MATHJAX_FILE, hide_input)
    ours, _ = exporter.from_notebook_node(page)
    theirs, _ = HTMLExporter.from_notebook_node(exporter, page)
    assert str(BeautifulSoup(ours, features="html.parser")) == theirs
    assert ours.count('tabindex="0"') == theirs.count('tabindex="0"') > 3
    assert html.NO_ALT in ours
    assert not re.search(r"<div[^>]*tabindex[^>]*tabindex", ours)  # a browser keeps the first
