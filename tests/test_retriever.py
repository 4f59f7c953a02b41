"""The hybrid retriever over a real store: one ranking for every k, per-call k and filters, LangChain's standard suite."""

from __future__ import annotations

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from assistant.chain import Assistant
from assistant.config import Settings
from assistant.ingest import ingest
from assistant.retriever import HybridRetriever
from assistant.store import Store

from .conftest import REPORT_A, REPORT_B, write_pdf

TOPICS = [
    ("hotline", "calls to the national hotline", "reported labour trafficking in agriculture"),
    ("shelter", "beds in shelters for adult men", "were funded by the regional government"),
    ("banks", "suspicious transaction reports filed by banks", "led to financial investigations"),
    ("schools", "school resource officers trained on grooming signs", "referred students to counsellors"),
    ("hotels", "hotel employees trained to spot exploitation", "called the police about suspected cases"),
    ("platforms", "online advertisements removed by platforms", "were linked to recruitment fraud"),
]


def report_pages() -> list[str]:
    """Twelve pages on six topics, each topic twice in near-identical words: many close scores."""
    pages = []
    for year in (2021, 2022):
        for name, what, outcome in TOPICS:
            pages.append(
                f"{name.title()} in {year}\n\nIn {year} the number of {what} rose by {len(name) * 7} percent. "
                f"Most of the {what} {outcome}. Practitioners said the {what} depended on partnerships "
                f"with civil society. The survey of {year} counted {len(what) * 13} {what} across the region."
            )
    return pages


QUERIES = [
    "How many calls to the hotline reported labour trafficking?",
    "hotel employees trained to spot exploitation",
    "Which partnerships did practitioners say the work depended on?",
]


@pytest.fixture(scope="module")
def store_settings(tmp_path_factory) -> Settings:
    root = tmp_path_factory.mktemp("retriever")
    write_pdf(root / "corpus" / "ppp-compendium.pdf", REPORT_A, title="Compendium of Partnerships")
    write_pdf(root / "corpus" / "survey" / "survey-report.pdf", REPORT_B, title="Survey Report")
    write_pdf(root / "corpus" / "regional-review.pdf", report_pages(), title="Regional Review")
    s = Settings(store_dir=root / "store", chroma_host=None)
    assert ingest([root / "corpus"], s, progress=False).ok
    return s


@pytest.fixture(scope="module")
def retriever(store_settings, embedder) -> HybridRetriever:
    return HybridRetriever(store=Store(store_settings), embedder=embedder)


def ids(hits) -> list[str]:
    return [h.chunk.chunk_id for h in hits]


@pytest.mark.parametrize("query", QUERIES)
def test_top_k_is_the_head_of_one_ranking(retriever, query):
    longest = ids(retriever.search(query, k=50))
    assert len(longest) >= 15  # every chunk of the store
    for k in (1, 2, 3, 5, 8, 10, 12, 15):
        assert ids(retriever.search(query, k=k)) == longest[:k], f"k={k}"


def test_a_list_longer_than_the_candidates_keeps_the_head(store_settings, embedder):
    narrow = HybridRetriever(store=Store(store_settings), embedder=embedder, fetch_k=4)
    query = QUERIES[0]
    head = ids(narrow.search(query, k=4))
    longer = ids(narrow.search(query, k=12))
    assert len(longer) == 12 and len(set(longer)) == 12  # candidates of a deeper search were appended
    assert longer[:4] == head


def test_ask_retrieve_and_invoke_agree_for_every_k(store_settings):
    bot = Assistant(store_settings)
    query = QUERIES[0]
    for k in (1, 3, 5):
        ans = bot.ask(query, k=k)
        from_ask = ids(ans.hits[:k])
        assert ids(bot.retrieve(query, k=k)) == from_ask
        assert [d.id for d in bot.retriever.invoke(query, k=k)] == from_ask
        assert {c.chunk_id for c in ans.citations} <= set(from_ask)  # the answer quotes only what it was given


def test_invoke_honours_k_and_filter_per_call(retriever):
    query = "hotel staff training"
    assert len(retriever.invoke(query, k=2)) == 2
    assert len(retriever.invoke(query)) == retriever.k  # the constructor's k when the call gives none
    only = retriever.invoke(query, k=3, filter={"files": ["survey/survey-report.pdf"]})
    assert only and {d.metadata["file"] for d in only} == {"survey/survey-report.pdf"}
    assert retriever.invoke(query, filters={"year": 1999}) == []
    # a per-call filter wins over the constructor's
    narrowed = retriever.model_copy(update={"filters": {"files": ["regional-review.pdf"]}})
    assert {d.metadata["file"] for d in narrowed.invoke(query)} == {"regional-review.pdf"}
    assert {d.metadata["file"] for d in narrowed.invoke(query, filter={"files": ["ppp-compendium.pdf"]})} == {"ppp-compendium.pdf"}
    with pytest.raises(TypeError):
        retriever.invoke(query, top_n=3)  # an unknown search argument is an error, not silently ignored


def test_every_stage_can_be_switched_off(store_settings, embedder):
    plain = HybridRetriever(
        store=Store(store_settings), embedder=embedder, lexical_weight=0.0, frame_free=False, expand_neighbours=False,
    )
    query = QUERIES[1]
    hits = plain.search(query, k=6)
    qvec = embedder.encode([query])[0]
    dense = Store(store_settings).query(qvec, 6)
    assert ids(hits) == [c.chunk_id for c, _ in dense]  # with every stage off: plain dense order
    assert all(h.lexical_score is None for h in hits)


class TestStandardRetrieverSuite(RetrieversIntegrationTests):
    """LangChain's standard retriever tests (``langchain-tests``), as partner packages run them."""

    @pytest.fixture(autouse=True)
    def _store(self, store_settings, embedder):
        self._params = {"store": Store(store_settings), "embedder": embedder}

    @property
    def retriever_constructor(self) -> type[HybridRetriever]:
        return HybridRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return self._params

    @property
    def retriever_query_example(self) -> str:
        return "How did banks share typologies with law enforcement?"


def test_confidence_follows_the_signal_that_singles_out_a_passage():
    from assistant.retriever import confidence

    sharp = [9.0, 2.0, 1.9, 1.8, 1.7, 1.6, 1.5, 1.4, 1.3, 1.2]
    flat = [0.62, 0.61, 0.60, 0.60, 0.59, 0.59, 0.58, 0.58, 0.57, 0.57]
    assert confidence(sharp) > 2.5 > confidence(flat) > 0
    assert confidence(flat) == pytest.approx(confidence([x * 100 + 7 for x in flat]))  # scale-free


def test_expansion_keeps_a_passage_on_its_own_page():
    from assistant.records import Chunk
    from assistant.retriever import main_page, merge_with_next

    base = dict(doc_id="d", file="f.pdf", title="T", section="", page_label="", n_tokens=10)
    short = Chunk(chunk_id="a", text="The hotline received calls from", page_start=3, page_end=3, start=0, end=31, index=0, **base)
    long_next = Chunk(chunk_id="b", text="workers in agriculture. " * 20, page_start=4, page_end=4, start=0, end=480, index=1, **base)
    merged = merge_with_next(short, long_next)
    assert merged is not None and main_page(merged) == 4  # mostly the next page: search() keeps the chunk as it was
    brief_next = Chunk(chunk_id="c", text="workers in agriculture.", page_start=4, page_end=4, start=0, end=23, index=1, **base)
    assert main_page(merge_with_next(short, brief_next)) == 3


def test_unfiltered_dense_search_never_returns_uncommitted_chunks(store_settings, embedder, tmp_path):
    """With every document allowed, Chroma is searched without a filter (fast); chunks of no committed
    document version (an ingest in progress, a crash's leftovers) must still never come back."""
    import shutil

    from assistant.records import Chunk

    shutil.copytree(store_settings.store_dir, tmp_path / "store")
    s = Settings(store_dir=tmp_path / "store", chroma_host=None)
    store = Store(s)
    query = QUERIES[0]
    before = ids(HybridRetriever(store=store, embedder=embedder).search(query, k=8))
    qvec = embedder.encode([query])[0]
    ghosts = [Chunk(chunk_id=f"ghost-{i}", doc_id="ghost", file="ghost.pdf", title="Ghost", text=query,
                    page_start=1, page_end=1, page_label="1", section="", start=0, end=len(query), index=i)
              for i in range(3)]
    store.add_chunks(ghosts, [qvec] * 3, doc_sha="never-committed")  # the nearest possible vectors, no manifest record
    shas = {d["sha256"] for d in store.documents()}
    raw = store.query(qvec, 5)
    assert [c.doc_id for c, _ in raw[:3]] == ["ghost"] * 3  # they do crowd an unchecked search
    checked = store.query(qvec, 5, committed=shas)
    assert [c.chunk_id for c, _ in checked] == [c.chunk_id for c, _ in store.query(qvec, 5, where={"doc_sha": {"$in": sorted(shas)}})]
    assert ids(HybridRetriever(store=Store(s), embedder=embedder).search(query, k=8)) == before


def test_a_hit_found_by_bm25_alone_has_its_own_cosine(store_settings, embedder):
    """Dense scores must not depend on how many other passages were closer (the library's size)."""
    import numpy as np

    narrow = HybridRetriever(store=Store(store_settings), embedder=embedder, fetch_k=2)
    query = "suspicious transaction reports filed by banks"
    hits = narrow.search(query, k=8)
    assert len(hits) == 8 and all(h.dense_score is not None for h in hits)  # 2 dense candidates, 8 hits
    q = embedder.encode([query])[0]
    got = narrow.store.chunks_collection().get(ids=[h.chunk.chunk_id for h in hits], include=["embeddings"])
    vec = dict(zip(got["ids"], got["embeddings"]))
    for h in hits:
        assert h.dense_score == pytest.approx(float(np.asarray(vec[h.chunk.chunk_id]) @ q), abs=1e-4)
