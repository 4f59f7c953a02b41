"""Text clean-up shared by every loader.

The rule is *normalise, don't rewrite*: page text is later searched for on the PDF page
(``page.search_for``) and sliced by character offsets, so we only fix what extraction
garbles (ligature code points, soft hyphens, exotic spaces, control characters) and
collapse whitespace; words themselves are never changed.
"""

from __future__ import annotations

import re
import unicodedata

_LIGATURES = {c: unicodedata.normalize("NFKC", chr(c)) for c in range(0xFB00, 0xFB07)}
_SPACES = {c: " " for c in (0x00A0, 0x1680, 0x202F, 0x205F, 0x3000, *range(0x2000, 0x200B))}
_DROP = {c: None for c in (0x00AD, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0xFFFD)}
_TABLE = {**_LIGATURES, **_SPACES, **_DROP, 0x09: " ", 0x0B: " ", 0x0C: " "}
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_PUA = re.compile(r"[\ue000-\uf8ff]")
_MULTISPACE = re.compile(r" {2,}")
BULLETS = "•●▪■◦‣⁃○◆◇►▸➢➤✓✔»›→□☐"


def clean_line(text: str) -> str:
    """One line of text: ligatures expanded, odd spaces and control characters removed,
    private-use glyphs (symbol-font bullets) turned into "•" at line start and dropped elsewhere."""
    text = text.translate(_TABLE)
    text = _CONTROL.sub("", text)
    if _PUA.search(text):
        stripped = text.lstrip()
        if stripped and _PUA.match(stripped):
            text = "• " + stripped[1:]
        text = _PUA.sub("", text)
    return _MULTISPACE.sub(" ", text).strip()


def clean_block(text: str) -> str:
    """Multi-line text (plain text, <pre>): each line cleaned, runs of blank lines collapsed to one."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    out: list[str] = []
    for line in text.split("\n"):
        line = clean_line(line)
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip("\n")


def prettify_stem(stem: str) -> str:
    """``unodc-glotip_2024-ch2`` -> ``Unodc Glotip 2024 Ch2``: a readable fallback title."""
    words = re.sub(r"[-_.]+", " ", stem).split()
    return " ".join(w[:1].upper() + w[1:] if w.islower() else w for w in words) or stem


_BAD_TITLE = re.compile(r"\.(docx?|pdf|indd|qxp|qxd|pptx?|xlsx?|rtf|txt|odt|html?)$|^(microsoft|untitled|document\d*$)", re.I)


def sensible_title(title: str | None) -> str:
    """A metadata title worth showing, or "" (file names, "Microsoft Word - x.docx", codes)."""
    t = " ".join((title or "").split())
    if len(t) < 4 or sum(c.isalpha() for c in t) < 3 or _BAD_TITLE.search(t):
        return ""
    if " " not in t and re.search(r"[_\d]", t):
        return ""
    return t
