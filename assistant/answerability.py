"""What a question pins down, and whether a passage supplies it.

Near-miss questions are the hard case for a grounded answerer: the right topic, but a year,
place, name or measure the documents do not have ("How many victims did the Hotline identify
in 2022 alone?" over a report on 2021). Their passages look just as relevant as a real answer's
by embedding similarity and term overlap, so the answerer checks what the question *requires*
instead: every year and number it names, every proper name, the statistic it asks for
(an average needs an average), a U.S. state when it asks "which state" (countries and cities
are too many to list, so they are left to the name check),
and for a "how many / what share" question, a figure stated next to what is being counted.

Pure functions over text, so each rule is tested on its own (``tests/test_answerability.py``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from .terms import STOP, terms

_YEAR = re.compile(r"(?<![\d/.,-])(?:19|20)\d\d(?![\d])")
# a year that is one end of a range ("2018-2022", "January 2020-August 2022", "1/1/2020-8/31/2022")
_RANGE_END = re.compile(
    r"(?:[-–—]|\bto|\bthrough|\buntil|\bbetween\s+\S+(?:\s+\S+)?\s+and)\s*(?:[A-Za-z]+\.?\s+)?(?:\d{1,2}/\d{1,2}/)?$", re.I
)
_RANGE_START = re.compile(r"^\s*(?:[-–—/]|to\b|through\b|until\b)", re.I)
_BETWEEN = re.compile(r"\b(?:between|from)\s+(?:[A-Za-z]+\.?\s+)?$", re.I)
# a figure: not part of a word ("COVID-19"), a date ("1/1/2021") or a decimal's tail
_NUM = re.compile(r"(?<![\w./])(?<![A-Za-z]-)\d+(?:[.,]\d+)*(?![/\w])(?:\s?%| per ?cent)?")
_LABEL = re.compile(r"\b(?:fig(?:ure)?|table|chart|map|box|p|pp|page|no|chapter|section)\.?\s*$", re.I)
# a year that names a document ("the OSCE's 2021 survey", "UNODC's 2024 Global Report") may be
# found in a title; any other year must be in the text itself
_DOC_YEAR = re.compile(
    r"\b((?:19|20)\d\d)\s+(?:\S+\s+){0,2}?(?:report|survey|study|guide|edition|compendium|publication|assessment)\b",
    re.I,
)
_FOOTNOTE = re.compile(r"^\d{1,2}\s+[A-Z]")
_COMPARE = re.compile(r"\b(?:compar\w*|differ\w*|versus|vs\.?|chang\w*|agree\w*|both)\b", re.I)
_QUANTITY = re.compile(
    r"\bhow (?:many|much|often|big|large|long)\b|\bwhat (?:share|proportion|percentage|per ?cent|number|amount|"
    r"fraction|rate|portion)\b|\b(?:number|share|proportion|percentage) of\b",
    re.I,
)
# "how many (of the) X ...", "the number of X": X is what is counted
_COUNTED = re.compile(r"\b(?:how many|how much|number of|numbers of)\s+(?:of\s+)?(?:the\s+|its\s+|their\s+)?", re.I)
_PHRASE_END = frozenset(
    "did do does were was are is have has had can could will would should may might took take made make "
    "in on at from to by with for that who which whom whose since during between per than as "
    "of about according".split()
)
_ASKING = frozenset(terms("number numbers share proportion percentage percent rate total amount change changed compare"))
_STATISTIC = {
    "average": re.compile(r"\b(?:average|mean)\b", re.I),
    "median": re.compile(r"\bmedian\b", re.I),
}
_PLACE = re.compile(r"\b(?:which|what)\s+(?:(?:u\.?s\.?|us|american)\s+)?(state)s?\b", re.I)
_NAME = re.compile(r"\b(?:[A-Z][a-z]+(?:[’'][a-z]+)?|[A-Z]{2,}[a-z]?)\b")
_QUESTION_WORDS = frozenset(
    "what which who whom whose when where why how is are was were do does did can could should would will "
    "in on at of for from to by with under during since between apart among according the a an and or but "
    "if as after before besides beyond january february march april may june july august september october "
    "november december monday tuesday wednesday thursday friday saturday sunday".split()
)

US_STATES = frozenset(
    """alabama alaska arizona arkansas california colorado connecticut delaware florida georgia hawaii idaho
    illinois indiana iowa kansas kentucky louisiana maine maryland massachusetts michigan minnesota mississippi
    missouri montana nebraska nevada ohio oklahoma oregon pennsylvania tennessee texas utah vermont virginia
    washington wisconsin wyoming""".split()
) | {"new hampshire", "new jersey", "new mexico", "new york", "north carolina", "north dakota", "rhode island",
     "south carolina", "south dakota", "west virginia", "district of columbia"}


@dataclass(frozen=True)
class Needs:
    """What an answer to the question has to contain."""

    years: tuple[str, ...] = ()
    doc_years: tuple[str, ...] = ()  # those of ``years`` that name a document
    numbers: tuple[str, ...] = ()  # other numbers the question quotes ("the 57 participating States")
    names: tuple[str, ...] = ()  # proper names and acronyms, as written
    quantity: bool = False  # how many / how much / what share ...
    statistic: str | None = None  # "average" or "median"
    place: str | None = None  # "state": the answer must name a U.S. state
    focus: frozenset = field(default_factory=frozenset)  # the question's content terms
    counted: tuple[str, ...] = ()  # terms of what a "how many" question counts ("hotels")


def needs_of(question: str) -> Needs:
    years = tuple(dict.fromkeys(re.findall(r"(?<![\d.,])(?:19|20)\d\d(?!\d)", question)))  # "2020-2022" is two
    numbers = tuple(
        dict.fromkeys(n for n in re.findall(r"(?<![\w.])(?<![A-Za-z]-)\d+(?:[.,]\d+)*", question) if n not in years)
    )
    names = []
    for m in _NAME.finditer(question):
        w = m.group(0)
        if m.start() == 0 or question[: m.start()].rstrip().endswith((".", "?", "!", ":", '"', "“", "'")):
            continue  # a capital that only starts the sentence
        if w.lower() in _QUESTION_WORDS or w.lower() in STOP:
            continue
        names.append(re.sub(r"[’']s$", "", w))
    stat = next((k for k, rx in _STATISTIC.items() if rx.search(question)), None)
    place = _PLACE.search(question)
    return Needs(
        years=years,
        doc_years=tuple(dict.fromkeys(_DOC_YEAR.findall(question))),
        numbers=numbers,
        names=tuple(dict.fromkeys(names)),
        quantity=bool(_QUANTITY.search(question)),
        statistic=stat,
        place=place.group(1).lower() if place else None,
        focus=frozenset(terms(question)),
        counted=counted_terms(question),
    )


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


# -- the checks -----------------------------------------------------------------------------


def standalone_years(text: str) -> set[str]:
    """Years that stand for themselves, not as one end of a range such as ``2018-2022``."""
    out = set()
    for m in _YEAR.finditer(text):
        before, after = text[max(0, m.start() - 30) : m.start()], text[m.end() : m.end() + 9]
        if _RANGE_END.search(before) or _RANGE_START.match(after) or _BETWEEN.search(before):
            continue
        out.add(m.group(0))
    return out


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z]+", text)}


def name_present(name: str, words: set[str]) -> bool:
    """``name`` or a form of it ("Ghanaian" / "Ghana", "Kenyan" / "Kenya") is among ``words``."""
    n = name.lower().replace("’", "'").split("'")[0]
    if n in words:
        return True
    if name.isupper() or len(n) < 5:
        return False  # acronyms and short names must match exactly
    for w in words:
        if len(w) < 4 or w[:4] != n[:4]:
            continue
        common = len(os.path.commonprefix([n, w]))
        if common >= min(len(n), len(w)) - 2:
            return True
    return False


_NUMBER_WORDS = re.compile(
    r"\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|"
    r"sixty|seventy|eighty|ninety|hundreds?|thousands?|millions?|billions?|dozens?|half|twice|"
    r"a third|a quarter|majority|minority)\b",
    re.I,
)


def figures(sentence: str, exclude: set[str]) -> list[str]:
    """The numbers a sentence states (digits or words), less years and the numbers in ``exclude``."""
    out = [m.group(0) for m in _NUMBER_WORDS.finditer(sentence)]
    for m in _NUM.finditer(sentence):
        if m.start() == 0 and _FOOTNOTE.match(sentence):
            continue  # a footnote's number
        raw = m.group(0)
        digits = re.match(r"\d+(?:[.,]\d+)*", raw).group(0)
        if raw == digits and _YEAR.fullmatch(digits):
            continue  # a year says when, not how many
        if _LABEL.search(sentence[max(0, m.start() - 8) : m.start()]):
            continue  # "Fig. 75", "Table 3", "p. 12"
        if digits.replace(",", "") in exclude or digits in exclude:
            continue
        out.append(raw)
    return out


def names_a_state(text: str) -> bool:
    low = " " + re.sub(r"[^a-z ]+", " ", text.lower()) + " "
    return any(f" {s} " in low for s in US_STATES)


@dataclass(frozen=True)
class Evidence:
    """One passage as the checks see it: its text, its header (title, section, file name), its sentences."""

    text: str
    header: str = ""
    sentences: tuple[str, ...] = ()
    context: str = ""  # nearby text of the same document: a name given once covers what follows


def comparative(question: str, needs: Needs) -> bool:
    """A question that draws on several passages (two years, a comparison, a change)."""
    return len(needs.years) > 1 or bool(_COMPARE.search(question))


def unmet(needs: Needs, evidence: list[Evidence]) -> list[str]:
    """What the evidence, taken together, lacks, as short phrases; empty when it has all the question needs.

    Names, years and numbers may come from any of the passages (a comparison finds one year in
    one passage and the other in the next); the figure of a "how many" question must stand in
    one sentence with something the question asks about beyond its passage's own title.
    """
    missing: list[str] = []
    scope = "\n".join(f"{e.header}\n{e.text}" for e in evidence)
    body = "\n".join(e.text for e in evidence)
    # one year asked ("in 2022 alone") is not answered by a span that merely ends in it;
    # a question spanning years ("from 2020 to 2022") is
    have_years = standalone_years(body) if len(needs.years) == 1 else set(_YEAR.findall(body))
    titled = set(_YEAR.findall(scope))
    for y in needs.years:
        if y not in have_years and not (y in needs.doc_years and y in titled):
            missing.append(f"{y} on its own" if y in body else str(y))
    for n in needs.numbers:
        if not re.search(rf"(?<![\d.,]){re.escape(n)}(?![\d])", scope):
            missing.append(n)
    words = _words(scope + "\n" + "\n".join(e.context for e in evidence))
    for name in needs.names:
        if not name_present(name, words):
            missing.append(name)
    if needs.statistic and not _STATISTIC[needs.statistic].search(body):
        missing.append(f"an {needs.statistic}" if needs.statistic[0] in "aeiou" else f"a {needs.statistic}")
    if needs.place == "state" and not names_a_state(body):
        missing.append(f"a {needs.place} name")
    if needs.quantity and not any(_counts_asked(needs, e) for e in evidence):
        missing.append("a figure for what is asked")
    return missing


def key_terms(needs: Needs, header: str) -> set[str]:
    """What a figure must stand beside: the thing counted ("how many *hotels*"), else what is asked.

    Terms of the passage's title are left out of the counted ones unless nothing else is left.
    Without a counted noun ("how often ...", "what share ..."), any of the question's content
    terms beyond the passage's title, its years and numbers, and the words that only ask for a
    figure ("number", "change") will do; with none left, any figure will.
    """
    if needs.counted:  # the title names the report's subject, not what this figure counts
        return (set(needs.counted) - set(terms(header))) or set(needs.counted)
    return set(needs.focus) - set(terms(header)) - set(needs.years) - _ASKING - {n.replace(",", "") for n in needs.numbers}


def _counts_asked(needs: Needs, e: Evidence) -> bool:
    key = key_terms(needs, e.header)
    exclude = set(needs.numbers)
    return any(figures(s, exclude) and (not key or key & set(terms(s))) for s in e.sentences)
