"""Follow-up questions without a language model: carry the subject of the conversation forward.

People ask follow-ups elliptically: "And in 2020?", "What about labour trafficking?", "Has the
share grown since then?", "Which of them is most common?". None of these can be retrieved or
read on its own. The rewrite turns each into a standalone question:

- a follow-up that only changes a year ("And in 2020?") is the previous question with its
  year(s) replaced;
- any other follow-up (a connective, a pronoun or demonstrative, "since then", or too few
  words of its own to stand alone) keeps its own words first and carries the previous
  question after them, so retrieval finds the subject and the reader still answers what is
  asked now.

Earlier turns are rewritten the same way, oldest first, so a follow-up of a follow-up still
carries the original subject.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .terms import YEAR, terms

_CONNECTIVE = re.compile(
    r"^\s*(?:and|but|also|or|so|then|what about|how about|and what about|what of|same for|likewise)\b", re.I
)
_REFERENCE = re.compile(
    r"\b(?:this|these|those|such|the same|since then|that year|those years|the latter|the former|above|"
    r"mentioned|previous|earlier|same period|at that time|back then)\b",
    re.I,
)
# "that estimate", "that bill", "that post": a demonstrative, not "say that ..." nor "victims that were ..."
_THAT = re.compile(
    r"(?<!\bsay )(?<!\bsays )(?<!\bsaid )(?<!\bfind )(?<!\bfound )(?<!\bshow )(?<!\bshows )(?<!\bsuggest )"
    r"(?<!\bnote )(?<!\bstate )(?<!\breport )(?<!\breports )(?<!\bmean )(?<!\bmeans )(?<!\bso )(?<!\bsuch )"
    r"\bthat\s+(?!(?:is|are|was|were|has|have|had|can|could|will|would|may|might|should|must|do|does|did|the|a|an|"
    r"they|it|he|she|we|you|i)\b)[a-z]",
    re.I,
)
# pronouns often point inside their own question ("how do traffickers recruit their victims"):
# they mark a follow-up only in a short question
_PRONOUN = re.compile(r"\b(?:it|its|they|them|their|theirs|he|she|his|her|him|there)\b", re.I)
_ONLY_TIME = re.compile(r"^\s*(?:and|but|what about|how about|and what about)?\s*(?:in|for|during|by|of)?\s*"
                        r"(?:the\s+year\s+)?((?:19|20)\d\d)(?:\s*(?:and|or|to|-|–)\s*((?:19|20)\d\d))?\s*\??\s*$", re.I)
MIN_OWN_TERMS = 2  # fewer content words than this cannot carry a question on their own
SHORT = 5  # a question with fewer content words than this leans on its pronouns' antecedents
OPENING = 4  # a pronoun among a question's first words has nothing of its own to point back to


def is_follow_up(question: str) -> bool:
    """Whether ``question`` leans on the conversation before it.

    A pronoun marks a follow-up in a short question, or when it comes among the first few
    words ("Has its share grown?", "What share of them ...?"), before the question has named
    anything it could stand for; later ones usually point inside the question ("How do
    traffickers recruit their victims?")."""
    if _CONNECTIVE.search(question) or _REFERENCE.search(question) or _THAT.search(question):
        return True
    n = len(terms(question))
    if n < MIN_OWN_TERMS or (n < SHORT and bool(_PRONOUN.search(question))):
        return True
    return bool(_PRONOUN.search(" ".join(question.split()[:OPENING])))


def rewrite(question: str, previous: str) -> str:
    """``question`` as a standalone question, given the (standalone) previous one."""
    q = " ".join(question.split())
    prev = " ".join(previous.split())
    if not prev or not is_follow_up(q):
        return q
    m = _ONLY_TIME.match(q)
    if m and YEAR.search(prev):
        years = [y for y in m.groups() if y]
        old = list(dict.fromkeys(YEAR.findall(prev)))
        out = prev
        for i, y in enumerate(old):  # "in 2021" -> "in 2020"; a range's ends each take a new year
            out = re.sub(rf"(?<!\d){y}(?!\d)", years[min(i, len(years) - 1)], out)
        return out
    swapped = _swap_head(q, prev)
    if swapped:
        return swapped
    own = q.rstrip(" ?.!")
    # a follow-up of a follow-up carries both earlier questions, flat: "C (B; A)?", never "C (B (A))?"
    carried = re.sub(r"\s*\(([^()]+)\)\s*$", r"; \1", prev.rstrip(" ?.!")).rstrip(" ?.!")
    return f"{own} ({carried})?"


_FRAGMENT = re.compile(r"^\s*(?:and|but|or)?\s*(?:what|how) about\s+(?:the\s+)?(.+?)\s*\??\s*$|^\s*and\s+(?:for\s+)?(?:the\s+)?(.+?)\s*\?\s*$", re.I)


def _swap_head(question: str, prev: str) -> str | None:
    """ "What about labor trafficking?" after "... risk factors for sex trafficking ...": the same head
    noun with another modifier replaces its namesake in the previous question."""
    m = _FRAGMENT.match(question)
    if not m:
        return None
    frag = (m.group(1) or m.group(2) or "").strip()
    words = frag.split()
    if not 1 < len(words) <= 4 or YEAR.search(frag):
        return None
    head = words[-1].lower()
    found = re.search(rf"\b{re.escape(head)}\b", prev, re.I)
    if not found:
        return None
    start = found.start()
    for _ in range(len(words) - 1):  # take over as many modifiers as the fragment brings, never a function word
        before = re.search(r"([\w’'-]+)\s+$", prev[:start])
        if not before or before.group(1).lower() in _FUNCTION or not before.group(1)[0].isalpha():
            break
        start = before.start(1)
    if start == found.start():
        return None  # the head has no modifier to replace: "and loans?" after "... loans ..." adds nothing
    return prev[:start] + frag + prev[found.end() :]


_FUNCTION = frozenset(
    "the a an of for in on at to by with from and or about among between during since than as its their his her "
    "this that these those what which who how many much".split()
)


def standalone(question: str, history: Sequence[tuple[str, str]] | None) -> str:
    """The standalone form of ``question`` after ``history`` ((user, assistant) turns, oldest first)."""
    prev = ""
    for user, _ in history or []:
        prev = rewrite(user, prev) if prev else " ".join(str(user).split())
    return rewrite(question, prev) if prev else " ".join(question.split())
