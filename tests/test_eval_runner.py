"""The evaluation runner end to end: a generated two-PDF corpus, the real ingest, store and chain."""

from __future__ import annotations

from dataclasses import replace

import json
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.evaluation.cli import main
from assistant.evaluation.compare import compare_text
from assistant.evaluation.questions import GoldRef, Question
from assistant.evaluation.runner import (
    SUMMARY_KEYS,
    answer_citations,
    corpus_key,
    check_corpus,
    eval_settings,
    hits_to_passages,
    make_record,
    missing_gold,
    run_eval,
)
from assistant.records import Answer, Chunk, Citation, Hit

PAGES = {
    "pdf/bees.pdf": [
        "Honey bees communicate the direction of food with the waggle dance. The angle of the dance relative to "
        "vertical encodes the angle between the sun and the flowers, and its duration encodes the distance.",
        "A healthy colony keeps its brood nest at about 35 degrees Celsius. Worker bees shiver their flight muscles "
        "to warm the nest and fan their wings at the entrance to cool it on hot days.",
        "Beekeepers in the valley registered 1,284 hives in 2019. Varroa mites were the main cause of winter losses, "
        "followed by queen failure and starvation.",
    ],
    "pdf/lighthouses.pdf": [
        "The Fresnel lens, invented by Augustin-Jean Fresnel in 1822, concentrates a lamp's light into a beam using "
        "concentric rings of prisms, so that a small flame can be seen more than twenty nautical miles away.",
        "Lighthouse keepers logged weather observations every four hours and trimmed the lamp wicks each night, "
        "which is why they were often called wickies.",
        "The Skerry Point light was automated in 1987 and its keepers' cottage became a museum about shipwrecks "
        "along the northern coast.",
    ],
}

QUESTIONS = [
    {"id": "r1", "question": "How do honey bees tell each other where food is?", "answerable": True,
     "facts": ["waggle dance"], "gold": [{"file": "pdf/bees.pdf", "pages": [1]}], "tags": ["paraphrase"]},
    {"id": "r2", "question": "At what temperature do bees keep the brood nest?", "answerable": True,
     "facts": ["35"], "gold": [{"file": "pdf/bees.pdf", "pages": [2]}], "tags": ["numeric"]},
    {"id": "r3", "question": "How many hives were registered by valley beekeepers in 2019?", "answerable": True,
     "facts": ["1,?284"], "gold": [{"file": "pdf/bees.pdf", "pages": [3]}], "tags": ["numeric"]},
    {"id": "r4", "question": "Who invented the Fresnel lens and when?", "answerable": True,
     "facts": ["1822"], "gold": [{"file": "pdf/lighthouses.pdf", "pages": [1]}], "tags": ["definition"]},
    {"id": "r5", "question": "Why were lighthouse keepers called wickies?", "answerable": True,
     "facts": ["wick"], "gold": [{"file": "lighthouses.pdf"}], "tags": ["definition"]},
    {"id": "r6", "question": "What is the <script>boiling point</script> of mercury at sea level?", "answerable": False,
     "tags": ["unanswerable"]},
]


@pytest.fixture(scope="module")
def eval_set(tmp_path_factory) -> Path:
    import pymupdf

    root = tmp_path_factory.mktemp("evalrun")
    for rel, pages in PAGES.items():
        path = root / "corpus" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = pymupdf.open()
        for text in pages:
            page = doc.new_page()
            page.insert_textbox(pymupdf.Rect(72, 72, 520, 770), text, fontsize=11)
        doc.save(path)
    header = {"set": {"name": "tiny", "corpus": "../corpus",
                      "thresholds": {"recall_at_5": 0.5, "false_refusal_rate_max": 1.0, "latency_ms_p50_max": 0.0001}}}
    sets = root / "sets"
    sets.mkdir()
    p = sets / "tiny.jsonl"
    p.write_text("\n".join(json.dumps(o) for o in [header, *QUESTIONS]) + "\n", encoding="utf-8")
    return p


def test_dedicated_store_per_corpus(tmp_path):
    base = Settings(store_dir=tmp_path / "vs", chroma_host=None)
    a, b = tmp_path / "a", tmp_path / "b"
    sa = eval_settings(a, None, "extractive", base)
    assert sa.store_dir == tmp_path / "vs" / f"eval-{corpus_key(a)}" and sa.backend == "extractive"
    assert eval_settings(b, None, None, base).store_dir != sa.store_dir
    assert corpus_key(a) == corpus_key(tmp_path / "x" / ".." / "a")  # the resolved path decides
    assert eval_settings(a, tmp_path / "mine", None, base).store_dir == tmp_path / "mine"
    assert eval_settings(None, None, None, base).store_dir == tmp_path / "vs"
    server = eval_settings(a, None, None, Settings(store_dir=tmp_path / "vs", chroma_host="127.0.0.1", collection="chunks"))
    assert server.collection == f"chunks-eval-{corpus_key(a)}"


def _chunk(cid, file, p0, p1, text):
    return Chunk(chunk_id=cid, doc_id="d-" + file, file=file, title=file, text=text, page_start=p0, page_end=p1,
                 page_label=str(p0), section="", start=0, end=len(text), index=0)


def test_answer_to_record():
    c1 = _chunk("c1", "x.pdf", 3, 3, "Nothing here.")
    c2 = replace(_chunk("c2", "pdf/a.pdf", 1, 2, "The answer is 42.  It spans\n two pages, mostly the second."),
                 page_break=19)
    hits = [Hit(c2, 0.5, rank=2), Hit(c1, 0.9, rank=1)]  # ranks decide the order, not the list
    cite = Citation(n=1, doc_id=c2.doc_id, file=c2.file, title="", page=2, page_label="2", section="",
                    text=c2.text, span=(19, len(c2.text)), score=0.5, chunk_id="c2")
    ans = Answer(question="q", text="It is 42 [1].", citations=[cite], hits=hits)
    passages = hits_to_passages(ans.hits)
    assert [p.file for p in passages] == ["x.pdf", "pdf/a.pdf"]
    # a passage across a page break is scored on the page holding most of its text, not on both
    assert [(p.page_start, p.page_end) for p in passages] == [(3, 3), (2, 2)]
    cited = answer_citations(ans)
    assert cited[0].page == 2 and cited[0].page_end == 2  # the page of the cited span, not the passage's range

    q = Question(id="q1", question="<b>q</b>", answerable=True, facts=["42"], gold=[GoldRef("pdf/a.pdf", (2,))], tags=["numeric"], set_name="s")
    rec = make_record(q, passages, ans.text, cited, False, 12.0)
    assert (rec["recall_at_1"], rec["recall_at_3"], rec["mrr"], rec["first_gold_rank"]) == (0.0, 1.0, 0.5, 2)
    assert rec["citation_precision"] == 1.0 and rec["fact_recall"] == 1.0 and rec["citation_support"] == 1.0
    assert rec["retrieved"][1]["text"] == "The answer is 42. It spans two pages, mostly the second."  # whitespace collapsed
    assert rec["citations"][0]["span_text"] == "It spans two pages, mostly the second."
    assert rec["question"] == "<b>q</b>" and rec["set"] == "s" and rec["latency_ms"] == 12.0
    assert missing_gold([q], ["a.pdf", "other.pdf"]) == []
    assert missing_gold([q], ["b.pdf"]) == ["s/q1: gold file pdf/a.pdf is not in the corpus"]


def test_corpus_checked_before_any_work(tmp_path):
    from assistant.errors import AssistantError

    q = Question(id="q", question="?", answerable=True, gold=[GoldRef("pdf/a.pdf", (1,)), GoldRef("b.pdf")], set_name="s")
    with pytest.raises(AssistantError, match="corpus folder not found \\(needed by set s\\)"):
        check_corpus(tmp_path / "nope", ["s"], [q])
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "README.md").write_text("not a report", encoding="utf-8")
    with pytest.raises(AssistantError) as e:
        check_corpus(tmp_path / "c", ["s"], [q])
    assert "none of the documents the questions are about is there (b.pdf, pdf/a.pdf)" in str(e.value)
    assert "\n" not in str(e.value)
    (tmp_path / "c" / "a.pdf").write_bytes(b"%PDF-1.4")
    assert check_corpus(tmp_path / "c", ["s"], [q]) == ["s/q: gold file b.pdf is not in the corpus"]


def test_run_eval_end_to_end(eval_set, tmp_path, monkeypatch, capsys):
    pytest.importorskip("assistant.chain", reason="needs the lead's chain (assistant.chain)")
    pytest.importorskip("assistant.ingest", reason="needs the lead's ingest (assistant.ingest)")
    pytest.importorskip("assistant.loaders", reason="ingest needs the loaders (assistant.loaders)")
    store_root = tmp_path / "vectorstore"
    monkeypatch.setenv("ASSISTANT_STORE", str(store_root))
    monkeypatch.delenv("CHROMA_HOST", raising=False)
    corpus = (eval_set.parent / "../corpus").resolve()

    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    judge = FakeListChatModel(responses=['{"claims": [{"claim": "c", "supported": true}, {"claim": "d", "supported": false}]}', '{"score": 0.9}'])
    res = run_eval([eval_set], out_dir=tmp_path / "runs", progress=False, backend="extractive", judge=judge)

    # a store dedicated to the corpus, never the user's
    assert (store_root / f"eval-{corpus_key(corpus)}").is_dir()
    assert res.metrics["settings"]["groups"][0]["store"] == str(store_root / f"eval-{corpus_key(corpus)}")

    run = res.run_dir
    for name in ("results.jsonl", "metrics.json", "report.html", "recall_at_k.png", "latency.png"):
        assert (run / name).is_file(), name
    lines = [json.loads(x) for x in (run / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in lines] == [q["id"] for q in QUESTIONS]
    r1 = lines[0]
    assert r1["retrieved"] and {"file", "page_start", "page_end", "score", "text"} <= set(r1["retrieved"][0])
    assert len(r1["retrieved"]) <= 10 and r1["latency_ms"] > 0
    assert lines[4]["mrr"] is None  # file-only gold: no page-level retrieval metrics
    assert lines[5]["mrr"] is None and lines[5]["answerable"] is False

    o = res.overall
    assert o["n"] == 6 and o["n_page_gold"] == 4
    # four distinctive questions over six short pages. Each retrieved passage is scored on one page,
    # the one holding most of its text: these pages are so short that the chunker joins each to the
    # next, so a question whose answer sits on the smaller half of such a passage is not credited
    assert all(p["page_start"] == p["page_end"] for r in lines for p in r["retrieved"])
    assert o["recall_at_10"] >= 0.75 and o["recall_at_5"] >= 0.75 and o["mrr"] >= 0.5
    for key in SUMMARY_KEYS:
        assert key in o
    assert 0.0 <= o["false_refusal_rate"] <= 1.0 and 0.0 <= o["refusal_rate_unanswerable"] <= 1.0
    # the extractive answerer answers these plain questions, and the (fake) judge scores each answer
    assert o["false_refusal_rate"] < 1.0
    assert o["judge_faithfulness"] == 0.5 and o["judge_answer_relevancy"] == pytest.approx(0.9)

    # the impossible latency bound fails the gate; the others pass
    results = {t["name"]: t["passed"] for t in res.metrics["thresholds"]}
    assert results == {"recall_at_5": True, "false_refusal_rate_max": True, "latency_ms_p50_max": False}
    assert res.status == 1

    html = (run / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;boiling point&lt;/script&gt;" in html and "<script>" not in html

    # the report's gold page text comes from the store's passages on that page (what the assistant saw)
    from assistant.evaluation.report import GoldPageText

    gold_text = GoldPageText(eval_settings(corpus, None, None), corpus=None)
    assert "35 degrees" in gold_text("pdf/bees.pdf", 2) and "waggle" not in gold_text("pdf/bees.pdf", 2)
    assert gold_text("pdf/bees.pdf", 9) is None

    # the CLI form: second run reuses the store, prints one JSON object, exits with the gate status
    code = main([str(eval_set), "--json", "--no-progress", "--out", str(tmp_path / "runs")])
    assert code == 1
    summary = json.loads(capsys.readouterr().out)
    for key in (*SUMMARY_KEYS, "run_dir"):
        assert key in summary
    assert summary["recall_at_10"] == o["recall_at_10"]  # the same store, the same ranking
    text = compare_text(run, summary["run_dir"])
    assert "hit rate@5" in text and "Questions whose outcome changed" in text
