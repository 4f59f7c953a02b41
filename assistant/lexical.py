"""BM25 over the committed chunks (``bm25s``), persisted beside the store and kept in step with it.

The index is derived data: it is keyed by the store's fingerprint (the committed documents
and their hashes), so after any ingest, prune, delete or reset — by this process, another
one, or another client of a shared Chroma server — the next load notices the change and
rebuilds (a few hundred milliseconds for thousands of chunks). Each build goes into its own
folder and a ``CURRENT`` pointer is swapped atomically, so a crash never leaves a torn index.

It also keeps the chunk texts and metadata, which gives the retriever a cheap local map
from (document, chunk index) to chunk for neighbour expansion.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .records import Chunk

STOPWORDS = "english"


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english").stemWords


def tokenize(texts: list[str]):
    import bm25s

    return bm25s.tokenize(texts, stopwords=STOPWORDS, stemmer=_stemmer(), show_progress=False)


@dataclass
class LexicalIndex:
    fingerprint: str
    chunks: list[Chunk]
    bm25: object | None = None
    _pos: dict[tuple[str, int], int] = field(default_factory=dict)

    def __post_init__(self):
        self._pos = {(c.doc_id, c.index): i for i, c in enumerate(self.chunks)}

    # -- building / persistence ---------------------------------------------------------
    @classmethod
    def build(cls, chunks: list[Chunk], fingerprint: str) -> "LexicalIndex":
        import bm25s

        bm25 = None
        if chunks:
            bm25 = bm25s.BM25()
            bm25.index(tokenize([c.title + "\n" + c.section + "\n" + c.text for c in chunks]), show_progress=False)
        return cls(fingerprint=fingerprint, chunks=chunks, bm25=bm25)

    def save(self, base: Path) -> None:
        base.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=base))
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
            for c in self.chunks:
                f.write(json.dumps({"text": c.text, "meta": c.metadata()}) + "\n")
        if self.bm25 is not None:
            self.bm25.save(str(tmp / "bm25"), show_progress=False)
        final = base / self.fingerprint
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        pointer = base / ".CURRENT.tmp"
        pointer.write_text(self.fingerprint)
        os.replace(pointer, base / "CURRENT")
        for other in base.iterdir():  # old builds and leftovers of crashed builds
            if other.is_dir() and other.name != self.fingerprint:
                shutil.rmtree(other, ignore_errors=True)

    @classmethod
    def load(cls, base: Path, fingerprint: str) -> "LexicalIndex | None":
        try:
            if (base / "CURRENT").read_text().strip() != fingerprint:
                return None
            folder = base / fingerprint
            chunks = []
            with open(folder / "chunks.jsonl", encoding="utf-8") as f:
                for line in f:
                    row = json.loads(line)
                    chunks.append(Chunk.from_metadata(row["text"], row["meta"]))
            bm25 = None
            if (folder / "bm25").exists():
                import bm25s

                bm25 = bm25s.BM25.load(str(folder / "bm25"), show_progress=False)
            return cls(fingerprint=fingerprint, chunks=chunks, bm25=bm25)
        except (OSError, ValueError, KeyError):
            return None

    # -- queries ----------------------------------------------------------------------
    def search(self, query: str, n: int, allowed=None) -> list[tuple[Chunk, float]]:
        """Top ``n`` chunks by BM25; ``allowed(chunk) -> bool`` restricts the candidates."""
        if self.bm25 is None or not self.chunks:
            return []
        import numpy as np

        tokens = tokenize([query])
        if not tokens.vocab:
            return []
        mask = None
        if allowed is not None:
            mask = np.array([1.0 if allowed(c) else 0.0 for c in self.chunks], dtype=np.float32)
            if not mask.any():
                return []
        k = min(n, len(self.chunks))
        ids, scores = self.bm25.retrieve(tokens, k=k, show_progress=False, weight_mask=mask, n_threads=0)
        out = []
        for i, s in zip(ids[0], scores[0]):
            if s > 0:
                out.append((self.chunks[int(i)], float(s)))
        return out

    def neighbour(self, chunk: Chunk, offset: int) -> Chunk | None:
        i = self._pos.get((chunk.doc_id, chunk.index + offset))
        return self.chunks[i] if i is not None else None


def lexical_dir(store) -> Path:
    return store.local_dir / "lexical"


def load_or_build(store) -> LexicalIndex:
    """The index matching the store's current state, rebuilt and persisted when stale."""
    fp = store.fingerprint()
    base = lexical_dir(store)
    idx = LexicalIndex.load(base, fp)
    if idx is None:
        idx = LexicalIndex.build(store.get_chunks(), fp)
        try:
            idx.save(base)
        except OSError:
            pass  # read-only location: keep it in memory
    return idx


def lexical_is_current(store) -> bool:
    try:
        return (lexical_dir(store) / "CURRENT").read_text().strip() == store.fingerprint()
    except OSError:
        return False
