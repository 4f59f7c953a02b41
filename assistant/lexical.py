"""BM25 over the committed chunks, in one segment per document, merged at query time.

Why segments: adding or deleting a document must cost about that document, not the library.
Each document version gets its own immutable segment (its chunks and their term
frequencies, tokenised with ``bm25s``' tokenizer and PyStemmer); deleting it drops a folder.
Scores are computed at query time from the statistics of the documents the query touches:
chunk count, mean chunk length and each query term's document frequency over the segments
that hold at least one query term. So a document that shares no term with a question cannot
change its scores (with library-wide statistics, every added report raised every term's idf by
about log(growth) and reordered passages of the others; measured in benchmarks/bench_scale.py). The ranking equals a from-scratch
``bm25s`` index (Lucene BM25, k1 1.5, b 0.75) over the chunks of those documents
(tests/test_lexical.py checks it); on a library where every document touches the question, over all chunks.

The index is derived data kept in step with the store's fingerprint: ``sync`` compares the
committed documents with ``index.json`` and builds or drops only the segments that differ —
whether the change came from this process, another one, or another client of a shared
Chroma server. Segments are written to a temporary folder and renamed, and ``index.json``
is replaced atomically, so a crash never leaves a torn index (at worst an unreferenced
segment folder, removed by the next sync).

It also keeps the chunk texts and metadata, which gives the retriever a cheap local map
from (document, chunk index) to chunk for neighbour expansion.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from .records import Chunk
from .terms import stem_words

STOPWORDS = "english"
K1, B = 1.5, 0.75  # bm25s' defaults (method "lucene")
INDEX_FILE = "index.json"
FORMAT = 2  # 2: segments also keep their chunks' vectors (exact dense search)


def tokenize(texts: list[str]) -> list[list[str]]:
    """Stemmed, stopword-free tokens: the same function for chunks and queries."""
    import bm25s

    return bm25s.tokenize(texts, stopwords=STOPWORDS, stemmer=stem_words, show_progress=False, return_ids=False)


def chunk_text(c: Chunk) -> str:
    """What BM25 sees of a chunk: its document title and section help name matches."""
    return c.title + "\n" + c.section + "\n" + c.text


# --------------------------------------------------------------------------- segments


@dataclass
class Segment:
    """One document version's chunks with a term -> postings map (chunk positions and counts)."""

    doc_id: str
    sha: str
    chunks: list[Chunk]
    lengths: np.ndarray  # tokens per chunk
    postings: dict[str, tuple[np.ndarray, np.ndarray]]  # term -> (chunk positions, term counts)
    vectors: np.ndarray | None = None  # (chunks, dimension) float32, in chunk order; None: not kept

    @property
    def name(self) -> str:
        return segment_name(self.doc_id, self.sha)

    @classmethod
    def build(cls, doc_id: str, sha: str, chunks: list[Chunk], vectors: dict | None = None) -> "Segment":
        """``vectors``: chunk id -> vector; kept only when every chunk has one."""
        chunks = sorted(chunks, key=lambda c: c.index)
        tokens = tokenize([chunk_text(c) for c in chunks]) if chunks else []
        rows: dict[str, list[tuple[int, int]]] = {}
        for i, toks in enumerate(tokens):
            for term, tf in Counter(toks).items():
                rows.setdefault(term, []).append((i, tf))
        postings = {
            t: (np.array([r for r, _ in v], dtype=np.int32), np.array([f for _, f in v], dtype=np.float32))
            for t, v in rows.items()
        }
        lengths = np.array([len(t) for t in tokens], dtype=np.float32)
        vecs = None
        if vectors and chunks and all(c.chunk_id in vectors for c in chunks):
            vecs = np.asarray([vectors[c.chunk_id] for c in chunks], dtype=np.float32)
        return cls(doc_id=doc_id, sha=sha, chunks=chunks, lengths=lengths, postings=postings, vectors=vecs)

    def save(self, base: Path) -> None:
        """Write into a temporary folder, then rename: the segment appears whole or not at all."""
        final = base / self.name
        if final.exists():  # segments are immutable: same name, same content ...
            if self.vectors is not None and not (final / "vectors.npy").exists():  # ... but one from format 1 lacks vectors
                tmp = final / ".vectors.tmp.npy"
                np.save(tmp, self.vectors)
                os.replace(tmp, final / "vectors.npy")
            return
        base.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=base))
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
            for c in self.chunks:
                f.write(json.dumps({"text": c.text, "meta": c.metadata()}) + "\n")
        terms = sorted(self.postings)
        sizes = np.array([len(self.postings[t][0]) for t in terms], dtype=np.int64)
        empty_i, empty_f = np.zeros(0, np.int32), np.zeros(0, np.float32)
        np.savez(
            tmp / "postings.npz",
            terms=np.array(terms, dtype=str),
            indptr=np.concatenate([[0], np.cumsum(sizes)]),
            rows=np.concatenate([self.postings[t][0] for t in terms]) if terms else empty_i,
            tfs=np.concatenate([self.postings[t][1] for t in terms]) if terms else empty_f,
            lengths=self.lengths,
        )
        if self.vectors is not None:
            np.save(tmp / "vectors.npy", self.vectors)
        os.replace(tmp, final)

    @classmethod
    def load(cls, base: Path, name: str, doc_id: str, sha: str) -> "Segment":
        folder = base / name
        chunks = []
        with open(folder / "chunks.jsonl", encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                chunks.append(Chunk.from_metadata(row["text"], row["meta"]))
        with np.load(folder / "postings.npz", allow_pickle=False) as z:
            terms, indptr, rows, tfs, lengths = (z[k] for k in ("terms", "indptr", "rows", "tfs", "lengths"))
        postings = {
            str(t): (rows[indptr[i] : indptr[i + 1]], tfs[indptr[i] : indptr[i + 1]]) for i, t in enumerate(terms)
        }
        vf = folder / "vectors.npy"
        vectors = np.load(vf, allow_pickle=False) if vf.is_file() else None
        if vectors is not None and len(vectors) != len(chunks):
            raise ValueError(f"{vf}: {len(vectors)} vectors for {len(chunks)} chunks")
        return cls(doc_id=doc_id, sha=sha, chunks=chunks, lengths=lengths, postings=postings, vectors=vectors)


def segment_name(doc_id: str, sha: str) -> str:
    return f"{doc_id}-{(sha or 'nosha')[:16]}"


# --------------------------------------------------------------------------- the index


@dataclass
class LexicalIndex:
    """The segments of the committed documents, in file order, scored together."""

    fingerprint: str
    segments: list[Segment] = field(default_factory=list)
    base: Path | None = None  # where segments and index.json live (None: memory only)
    meta_key: str = ""  # model and chunker the segments were built for

    def __post_init__(self):
        self._refresh()

    def _refresh(self) -> None:
        """Recompute the merged view after segments changed (memory only, no I/O)."""
        self.segments.sort(key=lambda s: (s.chunks[0].file if s.chunks else "", s.doc_id))
        self.chunks: list[Chunk] = [c for s in self.segments for c in s.chunks]
        self._offsets = np.cumsum([0] + [len(s.chunks) for s in self.segments])
        self._pos = {(c.doc_id, c.index): i for i, c in enumerate(self.chunks)}
        lengths = np.concatenate([s.lengths for s in self.segments]) if self.segments else np.zeros(0, np.float32)
        self._n = len(lengths)
        self._lengths = lengths.astype(np.float64)
        self._seg_tokens = np.array([float(s.lengths.sum()) for s in self.segments])  # per segment: for avgdl
        have = self.segments and all(s.vectors is not None and len(s.vectors) == len(s.chunks) for s in self.segments if s.chunks)
        self._vectors = np.concatenate([s.vectors for s in self.segments if s.chunks]) if have and self._n else None
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # merged per term, filled by queries

    @property
    def documents(self) -> dict[str, str]:
        return {s.doc_id: s.sha for s in self.segments}

    # -- building / persistence ---------------------------------------------------------
    @classmethod
    def build(cls, chunks: list[Chunk], fingerprint: str, shas: dict[str, str] | None = None) -> "LexicalIndex":
        """An in-memory index over ``chunks`` (grouped into one segment per document)."""
        by_doc: dict[str, list[Chunk]] = {}
        for c in chunks:
            by_doc.setdefault(c.doc_id, []).append(c)
        segs = [Segment.build(d, (shas or {}).get(d, ""), cs) for d, cs in by_doc.items()]
        return cls(fingerprint=fingerprint, segments=segs)

    def add_document(self, doc_id: str, sha: str, chunks: list[Chunk]) -> None:
        """Index one document version (replacing any other version of it): costs that document."""
        seg = Segment.build(doc_id, sha, chunks)
        if self.base is not None:
            seg.save(self.base)
        self.segments = [s for s in self.segments if s.doc_id != doc_id] + [seg]
        self._refresh()

    def remove_document(self, doc_id: str) -> bool:
        before = len(self.segments)
        self.segments = [s for s in self.segments if s.doc_id != doc_id]
        if len(self.segments) != before:
            self._refresh()
        return len(self.segments) != before

    def commit(self, fingerprint: str) -> None:
        """Record the segment set as the index for ``fingerprint`` (atomic), then drop orphans."""
        self.fingerprint = fingerprint
        if self.base is None:
            return
        self.base.mkdir(parents=True, exist_ok=True)
        record = {
            "format": FORMAT,
            "fingerprint": fingerprint,
            "meta_key": self.meta_key,
            "segments": {s.doc_id: {"sha": s.sha, "name": s.name} for s in self.segments},
        }
        tmp = self.base / f".{INDEX_FILE}.tmp"
        tmp.write_text(json.dumps(record))
        os.replace(tmp, self.base / INDEX_FILE)
        keep = {s.name for s in self.segments}
        with _LOADED_LOCK:  # forget this process's copies of dropped segments
            for key in [k for k in _LOADED if Path(k).parent == self.base and Path(k).name not in keep]:
                del _LOADED[key]
        for other in self.base.iterdir():  # replaced versions, deleted documents, crashed builds
            if other.is_dir() and other.name not in keep:
                shutil.rmtree(other, ignore_errors=True)
            elif other.is_file() and other.name == "CURRENT":  # the pre-segment layout
                other.unlink(missing_ok=True)

    # -- queries ----------------------------------------------------------------------
    def search(
        self,
        query: str,
        n: int,
        allowed: Callable[[Chunk], bool] | None = None,
        doc_ids: Iterable[str] | None = None,
    ) -> list[tuple[Chunk, float]]:
        """Top ``n`` chunks by BM25 (scored on the statistics of the documents holding a query term).

        ``doc_ids`` restricts the candidates to those documents (cheap: whole segments);
        ``allowed(chunk) -> bool`` restricts them chunk by chunk.
        """
        if not self._n:
            return []
        terms = [t for t in tokenize([query])[0]]
        if not terms:
            return []
        # the documents the query touches: their chunks are the collection the statistics describe
        touched = [i for i, seg in enumerate(self.segments) if any(t in seg.postings for t in terms)]
        if not touched:
            return []
        n_chunks = float(sum(self._offsets[i + 1] - self._offsets[i] for i in touched))
        avgdl = max(float(self._seg_tokens[touched].sum()) / n_chunks, 1e-9)
        scores = np.zeros(self._n, dtype=np.float64)
        for term in terms:  # repeated query terms count again, as in bm25s
            rows, tfs = self._merged(term)
            if not len(rows):
                continue
            idf = math.log(1 + (n_chunks - len(rows) + 0.5) / (len(rows) + 0.5))
            norm = K1 * ((1 - B) + B * self._lengths[rows] / avgdl)
            scores[rows] += idf * tfs / (norm + tfs)
        if doc_ids is not None:
            keep = set(doc_ids)
            for i, seg in enumerate(self.segments):
                if seg.doc_id not in keep:
                    scores[self._offsets[i] : self._offsets[i + 1]] = 0.0
        if allowed is not None:  # only the chunks that scored are asked
            for i in np.flatnonzero(scores):
                if not allowed(self.chunks[i]):
                    scores[i] = 0.0
        k = min(n, self._n)
        top = np.argpartition(-scores, k - 1)[:k] if k < self._n else np.arange(self._n)
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.chunks[int(i)], float(scores[i])) for i in top if scores[i] > 0]

    @property
    def has_vectors(self) -> bool:
        return self._vectors is not None

    def dense(self, qvec, n: int, doc_ids: Iterable[str] | None = None) -> list[tuple[Chunk, float]]:
        """The ``n`` chunks nearest to ``qvec`` by cosine, exactly (every kept vector is compared).

        Why not Chroma's HNSW: at 50x the corpus (43k chunks) its top 40 for 17 of 56 questions
        held only unrelated passages (cosine ~0.3) while corpus passages at 0.6 existed. A
        product over 43k x 384 floats costs about as much as the HNSW query did.
        """
        if self._vectors is None or not self._n:
            return []
        q = np.asarray(qvec, dtype=np.float32)
        scores = self._vectors @ (q / (np.linalg.norm(q) or 1.0))
        if doc_ids is not None:
            keep = set(doc_ids)
            for i, seg in enumerate(self.segments):
                if seg.doc_id not in keep:
                    scores[self._offsets[i] : self._offsets[i + 1]] = -np.inf
        k = min(n, self._n)
        top = np.argpartition(-scores, k - 1)[:k] if k < self._n else np.arange(self._n)
        top = top[np.lexsort((top, -scores[top]))]  # best first; ties by position
        return [(self.chunks[int(i)], float(scores[i])) for i in top if np.isfinite(scores[i])]

    def _merged(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """A term's postings over all segments (library-wide chunk positions), cached until a change."""
        got = self._postings.get(term)
        if got is None:
            parts = [(s.postings[term][0] + self._offsets[i], s.postings[term][1])
                     for i, s in enumerate(self.segments) if term in s.postings]
            if parts:
                got = (np.concatenate([r for r, _ in parts]), np.concatenate([f for _, f in parts]))
            else:
                got = (np.zeros(0, np.int64), np.zeros(0, np.float32))
            self._postings[term] = got
        return got

    def share(self, word: str) -> float:
        """The share of the library's passages that use ``word`` (its stem): how well the library
        knows a kind of thing. A word that tokenizes to nothing (a stopword) counts as known."""
        toks = tokenize([word])[0]
        if not toks or not self._n:
            return 1.0
        return max(len(self._merged(t)[0]) for t in toks) / self._n

    def neighbour(self, chunk: Chunk, offset: int) -> Chunk | None:
        i = self._pos.get((chunk.doc_id, chunk.index + offset))
        return self.chunks[i] if i is not None else None


# --------------------------------------------------------------------------- keeping in step

_LOADED: dict[str, Segment] = {}  # segments already read in this process, by folder path
_LOADED_LOCK = threading.Lock()


def lexical_dir(store) -> Path:
    return store.local_dir / "lexical"


def _meta_key(store) -> str:
    meta = dict(store.chunks_collection().metadata or {}) if store.exists() else {}
    raw = json.dumps([meta.get(k) for k in ("embedding_model", "chunker_version")])
    return hashlib.sha1(raw.encode()).hexdigest()[:12]


def _read_record(base: Path) -> dict:
    try:
        rec = json.loads((base / INDEX_FILE).read_text())
        return rec if rec.get("format") == FORMAT else {}
    except (OSError, ValueError):
        return {}


def _segment(base: Path, doc_id: str, sha: str) -> Segment | None:
    """A committed segment from disk (or this process's copy of it); None when absent or unreadable."""
    name = segment_name(doc_id, sha)
    key = str(base / name)
    with _LOADED_LOCK:
        seg = _LOADED.get(key)
    if seg is None:
        try:
            seg = Segment.load(base, name, doc_id, sha)
        except (OSError, ValueError, KeyError):
            return None
        with _LOADED_LOCK:
            _LOADED[key] = seg
    return seg


def _save_quietly(seg: Segment, base: Path) -> None:
    try:
        seg.save(base)
    except OSError:
        pass  # read-only location: the index stays in memory


def sync(store, index: LexicalIndex | None = None) -> LexicalIndex:
    """The index for the store's current state: only documents that changed are (re)indexed.

    ``index`` is a loaded index to update in place (e.g. the retriever's); otherwise the
    segments recorded in ``index.json`` are reused.
    """
    docs = store.documents()
    fp = store.fingerprint(docs)
    if index is not None and index.fingerprint == fp:
        return index
    base = lexical_dir(store)
    meta_key = _meta_key(store)
    rec = _read_record(base)
    if index is None or index.meta_key != meta_key or index.base != base:
        index = LexicalIndex(fingerprint="", base=base, meta_key=meta_key)
        if rec.get("meta_key") == meta_key:
            loaded = [_segment(base, d, v["sha"]) for d, v in rec.get("segments", {}).items()]
            index.segments = [s for s in loaded if s is not None]
            index._refresh()
    want = {d["doc_id"]: d.get("sha256", "") for d in docs}
    have = index.documents
    fresh = []
    for doc_id, sha in want.items():
        if have.get(doc_id) != sha:
            seg = _segment(base, doc_id, sha) if rec.get("meta_key") == meta_key else None
            if seg is None:
                seg = Segment.build(doc_id, sha, store.get_chunks(doc_id, docs=docs), store.get_vectors(doc_id, docs=docs))
                _save_quietly(seg, base)
            fresh.append(seg)
    if fresh or set(have) != set(want):
        replaced = {s.doc_id for s in fresh}
        index.segments = [s for s in index.segments if s.doc_id in want and s.doc_id not in replaced] + fresh
        index._refresh()
    try:
        if rec.get("fingerprint") != fp:
            index.commit(fp)
        else:
            index.fingerprint = fp
    except OSError:  # read-only location: keep it in memory
        index.fingerprint = fp
    return index


def load_or_build(store) -> LexicalIndex:
    """The index matching the store's current state (kept for callers of the old name)."""
    return sync(store)


def lexical_is_current(store) -> bool:
    return _read_record(lexical_dir(store)).get("fingerprint") == store.fingerprint()
