"""Example questions drawn from the library itself: its documents' titles and section headings.

Fixed examples would ask about reports that may not be loaded; these always name one that is.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

MAX_EXAMPLES = 4
# Headings that say nothing about a report's content.
_GENERIC = re.compile(
    r"^(?:contents?|table of contents|foreword|preface|acknowledge?ments?|abbreviations|acronyms|glossary|"
    r"references|bibliography|notes|endnotes|index|annex(?:es)?|appendix|appendices|introduction|"
    r"about (?:this|the) (?:report|survey|publication)|disclaimer|copyright)\b",
    re.IGNORECASE,
)


def short_title(title: str, limit: int = 40) -> str:
    """A title cut at its subtitle, then at a word boundary within ``limit`` characters."""
    t = re.split(r"\s*[:–—]\s+|\s+-\s+", " ".join(title.split()), maxsplit=1)[0]
    if len(t) <= limit:
        return t
    return t[:limit].rsplit(" ", 1)[0].rstrip(",;") + "…"


def topic(section: str) -> str:
    """The deepest heading of a section path ("A > B, continued" → "b"), lower-cased but for acronyms."""
    s = " ".join(section.split(" > ")[-1].split())
    s = re.sub(r",?\s*\(?continued\)?$", "", s, flags=re.I).strip(" ?:.;,")
    return " ".join(w if (w.isupper() and len(w) <= 5) else w.lower() for w in s.split())


def good_section(section: str) -> bool:
    s = " ".join(section.split(" > ")[-1].split())
    return 4 <= len(s) <= 70 and any(ch.isalpha() for ch in s) and not _GENERIC.match(s) and not s.isupper()


def example_questions(docs: Iterable[Mapping[str, Any]], sections: Mapping[str, list[str]]) -> list[str]:
    """Up to ``MAX_EXAMPLES`` questions, taking documents in turn: their most frequent useful
    sections first, "the main findings" when a document has none."""
    per_doc: list[list[str]] = []
    for d in docs:
        title = short_title(str(d.get("title") or d.get("file") or ""))
        if not title:
            continue
        counts = Counter(topic(s) for s in sections.get(str(d.get("file")), []) if good_section(s))
        qs = [f"What does “{title}” say about {t}?" for t, _ in counts.most_common(MAX_EXAMPLES) if t]
        per_doc.append(qs or [f"What are the main findings of “{title}”?"])
    out: list[str] = []
    for i in range(MAX_EXAMPLES):
        out += [qs[i] for qs in per_doc if i < len(qs)]
    return out[:MAX_EXAMPLES]


def store_sections(settings, docs: Iterable[Mapping[str, Any]], per_doc: int = 400) -> dict[str, list[str]]:
    """The section heading of up to ``per_doc`` chunks of each document (metadata only, no text)."""
    from ..store import Store

    store = Store(settings)
    col = store.chunks_collection()
    out: dict[str, list[str]] = {}
    for d in list(docs)[: MAX_EXAMPLES * 2]:
        got = col.get(where={"doc_id": d["doc_id"]}, include=["metadatas"], limit=per_doc)
        out[str(d.get("file"))] = [str(m.get("section") or "") for m in got["metadatas"]]
    return out
