"""Build small PDFs with known layout for loader tests (PyMuPDF only, no fixtures files).

Every function writes a PDF to ``path`` and returns ``path``. Text is placed line by line
with ``insert_text`` so that tests know exactly where lines break, which column a
sentence is in and what font size each heading has. Fonts: "helv" (Helvetica) for body
text, "hebo" (Helvetica-Bold) for headings.
"""

from __future__ import annotations

from pathlib import Path

import pymupdf

A4 = (595, 842)
BODY = 11
LEADING = 1.35

LOREM = (
    "Human trafficking is a crime that exploits women, men and children for labour or sex. "
    "Victims are recruited with false promises of work, then controlled by debt, threats and isolation. "
    "Frontline staff who know the indicators can help victims reach services and report cases to the hotline."
)


def wrap(text: str, width: float, size: float = BODY, font: str = "helv") -> list[str]:
    """Greedy word wrap by measured width."""
    lines: list[str] = []
    cur = ""
    for word in text.split():
        trial = f"{cur} {word}".strip()
        if cur and pymupdf.get_text_length(trial, fontname=font, fontsize=size) > width:
            lines.append(cur)
            cur = word
        else:
            cur = trial
    if cur:
        lines.append(cur)
    return lines


def put_lines(page, x: float, y: float, lines: list[str], size: float = BODY, font: str = "helv") -> float:
    """Write ``lines`` from baseline ``y`` down; return the baseline after the last line."""
    for line in lines:
        page.insert_text((x, y), line, fontsize=size, fontname=font)
        y += size * LEADING
    return y


def put_para(page, x: float, y: float, width: float, text: str, size: float = BODY, font: str = "helv") -> float:
    """A wrapped paragraph followed by a blank line's worth of space."""
    return put_lines(page, x, y, wrap(text, width, size, font), size, font) + size * 0.8


def _save(doc, path: str | Path, **kw) -> Path:
    path = Path(path)
    doc.save(path, **kw)
    doc.close()
    return path


def multipage_pdf(path, texts: list[str], title: str | None = None) -> Path:
    """One page per entry of ``texts`` (empty string -> blank page)."""
    doc = pymupdf.open()
    for text in texts:
        page = doc.new_page(width=A4[0], height=A4[1])
        y = 72.0
        for para in [p for p in text.split("\n\n") if p.strip()]:
            y = put_para(page, 72, y, 450, para)
    if title is not None:
        doc.set_metadata({"title": title})
    return _save(doc, path)


def two_column_pdf(path, left: list[str], right: list[str], title: str = "Two Column Report") -> Path:
    """A full-width title over two columns; the columns' paragraph gaps line up on purpose."""
    doc = pymupdf.open()
    page = doc.new_page(width=A4[0], height=A4[1])
    put_lines(page, 72, 80, [title], size=20, font="hebo")
    col_w = 210
    for x, paras in ((72, left), (72 + col_w + 30, right)):
        y = 130.0
        for para in paras:
            y = put_para(page, x, y, col_w, para)
    put_lines(page, 72, 700, ["A closing note that spans the full width of the page below both columns."])
    return _save(doc, path)


def running_header_pdf(path, n_pages: int = 5, header: str = "Annual Trafficking Review 2023") -> Path:
    """Pages with a running header, a "Page N of M" footer and a bare page number."""
    doc = pymupdf.open()
    for i in range(n_pages):
        page = doc.new_page(width=A4[0], height=A4[1])
        put_lines(page, 72, 40, [header], size=9)
        put_para(page, 72, 120, 450, f"Section {i + 1} body. " + LOREM)
        put_lines(page, 72, 810, [f"Page {i + 1} of {n_pages}"], size=9)
        put_lines(page, 500, 810, [str(i + 1)], size=9)
    return _save(doc, path)


def hyphenation_pdf(path) -> Path:
    """Words broken across lines: "traf-/ficking" (join) and "faith-/based" (a real compound)."""
    doc = pymupdf.open()
    page = doc.new_page(width=A4[0], height=A4[1])
    y = put_lines(page, 72, 100, ["Labour exploitation and human traf-", "ficking are growing concerns across the region."])
    y = put_lines(page, 72, y + 10, ["Survivors were referred to a faith-based shelter run by volunteers."])
    put_lines(page, 72, y + 10, ["Another shelter, also faith-", "based, offered legal advice and housing."])
    return _save(doc, path)


def headings_pdf(path) -> Path:
    """Title (24pt bold, once), then per section: a 16pt bold head, a 13pt bold sub-head and
    a body-size (11pt) bold minor head, each followed by 11pt body text."""
    doc = pymupdf.open()
    page = doc.new_page(width=A4[0], height=A4[1])
    y = put_lines(page, 72, 80, ["Global Trafficking Report"], size=24, font="hebo") + 10
    for sec in ("Introduction", "Findings"):
        y = put_lines(page, 72, y, [sec], size=16, font="hebo") + 4
        y = put_para(page, 72, y, 450, LOREM)
        y = put_lines(page, 72, y, [f"Scope of {sec}"], size=13, font="hebo") + 3
        y = put_para(page, 72, y, 450, LOREM)
        y = put_lines(page, 72, y, [f"Key Points on {sec}"], size=BODY, font="hebo") + 2
        y = put_para(page, 72, y, 450, LOREM)
    return _save(doc, path)


def page_labels_pdf(path) -> Path:
    """Four pages labelled i, ii, 1, 2 (roman front matter, then arabic)."""
    words = ("Preface", "Foreword", "Introduction", "Method")
    doc = multipage_pdf_doc([f"{w} page. " + LOREM for w in words])
    doc.set_page_labels(
        [
            {"startpage": 0, "prefix": "", "style": "r", "firstpagenum": 1},
            {"startpage": 2, "prefix": "", "style": "D", "firstpagenum": 1},
        ]
    )
    return _save(doc, path)


def multipage_pdf_doc(texts: list[str]):
    doc = pymupdf.open()
    for text in texts:
        page = doc.new_page(width=A4[0], height=A4[1])
        put_para(page, 72, 72, 450, text)
    return doc


TABLE = [
    ("Region", "Victims", "Share"),
    ("West Africa", "4,712", "58%"),
    ("East Africa", "183", "22%"),
    ("North Africa", "772", "44%"),
]


def table_pdf(path, rows=TABLE) -> Path:
    """A paragraph, then a table whose cells are placed separately at fixed x positions."""
    doc = pymupdf.open()
    page = doc.new_page(width=A4[0], height=A4[1])
    y = put_para(page, 72, 90, 450, "Table 1 shows detected victims by region in 2022.")
    for i, row in enumerate(rows):
        for x, cell in zip((72, 260, 400), row):
            page.insert_text((x, y), cell, fontsize=10, fontname="hebo" if i == 0 else "helv")
        y += 18
    put_para(page, 72, y + 20, 450, "Most victims were detected in West Africa.")
    return _save(doc, path)


def image_only_pdf(path, n_pages: int = 2) -> Path:
    """Pages that hold only a picture: what a scan without OCR looks like."""
    doc = pymupdf.open()
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 64, 64), False)
    pix.set_rect(pix.irect, (200, 200, 200))
    for _ in range(n_pages):
        page = doc.new_page(width=A4[0], height=A4[1])
        page.insert_image(pymupdf.Rect(72, 72, 500, 700), pixmap=pix)
    return _save(doc, path)


def mixed_scan_pdf(path) -> Path:
    """Three pages: text, image only, text. Only the middle page lacks a text layer."""
    doc = pymupdf.open()
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 32, 32), False)
    pix.set_rect(pix.irect, (120, 120, 120))
    for i in range(3):
        page = doc.new_page(width=A4[0], height=A4[1])
        if i == 1:
            page.insert_image(pymupdf.Rect(72, 72, 500, 700), pixmap=pix)
        else:
            put_para(page, 72, 90, 450, f"Text page {i + 1}. " + LOREM)
    return _save(doc, path)


def encrypted_pdf(path, password: str = "secret") -> Path:
    """Text PDF that needs a user password to open."""
    doc = multipage_pdf_doc(["Confidential. " + LOREM])
    return _save(doc, path, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw=password, owner_pw=password + "-owner")


def rotated_landscape_pdf(path, rotation: int = 90) -> Path:
    """A portrait page stored with /Rotate and its text drawn turned back, so it displays as an
    upright landscape page (how many reports embed wide tables). Text runs vertically in the
    unrotated page space that PyMuPDF reports."""
    doc = pymupdf.open()
    page = doc.new_page(width=A4[0], height=A4[1])
    page.set_rotation(rotation)
    to_page = page.derotation_matrix  # displayed (landscape) coordinates -> unrotated page space
    lines = ["Landscape table page heading text", "first wrapped line of the landscape body", "second wrapped line of it."]
    y = 100.0
    for line in lines:
        page.insert_text(pymupdf.Point(72, y) * to_page, line, fontsize=BODY, rotate=rotation)
        y += BODY * LEADING
    return _save(doc, path)
