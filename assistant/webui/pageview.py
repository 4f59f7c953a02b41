"""Render a PDF page as a PNG with the cited passage outlined, so a reader can check it.

The supporting sentence is located with PyMuPDF's text search; when the extracted text
does not match the page's text layer closely enough (hyphenation, ligatures), shorter
probes are tried: the sentence's first words, then the passage's first words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

DPI = 110
_OUTLINE = (0.86, 0.1, 0.1)
_FILL = (1.0, 0.92, 0.3)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


@dataclass
class PageImage:
    png: bytes
    page: int  # physical 1-based page number
    found: bool  # False when the passage could not be located (page shown unmarked)
    probe: str  # the text that was searched for and outlined
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)  # outlines, as page fractions


def _words(text: str, n: int) -> str:
    return " ".join((text or "").split()[:n])


def probes(sentence: str, passage: str) -> list[str]:
    """Search strings, best first: the whole sentence, its opening, the passage's opening."""
    out: list[str] = []
    for cand in (
        " ".join((sentence or "").split()),
        _words(sentence, 12),
        _words(sentence, 6),
        _words(passage, 12),
        _words(passage, 6),
        _words(passage, 3),
    ):
        cand = cand.strip(" .,;:")
        if len(cand) >= 8 and cand not in out:
            out.append(cand)
    return out


def _search(page, probe: str) -> list:
    try:
        rects = page.search_for(probe)
    except Exception:  # a malformed text layer must not break the viewer
        return []
    if not rects:
        # Extraction may have joined a hyphenated word at a line end: retry without the last word.
        short = re.sub(r"\S+$", "", probe).strip()
        if len(short) >= 8 and short != probe:
            rects = page.search_for(short)
    return rects


def locate(page, sentence: str, passage: str):
    """Rectangles of the supporting text on ``page`` and the text that was found.

    A span of several sentences is searched sentence by sentence (each may sit in its own
    paragraph or column); when none is found, shorter probes and the passage's opening are tried.
    """
    parts = [p for p in _SENTENCE_END.split(" ".join((sentence or "").split())) if len(p) >= 8]
    if len(parts) > 1:
        rects, found = [], []
        for part in parts:
            got = _search(page, part.strip())
            if got:
                rects += got
                found.append(part)
        if rects:
            return rects, " ".join(found)
    for probe in probes(sentence, passage):
        rects = _search(page, probe)
        if rects:
            return rects, probe
    return [], ""


def render_page(path: str | Path, page: int, sentence: str = "", passage: str = "", dpi: int = DPI) -> PageImage:
    """PNG of physical page ``page`` (1-based) of the PDF at ``path``, the passage outlined.

    Raises ``ValueError`` for a page outside the document and ``FileNotFoundError`` when
    the file is gone (the UI shows both as a one-line message).
    """
    import pymupdf

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found (moved or deleted since it was ingested)")
    with pymupdf.open(path) as doc:
        if not 1 <= int(page) <= doc.page_count:
            raise ValueError(f"{path.name}: page {page} is outside 1..{doc.page_count}")
        pg = doc[int(page) - 1]
        rects, probe = locate(pg, sentence, passage)
        for r in rects:
            box = r + (-2, -2, 2, 2)
            annot = pg.add_highlight_annot(r)  # translucent marker under the words
            annot.set_colors(stroke=_FILL)
            annot.update()
            pg.draw_rect(box, color=_OUTLINE, width=1.6)
        pix = pg.get_pixmap(dpi=dpi, annots=True)
        w, h = pg.rect.width or 1, pg.rect.height or 1
        boxes = [(r.x0 / w, r.y0 / h, r.x1 / w, r.y1 / h) for r in rects]
        return PageImage(png=pix.tobytes("png"), page=int(page), found=bool(rects), probe=probe, boxes=boxes)


def is_pdf(path: str | Path) -> bool:
    return str(path).lower().endswith(".pdf")
