"""What a model read and wrote, per answer: rescore a slow model's run with a changed verifier, not a new run.

A model's answer is scored in steps: its raw text and the passages it read go through
``verify.cite`` (markers, citation repair) and ``verify.verify_answer``, then the metrics. A
local model takes ~30 s a question here, the steps after it milliseconds; so ``eval_local``
keeps each answer's raw text and passages (one ``raw.jsonl`` line) and :func:`rescore` redoes
the steps after the model with today's code. Answers the gate refused never reached a model
and have no raw text: their scored record is kept as it was.
"""

from __future__ import annotations

from typing import Any

from ..records import Answer, Chunk, Hit


def hit_to_json(hit: Hit) -> dict[str, Any]:
    return {"text": hit.chunk.text, "meta": hit.chunk.metadata(), "score": float(hit.score), "rank": hit.rank}


def hit_from_json(d: dict[str, Any]) -> Hit:
    return Hit(chunk=Chunk.from_metadata(d["text"], dict(d["meta"])), score=float(d["score"]), rank=int(d["rank"]))


def raw_line(set_name: str, qid: str, answer: Answer, latency_ms: float, k: int) -> dict[str, Any]:
    """One ``raw.jsonl`` line: the model's raw text, every hit, and which hits the model read."""
    read = [i for i in answer.gate.get("admissible", []) if 0 <= i < len(answer.hits)][:k]
    return {
        "set": set_name,
        "id": qid,
        "backend": answer.backend,
        "question": answer.standalone_question or answer.question,  # what the model was asked
        "asked_model": bool(answer.raw) or (bool(answer.gate.get("answerable")) and answer.backend != "extractive"),
        "raw": answer.raw,
        "read": read,
        "hits": [hit_to_json(h) for h in answer.hits],
        "latency_ms": latency_ms,
        "timings_ms": {n: round(v, 1) for n, v in answer.timings_ms.items()},
        "gate": dict(answer.gate),
    }


def reverify(line: dict[str, Any], embedder: Any = None) -> Answer:
    """The answer as today's ``cite`` and verifier make it from the model's raw text."""
    from ..answerers.base import REFUSAL_TEXT
    from ..answerers.verify import cite, uncited, verify_answer

    hits = [hit_from_json(h) for h in line["hits"]]
    read = [hits[i] for i in line["read"]]
    text, citations = cite(line["raw"], read, line["question"])
    ans = Answer(question=line["question"], text=text if citations else REFUSAL_TEXT, citations=citations,
                 refused=not citations, hits=hits, backend=line["backend"], timings_ms=dict(line["timings_ms"]),
                 unsupported=[] if citations else uncited(line["raw"]), gate=dict(line["gate"]), raw=line["raw"])
    return verify_answer(ans, embedder=embedder)


def rescore(line: dict[str, Any], question: Any, old_record: dict[str, Any], k: int = 5, embedder: Any = None) -> dict[str, Any]:
    """``old_record`` (from results.jsonl) scored again from ``line`` with today's verifier and metrics."""
    if not line.get("asked_model"):
        return old_record
    from .runner import answer_citations, hits_to_passages, make_record

    ans = reverify(line, embedder)
    extra = {key: old_record[key] for key in ("timings_ms", "backend", "standalone_question", "gate") if key in old_record}
    extra["unsupported"] = list(ans.unsupported)
    passages = hits_to_passages(ans.hits)[: max(k, 10)]
    return make_record(question, passages, ans.text, answer_citations(ans), ans.refused, line["latency_ms"], extra)
