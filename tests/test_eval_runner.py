"""The evaluation runner end to end: a generated two-PDF corpus, the real ingest, store and chain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("assistant.chain")
pytest.importorskip("assistant.ingest")

from assistant.evaluation.cli import main  # noqa: E402
from assistant.evaluation.compare import compare_text  # noqa: E402
from assistant.evaluation.runner import SUMMARY_KEYS, corpus_key, run_eval  # noqa: E402

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


def test_run_eval_end_to_end(eval_set, tmp_path, monkeypatch, capsys):
    store_root = tmp_path / "vectorstore"
    monkeypatch.setenv("ASSISTANT_STORE", str(store_root))
    monkeypatch.delenv("CHROMA_HOST", raising=False)
    corpus = (eval_set.parent / "../corpus").resolve()

    res = run_eval([eval_set], out_dir=tmp_path / "runs", progress=False, backend="extractive")

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
    # four distinctive questions over six short pages: the gold page is near the top every time
    assert o["recall_at_10"] == 1.0 and o["recall_at_5"] >= 0.75 and o["mrr"] >= 0.5
    for key in SUMMARY_KEYS:
        assert key in o
    assert 0.0 <= o["false_refusal_rate"] <= 1.0 and 0.0 <= o["refusal_rate_unanswerable"] <= 1.0

    # the impossible latency bound fails the gate; the others pass
    results = {t["name"]: t["passed"] for t in res.metrics["thresholds"]}
    assert results == {"recall_at_5": True, "false_refusal_rate_max": True, "latency_ms_p50_max": False}
    assert res.status == 1

    html = (run / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;boiling point&lt;/script&gt;" in html and "<script>" not in html

    # the CLI form: second run reuses the store, prints one JSON object, exits with the gate status
    code = main([str(eval_set), "--json", "--no-progress", "--out", str(tmp_path / "runs")])
    assert code == 1
    summary = json.loads(capsys.readouterr().out)
    for key in (*SUMMARY_KEYS, "run_dir"):
        assert key in summary
    assert summary["recall_at_10"] == 1.0
    text = compare_text(run, summary["run_dir"])
    assert "recall@5" in text and "Questions whose outcome changed" in text
