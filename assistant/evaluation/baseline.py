"""The baseline: the plain LangChain tutorial pipeline, scored with the same retrieval metrics.

PyPDFLoader -> RecursiveCharacterTextSplitter(1000, 200) -> all-MiniLM-L6-v2 -> an in-memory
Chroma collection -> similarity top-k. It shows what the assistant's own parsing, chunking and
retrieval add over the textbook recipe. Plain-text files are loaded whole as page 1 so that a
question about them is not lost to the baseline for a reason unrelated to retrieval.
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path
from typing import Any

from .metrics import Passage, aggregate, aggregate_by_doc_type, aggregate_by_tag, recall_curve, retrieval_scores
from .questions import Question

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
TEXT_SUFFIXES = {".txt", ".md"}


def _embedder():
    """The project's embedder: the baseline embeds with exactly the model the assistant uses."""
    from ..embeddings import get_embedder

    e = get_embedder()
    return e.embed_documents, e.embed_query, e.name


def load_and_split(corpus: Path) -> list[Any]:
    """LangChain documents (one per page), split into 1000/200-character chunks."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from langchain_community.document_loaders import PyPDFLoader, TextLoader
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    docs = []
    for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
        rel = path.relative_to(corpus).as_posix()
        suffix = path.suffix.lower()
        if suffix == ".pdf":
            pages = PyPDFLoader(str(path)).load()
        elif suffix in TEXT_SUFFIXES:
            pages = TextLoader(str(path), encoding="utf-8").load()
        else:
            continue
        for d in pages:
            d.metadata = {"file": rel, "page": int(d.metadata.get("page", 0)) + 1}  # PyPDF pages are 0-based
        docs.extend(pages)
    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
    return splitter.split_documents(docs)


def baseline_records(questions: list[Question], corpus: Path, k: int = 10, progress: bool = True) -> dict[str, Any]:
    """Index ``corpus`` with the tutorial pipeline and score retrieval for ``questions``."""
    import chromadb

    t0 = time.perf_counter()
    chunks = load_and_split(corpus)
    if not chunks:
        return {"corpus": str(corpus), "overall": aggregate([]), "per_tag": {}, "records": [], "n_chunks": 0}
    t_load = time.perf_counter() - t0
    embed_docs, embed_query, model_name = _embedder()
    texts = [c.page_content for c in chunks]
    vectors = embed_docs(texts)
    t_embed = time.perf_counter() - t0 - t_load

    client = chromadb.EphemeralClient(settings=chromadb.config.Settings(anonymized_telemetry=False))
    name = f"baseline-{uuid.uuid4().hex[:12]}"
    col = client.create_collection(name=name, embedding_function=None)
    try:
        step = 1000
        for i in range(0, len(texts), step):
            col.add(
                ids=[str(j) for j in range(i, min(i + step, len(texts)))],
                embeddings=[list(map(float, v)) for v in vectors[i : i + step]],
                documents=texts[i : i + step],
                metadatas=[c.metadata for c in chunks[i : i + step]],
            )
        records = []
        latencies = []
        for q in questions:
            if not q.answerable:
                continue
            t = time.perf_counter()
            res = col.query(query_embeddings=[embed_query(q.question)], n_results=min(k, len(texts)), include=["metadatas", "documents", "distances"])
            latencies.append((time.perf_counter() - t) * 1000.0)
            passages = [
                Passage(file=m["file"], page_start=int(m["page"]), page_end=int(m["page"]), score=1.0 - float(dist), text=doc)
                for m, doc, dist in zip(res["metadatas"][0], res["documents"][0], res["distances"][0])
            ]
            rec = {"set": q.set_name, "id": q.id, "question": q.question, "tags": list(q.tags), "answerable": True}
            rec["gold"] = [{"file": g.file, "pages": list(g.pages)} for g in q.gold]
            rec.update(retrieval_scores(passages, q.gold))
            rec["latency_ms"] = latencies[-1]
            rec["retrieved"] = [{"rank": i, "file": p.file, "page_start": p.page_start, "page_end": p.page_end} for i, p in enumerate(passages, 1)]
            records.append(rec)
    finally:
        client.delete_collection(name)
    if progress:
        print(f"baseline: {len(chunks)} chunks, load {t_load:.1f}s, embed {t_embed:.1f}s", file=sys.stderr)
    return {
        "corpus": str(corpus),
        "pipeline": f"PyPDFLoader + RecursiveCharacterTextSplitter({CHUNK_SIZE}, {CHUNK_OVERLAP}) + {model_name} + Chroma top-{k}",
        "n_chunks": len(chunks),
        "timings_s": {"load_split": round(t_load, 2), "embed": round(t_embed, 2)},
        **_summary(records),
    }


def _summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Retrieval aggregates overall, per tag, per document type and per set, and the records."""
    return {
        "overall": _retrieval_only(aggregate(records)),
        "per_tag": {t: _retrieval_only(v) for t, v in aggregate_by_tag(records).items()},
        "per_doc_type": {t: _retrieval_only(v) for t, v in aggregate_by_doc_type(records).items()},
        "per_set": _per_set(records),
        "recall_curve": recall_curve(records),
        "records": records,
    }


def _per_set(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    names = sorted({r["set"] for r in records})
    return {n: _retrieval_only(aggregate([r for r in records if r["set"] == n])) for n in names}


RETRIEVAL_KEYS = ("n", "n_page_gold", "recall_at_1", "recall_at_3", "recall_at_5", "recall_at_10", "mrr", "ndcg_at_10", "latency_ms_p50", "latency_ms_p95")


def _retrieval_only(agg: dict[str, Any]) -> dict[str, Any]:
    return {k: agg.get(k) for k in RETRIEVAL_KEYS}


def merge_baseline(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One baseline result from the per-corpus ones (a run may span several corpora)."""
    if len(parts) == 1:
        return parts[0]
    records = [r for p in parts for r in p["records"]]
    return {
        "corpus": [p["corpus"] for p in parts],
        "pipeline": parts[0].get("pipeline", ""),
        "n_chunks": sum(p.get("n_chunks", 0) for p in parts),
        **_summary(records),
    }
