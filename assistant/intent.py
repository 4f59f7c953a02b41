"""What a question asks for: its kind, the measure it wants, and what it pins down.

Both the reader (which sentence goes first) and the answerability gate (may we answer at all)
need to know this, and an LLM backend's gate needs it too, so it is read once, from the
question alone, into an ``Ask``. The rules are about kinds of question (how many, what share,
how much money, what is, which signs, why, when) and about what any answer must repeat (the
years, numbers and names the question states), never about particular questions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .terms import STOP, terms

_QUANTITY = re.compile(
    r"\bhow (?:many|much|often|big|large|long|old)\b|\bwhat (?:share|proportion|percentage|per ?cent|number|amount|"
    r"fraction|rate|portion|age)\b|\b(?:number|share|proportion|percentage) of\b",
    re.I,
)
_PERCENT = re.compile(r"\b(?:share|proportion|percentage|per ?cent|fraction|portion|what rate)\b|%", re.I)
_MONEY = re.compile(
    r"\b(?:how much (?:money|funding|did|does|do|was|is|were|are)|cost|costs|budget|fund(?:s|ing|ed)?|spen[dt]|"
    r"dollars?|usd|euros?|eur|pounds|price|paid|pay|income|earn(?:ed|s|ings)?|revenue|profits?|worth|salary|wages?)\b",
    re.I,
)
_COUNT = re.compile(r"\bhow many\b|\b(?:what|the) number of\b", re.I)
_DURATION = re.compile(r"\bhow long\b", re.I)
_AGE = re.compile(r"\bhow old\b|\bwhat age\b|\bage\b", re.I)
_TIME = re.compile(r"^\s*when\b|\b(?:what|which) (?:year|date|month)\b|\bsince when\b", re.I)
_DEFINITION = re.compile(
    r"^\s*(?:what|who)\s+(?:is|are|was|were)\s+(?:an?\s+|the\s+)?(?!the (?:most|main|best|first|largest))"
    r"|\bwhat does\b.*\b(?:mean|stand for|refer to)\b|\bdefin(?:e|ition)\b|\bwhat is meant by\b|\bmeaning of\b",
    re.I,
)
_LIST = re.compile(
    r"\b(?:which|what)\s+(?:\w+\s+){0,3}?(?:signs|indicators|steps|factors|ways|types|forms|kinds|measures|actions|"
    r"practices|examples|elements|risks|needs|barriers|challenges|recommendations|tips|questions|"
    r"red flags|components|areas|sectors|groups|services|strategies|tools|resources|principles|reasons|"
    r"drivers|lessons|roles|responsibilities|behaviou?rs|characteristics|methods|tactics|areas|activities|"
    r"partners|organi[sz]ations|agencies|countries|regions|categories)\b"
    r"|\blist\b|\bname (?:the|some|three|two|four|five)\b|\bwhat should\b|\bwhat can\b|\bhow can\b|\bhow should\b",
    re.I,
)
_REASON = re.compile(r"^\s*why\b|\bwhat (?:makes|explains|causes|drives)\b|\breasons?\b", re.I)
_COMPARE = re.compile(r"\b(?:compar\w*|differ\w*|versus|vs\.?|chang\w*|grow\w*|grew|increas\w*|decreas\w*|declin\w*)\b", re.I)
_EXAMPLES = re.compile(r"\b(?:example|scenario|story|stories|case stud\w*|anecdote|illustrat\w*)\b", re.I)
_SOURCE = re.compile(r"\b(?:website|web site|url|link|online|contact|phone|call|hotline number|email|e-mail|address)\b", re.I)
_STATISTIC = {
    "average": re.compile(r"\b(?:average|mean)\b", re.I),
    "median": re.compile(r"\bmedian\b", re.I),
}
# "how many (of the) X ...", "the number of X": X is what is counted
_COUNTED = re.compile(r"\b(?:how many|how much|number of|numbers of)\s+(?:of\s+)?(?:the\s+|its\s+|their\s+)?", re.I)
_PHRASE_END = frozenset(
    "did do does were was are is have has had can could will would should may might took take made make "
    "in on at from to by with for that who which whom whose since during between per than as "
    "of about according".split()
)
_NAME = re.compile(r"\b(?:[A-Z][a-z]+(?:[’'][a-z]+)?|[A-Z]{2,}[a-z]?)\b")
_QUESTION_WORDS = frozenset(
    "what which who whom whose when where why how is are was were do does did can could should would will "
    "in on at of for from to by with under during since between apart among according the a an and or but "
    "if as after before besides beyond january february march april may june july august september october "
    "november december monday tuesday wednesday thursday friday saturday sunday".split()
)
# a year that names a document ("the OSCE's 2021 survey") may be found in a title
_DOC_YEAR = re.compile(
    r"\b((?:19|20)\d\d)\s+(?:\S+\s+){0,2}?(?:report|survey|study|guide|edition|compendium|publication|assessment)\b",
    re.I,
)


@dataclass(frozen=True)
class Ask:
    """What a question asks for and what any answer to it must contain."""

    kind: str = "other"  # quantity | definition | list | reason | time | other
    measure: str | None = None  # for quantity: percent | money | count | duration | age | None (any figure)
    statistic: str | None = None  # "average" or "median"
    comparison: bool = False  # two years, a change, a comparison: may draw on several passages
    years: tuple[str, ...] = ()
    doc_years: tuple[str, ...] = ()  # those of ``years`` that name a document
    numbers: tuple[str, ...] = ()  # other numbers the question quotes ("the 57 participating States")
    names: tuple[str, ...] = ()  # proper names and acronyms, as written
    focus: frozenset = field(default_factory=frozenset)  # the question's content terms
    counted: tuple[str, ...] = ()  # terms of what a "how many" question counts ("hotels")
    wants_examples: bool = False  # asks for a scenario / story / example
    wants_source: bool = False  # asks for a website, phone number or contact

    @property
    def quantity(self) -> bool:
        return self.kind == "quantity"


def read_question(question: str) -> Ask:
    """The ``Ask`` of ``question`` (pure: the same question always reads the same)."""
    years = tuple(dict.fromkeys(re.findall(r"(?<![\d.,])(?:19|20)\d\d(?!\d)", question)))  # "2020-2022" is two
    numbers = tuple(
        dict.fromkeys(n for n in re.findall(r"(?<![\w.])(?<![A-Za-z]-)\d+(?:[.,]\d+)*", question) if n not in years)
    )
    return Ask(
        kind=kind_of(question),
        measure=measure_of(question),
        statistic=next((k for k, rx in _STATISTIC.items() if rx.search(question)), None),
        comparison=len(years) > 1 or bool(_COMPARE.search(question)),
        years=years,
        doc_years=tuple(dict.fromkeys(_DOC_YEAR.findall(question))),
        numbers=numbers,
        names=names_in(question),
        focus=frozenset(terms(question)),
        counted=counted_terms(question),
        wants_examples=bool(_EXAMPLES.search(question)),
        wants_source=bool(_SOURCE.search(question)),
    )


def kind_of(question: str) -> str:
    if _QUANTITY.search(question):
        return "quantity"
    if _TIME.search(question):
        return "time"
    if _REASON.search(question):
        return "reason"
    if _LIST.search(question):
        return "list"
    if _DEFINITION.search(question):
        return "definition"
    return "other"


def measure_of(question: str) -> str | None:
    """The kind of figure a quantity question wants."""
    if not _QUANTITY.search(question):
        return None
    if _DURATION.search(question):
        return "duration"
    if _PERCENT.search(question):
        return "percent"
    if _COUNT.search(question):
        return "count"
    if re.search(r"\bhow much\b", question, re.I) and _MONEY.search(question):
        return "money"
    if _AGE.search(question):
        return "age"
    return None


def names_in(question: str) -> tuple[str, ...]:
    """Proper names and acronyms: capitalised words that do not merely start the sentence."""
    names = []
    for m in _NAME.finditer(question):
        w = m.group(0)
        if m.start() == 0 or question[: m.start()].rstrip().endswith((".", "?", "!", ":", '"', "“", "'")):
            continue
        if w.lower() in _QUESTION_WORDS or w.lower() in STOP:
            continue
        names.append(re.sub(r"[’']s$", "", w))
    return tuple(dict.fromkeys(names))


def counted_terms(question: str) -> tuple[str, ...]:
    """The noun phrase after "how many" / "how much" / "the number of": what is being counted."""
    m = _COUNTED.search(question)
    if not m:
        return ()
    words = []
    for w in re.findall(r"[A-Za-z][\w'’.-]*", question[m.end() :]):
        if w.lower() in _PHRASE_END:
            break
        words.append(w)
        if len(words) == 4:
            break
    return tuple(t for t in terms(" ".join(words)) if not t[0].isdigit())
