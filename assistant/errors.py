"""Errors that carry a one-line, user-facing message, and the one JSON shape they take."""

from __future__ import annotations

from typing import Any


class AssistantError(Exception):
    """Base class: ``str(err)`` is a complete one-line message for the user; ``kind`` names it for scripts."""

    kind = "error"


class LoadError(AssistantError):
    """A source file could not be read. The message names the file and the reason."""

    kind = "bad_file"

    def __init__(self, path: str, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class StoreMismatchError(AssistantError):
    """The store was built with another embedding model or chunker version."""

    kind = "store_mismatch"


class EmptyStoreError(AssistantError):
    """There are no documents to answer from yet."""

    kind = "empty_store"


class QuestionError(AssistantError):
    """The question itself is unusable (empty, too long)."""

    kind = "bad_question"


class FetchError(AssistantError):
    """A catalog document could not be downloaded."""

    kind = "fetch"


class BackendError(AssistantError):
    """An answerer backend (LLM server, model file) is unavailable or misconfigured."""

    kind = "backend"


def error_json(exc: BaseException) -> dict[str, Any]:
    """``{"error": {"kind", "message"}}``: what ``assistant ask --json`` and the UI's API return on failure.

    Only ``AssistantError`` messages reach the user; anything else is an internal error whose
    details stay in the server log.
    """
    if isinstance(exc, AssistantError):
        message = (str(exc).splitlines() or [type(exc).__name__])[0]
        return {"error": {"kind": exc.kind, "message": message}}
    return {"error": {"kind": "internal", "message": f"internal error ({type(exc).__name__}); see the log"}}
