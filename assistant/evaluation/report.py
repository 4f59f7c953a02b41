"""A self-contained HTML report of a run: metric tables, plots and the questions that went worst.

Everything from documents, questions and answers is escaped with ``html.escape``: report text
is data, never markup. The plots are PNGs drawn with matplotlib's Agg canvas (no display),
embedded as base64 and also saved beside the report.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .metrics import DEPTH, file_matches, on_gold_page, recall_curve
from .questions import GoldRef

GoldText = Callable[[Mapping[str, Any], str, int], "str | None"]

TABLE_METRICS = (
    ("n", "questions"),
    ("recall_at_1", "page hit rate@1"),
    ("recall_at_3", "page hit rate@3"),
    ("recall_at_5", "page hit rate@5"),
    ("recall_at_10", "page hit rate@10"),
    ("mrr", "MRR"),
    ("ndcg_at_10", "nDCG@10"),
    ("fact_recall", "fact recall"),
    ("first_sentence_fact", "first sentence has a fact"),
    ("answer_words_p50", "answer words p50"),
    ("citation_precision", "citation precision"),
    ("citation_support", "citation support"),
    ("sentence_support", "sentences verified"),
    ("refusal_rate_unanswerable", "refusal rate (unanswerable)"),
    ("false_refusal_rate", "false refusal rate"),
    ("latency_ms_p50", "latency p50 (ms)"),
    ("latency_ms_p95", "latency p95 (ms)"),
    ("judge_faithfulness", "judge: faithfulness"),
    ("judge_answer_relevancy", "judge: answer relevancy"),
)
TAG_METRICS = ("n", "recall_at_1", "recall_at_5", "mrr", "fact_recall", "citation_precision", "false_refusal_rate", "refusal_rate_unanswerable")
GOLD_TEXT_CHARS = 1500
WORST_N = 10


def esc(x: Any) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def fmt(v: Any, key: str = "") -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int) or key in ("n",):
        return str(v)
    if key.startswith("latency"):
        return f"{float(v):.0f}"
    return f"{float(v):.3f}"


# -- gold page text ------------------------------------------------------------------------


class GoldPageText:
    """Text of a gold page: the store's passages on it (what the assistant saw; a passage may run
    onto the next page), else the page itself from the corpus file."""

    def __init__(self, settings: Any = None, corpus: Path | None = None):
        self.settings = settings
        self.corpus = Path(corpus) if corpus else None
        self._docs: list[dict] | None = None
        self._chunks: dict[str, list[Any]] = {}

    def __call__(self, file: str, page: int) -> str | None:
        text = None
        try:
            text = self._from_store(file, page)
        except Exception:  # a missing or incompatible store only costs us the preferred source
            text = None
        if not text:
            try:
                text = self._from_corpus(file, page)
            except Exception:
                text = None
        return text

    def _from_store(self, file: str, page: int) -> str | None:
        if self.settings is None:
            return None
        from ..store import Store

        if self._docs is None:
            self._store = Store(self.settings)
            self._docs = list(self._store.documents())
        doc = next((d for d in self._docs if file_matches(file, d.get("file", ""))), None)
        if doc is None:
            return None
        doc_id = doc["doc_id"]
        if doc_id not in self._chunks:
            self._chunks[doc_id] = list(self._store.get_chunks(doc_id))
        parts = []
        for c in sorted(self._chunks[doc_id], key=lambda c: c.index):
            if c.page_start <= page <= c.page_end:
                parts.append(c.text)
        return "\n".join(parts) or None

    def _from_corpus(self, file: str, page: int) -> str | None:
        if self.corpus is None or not self.corpus.is_dir():
            return None
        path = next((p for p in sorted(self.corpus.rglob("*")) if p.is_file() and file_matches(file, p.relative_to(self.corpus).as_posix())), None)
        if path is None:
            return None
        if path.suffix.lower() == ".pdf":
            import pymupdf

            with pymupdf.open(path) as doc:
                if 1 <= page <= doc.page_count:
                    return doc[page - 1].get_text()
            return None
        return path.read_text(encoding="utf-8", errors="replace") if page == 1 else None


# -- choosing what to show -----------------------------------------------------------------


def badness(r: Mapping[str, Any]) -> float:
    """How wrong a question went: wrong refusals first, then missed retrieval, then missed facts."""
    b = 0.0
    if r.get("wrong_refusal"):
        b += 2.0
    if r.get("mrr") is not None:
        b += 1.0 - float(r["mrr"])
    if r.get("fact_recall") is not None:
        b += 1.0 - float(r["fact_recall"])
    if r.get("citation_precision") is not None:
        b += 0.5 * (1.0 - float(r["citation_precision"]))
    return b


def worst_questions(records: Sequence[Mapping[str, Any]], n: int = WORST_N) -> list[Mapping[str, Any]]:
    bad = [r for r in records if badness(r) > 0]
    return sorted(bad, key=lambda r: (-badness(r), str(r.get("set")), str(r.get("id"))))[:n]


# -- plots ---------------------------------------------------------------------------------


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    return buf.getvalue()


def recall_curve_png(records: Sequence[Mapping[str, Any]], baseline_curve: Sequence[float | None] | None = None) -> bytes:
    from matplotlib.figure import Figure  # the Figure API draws with Agg; no pyplot, no display

    ks = list(range(1, DEPTH + 1))
    fig = Figure(figsize=(5.5, 3.4))
    ax = fig.subplots()
    curve = recall_curve(records)
    if any(v is not None for v in curve):
        ax.plot(ks, [v if v is not None else float("nan") for v in curve], marker="o", label="assistant")
    if baseline_curve and any(v is not None for v in baseline_curve):
        ax.plot(ks, [v if v is not None else float("nan") for v in baseline_curve], marker="s", linestyle="--", label="LangChain baseline")
    ax.set_xlabel("k (passages)")
    ax.set_ylabel("page hit rate@k")
    ax.set_xticks(ks)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title("Page hit rate@k: questions with a gold-page passage in the top k")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right")
    return _png(fig)


def latency_png(records: Sequence[Mapping[str, Any]]) -> bytes:
    from matplotlib.figure import Figure

    lat = [float(r["latency_ms"]) for r in records if r.get("latency_ms") is not None]
    fig = Figure(figsize=(5.5, 3.4))
    ax = fig.subplots()
    if lat:
        ax.hist(lat, bins=min(20, max(5, len(lat) // 2)), color="#4c72b0", edgecolor="white")
    ax.set_xlabel("latency per question (ms)")
    ax.set_ylabel("questions")
    ax.set_title("Answer latency")
    ax.grid(alpha=0.3)
    return _png(fig)


# -- HTML ----------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#176b1e;font-weight:600}.fail{color:#b00020;font-weight:600}
.q{border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
.snip{font-size:.9em;color:#333;white-space:pre-wrap}.gold{background:#eef7ee}
pre{white-space:pre-wrap;background:#fafafa;border:1px solid #eee;padding:.5rem;font-size:.9em}
img{max-width:100%}
"""


def _metric_table(columns: list[tuple[str, Mapping[str, Any]]]) -> str:
    head = "".join(f"<th>{esc(name)}</th>" for name, _ in columns)
    rows = []
    for key, label in TABLE_METRICS:
        if not any(key in col for _, col in columns):
            continue
        cells = "".join(f'<td class="num">{esc(fmt(col.get(key), key))}</td>' for _, col in columns)
        rows.append(f"<tr><th>{esc(label)}</th>{cells}</tr>")
    return f'<table class="metrics"><tr><th>metric</th>{head}</tr>{"".join(rows)}</table>'


def _tag_table(per_tag: Mapping[str, Mapping[str, Any]], label: str = "tag") -> str:
    if not per_tag:
        return f"<p>No {label}s.</p>"
    labels = dict(TABLE_METRICS)
    head = "".join(f"<th>{esc(labels.get(m, m))}</th>" for m in TAG_METRICS)
    rows = []
    for tag, agg in per_tag.items():
        cells = "".join(f'<td class="num">{esc(fmt(agg.get(m), m))}</td>' for m in TAG_METRICS)
        rows.append(f"<tr><th>{esc(tag)}</th>{cells}</tr>")
    return f'<table class="per-tag"><tr><th>{esc(label)}</th>{head}</tr>{"".join(rows)}</table>'


def _threshold_table(thresholds: Sequence[Mapping[str, Any]]) -> str:
    if not thresholds:
        return "<p>No thresholds set.</p>"
    rows = []
    for t in thresholds:
        ok = t.get("passed")
        op = "≤" if t.get("kind") == "max" else "≥"
        rows.append(
            f"<tr><td>{esc(t.get('set', ''))}</td><td>{esc(t.get('metric'))}</td>"
            f'<td class="num">{esc(fmt(t.get("value"), str(t.get("metric"))))}</td>'
            f"<td>{esc(op)} {esc(t.get('bound'))}</td>"
            f'<td class="{"pass" if ok else "fail"}">{"pass" if ok else "FAIL"}</td></tr>'
        )
    return f'<table class="thresholds"><tr><th>set</th><th>metric</th><th>value</th><th>bound</th><th>result</th></tr>{"".join(rows)}</table>'


def _question_block(r: Mapping[str, Any], gold_text: GoldText | None) -> str:
    gold = [GoldRef(g["file"], tuple(g.get("pages") or ())) for g in r.get("gold", [])]
    facts = r.get("facts") or []
    matched = r.get("facts_matched") or []
    out = [
        '<div class="q">',
        f"<h3>{esc(r.get('set'))} / {esc(r.get('id'))}</h3>",
        f"<p><b>Question:</b> {esc(r.get('question'))}</p>",
        f"<p><b>Tags:</b> {esc(', '.join(r.get('tags', [])))} &nbsp; <b>answerable:</b> {esc(fmt(r.get('answerable')))}"
        f" &nbsp; <b>refused:</b> {esc(fmt(r.get('refused')))}"
        f"{' &nbsp; <span class=fail>wrong refusal</span>' if r.get('wrong_refusal') else ''}</p>",
        f"<p><b>MRR:</b> {esc(fmt(r.get('mrr')))} &nbsp; <b>first gold rank:</b> {esc(r.get('first_gold_rank') or '—')}"
        f" &nbsp; <b>fact recall:</b> {esc(fmt(r.get('fact_recall')))} &nbsp; <b>citation precision:</b> {esc(fmt(r.get('citation_precision')))}</p>",
        f"<p><b>Answer:</b></p><pre>{esc(r.get('answer'))}</pre>",
    ]
    if r.get("reference_answer"):
        out.append(f"<p><b>Reference answer:</b> {esc(r.get('reference_answer'))}</p>")
    if facts:
        items = "".join(
            f'<li class="{"pass" if (i < len(matched) and matched[i]) else "fail"}"><code>{esc(f)}</code></li>' for i, f in enumerate(facts)
        )
        out.append(f"<p><b>Facts</b> (green = found in the answer):</p><ul>{items}</ul>")
    retrieved = r.get("retrieved") or []
    if retrieved:
        rows = []
        for p in retrieved[:5]:
            hit = on_gold_page(p["file"], p["page_start"], p["page_end"], gold)
            pages = str(p["page_start"]) if p["page_start"] == p["page_end"] else f"{p['page_start']}–{p['page_end']}"
            rows.append(
                f'<tr class="{"gold" if hit else ""}"><td class="num">{esc(p.get("rank"))}</td><td>{esc(p["file"])}</td>'
                f'<td>{esc(pages)}</td><td class="num">{esc(fmt(p.get("score")))}</td><td class="snip">{esc(p.get("text", ""))}</td></tr>'
            )
        out.append(
            "<p><b>Retrieved</b> (top 5; green = on a gold page):</p>"
            f'<table><tr><th>#</th><th>file</th><th>page</th><th>score</th><th>passage</th></tr>{"".join(rows)}</table>'
        )
    for g in gold:
        pages = g.pages[:2]
        if not pages:
            out.append(f"<p><b>Gold:</b> {esc(g.file)} (no page given)</p>")
        for page in pages:
            text = gold_text(r, g.file, page) if gold_text else None
            body = esc(text[:GOLD_TEXT_CHARS] + ("…" if len(text) > GOLD_TEXT_CHARS else "")) if text else "(gold page text unavailable)"
            out.append(f"<p><b>Gold page:</b> {esc(g.file)} p. {esc(page)} (the passages on it)</p><pre>{body}</pre>")
    out.append("</div>")
    return "\n".join(out)


def _all_questions_table(records: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for r in records:
        cls = "fail" if r.get("wrong_refusal") else ""
        rows.append(
            f"<tr><td>{esc(r.get('set'))}/{esc(r.get('id'))}</td><td>{esc(r.get('question'))}</td>"
            f'<td class="num">{esc(fmt(r.get("recall_at_5")))}</td><td class="num">{esc(fmt(r.get("mrr")))}</td>'
            f'<td class="num">{esc(fmt(r.get("fact_recall")))}</td><td class="num">{esc(fmt(r.get("citation_precision")))}</td>'
            f'<td class="{cls}">{esc(fmt(r.get("refused")))}</td><td class="num">{esc(fmt(r.get("latency_ms"), "latency"))}</td></tr>'
        )
    return (
        '<table class="questions"><tr><th>id</th><th>question</th><th>hit@5</th><th>MRR</th><th>facts</th>'
        f'<th>citation precision</th><th>refused</th><th>ms</th></tr>{"".join(rows)}</table>'
    )


def _img(name: str, png: bytes) -> str:
    return f'<img alt="{esc(name)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def build_html(
    metrics: Mapping[str, Any],
    records: Sequence[Mapping[str, Any]],
    images: Mapping[str, bytes] | None = None,
    gold_text: GoldText | None = None,
) -> str:
    overall = metrics.get("overall", {})
    columns: list[tuple[str, Mapping[str, Any]]] = [("overall", overall)]
    per_set = metrics.get("per_set", {})
    if len(per_set) > 1:
        columns += [(name, v.get("overall", {})) for name, v in per_set.items()]
    if "baseline" in metrics:
        columns.append(("LangChain baseline", metrics["baseline"].get("overall", {})))
    settings = metrics.get("settings", {})
    sets = ", ".join(f"{s.get('name')} ({s.get('n')})" for s in metrics.get("sets", []))
    status = metrics.get("status", 0)
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>Evaluation {esc(metrics.get('started_at', ''))}</title><style>{CSS}</style></head><body>",
        "<h1>Evaluation report</h1>",
        f"<p><b>Run:</b> {esc(metrics.get('run_dir', ''))} &nbsp; <b>started:</b> {esc(metrics.get('started_at', ''))}"
        f" &nbsp; <b>duration:</b> {esc(metrics.get('duration_s', ''))} s</p>",
        f"<p><b>Sets:</b> {esc(sets)} &nbsp; <b>backend:</b> {esc(settings.get('backend', ''))} &nbsp; <b>k:</b> {esc(settings.get('k', ''))}</p>",
        f'<p><b>Gate:</b> <span class="{"fail" if status else "pass"}">{"FAILED" if status else "passed"}</span></p>',
        "<h2>Metrics</h2>",
        _metric_table(columns),
        "<h2>Thresholds</h2>",
        _threshold_table(metrics.get("thresholds", [])),
        "<h2>Per tag</h2>",
        _tag_table(metrics.get("per_tag", {})),
        "<h2>Per document type</h2>",
        _tag_table(metrics.get("per_doc_type", {}), "document type"),
    ]
    if "baseline" in metrics and metrics["baseline"].get("pipeline"):
        parts.append(
            f"<p><b>Baseline pipeline:</b> {esc(metrics['baseline']['pipeline'])} (retrieval only, on the answerable questions)</p>"
        )
    if images:
        parts.append("<h2>Plots</h2>")
        parts += [_img(name, png) for name, png in images.items()]
    worst = worst_questions(records)
    parts.append(f"<h2>Worst questions ({len(worst)})</h2>")
    if not worst:
        parts.append("<p>Every question was answered perfectly.</p>")
    parts += [_question_block(r, gold_text) for r in worst]
    parts += ["<h2>All questions</h2>", _all_questions_table(records)]
    notes = metrics.get("notes") or []
    if notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(
    run_dir: str | Path,
    metrics: Mapping[str, Any],
    records: Sequence[Mapping[str, Any]],
    gold_text: GoldText | None = None,
) -> Path:
    """Draw the plots, save them as PNG in ``run_dir`` and write ``report.html`` embedding them."""
    run_dir = Path(run_dir)
    baseline_curve = metrics.get("baseline", {}).get("recall_curve") if "baseline" in metrics else None
    images = {
        "recall_at_k.png": recall_curve_png(records, baseline_curve),
        "latency.png": latency_png(records),
    }
    for name, png in images.items():
        (run_dir / name).write_bytes(png)
    path = run_dir / "report.html"
    path.write_text(build_html(metrics, records, images, gold_text), encoding="utf-8")
    return path
