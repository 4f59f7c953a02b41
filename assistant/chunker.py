"""Sentence-aware chunking that keeps every chunk citable to one page and one section.

Rules (``Settings``: ``chunk_target_tokens`` T=200, ``chunk_max_tokens`` M=250,
``chunk_overlap_sentences`` k=1; tokens are the embedding model's word pieces):

* Units are sentences (``split_sentences``) of one page. Heading offsets (``Page.headings``)
  and the end of the heading's own text are extra sentence boundaries. A sentence longer
  than M is the only thing ever cut: into near-equal pieces at word boundaries (a single
  "word" longer than that, such as dot leaders or a long URL, at token boundaries).
* Chunks never span two sections: each heading starts a new chunk. A heading directly
  followed by another heading on the same page (``Chapter 2`` then ``Overview``) is
  kept with the deeper section rather than left as a chunk of its own.
* Units are packed greedily up to T; a chunk may grow up to M when that swallows the rest
  of its section on the page (no tiny tail) or when it is still under T/2.
* Consecutive chunks on the same page and section share k sentences of overlap, when
  those sentences total at most T/2 tokens and still leave room for the next sentence.
* Chunks are per page (``page_start == page_end``) so a citation's page is exact. Only
  exception: when the last chunk of a page is shorter than ``PAGE_TAIL_TOKENS`` and the
  next page continues the same section, it is carried into the first chunk of that page
  if the result stays within M (then ``page_end`` is the next page and the text is the
  two page parts joined by "\\n"). A carried chunk is never carried again.
* Pages and chunks with fewer than 3 word characters (page numbers, rules) are dropped.

Chunk ids are ``{doc_id}-{index:05d}-{sha1(text)[:10]}``: deterministic, and any change of
text or position gives a new id.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass

from .config import Settings
from .records import Chunk, Document, Heading, Page
from .sentences import split_sentences
from .tokens import count_tokens, get_tokenizer, token_spans

__all__ = ["chunk_document", "split_sentences", "PAGE_TAIL_TOKENS"]

PAGE_TAIL_TOKENS = 40
_WORD = re.compile(r"\S+")
_THREE_WORD_CHARS = re.compile(r"\W*\w\W*\w\W*\w")


@dataclass
class _Unit:
    """A sentence (or a piece of an over-long one) on one page, in one section."""

    page: int  # index into doc.pages
    start: int
    end: int
    tokens: int
    section: int  # id of the section run it belongs to
    exact: bool = True  # False for pieces cut inside a word, whose counts do not add up


def chunk_document(doc: Document, settings: Settings | None = None) -> list[Chunk]:
    """Split ``doc`` into citable chunks (see the module docstring for the rules)."""
    settings = settings or Settings()
    maximum = max(8, settings.chunk_max_tokens)
    target = max(4, min(settings.chunk_target_tokens, maximum))
    model = settings.embedding_model

    units, sections = _sentence_units(doc.pages)
    counts = count_tokens((doc.pages[u.page].text[u.start : u.end] for u in units), model)
    for u, n in zip(units, counts):
        u.tokens = n
    units = [p for u in units for p in _split_long(doc.pages[u.page].text, u, target, maximum, model)]

    groups = _pack_document(units, len(doc.pages), target, maximum, settings.chunk_overlap_sentences)
    return _make_chunks(doc, groups, sections, model)


# --- sentences and sections -------------------------------------------------------------


def _sentence_units(pages: list[Page]) -> tuple[list[_Unit], list[str]]:
    """Sentence units of all pages, and the section path of every section id."""
    units: list[_Unit] = []
    names = [""]  # section id 0: before the first heading
    stack: list[Heading] = []
    for pi, page in enumerate(pages):
        text = page.text or ""
        if not _THREE_WORD_CHARS.match(text):  # blank, or only a page number / rules
            continue
        # segment starts: (offset, section id, end of the heading's own text or None)
        bounds: list[tuple[int, int, int | None]] = [(0, len(names) - 1, None)]
        for h in sorted(page.headings, key=lambda h: h.offset):
            while stack and stack[-1].level >= h.level:
                stack.pop()
            stack.append(h)
            names.append(" > ".join(" ".join(x.text.split()) for x in stack))
            off = min(max(h.offset, 0), len(text))
            bounds.append((off, len(names) - 1, _heading_end(text, off, h.text)))
        seg_units: list[list[_Unit]] = []
        for i, (start, sec, head_end) in enumerate(bounds):
            end = bounds[i + 1][0] if i + 1 < len(bounds) else len(text)
            cuts = [start, end] if head_end is None or not start < head_end < end else [start, head_end, end]
            seg = []
            for a, b in zip(cuts, cuts[1:]):
                seg += [_Unit(pi, a + s, a + e, 0, sec) for s, e in split_sentences(text[a:b])]
            seg_units.append(seg)
        # a heading with nothing under it on this page joins the next section on the page
        for i in range(len(seg_units) - 2, 0, -1):
            nxt = next((s for s in seg_units[i + 1 :] if s), None)
            if nxt and _only_heading(seg_units[i], bounds[i][2]):
                for u in seg_units[i]:
                    u.section = nxt[0].section
        units += [u for seg in seg_units for u in seg]
    return units, names


def _heading_end(text: str, offset: int, heading: str) -> int | None:
    """End of the heading's own text at ``offset`` (whitespace-insensitive), if it is there."""
    words = heading.split()
    if not words:
        return None
    m = re.compile(r"\s+".join(map(re.escape, words))).match(text, offset)
    return m.end() if m else None


def _only_heading(seg: list[_Unit], head_end: int | None) -> bool:
    """Whether the segment holds nothing but its heading."""
    return bool(seg) and head_end is not None and seg[-1].end <= head_end


# --- over-long sentences ----------------------------------------------------------------


def _split_long(text: str, u: _Unit, target: int, maximum: int, model: str) -> list[_Unit]:
    """Cut a sentence longer than ``maximum`` into near-equal pieces at word boundaries."""
    if u.tokens <= maximum:
        return [u]
    limit = min(maximum, math.ceil(u.tokens / math.ceil(u.tokens / target) * 1.1))
    words = [(u.start + a, u.start + b) for a, b in (m.span() for m in _WORD.finditer(text[u.start : u.end]))]
    costs = count_tokens((text[a:b] for a, b in words), model)
    spans: list[tuple[int, int, int, bool]] = []  # (start, end, tokens, exact) of words
    for (a, b), c in zip(words, costs):
        if c > limit:  # one "word" longer than a chunk (dot leaders, URLs): cut at token offsets
            spans += [(s, e, n, False) for s, e, n in _cut_word(text, a, b, limit // 2, model)]
        else:
            spans.append((a, b, c, True))
    pieces: list[_Unit] = []
    cur: _Unit | None = None
    for a, b, c, exact in spans:
        if cur is not None and cur.tokens + c <= limit:
            cur.end, cur.tokens, cur.exact = b, cur.tokens + c, cur.exact and exact
        else:
            if cur is not None:
                pieces.append(cur)
            cur = _Unit(u.page, a, b, c, u.section, exact)
    if cur is not None:
        pieces.append(cur)
    return pieces


def _cut_word(text: str, a: int, b: int, per_piece: int, model: str) -> list[tuple[int, int, int]]:
    offs = token_spans(text[a:b], model)
    out = []
    per_piece = max(1, per_piece)
    for i in range(0, len(offs), per_piece):
        part = offs[i : i + per_piece]
        out.append((a + part[0][0], a + part[-1][1], len(part)))
    # make the pieces contiguous so no character is lost between them
    return [(s if i == 0 else out[i - 1][1], e if i < len(out) - 1 else b, n) for i, (s, e, n) in enumerate(out)]


# --- packing ----------------------------------------------------------------------------


def _pack_document(units: list[_Unit], n_pages: int, target: int, maximum: int, overlap: int) -> list[list[_Unit]]:
    by_page: list[list[_Unit]] = [[] for _ in range(n_pages)]
    for u in units:
        by_page[u.page].append(u)
    out: list[list[_Unit]] = []
    carry: list[_Unit] = []
    for pi, page_units in enumerate(by_page):
        if not page_units:
            continue
        if carry and (carry[-1].section != page_units[0].section or carry[-1].page != pi - 1):
            out.append(carry)
            carry = []
        page_chunks: list[list[_Unit]] = []
        for gi, group in enumerate(_runs(page_units)):
            page_chunks += _pack(group, carry if gi == 0 else [], target, maximum, overlap)
        carry = []
        last = page_chunks[-1]
        if sum(u.tokens for u in last) < PAGE_TAIL_TOKENS and all(u.page == pi for u in last):
            carry = page_chunks.pop()
        out += page_chunks
    if carry:
        out.append(carry)
    return out


def _runs(units: list[_Unit]) -> list[list[_Unit]]:
    """Consecutive units of the same section."""
    runs: list[list[_Unit]] = []
    for u in units:
        if runs and runs[-1][-1].section == u.section:
            runs[-1].append(u)
        else:
            runs.append([u])
    return runs


def _pack(units: list[_Unit], prefix: list[_Unit], target: int, maximum: int, overlap: int) -> list[list[_Unit]]:
    """Greedy packing of one section run of one page (``prefix``: units carried from the page before)."""
    rest = [0] * (len(units) + 1)  # tokens from unit i to the end
    for i in range(len(units) - 1, -1, -1):
        rest[i] = rest[i + 1] + units[i].tokens
    chunks: list[list[_Unit]] = []
    cur = list(prefix)
    cur_tok = sum(u.tokens for u in cur)
    for i, u in enumerate(units):
        new_tok = cur_tok + u.tokens
        if not cur or new_tok <= target or cur_tok + rest[i] <= maximum or (cur_tok < target // 2 and new_tok <= maximum):
            cur.append(u)
            cur_tok = new_tok
            continue
        chunks.append(cur)
        ov = cur[-overlap:] if overlap > 0 else []
        ov_tok = sum(x.tokens for x in ov)
        if not ov or ov_tok > target // 2 or ov_tok + u.tokens > maximum or any(x.page != u.page for x in ov):
            ov, ov_tok = [], 0
        cur = ov + [u]
        cur_tok = ov_tok + u.tokens
    if cur:
        chunks.append(cur)
    return chunks


# --- records ----------------------------------------------------------------------------


def _make_chunks(doc: Document, groups: list[list[_Unit]], sections: list[str], model: str) -> list[Chunk]:
    pieces = []
    for g in groups:
        p0, p1 = g[0].page, g[-1].page
        t0 = doc.pages[p0].text
        brk = -1
        if p0 == p1:
            text, start, end = t0[g[0].start : g[-1].end], g[0].start, g[-1].end
        else:
            end0 = max(u.end for u in g if u.page == p0)
            start1 = min(u.start for u in g if u.page == p1)
            start, end = g[0].start, g[-1].end
            text = t0[start:end0] + "\n" + doc.pages[p1].text[start1:end]
            brk = end0 - start + 1
        if not _THREE_WORD_CHARS.match(text):
            continue
        pieces.append((g, p0, p1, text, start, end, brk))
    # Word-piece counts add up over whitespace-separated parts (the pre-tokenizer splits on
    # whitespace first), so a chunk's count is the sum of its sentences' counts; recount
    # only where that does not hold (the word estimate, pieces cut inside a word).
    if get_tokenizer(model) is None:
        counts = count_tokens((p[3] for p in pieces), model)
    else:
        counts = [sum(u.tokens for u in p[0]) for p in pieces]
        redo = [i for i, p in enumerate(pieces) if not all(u.exact for u in p[0])]
        for i, n in zip(redo, count_tokens((pieces[i][3] for i in redo), model)):
            counts[i] = n
    chunks = []
    for index, ((g, p0, p1, text, start, end, brk), n) in enumerate(zip(pieces, counts)):
        digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]
        chunks.append(
            Chunk(
                chunk_id=f"{doc.doc_id}-{index:05d}-{digest}",
                doc_id=doc.doc_id,
                file=doc.file,
                title=doc.title,
                text=text,
                page_start=doc.pages[p0].number,
                page_end=doc.pages[p1].number,
                page_label=doc.pages[p0].label or "",
                page_end_label=doc.pages[p1].label or "",
                page_break=brk,
                section=sections[g[0].section],
                start=start,
                end=end,
                index=index,
                n_tokens=n,
            )
        )
    return chunks
