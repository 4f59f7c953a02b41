"""The Gradio chat UI: ``serve()`` launches it, ``build_app()`` builds it (see ``ui.py``).

Submodules: ``render`` (pure, escaped HTML), ``pageview`` (PDF page images), ``app`` (the
Blocks; library actions go through ``assistant.library``), ``serve`` (launch and the auth rule).
Gradio is imported only when the app is built.
"""

from __future__ import annotations


def build_app(*args, **kwargs):
    from .app import build_app as _build

    return _build(*args, **kwargs)


def serve(*args, **kwargs):
    from .serve import serve as _serve

    return _serve(*args, **kwargs)


__all__ = ["build_app", "serve"]
