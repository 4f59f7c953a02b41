"""The library service on a real embedded Chroma store: list, upload, delete, reset, fetch and ingest,
with the lexical index kept in step and writes excluded across processes by the store's lock."""

from __future__ import annotations

import pytest

from assistant.cli import main as cli
from assistant.errors import AssistantError
from assistant.ingest import ingest_lock
from assistant.lexical import lexical_dir, lexical_is_current, load_or_build
from assistant.library import Library
from assistant.store import Store

from .conftest import REPORT_A, REPORT_B, catalog_toml, write_pdf


def test_reading_an_absent_store_creates_nothing(settings, tmp_path):
    lib = Library(settings, tmp_path / "sources")
    assert lib.documents() == [] and lib.files() == set()
    assert lib.status() == []  # no catalog: no status rows
    with pytest.raises(AssistantError, match="catalog.toml: catalog not found"):
        lib.status(missing_ok=False)
    assert not settings.store_dir.exists()


def test_upload_list_delete_keeps_the_lexical_index_in_step(settings, tmp_path):
    sources = tmp_path / "sources"
    lib = Library(settings, sources)
    up = write_pdf(tmp_path / "incoming" / "tmp123.pdf", REPORT_A, title="Compendium of Partnerships")
    own = write_pdf(sources / "survey.pdf", REPORT_B, title="Survey Report")
    bad = tmp_path / "incoming" / "fake.pdf"
    bad.write_bytes(b"not a pdf at all")

    twice = tmp_path / "incoming" / "tmp456.pdf"  # the same file picked twice: one line, one document
    twice.write_bytes(bad.read_bytes())
    res = lib.add_uploads([(up, "PPP compendium.pdf"), (bad, "fake.pdf"), (twice, "fake.pdf")])
    assert res.saved == ["PPP_compendium.pdf"]
    assert res.rejected == ["fake.pdf: not a PDF (no %PDF- header)"]
    assert res.message().splitlines() == ["fake.pdf: not a PDF (no %PDF- header)", "Ingested uploads/PPP_compendium.pdf."]
    assert lib.ingest([own], root=sources, progress=False).added == ["survey.pdf"]
    assert lib.files() == {"uploads/PPP_compendium.pdf", "survey.pdf"}
    again = lib.add_uploads([(up, "PPP compendium.pdf")])
    assert again.message() == "Already in the library: uploads/PPP_compendium.pdf."

    store = Store(settings)
    assert lexical_is_current(store)
    gone = lib.delete("uploads/PPP_compendium.pdf")
    assert gone.message() == "Deleted uploads/PPP_compendium.pdf from the library. Its uploaded copy was removed too."
    assert not (sources / "uploads" / "PPP_compendium.pdf").exists()
    assert lib.files() == {"survey.pdf"}
    assert lexical_is_current(store)  # rebuilt before the lock was released
    assert {c.file for c in load_or_build(store).chunks} == {"survey.pdf"}

    kept = lib.delete("survey.pdf")  # a file outside uploads/ is never touched
    assert not kept.upload_removed and own.is_file()
    assert lib.documents() == []
    with pytest.raises(AssistantError, match="survey.pdf: not in the library"):
        lib.delete("survey.pdf")
    with pytest.raises(AssistantError, match="choose a document"):
        lib.delete("")


def test_writes_wait_for_no_one_else_and_the_cli_goes_through_the_library(corpus, settings, capsys):
    store_args = ["--store", str(settings.store_dir)]
    assert cli(["ingest", str(corpus), "-q", *store_args]) == 0
    lib, store = Library(settings), Store(settings)
    with ingest_lock(store):  # another process's ingest, as far as flock can tell
        with pytest.raises(AssistantError, match="another ingest is writing"):
            lib.delete("ppp-compendium.pdf")
        with pytest.raises(AssistantError, match="another ingest is writing"):
            lib.reset()
    assert lib.files() == {"ppp-compendium.pdf", "survey/survey-report.pdf"}  # untouched
    capsys.readouterr()
    assert cli(["store", "delete", "ppp-compendium.pdf", *store_args]) == 0
    assert capsys.readouterr().err == "Deleted ppp-compendium.pdf from the library.\n"
    assert cli(["store", "delete", "ppp-compendium.pdf", *store_args]) == 1
    assert capsys.readouterr().err == "error: ppp-compendium.pdf: not in the library\n"
    assert {c.file for c in load_or_build(store).chunks} == {"survey/survey-report.pdf"}
    assert cli(["store", "reset", *store_args]) == 0
    assert lib.documents() == [] and not lexical_dir(store).exists()


def test_fetch_and_ingest_from_a_loopback_server(settings, tmp_path, www):
    folder, base = www
    write_pdf(folder / "report.pdf", REPORT_B, title="Survey Report")
    sources = tmp_path / "sources"
    lib = Library(settings, sources)
    with pytest.raises(AssistantError, match="no catalog at"):
        lib.fetch_and_ingest()
    sources.mkdir()
    (sources / "catalog.toml").write_text(catalog_toml(
        dict(id="s", file="osce/survey.pdf", title="Survey Report", publisher="OSCE", year=2022,
             url=f"{base}/index.html", pdf_url=f"{base}/report.pdf"),
        dict(id="g", file="gone.pdf", title="Gone", publisher="X", year=2020, url=f"{base}/gone.html"),
    ), encoding="utf-8")
    assert [(r.id, r.status) for r in lib.status()] == [("s", "missing"), ("g", "missing")]
    out = lib.fetch_and_ingest()
    lines = out.message().splitlines()
    assert lines[0].startswith("gone.pdf: cannot download (") and "HTTP 404" in lines[0]
    assert lines[1:] == ["Downloaded osce/survey.pdf.", "Ingested osce/survey.pdf."]
    assert [(r.id, r.status) for r in lib.status()] == [("s", "ingested"), ("g", "missing")]
    doc = lib.documents()[0]
    assert (doc["file"], doc["publisher"], doc["year"]) == ("osce/survey.pdf", "OSCE", 2022)  # catalog metadata
    assert lib.fetch_and_ingest(["s"]).message() == "Nothing to fetch: every catalog document is present."
