"""Untrusted uploads: check a file's type by suffix and content, its size, and give it a safe name.

The type is checked by suffix *and* by content, the size against ``ASSISTANT_MAX_UPLOAD_MB``
(default 50), and the name is reduced to a safe basename that never overwrites a different
file. Used by the library service for files added through the UI.
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
import zipfile
from pathlib import Path

from .errors import LoadError
from .ingest import file_sha256
from .loaders import KINDS, SUPPORTED_SUFFIXES

ALLOWED_SUFFIXES = tuple(sorted(SUPPORTED_SUFFIXES))
TEXT_SUFFIXES = frozenset(s for s, kind in KINDS.items() if kind in ("html", "markdown", "text"))


def max_upload_mb() -> float:
    try:
        return float(os.environ.get("ASSISTANT_MAX_UPLOAD_MB") or 50)
    except ValueError:
        return 50.0


def sanitize_name(name: str, max_len: int = 100) -> str:
    """A safe file name from an uploaded name: basename only, ``[A-Za-z0-9._-]``, no leading dot."""
    base = re.split(r"[\\/]", str(name or ""))[-1]
    base = "".join(
        ch if ch.isascii() else "_"
        for ch in unicodedata.normalize("NFKD", base)
        if not unicodedata.combining(ch)
    )
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-") or "upload"
    suffix = re.sub(r"[^A-Za-z0-9]+", "", suffix).lower()
    stem = stem[: max_len - len(suffix) - 1]
    return f"{stem}.{suffix}" if suffix else stem


def _unsupported(display: str, suffix: str) -> LoadError:
    return LoadError(display, f"unsupported file type {suffix or '(none)'!r}; allowed: {', '.join(ALLOWED_SUFFIXES)}")


def sniff(path: Path, suffix: str, display: str) -> None:
    """Raise ``LoadError`` unless the bytes look like the type the suffix claims."""
    with open(path, "rb") as fh:
        head = fh.read(1024)
    if suffix == ".pdf":
        if b"%PDF-" not in head:
            raise LoadError(display, "not a PDF (no %PDF- header)")
    elif suffix == ".docx":
        try:
            ok = zipfile.is_zipfile(path) and "word/document.xml" in zipfile.ZipFile(path).namelist()
        except (zipfile.BadZipFile, OSError):
            ok = False
        if not ok:
            raise LoadError(display, "not a Word .docx file (no word/document.xml inside)")
    elif suffix in TEXT_SUFFIXES:
        data = Path(path).read_bytes()
        if b"\x00" in data:
            raise LoadError(display, "binary content in a text file")
        try:
            data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                data.decode("cp1252")
            except UnicodeDecodeError:
                raise LoadError(display, "text is neither UTF-8 nor Windows-1252") from None
    else:
        raise _unsupported(display, suffix)


def save_upload(tmp_path: str | Path, original_name: str, uploads_dir: Path, max_mb: float | None = None) -> Path:
    """Check an uploaded temp file and copy it into ``uploads_dir``; returns the saved path.

    An identical file already there is reused; a different file of the same name is kept
    and the upload gets a ``-1``, ``-2``… suffix instead.
    """
    tmp_path = Path(tmp_path)
    name = sanitize_name(original_name or tmp_path.name)
    display = Path(str(original_name or tmp_path.name)).name or name
    suffix = Path(name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise _unsupported(display, suffix)
    limit = max_upload_mb() if max_mb is None else max_mb
    size = tmp_path.stat().st_size
    if size > limit * 1024 * 1024:
        raise LoadError(display, f"file is {size / 1048576:.1f} MB; the upload limit is {limit:g} MB")
    if size == 0:
        raise LoadError(display, "empty file")
    sniff(tmp_path, suffix, display)

    uploads_dir.mkdir(parents=True, exist_ok=True)
    sha = file_sha256(tmp_path)
    stem = Path(name).stem
    for i in range(0, 1000):
        dest = uploads_dir / (name if i == 0 else f"{stem}-{i}{suffix}")
        if dest.exists():
            if dest.is_file() and file_sha256(dest) == sha:
                return dest
            continue
        try:
            with open(tmp_path, "rb") as src, open(dest, "xb") as dst:  # "x": never overwrite
                shutil.copyfileobj(src, dst)
        except FileExistsError:
            continue
        return dest
    raise LoadError(display, "too many files with this name in the uploads folder")
