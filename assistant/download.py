"""Download one verified PDF over HTTP(S) with httpx, into a temp file beside its destination.

The rules that keep a bad download from ever reaching the ingester:

* a short connect timeout, so an offline machine fails within seconds (``offline`` marks
  failures where the host could not be reached at all, so the caller can say so);
* a read timeout between bytes, and a size cap checked against Content-Length and against
  the bytes actually read;
* the body must start like a PDF (``%PDF-`` within the first 1024 bytes); an HTML page is
  read (up to 10 MB) for its most likely PDF link (``assistant.landing``), followed once;
* bytes go to a hidden temp file in the destination's folder; the caller renames it into
  place (``os.replace``) once it has checked the sha256, or deletes it.

Nothing here prints: progress is reported through a callback.
"""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from assistant import __version__

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
CONNECT_TIMEOUT = 3.0
HTML_MAX_BYTES = 10 * 1024 * 1024  # a landing page bigger than this is not a landing page
MAX_LINKS_TRIED = 3
PDF_MAGIC = b"%PDF-"
HEAD_BYTES = 1024
USER_AGENT = f"assistant/{__version__} (local research assistant; source fetcher)"

# (file name, bytes so far, total or None): called as bytes arrive
Progress = Callable[[str, int, "int | None"], None]


@dataclass(frozen=True)
class Limits:
    timeout: float = 30.0  # seconds without a byte from the server
    max_bytes: int = DEFAULT_MAX_BYTES
    connect_timeout: float = CONNECT_TIMEOUT


@dataclass(frozen=True)
class Downloaded:
    tmp: Path  # the verified bytes; the caller renames or deletes it
    sha256: str
    url: str  # the address the PDF bytes finally came from
    bytes: int


class DownloadFailed(Exception):
    """One address did not yield a verified PDF; ``offline`` marks network-level failures."""

    def __init__(self, reason: str, offline: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.offline = offline


def client(limits: Limits) -> httpx.Client:
    """An httpx client with the fetcher's timeouts, redirects followed and proxies from the environment."""
    return httpx.Client(
        timeout=httpx.Timeout(limits.timeout, connect=limits.connect_timeout),
        follow_redirects=True,
        headers={"User-Agent": USER_AGENT, "Accept": "application/pdf,text/html;q=0.9,*/*;q=0.5"},
    )


@dataclass
class Downloader:
    """Downloads through one client, remembering hosts found unreachable so each costs one try."""

    http: httpx.Client
    limits: Limits = field(default_factory=Limits)
    progress: Progress | None = None
    _offline: dict[str, str] = field(default_factory=dict)  # host:port -> reason

    def pdf(self, url: str, dest: Path, title: str = "", follow: bool = True) -> Downloaded:
        """Get a verified PDF from ``url`` (or, when ``follow``, from the page's best PDF link)."""
        try:
            host = _netloc(url)
        except ValueError as e:  # urlsplit's "Invalid IPv6 URL", a bad port
            raise DownloadFailed(f"not a valid address ({e})") from None
        try:
            links = self._get(url, dest, title, follow)
        except DownloadFailed as e:
            if e.offline:
                self._offline[host] = e.reason
            raise
        if isinstance(links, Downloaded):
            return links
        errors = []
        for link in links[:MAX_LINKS_TRIED]:
            try:
                return self.pdf(link, dest, title, follow=False)
            except DownloadFailed as e:
                errors.append(f"linked {link}: {e.reason}")
        raise DownloadFailed("; ".join(errors))

    def _get(self, url: str, dest: Path, title: str, follow: bool) -> Downloaded | list[str]:
        """The PDF at ``url``, or the PDF links of the HTML page there."""
        known = self._offline.get(_netloc(url))  # checked by pdf()
        if known:
            raise DownloadFailed(known, offline=True)
        try:
            with self.http.stream("GET", url) as resp:
                return self._read(resp, dest, title, follow)
        except httpx.TimeoutException as e:
            raise _timeout(e, url, self.limits) from None
        except httpx.TransportError as e:
            raise _transport(e, url) from None
        except (httpx.RequestError, httpx.InvalidURL) as e:  # too many redirects, a malformed address
            raise DownloadFailed(f"request failed: {e}") from None

    def _read(self, resp: httpx.Response, dest: Path, title: str, follow: bool) -> Downloaded | list[str]:
        if resp.status_code >= 400:
            raise DownloadFailed(f"HTTP {resp.status_code} {resp.reason_phrase}")
        length = _content_length(resp)
        if length is not None and length > self.limits.max_bytes:
            raise _too_big(length, self.limits.max_bytes)
        ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
        chunks = _Stream(resp, self.limits.timeout, length)
        head = chunks.head(HEAD_BYTES)
        if PDF_MAGIC in head[:HEAD_BYTES]:
            return self._save(chunks, head, length, dest, str(resp.url), "content-encoding" in resp.headers)
        if ctype == "application/pdf":
            raise DownloadFailed(
                f"served as application/pdf but the body is not a PDF (no {PDF_MAGIC.decode()} "
                f"in the first {HEAD_BYTES} bytes)")
        if not _looks_html(ctype, head):
            raise DownloadFailed(f"not a PDF (content type {ctype or 'unknown'})")
        if not follow:
            raise DownloadFailed("an HTML page, not a PDF")
        cap = min(self.limits.max_bytes, HTML_MAX_BYTES)
        body = bytearray(head)
        for chunk in chunks:
            body += chunk
            if len(body) > cap:
                raise _too_big(len(body), cap)
        from assistant.landing import find_pdf_links

        links = find_pdf_links(bytes(body), str(resp.url), title)
        if not links:
            raise DownloadFailed("the page has no link to a PDF")
        return links

    def _save(self, chunks: "_Stream", head: bytes, length: int | None, dest: Path, url: str,
              encoded: bool) -> Downloaded:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        tmp = Path(name)
        digest = hashlib.sha256()
        count = 0
        try:
            with os.fdopen(fd, "wb") as f:
                for chunk in _chain(head, chunks):
                    count += len(chunk)
                    if count > self.limits.max_bytes:
                        raise _too_big(count, self.limits.max_bytes)
                    digest.update(chunk)
                    f.write(chunk)
                    if self.progress:
                        self.progress(dest.name, count, length)
                if length is not None and not encoded and count != length:
                    raise DownloadFailed(f"incomplete download: got {count} of {length} bytes")
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)  # mkstemp makes 0600; a source file is ordinary readable data
        except BaseException:
            unlink(tmp)
            raise
        return Downloaded(tmp, digest.hexdigest(), url, count)


class _Stream:
    """The response body in chunks, with read errors turned into DownloadFailed."""

    def __init__(self, resp: httpx.Response, timeout: float, length: int | None):
        self._it = resp.iter_bytes()
        self.timeout = timeout
        self.length = length
        self.count = 0

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        try:
            chunk = next(self._it)
        except httpx.ReadTimeout:
            raise DownloadFailed(f"the server stopped sending for more than {self.timeout:g} s") from None
        except httpx.RemoteProtocolError:  # the connection closed before the promised end
            raise DownloadFailed(f"incomplete download: got {self.count} of {self.length or 'more'} bytes") from None
        self.count += len(chunk)
        return chunk

    def head(self, n: int) -> bytes:
        """At least ``n`` bytes (fewer only at the end of the body)."""
        head = b""
        for chunk in self:
            head += chunk
            if len(head) >= n:
                break
        return head


def _chain(head: bytes, rest):
    if head:
        yield head
    yield from rest


def unlink(p: Path) -> None:
    try:
        p.unlink()
    except FileNotFoundError:
        pass


def _netloc(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


def _cause(e: BaseException, kind: type) -> BaseException | None:
    """The first exception of ``kind`` in ``e``'s cause/context chain (httpx wraps socket errors)."""
    seen = set()
    while e is not None and id(e) not in seen:
        if isinstance(e, kind):
            return e
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return None


def _timeout(e: httpx.TimeoutException, url: str, limits: Limits) -> DownloadFailed:
    if isinstance(e, httpx.ConnectTimeout):
        return DownloadFailed(f"no answer from {_netloc(url)} within {limits.connect_timeout:g} s", offline=True)
    if isinstance(e, httpx.ReadTimeout):
        return DownloadFailed(f"no answer within {limits.timeout:g} s")
    return DownloadFailed(f"timed out: {e}")


def _transport(e: httpx.TransportError, url: str) -> DownloadFailed:
    if isinstance(e, httpx.ConnectError):
        if _cause(e, socket.gaierror):
            return DownloadFailed(f"cannot resolve {urlsplit(url).hostname}", offline=True)
        if _cause(e, ConnectionRefusedError):
            return DownloadFailed(f"connection to {_netloc(url)} refused", offline=True)
        return DownloadFailed(f"cannot reach {_netloc(url)}: {e}", offline=True)
    if isinstance(e, httpx.ProxyError):
        return DownloadFailed(f"proxy error: {e}", offline=True)
    return DownloadFailed(f"request failed: {e}")


def _content_length(resp: httpx.Response) -> int | None:
    try:
        n = int(resp.headers["content-length"])
    except (KeyError, ValueError):
        return None
    return n if n >= 0 else None


def _looks_html(content_type: str, head: bytes) -> bool:
    if content_type in ("text/html", "application/xhtml+xml"):
        return True
    start = head.lstrip()[:200].lower()
    return start.startswith((b"<!doctype html", b"<html")) or b"<html" in head.lower()


def _too_big(n: int, max_bytes: int) -> DownloadFailed:
    return DownloadFailed(f"larger than the {_size(max_bytes)} limit ({_size(n)} or more)")


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)
