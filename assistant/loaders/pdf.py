"""PDF -> pages of clean text in reading order, with headings and printed page labels.

Pipeline (PyMuPDF, imported lazily):
1. every page's horizontal text lines with font size / boldness (``get_text("dict")``);
2. document-wide clean-up: running headers/footers (lines repeated in the top/bottom band of
   many pages, digits normalised) and bare page numbers are dropped;
3. per page: blocks ordered by ``pdf_layout.order_boxes`` (columns, tables), rows joined into
   paragraphs (end-of-line hyphenation undone), headings recognised by font size/weight
   relative to the body font, levels ranked across the document.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import LoadError
from ..records import Page
from .clean import BULLETS, clean_line, sensible_title
from .pdf_layout import Box, Line, Row, is_marker, group_rows, order_boxes
from .units import Parsed, Unit, assemble

log = logging.getLogger(__name__)

TRUNCATED = "truncated PDF (no %%EOF end marker; incomplete download?)"
ZONE = 0.12  # top/bottom share of the page where running headers/footers live
HEADING_RATIO = 1.15  # a heading is at least this much bigger than body text (or bold)
MAX_HEADING_WORDS = 20
_BOLD_FONT = re.compile(r"bold|black|heavy|semibold|demi", re.I)
_PAGE_NUMBER = re.compile(
    r"^(page\s*)?(\d{1,4}|(?=[mdclxvi])m*(c[md]|d?c{0,3})(x[cl]|l?x{0,3})(i[xv]|v?i{0,3}))(\s*(of|/)\s*\d{1,4})?$",
    re.I,
)
_LIST_START = re.compile(r"^(\(?\d{1,2}[.)]|\(?[a-z][.)]|[" + BULLETS + r"*–-])\s")
_URL_END = re.compile(r"(https?://|www\.)\S*[./_-]$")
_OPENERS = "\"'“‘([«"
_TERMINAL = re.compile(r"[.!?:;][\"'”’)\]]*$")
_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*")


@dataclass
class _Para:
    kind: str  # para | item | row
    rows: list[Row] = field(default_factory=list)
    text: str = ""


# ---------------------------------------------------------------- opening


def _open(path: str, data: bytes):
    import pymupdf

    if b"%PDF" not in data[:1024]:
        raise LoadError(path, "not a PDF (no %PDF header); wrong extension or corrupt file")
    truncated = b"%%EOF" not in data[-2048:]
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as e:  # MuPDF raises FileDataError / RuntimeError variants
        raise LoadError(path, TRUNCATED if truncated else f"corrupt PDF ({_short(e)})") from None
    problem = ""
    if doc.needs_pass:
        problem = "encrypted PDF (password required); save an unencrypted copy first"
    elif doc.page_count == 0:
        problem = TRUNCATED if truncated else "corrupt PDF (no pages)"
    elif doc.is_repaired and truncated:  # MuPDF rebuilt a missing xref: the tail of the file is gone
        problem = TRUNCATED
    if problem:
        doc.close()
        raise LoadError(path, problem)
    return doc


def _short(e: Exception) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return msg[:120]


# ---------------------------------------------------------------- extraction


def _reading_direction(blocks: list[dict]) -> tuple[int, int]:
    """The axis most of the page's text runs along: (1, 0) normally; (0, -1) or (0, 1) on a
    landscape page stored as a rotated portrait page."""
    votes: Counter[tuple[int, int]] = Counter()
    for b in blocks:
        for ln in b.get("lines", ()):
            dx, dy = ln["dir"]
            if abs(dx) > 0.98 or abs(dy) > 0.98:
                votes[(round(dx), round(dy))] += sum(len(s["text"]) for s in ln["spans"])
    return votes.most_common(1)[0][0] if votes else (1, 0)


def _page_blocks(page, flags: int) -> tuple[list[list[Line]], float]:
    """Text lines along the page's reading direction, grouped by PyMuPDF block, with the
    page height in the same (possibly rotated) coordinates. Text at other angles (margin
    labels, rotated chart axes) is left out."""
    blocks: list[list[Line]] = []
    raw_blocks = [b for b in page.get_text("dict", flags=flags)["blocks"] if b.get("type", 0) == 0]
    dx, dy = _reading_direction(raw_blocks)
    # unrotated page space (where PyMuPDF reports text), turned so that reading runs along +x
    area = page.rect * page.derotation_matrix if page.rotation else page.rect

    def turn(x: float, y: float) -> tuple[float, float]:
        return x * dx + y * dy, y * dx - x * dy

    corners = [turn(x, y) for x, y in ((area.x0, area.y0), (area.x1, area.y1))]
    ox, oy = min(c[0] for c in corners), min(c[1] for c in corners)
    height = abs(corners[1][1] - corners[0][1])
    for b in raw_blocks:
        lines: list[Line] = []
        for ln in b["lines"]:
            ldx, ldy = ln["dir"]
            if abs(ldx - dx) > 0.02 or abs(ldy - dy) > 0.02:
                continue
            spans = [s for s in ln["spans"] if s["text"].strip()]
            if not spans:
                continue
            raw = "".join(s["text"] for s in ln["spans"])
            text = clean_line(raw)
            if not text:
                continue
            sizes: Counter[float] = Counter()
            bold = True
            for s in spans:
                n = len(s["text"].strip())
                if not s["flags"] & 1:  # superscripts (footnote marks) don't set the line's size
                    sizes[round(s["size"] * 2) / 2] += n
                if not (s["flags"] & 16 or _BOLD_FONT.search(s["font"])):
                    bold = False
            if not sizes:
                sizes[round(spans[0]["size"] * 2) / 2] += 1
            x0, y0, x1, y1 = ln["bbox"]
            if (dx, dy) != (1, 0):
                (ax, ay), (bx, by) = turn(x0, y0), turn(x1, y1)
                x0, x1 = sorted((ax - ox, bx - ox))
                y0, y1 = sorted((ay - oy, by - oy))
            lines.append(
                Line(x0, y0, x1, y1, text, sizes.most_common(1)[0][0], bold, sum(sizes.values()),
                     raw.rstrip(" ").endswith("\u00ad"))
            )
        if lines:
            blocks.append(lines)
    return blocks, height


def _remove_running_lines(pages: list[list[list[Line]]], heights: list[float]) -> None:
    """Drop headers/footers repeated across pages, and bare page numbers, in place."""
    n = len(pages)

    def zone(ln: Line, h: float) -> str:
        if ln.y1 <= ZONE * h:
            return "top"
        if ln.y0 >= (1 - ZONE) * h:
            return "bottom"
        return ""

    def key(text: str) -> str:
        return re.sub(r"\d+", "#", " ".join(text.lower().split()))

    seen: dict[tuple[str, str], set[int]] = defaultdict(set)
    for i, blocks in enumerate(pages):
        for lines in blocks:
            for ln in lines:
                z = zone(ln, heights[i])
                if z:
                    seen[(z, key(ln.text))].add(i)
    threshold = max(3, math.ceil(0.2 * n))
    running = {k for k, v in seen.items() if len(v) >= threshold}
    for i, blocks in enumerate(pages):
        drop: set[int] = set()
        numbers: list[Line] = []
        for lines in blocks:
            for ln in lines:
                z = zone(ln, heights[i])
                if not z:
                    continue
                k = key(ln.text)
                if any(c.isalpha() for c in k) and (z, k) in running:
                    drop.add(id(ln))
                elif _PAGE_NUMBER.match(ln.text.strip()) or not any(c.isalpha() for c in k):
                    numbers.append(ln)
        rest = [ln for lines in blocks for ln in lines if id(ln) not in drop]
        for ln in numbers:
            # A page number stands alone on its baseline (or beside one other number, "Page 3 of 9"
            # + "3"); a number in a table row or a footnote mark has other text beside it.
            mates = [o for o in rest if o is not ln and min(o.y1, ln.y1) - max(o.y0, ln.y0) > 0.3 * (ln.y1 - ln.y0)]
            if not mates or (len(mates) == 1 and mates[0] in numbers):
                drop.add(id(ln))
        if drop:
            blocks[:] = [kept for lines in blocks if (kept := [ln for ln in lines if id(ln) not in drop])]


# ---------------------------------------------------------------- paragraphs


class _Joiner:
    """Joins wrapped lines; decides whether an end-of-line hyphen belongs to the word."""

    def __init__(self, words: set[str], hyphenated: set[str]):
        self.words = words
        self.hyphenated = hyphenated

    def join(self, prev: str, nxt: str, soft: bool = False) -> str:
        if not prev:
            return nxt
        if soft:
            return prev + nxt
        if _URL_END.search(prev) and (nxt[:1].islower() or nxt[:1].isdigit() or nxt[:1] == "/"):
            return prev + nxt  # a URL wrapped at "." or "/"
        if len(prev) >= 2 and prev[-1] == "-" and prev[-2].isalpha() and nxt[:1].isalnum():
            if not nxt[0].islower():  # "COVID-" + "19", "anti-" + "Trafficking": a real hyphen
                return prev + nxt
            head = re.search(r"[A-Za-z]+-$", prev)
            tail = re.match(r"[a-z]+", nxt)
            if head and tail:
                a, b = head.group(0)[:-1].lower(), tail.group(0)
                if f"{a}-{b}" in self.hyphenated and f"{a}{b}" not in self.words:
                    return prev + nxt  # "faith-" + "based": the hyphen is part of the word
            return prev[:-1] + nxt
        return prev + " " + nxt


def _starts_item(row: Row) -> bool:
    """A bullet or list number, or a footnote mark printed apart from its note."""
    return bool(_LIST_START.match(row.text)) or (len(row.cells) > 1 and is_marker(row.cells[0].text))


def _lower_start(text: str) -> bool:
    return text.lstrip(_OPENERS)[:1].islower()


def _continues_heading(cur: _Para, row: Row, styled) -> bool:
    """A big-font title broken over several blocks: same style, just below, overlapping."""
    last = cur.rows[-1]
    if not (styled(last) and styled(row) and last.bold == row.bold and cur.kind == "para"):
        return False
    if max(last.size, row.size) / min(last.size, row.size) > 1.05:
        return False
    if row.y0 - last.y1 > 0.8 * row.size or row.y1 <= last.y1:
        return False
    if min(last.x1, row.x1) - max(last.x0, row.x0) <= 0:
        return False
    return len(cur.text.split()) + len(row.text.split()) <= MAX_HEADING_WORDS


def _paragraphs(boxes: list[Box], joiner: _Joiner, heading_size: float) -> list[_Para]:
    """Rows of ordered boxes -> paragraphs, list items and table rows."""
    paras: list[_Para] = []

    def styled(row: Row) -> bool:
        return row.size >= heading_size

    for box in boxes:
        for i, row in enumerate(box.rows):
            cur = paras[-1] if paras else None
            if row.table:
                paras.append(_Para("row", [row], row.text))
                continue
            new = True
            if cur is not None and cur.kind != "row":
                last = cur.rows[-1]
                same_size = max(last.size, row.size) / max(min(last.size, row.size), 0.1) <= 1.1
                if i == 0:  # first row of a block: continues only a sentence or a multi-line heading
                    new = not (
                        (same_size and not styled(last) and not _TERMINAL.search(cur.text) and _lower_start(row.text))
                        or _continues_heading(cur, row, styled)
                    )
                else:
                    gap = row.y0 - last.y1
                    new = (
                        gap > 0.6 * max(row.size, last.size)
                        or not same_size
                        or _starts_item(row)
                        or (
                            not styled(last)  # a bold run-in heading at body size, then its paragraph
                            and all(r.bold for r in cur.rows)
                            and not row.bold
                            and not row.text[:1].islower()
                        )
                    )
            if new:
                kind = "item" if _starts_item(row) else "para"
                paras.append(_Para(kind, [row], row.text))
            else:
                cur.text = joiner.join(cur.text, row.text, cur.rows[-1].soft_hyphen)
                cur.rows.append(row)
    return paras


def _heading_size(p: _Para, body: float, bold_body: bool = False) -> float | None:
    """Font size of ``p`` when it looks like a heading, else None."""
    if p.kind != "para":
        return None
    text = p.text
    words = text.split()
    if not words or len(words) > MAX_HEADING_WORDS or sum(c.isalpha() for c in text) < 2:
        return None
    if text[0].islower() or text.endswith(("-", ",")) or (len(words) == 1 and text.endswith(":")):
        return None
    visible = sum(not c.isspace() for c in text)
    if sum(c.isalpha() for c in text) < 0.6 * visible:  # chart values, "37+16+31+16+ No Work 16%"
        return None
    size = max(r.size for r in p.rows)
    if all(r.size >= HEADING_RATIO * body for r in p.rows):
        return size
    if bold_body:  # bold is the norm in this document: only size marks a heading
        return None
    if all(r.bold and r.size >= 0.95 * body for r in p.rows) and not text.endswith(".") and len(words) <= 15:
        return size
    return None


def _levels(sizes: list[float]) -> dict[float, int]:
    """Heading sizes -> level 1..3.

    Sizes within 8% of each other form one style. Styles used often enough to be the
    document's real heading hierarchy are ranked 1, 2, 3 from the biggest; rare styles (a
    cover title, a one-off callout) get level 1 when bigger than every main style, else one
    level below the nearest bigger main style.
    """
    clusters: list[list[float]] = []
    counts: list[int] = []
    freq = Counter(sizes)
    for s in sorted(freq, reverse=True):
        if clusters and clusters[-1][0] / s <= 1.08:
            clusters[-1].append(s)
            counts[-1] += freq[s]
        else:
            clusters.append([s])
            counts.append(freq[s])
    if not clusters:
        return {}
    floor = max(2, 0.25 * max(counts))
    main = [i for i, n in enumerate(counts) if n >= floor] or list(range(len(clusters)))
    rank = {ci: min(r + 1, 3) for r, ci in enumerate(main)}
    levels: dict[float, int] = {}
    for ci, members in enumerate(clusters):
        if ci in rank:
            level = rank[ci]
        else:
            bigger = [m for m in main if m < ci]
            level = min(rank[bigger[-1]] + 1, 3) if bigger else 1
        for s in members:
            levels[s] = level
    return levels


# ---------------------------------------------------------------- labels & title


def _labels(doc) -> list[str]:
    if not doc.get_page_labels():
        return [""] * doc.page_count
    return [_fix_label(p.get_label()) for p in doc]


def _fix_label(label: str) -> str:
    """PyMuPDF returns a UTF-16 prefix as ``<FEFF0043>``; decode it to ``C``."""

    def dec(m: re.Match) -> str:
        raw = bytes.fromhex(m.group(1))
        return raw.decode("utf-16") if raw[:2] in (b"\xfe\xff", b"\xff\xfe") else raw.decode("latin-1")

    try:
        return re.sub(r"<((?:[0-9A-Fa-f]{2})+)>", dec, label or "")
    except (ValueError, UnicodeDecodeError):
        return label or ""


def _extract(path: str, doc) -> tuple[list[list[list[Line]]], list[float]]:
    import pymupdf

    flags = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP  # ligatures get expanded
    pages: list[list[list[Line]]] = []
    heights: list[float] = []
    failed = 0
    for page in doc:
        try:
            blocks, height = _page_blocks(page, flags)
        except Exception as e:  # one damaged page should not sink the document
            log.warning("%s: page %d unreadable (%s)", path, page.number + 1, _short(e))
            blocks, height = [], page.rect.height
            failed += 1
        pages.append(blocks)
        heights.append(height)
    if failed == len(pages):
        raise LoadError(path, "corrupt PDF (no page could be read)")
    return pages, heights


# ---------------------------------------------------------------- entry point


def load_pdf(path: str | Path, data: bytes) -> Parsed:
    import pymupdf

    path = str(path)
    shown = pymupdf.TOOLS.mupdf_display_errors()
    pymupdf.TOOLS.mupdf_display_errors(False)  # damage is reported by our LoadError, not stderr noise
    try:
        doc = _open(path, data)
        try:
            raw_pages, heights = _extract(path, doc)
            labels = _labels(doc)
            meta_title = sensible_title((doc.metadata or {}).get("title"))
        finally:
            doc.close()
    finally:
        pymupdf.TOOLS.mupdf_display_errors(shown)

    all_lines = [ln for blocks in raw_pages for lines in blocks for ln in lines]
    if not any(any(ch.isalnum() for ch in ln.text) for ln in all_lines):
        raise LoadError(path, "no extractable text (scanned/image-only?); OCR it first")
    sizes: Counter[float] = Counter()
    for ln in all_lines:
        sizes[ln.size] += ln.nchars
    body = sizes.most_common(1)[0][0]
    body_chars = [ln for ln in all_lines if ln.size == body]
    bold_body = sum(ln.nchars for ln in body_chars if ln.bold) > 0.5 * sum(ln.nchars for ln in body_chars)
    corpus = "\n".join(ln.text for ln in all_lines).lower()
    joiner = _Joiner(set(_WORD.findall(corpus.replace("-", " "))), {w for w in _WORD.findall(corpus) if "-" in w})

    _remove_running_lines(raw_pages, heights)

    page_paras: list[list[_Para]] = []
    heading_sizes: list[float] = []
    for blocks in raw_pages:
        boxes = [Box(group_rows(lines)) for lines in blocks]
        paras = _paragraphs(order_boxes(boxes), joiner, HEADING_RATIO * body)
        page_paras.append(paras)
        heading_sizes += [s for p in paras if (s := _heading_size(p, body, bold_body)) is not None]
    levels = _levels(heading_sizes)

    pages: list[Page] = []
    cover: tuple[float, str] = (0.0, "")  # biggest heading on page 1: the title on a cover
    first_h1 = ""
    for number, paras in enumerate(page_paras, start=1):
        units = []
        for p in paras:
            hs = _heading_size(p, body, bold_body)
            if hs is not None:
                units.append(Unit(p.text, "heading", levels[hs]))
                if number == 1 and hs > cover[0]:
                    cover = (hs, p.text)
                if not first_h1 and levels[hs] == 1:
                    first_h1 = p.text
            else:
                units.append(Unit(p.text, p.kind))
        text, headings = assemble(units)
        pages.append(Page(number=number, text=text, label=labels[number - 1], headings=headings))
    if not any(p.text for p in pages):
        raise LoadError(path, "no extractable text (scanned/image-only?); OCR it first")
    return Parsed(pages=pages, title=meta_title or cover[1] or first_h1)
