"""HTML -> one page: headings, paragraphs, list items and table rows, chrome removed.

Navigation, footers, scripts and styles are dropped; h1-h6 become ``Heading`` records
(levels capped at 3, like PDFs); each table row becomes one line with cells joined by " | ".
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import LoadError
from ..records import Page
from .clean import clean_block, clean_line
from .decode import decode_text
from .units import Parsed, Unit, assemble

DROP = {"script", "style", "nav", "footer", "noscript", "template", "svg", "iframe", "head", "button", "select"}
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
BLOCKS = {
    "p", "div", "section", "article", "main", "header", "aside", "blockquote", "figure", "figcaption",
    "address", "dl", "dt", "dd", "ul", "ol", "details", "summary", "center", "form", "fieldset", "hr",
    "body", "html", "caption", "tbody", "thead", "tfoot",
}  # fmt: skip
_BR = "\ue000"  # stands for <br> until the buffer is split into lines (source newlines are spaces)
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def declared_charset(data: bytes) -> str | None:
    m = _CHARSET.search(data[:4096])
    return m.group(1).decode("ascii") if m else None


def _inline(text: str) -> str:
    return clean_line(" ".join(text.split()))


class _Walker:
    def __init__(self) -> None:
        self.units: list[Unit] = []
        self.buf: list[str] = []
        self.kinds: list[str] = ["para"]

    def flush(self) -> None:
        if self.buf:
            lines = [_inline(part) for part in "".join(self.buf).split(_BR)]
            text = "\n".join(x for x in lines if x)
            if text:
                self.units.append(Unit(text, self.kinds[-1]))
            self.buf = []

    def table(self, table) -> None:
        caption = table.find("caption")
        if caption is not None and caption.find_parent("table") is table:
            self.units.append(Unit(_inline(caption.get_text(" ")), "para"))
        for tr in table.find_all("tr"):
            if tr.find_parent("table") is not table:
                continue
            cells = [_inline(td.get_text(" ")) for td in tr.find_all(["td", "th"], recursive=False)]
            cells = [c for c in cells if c]
            if cells:
                self.units.append(Unit(" | ".join(cells), "row"))

    def walk(self, node) -> None:
        from bs4 import NavigableString, Tag

        for child in node.children:
            if isinstance(child, Tag):
                name = child.name.lower()
                if name in DROP or child.has_attr("hidden"):
                    continue
                if name in HEADINGS:
                    self.flush()
                    self.units.append(Unit(_inline(child.get_text(" ")), "heading", min(int(name[1]), 3)))
                elif name == "br":
                    self.buf.append(_BR)
                elif name == "table":
                    self.flush()
                    self.table(child)
                elif name == "pre":
                    self.flush()
                    self.units.append(Unit(clean_block(child.get_text()), "pre"))
                elif name == "li":
                    self.flush()
                    self.kinds.append("item")
                    self.walk(child)
                    self.flush()
                    self.kinds.pop()
                elif name in BLOCKS:
                    self.flush()
                    self.walk(child)
                    self.flush()
                else:
                    self.walk(child)
            elif type(child) is NavigableString:  # skips comments, doctype, CDATA
                self.buf.append(str(child))


def load_html(path: str | Path, data: bytes) -> Parsed:
    from bs4 import BeautifulSoup

    path = str(path)
    text = decode_text(path, data, declared_charset(data))
    soup = BeautifulSoup(text, "html.parser")
    title = _inline(soup.title.get_text(" ")) if soup.title else ""
    walker = _Walker()
    walker.walk(soup.body or soup)
    walker.flush()
    page_text, headings = assemble(walker.units)
    if not page_text.strip():
        raise LoadError(path, "no text content (HTML has no visible text)")
    if not title:
        title = next((h.text for h in headings if h.level == 1), "")
    return Parsed(pages=[Page(number=1, text=page_text, headings=headings)], title=title)
