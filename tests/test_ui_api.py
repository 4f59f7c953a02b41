"""The UI's HTTP API through gradio_client: ``ask`` with page-exact citations, upload → library → ask,
server-side upload checks, delete, auth, and one-line errors. Real store, model and server."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from assistant.config import Settings
from tests.conftest import write_pdf

pytestmark = pytest.mark.slow  # launches the Gradio app (~15 s)

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

FILLER = (
    "The report reviews the legal framework, the coordination structures and the funding available to the "
    "national anti-trafficking bodies, and it summarises the replies of the authorities to the questionnaire. "
)

BASE_PAGES = [
    "Introduction\n\n" + FILLER * 2 + "The questionnaire was sent to every participating State in the spring.",
    "Findings on resources\n\n" + FILLER
    + "Insufficient funding of specialised shelters was the obstacle most often reported by the Marrowby authorities. "
    "Several agencies described staff turnover that slowed the identification of victims. " + FILLER,
    "Findings on cooperation\n\n" + FILLER
    + "Labour inspectors in the coastal provinces signed cooperation protocols with the prosecution service. " + FILLER,
]

UPLOAD_PAGES = [
    "Background\n\n" + FILLER * 2,
    "The Zephyria lighthouse programme\n\n" + FILLER
    + "The Zephyria lighthouse cooperative trained 480 fishermen to recognise forced labour at sea in 2020. "
    "Boat owners who joined the scheme agreed to unannounced checks of crew contracts. " + FILLER,
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client_for(url: str, auth=None):
    from gradio_client import Client

    return Client(url, verbose=False, auth=auth, analytics_enabled=False, download_files=False)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from assistant.ingest import ingest
    from assistant.webui.serve import serve

    root = tmp_path_factory.mktemp("ui-api")
    sources = root / "sources"
    write_pdf(sources / "marrowby-survey.pdf", BASE_PAGES, title="Marrowby Survey Report")
    settings = Settings(store_dir=root / "store", chroma_host=None)
    report = ingest([sources], settings, root=sources, progress=False)
    assert report.ok and report.added == ["marrowby-survey.pdf"], report.summary()
    demo, url = serve("127.0.0.1", free_port(), settings=settings, sources=sources, block=False, quiet=True)
    try:
        yield {"url": url, "root": root, "sources": sources, "settings": settings}
    finally:
        demo.close()


@pytest.fixture(scope="module")
def client(served):
    return client_for(served["url"])


def test_only_intended_endpoints_are_public(client):
    named = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/ask", "/upload", "/library"} <= named
    assert not any(n.startswith(("/respond", "/pick", "/clear", "/refresh")) for n in named), named


def test_ask_returns_answer_json_with_page_exact_citation(client):
    out = client.predict("Which obstacle did the Marrowby authorities report most often?", api_name="/ask")
    assert set(out) >= {"answer", "refused", "citations", "timings_ms", "backend", "standalone_question"}
    assert not out["refused"] and out["citations"], out
    top = out["citations"][0]
    assert top["file"] == "marrowby-survey.pdf" and top["page"] == 2, top
    assert "shelters" in top["text"] and "[1]" in out["answer"]
    assert out["standalone_question"] == "Which obstacle did the Marrowby authorities report most often?"
    a, b = top["span"]
    assert 0 <= a < b <= len(top["text"])


def test_upload_appears_in_library_and_is_cited(served, client, tmp_path):
    from gradio_client import handle_file

    src = write_pdf(tmp_path / "outside" / "zephyria report (2020).pdf", UPLOAD_PAGES, title="Zephyria Programme")
    status, table, *_ = client.predict([handle_file(str(src))], api_name="/upload")
    assert "uploads/zephyria_report_2020.pdf" in status, status
    saved = served["sources"] / "uploads" / "zephyria_report_2020.pdf"
    assert saved.read_bytes() == src.read_bytes()

    _, table, *_ = client.predict(api_name="/library")
    files = [row[1] for row in table["data"]]
    assert files == ["marrowby-survey.pdf", "uploads/zephyria_report_2020.pdf"], table
    row = table["data"][1]
    assert row[0] == "Zephyria Programme" and int(row[2]) == 2 and int(row[3]) >= 1 and row[4]

    out = client.predict("How many fishermen did the Zephyria lighthouse cooperative train?", api_name="/ask")
    top = out["citations"][0]
    assert (top["file"], top["page"]) == ("uploads/zephyria_report_2020.pdf", 2), out["citations"]
    assert "480" in out["answer"]

    # the same bytes again: reused, not duplicated
    status, *_ = client.predict([handle_file(str(src))], api_name="/upload")
    assert "already in the library" in status.lower() and not (saved.parent / "zephyria_report_2020-1.pdf").exists()

    # delete: gone from the library and from answers; the uploaded copy is removed
    status, table, *_ = client.predict("uploads/zephyria_report_2020.pdf", api_name="/delete")
    assert "Deleted" in status and not saved.exists()
    assert [row[1] for row in table["data"]] == ["marrowby-survey.pdf"]
    out = client.predict("How many fishermen did the Zephyria lighthouse cooperative train?", api_name="/ask")
    assert all(c["file"] == "marrowby-survey.pdf" for c in out["citations"])


def test_upload_rejects_disguised_file_on_the_server(served, client, tmp_path):
    from gradio_client import handle_file

    fake = tmp_path / "notes.pdf"
    fake.write_text("I am plain text pretending to be a PDF")
    status, table, *_ = client.predict([handle_file(str(fake))], api_name="/upload")
    assert status.strip() == "notes.pdf: not a PDF (no %PDF- header)"
    assert not (served["sources"] / "uploads" / "notes.pdf").exists()
    assert "notes.pdf" not in [row[1] for row in table["data"]]


def test_upload_size_limit_is_enforced_by_the_server(served, client, tmp_path, monkeypatch):
    """Two server-side gates: gradio's upload route (max_file_size from ASSISTANT_MAX_UPLOAD_MB at
    launch) answers 413, and the upload handler re-checks the limit before saving anything."""
    import httpx
    from gradio_client import handle_file

    from assistant.webui.serve import serve

    big = tmp_path / "big.txt"
    big.write_bytes(b"word " * 300_000)  # 1.5 MB

    # 1) the app's own check (limit lowered after launch, so gradio still accepts the bytes)
    monkeypatch.setenv("ASSISTANT_MAX_UPLOAD_MB", "1")
    status, *_ = client.predict([handle_file(str(big))], api_name="/upload")
    assert status.strip() == "big.txt: file is 1.4 MB; the upload limit is 1 MB"
    assert not (served["sources"] / "uploads" / "big.txt").exists()

    # 2) gradio's upload route in an app launched with the 1 MB limit, bypassing any client-side check
    demo, url = serve("127.0.0.1", free_port(), settings=served["settings"], sources=served["sources"],
                      block=False, quiet=True)
    try:
        with open(big, "rb") as fh:
            r = httpx.post(url.rstrip("/") + "/gradio_api/upload", files={"files": ("big.txt", fh, "text/plain")})
        assert r.status_code == 413, (r.status_code, r.text)
        small = tmp_path / "small.txt"
        small.write_text("a small note")
        with open(small, "rb") as fh:
            r = httpx.post(url.rstrip("/") + "/gradio_api/upload", files={"files": ("small.txt", fh, "text/plain")})
        assert r.status_code == 200, (r.status_code, r.text)
    finally:
        demo.close()


def test_auth_and_one_line_errors_on_an_empty_store(tmp_path):
    from gradio_client.exceptions import AppError

    from assistant.webui.serve import serve

    settings = Settings(store_dir=tmp_path / "empty-store", chroma_host=None)
    demo, url = serve("127.0.0.1", free_port(), auth="ana:s3cret", settings=settings, sources=tmp_path / "src",
                      block=False, quiet=True)
    try:
        with pytest.raises(Exception):
            client_for(url)  # no credentials: refused
        with pytest.raises(Exception):
            client_for(url, auth=("ana", "wrong"))
        c = client_for(url, auth=("ana", "s3cret"))
        with pytest.raises(AppError) as e:
            c.predict("anything at all?", api_name="/ask")
        msg = str(e.value)
        assert "no documents in the store" in msg and "Traceback" not in msg and "\n" not in msg.strip()
        _, table, *_ = c.predict(api_name="/library")
        assert table["data"] in ([], [["", "", "", "", ""]], [[None] * 5])
    finally:
        demo.close()


def test_catalog_status_and_fetch(tmp_path, www):
    """Fetch downloads a missing catalog report from a real local HTTP server and ingests it; an
    unreachable one is reported in one line; the catalog table shows each report's status."""
    from assistant.webui.serve import serve

    folder, base = www
    write_pdf(folder / "regional.pdf", UPLOAD_PAGES, title="Zephyria Programme")
    closed = free_port()
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "catalog.toml").write_text(
        f"""
[[document]]
id = "zeph"
file = "zephyria.pdf"
title = "Zephyria Programme"
publisher = "Test"
year = 2020
url = "{base}/index.html"
pdf_url = "{base}/regional.pdf"

[[document]]
id = "gone"
file = "gone.pdf"
title = "Unreachable report"
publisher = "Test"
year = 2021
url = "http://127.0.0.1:{closed}/report.html"
""",
        encoding="utf-8",
    )
    settings = Settings(store_dir=tmp_path / "store", chroma_host=None)
    demo, url = serve("127.0.0.1", free_port(), settings=settings, sources=sources, block=False, quiet=True)
    try:
        c = client_for(url)
        *_, catalog, _notice = c.predict(api_name="/library")
        assert [(r[0], r[1]) for r in catalog["data"]] == [("missing", "zeph"), ("missing", "gone")]

        status, table, _, _, catalog, _ = c.predict(api_name="/fetch")
        lines = status.splitlines()
        assert any(line.startswith("gone.pdf: cannot download") and "refused" in line for line in lines), status
        assert "Ingested zephyria.pdf." in lines, status
        assert [row[1] for row in table["data"]] == ["zephyria.pdf"]
        assert [(r[0], r[1]) for r in catalog["data"]] == [("ingested", "zeph"), ("missing", "gone")]
        out = c.predict("How many fishermen did the Zephyria lighthouse cooperative train?", api_name="/ask")
        assert out["citations"][0]["file"] == "zephyria.pdf" and "480" in out["answer"]
    finally:
        demo.close()
