"""The question-answering chain: one pipeline of typed steps, used by ``ask`` and ``stream`` alike.

    Query --condense--> standalone question --retrieve--> hits --gate--> Verdict
          --answer--> Answer --verify--> Answer

Each step is a ``RunnableLambda`` over a ``Turn`` record, so the LCEL pipeline is the real
thing and ``stream`` runs the very same first three steps before streaming the answerer.
The answerability gate and the per-sentence verifier apply to every backend: whatever reads
the passages, the gate decides whether to answer and from which passages, and the verifier
decides which sentences the user sees.

``Assistant`` is the one object the CLI, the UI and the evaluation runner share, so they all
answer exactly the same way.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from .answerability import DEPTH, MIN_STRENGTH, RULES, Verdict, assess
from .config import Settings
from .followup import standalone as heuristic_standalone
from .intent import read_question
from .records import Answer, Hit, Query

MIN_HITS = 10  # always retrieve at least this many, so evaluation sees the same ranking as ask


@dataclass
class Turn:
    """What the steps pass along: the query, the passages found, the gate's verdict, timings."""

    query: Query
    hits: list[Hit] = field(default_factory=list)
    verdict: Verdict | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def passages(self) -> list[Hit]:
        """The passages the answerer may read: those the gate admitted, best first, at most k."""
        admitted = [self.hits[i] for i in (self.verdict.admissible if self.verdict else ())]
        return admitted[: self.query.k]


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


class Assistant:
    """Answers questions over one store with one answerer backend."""

    def __init__(
        self,
        settings: Settings | None = None,
        backend: str | None = None,
        min_strength: float = MIN_STRENGTH,
        rules: frozenset = RULES,
        judge=None,
        judge_threshold: float = 0.5,
        **backend_opts,
    ):
        self.settings = settings or Settings()
        self.backend = backend or self.settings.backend
        self.backend_opts = backend_opts
        self.min_strength = min_strength
        self.rules = rules
        # optional model judge: ``judge.p_yes(question, passages) -> P(the passages answer it)``, asked
        # only when the rules admit the question, so it can only add refusals
        self.judge = judge
        self.judge_threshold = judge_threshold
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
            from .errors import EmptyStoreError
            from .retriever import HybridRetriever
            from .store import Store

            store = Store(self.settings)
            if not store.exists():
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
    def condense_step(self, turn: Turn) -> Turn:
        """The standalone question: an LLM backend rewrites with its model, else the heuristic."""
        t0 = time.perf_counter()
        q = turn.query
        sq = q.question
        if q.history:
            sq = ""
            condense = getattr(self.answerer, "condense", None)
            if condense is not None:
                try:
                    sq = (condense(q.question, q.history) or "").strip()
                except Exception:  # a flaky LLM must not block retrieval: fall back to the heuristic
                    sq = ""
            sq = sq or heuristic_standalone(q.question, q.history)
        return replace(turn, query=replace(q, standalone=sq), timings={**turn.timings, "condense_ms": _ms(t0)})

    def retrieve_step(self, turn: Turn) -> Turn:
        t0 = time.perf_counter()
        timings = dict(turn.timings)
        q = turn.query
        hits = self.retriever.search(q.text, k=max(q.k, MIN_HITS), filters=q.filters, timings=timings)
        timings["retrieve_ms"] = _ms(t0)
        return replace(turn, hits=hits, timings=timings)

    def gate_step(self, turn: Turn) -> Turn:
        t0 = time.perf_counter()
        verdict = assess(read_question(turn.query.text), turn.hits, DEPTH, self.min_strength, self.rules, known=self.known())
        if self.judge is not None and verdict.answerable:
            passages = [turn.hits[i].chunk.text for i in verdict.admissible][: turn.query.k]
            verdict.judge = float(self.judge.p_yes(turn.query.text, passages))
            verdict.answerable = verdict.judge >= self.judge_threshold
        return replace(turn, verdict=verdict, timings={**turn.timings, "gate_ms": _ms(t0)})

    def known(self):
        """How well the library knows a word (``LexicalIndex.share``), for the gate; None without a BM25 index."""
        lexical = getattr(self.retriever, "lexical", None)
        if lexical is None or not getattr(self.retriever, "lexical_weight", 0):
            return None
        try:
            return lexical().share
        except Exception:  # no index yet (an empty store): the gate goes without
            return None

    def refusal(self, turn: Turn) -> Answer:
        from .answerers.base import refusal_answer

        lacking = [lack.describe() for lack in (turn.verdict.lacking if turn.verdict else ())]
        return refusal_answer(turn.query.question, turn.hits, lacking, backend=self.backend)

    def answer_step(self, turn: Turn) -> Answer:
        t0 = time.perf_counter()
        if turn.verdict is None or not turn.verdict.answerable:
            ans = self.refusal(turn)
        else:
            ans = self.answerer.answer(turn.query.text, turn.passages())
        return self._finish(ans, turn, {"generate_ms": _ms(t0)})

    def verify_step(self, ans: Answer) -> Answer:
        from .answerers.verify import verify_answer

        t0 = time.perf_counter()
        out = verify_answer(ans, embedder=self.embedder)
        out.timings_ms = {**out.timings_ms, "verify_ms": _ms(t0)}
        return out

    def _finish(self, ans: Answer, turn: Turn, timings: dict[str, float]) -> Answer:
        ans.question = turn.query.question
        ans.standalone_question = turn.query.text
        ans.hits = turn.hits
        ans.timings_ms = {**turn.timings, **ans.timings_ms, **timings}
        if turn.verdict is not None:
            v = turn.verdict
            ans.gate = {"answerable": v.answerable, "strength": round(v.strength, 4), "admissible": list(v.admissible),
                        **{k: round(x, 4) for k, x in v.signals.items()},
                        **({"judge": round(v.judge, 4)} if v.judge is not None else {})}
        return ans

    def prepare(self):
        """The first three steps as one runnable: Turn -> Turn with hits and a verdict."""
        from langchain_core.runnables import RunnableLambda

        return RunnableLambda(self.condense_step) | RunnableLambda(self.retrieve_step) | RunnableLambda(self.gate_step)

    def chain(self):
        """The whole pipeline as an LCEL runnable: Turn -> verified Answer."""
        from langchain_core.runnables import RunnableLambda

        return self.prepare() | RunnableLambda(self.answer_step) | RunnableLambda(self.verify_step)

    # -- public API -------------------------------------------------------------------------
    def query(self, question: str, history=None, k: int | None = None, filters: dict | None = None) -> Query:
        turns = [(str(u), str(a)) for u, a in (history or [])]
        return Query(question=question, history=turns, filters=filters, k=k or self.settings.k)

    def ask(self, question: str, history=None, k: int | None = None, filters: dict | None = None) -> Answer:
        t0 = time.perf_counter()
        ans = self.chain().invoke(Turn(self.query(question, history, k, filters)))
        ans.timings_ms["total_ms"] = _ms(t0)
        return ans

    def retrieve(self, question: str, k: int | None = None, filters: dict | None = None) -> list[Hit]:
        """The top ``k`` passages for ``question``: the head of the ranking ``ask`` answers from."""
        return self.retriever.search(question, k=k or self.settings.k, filters=filters)

    def stream(self, question: str, history=None, k: int | None = None, filters: dict | None = None) -> Iterator[str | Answer]:
        """Yield answer text as it is produced, then the final (verified) ``Answer``."""
        t0 = time.perf_counter()
        turn = self.prepare().invoke(Turn(self.query(question, history, k, filters)))
        if turn.verdict is None or not turn.verdict.answerable:
            final = self._finish(self.refusal(turn), turn, {})
            yield final.text
        else:
            final = None
            t1 = time.perf_counter()
            for part in self.answerer.stream(turn.query.text, turn.passages()):
                if isinstance(part, Answer):
                    final = part
                else:
                    yield part
            if final is None:  # an answerer that forgot its final item
                final = self.answerer.answer(turn.query.text, turn.passages())
            final = self._finish(final, turn, {"generate_ms": _ms(t1)})
        final = self.verify_step(final)
        final.timings_ms["total_ms"] = _ms(t0)
        yield final
