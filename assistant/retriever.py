"""Hybrid retrieval as a LangChain ``BaseRetriever``: dense (Chroma) + BM25, fused, diversified.

* dense: the query vector against the committed chunks in Chroma;
* lexical: BM25 (``bm25s``) over the same chunks, which catches names, numbers and rare terms
  that a small embedding model blurs;
* reciprocal rank fusion of the two rankings, then MMR over the chunk vectors so that
  near-duplicate passages (overlapping chunks, repeated boilerplate) do not crowd the top k;
* frame-free rerank of the top passages: a question usually names its source ("in Polaris's
  2021 Hotline data ..."), which pulls the query vector towards every passage of that report
  and most of all towards the ones about the report itself (its introduction, its summary).
  Projecting the document title's direction out of the query leaves what is actually asked;
  the top ``rerank_depth`` passages are reordered by that similarity plus a small prior for
  their fused rank;
* neighbour expansion: a passage that stops mid-thought (no closing punctuation, or very
  short) is extended with the next chunk of the same document.

Filters restrict to documents (files), a publisher or a year.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, PrivateAttr

from .records import Chunk, Hit

_END = ('.', '!', '?', ':', ';', '"', "'", ')', '”', '’')


def rrf(rankings: list[list[str]], k: int = 60, weights: list[float] | None = None) -> dict[str, float]:
    """Reciprocal rank fusion: sum of w / (k + rank) over the rankings each id appears in."""
    scores: dict[str, float] = {}
    for j, ranking in enumerate(rankings):
        w = weights[j] if weights else 1.0
        for r, cid in enumerate(ranking, start=1):
            scores[cid] = scores.get(cid, 0.0) + w / (k + r)
    return scores


def mmr_order(ids: list[str], relevance: dict[str, float], vectors: dict[str, Any], lam: float, n: int) -> list[str]:
    """Greedy maximal marginal relevance over ``ids`` (relevance normalised to [0, 1])."""
    import numpy as np

    if not ids:
        return []
    rel = np.array([relevance[i] for i in ids], dtype=np.float32)
    span = float(rel.max() - rel.min()) or 1.0
    rel = (rel - rel.min()) / span
    have = [i for i in ids if i in vectors]
    if len(have) != len(ids):  # no vectors for some: keep the fused order
        return ids[:n]
    mat = np.stack([np.asarray(vectors[i], dtype=np.float32) for i in ids])
    mat /= np.linalg.norm(mat, axis=1, keepdims=True) + 1e-9
    sims = mat @ mat.T
    chosen: list[int] = []
    left = list(range(len(ids)))
    while left and len(chosen) < n:
        if chosen:
            penalty = sims[np.ix_(left, chosen)].max(axis=1)
        else:
            penalty = np.zeros(len(left), dtype=np.float32)
        score = lam * rel[left] - (1 - lam) * penalty
        best = left[int(np.argmax(score))]
        chosen.append(best)
        left.remove(best)
    return [ids[i] for i in chosen]


def frame_free_scores(qvec, passage_vectors: list, title_vectors: list) -> list[float]:
    """Cosine of each passage with the query less the component along its document's title."""
    import numpy as np

    q = np.asarray(qvec, dtype=np.float32)
    q = q / (np.linalg.norm(q) + 1e-9)
    out = []
    for p, t in zip(passage_vectors, title_vectors):
        p = np.asarray(p, dtype=np.float32)
        t = np.asarray(t, dtype=np.float32)
        t = t / (np.linalg.norm(t) + 1e-9)
        rest = q - float(q @ t) * t
        out.append(float(rest @ p) / ((np.linalg.norm(rest) + 1e-9) * (np.linalg.norm(p) + 1e-9)))
    return out


def merge_with_next(chunk: Chunk, nxt: Chunk) -> Chunk | None:
    """``chunk`` extended by the part of ``nxt`` it does not already contain (at most two pages)."""
    if nxt.page_end > chunk.page_start + 1 or (chunk.page_break >= 0 and nxt.page_end != chunk.page_end):
        return None  # a passage never spans more than two pages: its citation page stays exact
    brk, end_label = chunk.page_break, chunk.page_end_label or nxt.page_end_label
    if nxt.page_start == chunk.page_end and nxt.start < chunk.end:  # overlapping sentence(s)
        cut = max(0, chunk.end - nxt.start)
        tail = nxt.text[cut:]
        joiner = "" if tail[:1].isspace() else " "
        if brk < 0 and nxt.page_break >= 0:
            brk = len(chunk.text) + len(joiner) + max(0, nxt.page_break - cut)
    else:
        tail, joiner = nxt.text, "\n"
        if brk < 0 and nxt.page_start != chunk.page_end:
            brk, end_label = len(chunk.text) + 1, nxt.page_label
    if not tail.strip():
        return None
    return Chunk(
        chunk_id=chunk.chunk_id,
        doc_id=chunk.doc_id,
        file=chunk.file,
        title=chunk.title,
        text=chunk.text + joiner + tail,
        page_start=chunk.page_start,
        page_end=max(chunk.page_end, nxt.page_end),
        page_label=chunk.page_label,
        page_end_label=end_label if brk >= 0 else "",
        page_break=brk,
        section=chunk.section,
        start=chunk.start,
        end=nxt.end,
        index=chunk.index,
        n_tokens=chunk.n_tokens + nxt.n_tokens,
    )


_LEADER = re.compile(r"(?:\.\s?){4,}\s*\d{1,3}\s*$", re.M)
_TOC_LINE = re.compile(r"^\d{1,3}\s+[A-Z][\w&,’' -]{2,60}$", re.M)


_REFERENCE = (
    re.compile(r"[(,]\s*(?:[A-Z][a-z]+\.?\s+)?(?:19|20)\d\d[a-z]?\)"),  # "(Geneva, 2019)", "(March 2022)"
    re.compile(r"\bet al\b|\band others\b"),
    re.compile(r"“[^”]{8,250}”\s*[,.(]"),  # a quoted title
    re.compile(r"\bpp?\.\s*\d"),
)


def is_navigation(text: str) -> bool:
    """A table of contents, list of figures or of references: it names every topic and answers none."""
    if len(_LEADER.findall(text)) >= 2 or len(_TOC_LINE.findall(text)) >= 4:
        return True
    return sum(len(rx.findall(text)) for rx in _REFERENCE) >= 5


def looks_cut(chunk: Chunk, min_tokens: int = 40) -> bool:
    text = chunk.text.rstrip()
    return bool(text) and (not text.endswith(_END) or (chunk.n_tokens and chunk.n_tokens < min_tokens))


class HybridRetriever(BaseRetriever):
    """Dense + BM25 retrieval over the store, fused with RRF and diversified with MMR."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Any
    embedder: Any
    k: int = 5
    fetch_k: int = 40
    rrf_k: int = 60
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    mmr_lambda: float = 0.8
    expand_neighbours: bool = True
    navigation_penalty: float = 0.3
    rerank_depth: int = 10
    rerank_prior: float = 0.13
    filters: dict | None = None

    _lexical: Any = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)
    _titles: dict = PrivateAttr(default_factory=dict)  # title -> vector, for the rerank

    # -- LangChain interface ------------------------------------------------------------
    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun | None = None
    ) -> list[LCDocument]:
        return [h.to_langchain() for h in self.search(query)]

    # -- the work -------------------------------------------------------------------------
    def lexical(self, fingerprint: str | None = None):
        """The BM25 index for the store's current state (reloaded when the store changed)."""
        from .lexical import load_or_build

        with self._lock:
            if self._lexical is None or (fingerprint and self._lexical.fingerprint != fingerprint):
                self._lexical = load_or_build(self.store)
            return self._lexical

    def allowed_documents(self, manifest: dict[str, dict], filters: dict | None) -> dict[str, dict]:
        f = filters or {}
        files = set(f.get("files") or [])
        out = {}
        for doc_id, d in manifest.items():
            if files and d.get("file") not in files and doc_id not in files:
                continue
            if f.get("publisher") and f["publisher"].lower() not in str(d.get("publisher", "")).lower():
                continue
            if f.get("year") and int(d.get("year") or 0) != int(f["year"]):
                continue
            out[doc_id] = d
        return out

    def search(self, query: str, k: int | None = None, filters: dict | None = None, timings: dict | None = None) -> list[Hit]:
        """The top ``k`` hits for ``query``, best first."""
        import time

        k = k or self.k
        filters = filters if filters is not None else self.filters
        t = time.perf_counter()
        docs = self.store.documents()
        manifest = self.store.manifest(docs)
        allowed = self.allowed_documents(manifest, filters)
        if not allowed:
            return []
        shas = sorted({d["sha256"] for d in allowed.values()})
        fingerprint = self.store.fingerprint(docs)
        t_manifest = time.perf_counter()

        qvec = self.embedder.encode([query])[0]
        t_embed = time.perf_counter()
        dense = self.store.query(qvec, self.fetch_k, where={"doc_sha": {"$in": shas}})
        t_dense = time.perf_counter()
        lex = self.lexical(fingerprint).search(query, self.fetch_k, doc_ids=allowed)
        t_lex = time.perf_counter()

        chunks: dict[str, Chunk] = {}
        dense_scores: dict[str, float] = {}
        lex_scores: dict[str, float] = {}
        for c, s in dense:
            chunks[c.chunk_id] = c
            dense_scores[c.chunk_id] = s
        for c, s in lex:
            chunks.setdefault(c.chunk_id, c)
            lex_scores[c.chunk_id] = s
        fused = rrf(
            [[c.chunk_id for c, _ in dense], [c.chunk_id for c, _ in lex]],
            k=self.rrf_k,
            weights=[self.dense_weight, self.lexical_weight],
        )
        for cid in fused:
            if is_navigation(chunks[cid].text):
                fused[cid] *= self.navigation_penalty
        ranked = sorted(fused, key=lambda i: -fused[i])[: max(3 * k, 20)]
        vectors = self._vectors(ranked)
        order = mmr_order(ranked, fused, vectors, self.mmr_lambda, k)
        order = self.rerank(qvec, order, chunks, vectors)
        t_fuse = time.perf_counter()

        hits = []
        index = self.lexical(fingerprint) if self.expand_neighbours else None
        for rank, cid in enumerate(order, start=1):
            c = chunks[cid]
            if index is not None and looks_cut(c):
                nxt = index.neighbour(c, 1)
                merged = merge_with_next(c, nxt) if nxt is not None else None
                c = merged or c
            hits.append(
                Hit(chunk=c, score=fused[cid], rank=rank, dense_score=dense_scores.get(cid), lexical_score=lex_scores.get(cid))
            )
        if timings is not None:
            timings.update(
                manifest_ms=(t_manifest - t) * 1000,
                embed_query_ms=(t_embed - t_manifest) * 1000,
                dense_ms=(t_dense - t_embed) * 1000,
                lexical_ms=(t_lex - t_dense) * 1000,
                fuse_ms=(t_fuse - t_lex) * 1000,
            )
        return hits

    def rerank(self, qvec, order: list[str], chunks: dict[str, Chunk], vectors: dict[str, Any]) -> list[str]:
        """Reorder the first ``rerank_depth`` ids by frame-free similarity (see the module docstring)."""
        head = order[: self.rerank_depth]
        if len(head) < 2 or any(i not in vectors for i in head):
            return order
        titles = [chunks[i].title for i in head]
        scores = frame_free_scores(qvec, [vectors[i] for i in head], [self._title_vector(t) for t in titles])
        scores = [s + self.rerank_prior / (1 + r) for r, s in enumerate(scores)]
        ranked = [head[j] for j in sorted(range(len(head)), key=lambda j: -scores[j])]
        return ranked + order[self.rerank_depth :]

    def _title_vector(self, title: str):
        if title not in self._titles:
            self._titles[title] = self.embedder.encode([title or " "])[0]
        return self._titles[title]

    def _vectors(self, ids: list[str]) -> dict[str, Any]:
        if not ids:
            return {}
        got = self.store.chunks_collection().get(ids=ids, include=["embeddings"])
        return dict(zip(got["ids"], got["embeddings"]))
