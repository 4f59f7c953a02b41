"""The segmented BM25 index: same ranking as a from-scratch bm25s index, incremental and crash-safe."""

from __future__ import annotations

import json
import random

import bm25s
import numpy as np
import pytest

from assistant.ingest import ingest
from assistant.lexical import LexicalIndex, Segment, chunk_text, lexical_dir, sync, tokenize
from assistant.records import Chunk
from assistant.terms import stem_words
from assistant.store import Store

WORDS = (
    "trafficking victims labour exploitation border police shelter hotline recruitment agency migrant workers "
    "children online platform court prosecution referral identification survey partnership hotel training "
    "debt bondage forced begging fishing vessels construction domestic work passport confiscation wages"
).split()


def make_chunks(n_docs: int, per_doc: int, seed: int = 0) -> list[Chunk]:
    rng = random.Random(seed)
    out = []
    for d in range(n_docs):
        for i in range(per_doc):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 60)))
            out.append(
                Chunk(chunk_id=f"d{d}-{i}", doc_id=f"d{d}", file=f"doc{d:02d}.pdf", title=f"Report {d}", text=text,
                      page_start=i + 1, page_end=i + 1, page_label="", section="", start=0, end=len(text), index=i)
            )
    return out


def reference(chunks: list[Chunk], query: str, n: int) -> list[tuple[str, float]]:
    """A from-scratch bm25s index over the chunks of the documents holding a query term."""
    q = set(tokenize([query])[0])
    touched = {c.doc_id for c in chunks if q & set(tokenize([chunk_text(c)])[0])}
    chunks = [c for c in chunks if c.doc_id in touched]
    bm = bm25s.BM25()
    bm.index(bm25s.tokenize([chunk_text(c) for c in chunks], stopwords="english", stemmer=stem_words, show_progress=False),
             show_progress=False)
    ids, scores = bm.retrieve(bm25s.tokenize([query], stopwords="english", stemmer=stem_words, show_progress=False),
                              k=n, show_progress=False)
    return [(chunks[int(i)].chunk_id, float(s)) for i, s in zip(ids[0], scores[0]) if s > 0]


QUERIES = ["forced begging of children", "hotel training hotline", "passport confiscation wages debt bondage",
           "police police shelter", "fishing vessels"]


def assert_same_ranking(ours, ref):
    assert [s for _, s in ours] == pytest.approx([s for _, s in ref], rel=1e-4)
    # ids may swap only between equal scores
    for (a, sa), (b, sb) in zip(ours, ref):
        assert a == b or sa == pytest.approx(sb, rel=1e-4)


def test_scores_equal_a_from_scratch_bm25s_index():
    chunks = make_chunks(6, 25)
    index = LexicalIndex.build(chunks, "fp")
    assert len(index.segments) == 6
    for q in QUERIES:
        ours = [(c.chunk_id, s) for c, s in index.search(q, 15)]
        ref = reference(chunks, q, 15)
        assert ours and len(ours) == len(ref)
        assert_same_ranking(ours, ref)


def test_add_and_remove_equal_a_rebuild():
    chunks = make_chunks(5, 20, seed=1)
    index = LexicalIndex.build([c for c in chunks if c.doc_id != "d4"], "fp")
    index.add_document("d4", "sha4", [c for c in chunks if c.doc_id == "d4"])
    for q in QUERIES:
        assert_same_ranking([(c.chunk_id, s) for c, s in index.search(q, 10)], reference(chunks, q, 10))
    assert index.remove_document("d1") and not index.remove_document("d1")
    rest = [c for c in chunks if c.doc_id != "d1"]
    for q in QUERIES:
        got = index.search(q, 10)
        assert all(c.doc_id != "d1" for c, _ in got)
        assert_same_ranking([(c.chunk_id, s) for c, s in got], reference(rest, q, 10))


def test_restrictions_keep_global_statistics():
    chunks = make_chunks(4, 15, seed=2)
    index = LexicalIndex.build(chunks, "fp")
    q = "hotel training hotline"
    full = {c.chunk_id: s for c, s in index.search(q, 60)}
    only = index.search(q, 60, doc_ids={"d2"})
    assert only and all(c.doc_id == "d2" for c, _ in only)
    assert all(s == pytest.approx(full[c.chunk_id]) for c, s in only)  # same scores as unrestricted
    by_chunk = index.search(q, 60, allowed=lambda c: c.index % 2 == 0)
    assert by_chunk and all(c.index % 2 == 0 for c, _ in by_chunk)
    assert index.search("the of and", 5) == []  # stopwords only


def _unrelated(n_docs: int, per_doc: int, seed: int) -> list[Chunk]:
    """Documents sharing no word with WORDS (what bench_scale's synthetic copies are to the corpus)."""
    rng = random.Random(seed)
    vocab = ["zorvath", "quimble", "drastop", "fennix", "glorbat", "wuzzle", "plimmer", "krandor"]
    out = []
    for d in range(n_docs):
        for i in range(per_doc):
            text = " ".join(rng.choice(vocab) for _ in range(rng.randint(5, 60)))
            out.append(Chunk(chunk_id=f"u{d}-{i}", doc_id=f"u{d}", file=f"unrelated{d:02d}.pdf", title=f"Zorvath {d}",
                             text=text, page_start=1, page_end=1, page_label="", section="", start=0, end=len(text), index=i))
    return out


def test_documents_sharing_no_query_term_do_not_change_scores():
    """A library 10x larger in documents unrelated to the question ranks and scores its passages alike."""
    chunks = make_chunks(4, 20, seed=4)
    small = LexicalIndex.build(chunks, "fp")
    big = LexicalIndex.build(chunks + _unrelated(36, 20, seed=5), "fp")
    for q in QUERIES:
        a = {c.chunk_id: s for c, s in small.search(q, 80)}  # every chunk of the 4 documents
        assert len(a) > 20 and a == {c.chunk_id: s for c, s in big.search(q, 80)}  # exactly equal scores
    # a document that does share a query term is part of the statistics: scores move
    related = make_chunks(1, 20, seed=6)
    for c in related:
        c.doc_id, c.chunk_id = "new", "new-" + c.chunk_id
    grown = LexicalIndex.build(chunks + related, "fp")
    assert [s for _, s in small.search(QUERIES[0], 5)] != [s for _, s in grown.search(QUERIES[0], 5)]


def test_segment_round_trip(tmp_path):
    chunks = [c for c in make_chunks(1, 12, seed=3)]
    seg = Segment.build("d0", "abc", chunks)
    seg.save(tmp_path)
    back = Segment.load(tmp_path, seg.name, "d0", "abc")
    assert [c.chunk_id for c in back.chunks] == [c.chunk_id for c in chunks]
    assert set(back.postings) == set(seg.postings)
    for t, (rows, tfs) in seg.postings.items():
        np.testing.assert_array_equal(back.postings[t][0], rows)
        np.testing.assert_array_equal(back.postings[t][1], tfs)
    np.testing.assert_array_equal(back.lengths, seg.lengths)
    assert not any(p.name.startswith(".build-") for p in tmp_path.iterdir())


def test_sync_touches_only_the_changed_document(corpus, settings, monkeypatch):
    ingest([corpus], settings, progress=False)
    store = Store(settings)
    base = lexical_dir(store)
    record = json.loads((base / "index.json").read_text())
    assert record["fingerprint"] == store.fingerprint() and len(record["segments"]) == len(store.documents())
    before = {p.name: p.stat().st_mtime_ns for p in base.iterdir() if p.is_dir()}

    built = []
    real = Segment.build.__func__
    monkeypatch.setattr(Segment, "build", classmethod(lambda cls, *a: built.append(a[0]) or real(cls, *a)))
    victim = store.documents()[0]
    assert store.delete_document(victim["file"])
    index = sync(store)
    assert built == []  # a delete builds nothing
    after = {p.name: p.stat().st_mtime_ns for p in base.iterdir() if p.is_dir()}
    assert set(after) == set(before) - {f"{victim['doc_id']}-{victim['sha256'][:16]}"}
    assert all(after[n] == before[n] for n in after)  # the other segments were not rewritten
    assert victim["doc_id"] not in index.documents

    ingest([corpus], settings, progress=False)  # brings the deleted document back
    assert built == [victim["doc_id"]]  # only it was indexed
    fresh = LexicalIndex.build(store.get_chunks(), "x")
    for q in ["hotel staff training", "forced begging increased markedly"]:
        assert [(c.chunk_id, round(s, 4)) for c, s in sync(store).search(q, 8)] == [
            (c.chunk_id, round(s, 4)) for c, s in fresh.search(q, 8)
        ]


def test_torn_index_file_or_orphan_segment_is_recovered(corpus, settings):
    ingest([corpus], settings, progress=False)
    store = Store(settings)
    base = lexical_dir(store)
    (base / ".build-crashed").mkdir()  # a segment build killed before its rename
    (base / "index.json").write_text("{not json")  # cannot happen (atomic replace), but must not break
    index = sync(store)
    assert index.search("hotel staff training", 3)
    assert json.loads((base / "index.json").read_text())["fingerprint"] == store.fingerprint()
    assert not (base / ".build-crashed").exists()


def test_tokenize_is_shared_by_chunks_and_queries():
    assert tokenize(["Trafficking of the victims"]) == [["traffick", "victim"]]


def test_share_is_the_part_of_the_library_that_uses_a_word():
    chunks = make_chunks(3, 10)
    index = LexicalIndex.build(chunks, "fp")
    uses = sum("hotline" in c.text.split() for c in chunks)
    assert index.share("hotline") == pytest.approx(uses / len(chunks))
    assert index.share("hotlines") == index.share("hotline")  # stems, as BM25 reads them
    assert index.share("airlines") == 0.0
    assert index.share("the") == 1.0  # a stopword tells nothing


def test_segments_keep_vectors_for_an_exact_dense_search(corpus, settings, tmp_path):
    """The index keeps each committed chunk's vector; its dense search equals Chroma's on a small store."""
    ingest([corpus], settings, progress=False)
    store = Store(settings)
    index = sync(store)
    assert index.has_vectors and all((lexical_dir(store) / s.name / "vectors.npy").is_file() for s in index.segments)
    q = np.asarray(store.chunks_collection().get(limit=1, include=["embeddings"])["embeddings"][0], dtype=np.float32)
    exact = index.dense(q, 5)
    assert exact[0][1] == pytest.approx(1.0, abs=1e-5)  # the chunk whose vector was asked comes first
    chroma = store.query(q, 5)
    assert [c.chunk_id for c, _ in exact] == [c.chunk_id for c, _ in chroma]
    assert [s for _, s in exact] == pytest.approx([s for _, s in chroma], abs=1e-4)
    one = index.documents and next(iter(index.documents))
    assert {c.doc_id for c, _ in index.dense(q, 5, doc_ids={one})} == {one}
    # the vectors are read back with the segment (a new process loads them from disk)
    seg = Segment.load(lexical_dir(store), index.segments[0].name, index.segments[0].doc_id, index.segments[0].sha)
    np.testing.assert_array_equal(seg.vectors, index.segments[0].vectors)
    # an index from before the vectors were kept (format 1: segments without vectors.npy) gains them
    base = lexical_dir(store)
    for s in index.segments:
        (base / s.name / "vectors.npy").unlink()
    record = json.loads((base / "index.json").read_text())
    (base / "index.json").write_text(json.dumps({**record, "format": 1}))
    import assistant.lexical as lexical

    lexical._LOADED.clear()
    again = sync(Store(settings))
    assert again.has_vectors and all((base / s.name / "vectors.npy").is_file() for s in again.segments)
