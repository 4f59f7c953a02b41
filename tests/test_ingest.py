"""Ingest into a real embedded Chroma store: incremental, idempotent, replace, prune, bad input."""

from __future__ import annotations

import json
import shutil

import pytest

from assistant.cli import main as cli
from assistant.config import Settings
from assistant.errors import StoreMismatchError
from assistant.ingest import ingest
from assistant.store import Store

from .conftest import REPORT_A, write_pdf


def snapshot(settings: Settings) -> dict:
    """Everything a reader could see in the store, minus ingest timestamps."""
    store = Store(settings)
    col = store.chunks_collection()
    got = col.get(include=["documents", "metadatas", "embeddings"])
    chunks = {
        cid: (doc, json.dumps(meta, sort_keys=True), [round(float(x), 5) for x in emb[:8]])
        for cid, doc, meta, emb in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"])
    }
    docs = {d["doc_id"]: {k: v for k, v in d.items() if k != "ingested_at"} for d in store.documents()}
    return {"chunks": chunks, "docs": docs}


def test_ingest_pages_stats_and_rerun(corpus, settings, capsys):
    rep = ingest([corpus], settings, progress=False)
    assert rep.ok, rep.failed
    assert sorted(rep.added) == ["ppp-compendium.pdf", "survey/survey-report.pdf"]
    store = Store(settings)
    chunks = store.get_chunks()
    pages = {(c.file, p) for c in chunks for p in range(c.page_start, c.page_end + 1)}
    assert pages == {("ppp-compendium.pdf", p) for p in (1, 2, 3)} | {("survey/survey-report.pdf", p) for p in (1, 2)}
    hotel = [c for c in chunks if "12,000 employees" in c.text]
    assert hotel and all(c.page_at(c.text.index("12,000 employees"))[0] == 2 for c in hotel)
    shelters = [c for c in chunks if "Shelters for male victims" in c.text]
    assert shelters and all(c.page_at(c.text.index("Shelters for male"))[0] == 2 for c in shelters)
    assert all(c.doc_id and c.chunk_id.startswith(c.doc_id) for c in chunks)

    before = snapshot(settings)
    rep2 = ingest([corpus], settings, progress=False)
    assert rep2.added == [] and rep2.updated == [] and sorted(rep2.skipped) == sorted(rep.added)
    assert snapshot(settings) == before  # a re-run changes nothing

    assert cli(["store", "stats", "--json", "--store", str(settings.store_dir)]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["documents"] == 2 and stats["pages"] == 5
    assert stats["chunks"] == len(chunks)
    assert stats["embedding_model"] == "all-MiniLM-L6-v2"
    assert {d["file"] for d in stats["per_document"]} == {"ppp-compendium.pdf", "survey/survey-report.pdf"}
    assert all(d["title"] and d["pages"] and d["chunks"] for d in stats["per_document"])


def test_changed_file_replaced_not_duplicated(corpus, settings):
    ingest([corpus], settings, progress=False)
    f = corpus / "ppp-compendium.pdf"
    write_pdf(f, REPORT_A[:2] + ["Airlines\n\nCabin crew learned to spot victims travelling with controllers on flights."])
    rep = ingest([corpus], settings, progress=False)
    assert rep.updated == ["ppp-compendium.pdf"]
    chunks = [c for c in Store(settings).get_chunks() if c.file == "ppp-compendium.pdf"]
    assert any("Cabin crew" in c.text for c in chunks)
    assert not any("Machine learning tools" in c.text for c in chunks)
    raw = Store(settings).chunks_collection().get(include=["metadatas"])
    assert len(raw["ids"]) == len(Store(settings).get_chunks())  # old version's chunks are gone
    assert len(set(raw["ids"])) == len(raw["ids"])


def test_prune_drops_missing_files(corpus, settings):
    ingest([corpus], settings, progress=False)
    shutil.rmtree(corpus / "survey")
    rep = ingest([corpus], settings, prune=True, progress=False)
    assert rep.removed == ["survey/survey-report.pdf"]
    store = Store(settings)
    assert [d["file"] for d in store.documents()] == ["ppp-compendium.pdf"]
    assert all(c.file == "ppp-compendium.pdf" for c in store.get_chunks())
    assert store.chunks_collection().count() == len(store.get_chunks())


def test_bad_files_fail_alone_and_leave_store_unchanged(corpus, settings, capsys):
    ingest([corpus], settings, progress=False)
    before = snapshot(settings)
    bad = corpus / "broken.pdf"
    bad.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrunc")
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n")  # not read: a note, not a failure
    good = corpus / "new.md"
    good.write_text("# Hotline\n\nThe hotline received calls about forced labour in agriculture.\n")
    rc = cli(["ingest", str(corpus), "--store", str(settings.store_dir), "-q"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "broken.pdf" in err and "empty.txt" in err
    assert "image.png: skipped" in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 2 and all(len(e) < 300 for e in errors)
    after = snapshot(settings)
    new_docs = {d["file"] for d in after["docs"].values()} - {d["file"] for d in before["docs"].values()}
    assert new_docs == {"new.md"}
    for cid, v in before["chunks"].items():
        assert after["chunks"][cid] == v


def test_explicit_unsupported_file_is_a_failure(tmp_path, settings, capsys):
    f = tmp_path / "data.xlsx"
    f.write_bytes(b"PK\x03\x04")
    assert cli(["ingest", str(f), "--store", str(settings.store_dir), "-q"]) == 1
    assert "data.xlsx" in capsys.readouterr().err


def test_store_built_with_other_model_is_a_clear_error(corpus, settings):
    ingest([corpus], settings, progress=False)
    store = Store(settings)
    col = store.chunks_collection()
    meta = {k: v for k, v in col.metadata.items() if not k.startswith("hnsw")}
    col.modify(metadata={**meta, "embedding_model": "some-other-model"})
    with pytest.raises(StoreMismatchError) as e:
        Store(settings).chunks_collection()
    assert "some-other-model" in str(e.value) and "store reset" in str(e.value)


def test_reset_empties_store(corpus, settings):
    ingest([corpus], settings, progress=False)
    assert cli(["store", "reset", "--store", str(settings.store_dir)]) == 0
    assert Store(settings).documents() == []
