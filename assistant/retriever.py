"""Hybrid retrieval as a LangChain ``BaseRetriever``: dense (Chroma) + BM25, fused, diversified.

* dense: the query vector against the committed chunks in Chroma;
* lexical: BM25 (``bm25s``) over the same chunks, which catches names, numbers and rare terms
  that a small embedding model blurs;
* frame-free similarity: a question usually names its source ("in Polaris's 2021 Hotline data
  ..."), which pulls the query vector towards every passage of that report and most of all
  towards the ones about the report itself (its introduction, its summary). The candidates'
  dense score is their cosine with the query less the component along their document title's
  direction, which leaves what is actually asked;
* confidence-weighted fusion: every candidate's frame-free cosine and BM25 score, each min-max
  normalised over the candidates and weighted by how far that signal's best candidate stands
  out from its top ten, so whichever signal is sure of itself on this question leads;
* neighbour expansion: a passage that stops mid-thought (no closing punctuation, or very
  short) is extended with the next chunk of the same document, unless that would move most
  of its text to another page (its citation page stays its own).

Each stage was measured on and off (benchmarks/ablate_retrieval.py, evals/README.md); stages
that did not help unseen questions were removed. Filters restrict to documents (files), a
publisher or a year.
"""

from __future__ import annotations

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


def confidence(scores) -> float:
    """How far the best score stands out from the top ten: (best - mean) / spread."""
    import numpy as np

    top = np.sort(np.asarray(scores, dtype=np.float64))[::-1][:10]
    return float((top[0] - top.mean()) / (top.std() + 1e-9)) if len(top) > 1 else 1.0


def main_page(chunk: Chunk) -> int:
    """The page holding most of a passage's text (its page when it does not cross a page break)."""
    if chunk.page_break < 0 or chunk.page_end == chunk.page_start:
        return chunk.page_start
    return chunk.page_start if chunk.page_break >= len(chunk.text) - chunk.page_break else chunk.page_end


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


def looks_cut(chunk: Chunk, min_tokens: int = 40) -> bool:
    text = chunk.text.rstrip()
    return bool(text) and (not text.endswith(_END) or (chunk.n_tokens and chunk.n_tokens < min_tokens))


class HybridRetriever(BaseRetriever):
    """Dense + BM25 retrieval over the store, fused by each signal's confidence.

    One ranking: the order of the candidates does not depend on ``k``, so the top ``k`` for any ``k`` is the head of the same list —
    what ``ask`` answers from, what ``retrieve`` and ``invoke(q, k=...)`` return and what
    evaluation scores agree. Each stage can be switched off (a weight 0, ``frame_free`` or
    ``expand_neighbours`` False) for ablations.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Any
    embedder: Any
    k: int = 5
    fetch_k: int = 40
    rrf_k: int = 60
    dense_weight: float = 1.0
    lexical_weight: float = 1.5  # fitted on dev + fresh-tune (a plateau from 1.5 to 3; evals/README.md)
    expand_neighbours: bool = True
    frame_free: bool = True  # the dense signal is the query's cosine less its document-title direction
    fusion: str = "conf"  # "rrf" (ranks), "minmax" (normalised scores), "conf" (minmax weighted by confidence)
    filters: dict | None = None

    _lexical: Any = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)
    _titles: dict = PrivateAttr(default_factory=dict)  # title -> vector, for the frame-free cosine

    # -- LangChain interface ------------------------------------------------------------
    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun | None = None,
        k: int | None = None,
        filter: dict | None = None,  # noqa: A002  (LangChain's name for it in search_kwargs)
        filters: dict | None = None,
    ) -> list[LCDocument]:
        """``invoke(query, k=3, filter={"files": [...]})`` overrides ``k`` and the filters for one call."""
        return [h.to_langchain() for h in self.search(query, k=k, filters=filter if filter is not None else filters)]

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
        """The top ``k`` hits for ``query``, best first: the head of :meth:`ranking`."""
        import time

        k = k or self.k
        ranked, index = self.ranking(query, filters, depth=k, timings=timings)
        t = time.perf_counter()
        hits = []
        for rank, (c, score, dense, lex) in enumerate(ranked[:k], start=1):
            if index is not None and looks_cut(c):
                nxt = index.neighbour(c, 1)
                merged = merge_with_next(c, nxt) if nxt is not None else None
                if merged is not None and main_page(merged) == main_page(c):
                    c = merged  # completed, and still mostly on its own page
            hits.append(Hit(chunk=c, score=score, rank=rank, dense_score=dense, lexical_score=lex))
        if timings is not None:
            timings["expand_ms"] = (time.perf_counter() - t) * 1000
        return hits

    def ranking(self, query: str, filters: dict | None = None, depth: int = 0, timings: dict | None = None):
        """Every candidate as ``(chunk, fused score, dense score, BM25 score)``, best first, and the BM25 index.

        Candidates are the ``fetch_k`` best of each signal; a ``depth`` beyond them adds deeper
        candidates *after* the others, so a longer list never reorders a shorter one's head.
        """
        import time

        filters = filters if filters is not None else self.filters
        t = time.perf_counter()
        docs = self.store.documents()
        manifest = self.store.manifest(docs)
        allowed = self.allowed_documents(manifest, filters)
        if not allowed:
            return [], None
        shas = sorted({d["sha256"] for d in allowed.values()})
        index = self.lexical(self.store.fingerprint(docs))
        t_manifest = time.perf_counter()
        qvec = self.embedder.encode([query])[0]
        t_embed = time.perf_counter()

        everything = len(allowed) == len(manifest)  # no filter: a filter over every document only costs

        def dense_search(n: int) -> list:
            if not self.dense_weight:
                return []
            if index is not None and index.has_vectors:  # exact: HNSW lost the corpus at 50x (lexical.dense)
                return index.dense(qvec, n, doc_ids=None if everything else allowed)
            if everything:
                return self.store.query(qvec, n, committed=set(shas))
            return self.store.query(qvec, n, where={"doc_sha": {"$in": shas}})

        def lexical_search(n: int) -> list:
            return index.search(query, n, doc_ids=None if everything else allowed) if self.lexical_weight else []

        dense = dense_search(self.fetch_k)
        t_dense = time.perf_counter()
        lex = lexical_search(self.fetch_k)
        t_search = time.perf_counter()
        order, chunks, fused, scores = self._order(qvec, dense, lex, query, index)
        if depth > len(order):  # deeper than the candidates: append the next ones, keeping the head
            more = self._order(qvec, dense_search(depth), lexical_search(depth), query, index)
            order += [i for i in more[0] if i not in fused]
            chunks, fused = {**more[1], **chunks}, {**more[2], **fused}
            scores = ({**more[3][0], **scores[0]}, {**more[3][1], **scores[1]})
        if self.dense_weight:
            self._own_cosines(qvec, order[: max(depth, self.k)], scores[0])
        t_fuse = time.perf_counter()
        if timings is not None:
            timings.update(
                manifest_ms=(t_manifest - t) * 1000,
                embed_query_ms=(t_embed - t_manifest) * 1000,
                dense_ms=(t_dense - t_embed) * 1000,
                lexical_ms=(t_search - t_dense) * 1000,
                fuse_ms=(t_fuse - t_search) * 1000,
            )
        ranked = [(chunks[i], fused[i], scores[0].get(i), scores[1].get(i)) for i in order]
        return ranked, (index if self.expand_neighbours else None)

    def _order(self, qvec, dense: list, lex: list, query: str, index):
        """Fuse the candidates: ids best first."""
        chunks: dict[str, Chunk] = {}
        dense_scores: dict[str, float] = {}
        lex_scores: dict[str, float] = {}
        for c, s in dense:
            chunks[c.chunk_id] = c
            dense_scores[c.chunk_id] = s
        for c, s in lex:
            chunks.setdefault(c.chunk_id, c)
            lex_scores[c.chunk_id] = s
        if self.fusion == "rrf":
            rankings = [[c.chunk_id for c, _ in dense], [c.chunk_id for c, _ in lex]]
            fused = rrf(rankings, k=self.rrf_k, weights=[self.dense_weight, self.lexical_weight])
        else:
            fused = self._score_fusion(qvec, query, chunks, index, self._vectors(list(chunks)))
        return sorted(fused, key=lambda i: (-fused[i], i)), chunks, fused, (dense_scores, lex_scores)

    def _score_fusion(self, qvec, query: str, chunks: dict[str, Chunk], index, vecs: dict[str, Any]) -> dict[str, float]:
        """Each signal's exact scores for every candidate, min-max normalised, in a weighted sum.

        The signals are the frame-free cosine (plain cosine with ``frame_free`` off) and BM25.
        ``conf`` also weighs each by how far its best candidate stands out (top score less the
        mean of its top ten, over their spread): a signal that singles out a passage leads, a
        flat one follows, question by question.
        """
        import numpy as np

        ids = [i for i in chunks if i in vecs]
        if self.frame_free:
            dense = frame_free_scores(qvec, [vecs[i] for i in ids], [self._title_vector(chunks[i].title) for i in ids])
        else:
            dense = [float(np.asarray(vecs[i], dtype=np.float32) @ np.asarray(qvec, dtype=np.float32)) for i in ids]
        signals = [(self.dense_weight, np.array(dense))]
        if self.lexical_weight:  # BM25 of every candidate, also those dense search found
            wanted = set(ids)
            bm25 = {c.chunk_id: s for c, s in index.search(query, len(ids), allowed=lambda c: c.chunk_id in wanted)}
            signals.append((self.lexical_weight, np.array([bm25.get(i, 0.0) for i in ids])))
        total = np.zeros(len(ids))
        for w, x in signals:
            span = float(x.max() - x.min()) if len(x) else 0.0
            if w and span > 0:
                total += w * (confidence(x) if self.fusion == "conf" else 1.0) * (x - x.min()) / span
        return {i: float(v) for i, v in zip(ids, total)}

    def _own_cosines(self, qvec, ids: list[str], dense_scores: dict[str, float]) -> None:
        """Give a passage that BM25 alone brought in its own cosine with the question.

        Otherwise its dense score would be "none" only because ``fetch_k`` other passages
        were closer, which depends on the rest of the library: at 10x the corpus, one answer
        about the corpus turned into a refusal because unrelated documents pushed a passage
        out of the dense top 40 and the gate read its missing cosine as 0.
        """
        import numpy as np

        missing = [i for i in ids if i not in dense_scores]
        vecs = self._vectors(missing)
        q = np.asarray(qvec, dtype=np.float32)
        for i in missing:
            if i in vecs:
                v = np.asarray(vecs[i], dtype=np.float32)
                dense_scores[i] = float(v @ q / ((np.linalg.norm(v) * np.linalg.norm(q)) or 1.0))

    def _title_vector(self, title: str):
        if title not in self._titles:
            self._titles[title] = self.embedder.encode([title or " "])[0]
        return self._titles[title]

    def _vectors(self, ids: list[str]) -> dict[str, Any]:
        if not ids:
            return {}
        got = self.store.chunks_collection().get(ids=ids, include=["embeddings"])
        return dict(zip(got["ids"], got["embeddings"]))
