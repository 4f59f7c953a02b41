"""The conversation as the UI keeps it, and its plain-text and Markdown forms (Copy, Export).

Plain text only: no escaping for Markdown renderers, no HTML, so a copied answer pastes as
the words the user read, with its references spelled out.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..records import Citation
from .render import page_text


@dataclass
class Turn:
    """One answered question: what was asked, what the retriever searched for, the answer and its sources."""

    question: str
    answer: str
    citations: list[Citation] = field(default_factory=list)
    searched: str = ""
    refused: bool = False


@dataclass
class Session:
    """Per-browser-session state: (question, answer) pairs for follow-ups and every answered turn."""

    history: list[tuple[str, str]] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    export_dir: str = ""  # where this conversation's Markdown export is written


def reference(c: Citation) -> str:
    """``[1] Title, p. 2 (printed 1), file``."""
    return f"[{c.n}] {c.title or c.file}, {page_text(c.page, c.page_label)}, {c.file}"


def quote(c: Citation) -> str:
    """The supporting span of a citation, whitespace collapsed."""
    a, b = c.span
    return " ".join(c.text[a:b].split())


def answer_plaintext(text: str, citations: list[Citation]) -> str:
    """What "Copy answer" puts on the clipboard: the answer, a blank line, one reference per line."""
    refs = "\n".join(reference(c) for c in citations)
    return f"{text.strip()}\n\n{refs}" if refs else text.strip()


def _md(text: str) -> str:
    """Document text in the export: tags cannot form (a Markdown viewer may render HTML)."""
    return html.escape(text, quote=False)


def conversation_markdown(turns: list[Turn], now: datetime | None = None) -> str:
    """The whole conversation as Markdown: each question, its answer, and each citation with its quote and passage."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    out = ["# Conversation with the anti-trafficking reports assistant", "", f"Exported {stamp}.", ""]
    for i, t in enumerate(turns, 1):
        out += [f"## {i}. {_md(t.question)}", ""]
        if t.searched and t.searched.strip() != t.question.strip():
            out += [f"*Searched for:* {_md(t.searched)}", ""]
        out += [_md(t.answer), ""]
        if t.citations:
            out += ["### Closest passages" if t.refused else "### Sources", ""]
        for c in t.citations:
            out.append(f"**{_md(reference(c))}**" + (f" — {_md(c.section)}" if c.section else ""))
            out.append("")
            if quote(c):
                out += [f"> {_md(quote(c))}", ""]
            out += ["<details><summary>Passage</summary>", "", _md(" ".join(c.text.split())), "", "</details>", ""]
    return "\n".join(out).rstrip() + "\n"
