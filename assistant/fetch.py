"""Fetch the catalog's documents that are missing from the sources folder.

For each entry: try ``pdf_url``, then the ``url`` page (``assistant.download`` follows its
best PDF link once); check the sha256 against the catalog when it has one; only then rename
the verified temp file into place and record the download in ``sources/.fetched.json``
(written atomically; the catalog itself is never rewritten). A failure is one line that says
how to get the file by hand, and leaves nothing behind. Nothing here prints.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from assistant.catalog import CatalogEntry
from assistant.download import Downloader, DownloadFailed, Limits, Progress, client, unlink
from assistant.errors import FetchError

FETCHED_RECORD = ".fetched.json"


@dataclass(frozen=True)
class Fetched:
    id: str
    file: str
    path: Path
    sha256: str
    url: str  # the address the PDF bytes finally came from
    bytes: int


@dataclass
class FetchReport:
    fetched: list[Fetched] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # catalog ids already present
    failed: list[tuple[str, str]] = field(default_factory=list)  # (id, one-line reason)

    @property
    def ok(self) -> bool:
        return not self.failed


def fetch_missing(
    entries: Iterable[CatalogEntry],
    sources_dir: str | os.PathLike[str] = "sources",
    limits: Limits | None = None,
    only: Iterable[str] | None = None,
    progress: Progress | None = None,
) -> FetchReport:
    """Fetch every catalog document whose file is not in ``sources_dir`` yet.

    ``only`` restricts the run to those ids (unknown ids are reported as failures).
    Failures never raise: each becomes one (id, message) pair in the report.
    """
    entries = list(entries)
    report = FetchReport()
    if only is not None:
        wanted = set(only)
        known = {e.id for e in entries}
        report.failed += [(i, f"{i}: not in the catalog") for i in dict.fromkeys(only) if i not in known]
        entries = [e for e in entries if e.id in wanted]
    root = Path(sources_dir)
    limits = limits or Limits()
    with client(limits) as http:
        downloader = Downloader(http, limits, progress)
        for e in entries:
            if (root / e.file).is_file():
                report.skipped.append(e.id)
                continue
            try:
                report.fetched.append(_fetch_entry(e, root, downloader))
            except FetchError as err:
                report.failed.append((e.id, str(err)))
    return report


def fetch_entry(
    entry: CatalogEntry,
    sources_dir: str | os.PathLike[str] = "sources",
    limits: Limits | None = None,
    progress: Progress | None = None,
) -> Fetched:
    """Download one document to ``sources_dir/entry.file`` (overwriting nothing until verified).

    Raises FetchError with a one-line message that says how to get the file by hand.
    """
    limits = limits or Limits()
    with client(limits) as http:
        return _fetch_entry(entry, Path(sources_dir), Downloader(http, limits, progress))


def _fetch_entry(entry: CatalogEntry, root: Path, downloader: Downloader) -> Fetched:
    dest = root / entry.file
    attempts: list[tuple[str, DownloadFailed]] = []
    for url in dict.fromkeys(u for u in (entry.pdf_url, entry.url) if u):
        try:
            got = downloader.pdf(url, dest, entry.title)
        except DownloadFailed as e:
            attempts.append((url, e))
            continue
        if entry.sha256 and got.sha256 != entry.sha256:
            unlink(got.tmp)
            raise FetchError(
                f"{entry.file}: sha256 mismatch: the catalog expects {entry.sha256}, the download from "
                f"{got.url} has {got.sha256}; nothing was saved. If the publisher changed the file, check it "
                f"and update sha256 in the catalog."
            )
        os.replace(got.tmp, dest)
        _record(root, entry.file, got.sha256, got.url, got.bytes)
        return Fetched(entry.id, entry.file, dest, got.sha256, got.url, got.bytes)
    raise FetchError(_failure_message(entry, root, attempts))


def read_fetched_record(sources_dir: str | os.PathLike[str] = "sources") -> dict[str, dict]:
    """``sources/.fetched.json`` as a dict (empty when absent or unreadable)."""
    p = Path(sources_dir) / FETCHED_RECORD
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _failure_message(entry: CatalogEntry, root: Path, attempts: list[tuple[str, DownloadFailed]]) -> str:
    hint = (f"Download it by hand from {entry.url} and save it as {(root / entry.file).as_posix()}, "
            f"then run: assistant ingest {root.as_posix()}")
    if attempts and all(a.offline for _, a in attempts):
        reasons = "; ".join(dict.fromkeys(a.reason for _, a in attempts))
        return f"{entry.file}: cannot download (offline: {reasons}). {hint}"
    reasons = "; ".join(f"{url}: {a.reason}" for url, a in attempts) or "no address in the catalog"
    return f"{entry.file}: cannot download ({reasons}). {hint}"


def _record(root: Path, file: str, sha: str, url: str, nbytes: int) -> None:
    """Add one download to sources/.fetched.json (written atomically)."""
    data = read_fetched_record(root)
    data[file] = {
        "sha256": sha,
        "url": url,
        "bytes": nbytes,
        "fetched_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    fd, name = tempfile.mkstemp(dir=root, prefix=f".{FETCHED_RECORD}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(name, root / FETCHED_RECORD)
    except BaseException:
        unlink(Path(name))
        raise

