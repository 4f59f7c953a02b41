"""Content terms of a text: lower-cased, stemmed words and numbers, without stop words.

Shared by the extractive answerer (question/sentence overlap, evidence strength) and the
lexical index (corpus document frequencies), so both see the same vocabulary.
"""

from __future__ import annotations

import re
from functools import lru_cache

WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+|\d+(?:[.,]\d+)*%?")
NUMBER = re.compile(r"\b(?:19|20)\d\d\b|\b\d+(?:[.,]\d+)?\b")
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


def terms(text: str) -> list[str]:
    """Lower-cased, stemmed content words and numbers of ``text`` (compounds split, possessives dropped)."""
    out = []
    for w in WORD.findall(text):
        w = w.lower().replace("’", "'")
        if w.endswith("'s"):
            w = w[:-2]
        for part in w.strip("'-").split("-"):
            part = part.strip("'")
            if len(part) < 2 or part in STOP:
                continue
            out.append(_stem(part))
    return out


def _stem(w: str) -> str:
    if w[0].isdigit():
        return w.replace(",", "")
    return _stemmer()(w)


@lru_cache(maxsize=1)
def _stemmer():
    try:
        import Stemmer

        s = Stemmer.Stemmer("english")
        return s.stemWord
    except ImportError:  # crude fallback
        return lambda w: w[:-1] if w.endswith("s") and len(w) > 4 else w


