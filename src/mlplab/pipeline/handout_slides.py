"""Lecture slides for a room: one idea per slide, large type, the prose in speaker notes.

The deck follows the week plan of docs/teaching.md: the master notebook's story (data,
model, loss, training, results; executed, so its figures are the run's), the handout's
exercises 1-3 after the loss, then the handout's own sections (learning curves and
overfitting, seeds and statistics, depth and width, early stopping, inputs and loss), each
followed by its exercises. A slide shows a heading, one sentence (the first of its text) or
one formula or one figure or one short table; everything else of that text goes into the
speaker notes (reveal.js: press S). Slides are laid out for 1280 x 720 with body text of at
least 24 px (tests/test_handout.py measures both in Chromium).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass

import nbformat

from mlplab.results import write_bytes_atomic

WIDTH, HEIGHT = 1280, 720
# Master-notebook sections that are not lecture material (the handout's exercises replace
# the master's own).
SKIP_SECTIONS = ("Results record", "Exercises", "Further reading", "Before you hand in")
SKIP_TAGS = {"parameters", "solution", "injected-parameters", "not-on-slides"}
MAX_TABLE_ROWS = 7  # more rows do not fit 720 px at 24 px type: the table goes to the notes
CSS = f"""
.reveal {{ font-size: 30px; }}
.reveal .slides section {{ height: {HEIGHT}px; box-sizing: border-box; padding: 24px 40px;
  text-align: left; }}
.reveal h1 {{ font-size: 56px; }}
.reveal h2 {{ font-size: 44px; margin-bottom: 24px; }}
.reveal p, .reveal li, .reveal td, .reveal th {{ font-size: 30px; line-height: 1.35; }}
.reveal table {{ border-collapse: collapse; margin: 0; }}
.reveal td, .reveal th {{ padding: 4px 14px; border-bottom: 1px solid #999; }}
.reveal img {{ display: block; max-height: 560px; max-width: 100%; margin: 0 auto; }}
.reveal .mlplab-kicker {{ color: #444; }}
/* reveal.js draws the slide number white on grey (2.8:1): darken it to pass WCAG AA. */
.reveal .slide-number {{ background-color: #3a3a3a; color: #fff; font-size: 24px; }}
"""


@dataclass
class Slide:
    """One slide: a title, what the room sees (HTML) and what the speaker reads (HTML)."""

    title: str
    body: str = ""
    notes: str = ""


def markdown(text: str) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(text)


def first_sentence(text: str) -> str:
    """The first sentence of a paragraph (up to a full stop or question mark followed by a
    space), without list markers."""
    text = " ".join(re.sub(r"^\s*[*-]\s+", "", text).split())
    m = re.search(r"(?<!e\.g)(?<!i\.e)(?<!\d)[.?](\s|$)", text)
    return text[:m.end()].strip() if m else text


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def chunks(source: str) -> Iterator[tuple[str, str, int]]:
    """(heading, text below it, heading level) for each heading of a markdown cell; text before
    the first heading comes with heading '' and level 0."""
    heading, level, lines = "", 0, []
    for line in source.splitlines():
        m = re.match(r"(#+)\s+(.*)", line)
        if m:
            if heading or "".join(lines).strip():
                yield heading, "\n".join(lines).strip(), level
            heading, level, lines = m.group(2).strip(), len(m.group(1)), []
        else:
            lines.append(line)
    yield heading, "\n".join(lines).strip(), level


def text_slides(title: str, text: str) -> list[Slide]:
    """A text's slides: each bullet with a bold term, and each display formula, is a slide
    of its own; else one slide with the first sentence. The whole text goes to the notes."""
    notes = markdown(text)
    bullets = re.findall(r"^\s*[*-]\s+\*\*(.+?)\*\*(.*(?:\n(?!\s*[*-]\s)(?!\s*$).*)*)",
                         text, re.M)
    formulas = re.findall(r"\$\$.+?\$\$", text, re.S)
    if bullets:
        return [Slide(title, markdown(f"**{term}**{first_sentence(rest)}"), markdown(
            f"**{term}**{rest}")) for term, rest in bullets]
    if formulas:
        lead = first_sentence(paragraphs(text)[0]) if paragraphs(text) else ""
        return [Slide(title, markdown(lead if n == 0 else "") + markdown(f),
                      notes if n == 0 else "") for n, f in enumerate(formulas)]
    first = paragraphs(text)
    return [Slide(title, markdown(first_sentence(first[0])) if first else "", notes)]


def output_slides(title: str, cell: nbformat.NotebookNode) -> list[Slide]:
    """A code cell's displays: each figure a slide (its alt text also in the notes), a short
    table a slide, a computed paragraph a slide with its first sentence."""
    slides = []
    for o in cell.get("outputs", []):
        data = o.get("data", {})
        if "image/png" in data:
            alt = o.get("metadata", {}).get("image/png", {}).get("alt")
            alt = alt if alt is not None else cell.metadata.get("alt")
            alt_attr = f' alt="{html.escape(alt)}"' if alt is not None else ""
            slides.append(Slide(title, f'<img src="data:image/png;base64,{data["image/png"]}"'
                                       f'{alt_attr}>', html.escape(alt or "")))
        elif "text/markdown" in data or "text/html" in data:
            body = data.get("text/html") or markdown(data["text/markdown"])
            if "<table" in body:
                rows = body.count("<tr")
                slides.append(Slide(title, body if rows <= MAX_TABLE_ROWS + 1 else
                                    "<p>The table is in the notes and in the report.</p>",
                                    "" if rows <= MAX_TABLE_ROWS + 1 else body))
            elif "text/markdown" in data:
                slides += text_slides(title, data["text/markdown"])
    return slides


def master_slides(nb: nbformat.NotebookNode) -> Iterator[tuple[str, Slide]]:
    """(section heading, slide) for the master notebook's story, sections skipped as said."""
    section, skipping, title = "", False, ""
    for cell in nb.cells:
        if set(cell.metadata.get("tags", [])) & SKIP_TAGS:
            continue
        if cell.cell_type == "markdown":
            for heading, text, level in chunks(cell.source):
                if level in (1, 2):
                    section = heading
                    skipping = any(s in heading for s in SKIP_SECTIONS)
                if skipping:
                    continue
                title = heading or title
                if level == 1:
                    yield section, Slide(heading, f'<p class="mlplab-kicker">'
                                         f'{html.escape(first_sentence(text))}</p>',
                                         markdown(text))
                elif text:
                    yield from ((section, s) for s in text_slides(title, text))
                else:
                    yield section, Slide(title)
        elif cell.cell_type == "code" and not skipping:
            yield from ((section, s) for s in output_slides(title, cell))


def question_slide(source: str) -> Slide:
    """A handout question: its number and name as the title, its first sentence shown."""
    m = re.match(r"\*\*(Question \d+[^*]*)\*\*\s*(.*)", source, re.S)
    title, rest = (m.group(1).rstrip(". "), m.group(2)) if m else ("Exercise", source)
    return Slide(f"Exercise: {title}", markdown(first_sentence(rest)), markdown(source))


def handout_sections(nb: nbformat.NotebookNode) -> list[tuple[str, list[Slide]]]:
    """The handout source's sections: (heading, its concept and exercise slides)."""
    sections: list[tuple[str, list[Slide]]] = []
    in_question = in_solution = False
    for cell in nb.cells:
        marker = cell.source.strip().split("\n")[0] if cell.cell_type == "raw" else ""
        if marker.startswith("# BEGIN QUESTION"):
            in_question = True
        elif marker.startswith("# END QUESTION"):
            in_question = False
        elif marker.startswith(("# BEGIN SOLUTION", "# END SOLUTION")):
            in_solution = marker.startswith("# BEGIN")
        if cell.cell_type != "markdown" or in_solution:
            continue
        if in_question and cell.source.startswith("**Question"):
            sections[-1][1].append(question_slide(cell.source))
            continue
        for heading, text, level in chunks(cell.source):
            if level == 2:
                sections.append((heading, []))
            if any(skip in (sections[-1][0] if sections else "") for skip in SKIP_SECTIONS):
                continue
            if sections and level != 1 and text:
                sections[-1][1].extend(text_slides(heading or sections[-1][0], text))
    return sections


def lecture(master: nbformat.NotebookNode, handout_source: nbformat.NotebookNode) -> list[Slide]:
    """The deck in the order of the week plan (module docstring)."""
    story = list(master_slides(master))
    handout = handout_sections(handout_source)
    first_three = [s for heading, slides in handout[:3] for s in slides
                   if s.title.startswith("Exercise")]
    loss_end = max((i for i, (section, _) in enumerate(story) if section.startswith("3.")),
                   default=len(story) - 1)
    deck = [s for _, s in story[:loss_end + 1]] + first_three
    deck += [s for _, s in story[loss_end + 1:]]
    for heading, slides in handout[3:]:
        if any(skip in heading for skip in SKIP_SECTIONS):
            continue
        deck.append(Slide(heading))
        deck += slides
    return deck


def render(slides: list[Slide], title: str) -> str:
    """The reveal.js page: reveal.js and MathJax from ``reveal.js/`` and ``assets/``."""
    sections = []
    for s in slides:
        notes = f'<aside class="notes">{s.notes}</aside>' if s.notes else ""
        heading = (f"<h1>{html.escape(s.title)}</h1>" if s is slides[0]
                   else f"<h2>{html.escape(s.title)}</h2>")
        sections.append(f"<section>{heading}{s.body}{notes}</section>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<link rel="stylesheet" href="reveal.js/dist/reveal.css">
<link rel="stylesheet" href="reveal.js/dist/theme/white.css">
<style>{CSS}</style>
<script>
window.MathJax = {{tex: {{inlineMath: [['$', '$'], ['\\\\(', '\\\\)']],
  displayMath: [['$$', '$$'], ['\\\\[', '\\\\]']], processEscapes: true}},
  svg: {{fontCache: 'global'}}, options: {{enableMenu: false}}}};
</script>
<script defer src="assets/mathjax/tex-svg-full.js"></script>
</head><body>
<div class="reveal"><div class="slides">
{chr(10).join(sections)}
</div></div>
<script src="reveal.js/dist/reveal.js"></script>
<script src="reveal.js/plugin/notes/notes.js"></script>
<script>
Reveal.initialize({{controls: true, progress: true, history: true, hash: true, center: false,
  width: {WIDTH}, height: {HEIGHT}, margin: 0, minScale: 0.2, maxScale: 2,
  slideNumber: "c/t", transition: "none", plugins: [RevealNotes]}});
</script>
</body></html>
"""


def export(master: nbformat.NotebookNode, handout_source: nbformat.NotebookNode,
           path, title: str) -> None:
    write_bytes_atomic(path, render(lecture(master, handout_source), title).encode("utf-8"))
