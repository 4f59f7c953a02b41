"""A passage as reading units: sentences, table rows, and lead-ins with the list items they introduce.

Report text is not all prose. A reader that quotes "Below are some common signs:" without the
signs, a chart's axis labels, a footnote's URL or the opening line of a fictional scenario has
quoted text, not an answer. Each unit therefore carries a ``kind``:

- ``statement``: an ordinary sentence; ``lead_in``: a sentence that introduces a list (ends in
  ":" or announces "the following", "include", "such as", "like", "below") together with the
  items after it; ``item``: one list item; ``row``: a table row with a figure, read with its
  table's title ("Immigration Status of Likely Victims: Foreign National | 2510 | 71%");
- not answers unless asked for: ``heading``, ``caption``, ``navigation`` (contents and
  list-of-figures lines with leader dots), ``chart`` (axis labels, runs of numbers, a table's header row of years), ``footnote`` (numbered notes, URLs), ``boilerplate`` (ISBNs, copyright, "this report
  presents"), ``scenario`` (a story about a named person, as training guides tell them).

A unit's span is where it stands in the passage (a lead-in's runs to its last item), so a
citation highlights exactly what was quoted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .sentences import is_list_item, split_sentences
from .terms import WORD

ANSWER_KINDS = frozenset({"statement", "lead_in", "item", "row"})

_CAPTION = re.compile(r"^\s*(?:fig(?:ure)?|table|chart|map|graph|source|sources|note|notes|photo|box)s?\b\.?\s*\d*", re.I)
_BULLET = re.compile(r"^\s*(?:[•●○◦▪▫■□▸▹►▻»›‣⁃∙·✓✔✗➢➤➔→\-–—*]|\(?(?:[A-Za-z0-9]{1,2}|[ivxlcIVXLC]{1,4})[.)])\s*")
_LEAD_IN = re.compile(
    r"(?::\s*$|\b(?:the following|as follows|below|include[sd]?|including|such as|like|are|were)\s*[:.]?\s*$)", re.I
)
_ANNOUNCES = re.compile(r"\b(?:the following|as follows|below are|below is|include|includes|such as)\b", re.I)
_LEADER = re.compile(r"(?:\.\s){4,}|\.{5,}")
_OPENS_LIST = re.compile(r"^\s*(?:below (?:are|is)|the following (?:are|is)|here are)\b", re.I)
_LINK = re.compile(r"\s*(?:https?://|www\.)\S+")
_URL = re.compile(r"https?://|www\.|\.(?:gov|org|com|int|edu)\b/?", re.I)
_FOOTNOTE = re.compile(r"^\s*(?:\d{1,3}\s+(?:(?-i:[A-Z])|https?:|www\.|ibid|see\b|cf\.)|[¹²³⁴⁵⁶⁷⁸⁹⁰]+\s*\S)", re.I)  # "37 percent of ..." is no note; "¹ Situations where ..." is
_BOILERPLATE = re.compile(
    r"\b(?:isbn|issn|e-?isbn|doi:|sales no\.|©|copyright|all rights reserved|suggested citation|disclaimer|"
    r"the views expressed|does not necessarily reflect|printed in|this (?:report|publication|document|guide|brochure)"
    r" (?:presents|was (?:prepared|produced|developed|written)|has been|is (?:published|produced|intended))|"
    r"acknowledg(?:e)?ments?|for (?:more|further) information,? (?:please )?(?:visit|see|contact)|"
    r"please refer to)\b",
    re.I,
)
_NAME_START = re.compile(
    r"^([A-Z][a-z]{2,})(?:\s+[A-Z][a-z]+)?\s+(?:has|had|is|was|works|worked|lives|lived|noticed|notices|met|meets|"
    r"started|starts|began|begins|wants|wanted|says|said|told|tells|goes|went|sees|saw|thinks|thought|feels|felt|"
    r"decided|decides|received|receives|comes|came|gets|got|takes|took|answers|answered|agrees|agreed|runs|ran)\b"
)
_PRONOUNS = re.compile(r"\b(?:he|she|his|her|him)\b", re.I)
# a numbered endnote reads like a list item ("21. Byron A. Fassett, “Dallas High Risk Victims Model”
# (Dallas, TX: Dallas Police Department, 2008), http://..."): a reference, not a point of the text
_REFERENCE = re.compile(
    r"\(see note \d+\)|\bibid\b|\bop\. cit\.|\([A-Z][\w .]+,\s*[A-Z][\w.]*:\s*[^)]*\b(?:19|20)\d\d\)|"
    r"[“\"][^”\"]{3,}[”\"][^.]*\b(?:19|20)\d\d\b.*(?:https?://|www\.)",
    re.I,
)
_YEAR_CELL = re.compile(r"^(?:fy\s?)?(?:19|20)\d\d(?:\s?[-–/]\s?(?:19|20)?\d\d)?$", re.I)


@dataclass(frozen=True)
class Unit:
    """One reading unit of a passage: ``text[start:end]`` of the passage, read as ``text``."""

    start: int
    end: int
    text: str
    kind: str
    items: tuple[str, ...] = ()  # a lead-in's list items, cleaned of their bullets
    title: str = ""  # a row's table title, shown before its cells (``text`` = "title: cells")

    @property
    def answers(self) -> bool:
        return self.kind in ANSWER_KINDS


def read_passage(text: str, max_items: int = 12) -> list[Unit]:
    """The passage's units in reading order (see the module docstring).

    The gate and the reader both read the same few passages per question: the reading is cached.
    """
    return list(_read(text, max_items))


@lru_cache(maxsize=512)
def _read(text: str, max_items: int) -> tuple[Unit, ...]:
    raw = [(s, e, text[s:e]) for s, e in split_sentences(text)]
    names = _scenario_names(text)
    units: list[Unit] = []
    title, story = "", False
    for s, e, sent in raw:
        kind = classify(sent, names)
        if kind == "heading":
            story = False
        elif kind == "scenario":
            story = True
        elif story and kind == "statement" and _PRONOUNS.search(sent):
            kind = "scenario"  # the story goes on: "It is located ..., so ... he interacts with ..."
        shown, row_title = sent, ""
        if kind == "row":
            shown, row_title = (f"{title}: {sent}", title) if title else (sent, "")
        elif kind in ("statement", "heading", "lead_in") and " | " not in sent and len(sent) < 120 and len(re.findall(r"[A-Za-z]{2,}", sent)) >= 2:
            title = sent
        units.append(Unit(s, e, shown, kind, title=row_title))
    return tuple(_attach_items(units, text, max_items))


def classify(sentence: str, scenario_names: frozenset = frozenset()) -> str:
    """The kind of one sentence (see the module docstring)."""
    s = sentence.strip()
    words = WORD.findall(s)
    if _LEADER.search(s):
        return "navigation"  # a contents or list-of-figures line: "FIGURE 2 | Income . . . . . 14"
    if " | " in s:
        return "footnote" if _URL.search(s) else _row_kind(s)  # "Washington, DC 20530 | Visit us at www..."
    if is_list_item(s) and _REFERENCE.search(s):
        return "footnote"
    if is_list_item(s) and not _FOOTNOTE.match(s) and len(words) >= 2:
        return "item"  # a list item keeps its link: "2. Know the signs ... https://..."
    if _FOOTNOTE.match(s) or _URL.search(s):
        return "footnote"
    if _BOILERPLATE.search(s):
        return "boilerplate"
    if (_CAPTION.match(s) and not s.rstrip().endswith((".", ":")) or re.match(r"^\s*(?:fig(?:ure)?|table|chart|map|box)\s*\d", s, re.I)
            or re.match(r"^\s*(?:source|sources|note|notes)\s*:", s, re.I)):  # "Source: UNODC NGO Survey."
        return "caption"
    numbers = [w for w in words if w[0].isdigit()]
    if len(numbers) >= 4 and len(numbers) >= len(words) - len(numbers):
        return "chart"
    if scenario_names and (any(n in s for n in scenario_names) or re.match(r"^(?:He|She|His|Her)\b", s)):
        return "scenario"
    if is_list_item(s):
        return "item" if len(words) >= 1 else "heading"
    if not _is_statement(s, words):
        return "heading"
    if _OPENS_LIST.match(s) or _LEAD_IN.search(s) and (s.rstrip().endswith(":") or _ANNOUNCES.search(s)):
        return "lead_in"
    return "statement"


def _row_kind(s: str) -> str:
    cells = [c.strip() for c in s.split(" | ")]
    figures = [c for c in cells if re.search(r"\d", c)]
    numbers = re.findall(r"\d[\d,.]*\d|\d", s)
    if figures and (all(_YEAR_CELL.match(c) for c in figures) or all(re.fullmatch(r"(?:19|20)\d\d", n) for n in numbers)):
        return "chart"  # a table's header row ("2020 | 2021 | % Change"): years label columns, count nothing
    has_figure = bool(figures)
    labelled = any(re.search(r"[a-z]{2,}", c) for c in cells)
    return "row" if has_figure and labelled else "chart"


def _is_statement(sentence: str, words: list[str]) -> bool:
    """Whether a sentence can carry an answer: not a heading, caption, or page furniture."""
    if len(words) < 4:
        return False
    letters = [ch for ch in sentence if ch.isalpha()]
    if letters and sum(ch.isupper() for ch in letters) > 0.6 * len(letters):
        return False  # ALL-CAPS headings and banners
    ends = sentence.rstrip().endswith((".", "!", "?", ":", ";", '"', "”", ")", "’"))
    if not ends and len(words) < 8:
        return False  # a heading or a label
    alpha = [w for w in words if w[0].isalpha()]
    if not ends and alpha and sum(w[0].isupper() for w in alpha) > 0.7 * len(alpha) and len(words) < 14:
        return False  # Title Case Heading
    return True


def _scenario_names(text: str) -> frozenset:
    """Given names that open sentences of a story ("Joel has been running ...") in a passage with he/she."""
    if not _PRONOUNS.search(text):
        return frozenset()
    out = set()
    for s, e in split_sentences(text):
        m = _NAME_START.match(text[s:e].strip())
        if not m:
            continue
        name = m.group(1)
        # a name is only ever capitalised; "Traffickers has" or "The survey" are words
        if not re.search(rf"\b{name.lower()}\b", text) and name.lower() not in _COMMON_OPENERS:
            out.add(name)
    return frozenset(out)


_COMMON_OPENERS = frozenset(
    "the this that these those there it its our their each every one some many most all both such who what "
    "which when where why how another other government police staff everyone nobody somebody someone".split()
)


def _attach_items(units: list[Unit], text: str, max_items: int) -> list[Unit]:
    """Give each run of list items to what introduces it: a lead-in (a second lead-in may stand
    between them: "Below are some common signs. ... include the following:") or a heading
    ("10 Steps Parents Can Take"). A lead-in with no items after it is an ordinary statement."""
    out = list(units)
    i = 0
    while i < len(units):
        u = units[i]
        first_item = u.kind == "item" and not _ends(u.text) and (i == 0 or units[i - 1].kind != "item")
        if u.kind not in ("lead_in", "heading") and not first_item:
            i += 1
            continue
        j, head = i + 1, u.text
        if u.kind == "lead_in" and j < len(units) and units[j].kind == "lead_in":
            head = f"{u.text} {units[j].text}"
            j += 1
        items, end = [], u.end
        while j < len(units) and units[j].kind == "item" and len(items) < max_items:
            items.append(clean_item(units[j].text))
            end = units[j].end
            j += 1
        if u.kind == "lead_in" or len(items) >= 2:
            kind = "lead_in" if items else "statement"
            out[i] = Unit(u.start, end, clean_item(head) if u.kind == "item" else head, kind, tuple(items))
        i += 1
    return out


def _ends(text: str) -> bool:
    return text.rstrip().endswith((".", "!", "?", ";", '"', "”", ")"))


def clean_item(item: str) -> str:
    """A list item without its bullet, its trailing punctuation, or a second sentence."""
    item = _BULLET.sub("", _LINK.sub("", item).strip(), count=1)
    item = re.split(r"(?<=[a-z)])[.!?]\s+(?=[A-Z])", item, maxsplit=1)[0]
    return " ".join(item.split()).rstrip(" .;,")


def quoted(unit: Unit) -> str:
    """What the reader quotes for a unit: one line, a lead-in with its items joined by semicolons."""
    head = " ".join(unit.text.split())
    if unit.kind == "item":
        return _BULLET.sub("", head, count=1) or head  # an item quoted alone loses its bullet, not its words
    if not unit.items:
        return head
    return f"{head.rstrip()} {'; '.join(unit.items)}."
