"""Load a source file (PDF, HTML, Markdown, plain text, DOCX) into a ``Document`` of pages.

``load_document`` checks what every format shares (exists, size limit, not empty, content
matches the extension), then hands the bytes to the format's loader. Every failure is a
``LoadError`` whose message names the file and says what is wrong in one line.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..errors import LoadError
from ..records import Document
from .clean import prettify_stem

SUPPORTED_SUFFIXES = frozenset({".pdf", ".html", ".htm", ".md", ".markdown", ".txt", ".docx"})
KINDS = {
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".docx": "docx",
}

__all__ = ["SUPPORTED_SUFFIXES", "is_supported", "load_document", "doc_id_for", "walk_files"]


def is_supported(path: str | Path) -> bool:
    return Path(path).suffix.lower() in SUPPORTED_SUFFIXES


def walk_files(folder: str | Path) -> list[Path]:
    """Every file under ``folder``, sorted, following symlinked folders (a common way to point
    ``sources/`` at an existing folder of reports); a link back into a visited folder is walked once."""
    seen: set[str] = set()
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        out += [Path(dirpath, f) for f in filenames if os.path.isfile(os.path.join(dirpath, f))]
    return sorted(out)


def doc_id_for(file: str) -> str:
    """Stable id of a document: derived from its path relative to the ingested folder."""
    return hashlib.sha1(file.encode("utf-8")).hexdigest()[:16]


def relative_file(path: Path, root: str | Path | None) -> str:
    """A document's ``file``: its posix path relative to ``root``, else its name."""
    if root is not None:  # abspath, not resolve: a symlinked file still counts as inside root
        try:
            return Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()
        except ValueError:
            pass
    return path.name


def _human(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1e6:.1f} MB"
    return f"{n / 1e3:.1f} KB" if n >= 1000 else f"{n} bytes"


def _read(path: Path, shown: str, max_bytes: int | None) -> bytes:
    if not path.exists():
        raise LoadError(shown, "file not found")
    if not path.is_file():
        raise LoadError(shown, "not a regular file")
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise LoadError(shown, f"file too large ({_human(size)}; the limit is {_human(max_bytes)})")
    if size == 0:
        raise LoadError(shown, "empty file (0 bytes)")
    try:
        return path.read_bytes()
    except OSError as e:
        raise LoadError(shown, f"cannot read file ({e.strerror or e})") from None


def load_document(path: str | Path, root: str | Path | None = None, max_bytes: int | None = None) -> Document:
    """Load one file. ``file`` is its posix path relative to ``root`` (else its name)."""
    shown = str(path)
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise LoadError(shown, f"unsupported file type {suffix or '(no extension)'!r} (supported: {kinds})")
    data = _read(p, shown, max_bytes)
    kind = KINDS[suffix]
    if kind == "pdf":
        from .pdf import load_pdf as loader
    elif kind == "html":
        from .html import load_html as loader
    elif kind == "docx":
        from .docx import load_docx as loader
    elif kind == "markdown":
        from .text import load_markdown as loader
    else:
        from .text import load_text as loader
    parsed = loader(shown, data)
    file = relative_file(p, root)
    return Document(
        doc_id=doc_id_for(file),
        path=os.path.abspath(p),
        file=file,
        title=parsed.title or prettify_stem(p.stem),
        sha256=hashlib.sha256(data).hexdigest(),
        pages=parsed.pages,
        kind=kind,
    )
