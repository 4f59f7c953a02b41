"""Errors that carry a one-line, user-facing message."""

from __future__ import annotations


class AssistantError(Exception):
    """Base class: ``str(err)`` is a complete one-line message for the user."""


class LoadError(AssistantError):
    """A source file could not be read. The message names the file and the reason."""

    def __init__(self, path: str, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class StoreMismatchError(AssistantError):
    """The store was built with another embedding model or chunker version."""


class FetchError(AssistantError):
    """A catalog document could not be downloaded."""


class BackendError(AssistantError):
    """An answerer backend (LLM server, model file) is unavailable or misconfigured."""
