"""The question-answering chain, in LCEL: standalone question -> retrieve -> answer -> verify.

``Assistant`` is the one object the CLI, the UI and the evaluation runner share, so they all
answer exactly the same way.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from .config import Settings
from .records import Answer, Hit

_FOLLOW_UP = re.compile(
    r"^\s*(and|but|also|what about|how about|why|so)\b|\b(it|its|they|them|their|this|that|these|those|he|she|his|her|there)\b",
    re.IGNORECASE,
)
_MARKER = re.compile(r"\[(\d+)\]")
MIN_HITS = 10  # always retrieve at least this many, so evaluation sees the same ranking as ask


def heuristic_standalone(question: str, history: list[tuple[str, str]] | None) -> str:
    """Without an LLM: carry the previous question's subject into a follow-up that leans on it."""
    if not history:
        return question
    from .answerers.extractive import terms

    words = terms(question)
    if len(words) > 8 and not _FOLLOW_UP.search(question):
        return question
    if not _FOLLOW_UP.search(question) and len(words) > 4:
        return question
    prev = history[-1][0]
    return f"{question.strip()} (context: {prev.strip()})"


def answer_question(question: str, standalone: str) -> str:
    """What the answerer answers: the rewritten question, except for the heuristic rewrite.

    The heuristic carries the previous question along to find the right passages; choosing
    sentences with it would answer the previous question again, so the follow-up's own words
    pick the sentences from those passages.
    """
    return question if standalone.endswith(")") and "(context: " in standalone else standalone


def verify_markers(answer: Answer) -> Answer:
    """Drop ``[n]`` markers that point at no citation (whatever the answerer produced)."""
    valid = {c.n for c in answer.citations}
    answer.text = _MARKER.sub(lambda m: m.group(0) if int(m.group(1)) in valid else "", answer.text)
    answer.text = re.sub(r"\s{2,}", " ", answer.text).strip()
    return answer


class Assistant:
    """Answers questions over one store with one answerer backend."""

    def __init__(self, settings: Settings | None = None, backend: str | None = None, **backend_opts):
        self.settings = settings or Settings()
        self.backend = backend or self.settings.backend
        self.backend_opts = backend_opts
        self._retriever = None
        self._answerer = None

    # -- parts, built lazily ----------------------------------------------------------------
    @property
    def embedder(self):
        from .embeddings import get_embedder

        return get_embedder(self.settings)

    @property
    def retriever(self):
        if self._retriever is None:
            from .retriever import HybridRetriever
            from .store import Store

            store = Store(self.settings)
            if not store.exists():
                from .errors import EmptyStoreError

                raise EmptyStoreError(
                    f"no documents in the store at {store.location} yet: add reports to sources/ and run "
                    "`assistant ingest sources` (or upload one in the UI's Library tab)"
                )
            store.chunks_collection()  # checks the model / chunker match
            self._retriever = HybridRetriever(store=store, embedder=self.embedder, k=self.settings.k)
        return self._retriever

    @property
    def answerer(self):
        if self._answerer is None:
            from .answerers import get_answerer

            opts = dict(self.backend_opts)
            opts.setdefault("embedder", self.embedder)  # sentence scoring / support checks
            self._answerer = get_answerer(self.backend, **opts)
        return self._answerer

    def warm_up(self) -> "Assistant":
        """Load the store, indexes and models now rather than on the first question."""
        self.embedder.warm_up()
        self.retriever.lexical()
        _ = self.answerer
        return self

    # -- steps ------------------------------------------------------------------------------
    def standalone(self, question: str, history: list[tuple[str, str]] | None) -> str:
        if not history:
            return question
        condense = getattr(self.answerer, "condense", None)  # LLM answerers rewrite with the model
        if condense is not None:
            try:
                return (condense(question, history) or question).strip()
            except Exception:  # a flaky LLM must not block retrieval: fall back to the heuristic
                pass
        return heuristic_standalone(question, history)

    def chain(self, k: int | None = None, filters: dict | None = None):
        """The LCEL runnable: {question, history} -> Answer."""
        from langchain_core.runnables import RunnableLambda

        k = k or self.settings.k

        def condense(x: dict) -> dict:
            t = time.perf_counter()
            sq = self.standalone(x["question"], x.get("history"))
            return {**x, "standalone": sq, "timings": {"condense_ms": (time.perf_counter() - t) * 1000}}

        def retrieve(x: dict) -> dict:
            t = time.perf_counter()
            timings = dict(x["timings"])
            hits = self.retriever.search(x["standalone"], k=max(k, MIN_HITS), filters=filters, timings=timings)
            timings["retrieve_ms"] = (time.perf_counter() - t) * 1000
            return {**x, "hits": hits, "timings": timings}

        def answer(x: dict) -> Answer:
            t = time.perf_counter()
            ans = self.answerer.answer(answer_question(x["question"], x["standalone"]), x["hits"][:k])
            ans.question = x["question"]
            ans.standalone_question = x["standalone"]
            ans.hits = x["hits"]
            ans.timings_ms = {**x["timings"], **ans.timings_ms, "generate_ms": (time.perf_counter() - t) * 1000}
            return ans

        return RunnableLambda(condense) | RunnableLambda(retrieve) | RunnableLambda(answer) | RunnableLambda(verify_markers)

    # -- public API -------------------------------------------------------------------------
    def ask(self, question: str, history=None, k: int | None = None, filters: dict | None = None) -> Answer:
        t = time.perf_counter()
        ans = self.chain(k, filters).invoke({"question": question, "history": history or []})
        ans.timings_ms["total_ms"] = (time.perf_counter() - t) * 1000
        return ans

    def retrieve(self, question: str, k: int | None = None, filters: dict | None = None) -> list[Hit]:
        return self.retriever.search(question, k=k or self.settings.k, filters=filters)

    def stream(self, question: str, history=None, k: int | None = None, filters: dict | None = None) -> Iterator[str | Answer]:
        """Yield answer text as it is produced, then the final (verified) ``Answer``."""
        t = time.perf_counter()
        k = k or self.settings.k
        sq = self.standalone(question, history or [])
        timings: dict[str, float] = {}
        hits = self.retriever.search(sq, k=max(k, MIN_HITS), filters=filters, timings=timings)
        timings["retrieve_ms"] = (time.perf_counter() - t) * 1000
        final = None
        aq = answer_question(question, sq)
        for part in self.answerer.stream(aq, hits[:k]):
            if isinstance(part, Answer):
                final = part
            else:
                yield part
        if final is None:  # an answerer that forgot its final item
            final = self.answerer.answer(aq, hits[:k])
        final.question, final.standalone_question, final.hits = question, sq, hits
        final.timings_ms = {**timings, **final.timings_ms, "total_ms": (time.perf_counter() - t) * 1000}
        yield verify_markers(final)
