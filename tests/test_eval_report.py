"""The HTML report and run comparison, from hand-built results."""

from __future__ import annotations

import base64
import json
import re

import pytest

from assistant.evaluation.compare import changed_questions, compare_text
from assistant.evaluation.metrics import aggregate, aggregate_by_tag
from assistant.evaluation.report import GoldPageText, build_html, write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _record(qid, question, *, mrr, first, refused=False, answerable=True, fact=1.0, lat=100.0, tags=("numeric",)):
    return {
        "set": "mini",
        "id": qid,
        "question": question,
        "tags": list(tags),
        "answerable": answerable,
        "reference_answer": "",
        "facts": ["42"] if answerable else [],
        "facts_matched": [fact == 1.0] if answerable else [],
        "gold": [{"file": "pdf/a.pdf", "pages": [2]}] if answerable else [],
        "retrieved": [
            {"rank": 1, "file": "a.pdf", "page_start": 1, "page_end": 1, "score": 0.9, "text": "A <b>bold</b> & odd passage"},
            {"rank": 2, "file": "a.pdf", "page_start": 2, "page_end": 2, "score": 0.8, "text": "The answer is 42."},
        ],
        "answer": "It is 42 [1]." if not refused else "The documents do not answer this question.",
        "citations": [],
        "recall_at_1": (1.0 if first == 1 else 0.0) if answerable else None,
        "recall_at_3": (1.0 if first else 0.0) if answerable else None,
        "recall_at_5": (1.0 if first else 0.0) if answerable else None,
        "recall_at_10": (1.0 if first else 0.0) if answerable else None,
        "mrr": mrr if answerable else None,
        "ndcg_at_10": mrr if answerable else None,
        "first_gold_rank": first,
        "fact_recall": fact if answerable else None,
        "citation_precision": None,
        "citation_support": None,
        "refused": refused,
        "wrong_refusal": refused if answerable else not refused,
        "latency_ms": lat,
    }


@pytest.fixture
def records():
    return [
        _record("q1", "What is <script>alert('x')</script> the answer?", mrr=0.5, first=2, fact=0.0),
        _record("q2", "Fine question?", mrr=1.0, first=1, lat=300.0),
        _record("q3", "Never answered?", mrr=None, first=None, answerable=False, refused=False, tags=("unanswerable",)),
    ]


def _metrics(records, **extra):
    m = {
        "run_dir": "evals/runs/x",
        "started_at": "2025-01-01T12:00:00",
        "duration_s": 1.0,
        "sets": [{"name": "mini", "path": "mini.jsonl", "corpus": None, "n": len(records)}],
        "settings": {"backend": "extractive", "k": 5},
        "overall": aggregate(records),
        "per_tag": aggregate_by_tag(records),
        "per_set": {"mini": {"overall": aggregate(records)}},
        "thresholds": [{"set": "mini", "name": "mrr", "metric": "mrr", "kind": "min", "bound": 0.9, "value": 0.75, "passed": False}],
        "status": 1,
        "notes": ["note with <tag>"],
    }
    m.update(extra)
    return m


def test_report_tables_escaping_and_plots(tmp_path, records):
    path = write_report(tmp_path, _metrics(records), records, gold_text=lambda rec, f, p: f"Gold text of {f} p{p} <i>x</i>")
    html = path.read_text(encoding="utf-8")
    # metric table with the overall values
    assert '<table class="metrics">' in html and "hit rate@5" in html and "MRR" in html
    assert re.search(r"<th>MRR</th><td class=\"num\">0\.750</td>", html)
    assert '<table class="per-tag">' in html and "<th>unanswerable</th>" in html
    assert "FAIL" in html and "FAILED" in html
    # every piece of document/question text is escaped
    assert "<script>" not in html and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt; &amp; odd passage" in html
    assert "&lt;i&gt;x&lt;/i&gt;" in html and "&lt;tag&gt;" in html
    # worst questions: the wrongly answered unanswerable one and the missed-fact one; q2 is perfect
    assert "mini / q3" in html and "mini / q1" in html and "mini / q2" not in html
    assert html.index("mini / q3") < html.index("mini / q1")  # a wrong refusal weighs most
    assert "Gold text of pdf/a.pdf p2" in html
    assert '<table class="questions">' in html and "mini/q2" in html  # every question is listed
    # plots embedded as PNG and saved beside the report
    imgs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(imgs) == 2 and all(base64.b64decode(i).startswith(PNG_MAGIC) for i in imgs)
    for name in ("recall_at_k.png", "latency.png"):
        assert (tmp_path / name).read_bytes().startswith(PNG_MAGIC)


def test_report_with_baseline_column(records):
    base = {"overall": {"n": 2, "recall_at_5": 0.5, "mrr": 0.25}, "recall_curve": [0.25] * 10, "pipeline": "PyPDFLoader + ..."}
    html = build_html(_metrics(records, baseline=base), records)
    assert "<th>LangChain baseline</th>" in html and '<td class="num">0.250</td>' in html
    assert "PyPDFLoader + ..." in html


def test_gold_page_text_falls_back_to_the_pdf(tmp_path):
    import pymupdf

    (tmp_path / "pdf").mkdir()
    doc = pymupdf.open()
    for text in ("first page words", "second page has the gold sentence"):
        doc.new_page().insert_text((72, 72), text)
    doc.save(tmp_path / "pdf" / "a.pdf")
    (tmp_path / "note.txt").write_text("plain text file", encoding="utf-8")
    gp = GoldPageText(settings=None, corpus=tmp_path)
    assert "gold sentence" in gp("pdf/a.pdf", 2)
    assert "gold sentence" in gp("a.pdf", 2)  # suffix match
    assert gp("pdf/a.pdf", 9) is None
    assert gp("note.txt", 1) == "plain text file"
    assert gp("missing.pdf", 1) is None


def _write_run(d, records):
    d.mkdir(parents=True)
    (d / "metrics.json").write_text(json.dumps(_metrics(records)), encoding="utf-8")
    (d / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return d


def test_compare_runs(tmp_path, records, capsys):
    a = _write_run(tmp_path / "a", records)
    b_records = [dict(r) for r in records]
    b_records[0].update(recall_at_5=0.0, mrr=0.0, first_gold_rank=None)  # q1 lost its gold passage
    b_records[2].update(refused=True, wrong_refusal=False)  # q3 now refused, as it should
    b_records[1].update(fact_recall=0.5)
    b = _write_run(tmp_path / "b", b_records)

    changed = {c["id"]: c["changes"] for c in changed_questions(records, b_records)}
    assert changed == {
        "q1": {"recall@5": ("hit", "miss")},
        "q2": {"fact_recall": (1.0, 0.5)},
        "q3": {"refused": (False, True)},
    }
    text = compare_text(a, b)
    assert "Questions whose outcome changed: 3" in text
    assert "mini/q1: recall@5 hit -> miss" in text and "mini/q3: refused answered -> refused" in text
    mrr_line = next(line for line in text.splitlines() if line.startswith("MRR"))
    assert "0.750" in mrr_line and "0.500" in mrr_line and "-0.250" in mrr_line and "worse" in mrr_line
    ref_line = next(line for line in text.splitlines() if line.startswith("refusal rate"))
    assert "+1.000" in ref_line and "better" in ref_line

    # runs over different question sets are compared on the questions they share
    c = _write_run(tmp_path / "c", b_records[:2])
    text = compare_text(a, c)
    assert "question sets differ (1 only in A, 0 only in B): metrics over the 2 questions in both" in text
    n_line = next(line for line in text.splitlines() if line.startswith("questions"))
    assert n_line.split()[1:3] == ["2", "2"]

    from assistant.evaluation.cli import main

    assert main(["compare", str(a), str(b)]) == 0
    assert "Questions whose outcome changed: 3" in capsys.readouterr().out
    assert main(["compare", str(a), str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "metrics.json: not found" in err and err.count("\n") == 1


def test_compare_marks_no_direction_for_answer_length():
    from assistant.evaluation.compare import metric_deltas

    rows = {r["metric"]: r for r in metric_deltas({"answer_words_p50": 64.0, "fact_recall": 0.3, "false_refusal_rate": 0.2},
                                                  {"answer_words_p50": 113.0, "fact_recall": 0.5, "false_refusal_rate": 0.1})}
    assert rows["answer_words_p50"]["better"] is None
    assert rows["fact_recall"]["better"] is True and rows["false_refusal_rate"]["better"] is True
