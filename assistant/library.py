"""The library service: the one place that adds, deletes, lists and fetches documents and keeps
the indexes in step. The CLI and the web UI both call it; neither touches the store directly.

Writes are serialised: in-process by a lock (the UI runs handlers in threads), across
processes by the store's ingest lock, so a delete never races an ingest. After anything that
changes the committed documents, the lexical (BM25) index is rebuilt before the lock is
released, so a reader never sees vectors and keywords disagree for long.

Results are plain records; the callers turn them into words (``cli.py`` prints,
``message()`` gives the UI's status text).
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .catalog import CatalogEntry, StatusRow, load_catalog, source_status
from .config import Settings
from .errors import AssistantError, LoadError
from .ingest import IngestReport, ingest, ingest_lock

UPLOADS = "uploads"  # sources/uploads/: where files added through the UI are kept
CATALOG = "catalog.toml"

_WRITE_LOCK = threading.Lock()


@dataclass
class UploadResult:
    saved: list[str] = field(default_factory=list)  # names in sources/uploads/
    rejected: list[str] = field(default_factory=list)  # one line per file refused or failed to ingest
    report: IngestReport | None = None

    def message(self) -> str:
        lines = list(self.rejected)
        rep = self.report
        parts = []
        if rep and (rep.added or rep.updated):
            parts.append("ingested " + ", ".join(rep.added + rep.updated))
        if rep and rep.skipped:
            parts.append("already in the library: " + ", ".join(rep.skipped))
        if parts:
            text = "; ".join(parts)
            lines.append(text[0].upper() + text[1:] + ".")
        return "\n".join(lines) or "Nothing uploaded."


@dataclass
class Deleted:
    file: str
    upload_removed: bool  # the uploaded copy in sources/uploads/ went too

    def message(self) -> str:
        msg = f"Deleted {self.file} from the library."
        return msg + (" Its uploaded copy was removed too." if self.upload_removed else "")


@dataclass
class FetchOutcome:
    fetch: Any  # assistant.fetch.FetchReport (imported lazily: httpx)
    ingest: IngestReport | None = None

    def message(self) -> str:
        lines = [msg for _, msg in self.fetch.failed]
        if self.fetch.fetched:
            lines.append(f"Downloaded {', '.join(f.file for f in self.fetch.fetched)}.")
        if self.ingest is not None:
            lines += [f"{Path(f).name}: {reason}" for f, reason in self.ingest.failed]
            done = self.ingest.added + self.ingest.updated
            if done:
                lines.append(f"Ingested {', '.join(done)}.")
        if not self.fetch.fetched and not self.fetch.failed:
            lines.append("Nothing to fetch: every catalog document is present.")
        return "\n".join(lines)


class Library:
    """The documents of one store, and the sources folder they come from (catalog, uploads)."""

    def __init__(self, settings: Settings | None = None, sources_dir: str | Path = "sources"):
        self.settings = settings or Settings()
        self.sources_dir = Path(sources_dir)

    @property
    def catalog_path(self) -> Path:
        return self.sources_dir / CATALOG

    @property
    def uploads_dir(self) -> Path:
        return self.sources_dir / UPLOADS

    def _store(self):
        from .store import Store  # lazy: chromadb is slow to import

        return Store(self.settings)

    # -- reading ------------------------------------------------------------------------
    def documents(self) -> list[dict[str, Any]]:
        """The store's committed documents; [] when there is no store yet (none is created)."""
        if not self.settings.server_mode and not Path(self.settings.store_dir).exists():
            return []
        return self._store().documents()

    def files(self) -> set[str]:
        """The ``file`` of every committed document."""
        return {d["file"] for d in self.documents() if d.get("file")}

    def stats(self) -> dict[str, Any]:
        return self._store().stats()

    def catalog(self) -> list[CatalogEntry]:
        """The catalog's entries; LoadError (naming the file) when it is missing or malformed."""
        return load_catalog(self.catalog_path)

    def status(self, missing_ok: bool = True) -> list[StatusRow]:
        """Each catalog entry and each other source file: missing, present or ingested.

        Without a catalog file: [] when ``missing_ok``, else the catalog's LoadError.
        """
        if missing_ok and not self.catalog_path.is_file():
            return []
        return source_status(self.catalog(), self.sources_dir, self.files())

    # -- writing ------------------------------------------------------------------------
    def ingest(self, paths, prune: bool = False, progress: bool = True, log: Callable[[str], None] | None = None,
               root: Path | None = None) -> IngestReport:
        """Add or update documents (incremental; see ``assistant.ingest``); the lexical index follows."""
        kw = {"log": log} if log else {}
        with _WRITE_LOCK:  # ingest takes the store's file lock itself
            return ingest(paths, self.settings, prune=prune, progress=progress, root=root, **kw)

    def add_uploads(self, files: Iterable[tuple[str | Path, str]],
                    log: Callable[[str], None] | None = None) -> UploadResult:
        """Check and save each (temp path, original name) upload into sources/uploads/, then ingest them.

        Rejected files are reported and skipped; the rest are ingested in one run. The same file
        picked twice (a browser's multi-file picker keeps both) counts once.
        """
        import hashlib

        from .uploads import save_upload

        res = UploadResult()
        paths: list[Path] = []
        seen: set[tuple[str, str]] = set()
        for tmp, name in files:
            try:
                with open(tmp, "rb") as fh:
                    key = (name, hashlib.file_digest(fh, "sha256").hexdigest())
            except OSError:
                key = (name, str(tmp))  # unreadable: save_upload says why
            if key in seen:
                continue
            seen.add(key)
            try:
                paths.append(save_upload(tmp, name, self.uploads_dir))
            except LoadError as e:
                res.rejected.append(str(e))
        if paths:
            res.saved = [p.name for p in paths]
            res.report = self.ingest(paths, root=self.sources_dir, log=log or (lambda _msg: None))
            res.rejected += [f"{Path(f).name}: {reason}" for f, reason in res.report.failed]
        return res

    def delete(self, file: str) -> Deleted:
        """Remove a document (by its file or doc id) and rebuild the lexical index.

        A copy the UI saved in sources/uploads/ is removed too, so the next ``ingest sources``
        does not bring it back; files elsewhere are never touched.
        """
        if not file:
            raise AssistantError("choose a document to delete")
        with self._writing() as store:
            doc = next((d for d in store.documents() if file in (d["doc_id"], d.get("file"))), None)
            if doc is None or not store.delete_document(doc["doc_id"]):
                raise AssistantError(f"{file}: not in the library")
            from .lexical import load_or_build

            load_or_build(store)  # keep the keyword index in step with the vectors
        path = Path(doc.get("path") or "")
        removed = False
        if path.is_file() and path.resolve().parent == self.uploads_dir.resolve():
            path.unlink(missing_ok=True)
            removed = True
        return Deleted(doc.get("file") or file, removed)

    def reset(self) -> str:
        """Drop every document and the lexical index; returns the store's location."""
        from .lexical import lexical_dir

        with self._writing() as store:
            store.reset()
            shutil.rmtree(lexical_dir(store), ignore_errors=True)
        return store.location

    def fetch(self, ids: Iterable[str] | None = None, limits=None, progress=None) -> Any:
        """Download the catalog's missing documents (all, or ``ids``); returns the FetchReport.

        ``limits`` is an ``assistant.download.Limits``; ``progress`` gets (file, bytes, total).
        """
        from .fetch import fetch_missing

        return fetch_missing(self.catalog(), self.sources_dir, limits=limits, progress=progress,
                             only=list(ids) if ids else None)

    def fetch_and_ingest(self, ids: Iterable[str] | None = None, limits=None) -> FetchOutcome:
        """Fetch the missing documents, then ingest what arrived (the UI's one button)."""
        if not self.catalog_path.is_file():
            raise AssistantError(f"no catalog at {self.catalog_path}")
        outcome = FetchOutcome(self.fetch(ids, limits))
        if outcome.fetch.fetched:
            outcome.ingest = self.ingest([f.path for f in outcome.fetch.fetched], root=self.sources_dir,
                                         log=lambda _msg: None)
        return outcome

    # -- internals ----------------------------------------------------------------------
    @contextmanager
    def _writing(self):
        """The store, held by this process's writer lock and the store's file lock."""
        store = self._store()
        with _WRITE_LOCK, ingest_lock(store):
            yield store

