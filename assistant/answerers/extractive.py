"""The default answerer: no model server, the answer is built from the passages' own sentences.

Each candidate sentence of the retrieved passages is scored by its similarity to the question
(embedding cosine) and by how much of the question's distinctive vocabulary it contains
(idf-weighted term overlap); near-duplicates are dropped; the best few are kept in a readable
order (by passage, then in reading order) and each carries the citation of its passage.

Table rows are candidates too, read with their table's title ("Immigration Status of Likely
Victims - Labor ONLY: Foreign National | 2510 | 71% ..."), since many reports give their
figures only in tables.

Whether to answer at all is decided twice. First, what the question pins down
(``assistant.answerability``): its years, numbers and names, the statistic or kind of place it
asks for, and for a "how many" question a figure beside what it counts; only passages that
supply all of it may be quoted (for a comparison, the passages together). Second, the evidence
as a whole must resemble the question and contain its distinctive terms. Failing either, the
answer says plainly that the documents do not answer it, says what the closest passages lack,
and lists them. The weights and the threshold are calibrated on a development set (see
``evals/README.md``), for kinds of question rather than particular ones.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

from ..records import Answer, Hit
from ..terms import NUMBER as _NUMBER
from ..terms import WORD as _WORD
from ..terms import terms
from .base import REFUSAL_TEXT, make_citation

@dataclass
class Candidate:
    hit_index: int
    start: int
    end: int
    text: str
    dense: float = 0.0
    lexical: float = 0.0
    terms: frozenset = frozenset()  # its content terms (scoring and redundancy checks)
    relevance: float = 0.0  # to the question, from the sentence alone
    score: float = 0.0  # relevance plus the passage's rank prior: the selection order


class ExtractiveAnswerer:
    """Answer by quoting the most relevant sentences of the retrieved passages, each cited."""

    name = "extractive"

    def __init__(
        self,
        embedder=None,
        max_sentences: int = 5,
        max_passages: int = 4,
        dense_weight: float = 0.6,
        min_evidence: float = 0.42,
        min_sentence: float = 0.2,
        redundancy: float = 0.88,
        ratio: float = 0.5,
        rank_prior: float = 0.5,
        max_citations: int = 1,
    ):
        self.embedder = embedder
        self.max_sentences = max_sentences
        self.max_passages = max_passages
        self.dense_weight = dense_weight
        self.min_evidence = min_evidence
        self.min_sentence = min_sentence
        self.redundancy = redundancy
        self.ratio = ratio  # keep sentences scoring at least this share of the best one
        self.rank_prior = rank_prior  # bonus for sentences of higher-ranked passages
        self.max_citations = max_citations  # distinct passages an answer may quote

    # -- scoring ------------------------------------------------------------------------
    def candidates(self, hits: list[Hit]) -> list[Candidate]:
        out = []
        for i, h in enumerate(hits[: self.max_passages]):
            for s, e, sent in units(h.chunk.text):
                if is_statement(sent) or _ROW.search(sent):
                    out.append(Candidate(i, s, e, sent))
        return out

    def admissible(self, question: str, hits: list[Hit]) -> tuple[set[int], list[str]]:
        """The passages an answer may quote, and what the closest one lacks."""
        from ..answerability import comparative, needs_of, unmet

        needs = needs_of(question)
        n = min(len(hits), self.max_passages)
        # a passage is read with the rest of its document among all the hits given (a name
        # stated once covers the passages that follow it); a comparison may use all of them
        evidence = [evidence_of(h, hits) for h in hits]
        lacks = [unmet(needs, [e]) for e in evidence[:n]]
        ok = {i for i, m in enumerate(lacks) if not m}
        if not ok and len(hits) > 1 and comparative(question, needs) and not unmet(needs, evidence):
            ok = set(range(n))  # a comparison: the passages together have it all
        return ok, (lacks[0] if lacks else [])

    def evidence(self, question: str, hits: list[Hit]) -> dict[str, float]:
        """Features of how well the passages as a whole cover the question."""
        q = terms(question)
        if not q or not hits:
            return {"coverage": 0.0, "numbers": 0.0, "dense": 0.0}
        # all the passages given, not only the quoted few: the rerank may have put on-topic ones below
        docs = [set(terms(h.chunk.text + " " + h.chunk.title + " " + h.chunk.section)) for h in hits]
        n = len(docs)
        # weight a question term by how rare it is among the retrieved passages' vocabulary
        # (present in all passages: generic); absent everywhere: maximally distinctive.
        qset = list(dict.fromkeys(q))
        weights = {t: 1.0 + math.log(1 + n / (1 + sum(t in d for d in docs))) for t in qset}
        best = max(sum(weights[t] for t in qset if t in d) for d in docs)
        union = set().union(*docs)
        coverage_any = sum(weights[t] for t in qset if t in union) / sum(weights.values())
        coverage_best = best / sum(weights.values())
        nums = [x for x in _NUMBER.findall(question)]
        num_ok = 1.0
        if nums:
            blob = " ".join(h.chunk.title + " " + h.chunk.text for h in hits)
            num_ok = sum(1 for x in nums if re.search(rf"(?<![\d.]){re.escape(x)}(?![\d])", blob)) / len(nums)
        dense = max((h.dense_score or 0.0) for h in hits)
        return {"coverage": 0.5 * (coverage_any + coverage_best), "numbers": num_ok, "dense": dense}

    def evidence_score(self, feats: dict[str, float]) -> float:
        return 0.5 * feats["coverage"] + 0.5 * feats["dense"] - 0.35 * (1.0 - feats["numbers"])

    def score(self, question: str, cands: list[Candidate], hits: list[Hit]) -> None:
        q = list(dict.fromkeys(terms(question)))
        for c in cands:
            c.terms = frozenset(terms(c.text))
        n = max(len(cands), 1)
        idf = {t: math.log(1 + n / (1 + sum(t in c.terms for c in cands))) for t in q}
        total = sum(idf.values()) or 1.0
        for c in cands:
            c.lexical = sum(idf[t] for t in q if t in c.terms) / total
        if self.embedder is not None and cands:
            import numpy as np

            # a sentence's first ~60 words carry its meaning; longer table rows only cost time
            vecs = self.embedder.encode([question] + [c.text[:400] for c in cands])
            sims = vecs[1:] @ vecs[0]
            for c, s in zip(cands, sims):
                c.dense = float(np.clip(s, 0.0, 1.0))
        w = self.dense_weight if self.embedder is not None else 0.0
        for c in cands:
            c.relevance = w * c.dense + (1 - w) * c.lexical
            c.score = c.relevance + self.rank_prior / (1 + c.hit_index)

    def select(self, cands: list[Candidate]) -> list[Candidate]:
        chosen: list[Candidate] = []
        for c in sorted(cands, key=lambda c: -c.score):
            if len(chosen) >= self.max_sentences:
                break
            if c.relevance < self.min_sentence or (chosen and c.relevance < self.ratio * chosen[0].relevance):
                continue  # the rank prior orders sentences; it never makes an irrelevant one relevant
            if c.hit_index not in {o.hit_index for o in chosen} and len({o.hit_index for o in chosen}) >= self.max_citations:
                continue
            if any(_overlap(c.terms, o.terms) >= self.redundancy for o in chosen):
                continue
            chosen.append(c)
        return chosen

    # -- answering ----------------------------------------------------------------------
    def answer(self, question: str, hits: list[Hit]) -> Answer:
        t0 = time.perf_counter()
        if not hits:
            return Answer(question=question, text=REFUSAL_TEXT + " No passages were found.", refused=True, backend=self.name)
        feats = self.evidence(question, hits)
        allowed, lacking = self.admissible(question, hits)
        cands = [c for c in self.candidates(hits) if c.hit_index in allowed]
        self.score(question, cands, hits)
        chosen = self.select(cands)
        strength = self.evidence_score(feats)
        if not allowed:
            ans = self.refusal(question, hits, lacking)
        elif not chosen or strength < self.min_evidence:
            ans = self.refusal(question, hits)
        else:
            ans = self.compose(question, hits, chosen)
        ans.timings_ms["answer_ms"] = (time.perf_counter() - t0) * 1000
        return ans

    def compose(self, question: str, hits: list[Hit], chosen: list[Candidate]) -> Answer:
        # passages in order of their best sentence; sentences of one passage in reading order
        best: dict[int, float] = {}  # order passages by selection score (relevance + rank prior)
        relevance: dict[int, float] = {}  # what a citation reports: 0..1, the sentence evidence alone
        for c in chosen:
            best[c.hit_index] = max(best.get(c.hit_index, 0.0), c.score)
            relevance[c.hit_index] = max(relevance.get(c.hit_index, 0.0), c.relevance)
        passage_order = sorted(best, key=lambda i: -best[i])
        numbers = {hi: n for n, hi in enumerate(passage_order, start=1)}
        parts, spans = [], {}
        for hi in passage_order:
            mine = sorted((c for c in chosen if c.hit_index == hi), key=lambda c: c.start)
            for c in mine:
                sent = " ".join(c.text.split())
                parts.append(f"{sent} [{numbers[hi]}]")
            spans[hi] = (min(c.start for c in mine), max(c.end for c in mine))
        citations = [make_citation(numbers[hi], hits[hi], spans[hi]) for hi in passage_order]
        for cit, hi in zip(citations, passage_order):
            cit.score = relevance[hi]
        return Answer(question=question, text=" ".join(parts), citations=citations, backend=self.name)

    def refusal(self, question: str, hits: list[Hit], lacking: list[str] | None = None) -> Answer:
        closest = hits[:3]
        listing = "; ".join(
            f"[{i}] {h.chunk.title}, {_page(h)}" for i, h in enumerate(closest, start=1)
        )
        why = f" The closest passage does not give {_join(lacking)}." if lacking else ""
        text = f"{REFUSAL_TEXT}{why} The closest passages are: {listing}."
        cits = [make_citation(i, h, None, supported=False) for i, h in enumerate(closest, start=1)]
        return Answer(question=question, text=text, citations=cits, refused=True, backend=self.name)

    def stream(self, question: str, hits: list[Hit]) -> Iterator[str | Answer]:
        ans = self.answer(question, hits)
        # the extractive answer is ready at once; stream it sentence by sentence for the UI
        for piece in re.split(r"(?<=\])\s+", ans.text):
            yield piece + " "
        yield ans


def _page(hit: Hit) -> str:
    """The physical page, as the source list gives it, with the printed number when it differs."""
    c = hit.chunk
    label = c.page_label
    return f"p. {c.page_start}" + (f" (printed {label})" if label and label != str(c.page_start) else "")


def _join(items: list[str]) -> str:
    quoted = [f"“{x}”" if not x.startswith(("a ", "an ")) and " on its own" not in x else x for x in items]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


_ROW = re.compile(r"\S \| \S.*\d")  # a table row with a figure in it


def units(text: str) -> list[tuple[int, int, str]]:
    """The passage's sentences as ``(start, end, text)``; a table row reads with its table's title.

    The span stays the row's own, so the citation highlights the row; the text prefixes the
    nearest line above it that is not a row (the table's title), which is what makes
    "Foreign National | 2510 | 71%" say anything.
    """
    from ..sentences import split_sentences

    out, title = [], ""
    for s, e in split_sentences(text):
        sent = text[s:e]
        if " | " in sent:
            out.append((s, e, f"{title}: {sent}" if title and _ROW.search(sent) else sent))
        else:
            title = sent if len(sent) < 120 else ""
            out.append((s, e, sent))
    return out


def evidence_of(hit: Hit, near: list[Hit] = ()):
    """A passage as the answerability checks see it: text, header (title, section, file name), units,
    and as context the other passages of ``near`` from the same document."""
    from pathlib import PurePosixPath

    from ..answerability import Evidence

    c = hit.chunk
    header = f"{c.title}\n{c.section}\n{PurePosixPath(c.file).stem.replace('-', ' ').replace('_', ' ')}"
    context = "\n".join(h.chunk.text for h in near if h.chunk.doc_id == c.doc_id and h.chunk.chunk_id != c.chunk_id)
    return Evidence(text=c.text, header=header, sentences=tuple(u[2] for u in units(c.text)), context=context)


_CAPTION = re.compile(r"^\s*(fig(ure)?|table|chart|map|graph|source|sources|note|notes|photo)s?\b\.?", re.I)
_BULLET = re.compile(r"^\s*([•▪◦●\-–*]|\(?[a-z0-9]{1,2}[.)])\s+")


def is_statement(sentence: str) -> bool:
    """Whether a sentence can carry an answer: not a heading, caption, or page furniture."""
    words = _WORD.findall(sentence)
    if len(words) < 4 or _CAPTION.match(sentence):
        return False
    letters = [ch for ch in sentence if ch.isalpha()]
    if letters and sum(ch.isupper() for ch in letters) > 0.6 * len(letters):
        return False  # ALL-CAPS headings and banners
    ends = sentence.rstrip().endswith((".", "!", "?", ":", ";", '"', "”", ")", "’"))
    if not ends and len(words) < 8 and not _BULLET.match(sentence) and " | " not in sentence:
        return False  # a heading or a label
    alpha = [w for w in words if w[0].isalpha()]
    if not ends and alpha and sum(w[0].isupper() for w in alpha) > 0.7 * len(alpha) and len(words) < 14:
        return False  # Title Case Heading
    return True


def _overlap(a: set, b: set) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))
