"""Rule-based sentence splitting that returns character spans, so callers can cite exact offsets.

Reports mix prose, bullet lists, tables, headings and hard-wrapped PDF lines; a sentence
tokenizer trained on news (nltk punkt needs a data download anyway) handles none of the
layout. The rules, in two passes:

1. Lines are grouped into blocks. A block always ends at a blank line, before a bullet or
   list item (``•``, ``-``, ``*``, ``»``, ``1.``, ``(a)``, ...), around a table row (a line
   containing `` | ``), after a line ending in ``:`` when the next line starts a new
   capitalised line, and after a short (<= 6 words) line without final punctuation when
   the next line starts with a capital (headings, figure labels). A single newline inside
   running text does not end a sentence: PDF text is hard-wrapped.
2. Inside a block, a sentence ends at ``.``, ``!``, ``?`` or an ellipsis (with any closing
   quotes/brackets and a glued footnote number, as in ``reserves.4``) followed by
   whitespace and a capital, digit, opening quote/bracket or bullet. A ``.`` does not end a
   sentence after known abbreviations (e.g., i.e., Dr., et al., ...), after initials
   (``J. Smith``), after number-taking abbreviations before a number (``No. 29``,
   ``Art. 3``, ``para. 4``, ``Fig. 67``), after a list enumerator at the start of a block,
   or after dotted/corporate abbreviations (``U.S.``, ``Inc.``) unless the next word is a
   common sentence opener (``U.S. The`` does split). Decimals (``43.5%``) never split
   because no whitespace follows the dot.

Spans are stripped of surrounding whitespace and cover every non-space character once.
"""

from __future__ import annotations

import re

# Abbreviations after which a "." never ends a sentence (lower-case, without the dot).
_ABBREV_ALWAYS = frozenset(
    """
    e.g eg i.e ie cf vs v viz al approx ca cca resp incl excl esp
    mr mrs ms dr prof sr jr st rev hon gen gov sen rep capt col lt sgt cpl maj adm
    mt ft dept univ assn assoc est ref refs ibid op cit
    """.split()
)
# Abbreviations that take a number: no split when a number / roman numeral / bracket follows.
_ABBREV_NUMERIC = frozenset(
    """
    no nos nr art arts para paras par sec secs ch chap fig figs tab p pp vol vols ed eds
    n nn s ss ann annex cl
    jan feb apr jun jul aug sep sept oct nov dec
    """.split()
)
# Abbreviations that often end a sentence too: split only before a common sentence opener.
_ABBREV_OPENER = frozenset("inc ltd co corp plc llc bros".split())
_OPENERS = frozenset(
    """
    the this these that those there in it its we they he she a an as at on for from by of
    however but and or if when while although though since after before during
    our their his her i you one some many most all each both such thus therefore also
    moreover furthermore further finally first second third yet still so what who how why where
    """.split()
)

_BULLET_CHARS = "•●○◦▪▫■□▸▹►▻»›‣⁃∙·✓✔✗➢➤➔→-–—*"
_STRONG_BULLETS = "•●○◦▪▫■□▸►‣⁃∙➢➤"  # also start a sentence in the middle of a line
_BULLET_LINE = re.compile(
    r"""[ \t]*(?:
        [•●○◦▪▫■□▸▹►▻»›‣⁃∙·✓✔✗➢➤➔→](?:\s|$)     # symbol bullets (may stand alone on their line)
      | [-–—*][ \t]+\S                           # dash/asterisk bullets need text after a space
      | \d{1,3}[.)][ \t]+\S                      # 1. item / 2) item
      | [a-zA-Z][.)][ \t]+\S                     # a. item / b) item
      | \((?:\d{1,2}|[a-zA-Z]|[ivxlcIVXLC]{1,5})\)[ \t]+\S   # (a) / (iv) / (2) item
      | (?:[ivxlc]{1,5}|[IVXLC]{1,5})[.)][ \t]+\S           # iv. item / IV) item
    )""",
    re.X,
)
_BULLET_ONLY = re.compile(r"[ \t]*[" + re.escape(_BULLET_CHARS) + r"][ \t]*$")
_TABLE_ROW = re.compile(r" \| ")
_LINE_FINAL_PUNCT = ".!?…:;,-–—/(&\"'“‘"
_FUNCTION_WORDS = frozenset(
    "a an the of to in on for and or but with by from at as is are was were be that which who than nor".split()
)

# Candidate sentence end: terminal punctuation, optional glued footnote number, closers, then
# whitespace (next char captured) or the end of the block.
_END = re.compile(
    r"""(?P<punct>\.\.\.+|…|[.!?]+)
        (?P<fn>\d{1,3})?
        [\"'”’»)\]]*
        (?=[ \t\r\f\v\n\xa0]+(?P<next>\S)|\s*$)""",
    re.X,
)
_OPENING = "\"'“‘«([{¿¡"
_ROMAN_OR_NUM = re.compile(r"(?:\d|[IVXLC]+\b|[ivxlc]+\b|\()")
_DOTTED = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")
_ENUM = re.compile(r"(?:\d{1,3}|[A-Za-z]|[ivxlcIVXLC]{1,5})")
_INLINE_BULLET = re.compile(r"(?<=[ \t])[" + re.escape(_STRONG_BULLETS) + r"]")
_WORD_AFTER = re.compile(r"[\"'“‘(\[]*([A-Za-z]+)")


def is_list_item(text: str) -> bool:
    """Whether ``text`` starts like a list item (a bullet, ``1.``, ``(a)``, ``iv.`` ...)."""
    return bool(_BULLET_LINE.match(text))


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the sentences of ``text``, in order, whitespace-stripped."""
    spans: list[tuple[int, int]] = []
    for b_start, b_end in _blocks(text):
        cut = b_start
        for end in _sentence_ends(text, b_start, b_end):
            _add(text, cut, end, spans)
            cut = end
        _add(text, cut, b_end, spans)
    return spans


def _add(text: str, start: int, end: int, out: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        out.append((start, end))


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of every line, excluding the newline."""
    out, pos = [], 0
    while True:
        nl = text.find("\n", pos)
        if nl < 0:
            out.append((pos, len(text)))
            return out
        out.append((pos, nl))
        pos = nl + 1


def _blocks(text: str) -> list[tuple[int, int]]:
    """Runs of lines that no line-level rule separates (see module docstring)."""
    blocks: list[tuple[int, int]] = []
    start: int | None = None
    prev = ""  # stripped previous line in the current block
    prev_table = False
    for ls, le in _lines(text):
        line = text[ls:le]
        s = line.strip()
        if not s:  # blank line: paragraph break
            if start is not None:
                blocks.append((start, ls))
                start = None
            continue
        is_table = bool(_TABLE_ROW.search(line))
        if start is not None and (is_table or prev_table or _breaks_before(prev, line, s)):
            blocks.append((start, ls))
            start = None
        if start is None:
            start = ls
        prev, prev_table = s, is_table
    if start is not None:
        blocks.append((start, len(text)))
    return blocks


def _breaks_before(prev: str, line: str, s: str) -> bool:
    """Whether a new sentence must start at ``line`` given the previous (stripped) line."""
    if _BULLET_LINE.match(line):
        return True
    if _BULLET_ONLY.match(prev):  # the bullet's text sits on this line
        return False
    first = s[0]
    starts_new = first.isupper() or (first in _OPENING and len(s) > 1 and s[1].isupper())
    if not starts_new:
        return False
    if prev.endswith(":"):
        return True
    if prev[-1] in _LINE_FINAL_PUNCT:
        return False
    words = prev.split()
    return len(words) <= 6 and words[-1].lower() not in _FUNCTION_WORDS


def _sentence_ends(text: str, start: int, end: int) -> list[int]:
    """Offsets inside ``text[start:end]`` where a sentence ends (exclusive)."""
    ends = []
    for m in _END.finditer(text, start, end):
        nxt = m.group("next")
        if nxt is None:  # end of block: the caller closes it
            continue
        if _is_end(text, start, m, nxt):
            ends.append(m.end())
    # strong bullets in the middle of a line ("… include: • poverty • debt")
    for m in _INLINE_BULLET.finditer(text, start, end):
        if not _only_space(text, start, m.start()):
            ends.append(m.start())
    return sorted(set(ends))


def _only_space(text: str, start: int, i: int) -> bool:
    return not text[start:i].strip()


def _is_end(text: str, block_start: int, m: re.Match, nxt: str) -> bool:
    punct = m.group("punct")
    starts_sentence = nxt.isupper() or nxt.isdigit() or nxt in _OPENING or nxt in _STRONG_BULLETS
    if not starts_sentence:
        return False
    p0 = m.start("punct")
    if m.group("fn"):  # "reserves.4 The": a footnote mark, unless it is a decimal ("43.5 Per")
        if not (nxt.isupper() and p0 > 0 and (text[p0 - 1].isalpha() or text[p0 - 1] in ")\"'”’")):
            return False
    if punct != ".":
        return True
    # the word before the dot
    w0 = p0
    while w0 > block_start and not text[w0 - 1].isspace():
        w0 -= 1
    token = text[w0:p0].lstrip("\"'“‘([{")
    if not token:
        return True
    if _only_space(text, block_start, w0) and _ENUM.fullmatch(token):
        return False  # "1. Item" / "a. Item" at the start of a block
    return dot_ends_sentence(token, text[m.start("next") : m.start("next") + 40])


def dot_ends_sentence(token: str, after: str) -> bool:
    """Whether a "." right after ``token`` ends a sentence, ``after`` being the text that follows the blank.

    The abbreviation rules of the module docstring, shared with the answer splitter
    (``answerers.markers``): "U.S. Department" goes on, "U.S. The" ends, "No. 29" goes on.
    """
    low = token.lower()
    if len(token) == 1 and token.isupper():  # initials: "J. Smith"
        return False
    if low in _ABBREV_ALWAYS:
        return False
    if low in _ABBREV_NUMERIC:
        return not _ROMAN_OR_NUM.match(after)
    if len(token) == 1 and token.isalpha():  # a lone letter: "grade a. Next" is rarer than "v. Smith"
        return False
    if low in _ABBREV_OPENER or _DOTTED.fullmatch(token):  # "U.S. The" splits, "U.S. Department" not
        word = _WORD_AFTER.match(after)
        return bool(word) and word.group(1).lower() in _OPENERS
    return True
