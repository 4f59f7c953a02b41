"""Reading order for one PDF page, from text-block geometry alone.

PyMuPDF hands us blocks in content-stream order, which for designed reports (two columns,
side boxes, tables drawn cell by cell) is often not reading order. We order the blocks by a
recursive XY-cut: split the page into horizontal bands at full-width white gaps, read bands
top to bottom, and split a band into columns at vertical white gaps, read left to right.
Two refinements make it work on real layouts:

* bands that merely continue the same columns (paragraph gaps that happen to line up in
  both columns) are merged back, so a column is read to its end before the next one;
* runs of single-line bands made of side-by-side cells are table rows: their cells are
  joined on one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .clean import BULLETS

MIN_COLUMN_GAP = 4.0  # points of white space that separate two columns / cells
CELL_GAP = 1.2  # gap (in font sizes) between two pieces of one baseline that makes them table cells


@dataclass
class Line:
    """One horizontal PyMuPDF line: cleaned text, dominant font size, all-bold flag."""

    x0: float
    y0: float
    x1: float
    y1: float
    text: str
    size: float
    bold: bool
    nchars: int
    soft_hyphen: bool = False  # the raw line ended with U+00AD


def is_marker(text: str) -> bool:
    """A bullet, list number or footnote letter printed apart from its text."""
    t = text.strip()
    return len(t) <= 3 and (t in BULLETS or t.rstrip(".)").isdigit() or (len(t) == 1 and t.isalpha()))


@dataclass
class Row:
    """Pieces of text sharing a baseline, left to right; ``table`` when they are separate cells."""

    cells: list[Line]
    text: str = ""
    table: bool = False
    size: float = 0.0
    bold: bool = False
    x0: float = 0.0
    y0: float = 0.0
    x1: float = 0.0
    y1: float = 0.0

    @classmethod
    def of(cls, cells: list[Line], force_table: bool = False) -> "Row":
        cells = sorted(cells, key=lambda c: c.x0)
        parts = [cells[0].text]
        table = False
        for k, (a, b) in enumerate(zip(cells, cells[1:])):
            gap = b.x0 - a.x1
            size = max(a.size, b.size)
            marker = k == 0 and gap < 3 * size and is_marker(a.text)  # "•", "1.", footnote "a"
            if not marker and (force_table or gap >= CELL_GAP * size):
                parts.append(" | ")
                table = True
            else:
                parts.append(" ")
            parts.append(b.text)
        if len(cells) == 1:
            size = cells[0].size
        else:
            sizes: dict[float, int] = {}
            for c in cells:
                sizes[c.size] = sizes.get(c.size, 0) + c.nchars
            size = max(sizes, key=sizes.__getitem__)
        return cls(
            cells=cells,
            text="".join(parts),
            table=table,
            size=size,
            bold=all(c.bold for c in cells),
            x0=min(c.x0 for c in cells),
            y0=min(c.y0 for c in cells),
            x1=max(c.x1 for c in cells),
            y1=max(c.y1 for c in cells),
        )

    @property
    def soft_hyphen(self) -> bool:
        return self.cells[-1].soft_hyphen


def group_rows(lines: list[Line]) -> list[Row]:
    """Group a block's lines into rows by vertical overlap (same baseline)."""
    if len(lines) == 1:
        return [Row.of(lines)]
    rows: list[list[Line]] = []
    top = bottom = 0.0
    for ln in sorted(lines, key=lambda l: ((l.y0 + l.y1) / 2, l.x0)):
        if rows and min(bottom, ln.y1) - max(top, ln.y0) >= 0.5 * min(bottom - top, ln.y1 - ln.y0):
            rows[-1].append(ln)
            top, bottom = min(top, ln.y0), max(bottom, ln.y1)
            continue
        rows.append([ln])
        top, bottom = ln.y0, ln.y1
    return [Row.of(r) for r in rows]


@dataclass
class Box:
    """A text block: its rows and bounding box."""

    rows: list[Row]
    x0: float = field(init=False)
    y0: float = field(init=False)
    x1: float = field(init=False)
    y1: float = field(init=False)

    weights: dict[float, int] = field(init=False)

    def __post_init__(self) -> None:
        rows = self.rows
        self.x0 = min(r.x0 for r in rows)
        self.y0 = min(r.y0 for r in rows)
        self.x1 = max(r.x1 for r in rows)
        self.y1 = max(r.y1 for r in rows)
        w: dict[float, int] = {}
        for r in rows:
            for cell in r.cells:
                w[cell.size] = w.get(cell.size, 0) + cell.nchars
        self.weights = w


def _dominant_size(boxes: list[Box]) -> float:
    c: dict[float, int] = {}
    for b in boxes:
        for k, v in b.weights.items():
            c[k] = c.get(k, 0) + v
    return max(c, key=c.__getitem__) if c else 0.0


def _shrunk(b: Box) -> tuple[float, float]:
    """Vertical extent minus a little: touching line boxes of adjacent blocks still separate."""
    s = min(1.5, 0.15 * (b.y1 - b.y0))
    return b.y0 + s, b.y1 - s


def split_y(boxes: list[Box]) -> list[list[Box]]:
    """Horizontal bands separated by white space across the whole region, top to bottom."""
    bands: list[list[Box]] = []
    bottom = float("-inf")
    for b in sorted(boxes, key=lambda b: _shrunk(b)[0]):
        top, low = _shrunk(b)
        if bands and top < bottom:
            bands[-1].append(b)
            bottom = max(bottom, low)
        else:
            bands.append([b])
            bottom = low
    return bands


def split_x(boxes: list[Box]) -> list[list[Box]]:
    """Columns separated by vertical white space, left to right."""
    cols: list[list[Box]] = []
    right = float("-inf")
    for b in sorted(boxes, key=lambda b: b.x0):
        if cols and b.x0 - right < MIN_COLUMN_GAP:
            cols[-1].append(b)
            right = max(right, b.x1)
        else:
            cols.append([b])
            right = b.x1
    return cols


@dataclass
class _Band:
    boxes: list[Box]
    size: float
    n_cols: int
    row_like: bool
    table_row: bool = False
    merged: bool = False

    @property
    def top(self) -> float:
        return min(b.y0 for b in self.boxes)

    @property
    def bottom(self) -> float:
        return max(b.y1 for b in self.boxes)


def _band(boxes: list[Box]) -> _Band:
    size = _dominant_size(boxes)
    n_cols = len(split_x(boxes))
    height = max(b.y1 for b in boxes) - min(b.y0 for b in boxes)
    row_like = n_cols >= 2 and all(len(b.rows) == 1 for b in boxes) and height <= 2.2 * max(size, 1.0)
    return _Band(boxes, size, n_cols, row_like)


def _mergeable(g: _Band, b: _Band) -> bool:
    """Does band ``b`` continue the columns of group ``g`` (rather than start a new section)?"""
    if g.table_row or b.table_row or (g.row_like and b.row_like):
        return False
    big = max(g.size, b.size, 1.0)
    if b.top - g.bottom > 2.5 * big or big / max(min(g.size, b.size), 0.1) > 1.15:
        return False
    return len(split_x(g.boxes + b.boxes)) >= 2


def _group_bands(bands: list[list[Box]]) -> list[_Band]:
    info = [_band(b) for b in bands]
    for i, b in enumerate(info):
        if b.row_like:
            near = (i > 0 and info[i - 1].row_like) or (i + 1 < len(info) and info[i + 1].row_like)
            b.table_row = b.n_cols >= 3 or near
    groups: list[_Band] = []
    for b in info:
        if groups and _mergeable(groups[-1], b):
            g = groups[-1]
            boxes = g.boxes + b.boxes
            groups[-1] = _Band(boxes, _dominant_size(boxes), g.n_cols, False, merged=True)
        else:
            groups.append(b)
    return groups


def _join_row(boxes: list[Box]) -> Box:
    cells = [c for b in boxes for r in b.rows for c in r.cells]
    return Box([Row.of(cells, force_table=True)])


def order_boxes(boxes: list[Box]) -> list[Box]:
    """Blocks of one page in reading order (table-row bands come back as one joined box)."""
    return _cut(boxes, try_y=True)


def _cut(boxes: list[Box], try_y: bool) -> list[Box]:
    if len(boxes) <= 1:
        return list(boxes)
    if try_y:
        bands = split_y(boxes)
        if len(bands) > 1:
            out: list[Box] = []
            for g in _group_bands(bands):
                if g.table_row:
                    out.append(_join_row(g.boxes))
                else:
                    out.extend(_cut(g.boxes, try_y=not g.merged))
            return out
    cols = split_x(boxes)
    if len(cols) > 1:
        return [b for c in cols for b in _cut(c, try_y=True)]
    if not try_y:  # a merged group without a common gutter after all: read its bands in turn
        return [b for band in split_y(boxes) for b in _cut(band, try_y=True)]
    if len(boxes) >= 3:
        # One block overlapping everything (a chart drawn with a huge font, a background
        # label) can hide the structure of the rest: order the others without it.
        big = max(boxes, key=lambda b: (b.x1 - b.x0) * (b.y1 - b.y0))
        others = [b for b in boxes if b is not big]
        if len(split_y(others)) > 1 or len(split_x(others)) > 1:
            ordered = _cut(others, try_y=True)
            return [big, *ordered] if big.y0 <= min(b.y0 for b in others) else [*ordered, big]
    return sorted(boxes, key=lambda b: (round(b.y0), b.x0))
