"""DOCX -> one page: paragraphs in body order, Heading/Title styles as headings, table rows as lines."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from ..errors import LoadError
from ..records import Page
from .clean import clean_line, sensible_title
from .units import Parsed, Unit, assemble

_HEADING_STYLE = re.compile(r"^heading\s*(\d)", re.I)
_OLE = b"\xd0\xcf\x11\xe0"


def _open(path: str, data: bytes):
    import docx

    if data.startswith(_OLE):
        raise LoadError(path, "not a DOCX (legacy .doc or password-protected Office file); save it as .docx")
    if not data.startswith(b"PK\x03\x04"):
        raise LoadError(path, "not a DOCX (not a ZIP/Office Open XML file); wrong extension or corrupt file")
    try:
        return docx.Document(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise LoadError(path, "corrupt DOCX (damaged or truncated ZIP archive)") from None
    except Exception as e:  # PackageNotFoundError, KeyError for missing parts, XML syntax errors
        raise LoadError(path, f"corrupt DOCX ({type(e).__name__}: {str(e)[:100]})") from None


def _blocks(container):
    """Paragraphs and tables of a body in document order (content controls unwrapped)."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for el in container._element.iterchildren():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag == "p":
            yield Paragraph(el, container)
        elif tag == "tbl":
            yield Table(el, container)
        elif tag == "sdt":
            content = el.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}sdtContent")
            if content is not None:
                for sub in content.iterchildren():
                    sub_tag = sub.tag.rsplit("}", 1)[-1]
                    if sub_tag == "p":
                        yield Paragraph(sub, container)
                    elif sub_tag == "tbl":
                        yield Table(sub, container)


def _row_text(row) -> str:
    cells, seen = [], set()
    for cell in row.cells:  # merged cells repeat the same cell object
        if id(cell._tc) in seen:
            continue
        seen.add(id(cell._tc))
        text = clean_line(" ".join(cell.text.split()))
        if text:
            cells.append(text)
    return " | ".join(cells)


def load_docx(path: str | Path, data: bytes) -> Parsed:
    from docx.table import Table

    path = str(path)
    document = _open(path, data)
    units: list[Unit] = []
    style_title = ""
    try:
        for block in _blocks(document._body):
            if isinstance(block, Table):
                units += [Unit(t, "row") for row in block.rows if (t := _row_text(row))]
                continue
            text = clean_line(block.text.replace("\n", " ").replace("\t", " "))
            if not text:
                continue
            style = (block.style.name if block.style is not None else "") or ""
            m = _HEADING_STYLE.match(style)
            if style.lower() == "title":
                style_title = style_title or text
                units.append(Unit(text, "heading", 1))
            elif m:
                units.append(Unit(text, "heading", min(int(m.group(1)) or 1, 3)))
            elif style.lower().startswith("list") or block._p.pPr is not None and block._p.pPr.numPr is not None:
                units.append(Unit(text, "item"))
            else:
                units.append(Unit(text, "para"))
    except LoadError:
        raise
    except Exception as e:
        raise LoadError(path, f"corrupt DOCX ({type(e).__name__}: {str(e)[:100]})") from None
    text, headings = assemble(units)
    if not text.strip():
        raise LoadError(path, "no text content (DOCX has no text)")
    title = sensible_title(document.core_properties.title) or style_title
    title = title or next((h.text for h in headings if h.level == 1), "")
    return Parsed(pages=[Page(number=1, text=text, headings=headings)], title=title)
