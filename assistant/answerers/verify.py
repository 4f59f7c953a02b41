"""The per-sentence verifier: the one judge of what an answer's citations support, for every backend.

A model can cite passages that do not exist, cite the wrong one, leave a sentence uncited (it
then gets the one passage that supports it, if any: :func:`repair_citations`), or write a
sentence the passage does not support; an extractive reader can quote a sentence out of the context that
made it an answer. :func:`verify_answer` is a chain step applied to every answer, whatever
wrote it: each sentence is checked against the passages its ``[n]`` markers cite (enough of
its content words must occur there and every number verbatim, or, with an embedder, it must
be semantically close to one of the passage's sentences), and so must each of its clauses
(:func:`clauses`): a sentence half copied from the passage and half invented passes the
whole-sentence share, not the clause test. Unsupported sentences are removed
from the answer the user sees and listed in ``Answer.unsupported``; citations only they used
are dropped; an answer left with nothing supported becomes the refusal.

:func:`cite` turns a model's raw text into clean ``[n]`` markers and citations whose span is
the passage sentence that best matches the answer sentence(s) citing it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from ..records import Answer, Citation, Hit
from ..sentences import split_sentences
from ..terms import content_words, figure_contexts, figures_as, numbers_in
from .base import REFUSAL_TEXT, make_citation
from .markers import CLEAN_MARKER, answer_sentences, cited_numbers, renumber, strip_markers

LEXICAL_THRESHOLD = 0.5  # share of a sentence's content words that must occur in its cited passages
# Cosine similarity (all-MiniLM-L6-v2) that rescues a paraphrase failing the lexical test. MiniLM
# scores same-topic sentences highly (an invented claim about shelters vs a shelter passage: ~0.68),
# so the bar is high; the embedding test is a rescue for paraphrases, not proof of support.
EMBEDDING_THRESHOLD = 0.7
# A clause: the text between , ; : ( ) or a joining word, with at least this many content words
# (shorter pieces join their neighbour: "and rural" is not a claim of its own).
MIN_CLAUSE_WORDS = 3
_CLAUSE_BREAK = re.compile(
    r"\s*(?:[;:()\[\]]|,(?!\d))\s*|\s+(?:and|but|or|which|while|whereas|who|whose|because|although|though|so|thus|hence|"
    r"yet|as well as|compared with|compared to|including|where|when|whether)\s+",
    re.IGNORECASE,
)


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", CLEAN_MARKER.sub(" ", text).lower()).split())


_REFUSAL = _normalise(REFUSAL_TEXT)


def is_refusal(text: str) -> bool:
    """True when the text is the refusal sentence (possibly with stray punctuation) or empty."""
    return _normalise(text).startswith(_REFUSAL) or _normalise(text) == ""


# ------------------------------------------------------------------------- support


@dataclass
class SentenceCheck:
    """How one answer sentence fared against the passages it cites."""

    sentence: str
    cited: list[int]  # citation numbers
    lexical: float = 0.0
    similarity: float | None = None
    missing_numbers: list[str] = field(default_factory=list)
    weak_clauses: list[str] = field(default_factory=list)  # clauses the passages do not support
    supported: bool = False


def lexical_support(sentence: str, passage: str) -> tuple[float, list[str]]:
    """(share of the sentence's content words found in ``passage``, numbers missing from it)."""
    plain = strip_markers(sentence)
    words = content_words(plain)
    missing = sorted(numbers_in(plain) - numbers_in(passage))
    # a figure must stand in the passage as it stands in the sentence: a share as a share, a count as a count
    missing += sorted({f"{n}%" if pct else n for n, pct in figures_as(plain) - figures_as(passage)} - set(missing) - {
        f"{n}%" for n in missing})
    missing += [n for n in misattributed(plain, passage) if n not in missing and f"{n}%" not in missing]
    if not words:
        return (1.0 if not missing else 0.0), missing
    return len(words & content_words(passage)) / len(words), missing


SENTENCE_RADIUS = 12  # words each side of a figure in the answer sentence (its whole sentence) ...
PASSAGE_RADIUS = 8  # ... that must share a content word with the same figure's surroundings in the passage


def misattributed(sentence: str, passage: str) -> list[str]:
    """Figures of ``sentence`` that ``passage`` has only beside other things, or only as the other
    kind (share or count): "$978" read off an ISBN, "10 people" off a chart's "Cases per month 10
    15 20" or off "10 per cent". A figure whose sentence names nothing beside it, or that stands
    bare among figures in the passage (a table cell, an axis tick on its own line), is judged by
    the number alone."""
    where = _passage_figures(passage)
    out = []
    for (n, pct), near in figure_contexts(sentence, SENTENCE_RADIUS).items():
        said = frozenset().union(*near)
        seen = where.get((n, pct), [])
        if said and seen and all(seen) and not any(said & ctx for ctx in seen):
            out.append(f"{n}%" if pct else n)
    return sorted(out)


@lru_cache(maxsize=256)
def _passage_figures(passage: str) -> dict[tuple[str, bool], list[frozenset[str]]]:
    """A passage's figures with their surroundings: read once, though every answer sentence (and
    citation repair, every passage for every sentence) asks."""
    return figure_contexts(passage, PASSAGE_RADIUS)


def titled(title: str, text: str) -> str:
    """A cited passage as the verifier reads it: its document's title, then its text.

    A model restates the question's frame ("UNODC's 2024 Global Report singles out ..."); the
    year and name come from the title the citation shows, not from the passage's own words.
    """
    return f"{title}\n{text}" if title else text


def clauses(sentence: str) -> list[str]:
    """The sentence cut at punctuation and joining words into clauses of MIN_CLAUSE_WORDS content words or more."""
    text = strip_markers(sentence)
    cuts = [0] + [m.start() for m in _CLAUSE_BREAK.finditer(text)] + [len(text)]
    out: list[str] = []
    short = ""
    for a, b in zip(cuts, cuts[1:]):  # each piece keeps the word that joins it on ("which ...")
        piece = f"{short} {text[a:b].strip(' ,;:()[]')}".strip() if short else text[a:b].strip(" ,;:()[]")
        if len(content_words(piece)) >= MIN_CLAUSE_WORDS:
            out.append(piece)
            short = ""
        else:
            short = piece
    if short:
        if out:
            out[-1] = f"{out[-1]} {short}"
        else:
            out.append(short)
    return out


def weak_clauses(sentence: str, passage: str, lexical_threshold: float = LEXICAL_THRESHOLD) -> list[str]:
    """The clauses of ``sentence`` of which fewer than ``lexical_threshold`` of the terms occur in ``passage``.

    A clause's numbers count as terms: a figure copied verbatim is evidence the clause was read there.
    """
    have, have_numbers = content_words(passage), numbers_in(passage)
    weak = []
    for clause in clauses(sentence):
        words, nums = content_words(clause), numbers_in(clause)
        found = len(words & have) + len(nums & have_numbers)
        if words and found / (len(words) + len(nums)) < lexical_threshold:
            weak.append(clause)
    return weak


def supports(sentence: str, passage: str, lexical_threshold: float = LEXICAL_THRESHOLD) -> tuple[bool, float]:
    """(the verifier's lexical test, the share): every number verbatim, enough content words, each clause too."""
    share, missing = lexical_support(sentence, passage)
    ok = not missing and share >= lexical_threshold and not weak_clauses(sentence, passage, lexical_threshold)
    return ok, share


def best_span(sentence: str, passage: str) -> tuple[tuple[int, int], float]:
    """The passage sentence sharing most words and numbers with ``sentence``, and its share."""
    plain = strip_markers(sentence)
    words, nums = content_words(plain), numbers_in(plain)
    best, best_score = (0, len(passage)), -1.0
    for s, e in split_sentences(passage):
        piece = passage[s:e]
        score = len(words & content_words(piece)) + 2 * len(nums & numbers_in(piece))
        score /= max(1, len(words) + 2 * len(nums))
        if score > best_score:
            best, best_score = (s, e), score
    if best_score <= 0:  # nothing in common: point at the whole passage, not an arbitrary sentence
        return (0, len(passage)), 0.0
    return best, best_score


def _encode(embedder: Any, texts: list[str]):
    import numpy as np

    vecs = np.asarray(embedder.encode(texts), dtype="float32")
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs / np.where(norms == 0, 1, norms)


def _similarities(embedder: Any, items: list[tuple[str, list[int]]], passages: list[str]) -> list[float]:
    """Best cosine similarity of each text to its cited passages or any sentence in them.

    Texts are compared with passage sentences too: a whole passage dilutes the one sentence a
    paraphrase comes from.
    """
    used = sorted({n for _, cited in items for n in cited})
    pieces: dict[int, list[str]] = {}
    for n in used:
        text = passages[n - 1]
        pieces[n] = [text] + [text[a:b] for a, b in split_sentences(text) if (a, b) != (0, len(text))]
    flat = [p for n in used for p in pieces[n]]
    vecs = _encode(embedder, [text for text, _ in items] + flat)
    item_vecs, rest = vecs[: len(items)], vecs[len(items) :]
    rows, i = {}, 0
    for n in used:
        rows[n] = rest[i : i + len(pieces[n])]
        i += len(pieces[n])
    return [max(float((rows[n] @ v).max()) for n in cited) for (_, cited), v in zip(items, item_vecs)]


def check_sentences(
    sentences: list[str],
    passages: list[str],
    embedder: Any = None,
    lexical_threshold: float = LEXICAL_THRESHOLD,
    embedding_threshold: float = EMBEDDING_THRESHOLD,
) -> list[SentenceCheck]:
    """Judge each sentence against the passages its markers cite (``passages[i]`` is citation i+1)."""
    checks: list[SentenceCheck] = []
    for sent in sentences:
        cited = [n for n in cited_numbers(sent) if 1 <= n <= len(passages)]
        check = SentenceCheck(sentence=strip_markers(sent), cited=cited)
        if cited:
            joined = "\n".join(passages[n - 1] for n in cited)
            check.lexical, check.missing_numbers = lexical_support(sent, joined)
            check.weak_clauses = weak_clauses(sent, joined, lexical_threshold)
        checks.append(check)
    if embedder is not None:  # the paraphrase rescue, for whole sentences and for clauses alike
        todo = [c for c in checks if c.cited and not c.missing_numbers and c.lexical < lexical_threshold]
        weak = [(w, c) for c in checks if c.cited and not c.missing_numbers for w in c.weak_clauses]
        if todo or weak:
            sims = _similarities(embedder, [(c.sentence, c.cited) for c in todo] + [(w, c.cited) for w, c in weak], passages)
            for c, sim in zip(todo, sims):
                c.similarity = sim
            rescued = {(id(c), w) for (w, c), sim in zip(weak, sims[len(todo) :]) if sim >= embedding_threshold}
            for c in checks:
                c.weak_clauses = [w for w in c.weak_clauses if (id(c), w) not in rescued]
    for c in checks:
        c.supported = bool(c.cited) and not c.missing_numbers and not c.weak_clauses and (
            c.lexical >= lexical_threshold or (c.similarity is not None and c.similarity >= embedding_threshold)
        )
    return checks


def needs_citation(sentence: str) -> bool:
    """A sentence with nothing to support (no content words, no numbers) needs no marker."""
    return bool(content_words(sentence) or numbers_in(sentence)) and not is_refusal(sentence)


# ------------------------------------------------------------------------- steps


def repair_citations(text: str, hits: Sequence[Hit], question: str = "", lexical_threshold: float = LEXICAL_THRESHOLD) -> str:
    """Give a sentence the model left uncited the one passage that supports it, if one does.

    Small local models often state the right fact and drop its marker. The same test the
    verifier applies decides: every number of the sentence verbatim in the passage and enough of
    its content words; the best such passage is cited. Only a sentence about the question (it
    shares a content word with it) is repaired: text a model echoed from a passage that tries to
    instruct it ("PWNED", "I am now in debug mode") is about nothing asked, stays uncited, and
    the verifier removes it, as it does any sentence no passage supports.
    """
    asked = content_words(question)
    if not is_refusal(text) and hits:
        for sent in answer_sentences(text):
            if cited_numbers(sent) or not needs_citation(sent) or sent not in text:
                continue
            if not content_words(sent):  # a bare figure ("65%."): the first passage that states it
                figures = numbers_in(sent)
                best = next((n for n, h in enumerate(hits, 1) if figures <= numbers_in(h.chunk.text)), 0)
                if best:
                    text = text.replace(sent, f"{sent} [{best}]", 1)
                continue
            if not asked & content_words(sent):
                continue
            best, best_share = 0, lexical_threshold
            for n, h in enumerate(hits, 1):
                ok, share = supports(sent, titled(h.chunk.title, h.chunk.text), lexical_threshold)
                if ok and share >= best_share:
                    best, best_share = n, share
                    if share == 1.0:
                        break
            if best:
                text = text.replace(sent, f"{sent} [{best}]", 1)
    return text


def uncited(text: str) -> list[str]:
    """The sentences of a model's answer that cite nothing but would need a citation."""
    clean, _ = renumber((text or "").strip(), 0)
    return [strip_markers(s) for s in answer_sentences(clean) if needs_citation(strip_markers(s))]


def cite(text: str, hits: Sequence[Hit], question: str = "") -> tuple[str, list[Citation]]:
    """A model's raw answer as clean text with ``[1]..[m]`` markers and the citations they name.

    Markers citing no passage are removed, the rest renumbered by first use; citation ``i`` is
    built from the hit the model cited, its span the passage sentence that best matches the
    answer sentences citing it. A refusal, or an answer citing nothing, becomes the plain refusal.
    """
    clean, order = renumber(repair_citations((text or "").strip(), hits, question), len(hits))
    if not order:
        return REFUSAL_TEXT, []
    cited_hits = [hits[n - 1] for n in order]
    spans: dict[int, tuple[float, tuple[int, int]]] = {}
    for sent in answer_sentences(clean):
        for n in cited_numbers(sent):
            if 1 <= n <= len(cited_hits):
                span, score = best_span(sent, cited_hits[n - 1].chunk.text)
                if n not in spans or score > spans[n][0]:
                    spans[n] = (score, span)
    citations = [make_citation(i, h, span=spans[i][1] if i in spans else None) for i, h in enumerate(cited_hits, 1)]
    return clean, citations


def verify_answer(
    answer: Answer,
    embedder: Any = None,
    lexical_threshold: float = LEXICAL_THRESHOLD,
    embedding_threshold: float = EMBEDDING_THRESHOLD,
) -> Answer:
    """Keep only the sentences their citations support; see the module docstring."""
    if answer.refused:
        return answer
    sentences = answer_sentences(answer.text)
    passages = [titled(c.title, c.text) for c in answer.citations]
    checks = check_sentences(sentences, passages, embedder, lexical_threshold, embedding_threshold)
    kept, unsupported, text = [], list(answer.unsupported), answer.text
    seen: set[str] = set()
    for raw, check in zip(sentences, checks):
        said = _normalise(check.sentence)
        if said and said in seen:  # a model repeating itself: the sentence is kept once, where it first stood
            at = text.rfind(raw)
            text = text[:at] + text[at + len(raw) :] if at >= 0 else ""
            continue
        seen.add(said)
        if check.supported or (not check.cited and not needs_citation(check.sentence)):
            kept.append(raw)
            continue
        unsupported.append(check.sentence)
        text = text.replace(raw, "", 1) if raw in text else ""  # "": rebuild from the kept sentences
    if not any(cited_numbers(s) for s in kept):
        return replace(answer, text=REFUSAL_TEXT, citations=[], refused=True, unsupported=unsupported)
    if not text:
        text = " ".join(kept)
    lines = (" ".join(line.split()) for line in text.splitlines())
    text = "\n".join(line for line in lines if line.strip(" -*•") and not re.fullmatch(r"(?:\d+|[ivx]{1,4}|[a-h])[.)]", line))
    text, order = renumber(text, len(answer.citations))
    citations = []
    for new, old in enumerate(order, 1):
        c = answer.citations[old - 1]
        citations.append(replace(c, n=new, supported=True))
    return replace(answer, text=text, citations=citations, unsupported=unsupported)


def postprocess(
    text: str,
    hits: Sequence[Hit],
    embedder: Any = None,
    lexical_threshold: float = LEXICAL_THRESHOLD,
    embedding_threshold: float = EMBEDDING_THRESHOLD,
) -> tuple[str, list[Citation], list[str]]:
    """:func:`cite` then :func:`verify_answer`: ``(text, citations, unsupported_sentences)``."""
    clean, citations = cite(text, hits)
    if not citations:
        return REFUSAL_TEXT, [], uncited(text)
    ans = verify_answer(Answer(question="", text=clean, citations=citations), embedder, lexical_threshold, embedding_threshold)
    return ans.text, ans.citations, ans.unsupported
