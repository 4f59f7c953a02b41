"""Turn a page's logical units (headings, paragraphs, list items, table rows) into page text.

Every loader produces a list of ``Unit``; ``assemble`` joins them so that paragraphs are
separated by a blank line, consecutive list items / table rows by a single newline, and
records a ``Heading`` at the exact offset of each heading's text.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..records import Heading, Page

LINE_KINDS = ("item", "row")


@dataclass
class Parsed:
    """What a format loader returns; ``load_document`` adds ids, hashes and the fallback title."""

    pages: list[Page]
    title: str = ""


@dataclass
class Unit:
    text: str
    kind: str = "para"  # para | heading | item | row | pre
    level: int = 0  # headings only


def assemble(units: list[Unit]) -> tuple[str, list[Heading]]:
    parts: list[str] = []
    headings: list[Heading] = []
    pos = 0
    prev = ""
    for u in units:
        text = u.text.strip()
        if not text:
            continue
        if parts:
            sep = "\n" if (u.kind == prev and u.kind in LINE_KINDS) else "\n\n"
            parts.append(sep)
            pos += len(sep)
        if u.kind == "heading":
            headings.append(Heading(pos, max(1, u.level), text))
        parts.append(text)
        pos += len(text)
        prev = u.kind
    return "".join(parts), headings
