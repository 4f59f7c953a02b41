"""The Gradio chat UI: ``serve()`` launches it, ``build_app()`` builds it (see ``ui.py``).

Submodules: ``app`` (layout and wiring), ``handlers`` (one function per event, the API),
``render`` (pure, escaped HTML), ``transcript`` (the conversation, Copy and Export text),
``examples`` (example questions from the library), ``pageview`` (PDF page images),
``csrf`` (the cross-site guard), ``serve`` (launch, port and auth rule), ``assets/``
(JavaScript and CSS). Library actions go through ``assistant.library``. Gradio is imported only when
the app is built.
"""

from __future__ import annotations


def build_app(*args, **kwargs):
    from .app import build_app as _build

    return _build(*args, **kwargs)


def serve(*args, **kwargs):
    from .serve import serve as _serve

    return _serve(*args, **kwargs)


__all__ = ["build_app", "serve"]
