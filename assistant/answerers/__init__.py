"""Answerers turn a question and retrieved passages into an ``Answer`` with citations.

``extractive`` (the default) needs no model server; the LLM answerers live in ``llm.py``
and are loaded only when asked for.
"""

from __future__ import annotations

from .base import Answerer


def get_answerer(name: str = "extractive", **opts) -> Answerer:
    """Return the answerer called ``name`` (extractive, ollama, openai, llamacpp, or a fake for tests)."""
    name = (name or "extractive").lower()
    if name == "extractive":
        from .extractive import ExtractiveAnswerer

        return ExtractiveAnswerer(**opts)
    from .llm import get_llm_answerer  # lazy: langchain-openai / ollama only when used

    return get_llm_answerer(name, **opts)
