"""Library glue for the UI: list, upload (checked on the server), delete, catalog status, fetch.

Uploads are untrusted: the type is checked by suffix *and* by content, the size against
``ASSISTANT_MAX_UPLOAD_MB`` (default 50), and the name is reduced to a safe basename that
never overwrites a different file. Writes to the store are serialised in-process with a
lock (ingest also takes a file lock, which would make a second concurrent writer fail).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import AssistantError, LoadError
from ..ingest import file_sha256

ALLOWED_SUFFIXES = (".pdf", ".html", ".htm", ".md", ".markdown", ".txt", ".docx")
TEXT_SUFFIXES = {".html", ".htm", ".md", ".markdown", ".txt"}
UPLOADS = "uploads"
_WRITE_LOCK = threading.Lock()


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
        raise LoadError(display, f"unsupported file type {suffix or '(none)'!r}; allowed: {', '.join(ALLOWED_SUFFIXES)}")


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
        raise LoadError(display, f"unsupported file type {suffix or '(none)'!r}; allowed: {', '.join(ALLOWED_SUFFIXES)}")
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


@dataclass
class UploadResult:
    saved: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # one-line reasons
    summary: str = ""
    report: Any = None

    def message(self) -> str:
        lines = list(self.rejected)
        if self.summary:
            lines.append(self.summary)
        return "\n".join(lines) or "Nothing uploaded."


def upload_and_ingest(
    files: list[tuple[str, str]],
    settings: Settings,
    sources_dir: Path,
    log: Callable[[str], None] | None = None,
) -> UploadResult:
    """Save each (temp path, original name) upload, then ingest the saved files.

    Rejected files are reported and skipped; the rest are ingested in one run.
    """
    from ..ingest import ingest

    res = UploadResult()
    uploads_dir = Path(sources_dir) / UPLOADS
    paths: list[Path] = []
    for tmp, orig in files:
        try:
            paths.append(save_upload(tmp, orig, uploads_dir))
        except LoadError as e:
            res.rejected.append(str(e))
    if not paths:
        return res
    res.saved = [p.name for p in paths]
    notes: list[str] = []
    with _WRITE_LOCK:
        report = ingest(paths, settings, root=Path(sources_dir), progress=True, log=(log or notes.append))
    res.report = report
    for f, reason in getattr(report, "failed", []):
        res.rejected.append(f"{Path(f).name}: {reason}")
    done = list(getattr(report, "added", [])) + list(getattr(report, "updated", []))
    skipped = list(getattr(report, "skipped", []))
    parts = []
    if done:
        parts.append("ingested " + ", ".join(done))
    if skipped:
        parts.append("already in the library: " + ", ".join(skipped))
    text = "; ".join(parts)
    res.summary = (text[0].upper() + text[1:] + ".") if text else ""
    return res


def documents(settings: Settings) -> list[dict[str, Any]]:
    """The store's documents, or [] when there is no store yet."""
    if not settings.server_mode and not Path(settings.store_dir).exists():
        return []
    from ..store import Store

    return Store(settings).documents()


def delete_document(settings: Settings, file: str, sources_dir: Path) -> str:
    """Remove ``file`` from the store; an uploaded copy (in sources/uploads/) is removed too."""
    from ..store import Store

    if not file:
        raise AssistantError("choose a document to delete")
    with _WRITE_LOCK:
        store = Store(settings)
        doc = next((d for d in store.documents() if d.get("file") == file), None)
        if doc is None or not store.delete_document(file):
            raise AssistantError(f"{file}: not in the library")
        try:  # keep the keyword index in step with the vectors
            from ..lexical import load_or_build

            load_or_build(store)
        except ImportError:
            pass
    msg = f"Deleted {file} from the library."
    uploads = (Path(sources_dir) / UPLOADS).resolve()
    path = Path(doc.get("path") or "")
    try:
        if path.is_file() and path.resolve().parent == uploads:
            path.unlink()
            msg += " Its uploaded copy was removed too."
    except OSError:
        pass
    return msg


def catalog_path(sources_dir: Path) -> Path:
    return Path(sources_dir) / "catalog.toml"


def catalog_status(settings: Settings, sources_dir: Path) -> list[Any]:
    """Catalog entries with their status (missing/present/ingested); [] without a catalog."""
    from ..catalog import load_catalog, source_status

    path = catalog_path(sources_dir)
    if not path.is_file():
        return []
    entries = load_catalog(path)
    ingested = {d.get("file") for d in documents(settings) if d.get("file")}
    return source_status(entries, sources_dir, ingested)


def fetch_missing(sources_dir: Path, settings: Settings | None = None) -> str:
    """Download missing catalog documents (then ingest them when ``settings`` is given).

    Returns one line per outcome; offline, each failure is the fetcher's one-line reason.
    """
    from ..catalog import load_catalog
    from ..fetch import fetch_missing as _fetch

    path = catalog_path(sources_dir)
    if not path.is_file():
        raise AssistantError(f"no catalog at {path}")
    entries = load_catalog(path)
    report = _fetch(entries, sources_dir, progress=False)
    lines = [msg for _, msg in report.failed]
    if report.fetched:
        files = [e.file for e in entries if e.id in set(report.fetched)]
        lines.append(f"Downloaded {', '.join(files)}.")
        if settings is not None:
            from ..ingest import ingest

            with _WRITE_LOCK:
                rep = ingest([Path(sources_dir) / f for f in files], settings, root=Path(sources_dir),
                             progress=True, log=lambda _msg: None)
            lines += [f"{Path(f).name}: {reason}" for f, reason in rep.failed]
            done = list(rep.added) + list(rep.updated)
            if done:
                lines.append(f"Ingested {', '.join(done)}.")
    if not report.fetched and not report.failed:
        lines.append("Nothing to fetch: every catalog document is present.")
    return "\n".join(lines)
