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
from dataclasses import replace
from collections.abc import Iterable, Mapping
from typing import Any

from ..records import Citation

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


def in_answer_order(text: str, citations: list[Citation]) -> tuple[str, list[Citation]]:
    """Renumber citations ``[1]``, ``[2]``… in the order the answer first cites them.

    Markers naming an uncited number stay as they are; citations the text never names keep
    their relative order after the cited ones.
    """
    known = {c.n for c in citations}
    order: list[int] = []
    for m in MARKER_RE.finditer(text or ""):
        nums = [int(x) for x in re.split(r"\s*,\s*", m.group(1))]
        if all(n in known for n in nums):
            order += [n for n in nums if n not in order]
    order += [c.n for c in citations if c.n not in order]
    new = {old: i + 1 for i, old in enumerate(order)}

    def mark(m: re.Match) -> str:
        nums = [int(x) for x in re.split(r"\s*,\s*", m.group(1))]
        if not all(n in new for n in nums):
            return m.group(0)
        return "[" + ", ".join(str(new[n]) for n in nums) + "]"

    renumbered = sorted((replace(c, n=new[c.n]) for c in citations), key=lambda c: c.n)
    return MARKER_RE.sub(mark, text or ""), renumbered


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


def removed_line(unsupported: Iterable[str] | None) -> str:
    """Says that the verifier removed sentences no cited passage supports (a model's answer), and
    how many; their text is not shown: it is what the reports do not say."""
    n = len(list(unsupported or []))
    if not n:
        return ""
    what = ("1 sentence of the model's answer was removed: no cited passage supports it." if n == 1 else
            f"{n} sentences of the model's answer were removed: no cited passage supports them.")
    return f"\n\n<sub class=\"removed\">{what}</sub>"


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


def source_entry(c: Citation, turn: int, selected: bool = False) -> str:
    """One source as HTML: number, title, file, page, section, score, highlighted passage."""
    classes = "src" + (" selected" if selected else "") + ("" if c.supported else " unsupported")
    parts = [
        f'<div class="{classes}" id="{source_anchor(turn, c.n)}">',
        '<div class="src-head">',
        f'<span class="src-n">[{int(c.n)}]</span> <span class="src-title">{esc(c.title or c.file)}</span>',
        "</div>",
        '<div class="src-meta">',
        f'<span class="src-file">{esc(c.file)}</span>',
        f' · <span class="src-page">{esc(page_text(c.page, c.page_label))}</span>',
        (f' · <span class="src-section">{esc(c.section)}</span>' if c.section else ""),
        f' · <span class="src-score">score {float(c.score):.3f}</span>',
        ("" if c.supported else ' · <span class="src-warn">not clearly supported</span>'),
        "</div>",
        f'<blockquote class="src-text">{highlight(c.text, c.span)}</blockquote>',
        f'<button type="button" class="view-page" data-turn="{int(turn)}" data-n="{int(c.n)}">View page</button>',
        "</div>",
    ]
    return "".join(parts)


def sources_html(
    citations: list[Citation],
    turn: int,
    question: str = "",
    selected: int | None = None,
    searched: str = "",
    copy_text: str = "",
) -> str:
    """The sources panel for one answer (``turn`` numbers answers in a conversation from 0).

    ``searched`` is the standalone question the retriever used, shown when a follow-up was
    rewritten with the conversation's context; ``copy_text`` is what "Copy answer" copies.
    """
    if not citations:
        body = '<p class="src-empty">No sources for this answer.</p>'
    else:
        body = "".join(source_entry(c, turn, selected == c.n) for c in citations)
    head = f'<p class="src-q">Sources for: <q>{esc(question)}</q></p>' if question else ""
    if searched and searched.strip() != (question or "").strip():
        head += f'<p class="src-sq">Searched for: <q>{esc(searched)}</q></p>'
    if copy_text:
        head += (
            f'<div class="src-tools"><button type="button" class="copy-answer" data-turn="{int(turn)}">Copy answer</button>'
            f'<textarea class="copy-text" hidden readonly>{esc(copy_text)}</textarea></div>'
        )
    return f'<div class="sources" data-turn="{int(turn)}">{head}{body}</div>'


def empty_sources_html(message: str = "Ask a question: the passages behind the answer appear here.") -> str:
    return f'<div class="sources"><p class="src-empty">{esc(message)}</p></div>'


def message_html(message: str, kind: str = "error") -> str:
    """A plain one-line notice (errors, status) as escaped HTML."""
    kind = kind if kind in ("error", "info", "ok") else "info"
    return f'<div class="notice notice-{kind}">{esc(message)}</div>'


def page_caption(c: Citation) -> str:
    """Plain-text caption for a rendered page image."""
    return f"[{c.n}] {c.title or c.file}, {page_text(c.page, c.page_label)}"


def page_view_html(png: bytes, caption: str, boxes: Iterable[tuple[float, float, float, float]] = (), note: str = "") -> str:
    """The page image with the supporting text's boxes (fractions of the page: x0, y0, x1, y1) overlaid.

    The boxes are also drawn into the image; the overlay lets the page scroll to the first one.
    """
    import base64

    overlay = "".join(
        f'<div class="pv-box" style="left:{x0 * 100:.2f}%;top:{y0 * 100:.2f}%;'
        f'width:{(x1 - x0) * 100:.2f}%;height:{(y1 - y0) * 100:.2f}%"></div>'
        for x0, y0, x1, y1 in boxes
    )
    src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return (
        f'<div class="pageview"><div class="pv-caption">{esc(caption)}'
        + (f' <span class="pv-note">({esc(note)})</span>' if note else "")
        + f'</div><div class="pv-scroll"><div class="pv-page"><img src="{src}" alt="{esc(caption)}">{overlay}'
        "</div></div></div>"
    )


def empty_page_html(message: str = "Click a [n] or “View page” to see the page a passage comes from.") -> str:
    return f'<div class="pageview"><p class="pv-empty">{esc(message)}</p></div>'


def library_banner(docs: list[Mapping[str, Any]], restricted: Iterable[str] = ()) -> str:
    """The Chat tab's line about the library: how many documents, the last ingest, any restriction."""
    if not docs:
        return message_html("The library is empty: add reports in the Library tab (or run `assistant ingest sources`).", "info")
    last = max(str(d.get("ingested_at") or "") for d in docs)
    when = f" · last ingest {esc(last[:16].replace('T', ' '))} UTC" if last else ""
    n = len(docs)
    line = f'<div class="lib-line">Library: <b>{n} document{"s" if n != 1 else ""}</b>{when}</div>'
    titles = [esc(t) for t in restricted]
    if titles:
        line += (
            '<div class="restriction">Answers restricted to: <b>' + "</b>, <b>".join(titles)
            + "</b> <span class=\"hint\">(change in Settings)</span></div>"
        )
    return f'<div class="lib-banner">{line}</div>'


def doc_choices(docs: list[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(label, file) pairs for document pickers: the title, with the file when titles repeat."""
    titles = [str(d.get("title") or d.get("file") or "") for d in docs]
    return [
        (f"{t} ({d.get('file')})" if titles.count(t) > 1 else t, str(d.get("file") or ""))
        for t, d in zip(titles, docs)
    ]


LIBRARY_HEADERS = ["Title", "File", "Pages", "Chunks", "Ingested at"]


def library_rows(docs: list[Mapping[str, Any]]) -> list[list[Any]]:
    """Rows for the library table (plain values; the table shows them as text)."""
    return [
        [
            str(d.get("title") or ""),
            str(d.get("file") or ""),
            int(d.get("pages") or 0),
            int(d.get("chunks") or 0),
            str(d.get("ingested_at") or "").replace("T", " ")[:16],
        ]
        for d in docs
    ]


CATALOG_HEADERS = ["Status", "ID", "File", "Title"]


def catalog_rows(rows: list[Any]) -> list[list[str]]:
    """Rows for the catalog table from ``catalog.StatusRow`` records."""
    return [[r.status, r.id or "-", r.file, r.title or "(not in catalog)"] for r in rows]
