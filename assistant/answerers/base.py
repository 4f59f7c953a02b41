"""The answerer interface and the helpers every answerer shares."""

from __future__ import annotations

from collections.abc import Iterator
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
