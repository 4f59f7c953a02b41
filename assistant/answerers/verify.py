"""Check an LLM's answer against the passages it cites (pure functions, no model needed).

A model can cite passages that do not exist, cite the wrong one, or write a sentence the
passage does not support. :func:`postprocess` drops impossible markers, renumbers the rest
1..m in order of first use, and checks every answer sentence against its cited passage(s):
enough of its content words must occur there (and every number verbatim), or, when an
embedder is given, the sentence must be semantically close to one of them. Sentences that
fail are reported as unsupported rather than silently kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..records import Citation, Hit
from .base import REFUSAL_TEXT, make_citation

LEXICAL_THRESHOLD = 0.5  # share of a sentence's content words that must occur in its cited passages
# Cosine similarity (all-MiniLM-L6-v2) that rescues a paraphrase failing the lexical test. MiniLM
# scores same-topic sentences highly (an invented claim about shelters vs a shelter passage: ~0.68),
# so the bar is high; the embedding test is a rescue for paraphrases, not proof of support.
EMBEDDING_THRESHOLD = 0.7

# "[1]", "[1, 2]", "[1;2]", "[1-3]", "[Passage 2]", "[source 1, 3]"; runs like "[1][2]" are handled together.
_GROUP = (
    r"\[(?:(?:passage|source|doc(?:ument)?)\s*)?"
    r"(\d+(?:\s*(?:[,;]|-|–|and)\s*(?:(?:passage|source)\s*)?\d+)*)\]"
)
_MARKER = re.compile(_GROUP, re.IGNORECASE)
_MARKER_RUN = re.compile(rf"[ \t]*{_GROUP}(?:[ \t]*{_GROUP})*", re.IGNORECASE)
_CLEAN_MARKER = re.compile(r"\[(\d+)\]")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_SENT_END = re.compile(r"([.!?]+[\"'”’)]*)[ \t]+(?=[\"'“‘(\[]?[A-Z0-9])")

STOP_WORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each either few for from further had has have
    having he her here hers herself him himself his how however i if in into is it its itself just may me might
    more most must my myself neither no nor not now of off on once only or other our ours ourselves out over own
    per same shall she should since so some such than that the their theirs them themselves then there these
    they this those through thus to too under until up upon us very was we were what when where whether which
    while who whom whose why will with within without would yet you your yours yourself yourselves
    according report reports passage passages document documents states stated says said noted notes""".split()
)


# ------------------------------------------------------------------------- text helpers


def _stem(word: str) -> str:
    """Crude suffix folding so "victims"/"victim" and "trafficked"/"trafficking" meet."""
    for suffix in ("ing", "ed", "es", "s", "ly"):
        keep = 3 if suffix == "s" else 4
        if word.endswith(suffix) and len(word) - len(suffix) >= keep and not word.endswith("ss"):
            word = word[: -len(suffix)]
            break
    return word[:8]


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def content_words(text: str) -> set[str]:
    """Lower-cased, stemmed words that carry meaning (stop-words and bare numbers dropped)."""
    out = set()
    for w in _WORD.findall(text.lower()):
        if w in STOP_WORDS or w.isdigit() or len(w) < 2:
            continue
        out.add(_stem(w.replace("’", "'")))
    return out


def _regex_sentence_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in re.finditer(r"[.!?]+[\"'”’)]*(?=\s)|\n\s*\n", text):
        end = m.end()
        if text[start:end].strip():
            spans.append((start, end))
        start = end
    if text[start:].strip():
        spans.append((start, len(text)))
    out = []
    for s, e in spans:  # trim whitespace inside each span
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        out.append((s, e))
    return out


def passage_sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans of a passage: the project's splitter when present, else a regex split."""
    for module in ("assistant.sentences", "assistant.chunker"):
        try:
            split = __import__(module, fromlist=["split_sentences"]).split_sentences
        except (ImportError, AttributeError):
            continue
        try:
            spans = list(split(text))
        except Exception:
            break
        if spans and all(isinstance(s, str) for s in spans):  # a splitter returning strings
            out, pos = [], 0
            for s in spans:
                i = text.find(s, pos)
                if i >= 0:
                    out.append((i, i + len(s)))
                    pos = i + len(s)
            spans = out
        if spans and all(isinstance(s, tuple) and len(s) == 2 for s in spans):
            return [(int(a), int(b)) for a, b in spans]
        break
    return _regex_sentence_spans(text)


def answer_sentences(text: str) -> list[str]:
    """Split an answer into sentences, keeping each sentence's trailing markers with it.

    "A [1]. B. [2] C [3]." gives ["A [1].", "B. [2]", "C [3]."]: a marker run that follows a
    full stop belongs to the sentence before it. Lines (list items) are separate sentences.
    """
    out: list[str] = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s+", "", line).strip()  # list bullets are not content
        if not line:
            continue
        pieces, start = [], 0
        for m in _SENT_END.finditer(line):
            pieces.append(line[start : m.end(1)])
            start = m.end()
        pieces.append(line[start:])
        for piece in pieces:
            piece = piece.strip()
            lead = re.match(r"(?:\[\d+\]\s*)+", piece)
            if lead and out:
                out[-1] = out[-1] + " " + lead.group(0).strip()
                piece = piece[lead.end() :].strip()
            if piece:
                out.append(piece)
    return out


def strip_markers(text: str) -> str:
    """The sentence without its ``[n]`` markers: "Foo [1][2]." -> "Foo."."""
    return re.sub(r"\s*\[\d+\]", "", text).strip()


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", _CLEAN_MARKER.sub(" ", text).lower()).split())


_REFUSAL = _normalise(REFUSAL_TEXT)


def is_refusal(text: str) -> bool:
    """True when the model answered with the refusal sentence (possibly with stray punctuation)."""
    return _normalise(text).startswith(_REFUSAL) or _normalise(text) == ""


# ------------------------------------------------------------------------- markers


def _expand(group: str) -> list[int]:
    nums: list[int] = []
    for part in re.split(r"\s*(?:[,;]|and)\s*", group):
        part = re.sub(r"(?i)passage|source", "", part).strip()
        m = re.fullmatch(r"(\d+)\s*[-–]\s*(\d+)", part)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            nums.extend(range(a, b + 1) if 0 < b - a < 20 else [a, b])
        elif part.isdigit():
            nums.append(int(part))
    return nums


def renumber(text: str, n_passages: int) -> tuple[str, list[int]]:
    """Drop markers citing no passage and renumber the rest by first appearance.

    Returns the rewritten text (markers as ``[1][2]``) and ``order``: ``order[i]`` is the
    1-based passage number that new citation ``i + 1`` refers to.
    """
    order: list[int] = []
    for m in _MARKER.finditer(text):
        for n in _expand(m.group(1)):
            if 1 <= n <= n_passages and n not in order:
                order.append(n)
    new_of = {old: i + 1 for i, old in enumerate(order)}

    def sub(run: re.Match) -> str:
        nums: list[int] = []
        for m in _MARKER.finditer(run.group(0)):
            for n in _expand(m.group(1)):
                if n in new_of and new_of[n] not in nums:
                    nums.append(new_of[n])
        if not nums:  # drop the run with the blank before it: "care [7]." -> "care."
            return ""
        lead = run.group(0)[: len(run.group(0)) - len(run.group(0).lstrip(" \t"))]
        return lead + "".join(f"[{n}]" for n in nums)

    out = _MARKER_RUN.sub(sub, text)
    out = re.sub(r"(\[\d+\])(?=\w)", r"\1 ", out)  # "[1]Next" -> "[1] Next"
    out = re.sub(r"[ \t]+\n", "\n", out)
    return out.strip(), order


# ------------------------------------------------------------------------- support


@dataclass
class SentenceCheck:
    """How one answer sentence fared against the passages it cites."""

    sentence: str
    cited: list[int]  # new citation numbers
    lexical: float = 0.0
    similarity: float | None = None
    missing_numbers: list[str] = field(default_factory=list)
    supported: bool = False


def lexical_support(sentence: str, passage: str) -> tuple[float, list[str]]:
    """(share of the sentence's content words found in ``passage``, numbers missing from it)."""
    words = content_words(_CLEAN_MARKER.sub(" ", sentence))
    missing = sorted(_numbers(_CLEAN_MARKER.sub(" ", sentence)) - _numbers(passage))
    if not words:
        return (1.0 if not missing else 0.0), missing
    return len(words & content_words(passage)) / len(words), missing


def _best_span(sentence: str, passage: str) -> tuple[tuple[int, int], float]:
    words = content_words(_CLEAN_MARKER.sub(" ", sentence))
    nums = _numbers(_CLEAN_MARKER.sub(" ", sentence))
    best, best_score = (0, len(passage)), -1.0
    for s, e in passage_sentence_spans(passage):
        piece = passage[s:e]
        score = len(words & content_words(piece)) + 2 * len(nums & _numbers(piece))
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


def _similarities(embedder: Any, checks: list[SentenceCheck], passages: list[str]) -> list[float]:
    """Best cosine similarity of each sentence to its cited passages or any sentence in them.

    Sentences are compared with passage sentences too: a whole passage dilutes the one
    sentence a paraphrase comes from.
    """
    used = sorted({n for c in checks for n in c.cited})
    pieces: dict[int, list[str]] = {}
    for n in used:
        text = passages[n - 1]
        pieces[n] = [text] + [text[a:b] for a, b in passage_sentence_spans(text) if (a, b) != (0, len(text))]
    flat = [p for n in used for p in pieces[n]]
    vecs = _encode(embedder, [c.sentence for c in checks] + flat)
    sent_vecs, rest = vecs[: len(checks)], vecs[len(checks) :]
    rows, i = {}, 0
    for n in used:
        rows[n] = rest[i : i + len(pieces[n])]
        i += len(pieces[n])
    return [max(float((rows[n] @ v).max()) for n in c.cited) for c, v in zip(checks, sent_vecs)]


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
        cited = []
        for m in _CLEAN_MARKER.finditer(sent):
            n = int(m.group(1))
            if 1 <= n <= len(passages) and n not in cited:
                cited.append(n)
        check = SentenceCheck(sentence=strip_markers(sent), cited=cited)
        if cited:
            joined = "\n".join(passages[n - 1] for n in cited)
            check.lexical, check.missing_numbers = lexical_support(sent, joined)
        checks.append(check)

    if embedder is not None:
        todo = [c for c in checks if c.cited and not c.missing_numbers and c.lexical < lexical_threshold]
        if todo:
            c_sims = _similarities(embedder, todo, passages)
            for c, sim in zip(todo, c_sims):
                c.similarity = sim
    for c in checks:
        if not c.cited or c.missing_numbers:
            c.supported = False
        else:
            c.supported = c.lexical >= lexical_threshold or (
                c.similarity is not None and c.similarity >= embedding_threshold
            )
    return checks


def _needs_citation(check: SentenceCheck) -> bool:
    """Sentences with nothing to support (no content words, no numbers) need no marker."""
    return bool(content_words(check.sentence) or _numbers(check.sentence))


def postprocess(
    text: str,
    hits: Sequence[Hit],
    embedder: Any = None,
    lexical_threshold: float = LEXICAL_THRESHOLD,
    embedding_threshold: float = EMBEDDING_THRESHOLD,
    require_citations: bool = True,
) -> tuple[str, list[Citation], list[str]]:
    """Clean an LLM answer: ``(clean_text, citations, unsupported_sentences)``.

    - markers citing no passage are removed; the others are renumbered 1..m by first use,
      and citation ``i`` is built from the hit the model cited;
    - each sentence is checked against its cited passages; sentences without support (or
      without any marker) are returned in ``unsupported``; a citation used only by such
      sentences gets ``supported=False``; ``Citation.span`` is the passage sentence that
      best matches the answer sentence(s) citing it;
    - the refusal sentence, or (with ``require_citations``) an answer citing nothing valid,
      becomes the plain refusal: ``(REFUSAL_TEXT, [], [uncited sentences])``.
    """
    clean, order = renumber((text or "").strip(), len(hits))
    if not order:
        unsupported = [] if is_refusal(clean) else [c for c in answer_sentences(clean) if not is_refusal(c)]
        if require_citations:
            return REFUSAL_TEXT, [], unsupported
        return clean, [], unsupported

    cited_hits = [hits[n - 1] for n in order]
    passages = [h.chunk.text for h in cited_hits]
    checks = check_sentences(answer_sentences(clean), passages, embedder, lexical_threshold, embedding_threshold)

    unsupported, supported_by = [], {i: False for i in range(1, len(order) + 1)}
    best_span: dict[int, tuple[float, tuple[int, int]]] = {}
    for c in checks:
        if not c.cited:
            if _needs_citation(c) and not is_refusal(c.sentence):
                unsupported.append(c.sentence)
            continue
        if not c.supported:
            unsupported.append(c.sentence)
        for n in c.cited:
            supported_by[n] = supported_by[n] or c.supported
            span, score = _best_span(c.sentence, passages[n - 1])
            score += 1.0 if c.supported else 0.0  # prefer spans of supported sentences
            if n not in best_span or score > best_span[n][0]:
                best_span[n] = (score, span)

    citations = [
        make_citation(i, hit, span=best_span[i][1] if i in best_span else None, supported=supported_by[i])
        for i, hit in enumerate(cited_hits, 1)
    ]
    return clean, citations, unsupported
