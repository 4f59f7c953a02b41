"""The UI's HTTP API through gradio_client: ``ask`` (history, k, documents, answerer) with page-exact
citations, upload → library → ask, server-side upload checks, delete, auth, the JSON error shape and the
cross-site guard. Real store, model and server."""

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


def test_only_intended_endpoints_are_public_and_documented(client):
    info = client.view_api(print_info=False, return_format="dict")
    named = info["named_endpoints"]
    assert set(named) == {"/ask", "/upload", "/library", "/delete", "/fetch"}, set(named)
    assert not info["unnamed_endpoints"]
    for name, e in named.items():
        assert e["description"], name  # every endpoint says what it does
        assert not any(r["label"].startswith("value_") for r in e["returns"]), (name, e["returns"])
    params = [p["parameter_name"] for p in named["/ask"]["parameters"]]
    assert params == ["question", "history", "k", "documents", "answerer"]
    assert [p["parameter_has_default"] for p in named["/ask"]["parameters"]] == [False, True, True, True, True]


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


def test_ask_takes_history_k_documents_and_answerer(client):
    first = "Which obstacle did the Marrowby authorities report most often?"
    ans = client.predict(first, api_name="/ask")["answer"]
    out = client.predict("And what slowed the identification of victims?", [[first, ans]], 2,
                         ["marrowby-survey.pdf"], "extractive", api_name="/ask")
    assert "Marrowby" in out["standalone_question"], out["standalone_question"]  # the history reached the retriever
    assert out["citations"] and len(out["citations"]) <= 2
    none = client.predict(first, None, None, ["no-such-report.pdf"], api_name="/ask")
    assert not none["citations"] or all(c["file"] == "no-such-report.pdf" for c in none["citations"])
    bad = client.predict(first, None, None, None, "crystal-ball", api_name="/ask")
    assert bad["error"]["kind"] == "error" and "crystal-ball" in bad["error"]["message"]


@pytest.mark.parametrize(
    "question, kind, words",
    [("", "bad_question", "empty question"), ("   ", "bad_question", "empty question"),
     ("x" * 1001, "bad_question", "1,001 characters; the limit is 1,000")],
)
def test_ask_refuses_empty_and_over_long_questions(client, question, kind, words):
    out = client.predict(question, api_name="/ask")
    assert set(out) == {"error"} and set(out["error"]) == {"kind", "message"}
    assert out["error"]["kind"] == kind and words in out["error"]["message"], out


def _library_files(client) -> list[str]:
    return [d["file"] for d in client.predict(api_name="/library")["documents"]]


def test_upload_appears_in_library_and_is_cited(served, client, tmp_path):
    from gradio_client import handle_file

    src = write_pdf(tmp_path / "outside" / "zephyria report (2020).pdf", UPLOAD_PAGES, title="Zephyria Programme")
    status = client.predict([handle_file(str(src))], api_name="/upload")
    assert "uploads/zephyria_report_2020.pdf" in status, status
    saved = served["sources"] / "uploads" / "zephyria_report_2020.pdf"
    assert saved.read_bytes() == src.read_bytes()

    docs = client.predict(api_name="/library")["documents"]
    assert [d["file"] for d in docs] == ["marrowby-survey.pdf", "uploads/zephyria_report_2020.pdf"], docs
    d = docs[1]
    assert d["title"] == "Zephyria Programme" and d["pages"] == 2 and d["chunks"] >= 1 and d["ingested_at"]

    out = client.predict("How many fishermen did the Zephyria lighthouse cooperative train?", api_name="/ask")
    top = out["citations"][0]
    assert (top["file"], top["page"]) == ("uploads/zephyria_report_2020.pdf", 2), out["citations"]
    assert "480" in out["answer"]

    # the same bytes again: reused, not duplicated
    status = client.predict([handle_file(str(src))], api_name="/upload")
    assert "already in the library" in status.lower() and not (saved.parent / "zephyria_report_2020-1.pdf").exists()

    # delete: gone from the library and from answers; the uploaded copy is removed
    out = client.predict("uploads/zephyria_report_2020.pdf", api_name="/delete")
    assert out["message"].startswith("Deleted") and not saved.exists()
    assert _library_files(client) == ["marrowby-survey.pdf"]
    out = client.predict("How many fishermen did the Zephyria lighthouse cooperative train?", api_name="/ask")
    assert all(c["file"] == "marrowby-survey.pdf" for c in out["citations"])
    gone = client.predict("uploads/zephyria_report_2020.pdf", api_name="/delete")
    assert "not in the library" in gone["error"]["message"]


def test_upload_rejects_disguised_file_on_the_server(served, client, tmp_path):
    from gradio_client import handle_file

    fake = tmp_path / "notes.pdf"
    fake.write_text("I am plain text pretending to be a PDF")
    status = client.predict([handle_file(str(fake))], api_name="/upload")
    assert status.strip() == "notes.pdf: not a PDF (no %PDF- header)"
    assert not (served["sources"] / "uploads" / "notes.pdf").exists()
    assert "notes.pdf" not in _library_files(client)


def test_upload_error_names_the_file_not_the_servers_folders(served, client, tmp_path):
    from gradio_client import handle_file

    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n" + b"not really a pdf body " * 20)
    status = client.predict([handle_file(str(broken))], api_name="/upload")
    assert "broken.pdf" in status, status
    for folder in (str(served["root"]), str(Path.cwd()), "/tmp/"):
        assert folder not in status, status


def test_empty_upload_is_a_status_line(client):
    assert client.predict([], api_name="/upload") == "Choose one or more files first."


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
    status = client.predict([handle_file(str(big))], api_name="/upload")
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


def test_cross_site_posts_are_refused(served):
    """A page on another site cannot upload or trigger events (CSRF); the page itself and scripts can."""
    import httpx

    base = served["url"].rstrip("/")
    host = base.split("//", 1)[1]

    def post(path: str, **headers) -> int:
        return httpx.post(base + path, files={"files": ("note.txt", b"a note", "text/plain")}, headers=headers).status_code

    assert post("/gradio_api/upload", Origin="http://evil.example") == 403
    assert post("/gradio_api/upload", Origin="null") == 403
    assert post("/gradio_api/upload", **{"Sec-Fetch-Site": "cross-site"}) == 403
    join = httpx.post(base + "/gradio_api/queue/join", json={"data": [], "fn_index": 0, "session_hash": "x"},
                      headers={"Origin": "http://evil.example"})
    assert join.status_code == 403
    assert post("/gradio_api/upload", Origin=f"http://{host}", **{"Sec-Fetch-Site": "same-origin"}) == 200
    assert post("/gradio_api/upload") == 200  # scripts send no Origin
    assert httpx.get(base + "/", headers={"Origin": "http://evil.example"}).status_code == 200  # reads are fine


def test_auth_and_json_errors_on_an_empty_store(tmp_path, capfd, caplog):
    import logging

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
        caplog.clear()
        with caplog.at_level(logging.INFO):
            out = c.predict("anything at all?", api_name="/ask")
        logged = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(logged) == 1 and "empty_store" in logged[0].getMessage() and not logged[0].exc_info, logged
        assert out["error"]["kind"] == "empty_store", out
        assert "no documents in the store" in out["error"]["message"]
        assert c.predict(api_name="/library") == {"documents": [], "catalog": []}
    finally:
        demo.close()
    assert "Traceback" not in capfd.readouterr().err


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
        catalog = c.predict(api_name="/library")["catalog"]
        assert [(r["status"], r["id"]) for r in catalog] == [("missing", "zeph"), ("missing", "gone")]

        status = c.predict(api_name="/fetch")["message"]
        lines = status.splitlines()
        assert any(line.startswith("gone.pdf: cannot download") and "refused" in line for line in lines), status
        assert "Ingested zephyria.pdf." in lines, status
        lib = c.predict(api_name="/library")
        assert [d["file"] for d in lib["documents"]] == ["zephyria.pdf"]
        assert [(r["status"], r["id"]) for r in lib["catalog"]] == [("ingested", "zeph"), ("missing", "gone")]
        out = c.predict("How many fishermen did the Zephyria lighthouse cooperative train?", api_name="/ask")
        assert out["citations"][0]["file"] == "zephyria.pdf" and "480" in out["answer"]
    finally:
        demo.close()
