"""The source catalog (``sources/catalog.toml``) and the status of each source file.

The catalog names the reports the assistant is meant to answer from, with the
bibliographic data we cannot reliably read out of a PDF (publisher, year, official
page). ``source_status`` compares it with what is on disk and in the store, so
``assistant sources list`` can say what is missing, present, or already ingested.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterable

from assistant.errors import LoadError
from assistant.loaders import SUPPORTED_SUFFIXES

DEFAULT_CATALOG = "sources/catalog.toml"

REQUIRED_KEYS = ("id", "file", "title", "publisher", "year", "url")
OPTIONAL_KEYS = ("pdf_url", "sha256", "description")

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    file: str
    title: str
    publisher: str
    year: int
    url: str
    pdf_url: str | None = None
    sha256: str | None = None
    description: str = ""


@dataclass(frozen=True)
class StatusRow:
    id: str  # "" for files that are not in the catalog
    file: str  # path relative to the sources folder, with "/" separators
    title: str
    status: str  # "missing" | "present" | "ingested"
    in_catalog: bool


def load_catalog(path: str | os.PathLike[str] = DEFAULT_CATALOG) -> list[CatalogEntry]:
    """Read and check the catalog; any problem is one LoadError naming the file."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LoadError(str(p), "catalog not found") from None
    except UnicodeDecodeError:
        raise LoadError(str(p), "catalog is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise LoadError(str(p), f"invalid TOML: {e}") from None
    except OSError as e:
        raise LoadError(str(p), f"cannot read catalog: {e.strerror or e}") from None

    docs = data.get("document")
    if docs is None:
        raise LoadError(str(p), "no [[document]] entries")
    if not isinstance(docs, list) or not all(isinstance(d, dict) for d in docs):
        raise LoadError(str(p), "'document' must be an array of tables ([[document]])")
    other = sorted(set(data) - {"document"})
    if other:
        raise LoadError(str(p), f"unknown top-level key(s): {', '.join(other)}")

    entries: list[CatalogEntry] = []
    seen_ids: set[str] = set()
    seen_files: set[str] = set()
    for i, d in enumerate(docs, start=1):
        entry = _entry(p, i, d)
        if entry.id in seen_ids:
            raise LoadError(str(p), f"document #{i}: duplicate id {entry.id!r}")
        if entry.file in seen_files:
            raise LoadError(str(p), f"document #{i} ({entry.id}): duplicate file {entry.file!r}")
        seen_ids.add(entry.id)
        seen_files.add(entry.file)
        entries.append(entry)
    return entries


def _entry(path: Path, i: int, d: dict) -> CatalogEntry:
    label = f"document #{i}" + (f" ({d['id']})" if isinstance(d.get("id"), str) else "")

    def bad(reason: str) -> LoadError:
        return LoadError(str(path), f"{label}: {reason}")

    missing = [k for k in REQUIRED_KEYS if k not in d]
    if missing:
        raise bad(f"missing key(s): {', '.join(missing)}")
    unknown = sorted(set(d) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        raise bad(f"unknown key(s): {', '.join(unknown)}")
    for k in ("id", "file", "title", "publisher", "url", "pdf_url", "sha256", "description"):
        if k in d and not isinstance(d[k], str):
            raise bad(f"'{k}' must be a string")
    for k in ("id", "file", "title", "publisher", "url"):
        if not d[k].strip():
            raise bad(f"'{k}' is empty")
    year = d["year"]
    if isinstance(year, bool) or not isinstance(year, int):
        raise bad("'year' must be an integer")

    file = d["file"].strip()
    parts = PurePosixPath(file.replace("\\", "/"))
    if parts.is_absolute() or ".." in parts.parts or file.startswith("~"):
        raise bad(f"'file' must be a path inside sources/, got {file!r}")
    for k in ("url", "pdf_url"):
        if d.get(k) and not re.match(r"^https?://", d[k].strip(), re.I):
            raise bad(f"'{k}' must be an http(s) address")
    sha = (d.get("sha256") or "").strip().lower() or None
    if sha is not None and not _SHA256.match(sha):
        raise bad("'sha256' must be 64 hexadecimal digits")

    return CatalogEntry(
        id=d["id"].strip(),
        file=parts.as_posix(),
        title=" ".join(d["title"].split()),
        publisher=" ".join(d["publisher"].split()),
        year=year,
        url=d["url"].strip(),
        pdf_url=(d.get("pdf_url") or "").strip() or None,
        sha256=sha,
        description=" ".join((d.get("description") or "").split()),
    )


# files that describe a sources folder rather than being sources themselves (top level only)
FOLDER_META_FILES = frozenset({"README.md", "catalog.toml", "catalog.json"})


def _scan(sources_dir: Path, suffixes: frozenset[str]) -> list[str]:
    """Supported files under sources_dir, relative posix paths; hidden files/folders skipped
    (the fetcher's temp files and .fetched.json are hidden)."""
    found: list[str] = []
    if not sources_dir.is_dir():
        return found
    for root, dirs, files in os.walk(sources_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or Path(name).suffix.lower() not in suffixes:
                continue
            if Path(root) == sources_dir and name in FOLDER_META_FILES:
                continue
            found.append((Path(root) / name).relative_to(sources_dir).as_posix())
    return found


def _ingested_keys(ingested_files: Iterable[str]) -> set[str]:
    """Normalise the store's file names: as given, and resolved (for absolute/cwd-relative ones)."""
    keys: set[str] = set()
    for f in ingested_files:
        s = str(f).replace("\\", "/")
        keys.add(s)
        keys.add(PurePosixPath(s).as_posix())
        keys.add(Path(s).resolve().as_posix())
    return keys


def _is_ingested(rel: str, sources_dir: Path, keys: set[str]) -> bool:
    """True when the store knows this file by its path relative to sources_dir, or by
    sources_dir/rel as written, or by its absolute path."""
    candidates = {rel, (sources_dir / rel).as_posix(), (sources_dir / rel).resolve().as_posix()}
    return not keys.isdisjoint(candidates)


def source_status(
    entries: list[CatalogEntry],
    sources_dir: str | os.PathLike[str],
    ingested_files: set[str] | Iterable[str] = (),
) -> list[StatusRow]:
    """One row per catalog entry (catalog order), then one per other supported file on disk."""
    root = Path(sources_dir)
    keys = _ingested_keys(ingested_files)
    on_disk = _scan(root, SUPPORTED_SUFFIXES)

    def status(rel: str) -> str:
        if _is_ingested(rel, root, keys):
            return "ingested"
        return "present" if (root / rel).is_file() else "missing"

    rows = [StatusRow(e.id, e.file, e.title, status(e.file), True) for e in entries]
    in_catalog = {e.file for e in entries}
    rows += [StatusRow("", rel, "", status(rel), False) for rel in on_disk if rel not in in_catalog]
    return rows


def format_status(rows: list[StatusRow], sources_dir: str | os.PathLike[str] = "sources", title_width: int = 60) -> str:
    """An aligned plain-text table with a one-line summary underneath."""
    if not rows:
        return "No sources: the catalog is empty and the sources folder has no supported files."

    def short(t: str) -> str:
        return t if len(t) <= title_width else t[: title_width - 1] + "…"

    table = [("STATUS", "ID", "FILE", "TITLE")]
    table += [(r.status, r.id or "-", r.file, short(r.title) or "(not in catalog)") for r in rows]
    widths = [max(len(row[c]) for row in table) for c in range(3)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths)) + "  " + row[3] for row in table]

    counts = {s: sum(r.status == s for r in rows) for s in ("ingested", "present", "missing")}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    lines.append("")
    lines.append(f"{len(rows)} source(s): {summary}.")
    if counts["missing"]:
        lines.append(f"Missing files: run `assistant sources fetch`, or download them by hand into the folder {sources_dir}")
    if counts["present"]:
        lines.append(f"Not yet ingested: run `assistant ingest {sources_dir}`.")
    return "\n".join(lines)
