"""Retrieval metrics per document type (PDF, text, HTML) in the evaluation's metrics and report."""

from __future__ import annotations

import pytest

from assistant.evaluation.metrics import aggregate_by_doc_type, doc_types
from assistant.evaluation.report import build_html


def record(file: str, rr: float) -> dict:
    return {"answerable": True, "gold": [{"file": file, "pages": [1]}], "mrr": rr, "recall_at_1": float(rr == 1.0), "tags": []}


def test_questions_grouped_by_their_gold_documents_type():
    recs = [record("pdf/a.pdf", 1.0), record("pdf/B.PDF", 0.5), record("text/r.txt", 0.25), record("web/p.html", 0.0)]
    both = {"answerable": True, "gold": [{"file": "a.pdf", "pages": [2]}, {"file": "notes.md", "pages": [1]}], "mrr": 1.0, "recall_at_1": 1.0}
    assert doc_types(both) == {"PDF", "text"}
    per = aggregate_by_doc_type([*recs, both])
    assert set(per) == {"PDF", "text", "HTML"}
    assert per["PDF"]["n"] == 3 and per["PDF"]["mrr"] == pytest.approx((1.0 + 0.5 + 1.0) / 3)
    assert per["text"]["recall_at_1"] == pytest.approx(0.5)
    assert per["HTML"]["mrr"] == 0.0


def test_report_has_a_per_document_type_table():
    per = aggregate_by_doc_type([record("a.pdf", 1.0), record("r.txt", 0.5)])
    html = build_html({"overall": {}, "per_doc_type": per}, [])
    table = html[html.index("Per document type") :]
    assert "<th>PDF</th>" in table and "<th>text</th>" in table and "<th>document type</th>" in table
