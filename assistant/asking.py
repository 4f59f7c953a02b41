"""The question contract shared by ``assistant ask`` and the UI's ``ask`` endpoint.

One limit, one check, one JSON shape: a question is refused before any model loads when it
is empty or longer than ``MAX_QUESTION_CHARS``; failures become ``errors.error_json``.
"""

from __future__ import annotations

from typing import Any

from .errors import QuestionError

MAX_QUESTION_CHARS = 1000


def check_question(question: str | None) -> str:
    """The question stripped, or ``QuestionError`` with a one-line reason."""
    q = (question or "").strip()
    if not q:
        raise QuestionError("empty question: type a question about the reports")
    if len(q) > MAX_QUESTION_CHARS:
        raise QuestionError(f"question too long ({len(q):,} characters; the limit is {MAX_QUESTION_CHARS:,})")
    return q


def history_pairs(history: Any) -> list[tuple[str, str]]:
    """``[[question, answer], ...]`` from JSON (API callers) as the chain's ``(q, a)`` tuples."""
    out = []
    for item in history or []:
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise QuestionError("history must be a list of [question, answer] pairs")
        out.append((str(item[0] or ""), str(item[1] or "")))
    return out
