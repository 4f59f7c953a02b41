"""The plain records that flow through the assistant: document -> page -> chunk -> hit -> answer.

They are deliberately dumb dataclasses: loaders produce ``Document``/``Page``, the chunker
produces ``Chunk``, the store and retriever produce ``Hit``, answerers produce ``Answer``
with ``Citation``s. Conversions to and from LangChain ``Document`` and Chroma metadata
live here too, so every layer agrees on field names.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Heading:
    """A heading detected on a page: where it starts in the page text, its level (1 = top)."""

    offset: int
    level: int
    text: str


@dataclass
class Page:
    """One physical page of a document, text cleaned and in reading order."""

    number: int  # physical 1-based page index
    text: str
    label: str = ""  # printed page label where the file defines one, else ""
    headings: list[Heading] = field(default_factory=list)

    @property
    def display_label(self) -> str:
        return self.label or str(self.number)


@dataclass
class Document:
    """A loaded source file. ``file`` is the path relative to the ingested folder."""

    doc_id: str
    path: str
    file: str
    title: str
    sha256: str
    pages: list[Page]
    kind: str = "pdf"  # pdf | html | markdown | text | docx
    publisher: str = ""
    year: int | None = None

    @property
    def n_pages(self) -> int:
        return len(self.pages)


@dataclass
class Chunk:
    """A passage of a document, anchored to its page(s) and to character offsets in the page text.

    ``start`` is an offset into the text of ``page_start``; ``end`` into the text of ``page_end``.
    """

    chunk_id: str
    doc_id: str
    file: str
    title: str
    text: str
    page_start: int
    page_end: int
    page_label: str
    section: str
    start: int
    end: int
    index: int  # ordinal of the chunk within its document
    n_tokens: int = 0
    page_break: int = -1  # offset in ``text`` where page_end's text begins (-1: one page)
    page_end_label: str = ""

    def page_at(self, offset: int) -> tuple[int, str]:
        """(physical page, printed label) of the character at ``offset`` in ``text``."""
        if self.page_break >= 0 and offset >= self.page_break:
            return self.page_end, self.page_end_label
        return self.page_start, self.page_label

    def metadata(self) -> dict[str, Any]:
        """Flat metadata for Chroma / LangChain (scalars only)."""
        d = asdict(self)
        d.pop("text")
        return d

    @classmethod
    def from_metadata(cls, text: str, meta: dict[str, Any]) -> "Chunk":
        names = {f for f in cls.__dataclass_fields__ if f != "text"}
        kw = {k: meta[k] for k in names if k in meta}
        return cls(text=text, **kw)


@dataclass
class Hit:
    """A retrieved chunk with its fused score and rank (1-based)."""

    chunk: Chunk
    score: float
    rank: int = 0
    dense_score: float | None = None
    lexical_score: float | None = None

    def to_langchain(self):
        from langchain_core.documents import Document as LCDocument

        meta = self.chunk.metadata()
        meta.update(score=self.score, rank=self.rank)
        return LCDocument(page_content=self.chunk.text, metadata=meta, id=self.chunk.chunk_id)

    @classmethod
    def from_langchain(cls, doc) -> "Hit":
        meta = dict(doc.metadata)
        score = float(meta.pop("score", 0.0))
        rank = int(meta.pop("rank", 0))
        return cls(chunk=Chunk.from_metadata(doc.page_content, meta), score=score, rank=rank)


@dataclass(frozen=True)
class Filters:
    """Which documents a question may be answered from; empty fields mean no restriction."""

    files: tuple[str, ...] = ()
    publisher: str = ""
    year: int | None = None

    def as_dict(self) -> dict[str, Any] | None:
        """The retriever's filter dict, or None when nothing is restricted."""
        d: dict[str, Any] = {}
        if self.files:
            d["files"] = list(self.files)
        if self.publisher:
            d["publisher"] = self.publisher
        if self.year:
            d["year"] = self.year
        return d or None


@dataclass
class Query:
    """A question as the chain carries it: what was typed, the conversation, and how it is read.

    ``standalone`` is the question rewritten to stand on its own (follow-ups carry the subject
    of earlier turns); retrieval, the answerability gate and the reader all use it.
    """

    question: str
    history: list[tuple[str, str]] = field(default_factory=list)  # (user, assistant) turns, oldest first
    standalone: str = ""
    filters: dict[str, Any] | None = None  # files / publisher / year
    k: int = 5  # passages the answerer may use

    @property
    def text(self) -> str:
        return self.standalone or self.question


@dataclass
class Citation:
    """A numbered source of an answer: the passage, its page, and the supporting span inside it."""

    n: int
    doc_id: str
    file: str
    title: str
    page: int  # physical 1-based page
    page_label: str
    section: str
    text: str  # the passage
    span: tuple[int, int]  # character span of the supporting sentence(s) inside ``text``
    score: float
    chunk_id: str = ""
    supported: bool = True

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["span"] = list(self.span)
        return d


@dataclass
class Answer:
    """What the chain returns: text with ``[n]`` markers, its citations, and how it got there."""

    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    standalone_question: str = ""
    hits: list[Hit] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    backend: str = "extractive"
    unsupported: list[str] = field(default_factory=list)  # sentences the verifier removed: no citation supports them
    gate: dict[str, Any] = field(default_factory=dict)  # the answerability gate's decision and signals
    raw: str = ""  # a model's text before citation clean-up and verification: an evaluation can re-verify it

    def to_json(self) -> dict[str, Any]:
        """The public JSON shape shared by ``assistant ask --json`` and the UI's ``ask`` endpoint."""
        return {
            "answer": self.text,
            "refused": self.refused,
            "citations": [
                {
                    "n": c.n,
                    "file": c.file,
                    "title": c.title,
                    "page": c.page,
                    "page_label": c.page_label,
                    "section": c.section,
                    "text": c.text,
                    "span": list(c.span),
                    "score": round(float(c.score), 4),
                    "supported": c.supported,
                }
                for c in self.citations
            ],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "backend": self.backend,
            "standalone_question": self.standalone_question,
            "unsupported": list(self.unsupported),
            "gate": dict(self.gate),
        }
