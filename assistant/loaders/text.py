"""Plain text and Markdown -> a single page (the eval format counts a text file as page 1).

Plain text keeps its lines (only whitespace is normalised). Markdown gets structure:
``#``/setext headings become ``Heading`` records (the ``#`` marks are dropped from the page
text), wrapped paragraph lines are joined, list items and table rows stay one per line,
code blocks are kept verbatim. Inline markup is left as written.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import LoadError
from ..records import Page
from .clean import clean_block, clean_line
from .decode import decode_text
from .units import Parsed, Unit, assemble

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_ITEM = re.compile(r"^ {0,3}([-*+]|\d{1,9}[.)])[ \t]+")
_TABLE_SEP = re.compile(r"^[\s|:-]+$")
_FRONT_TITLE = re.compile(r"^title:\s*[\"']?(.*?)[\"']?\s*$", re.M)


def _page(path: str, units: list[Unit]) -> Page:
    text, headings = assemble(units)
    if not text.strip():
        raise LoadError(path, "no text content (file is blank)")
    return Page(number=1, text=text, headings=headings)


def load_text(path: str | Path, data: bytes) -> Parsed:
    path = str(path)
    text = clean_block(decode_text(path, data))
    return Parsed(pages=[_page(path, [Unit(text, "pre")])])


def _front_matter(text: str) -> tuple[str, str]:
    """Strip a leading YAML front-matter block; return (title, rest)."""
    if not text.startswith("---\n"):
        return "", text
    end = text.find("\n---", 4)
    if end < 0 or end > 4000:
        return "", text
    m = _FRONT_TITLE.search(text[4:end])
    rest = text[end + 4 :].split("\n", 1)
    return (m.group(1).strip() if m else ""), (rest[1] if len(rest) > 1 else "")


def load_markdown(path: str | Path, data: bytes) -> Parsed:
    path = str(path)
    raw = decode_text(path, data).replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    title, raw = _front_matter(raw)
    units: list[Unit] = []
    para: list[str] = []
    kind = "para"

    def flush() -> None:
        nonlocal para, kind
        if para:
            units.append(Unit(" ".join(para), kind))
        para, kind = [], "para"

    lines = raw.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            flush()
            j = i + 1
            while j < len(lines) and not lines[j].lstrip().startswith(fence.group(1)):
                j += 1
            units.append(Unit(clean_block("\n".join(lines[i + 1 : j])), "pre"))
            i = j + 1
            continue
        atx = _ATX.match(line)
        if atx:
            flush()
            units.append(Unit(clean_line(atx.group(2) or ""), "heading", min(len(atx.group(1)), 3)))
        elif _SETEXT.match(line) and len(para) == 1 and kind == "para" and line.strip()[0] in "=-":
            level = 1 if line.strip()[0] == "=" else 2
            units.append(Unit(para[0], "heading", level))
            para = []
        elif not line.strip():
            flush()
        elif line.lstrip().startswith("|"):
            flush()
            if not _TABLE_SEP.match(line):
                cells = [clean_line(c) for c in line.strip().strip("|").split("|")]
                units.append(Unit(" | ".join(c for c in cells if c), "row"))
        elif _ITEM.match(line):
            flush()
            para, kind = [clean_line(line)], "item"
        else:
            para.append(clean_line(line))
        i += 1
    flush()
    page = _page(path, units)
    if not title:
        title = next((h.text for h in page.headings if h.level == 1), "")
    return Parsed(pages=[page], title=title)
