"""Pure functions that turn answers and sources into safe markup for the UI.

Everything that comes from a document (answer text, passages, titles, sections, file
names) is data, never markup: it is escaped here before any tag is added around it. The
chat bubble renders Markdown, so answer text is escaped twice over (HTML metacharacters
become entities, Markdown punctuation gets a backslash) and only the ``[n]`` links we
build ourselves are real markup. No function here imports gradio.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..catalog import StatusRow

# "[3]" or "[1, 2]" / "[1,2,3]"; the numbers must be cited to become links.
MARKER_RE = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")

# ASCII punctuation that CommonMark (and GFM/LaTeX extensions) may treat as syntax.
_MD_SPECIAL = set("\\`*_{}[]()#+-.!|~$:\"'=^")


def esc(text: Any) -> str:
    """HTML-escape any value (quotes too, so the result is safe inside attributes)."""
    return html.escape("" if text is None else str(text), quote=True)


def escape_markdown(text: str) -> str:
    """Make ``text`` render literally in a Markdown+HTML renderer.

    ``&``, ``<`` and ``>`` become entities (so no tag can form), other Markdown
    punctuation gets a backslash (so no link, emphasis or code can form).
    """
    out = []
    for ch in text or "":
        if ch == "&":
            out.append("&amp;")
        elif ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch in _MD_SPECIAL:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def source_anchor(turn: int, n: int) -> str:
    """The element id of source ``n`` of answer number ``turn`` in the sources panel."""
    return f"src-{int(turn)}-{int(n)}"


def _cite_link(turn: int, n: int) -> str:
    return f'<a href="#{source_anchor(turn, n)}" class="cite" title="Show source {n}">[{n}]</a>'


def answer_markdown(text: str, cited: Iterable[int], turn: int) -> str:
    """Answer text for the chat bubble: escaped, with ``[n]`` of cited sources as links.

    Markers naming a number that is not among ``cited`` stay literal text.
    """
    cited = {int(n) for n in cited}
    out: list[str] = []
    pos = 0
    for m in MARKER_RE.finditer(text or ""):
        nums = [int(x) for x in re.split(r"\s*,\s*", m.group(1))]
        if not all(n in cited for n in nums):
            continue
        out.append(escape_markdown(text[pos : m.start()]))
        out.append("".join(_cite_link(turn, n) for n in nums))
        pos = m.end()
    out.append(escape_markdown(text[pos:]))
    return "".join(out)


def streaming_markdown(text: str) -> str:
    """Partial answer while it streams: escaped, markers not linked yet."""
    return escape_markdown(text)


THINKING = "_Thinking… reading the passages_"


def timings_line(timings: dict[str, float] | None) -> str:
    """A small line under an answer: first token (LLM backends) and total time, in seconds."""
    t = timings or {}
    parts = [f"{label} {t[key] / 1000:.1f} s" for key, label in (("first_token_ms", "first token"), ("total_ms", "total"))
             if isinstance(t.get(key), (int, float))]
    return f"\n\n<sub class=\"timings\">{' · '.join(parts)}</sub>" if parts else ""


def highlight(text: str, span: Iterable[int] | None) -> str:
    """Escaped passage with the supporting span wrapped in ``<mark>``."""
    text = text or ""
    try:
        a, b = (int(x) for x in (span or (0, 0)))
    except (TypeError, ValueError):
        a = b = 0
    a = max(0, min(a, len(text)))
    b = max(a, min(b, len(text)))
    if a == b:
        return esc(text)
    return f"{esc(text[:a])}<mark>{esc(text[a:b])}</mark>{esc(text[b:])}"


def page_text(page: Any, label: Any = "") -> str:
    """``p. 7``, or ``p. 7 (printed iii)`` when the printed label differs from the physical page."""
    label = str(label or "").strip()
    if label and label != str(page):
        return f"p. {page} (printed {label})"
    return f"p. {page}"


def source_entry(c: Mapping[str, Any], turn: int, selected: bool = False) -> str:
    """One source (a ``Citation.to_json()`` dict, as kept in the session) as HTML: number, title, file, page, section, score, highlighted passage."""
    n = int(c["n"])
    section = c["section"]
    score = c["score"]
    try:
        score_s = f"{float(score):.3f}"
    except (TypeError, ValueError):
        score_s = esc(score)
    supported = c["supported"]
    classes = "src" + (" selected" if selected else "") + ("" if supported else " unsupported")
    parts = [
        f'<div class="{classes}" id="{source_anchor(turn, n)}">',
        '<div class="src-head">',
        f'<span class="src-n">[{n}]</span> <span class="src-title">{esc(c["title"] or c["file"])}</span>',
        "</div>",
        '<div class="src-meta">',
        f'<span class="src-file">{esc(c["file"])}</span>',
        f' · <span class="src-page">{esc(page_text(c["page"], c["page_label"]))}</span>',
        (f' · <span class="src-section">{esc(section)}</span>' if section else ""),
        f' · <span class="src-score">score {score_s}</span>',
        ("" if supported else ' · <span class="src-warn">not clearly supported</span>'),
        "</div>",
        f'<blockquote class="src-text">{highlight(c["text"], c["span"])}</blockquote>',
        f'<button type="button" class="view-page" data-turn="{int(turn)}" data-n="{n}">View page</button>',
        "</div>",
    ]
    return "".join(parts)


def sources_html(
    citations: list[Mapping[str, Any]], turn: int, question: str = "", selected: int | None = None, searched: str = ""
) -> str:
    """The sources panel for one answer (``turn`` numbers answers in a conversation from 0).

    ``searched`` is the standalone question the retriever used, shown when a follow-up was
    rewritten with the conversation's context.
    """
    if not citations:
        body = '<p class="src-empty">No sources for this answer.</p>'
    else:
        body = "".join(source_entry(c, turn, selected == int(c["n"])) for c in citations)
    head = f'<p class="src-q">Sources for: <q>{esc(question)}</q></p>' if question else ""
    if searched and searched.strip() != (question or "").strip():
        head += f'<p class="src-sq">Searched for: <q>{esc(searched)}</q></p>'
    return f'<div class="sources" data-turn="{int(turn)}">{head}{body}</div>'


def empty_sources_html(message: str = "Ask a question: the passages behind the answer appear here.") -> str:
    return f'<div class="sources"><p class="src-empty">{esc(message)}</p></div>'


def message_html(message: str, kind: str = "error") -> str:
    """A plain one-line notice (errors, status) as escaped HTML."""
    kind = kind if kind in ("error", "info", "ok") else "info"
    return f'<div class="notice notice-{kind}">{esc(message)}</div>'


def page_caption(c: Mapping[str, Any]) -> str:
    """Plain-text caption for a rendered page image."""
    title = c["title"] or c["file"]
    return f"[{c['n']}] {title}, {page_text(c['page'], c['page_label'])}"


LIBRARY_HEADERS = ["Title", "File", "Pages", "Chunks", "Ingested at"]


def library_rows(docs: list[Mapping[str, Any]]) -> list[list[Any]]:
    """Rows for the library table (plain values; the table shows them as text)."""
    return [
        [
            str(d.get("title") or ""),
            str(d.get("file") or ""),
            int(d.get("pages") or 0),
            int(d.get("chunks") or 0),
            str(d.get("ingested_at") or ""),
        ]
        for d in docs
    ]


CATALOG_HEADERS = ["Status", "ID", "File", "Title"]


def catalog_rows(rows: list[StatusRow]) -> list[list[str]]:
    return [[r.status, r.id or "-", r.file, r.title or "(not in catalog)"] for r in rows]
