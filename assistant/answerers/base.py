"""The answerer interface and the helpers every answerer shares."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

from ..records import Answer, Citation, Hit


@runtime_checkable
class Answerer(Protocol):
    name: str

    def answer(self, question: str, hits: list[Hit]) -> Answer:
        """Answer ``question`` from ``hits`` only; every sentence carries ``[n]`` markers."""

    def stream(self, question: str, hits: list[Hit]) -> Iterator[str | Answer]:
        """Yield text deltas as they are produced, then the final ``Answer`` as the last item."""


def make_citation(n: int, hit: Hit, span: tuple[int, int] | None = None, supported: bool = True) -> Citation:
    """Citation number ``n`` for ``hit``; ``span`` is the supporting text inside the passage."""
    c = hit.chunk
    span = span if span is not None else (0, len(c.text))
    page, label = c.page_at(span[0])
    return Citation(
        n=n,
        doc_id=c.doc_id,
        file=c.file,
        title=c.title,
        page=page,
        page_label=label,
        section=c.section,
        text=c.text,
        span=span,
        score=hit.score,
        chunk_id=c.chunk_id,
        supported=supported,
    )


REFUSAL_TEXT = "The documents do not answer this question."


def page_of(hit: Hit) -> str:
    """The physical page, as the source list gives it, with the printed number when it differs."""
    c = hit.chunk
    label = c.page_label
    return f"p. {c.page_start}" + (f" (printed {label})" if label and label != str(c.page_start) else "")


def refusal_answer(question: str, hits: list[Hit], lacking: Sequence[str] = (), backend: str = "") -> Answer:
    """The plain refusal, saying what the closest passage lacks and listing the closest passages.

    The listed passages are offered for the reader to check, not as support: their citations
    are marked unsupported.
    """
    if not hits:
        return Answer(question=question, text=REFUSAL_TEXT + " No passages were found.", refused=True, backend=backend)
    closest = hits[:3]
    listing = "; ".join(f"[{i}] {h.chunk.title}, {page_of(h)}" for i, h in enumerate(closest, start=1))
    why = ""
    if lacking:
        items = list(lacking)
        why = " The closest passage does not give " + (
            items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
        ) + "."
    text = f"{REFUSAL_TEXT}{why} The closest passages are: {listing}."
    cits = [make_citation(i, h, None, supported=False) for i, h in enumerate(closest, start=1)]
    return Answer(question=question, text=text, citations=cits, refused=True, backend=backend)
