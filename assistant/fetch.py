"""Download catalog documents that are missing from the sources folder.

Only the standard library does the HTTP (urllib), so this works in the bare install.
Rules that keep a bad download from ever reaching the ingester:

* a quick DNS + TCP check of the host first (a few seconds), so an offline machine
  gets one clear line per document, with the address to download by hand;
* a size cap, checked against Content-Length and against the bytes actually read;
* the body must start like a PDF (``%PDF-`` within the first 1024 bytes); an HTML page
  is read for its most likely PDF link, which is followed once (no deeper);
* bytes go to a hidden temp file in the same folder and are renamed into place
  (``os.replace``) only when complete and verified, so a failure leaves nothing;
* the sha256 is checked against the catalog when it has one, and recorded in
  ``sources/.fetched.json`` (the catalog itself is never rewritten).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import socket
import sys
import tempfile
import threading
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable
from urllib.error import HTTPError, URLError
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from assistant import __version__
from assistant.catalog import CatalogEntry
from assistant.errors import FetchError

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
CONNECT_TIMEOUT = 3.0
HTML_MAX_BYTES = 10 * 1024 * 1024  # a landing page bigger than this is not a landing page
MAX_LINKS_TRIED = 3
FETCHED_RECORD = ".fetched.json"
PDF_MAGIC = b"%PDF-"
HEAD_BYTES = 1024
CHUNK = 64 * 1024
USER_AGENT = f"assistant/{__version__} (local research assistant; source fetcher)"

_STOPWORDS = frozenset(
    "the and for from with into that this their report reports public private persons human "
    "beings of to in on a an".split()
)


@dataclass
class FetchReport:
    fetched: list[str] = field(default_factory=list)  # catalog ids
    skipped: list[str] = field(default_factory=list)  # already present
    failed: list[tuple[str, str]] = field(default_factory=list)  # (id, one-line reason)

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class Fetched:
    id: str
    file: str
    path: Path
    sha256: str
    url: str  # the address the PDF bytes finally came from
    bytes: int


class _AttemptFailed(Exception):
    """One URL did not yield a verified PDF; ``offline`` marks network-level failures."""

    def __init__(self, reason: str, offline: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.offline = offline


# --------------------------------------------------------------------------- public API


def fetch_missing(
    entries: Iterable[CatalogEntry],
    sources_dir: str | os.PathLike[str] = "sources",
    timeout: float = 30,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: bool = True,
    connect_timeout: float = CONNECT_TIMEOUT,
    only: Iterable[str] | None = None,
) -> FetchReport:
    """Fetch every catalog document whose file is not in ``sources_dir`` yet.

    ``only`` restricts the run to those ids (unknown ids are reported as failures).
    Failures never raise: each becomes one (id, message) pair in the report.
    """
    entries = list(entries)
    report = FetchReport()
    wanted = None if only is None else list(dict.fromkeys(only))
    if wanted is not None:
        known = {e.id for e in entries}
        report.failed += [(i, f"{i}: not in the catalog") for i in wanted if i not in known]
        entries = [e for e in entries if e.id in set(wanted)]
    root = Path(sources_dir)
    host_cache: dict[tuple[str, int], str | None] = {}
    for e in entries:
        if (root / e.file).is_file():
            report.skipped.append(e.id)
            continue
        try:
            fetch_entry(e, root, timeout=timeout, max_bytes=max_bytes, progress=progress,
                        connect_timeout=connect_timeout, _host_cache=host_cache)
        except FetchError as err:
            report.failed.append((e.id, str(err)))
        else:
            report.fetched.append(e.id)
    return report


def fetch_entry(
    entry: CatalogEntry,
    sources_dir: str | os.PathLike[str] = "sources",
    timeout: float = 30,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: bool = True,
    connect_timeout: float = CONNECT_TIMEOUT,
    _host_cache: dict[tuple[str, int], str | None] | None = None,
) -> Fetched:
    """Download one document to ``sources_dir/entry.file`` (overwriting nothing until verified).

    Tries ``pdf_url`` first, then the ``url`` page (following its PDF link once).
    Raises FetchError with a one-line message that says how to get the file by hand.
    """
    root = Path(sources_dir)
    dest = root / entry.file
    host_cache = {} if _host_cache is None else _host_cache
    candidates = list(dict.fromkeys(u for u in (entry.pdf_url, entry.url) if u))
    attempts: list[tuple[str, _AttemptFailed]] = []

    def reachable(url: str) -> None:
        reason = _offline_reason(url, connect_timeout, host_cache)
        if reason:
            raise _AttemptFailed(reason, offline=True)

    for url in candidates:
        try:
            reachable(url)
            dest.parent.mkdir(parents=True, exist_ok=True)
            got = _download(url, dest, entry.title, timeout, max_bytes, progress, follow=True, reachable=reachable)
        except _AttemptFailed as e:
            attempts.append((url, e))
            continue
        tmp, sha, final_url, nbytes = got
        if entry.sha256 and sha != entry.sha256:
            _unlink(tmp)
            raise FetchError(
                f"{entry.file}: sha256 mismatch: the catalog expects {entry.sha256}, the download from "
                f"{final_url} has {sha}; nothing was saved. If the publisher changed the file, check it "
                f"and update sha256 in the catalog."
            )
        os.replace(tmp, dest)
        _record(root, entry.file, sha, final_url, nbytes)
        return Fetched(entry.id, entry.file, dest, sha, final_url, nbytes)

    raise FetchError(_failure_message(entry, root, attempts))


def cli_sources_list(
    catalog_path: str | os.PathLike[str] = "sources/catalog.toml",
    sources_dir: str | os.PathLike[str] = "sources",
    ingested_files: Iterable[str] | None = None,
    settings=None,
    out: Callable[[str], None] = print,
) -> int:
    """``assistant sources list``: print the status table. Returns the exit code.

    ``ingested_files`` defaults to the store's file names (empty when no store exists yet).
    """
    from assistant.catalog import format_status, load_catalog, source_status

    entries = load_catalog(catalog_path)
    if ingested_files is None:
        ingested_files = ingested_files_from_store(settings)
    out(format_status(source_status(entries, sources_dir, set(ingested_files)), sources_dir=_display(Path(sources_dir))))
    return 0


def cli_sources_fetch(
    catalog_path: str | os.PathLike[str] = "sources/catalog.toml",
    sources_dir: str | os.PathLike[str] = "sources",
    ids: Iterable[str] | None = None,
    timeout: float = 30,
    max_mb: float = 200,
    progress: bool = True,
    out: Callable[[str], None] = print,
    err: Callable[[str], None] = lambda s: print(s, file=sys.stderr),
) -> int:
    """``assistant sources fetch [ID...]``: download missing documents. Exit code 1 if any failed."""
    from assistant.catalog import load_catalog

    entries = load_catalog(catalog_path)
    ids = list(ids) if ids else None
    rep = fetch_missing(entries, sources_dir, timeout=timeout, max_bytes=int(max_mb * 1024 * 1024),
                        progress=progress, only=ids)
    record = read_fetched_record(sources_dir)
    by_id = {e.id: e for e in entries}
    for i in rep.skipped:
        out(f"{by_id[i].file}: already present, skipped")
    for i in rep.fetched:
        info = record.get(by_id[i].file, {})
        out(f"{by_id[i].file}: downloaded ({info.get('bytes', '?')} bytes, sha256 {info.get('sha256', '?')})")
    for _, msg in rep.failed:
        err(msg)
    if rep.fetched:
        out(f"Next: assistant ingest {_display(Path(sources_dir))}")
    return 0 if rep.ok else 1


def ingested_files_from_store(settings=None) -> set[str]:
    """File names the store knows, or an empty set when there is no store yet.

    Never creates a store: an embedded store folder that does not exist means nothing is ingested.
    """
    from assistant.config import Settings

    settings = settings or Settings()
    if not settings.server_mode and not Path(settings.store_dir).exists():
        return set()
    from assistant.store import Store  # lazy: chromadb is slow to import

    return {d["file"] for d in Store(settings).documents() if d.get("file")}


def read_fetched_record(sources_dir: str | os.PathLike[str] = "sources") -> dict[str, dict]:
    """``sources/.fetched.json`` as a dict (empty when absent or unreadable)."""
    p = Path(sources_dir) / FETCHED_RECORD
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def find_pdf_links(html: bytes | str, base_url: str, title: str = "") -> list[str]:
    """Absolute addresses of likely PDF links on a page, best first.

    A link counts when its path ends in .pdf, it points into OSCE's /files/f/documents/
    store, or it is marked type="application/pdf". Links sharing more words with the
    document title rank higher, then .pdf links, then links on the page's own host.
    """
    from bs4 import BeautifulSoup  # lazy: only needed when a landing page is followed

    soup = BeautifulSoup(html, "html.parser")
    base_tag = soup.find("base", href=True)
    base = urljoin(base_url, base_tag["href"].strip()) if base_tag else base_url
    page_host = urlsplit(base_url).hostname
    title_words = _words(title) - _STOPWORDS

    attr_of = {"a": "href", "iframe": "src", "embed": "src", "object": "data"}
    scored: dict[str, tuple[int, int]] = {}  # url -> (score, first position on the page)
    for order, tag in enumerate(soup.find_all(list(attr_of))):
        raw = str(tag.get(attr_of[tag.name]) or "").strip()
        if not raw or raw.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        parts = urlsplit(urljoin(base, raw))
        if parts.scheme not in ("http", "https"):
            continue
        absolute = urlunsplit(parts._replace(fragment=""))
        path = unquote(parts.path).lower()
        is_pdf = path.endswith(".pdf")
        typed_pdf = str(tag.get("type") or "").lower().startswith("application/pdf")
        if not (is_pdf or typed_pdf or "/files/f/documents/" in path):
            continue
        text = " ".join([tag.get_text(" "), str(tag.get("title") or ""), unquote(raw)])
        score = 10 * len(title_words & _words(text)) + 2 * is_pdf + int(parts.hostname == page_host)
        best, first = scored.get(absolute, (-1, order))
        scored[absolute] = (max(best, score), first)
    return [u for u, _ in sorted(scored.items(), key=lambda kv: (-kv[1][0], kv[1][1]))]


# --------------------------------------------------------------------------- internals


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 3}


def _display(p: Path) -> str:
    return p.as_posix()


def _failure_message(entry: CatalogEntry, root: Path, attempts: list[tuple[str, _AttemptFailed]]) -> str:
    hint = (f"Download it by hand from {entry.url} and save it as {_display(root / entry.file)}, "
            f"then run: assistant ingest {_display(root)}")
    if attempts and all(a.offline for _, a in attempts):
        reasons = "; ".join(dict.fromkeys(a.reason for _, a in attempts))
        return f"{entry.file}: cannot download (offline: {reasons}). {hint}"
    reasons = "; ".join(f"{url}: {a.reason}" for url, a in attempts) or "no address in the catalog"
    return f"{entry.file}: cannot download ({reasons}). {hint}"


def _resolve(host: str, port: int, timeout: float) -> list[tuple]:
    """getaddrinfo with a deadline (it has none of its own; a dead resolver can block ~20 s)."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["ok"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as e:
            box["err"] = e

    t = threading.Thread(target=run, name=f"resolve-{host}", daemon=True)
    t.start()
    t.join(timeout)
    if "ok" in box:
        return box["ok"]  # type: ignore[return-value]
    if "err" in box:
        raise box["err"]  # type: ignore[misc]
    raise TimeoutError(f"DNS lookup of {host} took longer than {timeout:g} s")


def _offline_reason(url: str, timeout: float, cache: dict[tuple[str, int], str | None]) -> str | None:
    """None when a TCP connection to the URL's host (or its proxy) opens within ``timeout``."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(host):
        pp = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        host, port = pp.hostname or host, pp.port or 80
    key = (host, port)
    if key in cache:
        return cache[key]
    reason: str | None = None
    try:
        infos = _resolve(host, port, timeout)
        last: OSError | None = None
        for family, type_, proto, _, addr in infos:
            s = socket.socket(family, type_, proto)
            s.settimeout(timeout)
            try:
                s.connect(addr)
                break
            except OSError as e:
                last = e
            finally:
                s.close()
        else:
            raise last or OSError(f"no address for {host}")
    except socket.gaierror:
        reason = f"cannot resolve {host}"
    except ConnectionRefusedError:
        reason = f"connection to {host}:{port} refused"
    except TimeoutError as e:
        reason = str(e) if "DNS" in str(e) else f"no answer from {host}:{port} within {timeout:g} s"
    except OSError as e:
        reason = f"cannot reach {host}:{port}: {e.strerror or e}"
    cache[key] = reason
    return reason


def _open(url: str, timeout: float) -> http.client.HTTPResponse:
    req = urllib.request.Request(url, headers={
        "User-Agent": USER_AGENT,
        "Accept": "application/pdf,text/html;q=0.9,*/*;q=0.5",
    })
    try:
        return urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 - http(s) only, checked by the catalog
    except HTTPError as e:
        e.close()
        raise _AttemptFailed(f"HTTP {e.code} {e.reason}") from None
    except URLError as e:
        r = e.reason
        if isinstance(r, TimeoutError):
            raise _AttemptFailed(f"no answer within {timeout:g} s") from None
        if isinstance(r, socket.gaierror):
            raise _AttemptFailed(f"cannot resolve {urlsplit(url).hostname}", offline=True) from None
        if isinstance(r, ConnectionRefusedError):
            raise _AttemptFailed(f"connection to {urlsplit(url).netloc} refused", offline=True) from None
        raise _AttemptFailed(f"cannot connect: {r}") from None
    except TimeoutError:
        raise _AttemptFailed(f"no answer within {timeout:g} s") from None
    except (OSError, http.client.HTTPException, ValueError) as e:
        raise _AttemptFailed(f"request failed: {e}") from None


def _content_length(resp: http.client.HTTPResponse) -> int | None:
    v = resp.headers.get("Content-Length")
    try:
        n = int(v) if v is not None else None
    except ValueError:
        return None
    return n if n is not None and n >= 0 else None


def _read(resp: http.client.HTTPResponse, n: int, timeout: float) -> bytes:
    try:
        return resp.read(n)
    except TimeoutError:
        raise _AttemptFailed(f"the server stopped sending for more than {timeout:g} s") from None
    except (OSError, http.client.HTTPException) as e:
        raise _AttemptFailed(f"download interrupted: {e}") from None


def _read_head(resp: http.client.HTTPResponse, timeout: float) -> bytes:
    head = b""
    while len(head) < HEAD_BYTES:
        chunk = _read(resp, HEAD_BYTES - len(head), timeout)
        if not chunk:
            break
        head += chunk
    return head


def _looks_html(content_type: str, head: bytes) -> bool:
    if content_type in ("text/html", "application/xhtml+xml"):
        return True
    start = head.lstrip()[:200].lower()
    return start.startswith((b"<!doctype html", b"<html")) or b"<html" in head.lower()


def _too_big(n: int, max_bytes: int) -> _AttemptFailed:
    return _AttemptFailed(f"larger than the {_size(max_bytes)} limit ({_size(n)} or more)")


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def _download(
    url: str,
    dest: Path,
    title: str,
    timeout: float,
    max_bytes: int,
    progress: bool,
    follow: bool,
    reachable: Callable[[str], None],
) -> tuple[Path, str, str, int]:
    """Get a verified PDF from ``url`` into a temp file beside ``dest``.

    Returns (temp path, sha256, final URL, size). The caller renames or deletes the temp file.
    """
    with _open(url, timeout) as resp:
        final_url = resp.geturl()
        ctype = resp.headers.get_content_type()
        length = _content_length(resp)
        if length is not None and length > max_bytes:
            raise _too_big(length, max_bytes)
        head = _read_head(resp, timeout)
        if PDF_MAGIC in head[:HEAD_BYTES]:
            return _stream_to_temp(resp, head, length, dest, final_url, timeout, max_bytes, progress)
        if ctype == "application/pdf":
            raise _AttemptFailed(
                f"served as application/pdf but the body is not a PDF (no {PDF_MAGIC.decode()} "
                f"in the first {HEAD_BYTES} bytes)")
        if _looks_html(ctype, head):
            if not follow:
                raise _AttemptFailed("an HTML page, not a PDF")
            cap = min(max_bytes, HTML_MAX_BYTES)
            body = bytearray(head)
            while chunk := _read(resp, CHUNK, timeout):
                body += chunk
                if len(body) > cap:
                    raise _too_big(len(body), cap)
            links = find_pdf_links(bytes(body), final_url, title)
            if not links:
                raise _AttemptFailed("the page has no link to a PDF")
        else:
            raise _AttemptFailed(f"not a PDF (content type {ctype})")

    errors = []
    for link in links[:MAX_LINKS_TRIED]:
        try:
            reachable(link)
            return _download(link, dest, title, timeout, max_bytes, progress, follow=False, reachable=reachable)
        except _AttemptFailed as e:
            errors.append(f"linked {link}: {e.reason}")
    raise _AttemptFailed("; ".join(errors))


def _stream_to_temp(
    resp: http.client.HTTPResponse,
    head: bytes,
    length: int | None,
    dest: Path,
    final_url: str,
    timeout: float,
    max_bytes: int,
    progress: bool,
) -> tuple[Path, str, str, int]:
    from tqdm import tqdm

    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(name)
    digest = hashlib.sha256()
    count = 0
    try:
        with os.fdopen(fd, "wb") as f, tqdm(
            total=length, unit="B", unit_scale=True, unit_divisor=1024, desc=dest.name,
            file=sys.stderr, disable=not progress, leave=False,
        ) as bar:
            chunk = head
            while chunk:
                count += len(chunk)
                if count > max_bytes:
                    raise _too_big(count, max_bytes)
                digest.update(chunk)
                f.write(chunk)
                bar.update(len(chunk))
                chunk = _read(resp, CHUNK, timeout)
            if length is not None and count != length:
                raise _AttemptFailed(f"incomplete download: got {count} of {length} bytes")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a source file is ordinary readable data
    except BaseException:
        _unlink(tmp)
        raise
    return tmp, digest.hexdigest(), final_url, count


def _unlink(p: Path) -> None:
    try:
        p.unlink()
    except FileNotFoundError:
        pass


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
        _unlink(Path(name))
        raise
