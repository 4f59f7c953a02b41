"""Ingest files into the store: incremental (content hash), idempotent and crash-safe.

Per file: hash the bytes; skip when the committed version has the same hash; otherwise load,
chunk, embed (nothing written yet), then write the chunks under the new hash, flip the
manifest (the commit), and drop the old version's chunks. A failure on one file is reported
in one line and leaves that file's committed version untouched; the others go on.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .config import Settings
from .errors import AssistantError, LoadError


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    chunks_added: int = 0
    pages_added: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.skipped)} unchanged, "
            f"{len(self.removed)} removed, {len(self.failed)} failed "
            f"({self.chunks_added} chunks from {self.pages_added} pages in {self.seconds:.1f} s)"
        )


@dataclass
class _Target:
    path: Path
    root: Path  # the folder ``file`` is relative to
    file: str  # relative to ``root``, posix (as the loader computes it)


def file_sha256(path: Path) -> str:
    """Content hash of a file, read in blocks (reports can be large)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def collect_targets(paths: list[Path], root: Path | None, report: IngestReport) -> list[_Target]:
    """Expand folders recursively; unreadable types in folders are noted, named ones fail."""
    from .catalog import FOLDER_META_FILES
    from .loaders import is_supported, relative_file, walk_files

    targets: dict[str, _Target] = {}
    for p in map(Path, paths):
        if p.is_dir():
            base = Path(root) if root else p
            for f in walk_files(p):
                if any(part.startswith(".") for part in f.relative_to(p).parts):
                    continue  # hidden files and folders (.fetched.json, .git, ...)
                if f.name in FOLDER_META_FILES and f.parent == p:
                    continue  # the folder's own catalog and readme are not sources
                if not is_supported(f):
                    report.notes.append(f"{f}: skipped (not a type the assistant reads)")
                    continue
                rel = relative_file(f, base)
                targets.setdefault(rel, _Target(f, base, rel))
        elif p.is_file():
            base = Path(root) if root else p.parent
            rel = relative_file(p, base)
            if not is_supported(p):
                report.failed.append((str(p), f"unsupported file type {p.suffix or '(none)'!r}"))
                continue
            targets[rel] = _Target(p, base, rel)
        else:
            report.failed.append((str(p), "no such file or folder"))
    return list(targets.values())


def read_catalog_metadata(folders: list[Path]) -> dict[str, dict]:
    """Title/publisher/year for files named in a folder's catalog.toml or catalog.json."""
    meta: dict[str, dict] = {}
    for folder in folders:
        cj = folder / "catalog.json"
        if cj.is_file():
            try:
                for e in json.loads(cj.read_text(encoding="utf-8")):
                    meta[Path(e["file"]).as_posix()] = e
            except (ValueError, KeyError, TypeError):
                pass
        ct = folder / "catalog.toml"
        if ct.is_file():
            try:
                from .catalog import load_catalog

                for e in load_catalog(ct):
                    meta[e.file] = {"title": e.title, "publisher": e.publisher, "year": e.year}
            except Exception:
                pass
    return meta


@contextmanager
def ingest_lock(store):
    """One writer per store: a second ingest fails at once instead of hanging in Chroma."""
    d = store.local_dir
    d.mkdir(parents=True, exist_ok=True)
    with open(d / ".ingest.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AssistantError(f"another ingest is writing to {store.location}; wait for it to finish") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def ingest(
    paths,
    settings: Settings | None = None,
    prune: bool = False,
    progress: bool = True,
    root: Path | None = None,
    log=_say,
) -> IngestReport:
    """Bring the store in line with ``paths``; see the module docstring for the guarantees."""
    from .chunker import chunk_document
    from .embeddings import get_embedder
    from .lexical import lexical_is_current, sync
    from .loaders import doc_id_for, load_document
    from .store import Store

    t0 = time.perf_counter()
    settings = settings or Settings()
    report = IngestReport()
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    targets = collect_targets(paths, Path(root) if root else None, report)
    folders = [p for p in paths if p.is_dir()] + ([Path(root)] if root else [])
    catalog = read_catalog_metadata(folders)

    store = Store(settings)
    embedder = get_embedder(settings)
    max_bytes = int(settings.max_file_mb * 1024 * 1024)
    with ingest_lock(store):
        manifest = store.manifest()
        todo = []
        for t in targets:
            try:
                sha = file_sha256(t.path)
            except OSError as e:
                report.failed.append((str(t.path), f"cannot read: {e.strerror or e}"))
                continue
            committed = manifest.get(doc_id_for(t.file))
            if committed and committed.get("sha256") == sha:
                report.skipped.append(t.file)
            else:
                todo.append(t)

        if todo or prune:
            store.chunks_collection(create=True, model=settings.embedding_model, dimension=embedder.dimension)
            store.collect_garbage()  # leftovers of an interrupted run
        elif store.exists():
            store.chunks_collection()  # nothing to do, but say so if the store needs a rebuild

        bar = None
        if todo and progress:
            from tqdm import tqdm

            bar = tqdm(total=len(todo), desc="ingest", unit="file", file=sys.stderr)
        for t in todo:
            try:
                doc = load_document(t.path, root=t.root, max_bytes=max_bytes)
                extra = catalog.get(t.file) or catalog.get(t.path.name) or {}
                doc.title = extra.get("title") or doc.title
                doc.publisher = extra.get("publisher") or doc.publisher
                doc.year = extra.get("year") or doc.year
                chunks = chunk_document(doc, settings)
                if not chunks:
                    raise LoadError(t.path, "no text to index (empty, or image-only without a text layer)")
                if bar:
                    bar.set_postfix_str(f"{t.file[-40:]}: embedding {len(chunks)} chunks")
                te = time.perf_counter()
                vectors = embedder.encode([c.text for c in chunks])
                report.embed_seconds += time.perf_counter() - te
                store.add_chunks(chunks, vectors, doc_sha=doc.sha256)  # the hash of the bytes loaded
                store.commit_document(
                    doc.doc_id,
                    {
                        "file": doc.file,
                        "path": str(t.path.resolve()),
                        "title": doc.title,
                        "kind": doc.kind,
                        "publisher": doc.publisher or "",
                        "year": int(doc.year) if doc.year else None,
                        "sha256": doc.sha256,
                        "pages": doc.n_pages,
                        "pages_with_text": sum(1 for p in doc.pages if p.text.strip()),
                        "chunks": len(chunks),
                        "ingested_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    },
                )
                existed = doc.doc_id in manifest
                (report.updated if existed else report.added).append(t.file)
                report.chunks_added += len(chunks)
                report.pages_added += doc.n_pages
            except LoadError as e:
                report.failed.append((str(t.path), e.reason))
            except AssistantError:
                raise
            except Exception as e:  # a loader bug must not stop the other files
                report.failed.append((str(t.path), f"{type(e).__name__}: {e}"))
            finally:
                if bar:
                    bar.update(1)
        if bar:
            bar.close()

        if prune:
            for d in store.documents():
                if not Path(d.get("path", "")).exists():
                    store.delete_document(d["doc_id"])
                    report.removed.append(d.get("file", d["doc_id"]))
        if report.updated:  # the replaced versions' chunks (deletes removed their own)
            store.collect_garbage(doc_id_for(f) for f in report.updated)
        if store.exists() and (todo or prune or not lexical_is_current(store)):
            if not (todo or prune):
                store.collect_garbage()
            sync(store)  # keep the lexical index in step: only changed documents are indexed
    for note in report.notes:
        log(note)
    for f, reason in report.failed:
        log(f"error: {f}: {reason}")
    report.seconds = time.perf_counter() - t0
    return report
