"""Open rendered pages in a real (offline) Chromium: math typeset, images decoded, links local.

``check_page_offline`` is reusable, e.g. on the real report:

    from test_browser import check_page_offline
    result = check_page_offline(Path("report/index.html"), artifacts_dir() / "index.png")
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from nbformat.v4 import new_markdown_cell, new_notebook
from test_html import tiny_notebook

from mlplab.pipeline import html

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WEB = ("http", "https")
REPO = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"Debian chromium not found at {CHROMIUM}"),
    pytest.mark.skipif(
        importlib.util.find_spec("playwright") is None, reason="playwright is not installed"
    ),
]

# Inline math left untypeset looks like "$x$" / "\(x\)"; display math like "$$...$$" / "\[...\]".
RAW_TEX = re.compile(r"\$\$|\\\(|\\\[|\$[^$\s][^$]*\$")

PAGE_STATE_JS = """async () => {
  const mj = window.MathJax;
  let mathjax = false;
  if (mj && mj.startup && mj.startup.promise) { await mj.startup.promise; mathjax = true; }
  const containers = Array.from(document.querySelectorAll('mjx-container'));
  // Markdown text minus code spans and typeset math: what is left must hold no TeX.
  const markdown = Array.from(document.querySelectorAll('.jp-RenderedMarkdown')).map(e => {
    const c = e.cloneNode(true);
    c.querySelectorAll('code, pre, mjx-container').forEach(x => x.remove());
    return c.textContent;
  }).join('\\n');
  return {
    mathjax_loaded: mathjax,
    mjx_containers: containers.length,
    mjx_with_svg: containers.filter(c => c.querySelector('svg')).length,
    mjx_errors: document.querySelectorAll('mjx-merror').length,
    body_text: document.body.innerText,
    markdown_text: markdown,
    images: Array.from(document.images).map(i => ({
      src: i.getAttribute('src').slice(0, 80), width: i.naturalWidth, complete: i.complete})),
    hrefs: Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href')),
  };
}"""


def artifacts_dir() -> Path:
    """Where screenshots go: $MLPLAB_ARTIFACTS, else <repo>/test-artifacts (git-ignored)."""
    path = Path(os.environ.get("MLPLAB_ARTIFACTS", REPO / "test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _link_target(page_path: Path, href: str) -> Path | None:
    """The local file a relative href points to; None for fragments and absolute URLs."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    return (page_path.parent / unquote(parts.path)).resolve()


@contextlib.contextmanager
def offline_chromium() -> Iterator:
    """One Chromium for several ``check_page_offline`` calls (a launch costs ~2 CPU-seconds
    with Playwright's driver). Close it before executing a notebook in this process: the
    pinned Playwright marks its event loop as running while it is open."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def check_page_offline(page_path: Path, screenshot: Path, browser=None) -> dict:
    """Open ``page_path`` in Chromium with every non-file:/data: request blocked.

    Saves a full-page screenshot and returns what was seen: ``blocked`` (external URLs
    requested), ``mathjax_loaded``, ``mjx_containers``, ``mjx_with_svg``, ``mjx_errors``,
    ``raw_display_math`` ("$$" left in the body text), ``raw_tex`` (untypeset TeX in markdown),
    ``broken_images``, ``broken_links`` (relative hrefs whose file is missing),
    ``external_links`` (absolute hrefs: dead in an offline classroom) and ``js_errors``.
    Pass an open ``offline_chromium()`` as ``browser`` to check several pages on one launch.
    """
    if browser is None:
        with offline_chromium() as own:
            return check_page_offline(page_path, screenshot, own)

    page_path = Path(page_path).resolve()
    screenshot = Path(screenshot)
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    blocked: list[str] = []  # aborted by the route handler
    seen: list[str] = []  # every non-local request the page made, routed or not
    js_errors: list[str] = []

    def is_local(url: str) -> bool:
        return url.startswith(("file:", "data:", "blob:", "about:"))

    def handler(route) -> None:
        url = route.request.url
        if is_local(url):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    page = browser.new_page()  # a context of its own: nothing shared with the last page
    try:
        page.route("**/*", handler)
        # Belt and braces: also see requests that routing might not intercept.
        page.on("request", lambda r: None if is_local(r.url) else seen.append(r.url))
        page.on("pageerror", lambda e: js_errors.append(str(e)))
        page.on(
            "console",
            lambda m: js_errors.append(m.text) if m.type == "error" else None,
        )
        page.goto(page_path.as_uri(), wait_until="load")
        state = page.evaluate(PAGE_STATE_JS)
        page.screenshot(path=str(screenshot), full_page=True)
    finally:
        page.close()

    targets = {href: _link_target(page_path, href) for href in state["hrefs"]}
    return {
        "page": str(page_path),
        "screenshot": str(screenshot),
        "blocked": list(dict.fromkeys(blocked + seen)),  # unique, first-seen order
        "js_errors": js_errors,
        "mathjax_loaded": state["mathjax_loaded"],
        "mjx_containers": state["mjx_containers"],
        "mjx_with_svg": state["mjx_with_svg"],
        "mjx_errors": state["mjx_errors"],
        "raw_display_math": "$$" in state["body_text"],
        "raw_tex": RAW_TEX.findall(state["markdown_text"]),
        "images": state["images"],
        "broken_images": [i["src"] for i in state["images"] if i["width"] == 0],
        "links": sorted(h for h, t in targets.items() if t is not None),
        "broken_links": sorted(h for h, t in targets.items() if t is not None and not t.exists()),
        "external_links": sorted(h for h in state["hrefs"] if urlsplit(h).scheme in WEB),
    }


def assert_offline_ok(result: dict) -> None:
    """The checks every offline page must pass (math present or not)."""
    assert result["blocked"] == [], result["blocked"]
    assert result["js_errors"] == [], result["js_errors"]
    assert result["mathjax_loaded"], "MathJax did not load from the local assets folder"
    assert result["mjx_errors"] == 0
    assert result["mjx_with_svg"] == result["mjx_containers"]
    assert not result["raw_display_math"], "raw $$ left in the page text"
    assert result["raw_tex"] == []
    assert result["broken_images"] == []
    assert result["broken_links"] == []


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """report/index.html -> report/runs/page.html, MathJax once in report/assets."""
    root = tmp_path_factory.mktemp("offline") / "report"
    html.render(tiny_notebook(), root / "runs" / "page.html", assets_href="../assets")
    index = new_notebook(
        cells=[
            new_markdown_cell(
                "# Report\n\n"
                "Runs, scored by $\\mathrm{acc} = \\frac{1}{N}\\sum_n [\\hat y_n = y_n]$:\n\n"
                "- [tiny run](runs/page.html)\n"
                "- [tiny run, figures](runs/page.html#Cross-entropy)"
            )
        ]
    )
    html.render(index, root / "index.html", assets_href="assets")
    html.install_assets(root)
    return root


@pytest.fixture(scope="module")
def chromium() -> Iterator:
    """One browser for this module's pages (no notebook is executed here)."""
    with offline_chromium() as browser:
        yield browser


def test_run_page_offline(report, chromium):
    result = check_page_offline(report / "runs" / "page.html", artifacts_dir() / "offline-page.png",
                                chromium)
    assert_offline_ok(result)
    assert result["mjx_containers"] >= 2  # display + inline
    assert len(result["images"]) == 1 and result["images"][0]["width"] > 0
    assert Path(result["screenshot"]).stat().st_size > 0


def test_index_offline_and_links_resolve(report, chromium):
    result = check_page_offline(report / "index.html", artifacts_dir() / "offline-index.png",
                                chromium)
    assert_offline_ok(result)
    assert result["mjx_containers"] >= 1
    assert "runs/page.html" in result["links"]
    assert result["external_links"] == []


def test_missing_assets_are_detected(tmp_path, chromium):
    """The checker fails a page whose MathJax copy is missing (no vacuous pass)."""
    page = tmp_path / "report" / "index.html"
    html.render(tiny_notebook(), page, assets_href="assets")
    result = check_page_offline(page, tmp_path / "shot.png", chromium)
    assert not result["mathjax_loaded"]
    assert result["raw_display_math"]


def test_external_requests_are_blocked_and_reported(tmp_path, chromium):
    """Network requests are caught (and never leave); dead and web links are reported."""
    page = tmp_path / "report" / "index.html"
    md = '<img src="https://cdn.example.invalid/x.png">\n\n[gone](runs/gone.html) [web](https://example.org)'
    nb = new_notebook(cells=[new_markdown_cell(md)])
    html.render(nb, page, assets_href="assets")
    html.install_assets(page.parent)
    result = check_page_offline(page, tmp_path / "shot.png", chromium)
    assert result["blocked"] == ["https://cdn.example.invalid/x.png"]
    assert result["broken_images"] == ["https://cdn.example.invalid/x.png"]
    assert result["broken_links"] == ["runs/gone.html"]
    assert result["external_links"] == ["https://example.org"]
