"""Manifest reads per query stay small; every writer's change is still seen; the encoder is recorded."""

from __future__ import annotations

import pytest

from assistant.embeddings import encoder_meta, get_embedder
from assistant.errors import StoreMismatchError
from assistant.ingest import ingest
from assistant.store import GENERATION_ID, Store


class Spy:
    """Wraps a Chroma collection and records the arguments of each ``get``."""

    def __init__(self, col):
        self.col, self.gets = col, []

    def get(self, **kw):
        self.gets.append(kw)
        return self.col.get(**kw)

    def __getattr__(self, name):
        return getattr(self.col, name)


def test_unchanged_manifest_is_read_once(corpus, settings):
    ingest([corpus], settings, progress=False)
    store = Store(settings)
    first = store.documents()
    spy = Spy(store.docs_collection())
    store._docs = spy
    for _ in range(5):
        assert store.documents() == first
        store.fingerprint()
    assert spy.gets and all(g.get("ids") == [GENERATION_ID] for g in spy.gets)  # the marker only


def test_another_writer_is_noticed(corpus, settings):
    ingest([corpus], settings, progress=False)
    reader, writer = Store(settings), Store(settings)
    docs, fp = reader.documents(), reader.fingerprint()
    victim = docs[0]
    assert writer.delete_document(victim["file"])
    assert [d["doc_id"] for d in reader.documents()] == [d["doc_id"] for d in docs[1:]]
    assert reader.fingerprint() != fp
    ingest([corpus], settings, progress=False)  # another process re-adds it
    assert {d["doc_id"] for d in reader.documents()} == {d["doc_id"] for d in docs}


def test_delete_is_committed_before_chunks_go(corpus, settings):
    """A crash after the delete's commit leaves chunks that nobody sees and the sweep removes."""
    ingest([corpus], settings, progress=False)
    store = Store(settings)
    victim = store.documents()[0]
    store._write_manifest(victim["doc_id"], {"deleted": True, "file": victim["file"]}, "")  # the commit, then "crash"
    assert victim["doc_id"] not in {d["doc_id"] for d in Store(settings).documents()}
    assert all(c.doc_id != victim["doc_id"] for c in Store(settings).get_chunks())
    assert Store(settings).collect_garbage() == victim["chunks"]
    assert Store(settings).collect_garbage() == 0


def test_store_records_the_encoder_and_refuses_another(corpus, settings):
    ingest([corpus], settings, progress=False)
    store = Store(settings)
    meta = store.chunks_collection().metadata
    want = encoder_meta(settings.embedding_model)
    assert want == {"embedding_model": "all-MiniLM-L6-v2", "embedding_runtime": "onnxruntime", "embedding_precision": "fp32"}
    assert {k: meta[k] for k in want} == want
    assert get_embedder(settings).runtime == "onnxruntime fp32"
    assert store.stats()["embedding_runtime"] == "onnxruntime"

    col = store.chunks_collection()
    clean = {k: v for k, v in meta.items() if not k.startswith("hnsw")}
    col.modify(metadata={**clean, "embedding_runtime": "numpy", "embedding_precision": "fp32"})
    with pytest.raises(StoreMismatchError) as e:
        Store(settings).chunks_collection()
    msg = str(e.value)
    assert "\n" not in msg and "onnxruntime / fp32" in msg and "numpy / fp32" in msg and "store reset" in msg


def test_store_from_before_the_record_is_refused(corpus, settings):
    """Stores built before the runtime was recorded were embedded by torch: rebuild, as for a model change."""
    ingest([corpus], settings, progress=False)
    col = Store(settings).chunks_collection()
    legacy = {k: v for k, v in col.metadata.items() if not k.startswith("hnsw") and k not in ("embedding_runtime", "embedding_precision")}
    col.modify(metadata=legacy)
    with pytest.raises(StoreMismatchError, match="sentence-transformers / fp32"):
        Store(settings).chunks_collection()
