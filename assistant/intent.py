"""What a question asks for: its kind, the measure it wants, and what it pins down.

Both the reader (which sentence goes first) and the answerability gate (may we answer at all)
need to know this, and an LLM backend's gate needs it too, so it is read once, from the
question alone, into an ``Ask``. The rules are about kinds of question (how many, what share,
how much money, what is, which signs, why, when) and about what any answer must repeat (the
years, numbers and names the question states), never about particular questions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace, field

from .terms import STOP, terms

_QUANTITY = re.compile(
    r"\bhow (?:many|much|often|big|large|long|old)\b|\bwhat (?:share|proportion|percentage|per ?cent|number|amount|"
    r"fraction|rate|portion|age)\b|\b(?:number|share|proportion|percentage|amount|sum) of\b",
    re.I,
)
_PERCENT = re.compile(r"\b(?:share|proportion|percentage|per ?cent|fraction|portion|what rate)\b|%", re.I)
_MONEY = re.compile(
    r"\b(?:how much (?:money|funding|did|does|do|was|is|were|are)|cost|costs|budget|fund(?:s|ing|ed)?|spen[dt]|"
    r"dollars?|usd|euros?|eur|pounds|price|paid|pay|income|earn(?:ed|s|ings)?|revenue|profits?|worth|salary|wages?|"
    r"money|fees?|ransom)\b",
    re.I,
)
_COUNT = re.compile(r"\bhow many\b|\b(?:what|the) number of\b", re.I)
_DURATION = re.compile(r"\bhow long\b", re.I)
_AGE = re.compile(r"\bhow old\b|\bwhat age\b|\bage\b", re.I)
_TIME = re.compile(
    r"^\s*when (?:did|was|were|is|are|does|do|will|has|have|can|should)\b(?!.*\b(?:what|which|how)\b)"
    r"|\b(?:what|which|in which) (?:year|date|month)\b|\bsince when\b",
    re.I,
)
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
# "which gaming sites", "what learning objectives": which/what, then a plural common noun, asks for several things
_AUX = r"(?:does|do|did|is|are|was|were|has|have|had|can|could|should|would|will|may|might|must)\b"
_PLURAL_ASK = re.compile(
    rf"^\s*(?:[Ii]n |[Ff]or |[Ff]rom |[Aa]mong |[Tt]o |[Tt]hrough |[Uu]nder )?(?:[Ww]hich|[Ww]hat)\s+"
    rf"(?:(?!{_AUX})[a-z-]+\s+){{0,2}}?(?!{_AUX})[a-z-]{{2,}}(?<![siu])s\s+(?:or [a-z ]+?\s+)?(?:{_AUX}|of\b)"
)  # the plural is the subject or object of the question: an auxiliary (or "of") follows it ("which agency runs" is no list)
_REASON = re.compile(r"^\s*why\b|\bwhat (?:makes|explains|causes|drives)\b|\breasons?\b", re.I)
_COMPARE = re.compile(r"\b(?:compar\w*|differ\w*|versus|vs\.?|chang\w*|grow\w*|grew|increas\w*|decreas\w*|declin\w*)\b", re.I)
_EXAMPLES = re.compile(r"\b(?:example|scenario|story|stories|case stud\w*|anecdote|illustrat\w*)\b", re.I)
_SOURCE = re.compile(r"\b(?:website|web site|url|link|online|contact|phone|call|hotline number|email|e-mail|address)\b", re.I)
_AVERAGE = re.compile(r"\b(?:average|median)\b|\b(?:the|a) mean\b|\bmean (?:age|number|length|duration|time|value|"
                      r"income|wage|salary|score|size|amount)\b", re.I)  # "what does X mean by Y" asks for no average
_PHONE = re.compile(r"\b(?:phone|telephone|hotline|helpline|tip ?line) numbers?\b|\bwhat number\b.*\bcall\b", re.I)
# "which region had the largest share": the answer is a thing, not a figure
_ENTITY = re.compile(
    r"^\s*(?:in |for |from |among )?(?:which|what)\b(?!\s+(?:share|proportion|percentage|per ?cent|number|amount|rate|"
    r"portion|fraction|age|year)\b)[^?]{0,80}?\b(?:largest|most|highest|lowest|biggest|smallest|greatest|fewest|least)\b",
    re.I,
)

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

    kind: str = "other"  # quantity | contact | definition | list | reason | time | other
    measure: str | None = None  # percent | money | count | duration | age | average | phone | None (any figure)
    comparison: bool = False  # two years, a change, a comparison: may draw on several passages
    years: tuple[str, ...] = ()
    doc_years: tuple[str, ...] = ()  # those of ``years`` that name a document
    numbers: tuple[str, ...] = ()  # other numbers the question quotes ("the 57 participating States")
    names: tuple[str, ...] = ()  # proper names and acronyms, as written
    sources: tuple[str, ...] = ()  # those of ``names`` that say whose document it is ("the DHS guide", "citing HHS")
    focus: frozenset = field(default_factory=frozenset)  # the question's content terms
    counted: tuple[str, ...] = ()  # terms of what a "how many" question counts ("hotels")
    defined: frozenset = field(default_factory=frozenset)  # terms of what a definition question defines
    asked: str = ""  # the kind of thing "which X does ..." wants named: its head noun, as written ("airlines")
    explicit: str = ""  # the term whose meaning is asked for by name ("what does X mean by 'grooming'", "define ...")
    wants_examples: bool = False  # asks for a scenario / story / example
    wants_source: bool = False  # asks for a website, phone number or contact

    @property
    def quantity(self) -> bool:
        """The answer must state a figure (or, for a contact question, a number to call)."""
        return self.kind in ("quantity", "contact")


# a follow-up rewritten with the conversation's subject: "What share of them ... (How many survivors
# answered the survey ...)?" (``followup.rewrite``); the carried question is context, not the ask
_CARRIED = re.compile(
    r"^(?P<own>.*?\S)\s*\((?P<prev>(?:what|how|which|who|whom|whose|why|when|where|is|are|was|were|did|does|do|has|have|"
    r"can|could|in|according)\b[^()]{12,})\)\s*\??\s*$",
    re.I,
)
OWN_ASK = re.compile(r"\b(?:what|how|which|who|whom|whose|why|when|where)\b", re.I)


def read_question(question: str) -> Ask:
    """The ``Ask`` of ``question`` (pure: the same question always reads the same).

    A rewritten follow-up is read as two parts: what kind of answer is wanted (kind, measure,
    what is counted or defined) comes from the question's own words when they ask something;
    the subject it carries (names, years, vocabulary) from both."""
    m = _CARRIED.match(" ".join(question.split()))
    if m and OWN_ASK.search(m.group("own")):
        own, whole = _read(m.group("own") + "?"), _read(question)
        return replace(own, years=whole.years, doc_years=whole.doc_years, names=whole.names, focus=whole.focus,
                       # names only the carried question gives (the conversation's subject) need only be in the document
                       sources=tuple(dict.fromkeys(whole.sources + tuple(n for n in whole.names if n not in own.names))),
                       comparison=own.comparison or len(whole.years) > 1,
                       wants_examples=whole.wants_examples, wants_source=whole.wants_source)  # "in the guide's scenario ..."
    return _read(question)


def _read(question: str) -> Ask:
    years = tuple(dict.fromkeys(re.findall(r"(?<![\d.,])(?:19|20)\d\d(?!\d)", question)))  # "2020-2022" is two
    numbers = tuple(
        dict.fromkeys(n for n in re.findall(r"(?<![\w.])(?<![A-Za-z]-)\d+(?:[.,]\d+)*", question) if n not in years)
    )
    return Ask(
        kind=kind_of(question),
        measure=measure_of(question),
        comparison=len(years) > 1 or bool(_COMPARE.search(question)),
        years=years,
        doc_years=doc_years(question),
        numbers=numbers,
        names=names_in(question),
        sources=source_names(question),
        focus=frozenset(terms(question)),
        defined=frozenset(terms(defined_phrase(question))),
        explicit=explicit_term(question),
        asked=asked_noun(question),
        counted=counted_terms(question),
        wants_examples=bool(_EXAMPLES.search(question)),
        wants_source=bool(_SOURCE.search(question)),
    )


# a quoted term: the opening quote starts a word ("UNODC's Africa chapter" has an apostrophe, not a quote)
_QUOTED = re.compile(r"(?<![\w’'])[‘'“\"]([^’'”\"]{2,60})[’'”\"](?!\w)")
_EXPLICIT = re.compile(r"\bmean(?:s|t)? by\b|\bdefin(?:e|es|ed|ition)\b|\bwhat is meant\b|\bmeaning of\b|\bstand for\b|\brefer to\b", re.I)
_DEFINED = re.compile(
    r"\b(?:mean|means|meant) by\s+(.+?)\s*\??$|\bdefin(?:e|es|ition of)\s+(?:the (?:term|crime|concept) (?:of )?)?(.+?)"
    r"(?:,|\s+as\b|\s+in\b|\?|$)|^\s*(?:what|who)\s+(?:is|are|was|were)\s+(?:an?\s+|the\s+)?(.+?)\s*(?:,|\s+and\b|\?|$)",
    re.I,
)


# "which airlines did ...", "in which U.S. city did ...", "what software does ...": which/what, up to three
# words, then an auxiliary; the last of the words names the kind of thing the answer must name
_ASKED = re.compile(
    rf"^\s*(?:in|on|at|for|from|to|among|by|through|under|with)?\s*(?:which|what)\s+((?:(?!{_AUX})[\w.’'-]+\s+){{1,3}}?)"
    rf"(?:of the [a-z]+\s+)?{_AUX}",
    re.I,
)


def asked_noun(question: str) -> str:
    """The head noun of "which X does ...": the kind of thing asked for ("" if none)."""
    m = _ASKED.match(question)
    return m.group(1).split()[-1].lower() if m else ""


def explicit_term(question: str) -> str:
    """The term a question asks the meaning of by name (quoted, or after "mean by" / "define"), of at
    most four words; a quoted title ("the 'Who are the traffickers?' exercise") is no term."""
    if not (_EXPLICIT.search(question) or _QUOTED.search(question)):
        return ""
    phrase = defined_phrase(question)
    return phrase if 0 < len(phrase.split()) <= 4 and "?" not in phrase else ""


def defined_phrase(question: str) -> str:
    """What a definition question asks to define: a quoted term, else the phrase after "mean by",
    "define" or "what is"; "" when there is none."""
    m = _QUOTED.search(question)
    if m:
        return m.group(1)
    m = _DEFINED.search(question)
    phrase = next((g for g in m.groups() if g), "") if m else ""
    # "what is peer-to-peer recruitment in schools": the term, not where it happens
    return re.split(r"\s+(?:in|for|among|within|under|during|at|on|according to)\s+", phrase, maxsplit=1)[0]


def kind_of(question: str) -> str:
    if _PHONE.search(question):
        return "contact"
    if (_QUANTITY.search(question) or _AVERAGE.search(question)) and not _ENTITY.search(question):
        return "quantity"
    if _TIME.search(question):
        return "time"
    if _REASON.search(question):
        return "reason"
    if _LIST.search(question) or _PLURAL_ASK.search(question):
        return "list"
    if _DEFINITION.search(question):
        return "definition"
    return "other"


def measure_of(question: str) -> str | None:
    """The kind of figure a question wants (a phone number for a contact question)."""
    if _PHONE.search(question):
        return "phone"
    if _AVERAGE.search(question):
        return "average"
    if not _QUANTITY.search(question) or _ENTITY.search(question):
        return None
    if _DURATION.search(question):
        return "duration"
    if _PERCENT.search(question):
        return "percent"
    if _COUNT.search(question):
        return "count"
    if _MONEY.search(question) and re.search(r"\bhow much\b|\bamount\b|\btotal\b|\bwhat (?:was|is|were|are) the\b", question, re.I):
        return "money"
    if _AGE.search(question):
        return "age"
    return None


_TITLED_YEAR = re.compile(r"\b([A-Z][a-z]+|[A-Z]{2,})[’']?s?\s+((?:19|20)\d\d)\b")
_NOT_TITLE = frozenset("in since from by during until of for to after before between through around about".split())


def doc_years(question: str) -> tuple[str, ...]:
    """Years that name a document: "the 2021 survey", "UNODC's 2024 Global Report", "Trafficking in Persons 2024"."""
    out = list(_DOC_YEAR.findall(question))
    for m in _TITLED_YEAR.finditer(question):
        if m.group(1).lower() not in _NOT_TITLE:
            out.append(m.group(2))
    return tuple(dict.fromkeys(out))


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


# a name that attributes: "according to UNODC", "citing HHS", "the DHS guide", "Polaris's survivor study"
_DOC_NOUN = (r"(?:guide|guides|report|reports|study|survey|chapter|data|research|compendium|publication|brochure|"
             r"toolkit|analysis|handbook|manual|resource|fact ?sheet|training|curriculum|campaign)\b")
_SOURCE_BEFORE = re.compile(r"\b(?:according to|citing|cited by|published by)\s+(?:the\s+|its\s+)?$", re.I)
_MODIFIER = r"(?:(?!(?:in|of|on|at|for|to|the|a|an|and|or|by|with|from|about|who|that|which)\b)[\w-]+\s+)"
_SOURCE_AFTER = re.compile(rf"^(?:[’']s)?\s+{_MODIFIER}{{0,3}}?{_DOC_NOUN}", re.I)


def source_names(question: str) -> tuple[str, ...]:
    """The names of a question that attribute it to a document or its publisher: a passage need not
    repeat them, its document does ("Which groups does the DoD guide, citing HHS, list ...")."""
    out = []
    for m in _NAME.finditer(question):
        name = re.sub(r"[’']s$", "", m.group(0))
        after = question[m.end():]
        before = question[: m.start()]
        # the rest of a name ("Generation 30 research", "Polaris's National Survivor Study")
        run_after = re.match(r"^(?:[’']s)?(?:\s+(?:[A-Z][\w-]*|\d+))*", after).group(0)
        rest = after[len(run_after):]
        if (_SOURCE_AFTER.match(after) or _SOURCE_AFTER.match(rest) or re.search(rf"{_DOC_NOUN}$", run_after, re.I)
                or _SOURCE_BEFORE.search(before) and re.match(r"^\s*(?:[,.?)]|$)", rest)):
            out.append(name)
    names = set(names_in(question))
    return tuple(n for n in dict.fromkeys(out) if n in names)


_PART = re.compile(
    r"(?:[;?]\s+|,?\s+and\s+(?=(?:how|what|which|who|whom|why|when|where|whether|is|are|was|were|do|does|did|has|have)\b)|"
    r",\s+(?=(?:how|what|which|who|why|when|where)\b))",
    re.I,
)


_ASKS = re.compile(
    r"(?:how|what|which|who|whom|whose|why|where|whether|is|are|was|were|do|does|did|has|have|can|could|should|"
    r"when (?:did|was|were|is|are|does|do|will|has|have))\b",
    re.I,
)


def question_parts(question: str) -> list[str]:
    """The sub-questions of a two- or three-part question ("How does X define Y, and how many Z ...?").

    A part must have a few words of its own; the whole question is the only part otherwise.
    """
    raw = [p.strip(" ,;?") for p in _PART.split(question) if p and p.strip(" ,;?")]
    parts: list[str] = []
    lead = ""  # a clause that is no question of its own ("When an officer meets a victim, ...") joins the next part
    for p in raw:
        if not _ASKS.match(p):
            lead = f"{lead} {p}".strip()
            continue
        parts.append(f"{lead}, {p}" if lead else p)
        lead = ""
    if lead and parts:
        parts[-1] = f"{parts[-1]} {lead}"
    parts = [p for p in parts if len(terms(p)) >= 2]
    return parts[:3] if len(parts) > 1 else [question]


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
