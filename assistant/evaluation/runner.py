"""Run question sets through the assistant and write a scored run folder.

A run ingests the set's corpus into a store of its own (``<store>/eval-<hash>``, so an
evaluation never mixes with the user's documents; ingest skips unchanged files, so later runs
reuse it), asks every question through ``assistant.chain.Assistant`` exactly as a user would,
scores retrieval on ``Answer.hits`` and the answer on its text, citations and refusal, and
writes ``results.jsonl``, ``metrics.json``, ``report.html`` and the plots into
``<out_dir>/<YYYYmmdd-HHMMSS>/``. Thresholds in a set's header turn the run into a gate:
``RunResult.status`` is 1 when one is missed.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import AssistantError
from ..loaders import walk_files
from .metrics import (
    Cited,
    Passage,
    aggregate,
    aggregate_by_doc_type,
    aggregate_by_tag,
    check_thresholds,
    file_matches,
    score_question,
)
from .questions import REPORTED_METRICS, Question, QuestionSet, load_sets

SNIPPET_CHARS = 300
SUMMARY_KEYS = ("n", *REPORTED_METRICS)


@dataclass
class RunResult:
    run_dir: Path
    metrics: dict[str, Any]
    records: list[dict[str, Any]]
    status: int = 0
    failed_thresholds: list[dict[str, Any]] = field(default_factory=list)

    @property
    def overall(self) -> dict[str, Any]:
        return self.metrics["overall"]

    def summary(self) -> dict[str, Any]:
        """The ``assistant eval --json`` object: headline metrics, run folder and gate result."""
        out: dict[str, Any] = {k: self.overall.get(k) for k in SUMMARY_KEYS}
        for k, v in self.overall.items():
            out.setdefault(k, v)
        out["run_dir"] = str(self.run_dir)
        out["status"] = self.status
        out["thresholds"] = self.metrics.get("thresholds", [])
        if "baseline" in self.metrics:
            out["baseline"] = self.metrics["baseline"]["overall"]
        return out


# -- stores and corpora --------------------------------------------------------------------


def corpus_key(corpus: Path) -> str:
    return hashlib.sha1(str(corpus.resolve()).encode("utf-8")).hexdigest()[:8]


def eval_settings(corpus: Path | None, store: str | Path | None, backend: str | None, base: Settings | None = None) -> Settings:
    """Settings for evaluating ``corpus``: ``store`` if given, else a store dedicated to the corpus."""
    base = base or Settings()
    s = base.with_(backend=backend)
    if store is not None:
        return s.with_(store_dir=Path(store))
    if corpus is None:
        return s
    key = corpus_key(corpus)
    s = s.with_(store_dir=base.store_dir / f"eval-{key}")
    if s.server_mode:  # one Chroma server holds every store: keep the corpus in its own collection
        s = s.with_(collection=f"{base.collection}-eval-{key}")
    return s


def corpus_files(corpus: Path) -> list[str]:
    """Posix paths (relative to ``corpus``) of the files in it, for checking gold files exist."""
    return sorted(p.relative_to(corpus).as_posix() for p in walk_files(corpus))


def missing_gold(questions: list[Question], files: list[str]) -> list[str]:
    notes = []
    for q in questions:
        for g in q.gold:
            if not any(file_matches(g.file, f) for f in files):
                notes.append(f"{q.set_name}/{q.id}: gold file {g.file} is not in the corpus")
    return notes


def check_corpus(corpus: Path, set_names: list[str], questions: list[Question]) -> list[str]:
    """Fail early when the corpus (or every document the questions are about) is missing."""
    if not corpus.is_dir():
        raise AssistantError(f"{corpus}: corpus folder not found (needed by set {', '.join(set_names)}); put the documents there or pass --corpus")
    files = corpus_files(corpus)
    gold_files = sorted({g.file for q in questions for g in q.gold})
    if gold_files and not any(file_matches(g, f) for g in gold_files for f in files):
        more = ", ..." if len(gold_files) > 4 else ""
        raise AssistantError(
            f"{corpus}: none of the documents the questions are about is there ({', '.join(gold_files[:4])}{more}); "
            "fetch them first (`assistant sources fetch`) or pass --corpus"
        )
    return missing_gold(questions, files)


def _ingest(corpus: Path, settings: Settings, prune: bool, progress: bool) -> list[str]:
    from ..ingest import ingest

    report = ingest([corpus], settings, prune=prune, progress=progress, root=corpus)
    notes = [f"ingest failed for {f}: {why}" for f, why in report.failed]
    notes += list(report.notes)
    if not (report.added or report.updated or report.skipped):
        raise AssistantError(f"{corpus}: no document of the corpus could be ingested")
    return notes


# -- turning an Answer into records --------------------------------------------------------


def hits_to_passages(hits) -> list[Passage]:
    ranked = sorted(hits, key=lambda h: h.rank) if hits and all(h.rank > 0 for h in hits) else list(hits)
    out = []
    for h in ranked:
        page = main_page(h.chunk)
        out.append(Passage(file=h.chunk.file, page_start=page, page_end=page, score=float(h.score), text=h.chunk.text))
    return out


def main_page(chunk) -> int:
    """The page holding most of a passage's text: a passage is scored on one page, not a merged range."""
    if chunk.page_break < 0 or chunk.page_end == chunk.page_start:
        return int(chunk.page_start)
    return int(chunk.page_start if chunk.page_break >= len(chunk.text) - chunk.page_break else chunk.page_end)


def answer_citations(answer) -> list[Cited]:
    """The answer's citations, each on the page of its cited span (not its passage's page range)."""
    out = []
    for c in answer.citations:
        out.append(
            Cited(
                file=c.file,
                page=int(c.page),
                page_end=int(c.page),
                text=c.text,
                span=(int(c.span[0]), int(c.span[1])),
                supported=bool(c.supported),
            )
        )
    return out


def _snippet(text: str) -> str:
    return " ".join(text.split())[:SNIPPET_CHARS]


def make_record(
    q: Question,
    passages: list[Passage],
    answer_text: str,
    citations: list[Cited],
    refused: bool,
    latency_ms: float | None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One line of ``results.jsonl``: the question, what was retrieved and answered, every metric."""
    rec: dict[str, Any] = {
        "set": q.set_name,
        "id": q.id,
        "question": q.question,
        "history": list(q.history),
        "tags": list(q.tags),
        "answerable": q.answerable,
        "reference_answer": q.answer,
        "facts": list(q.facts),
        "gold": [{"file": g.file, "pages": list(g.pages)} for g in q.gold],
        "retrieved": [
            {
                "rank": i,
                "file": p.file,
                "page_start": p.page_start,
                "page_end": p.page_end,
                "score": round(p.score, 4),
                "text": _snippet(p.text),
            }
            for i, p in enumerate(passages, 1)
        ],
        "answer": answer_text,
        "citations": [
            {
                "file": c.file,
                "page": c.page,
                "page_end": c.page_end,
                "span_text": _snippet(c.text[c.span[0] : c.span[1]]),
                "supported": c.supported,
            }
            for c in citations
        ],
    }
    removed = len((extra or {}).get("unsupported") or [])
    rec.update(score_question(q, passages, answer_text, citations, refused, latency_ms, removed=removed))
    if extra:
        rec.update(extra)
    return rec


# -- the run -------------------------------------------------------------------------------


def _groups(sets: list[QuestionSet], corpus: str | Path | None) -> dict[Path | None, list[QuestionSet]]:
    groups: dict[Path | None, list[QuestionSet]] = {}
    for s in sets:
        c = Path(corpus).expanduser() if corpus is not None else s.corpus
        key = c.resolve() if c is not None else None
        groups.setdefault(key, []).append(s)
    return groups


def _new_run_dir(out_dir: str | Path) -> Path:
    base = Path(out_dir) / datetime.now().strftime("%Y%m%d-%H%M%S")
    d, n = base, 1
    while d.exists():
        n += 1
        d = base.with_name(f"{base.name}-{n}")
    d.mkdir(parents=True)
    return d


def _settings_json(s: Settings) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(s).items()}


def _log(msg: str) -> None:
    print(msg, file=sys.stderr)


def _logged(notes: list[str]) -> list[str]:
    for n in notes:
        _log(f"note: {n}")
    return notes


def run_eval(
    set_paths: list[str | Path],
    corpus: str | Path | None = None,
    store: str | Path | None = None,
    backend: str | None = None,
    k: int = 5,
    out_dir: str | Path = "evals/runs",
    progress: bool = True,
    *,
    settings: Settings | None = None,
    baseline: bool = False,
    judge: Any = None,
    judge_name: str = "",
    warmup: bool = True,
    backend_opts: dict[str, Any] | None = None,
) -> RunResult:
    """Evaluate ``set_paths`` end to end and write a run folder; see the module docstring.

    ``corpus`` overrides the sets' own corpus folders; without either, the questions are asked
    against ``store`` (or the configured store) as it is. ``judge`` is an optional LangChain
    chat model scoring faithfulness and relevancy (``judge.py``).
    """
    from ..chain import Assistant

    t_start = time.time()
    started = datetime.now().isoformat(timespec="seconds")
    sets = load_sets(list(set_paths))
    records: list[dict[str, Any]] = []
    notes: list[str] = []
    contexts: dict[str, tuple[Settings, Path | None]] = {}
    group_info: list[dict[str, Any]] = []
    baseline_out: list[dict[str, Any]] = []

    plans = []  # check every corpus before the first (slow) ingest or question
    for corpus_dir, group in _groups(sets, corpus).items():
        questions = [q for qs in group for q in qs.questions]
        if corpus_dir is not None:
            notes += _logged(check_corpus(corpus_dir, [qs.name for qs in group], questions))
        plans.append((corpus_dir, group, questions, eval_settings(corpus_dir, store, backend, settings)))

    for corpus_dir, group, questions, s in plans:
        if corpus_dir is not None:
            _log(f"ingesting {corpus_dir} into {s.store_dir if not s.server_mode else s.collection} ...")
            notes += _logged(_ingest(corpus_dir, s, prune=store is None, progress=progress))
        for qs in group:
            contexts[qs.name] = (s, corpus_dir)
        group_info.append({"corpus": str(corpus_dir) if corpus_dir else None, "store": str(s.store_dir), "collection": s.collection, "sets": [qs.name for qs in group]})
        assistant = Assistant(s, backend=backend, **(backend_opts or {}))
        records += ask_all(assistant, questions, k=k, judge=judge, progress=progress, warmup=warmup)
        if baseline and corpus_dir is not None:
            from .baseline import baseline_records

            _log(f"baseline: plain LangChain pipeline over {corpus_dir} ...")
            baseline_out.append(baseline_records(questions, corpus_dir, k=max(k, 10), progress=progress))

    metrics = build_metrics(sets, records, notes)
    metrics["started_at"] = started
    metrics["settings"] = {
        "k": k,
        "retrieval_depth": max(k, 10),
        "backend": backend or (settings or Settings()).backend,
        "judge": judge_name or (type(judge).__name__ if judge is not None else None),
        "groups": group_info,
        "config": _settings_json(plans[0][3]) if plans else {},
    }
    for qs in sets:
        metrics["sets"].append({"name": qs.name, "path": str(qs.path), "corpus": str(contexts[qs.name][1]) if contexts[qs.name][1] else None, "n": len(qs.questions)})
    if baseline_out:
        from .baseline import merge_baseline

        metrics["baseline"] = merge_baseline(baseline_out)
    metrics["duration_s"] = round(time.time() - t_start, 1)
    status = metrics["status"]
    failed = [t for t in metrics["thresholds"] if not t["passed"]]

    run_dir = _new_run_dir(out_dir)
    metrics["run_dir"] = str(run_dir)
    write_run(run_dir, metrics, records, gold_text=_gold_text_lookup(contexts))
    return RunResult(run_dir=run_dir, metrics=metrics, records=records, status=status, failed_thresholds=failed)


def ask_all(assistant, questions: list[Question], k: int = 5, judge: Any = None, progress: bool = True, warmup: bool = True,
            on_answer: Any = None) -> list[dict[str, Any]]:
    """Ask each question as a user would (timed) and score it; one record per question.

    ``on_answer(question, answer, latency_ms)`` sees each final ``Answer`` (``eval_local`` keeps the
    model's raw text from it, so a changed verifier can rescore a slow model's run without re-asking).
    """
    from tqdm import tqdm

    depth = max(k, 10)
    if warmup and questions:  # load models and indexes outside the timed calls
        assistant.ask(questions[0].question, k=k)
    records = []
    for q in tqdm(questions, desc="eval", unit="q", disable=not progress, file=sys.stderr):
        history: list[tuple[str, str]] = []
        for earlier in q.history:  # a dialogue: its earlier questions go through the same chain first
            history.append((earlier, assistant.ask(earlier, history=list(history), k=k).text))
        t0 = time.perf_counter()
        answer = assistant.ask(q.question, history=history, k=k)  # the chain retrieves at least 10; the answer sees k
        latency = (time.perf_counter() - t0) * 1000.0
        if on_answer is not None:
            on_answer(q, answer, latency)
        extra: dict[str, Any] = {
            "timings_ms": {n: round(v, 1) for n, v in answer.timings_ms.items()},
            "backend": answer.backend,
            "standalone_question": answer.standalone_question,
            "gate": dict(answer.gate),
            "unsupported": list(answer.unsupported),
        }
        if judge is not None and q.answerable and not answer.refused:
            from .judge import judge_answer

            extra.update(judge_answer(judge, q.question, answer.text, answer.citations))
        passages = hits_to_passages(answer.hits)[:depth]
        records.append(make_record(q, passages, answer.text, answer_citations(answer), answer.refused, latency, extra))
    return records


def build_metrics(sets: list[QuestionSet], records: list[dict[str, Any]], notes: list[str] | None = None) -> dict[str, Any]:
    """Aggregates overall, per tag and per set, with each set's thresholds checked; status 1 on a miss."""
    metrics: dict[str, Any] = {
        "sets": [],
        "overall": aggregate(records),
        "per_tag": aggregate_by_tag(records),
        "per_doc_type": aggregate_by_doc_type(records),
        "per_set": {},
        "thresholds": [],
        "notes": list(notes or []),
    }
    for qs in sets:
        recs = [r for r in records if r["set"] == qs.name]
        agg = aggregate(recs)
        th = check_thresholds(agg, qs.thresholds)
        for t in th:
            t["set"] = qs.name
        metrics["per_set"][qs.name] = {"overall": agg, "per_tag": aggregate_by_tag(recs), "thresholds": th}
        metrics["thresholds"] += th
    metrics["status"] = 1 if any(not t["passed"] for t in metrics["thresholds"]) else 0
    return metrics


def write_run(run_dir: Path, metrics: dict[str, Any], records: list[dict[str, Any]], gold_text=None) -> None:
    from .report import write_report

    with open(run_dir / "results.jsonl", "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False), encoding="utf-8")
    write_report(run_dir, metrics, records, gold_text=gold_text)


def _gold_text_lookup(contexts: dict[str, tuple[Settings, Path | None]]):
    from .report import GoldPageText

    lookups = {name: GoldPageText(s, c) for name, (s, c) in contexts.items()}

    def lookup(record: dict[str, Any], file: str, page: int) -> str | None:
        gp = lookups.get(record.get("set", ""))
        return gp(file, page) if gp else None

    return lookup


def run_baseline(set_paths: list[str | Path], corpus: str | Path, k: int = 10, progress: bool = True) -> dict[str, Any]:
    """Retrieval metrics of the plain LangChain tutorial pipeline on the same questions (see baseline.py)."""
    from .baseline import baseline_records

    sets = load_sets(list(set_paths))
    questions = [q for s in sets for q in s.questions]
    return baseline_records(questions, Path(corpus), k=k, progress=progress)
