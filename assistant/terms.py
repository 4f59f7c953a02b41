"""The one text toolkit for words: content terms, stop words, numbers.

Every module that compares a question with text (the lexical index, the reader, the
answerability gate, the verifier) uses these functions, so they all see the same vocabulary:
lower-cased words stemmed with PyStemmer's English Snowball stemmer, compounds split,
possessives dropped, stop words removed, numbers kept with their thousands separators dropped.
"""

from __future__ import annotations

import re
from functools import lru_cache

WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+|\d+(?:[.,]\d+)*%?")
NUMBER = re.compile(r"\b(?:19|20)\d\d\b|\b\d+(?:[.,]\d+)?\b")
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")  # a four-digit year, 1900-2099
STOP = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between both
    but by can could did do does doing down during each few for from further had has have having he her here hers
    how i if in into is it its itself just me more most my no nor not now of off on once only or other our out over
    own same she should so some such than that the their theirs them then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your yours
    according say says said report reports guide document documents describe described mention mentioned
    specific specifically kind kinds type types way ways much many also within among per give gives given tell
    list name named one two use used using""".split()
)


def terms(text: str, numbers: bool = True) -> list[str]:
    """Lower-cased, stemmed content words (and numbers, unless ``numbers=False``) of ``text``, in order."""
    out = []
    for w in WORD.findall(text):
        w = w.lower().replace("’", "'")
        if w.endswith("'s"):
            w = w[:-2]
        if w[0].isdigit():
            if numbers:
                out.append(w.replace(",", ""))
            continue
        for part in w.strip("'-").split("-"):
            part = part.strip("'")
            if len(part) < 2 or part in STOP:
                continue
            out.append(_stemmer()(part))
    return out


def content_words(text: str) -> set[str]:
    """The set of a text's stemmed content words, without numbers (what a claim is *about*)."""
    return set(terms(text, numbers=False))


def numbers_in(text: str) -> set[str]:
    """The numbers written in ``text``, thousands separators dropped ("16,554" -> "16554")."""
    return {n.replace(",", "") for n in _DIGITS.findall(text)}


_PERCENT_AFTER = re.compile(r"\s?(?:%|per ?cent\b|percent\b)", re.I)


def figures_as(text: str) -> set[tuple[str, bool]]:
    """The numbers of ``text`` with whether each is a percentage: ("10", True) for "10 per cent",
    ("10", False) for "10 people". "10 people" read off "10 per cent" is a misattributed figure."""
    return {(m.group(0).replace(",", ""), bool(_PERCENT_AFTER.match(text, m.end()))) for m in _DIGITS.finditer(text)}


def figure_contexts(text: str, radius: int) -> dict[tuple[str, bool], list[frozenset[str]]]:
    """Each figure of ``text`` (years aside), keyed (number, is a percentage), with per occurrence
    the content words among the ``radius`` words (figures skipped) each side of it in its own
    sentence: what the figure counts or measures ("16,554 likely victims")."""
    from .sentences import split_sentences

    out: dict[tuple[str, bool], list[frozenset[str]]] = {}
    for a, b in split_sentences(text) or [(0, len(text))]:
        sentence = text[a:b]
        toks = [(m.group(0), m.end()) for m in WORD.finditer(sentence)]
        for i, (t, end) in enumerate(toks):
            if not t[0].isdigit():
                continue
            n = t.rstrip("%").replace(",", "")
            if YEAR.fullmatch(n):  # a year frames a claim; what it counts is not at stake
                continue
            pct = t.endswith("%") or bool(_PERCENT_AFTER.match(sentence, end))
            before = [w for w, _ in toks[:i] if not w[0].isdigit()][-radius:]  # words, not figures, count
            after = [w for w, _ in toks[i + 1 :] if not w[0].isdigit()][:radius]
            near = before + after
            out.setdefault((n, pct), []).append(frozenset(content_words(" ".join(near))))
    return out


@lru_cache(maxsize=1)
def _snowball():
    import Stemmer  # PyStemmer: a required dependency

    return Stemmer.Stemmer("english")


def _stemmer():
    return _snowball().stemWord


def stem_words(words: list[str]) -> list[str]:
    """The same English Snowball stemmer, for a list of words (the BM25 tokenizer's hook)."""
    return _snowball().stemWords(words)
