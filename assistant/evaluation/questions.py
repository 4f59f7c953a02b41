"""Question sets: load and validate JSONL or YAML files of evaluation questions.

A set is a list of questions (see ``evals/README.md``) with an optional header naming the set,
the corpus folder it is about (relative to the set file) and the thresholds a run must meet.
Every problem is reported as one ``LoadError`` line naming the file and line, so a typo in a
hand-written set is found before a long run starts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import LoadError

# The overall metrics every run reports (``--json`` prints these), in display order.
REPORTED_METRICS = (
    "recall_at_1",
    "recall_at_3",
    "recall_at_5",
    "recall_at_10",
    "mrr",
    "ndcg_at_10",
    "fact_recall",
    "first_sentence_fact",
    "answer_words_p50",
    "citation_precision",
    "citation_support",
    "sentence_support",
    "refusal_rate_unanswerable",
    "false_refusal_rate",
    "latency_ms_p50",
    "latency_ms_p95",
)
# Metrics a threshold may name; ``<metric>_max`` makes it an upper bound.
THRESHOLD_METRICS = {*REPORTED_METRICS, "judge_faithfulness", "judge_answer_relevancy"}


@dataclass(frozen=True)
class GoldRef:
    """Where an answer is: a file relative to the corpus folder and its physical 1-based pages.

    Empty ``pages`` means only the file is known: the question is then scored on facts and
    citations (to the file) but not on page-level retrieval.
    """

    file: str
    pages: tuple[int, ...] = ()


@dataclass
class Question:
    id: str
    question: str
    answerable: bool
    answer: str = ""
    facts: list[str] = field(default_factory=list)
    gold: list[GoldRef] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    set_name: str = ""
    history: list[str] = field(default_factory=list)  # earlier questions of a dialogue, oldest first

    @property
    def has_page_gold(self) -> bool:
        return any(g.pages for g in self.gold)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "answerable": self.answerable,
            "answer": self.answer,
            "facts": list(self.facts),
            "gold": [{"file": g.file, "pages": list(g.pages)} for g in self.gold],
            "tags": list(self.tags),
            **({"history": list(self.history)} if self.history else {}),
        }


@dataclass
class QuestionSet:
    name: str
    path: Path
    questions: list[Question]
    corpus: Path | None = None  # resolved against the set file's folder
    thresholds: dict[str, float] = field(default_factory=dict)


def load_set(path: str | Path) -> QuestionSet:
    """Load a ``.jsonl`` or ``.yaml``/``.yml`` question set; raise ``LoadError`` on any problem."""
    p = Path(path)
    if not p.is_file():
        raise LoadError(str(p), "question set not found")
    suffix = p.suffix.lower()
    if suffix == ".jsonl":
        header, items = _read_jsonl(p)
    elif suffix in (".yaml", ".yml"):
        header, items = _read_yaml(p)
    else:
        raise LoadError(str(p), f"unsupported question-set format {suffix or '(none)'}; use .jsonl or .yaml")

    name, corpus, thresholds = _parse_header(p, header)
    questions: list[Question] = []
    seen: dict[str, str] = {}
    for where, obj in items:
        q = _parse_question(p, where, obj, set_name=name)
        if q.id in seen:
            raise LoadError(f"{p}:{where}", f"duplicate id {q.id!r} (first at {seen[q.id]})")
        seen[q.id] = str(where)
        questions.append(q)
    if not questions:
        raise LoadError(str(p), "no questions in set")
    return QuestionSet(name=name, path=p, questions=questions, corpus=corpus, thresholds=thresholds)


def load_sets(paths: list[str | Path]) -> list[QuestionSet]:
    sets = [load_set(p) for p in paths]
    names: dict[str, Path] = {}
    for s in sets:
        if s.name in names:
            raise LoadError(str(s.path), f"set name {s.name!r} also used by {names[s.name]}")
        names[s.name] = s.path
    return sets


# -- reading -------------------------------------------------------------------------------


def _read_jsonl(p: Path) -> tuple[dict | None, list[tuple[int | str, Any]]]:
    header = None
    items: list[tuple[int | str, Any]] = []
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise LoadError(str(p), f"not UTF-8 text ({e.reason})") from None
    for lineno, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise LoadError(f"{p}:{lineno}", f"invalid JSON ({e.msg} at column {e.colno})") from None
        if isinstance(obj, dict) and set(obj) == {"set"}:
            if header is not None or items:
                raise LoadError(f"{p}:{lineno}", "the set header must be the first line")
            header = obj["set"]
            continue
        items.append((lineno, obj))
    return header, items


def _read_yaml(p: Path) -> tuple[dict | None, list[tuple[int | str, Any]]]:
    import yaml

    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{p}:{mark.line + 1}" if mark is not None else str(p)
        raise LoadError(where, f"invalid YAML ({getattr(e, 'problem', None) or e})") from None
    except UnicodeDecodeError as e:
        raise LoadError(str(p), f"not UTF-8 text ({e.reason})") from None
    if isinstance(data, list):
        data = {"questions": data}
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        raise LoadError(str(p), "expected a list of questions under 'questions:'")
    unknown = set(data) - {"set", "questions"}
    if unknown:
        raise LoadError(str(p), f"unknown top-level key(s): {', '.join(sorted(unknown))}")
    # YAML has no cheap line numbers after parsing: name items by their position instead.
    items = [(f"questions[{i}]", obj) for i, obj in enumerate(data["questions"])]
    return data.get("set"), items


# -- validation ----------------------------------------------------------------------------


def _parse_header(p: Path, header: Any) -> tuple[str, Path | None, dict[str, float]]:
    if header is None:
        return p.stem, None, {}
    if not isinstance(header, dict):
        raise LoadError(str(p), "'set' header must be an object")
    unknown = set(header) - {"name", "corpus", "thresholds", "description"}
    if unknown:
        raise LoadError(str(p), f"unknown set header key(s): {', '.join(sorted(unknown))}")
    name = header.get("name") or p.stem
    if not isinstance(name, str):
        raise LoadError(str(p), "set name must be a string")
    corpus = header.get("corpus")
    corpus_path: Path | None = None
    if corpus is not None:
        if not isinstance(corpus, str) or not corpus.strip():
            raise LoadError(str(p), "set corpus must be a folder path")
        c = Path(corpus).expanduser()
        corpus_path = c if c.is_absolute() else (p.resolve().parent / c)
    thresholds = header.get("thresholds") or {}
    if not isinstance(thresholds, dict):
        raise LoadError(str(p), "set thresholds must be an object of metric: number")
    out: dict[str, float] = {}
    for key, value in thresholds.items():
        base = key[:-4] if key.endswith("_max") else key
        if base not in THRESHOLD_METRICS:
            raise LoadError(str(p), f"unknown threshold metric {key!r}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise LoadError(str(p), f"threshold {key!r} must be a number")
        out[key] = float(value)
    return name, corpus_path, out


def _parse_question(p: Path, where: int | str, obj: Any, set_name: str) -> Question:
    loc = f"{p}:{where}"

    def fail(reason: str) -> LoadError:
        return LoadError(loc, reason)

    if not isinstance(obj, dict):
        raise fail("expected a question object")
    allowed = {"id", "question", "answerable", "answer", "facts", "gold", "tags", "history"}
    unknown = set(obj) - allowed
    if unknown:
        raise fail(f"unknown key(s): {', '.join(sorted(unknown))}")
    qid = obj.get("id")
    if isinstance(qid, int) and not isinstance(qid, bool):
        qid = str(qid)
    if not isinstance(qid, str) or not qid.strip():
        raise fail("missing 'id'")
    text = obj.get("question")
    if not isinstance(text, str) or not text.strip():
        raise fail(f"{qid}: missing 'question' text")
    answerable = obj.get("answerable", True)
    if not isinstance(answerable, bool):
        raise fail(f"{qid}: 'answerable' must be true or false")
    answer = obj.get("answer") or ""
    if not isinstance(answer, str):
        raise fail(f"{qid}: 'answer' must be a string")

    facts = obj.get("facts") or []
    if not isinstance(facts, list) or not all(isinstance(f, str) and f for f in facts):
        raise fail(f"{qid}: 'facts' must be a list of regular expressions")
    for f in facts:
        try:
            re.compile(f, re.IGNORECASE)
        except re.error as e:
            raise fail(f"{qid}: bad fact regex {f!r} ({e})") from None

    gold_raw = obj.get("gold") or []
    if not isinstance(gold_raw, list):
        raise fail(f"{qid}: 'gold' must be a list of {{file, pages}}")
    gold: list[GoldRef] = []
    for g in gold_raw:
        if isinstance(g, str):
            g = {"file": g}
        if not isinstance(g, dict) or not isinstance(g.get("file"), str) or not g["file"].strip():
            raise fail(f"{qid}: each gold entry needs a 'file'")
        extra = set(g) - {"file", "pages"}
        if extra:
            raise fail(f"{qid}: unknown gold key(s): {', '.join(sorted(extra))}")
        pages = g.get("pages") or []
        if not isinstance(pages, list) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in pages
        ):
            raise fail(f"{qid}: gold pages of {g['file']} must be 1-based page numbers")
        gold.append(GoldRef(file=g["file"].strip(), pages=tuple(sorted(set(pages)))))
    if not answerable and gold:
        raise fail(f"{qid}: an unanswerable question has no gold")

    tags = obj.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise fail(f"{qid}: 'tags' must be a list of strings")
    tags = [t.strip().lower() for t in tags if t.strip()]
    if not answerable and "unanswerable" not in tags:
        tags.append("unanswerable")
    history = obj.get("history") or []
    if not isinstance(history, list) or not all(isinstance(h, str) and h.strip() for h in history):
        raise fail(f"{qid}: 'history' must be a list of earlier questions")
    if history and "follow-up" not in tags:
        tags.append("follow-up")
    return Question(
        id=qid.strip(),
        question=text.strip(),
        answerable=answerable,
        answer=answer,
        facts=list(facts),
        gold=gold,
        tags=tags,
        set_name=set_name,
        history=[h.strip() for h in history],
    )
