"""Evaluation metrics: pure functions over retrieved passages, answers and gold references.

No I/O here, so every number in a report can be checked by hand in ``tests/test_eval_metrics.py``.

Conventions (see ``evals/README.md``):
- a passage lies on page p of its file when ``page_start <= p <= page_end``;
- gold files are paths relative to the corpus folder, passage files relative to the ingested
  folder: both are compared as normalised posix paths, falling back to a match of whole
  trailing path components (gold ``pdf/x.pdf`` matches ``x.pdf`` and ``corpus/pdf/x.pdf``);
- retrieval metrics look at the first ``DEPTH`` (10) passages and need page-level gold;
- a metric that does not apply to a question is ``None`` and is left out of the means.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from ..answerers.markers import answer_sentences
from .questions import GoldRef, Question

DEPTH = 10
KS = (1, 3, 5, 10)

# Metrics averaged over the questions where they apply (value not None).
MEAN_METRICS = (
    *(f"recall_at_{k}" for k in KS),
    "mrr",
    "ndcg_at_10",
    "fact_recall",
    "citation_precision",
    "citation_support",
    "first_sentence_fact",
    "sentence_support",
    "judge_faithfulness",
    "judge_answer_relevancy",
)


@dataclass(frozen=True)
class Passage:
    """A retrieved passage as the metrics see it (rank = position in the list, 1-based)."""

    file: str
    page_start: int
    page_end: int
    score: float = 0.0
    text: str = ""


@dataclass(frozen=True)
class Cited:
    """A citation of an answer: the page range of the cited passage and its supporting span."""

    file: str
    page: int
    page_end: int | None = None
    text: str = ""
    span: tuple[int, int] = (0, 0)
    supported: bool = True


# -- files and pages -----------------------------------------------------------------------


def normalise_path(path: str) -> str:
    """Posix form without ``./`` or empty parts, case-folded (PDF names differ only by case rarely)."""
    parts = [p for p in str(path).replace("\\", "/").split("/") if p not in ("", ".")]
    return str(PurePosixPath(*parts)).casefold() if parts else ""


def file_matches(gold_file: str, file: str) -> bool:
    """True when ``file`` (as ingested) is the gold file: equal paths, or one ends with the other."""
    g, f = normalise_path(gold_file), normalise_path(file)
    if not g or not f:
        return False
    if g == f:
        return True
    gp, fp = g.split("/"), f.split("/")
    n = min(len(gp), len(fp))
    return gp[-n:] == fp[-n:]


def gold_pages_hit(file: str, page_start: int, page_end: int, gold: Iterable[GoldRef]) -> set[tuple[int, int]]:
    """The (gold entry index, page) pairs a passage covers; empty when it is on no gold page."""
    hit: set[tuple[int, int]] = set()
    lo, hi = min(page_start, page_end), max(page_start, page_end)
    for i, g in enumerate(gold):
        if g.pages and file_matches(g.file, file):
            hit.update((i, p) for p in g.pages if lo <= p <= hi)
    return hit


def on_gold_page(file: str, page_start: int, page_end: int, gold: Iterable[GoldRef]) -> bool:
    return bool(gold_pages_hit(file, page_start, page_end, gold))


def has_page_gold(gold: Iterable[GoldRef]) -> bool:
    return any(g.pages for g in gold)


# -- retrieval -----------------------------------------------------------------------------


def relevant_ranks(passages: Sequence[Passage], gold: Sequence[GoldRef], depth: int = DEPTH) -> list[int]:
    """1-based ranks (within ``depth``) of the passages that lie on a gold page."""
    return [
        i
        for i, p in enumerate(passages[:depth], 1)
        if on_gold_page(p.file, p.page_start, p.page_end, gold)
    ]


def first_gold_rank(passages: Sequence[Passage], gold: Sequence[GoldRef], depth: int = DEPTH) -> int | None:
    ranks = relevant_ranks(passages, gold, depth)
    return ranks[0] if ranks else None


def recall_at_k(passages: Sequence[Passage], gold: Sequence[GoldRef], k: int) -> float:
    """1.0 when at least one of the top ``k`` passages lies on a gold page, else 0.0."""
    r = first_gold_rank(passages, gold, depth=k)
    return 1.0 if r is not None else 0.0


def reciprocal_rank(passages: Sequence[Passage], gold: Sequence[GoldRef], depth: int = DEPTH) -> float:
    r = first_gold_rank(passages, gold, depth)
    return 1.0 / r if r else 0.0


def ndcg_at_k(passages: Sequence[Passage], gold: Sequence[GoldRef], k: int = DEPTH) -> float:
    """nDCG@k with binary relevance, where the relevant items are the gold pages.

    A passage on a gold page has gain 1 unless every gold page it covers was already covered
    by a higher-ranked passage (a page is found once, so repeats of one page cannot outscore
    finding the other pages of a multi-page answer). The ideal list finds one gold page per
    rank: IDCG = sum_{i=1..min(k, #gold pages)} 1/log2(i+1). The result is in [0, 1].
    """
    n_gold = sum(len(g.pages) for g in gold)
    if n_gold == 0:
        return 0.0
    found: set[tuple[int, int]] = set()
    dcg = 0.0
    for i, p in enumerate(passages[:k], 1):
        pages = gold_pages_hit(p.file, p.page_start, p.page_end, gold)
        if pages - found:
            dcg += 1.0 / math.log2(i + 1)
            found |= pages
    idcg = sum(1.0 / math.log2(i + 1) for i in range(1, min(k, n_gold) + 1))
    return dcg / idcg


def retrieval_scores(passages: Sequence[Passage], gold: Sequence[GoldRef], ks: Sequence[int] = KS) -> dict[str, Any]:
    """recall@k for each k, MRR, nDCG@10 and the first gold rank; all None without page gold."""
    if not has_page_gold(gold):
        out: dict[str, Any] = {f"recall_at_{k}": None for k in ks}
        out.update(mrr=None, ndcg_at_10=None, first_gold_rank=None)
        return out
    out = {f"recall_at_{k}": recall_at_k(passages, gold, k) for k in ks}
    out["mrr"] = reciprocal_rank(passages, gold)
    out["ndcg_at_10"] = ndcg_at_k(passages, gold, DEPTH)
    out["first_gold_rank"] = first_gold_rank(passages, gold)
    return out


# -- answers -------------------------------------------------------------------------------


def facts_matched(text: str, facts: Sequence[str]) -> list[bool]:
    return [re.search(f, text or "", re.IGNORECASE) is not None for f in facts]


def fact_recall(text: str, facts: Sequence[str]) -> float | None:
    """Share of the fact regexes found in the answer text (case-insensitive); None without facts."""
    if not facts:
        return None
    m = facts_matched(text, facts)
    return sum(m) / len(m)


def citation_precise(c: Cited, gold: Sequence[GoldRef]) -> bool:
    """The citation points to a gold page of a gold file (any page of a file-only gold entry)."""
    lo = c.page
    hi = c.page_end if c.page_end is not None else c.page
    for g in gold:
        if not file_matches(g.file, c.file):
            continue
        if not g.pages or any(min(lo, hi) <= p <= max(lo, hi) for p in g.pages):
            return True
    return False


def citation_precision(citations: Sequence[Cited], gold: Sequence[GoldRef]) -> float | None:
    """Share of citations pointing to gold; None when there is no gold or no citation."""
    if not gold or not citations:
        return None
    return sum(citation_precise(c, gold) for c in citations) / len(citations)


def first_sentence_fact(text: str, facts: Sequence[str]) -> float | None:
    """1.0 when the answer's first sentence states one of the reference facts (the asked-for fact comes first)."""
    if not facts:
        return None
    first = next(iter(answer_sentences(text or "")), "")
    return 1.0 if any(facts_matched(first, facts)) else 0.0


def answer_words(text: str) -> int:
    """Words of the answer as the user reads it, markers left out."""
    return len(re.sub(r"\[\d+\]", " ", text or "").split())


def span_valid(c: Cited) -> bool:
    s, e = c.span
    return 0 <= s < e <= len(c.text) and bool(c.text[s:e].strip())


def citation_support(citations: Sequence[Cited]) -> float | None:
    """Share of citations whose span is real text of their passage and whose claim is supported."""
    if not citations:
        return None
    return sum(bool(c.supported) and span_valid(c) for c in citations) / len(citations)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (same as numpy's default); None for no values."""
    xs = sorted(float(v) for v in values)
    if not xs:
        return None
    pos = (len(xs) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


# -- per question and aggregated -----------------------------------------------------------


def score_question(
    q: Question,
    passages: Sequence[Passage],
    answer_text: str,
    citations: Sequence[Cited],
    refused: bool,
    latency_ms: float | None = None,
    removed: int = 0,
) -> dict[str, Any]:
    """Every metric of one question (None where it does not apply).

    ``removed`` counts the answer sentences the verifier took out as unsupported.
    """
    out: dict[str, Any] = {}
    answerable = q.answerable
    ret = retrieval_scores(passages, q.gold) if answerable else retrieval_scores([], [])
    out.update(ret)
    out["facts_matched"] = facts_matched(answer_text, q.facts) if answerable else []
    out["fact_recall"] = fact_recall(answer_text, q.facts) if answerable else None
    out["citation_precision"] = citation_precision(citations, q.gold) if answerable else None
    # a refusal claims nothing: the passages it lists are offered as the closest, not as support
    out["citation_support"] = None if refused else citation_support(citations)
    out["citations_precise"] = [citation_precise(c, q.gold) for c in citations] if answerable and q.gold else []
    out["first_sentence_fact"] = first_sentence_fact(answer_text, q.facts) if answerable and not refused else None
    out["answer_words"] = None if refused else answer_words(answer_text)
    kept = 0 if refused else len(answer_sentences(answer_text))
    out["sentence_support"] = kept / (kept + removed) if kept + removed else None
    out["refused"] = bool(refused)
    out["wrong_refusal"] = bool(refused) if answerable else not refused
    out["latency_ms"] = latency_ms
    return out


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def aggregate(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Means over the questions each metric applies to, refusal rates and latency percentiles.

    ``records`` are per-question dicts holding ``answerable`` plus the keys of ``score_question``.
    """
    ans = [r for r in records if r.get("answerable")]
    unans = [r for r in records if not r.get("answerable")]
    out: dict[str, Any] = {
        "n": len(records),
        "n_answerable": len(ans),
        "n_unanswerable": len(unans),
        "n_page_gold": sum(1 for r in ans if r.get("mrr") is not None),
    }
    for m in MEAN_METRICS:
        vals = [float(r[m]) for r in records if r.get(m) is not None]
        if m.startswith("judge_") and not vals:
            continue
        out[m] = _mean(vals)
    out["refusal_rate_unanswerable"] = _mean([1.0 if r.get("refused") else 0.0 for r in unans])
    out["false_refusal_rate"] = _mean([1.0 if r.get("refused") else 0.0 for r in ans])
    words = [float(r["answer_words"]) for r in records if r.get("answer_words") is not None]
    out["answer_words_p50"] = percentile(words, 50)
    lat = [float(r["latency_ms"]) for r in records if r.get("latency_ms") is not None]
    out["latency_ms_p50"] = percentile(lat, 50)
    out["latency_ms_p95"] = percentile(lat, 95)
    out["latency_ms_mean"] = _mean(lat)
    return out


def aggregate_by_tag(records: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    tags = sorted({t for r in records for t in r.get("tags", [])})
    return {t: aggregate([r for r in records if t in r.get("tags", [])]) for t in tags}


def recall_curve(records: Sequence[Mapping[str, Any]], depth: int = DEPTH) -> list[float | None]:
    """recall@k for k = 1..depth from each question's ``first_gold_rank`` (page-gold questions)."""
    scored = [r for r in records if r.get("answerable") and r.get("mrr") is not None]
    if not scored:
        return [None] * depth
    ranks = [r.get("first_gold_rank") for r in scored]
    return [sum(1 for x in ranks if x is not None and x <= k) / len(scored) for k in range(1, depth + 1)]


def check_thresholds(metrics: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[dict[str, Any]]:
    """Compare metrics with thresholds: ``name`` is a lower bound, ``name_max`` an upper bound.

    A metric that could not be measured (None) fails its threshold: a gate must not pass silently.
    """
    results = []
    for key, bound in thresholds.items():
        upper = key.endswith("_max")
        metric = key[:-4] if upper else key
        value = metrics.get(metric)
        passed = value is not None and (value <= bound if upper else value >= bound)
        results.append(
            {
                "name": key,
                "metric": metric,
                "kind": "max" if upper else "min",
                "bound": bound,
                "value": value,
                "passed": bool(passed),
            }
        )
    return results
