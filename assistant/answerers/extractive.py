"""The default reader: no model server; the answer is composed of the passages' own sentences.

It reads the way a careful analyst quotes a report:

1. **What is asked goes first.** Every answer-bearing unit of the top passages (sentences,
   table rows read with their table's title, lead-ins with the list items they introduce; see
   ``assistant.reading``) is scored by its similarity to the question (embedding cosine and
   idf-weighted term overlap) plus how well it *fits the kind of question* (``intent.Ask``):
   the figure of the asked measure beside what is counted, the defining sentence for "what is",
   a lead-in with its items for "which signs / what steps", a cause for "why", a date for "when".
   The best unit leads the answer.
2. **Then only what completes it.** Further sentences, from the same passage or up to
   ``max_passages`` others, are added only when they are nearly as relevant and bring question
   terms the answer does not yet cover, within a word budget (``max_words``).
3. **Each sentence cites its own span.** A citation carries the span of exactly the sentence(s)
   it supports, so the UI highlights what was quoted.

Headings, captions, chart text, footnotes, report boilerplate and narrative scenarios are never
quoted unless the question asks for them. Whether to answer at all is the chain's
answerability gate (``assistant.answerability``), which runs before any reader.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..answerability import DEPTH, states_measure
from ..intent import Ask, question_parts, read_question
from ..reading import Unit, quoted, read_passage
from ..records import Answer, Citation, Hit
from ..terms import terms
from .base import make_citation, refusal_answer
from .markers import answer_sentences

_DEFINES = re.compile(r"\b(?:is|are|refers? to|means?|is defined as|defined as|describes?|involves?|consists? of|i\.e\.)\b", re.I)
_CAUSE = re.compile(r"\b(?:because|due to|as a result|owing to|since|so that|in order to|reasons?|lead(?:s)? to|"
                    r"drives?|driven by|makes?|causes?|contribut\w+|exposes?|vulnerab\w+)\b", re.I)
_WHEN = re.compile(r"\b(?:19|20)\d\d\b|\b(?:january|february|march|april|may|june|july|august|september|october|"
                   r"november|december)\b", re.I)


UNIT_CHARS = 240  # what of a unit is embedded
VECTOR_CACHE = 4096
LIST_BUDGET = {"list": 200}  # words for a list question's answer (see ``ExtractiveAnswerer``)  # unit vectors kept between questions


@dataclass
class Candidate:
    hit_index: int
    unit: Unit
    order: int  # position of the unit in its passage
    terms: frozenset = frozenset()
    dense: float = 0.0
    lexical: float = 0.0
    relevance: float = 0.0  # to the question, from the unit alone (0..1)
    fit: float = 0.0  # how well it fits the kind of question (0..1)
    score: float = 0.0  # the selection order
    per_part: list = field(default_factory=list)  # (relevance, score) for each further part of the question
    text: str = field(init=False, default="")  # what is quoted

    def __post_init__(self):
        self.text = quoted(self.unit)  # read often while scoring: computed once

    @property
    def cells(self) -> str:
        """A row without its table title: what is quoted once the title has been shown."""
        u = self.unit
        return " ".join(u.text[len(u.title) + 2 :].split()) if u.title else self.text

    def shown(self, others: list["Candidate"]) -> str:
        """The quoted text beside ``others``: a table's title is shown once, before its first row quoted."""
        if self.unit.title and any(o.hit_index == self.hit_index and o.unit.title == self.unit.title for o in others):
            return self.cells
        return self.text


class ExtractiveAnswerer:
    """Answer by composing the passages' own sentences, the asked-for fact first, each cited by span."""

    name = "extractive"

    def __init__(
        self,
        embedder=None,
        max_passages: int = 2,
        depth: int = DEPTH,
        max_words: int = 120,
        max_units: int = 6,
        dense_weight: float = 0.6,
        fit_weight: float = 0.15,
        rank_prior: float = 0.6,
        min_relevance: float = 0.2,
        ratio: float = 0.4,
        new_passage_ratio: float = 0.6,
        redundancy: float = 0.8,
        budgets: dict | None = None,
    ):
        """``budgets``: words by kind of question; a list answer needs room for its items (200 words),
        the rest ``max_words``. Chosen on dev + fresh-tune (fact recall 0.577 -> 0.602, median words
        112 -> 113; 160 words gave 0.591, 250 no more than 200)."""
        self.embedder = embedder
        self.max_passages = max_passages  # distinct passages an answer may quote
        self.depth = depth  # passages read
        self.max_words = max_words
        self.max_units = max_units
        self.dense_weight = dense_weight
        self.fit_weight = fit_weight
        self.rank_prior = rank_prior
        self.min_relevance = min_relevance
        self.ratio = ratio  # a supporting unit is at least this share of the lead's relevance
        self.new_passage_ratio = new_passage_ratio  # ... and this share when it opens another passage
        self.redundancy = redundancy
        self.budgets = dict(LIST_BUDGET if budgets is None else budgets)
        self._vectors: dict[str, object] = {}  # unit text -> vector, oldest first

    # -- reading ------------------------------------------------------------------------
    def candidates(self, hits: list[Hit], ask: Ask) -> list[Candidate]:
        allowed = {"statement", "lead_in", "item", "row"}
        if ask.wants_examples:
            allowed.add("scenario")
        if ask.wants_source:
            allowed.add("footnote")
        out = []
        for i, h in enumerate(hits[: self.depth]):
            for j, u in enumerate(read_passage(h.chunk.text)):
                if u.kind in allowed:
                    out.append(Candidate(i, u, j))
        return out

    def fit(self, c: Candidate, ask: Ask) -> float:
        """How well a unit fits the kind of question (see the module docstring)."""
        text = c.text
        if ask.kind == "quantity":
            if not states_measure(text, ask):
                return 0.0
            key = set(ask.counted) or set(ask.focus)
            return 1.0 if key & c.terms else 0.5
        if ask.kind == "list":
            return 1.0 if c.unit.items else (0.3 if c.unit.kind == "item" else 0.0)
        if ask.kind == "definition":
            key = set(ask.defined) or set(ask.focus)  # the defining sentence names what it defines
            return 1.0 if _DEFINES.search(text) and key <= c.terms else 0.0
        if ask.kind == "reason":
            return 1.0 if _CAUSE.search(text) else 0.0
        if ask.kind == "time":
            return 1.0 if _WHEN.search(text) else 0.0
        return 0.0

    def score(self, question: str, ask: Ask, cands: list[Candidate]) -> None:
        """Each unit's relevance to (part of) the question, its fit to the kind asked, and its score."""
        for c in cands:
            c.terms = frozenset(terms(c.text))
        parts = question_parts(question)
        texts = [question] + (parts if len(parts) > 1 else [])
        dense = self._dense(texts, cands)
        n = max(len(cands), 1)
        w = self.dense_weight if self.embedder is not None else 0.0
        for c in cands:
            c.per_part = []
        for j, text in enumerate(texts):
            q = list(dict.fromkeys(terms(text)))
            idf = {t: math.log(1 + n / (1 + sum(t in c.terms for c in cands))) for t in q}
            total = sum(idf.values()) or 1.0
            part_ask = ask if j == 0 else read_question(text)
            for i, c in enumerate(cands):
                lexical = sum(idf[t] for t in q if t in c.terms) / total
                relevance = w * float(dense[j, i]) + (1 - w) * lexical
                fit = self.fit(c, part_ask)
                score = relevance + self.fit_weight * fit + self.rank_prior / (2 + c.hit_index)
                if j == 0:
                    c.relevance, c.fit, c.score = relevance, fit, score
                else:
                    c.per_part.append((relevance, score))

    def _dense(self, texts: list[str], cands: list[Candidate]):
        import numpy as np

        if self.embedder is None or not cands:
            return np.zeros((len(texts), len(cands)), dtype=np.float32)
        # a unit's first ~40 words carry its meaning; longer rows and lists only cost time. Units
        # recur across questions (a conversation keeps reading the same passages): vectors are cached
        keys = [c.text[:UNIT_CHARS] for c in cands]
        todo = list(dict.fromkeys(k for k in keys if k not in self._vectors))
        vecs = np.asarray(self.embedder.encode(texts + todo), dtype=np.float32)
        for k, v in zip(todo, vecs[len(texts) :]):
            if len(self._vectors) >= VECTOR_CACHE:
                self._vectors.pop(next(iter(self._vectors)))
            self._vectors[k] = v
        units = np.stack([self._vectors[k] for k in keys])
        return np.clip(vecs[: len(texts)] @ units.T, 0.0, 1.0)

    def select(self, ask: Ask, cands: list[Candidate]) -> list[Candidate]:
        """The lead, then the best unit for each further part of the question, then what completes them."""
        ranked = sorted((c for c in cands if c.relevance >= self.min_relevance), key=lambda c: -c.score)
        if not ranked:
            return []
        lead = ranked[0]
        chosen = [lead]
        budget = self.budget(ask)
        words = _words(lead.text)

        def cost(c: Candidate) -> int:
            return _words(c.shown(chosen))

        def fits(c: Candidate) -> bool:
            passages = {o.hit_index for o in chosen}
            if c.hit_index not in passages and len(passages) >= self.max_passages:
                return False
            if any(_inside(c, o) for o in chosen) or any(_overlap(c.terms, o.terms) >= self.redundancy for o in chosen):
                return False
            return words + cost(c) <= budget or len(chosen) == 1 and c.per_part

        for j in range(len(lead.per_part)):  # each further part of a multi-part question gets its own best unit
            best = max((c for c in cands if c not in chosen and c.per_part[j][0] >= self.min_relevance),
                       key=lambda c: c.per_part[j][1], default=None)
            if best is not None and fits(best):
                words += cost(best)
                chosen.append(best)
        for c in ranked[1:]:
            if len(chosen) >= self.max_units:
                break
            opens = c.hit_index not in {o.hit_index for o in chosen}
            floor = (self.new_passage_ratio if opens else self.ratio) * lead.relevance
            if c in chosen or c.relevance < floor or not fits(c):
                continue
            words += cost(c)
            chosen.append(c)
        return chosen

    def budget(self, ask: Ask) -> int:
        if ask.comparison and "comparison" in self.budgets:
            return self.budgets["comparison"]
        return self.budgets.get(ask.kind, self.max_words)

    # -- answering ----------------------------------------------------------------------
    def answer(self, question: str, hits: list[Hit]) -> Answer:
        t0 = time.perf_counter()
        ask = read_question(question)
        cands = self.candidates(hits, ask)
        self.score(question, ask, cands)
        chosen = self.select(ask, cands)
        ans = self.compose(question, hits, chosen) if chosen else refusal_answer(question, hits, backend=self.name)
        ans.timings_ms["answer_ms"] = (time.perf_counter() - t0) * 1000
        return ans

    def compose(self, question: str, hits: list[Hit], chosen: list[Candidate]) -> Answer:
        """The lead first; then its passage's other units in reading order; then the other passages'."""
        lead = chosen[0]
        best: dict[int, float] = {}
        for c in chosen:
            best[c.hit_index] = max(best.get(c.hit_index, 0.0), c.score)
        rest = sorted(chosen[1:], key=lambda c: (c.hit_index != lead.hit_index, -best[c.hit_index], c.hit_index, c.order))
        ordered = [lead] + rest
        parts: list[str] = []
        citations: list[Citation] = []
        prev: Candidate | None = None
        for k, c in enumerate(ordered):
            span = (c.unit.start, c.unit.end)
            if prev is not None and prev.hit_index == c.hit_index and c.order == prev.order + 1 and citations:
                last = citations[-1]  # the next sentence of the same passage extends the same citation
                citations[-1] = make_citation(last.n, hits[c.hit_index], (last.span[0], span[1]))
                citations[-1].score = max(last.score, c.relevance)
            else:
                citations.append(make_citation(len(citations) + 1, hits[c.hit_index], span))
                citations[-1].score = c.relevance
            # every sentence of the unit carries the marker, so each can be checked on its own
            text = c.shown(ordered[:k])
            parts.append(" ".join(f"{piece} [{citations[-1].n}]" for piece in answer_sentences(_sentence(text))))
            prev = c
        return Answer(question=question, text=" ".join(parts), citations=citations, backend=self.name)

    def stream(self, question: str, hits: list[Hit]) -> Iterator[str | Answer]:
        ans = self.answer(question, hits)
        # the extractive answer is ready at once; stream it sentence by sentence for the UI
        for piece in re.split(r"(?<=\])\s+", ans.text):
            yield piece + " "
        yield ans


def _sentence(text: str) -> str:
    text = re.sub(r"(?<=[a-z)][.!?])\d{1,3}$", "", " ".join(text.split()))  # "fisheries.5": a footnote mark
    return text if text.endswith((".", "!", "?", ":", ";", '"', "”", ")")) else text + "."


def _words(text: str) -> int:
    return len(text.split())


def _inside(a: Candidate, b: Candidate) -> bool:
    """The two units overlap in the same passage (a list item already quoted with its lead-in)."""
    if a.hit_index != b.hit_index:
        return False
    return a.unit.start < b.unit.end and b.unit.start < a.unit.end


def _overlap(a: frozenset, b: frozenset) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))
