"""Catalog loading, source status, and the fetcher against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from assistant.catalog import (
    CatalogEntry,
    format_status,
    load_catalog,
    source_status,
)
from assistant.cli import main
from assistant.download import Limits
from assistant.errors import FetchError, LoadError
from assistant.fetch import FETCHED_RECORD, fetch_entry, fetch_missing, read_fetched_record
from assistant.landing import find_pdf_links

from .conftest import catalog_toml

REPO = Path(__file__).resolve().parents[1]
TITLE = "Survey Report of Efforts to Combat Trafficking"


def _make_pdf(text: str) -> bytes:
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 72), text)
    data = doc.tobytes()
    doc.close()
    return data


PDF = _make_pdf("Survey report: efforts to combat trafficking in human beings.")
OTHER_PDF = _make_pdf("Annual budget, unrelated.")
BIG_PDF = PDF + b"%" + b"x" * 300_000 + b"\n"  # still starts with %PDF-, just large

LANDING = b"""<!doctype html><html><head><title>Launch</title></head><body>
<p>Read the <a href="/files/budget.pdf">annual budget</a>.</p>
<p>Download the <a href="files/report.pdf">Survey Report on efforts to combat trafficking (PDF)</a>.</p>
<p><a href="#top">top</a> <a href="mailto:x@example.org">mail</a></p>
</body></html>"""
NO_LINK = b"<!doctype html><html><body><p>No documents here. <a href='/about.html'>About</a></p></body></html>"


class _Handler(BaseHTTPRequestHandler):
    """Routes for every outcome the fetcher must handle."""

    def log_message(self, *args):  # keep pytest output clean
        pass

    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the fetcher hung up on purpose (size cap, not a PDF): nothing to report

    def _send(self, code: int, body: bytes, ctype: str, length: bool = True, extra: dict | None = None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        if length:
            self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 - http.server naming
        p = self.path
        if p in ("/report.pdf", "/landing/files/report.pdf"):
            self._send(200, PDF, "application/pdf")
        elif p == "/files/budget.pdf":
            self._send(200, OTHER_PDF, "application/pdf")
        elif p == "/landing/index.html":
            self._send(200, LANDING, "text/html; charset=utf-8")
        elif p == "/nolink.html":
            self._send(200, NO_LINK, "text/html")
        elif p == "/fake.pdf":
            self._send(200, b"Sorry, this is plain text pretending to be a PDF.\n" * 5, "application/pdf")
        elif p == "/big.pdf":
            self._send(200, BIG_PDF, "application/pdf")
        elif p == "/big-nolength.pdf":  # HTTP/1.0 body delimited by closing the connection
            self._send(200, BIG_PDF, "application/pdf", length=False)
        elif p == "/slow.pdf":
            time.sleep(2.5)
            self._send(200, PDF, "application/pdf")
        elif p == "/stall.pdf":  # headers and a first part, then silence
            self.send_response(200)
            self.send_header("Content-Type", "application/pdf")
            self.send_header("Content-Length", str(len(BIG_PDF)))
            self.end_headers()
            self.wfile.write(BIG_PDF[:2000])
            self.wfile.flush()
            time.sleep(2.5)
        elif p == "/truncated.pdf":  # promises more than it sends, then closes
            self.send_response(200)
            self.send_header("Content-Type", "application/pdf")
            self.send_header("Content-Length", str(len(PDF) + 5000))
            self.end_headers()
            self.wfile.write(PDF)
        elif p == "/moved":
            self._send(302, b"", "text/plain", extra={"Location": "/report.pdf"})
        else:
            self._send(404, b"not found", "text/plain")


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def entry(url: str, pdf_url: str | None = None, sha256: str | None = None, file: str = "doc.pdf", id: str = "doc"):
    return CatalogEntry(id=id, file=file, title=TITLE, publisher="Test", year=2022,
                        url=url, pdf_url=pdf_url, sha256=sha256)


def leftovers(folder: Path) -> list[str]:
    """Everything in the folder except the fetch record: must be empty after a failure."""
    return sorted(p.name for p in folder.iterdir() if p.name != FETCHED_RECORD)


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ----------------------------------------------------------------------------- fetcher


def test_direct_pdf_is_saved_and_its_sha256_recorded(server, tmp_path):
    got = fetch_entry(entry(f"{server}/nolink.html", pdf_url=f"{server}/report.pdf"), tmp_path)
    saved = tmp_path / "doc.pdf"
    assert saved.read_bytes() == PDF
    sha = hashlib.sha256(PDF).hexdigest()
    assert got.sha256 == sha and got.bytes == len(PDF)
    rec = json.loads((tmp_path / FETCHED_RECORD).read_text())
    assert rec["doc.pdf"]["sha256"] == sha
    assert rec["doc.pdf"]["url"] == f"{server}/report.pdf"
    assert rec["doc.pdf"]["fetched_at"].startswith("20")
    assert leftovers(tmp_path) == ["doc.pdf"]  # no temp files left behind


def test_landing_page_link_is_followed_relative_and_by_title(server, tmp_path):
    got = fetch_entry(entry(f"{server}/landing/index.html"), tmp_path)
    # the relative link resolves against /landing/, and the title-matching link beats the budget PDF
    assert got.url == f"{server}/landing/files/report.pdf"
    assert (tmp_path / "doc.pdf").read_bytes() == PDF
    assert read_fetched_record(tmp_path)["doc.pdf"]["url"] == got.url


def test_failed_pdf_url_falls_back_to_the_landing_page(server, tmp_path):
    got = fetch_entry(entry(f"{server}/landing/index.html", pdf_url=f"{server}/gone.pdf"), tmp_path)
    assert got.url.endswith("/landing/files/report.pdf")


def test_redirect_is_followed(server, tmp_path):
    got = fetch_entry(entry(f"{server}/moved"), tmp_path)
    assert got.url == f"{server}/report.pdf"
    assert (tmp_path / "doc.pdf").read_bytes() == PDF


@pytest.mark.parametrize(
    "path, kwargs, expected",
    [
        ("/nolink.html", {}, "no link to a PDF"),
        ("/fake.pdf", {}, "served as application/pdf but the body is not a PDF"),
        ("/big.pdf", {"max_bytes": 100_000}, "larger than the 97.7 KB limit"),
        ("/big-nolength.pdf", {"max_bytes": 100_000}, "larger than the 97.7 KB limit"),
        ("/slow.pdf", {"timeout": 1}, "no answer within 1 s"),
        ("/stall.pdf", {"timeout": 1}, "stopped sending for more than 1 s"),
        ("/truncated.pdf", {}, "incomplete download"),
        ("/missing.pdf", {}, "HTTP 404"),
    ],
)
def test_failures_are_one_clear_line_and_leave_nothing(server, tmp_path, path, kwargs, expected):
    e = entry(f"{server}{path}")
    t0 = time.monotonic()
    with pytest.raises(FetchError) as exc:
        fetch_entry(e, tmp_path, limits=Limits(**kwargs))
    msg = str(exc.value)
    assert expected in msg
    assert "\n" not in msg
    assert msg.startswith("doc.pdf: cannot download (")
    assert f"Download it by hand from {server}{path} and save it as {tmp_path.as_posix()}/doc.pdf" in msg
    assert leftovers(tmp_path) == []
    assert not (tmp_path / FETCHED_RECORD).exists()
    assert time.monotonic() - t0 < 10


def test_progress_is_reported_as_bytes_arrive_and_nothing_is_printed(server, tmp_path, capfd):
    seen: list[tuple[str, int, int | None]] = []
    fetch_entry(entry(f"{server}/big.pdf"), tmp_path, progress=lambda *a: seen.append(a))
    assert capfd.readouterr() == ("", "")  # printing is the CLI's job
    assert len(seen) > 1 and all(f == "doc.pdf" and total == len(BIG_PDF) for f, _, total in seen)
    assert [n for _, n, _ in seen] == sorted(n for _, n, _ in seen) and seen[-1][1] == len(BIG_PDF)
    assert (tmp_path / "doc.pdf").stat().st_size == len(BIG_PDF)


def test_sha256_mismatch_fails_and_a_match_passes(server, tmp_path):
    with pytest.raises(FetchError, match="sha256 mismatch"):
        fetch_entry(entry(f"{server}/report.pdf", sha256="0" * 64), tmp_path)
    assert leftovers(tmp_path) == []
    ok = fetch_entry(entry(f"{server}/report.pdf", sha256=hashlib.sha256(PDF).hexdigest()), tmp_path)
    assert ok.path.read_bytes() == PDF


def test_fetch_missing_skips_present_files_and_collects_failures(server, tmp_path):
    (tmp_path / "have.pdf").write_bytes(b"my own copy")
    entries = [
        entry(f"{server}/report.pdf", file="have.pdf", id="have"),
        entry(f"{server}/report.pdf", file="sub/new.pdf", id="new"),
        entry(f"{server}/missing.pdf", file="bad.pdf", id="bad"),
    ]
    rep = fetch_missing(entries, tmp_path)
    assert rep.skipped == ["have"]
    assert [f.id for f in rep.fetched] == ["new"] and rep.fetched[0].path == tmp_path / "sub" / "new.pdf"
    assert [i for i, _ in rep.failed] == ["bad"] and "HTTP 404" in rep.failed[0][1]
    assert not rep.ok
    assert (tmp_path / "have.pdf").read_bytes() == b"my own copy"  # never overwritten
    assert (tmp_path / "sub" / "new.pdf").read_bytes() == PDF
    assert set(read_fetched_record(tmp_path)) == {"sub/new.pdf"}
    # `only` restricts the run and reports unknown ids
    rep2 = fetch_missing(entries, tmp_path, only=["bad", "nope"])
    assert rep2.fetched == [] and {i for i, _ in rep2.failed} == {"bad", "nope"}


def test_offline_fails_fast_with_the_hand_download_hint(tmp_path):
    port = closed_port()
    url = f"http://127.0.0.1:{port}/report.html"
    entries = [entry(url, pdf_url=f"http://127.0.0.1:{port}/report.pdf", file="unodc-ppp-compendium-2021.pdf", id="a"),
               entry(url, file="second.pdf", id="b")]
    t0 = time.monotonic()
    rep = fetch_missing(entries, tmp_path / "sources")
    assert time.monotonic() - t0 < 5
    assert [i for i, _ in rep.failed] == ["a", "b"]
    src = (tmp_path / "sources").as_posix()
    assert rep.failed[0][1] == (
        f"unodc-ppp-compendium-2021.pdf: cannot download (offline: connection to 127.0.0.1:{port} refused). "
        f"Download it by hand from {url} and save it as {src}/unodc-ppp-compendium-2021.pdf, "
        f"then run: assistant ingest {src}"
    )
    assert not (tmp_path / "sources").exists() or leftovers(tmp_path / "sources") == []


def test_unresolvable_host_is_reported_as_offline(tmp_path):
    with pytest.raises(FetchError, match=r"offline: cannot resolve no-such-host\.invalid"):
        fetch_entry(entry("https://no-such-host.invalid/report.pdf"), tmp_path)


def test_a_bad_address_is_one_line_not_a_crash(tmp_path):
    with pytest.raises(FetchError, match=r"doc\.pdf: cannot download \(http://\[::1/r\.pdf: not a valid address"):
        fetch_entry(entry("http://[::1/r.pdf"), tmp_path)


def test_find_pdf_links_ranks_title_matches_and_resolves_addresses():
    html = """<html><head><base href="https://example.org/pub/"></head><body>
      <a href="budget.pdf">Budget 2022</a>
      <a href="https://www.osce.org/files/f/documents/a/b/522934.pdf">Survey Report 2021 (full report)</a>
      <a href="/files/f/documents/c/d/1234">Efforts to combat trafficking</a>
      <a href="page.html">Survey report page</a>
      <a href="report.pdf#page=2">Survey report</a>
    </body></html>"""
    links = find_pdf_links(html, "https://example.org/news/1", TITLE)
    assert links == [
        "https://example.org/files/f/documents/c/d/1234",  # most title words (efforts, combat, trafficking)
        "https://example.org/pub/report.pdf",  # fragment dropped, <base> honoured, same host as the page
        "https://www.osce.org/files/f/documents/a/b/522934.pdf",
        "https://example.org/pub/budget.pdf",  # a PDF, but nothing in common with the title
    ]  # page.html is not a PDF link
    assert find_pdf_links("<p>nothing</p>", "https://example.org/", TITLE) == []
    # a malformed address on the page is skipped, not an error
    assert find_pdf_links('<a href="http://[::1/x.pdf">x</a> <a href="/r.pdf">r</a>', "https://example.org/", TITLE) == [
        "https://example.org/r.pdf"]


def test_cli_sources_fetch_and_list(server, tmp_path, capfd):
    src = tmp_path / "src"
    src.mkdir()
    (src / "catalog.toml").write_text(catalog_toml(
        dict(id="r", file="r.pdf", title=TITLE, publisher="P", year=2022, url=f"{server}/landing/index.html"),
        dict(id="big", file="big.pdf", title="Big", publisher="P", year=2022, url=f"{server}/big.pdf"),
    ), encoding="utf-8")
    store = ["--store", str(tmp_path / "store")]
    assert main(["sources", "fetch", "--dir", str(src), *store]) == 0
    out, err = capfd.readouterr()
    lines = out.splitlines()
    assert lines[0] == f"r.pdf: downloaded ({len(PDF)} bytes, sha256 {hashlib.sha256(PDF).hexdigest()})"
    assert lines[1].startswith(f"big.pdf: downloaded ({len(BIG_PDF)} bytes")
    assert lines[2] == f"Next: assistant ingest {src.as_posix()}"
    assert "big.pdf" in err and "B/s" in err  # the progress bar goes to stderr only
    assert main(["sources", "fetch", "r", "--dir", str(src), "-q", *store]) == 0
    assert capfd.readouterr() == ("r.pdf: already present, skipped\n", "")
    assert main(["sources", "fetch", "nope", "--dir", str(src), "-q", *store]) == 1
    assert capfd.readouterr().err == "nope: not in the catalog\n"
    assert main(["sources", "list", "--dir", str(src), *store]) == 0
    listing = capfd.readouterr().out
    assert "present" in listing and "r.pdf" in listing and "2 present" in listing
    assert not (tmp_path / "store").exists()  # listing never creates a store
    (src / "catalog.toml").unlink()
    assert main(["sources", "list", "--dir", str(src), *store]) == 1
    assert "catalog not found" in capfd.readouterr().err


def test_real_catalog_has_both_reports():
    entries = load_catalog(REPO / "sources" / "catalog.toml")
    by_id = {e.id: e for e in entries}
    assert set(by_id) >= {"osce-survey-report-2021", "unodc-ppp-compendium-2021"}
    osce, unodc = by_id["osce-survey-report-2021"], by_id["unodc-ppp-compendium-2021"]
    assert osce.file == "osce-survey-report-2021.pdf" and unodc.file == "unodc-ppp-compendium-2021.pdf"
    assert "Survey Report 2021" in osce.title and "OSCE" in osce.publisher and osce.year == 2022
    assert osce.url == "https://www.osce.org/secretariat/522997"
    assert "Public-Private Partnerships" in unodc.title and "UNODC" in unodc.publisher and unodc.year == 2021
    assert unodc.url == "https://www.unodc.org/unodc/en/ngos/ppp-compendium.html"
    for e in entries:
        assert e.description and (e.pdf_url is None or e.pdf_url.startswith("https://"))


@pytest.mark.parametrize(
    "text, reason",
    [
        ('[[document]]\nid = "a"\nfile = "a.pdf"\ntitle = "unterminated\n', "invalid TOML"),
        ('[[document]]\nid = "a"\nfile = "a.pdf"\ntitle = "T"\npublisher = "P"\nyear = 2020\n', "missing key(s): url"),
        ('[[document]]\nid = "a"\nfile = "a.pdf"\ntitle = "T"\npublisher = "P"\nyear = "2020"\nurl = "https://x.org"\n',
         "'year' must be an integer"),
        ('[[document]]\nid = "a"\nfile = "../a.pdf"\ntitle = "T"\npublisher = "P"\nyear = 2020\nurl = "https://x.org"\n',
         "'file' must be a path inside sources/"),
        ('[[document]]\nid = "a"\nfile = "a.pdf"\ntitle = "T"\npublisher = "P"\nyear = 2020\nurl = "https://x.org"\n'
         'sha256 = "abc"\n', "'sha256' must be 64 hexadecimal digits"),
        ('[[document]]\nid = "a"\nfile = "a.pdf"\ntitle = "T"\npublisher = "P"\nyear = 2020\nurl = "https://x.org"\n'
         'pdfurl = "https://x.org/a.pdf"\n', "unknown key(s): pdfurl"),
        ('[[document]]\nid = "a"\nfile = "a.pdf"\ntitle = "T"\npublisher = "P"\nyear = 2020\nurl = "https://x.org"\n' * 2,
         "duplicate id 'a'"),
        ('title = "no documents"\n', "no [[document]] entries"),
    ],
)
def test_malformed_catalog_is_one_line_naming_the_file(tmp_path, text, reason):
    p = tmp_path / "catalog.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(LoadError) as exc:
        load_catalog(p)
    msg = str(exc.value)
    assert msg.startswith(f"{p}: ") and reason in msg and "\n" not in msg


def test_missing_catalog_file(tmp_path):
    with pytest.raises(LoadError, match="catalog not found"):
        load_catalog(tmp_path / "nope.toml")


def test_source_status(tmp_path):
    src = tmp_path / "sources"
    (src / "sub").mkdir(parents=True)
    (src / "a.pdf").write_bytes(PDF)
    (src / "sub" / "notes.md").write_text("# notes")
    (src / "extra.txt").write_text("text")
    (src / "picture.jpg").write_bytes(b"\xff\xd8")  # unsupported: not listed
    (src / ".b.pdf.123.part").write_bytes(b"%PDF-")  # fetcher temp file: hidden, not listed
    (src / FETCHED_RECORD).write_text("{}")
    entries = [
        CatalogEntry("a", "a.pdf", "Report A", "P", 2020, "https://x.org/a"),
        CatalogEntry("b", "b.pdf", "Report B", "P", 2021, "https://x.org/b"),
    ]
    rows = source_status(entries, src, {"sub/notes.md", (src / "extra.txt").resolve().as_posix()})
    got = [(r.id, r.file, r.status, r.in_catalog) for r in rows]
    assert got == [
        ("a", "a.pdf", "present", True),
        ("b", "b.pdf", "missing", True),
        ("", "extra.txt", "ingested", False),  # matched by absolute path
        ("", "sub/notes.md", "ingested", False),  # matched by path relative to sources/
    ]
    # an ingested catalog entry, known to the store as sources/a.pdf
    rows2 = source_status(entries, src, {(src / "a.pdf").as_posix()})
    assert rows2[0].status == "ingested"

    table = format_status(rows, sources_dir="sources")
    lines = table.splitlines()
    assert lines[0].split() == ["STATUS", "ID", "FILE", "TITLE"]
    assert lines[1].index("a.pdf") == lines[0].index("FILE")  # columns line up
    assert "4 source(s): 2 ingested, 1 present, 1 missing." in table
    assert "assistant sources fetch" in table and "assistant ingest sources" in table
    assert source_status([], tmp_path / "absent") == []
