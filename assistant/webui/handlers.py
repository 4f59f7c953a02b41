"""The UI's event handlers, one module-level function per event.

Each takes the app's ``Context`` first; ``app.py`` binds it with :func:`bind`, which keeps
the rest of the signature (gradio reads it to pass ``gr.EventData`` and ``gr.Progress``).
Handlers never raise to gradio: failures become one-line messages in the page, so no output
turns into a red "Error" badge. Per-user state lives only in the ``Session`` passed in.
"""

# No ``from __future__ import annotations``: gradio must see the real ``gr.EventData`` hint.
import functools
import inspect
import logging
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import gradio as gr

from ..answerers.backends import ANSWERERS
from ..asking import check_question, history_pairs
from ..config import Settings
from ..errors import AssistantError, error_json
from ..library import Library
from ..records import Citation, Filters
from . import examples, pageview, render
from .transcript import Session, Turn, answer_plaintext, conversation_markdown

log = logging.getLogger(__name__)


def available_answerers() -> list[str]:
    """The Settings choices: ``local`` only when llama-cpp-python and a fetched (or named) model are there."""
    import importlib.util

    from ..models import installed_path

    has_local = (bool(os.environ.get("ASSISTANT_LOCAL_MODEL")) or installed_path() is not None) and \
        importlib.util.find_spec("llama_cpp") is not None
    return [a for a in ANSWERERS if a != "local" or has_local]


class AssistantPool:
    """One ``Assistant`` per (backend, model, base URL), created on first use, shared by sessions."""

    def __init__(self, settings: Settings, factory: Callable[..., Any] | None = None, size: int = 6):
        self.settings = settings
        self.factory = factory or self._default_factory
        self.size = size
        self._cache: OrderedDict[tuple[str, str, str], Any] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _default_factory(settings: Settings, backend: str, **opts: Any):
        from ..chain import Assistant

        return Assistant(settings, backend=backend, **opts)

    def get(self, backend: str = "", model: str = "", base_url: str = ""):
        backend = (backend or self.settings.backend or "extractive").strip().lower()
        if backend not in ANSWERERS and backend != "fake":
            raise AssistantError(f"unknown answerer {backend!r}; choose one of: {', '.join(ANSWERERS)}")
        model, base_url = (model or "").strip(), (base_url or "").strip()
        key = (backend, model, base_url) if backend != "extractive" else (backend, "", "")
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            opts = {}
            if backend != "extractive":
                opts = {k: v for k, v in (("model", model), ("base_url", base_url)) if v}
            inst = self.factory(self.settings, backend, **opts)
            try:  # build the lazy parts now, under the lock, so concurrent first calls don't race
                inst.retriever
                inst.answerer
            except AssistantError:
                pass  # e.g. no store yet: reported when a question is asked
            self._cache[key] = inst
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
            return inst

    def invalidate(self) -> None:
        """Forget the assistants (after the library changed) so the next ask sees fresh indexes."""
        with self._lock:
            self._cache.clear()


@dataclass
class Context:
    """What every handler shares: settings, the library service, the assistants, the export folder."""

    settings: Settings
    library: Library
    pool: AssistantPool
    export_root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="assistant-export-")))


def bind(fn: Callable, ctx: Context) -> Callable:
    """``fn`` with ``ctx`` as its first argument, keeping the rest of its signature and hints for gradio."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def bound(*args, **kw):
            yield from fn(ctx, *args, **kw)
    else:
        @functools.wraps(fn)
        def bound(*args, **kw):
            return fn(ctx, *args, **kw)
    sig = inspect.signature(fn)
    first = next(iter(sig.parameters))
    bound.__signature__ = sig.replace(parameters=list(sig.parameters.values())[1:])
    bound.__annotations__ = {k: v for k, v in fn.__annotations__.items() if k != first}
    del bound.__wrapped__
    return bound


def user_message(exc: BaseException) -> str:
    """A one-line message for the page; unexpected errors keep their traceback in the server log."""
    if not isinstance(exc, AssistantError):
        log.exception("unexpected error in the UI")
    return error_json(exc)["error"]["message"]


def _documents(ctx: Context) -> list[dict[str, Any]]:
    try:
        return ctx.library.documents()
    except Exception as e:  # noqa: BLE001 - an unreadable store shows as an empty library plus a log line
        log.warning("cannot list documents: %s", user_message(e))
        return []


# ---------------------------------------------------------------------------------- chat
def respond(ctx: Context, message, chat, session, backend, model, base_url, k, files):
    """Answer one question (from the page's queue), streaming into the chat; outputs
    chat, session, sources, page view, export button."""
    chat = list(chat or [])
    skip = gr.skip()
    try:
        message = check_question(message)
    except AssistantError as e:
        chat += [{"role": "user", "content": render.escape_markdown((message or "")[:200] + "…")},
                 {"role": "assistant", "content": "⚠ " + render.escape_markdown(str(e))}]
        yield chat, skip, skip, skip, skip
        return
    thinking = "Searching the library…" if (backend or ctx.settings.backend) == "extractive" else render.THINKING
    chat += [{"role": "user", "content": render.escape_markdown(message)}, {"role": "assistant", "content": thinking}]
    yield chat, skip, skip, skip, skip
    answer, buf = None, ""
    try:
        asst = ctx.pool.get(backend, model, base_url)
        filters = Filters(files=tuple(f for f in files or [] if f)).as_dict()
        for item in asst.stream(message, history=list(session.history), k=int(k) if k else None, filters=filters):
            if isinstance(item, str):
                buf += item
                chat[-1] = {"role": "assistant", "content": render.streaming_markdown(buf)}
                yield chat, skip, skip, skip, skip
            else:
                answer = item
        if answer is None:
            raise AssistantError("the answerer returned no answer")
    except Exception as e:  # noqa: BLE001 - every failure becomes one line, never a traceback
        msg = user_message(e)
        log.warning("question not answered: %s", msg)
        chat[-1] = {"role": "assistant", "content": "⚠ " + render.escape_markdown(msg)}
        yield chat, skip, skip, skip, skip
        return
    text, cites = render.in_answer_order(answer.text, list(answer.citations))
    turn = Turn(question=message, answer=text, citations=cites, searched=answer.standalone_question,
                refused=answer.refused)
    new = replace(session, history=session.history + [(message, answer.text)], turns=session.turns + [turn])
    n = len(new.turns) - 1
    chat[-1] = {"role": "assistant",
                "content": render.answer_markdown(text, [c.n for c in cites], n) + render.removed_line(answer.unsupported)
                + render.timings_line(answer.timings_ms)}
    yield chat, new, sources_for(new, n), render.empty_page_html(), export(ctx, new)


def sources_for(session: Session, n: int, selected: int | None = None) -> str:
    t = session.turns[n]
    return render.sources_html(t.citations, n, t.question, selected=selected, searched=t.searched,
                               copy_text=answer_plaintext(t.answer, t.citations))


def export(ctx: Context, session: Session):
    """The export button, pointing at this conversation's Markdown (rewritten after each answer)."""
    folder = Path(session.export_dir) if session.export_dir else Path(tempfile.mkdtemp(dir=ctx.export_root))
    session.export_dir = str(folder)
    path = folder / "conversation.md"
    path.write_text(conversation_markdown(session.turns), encoding="utf-8")
    return gr.DownloadButton(value=str(path), interactive=True)


def clear_chat(ctx: Context):
    """New conversation: chat, session, sources, page view and export all start empty."""
    return [], Session(), render.empty_sources_html(), render.empty_page_html(), gr.DownloadButton(value=None, interactive=False)


def pick(ctx: Context, session, evt: gr.EventData):
    """A [n] or "View page" click: select that source and show its page with the sentence outlined."""
    data = getattr(evt, "_data", None) or {}
    try:
        n_turn, n = int(data.get("turn", -1)), int(data.get("n", -1))
    except (TypeError, ValueError, AttributeError):
        return gr.skip(), gr.skip()
    if not 0 <= n_turn < len(session.turns):
        return gr.skip(), gr.skip()
    cite = next((c for c in session.turns[n_turn].citations if c.n == n), None)
    html = sources_for(session, n_turn, selected=n)
    return html, (page_view(ctx, cite) if cite else gr.skip())


def page_view(ctx: Context, cite: Citation) -> str:
    """The cited page as HTML, the supporting span outlined; a one-line note when it cannot be shown."""
    caption = render.page_caption(cite)
    doc = next((d for d in _documents(ctx) if d.get("file") == cite.file), None)
    path = (doc or {}).get("path") or ""
    if not path:
        return render.empty_page_html(f"{caption}: no longer in the library")
    if not pageview.is_pdf(path):
        return render.empty_page_html(f"{caption}: page images are shown for PDF documents only")
    a, b = cite.span
    try:
        img = pageview.render_page(path, cite.page, sentence=cite.text[a:b], passage=cite.text)
    except (FileNotFoundError, ValueError) as e:
        return render.empty_page_html(f"{caption}: {str(e).splitlines()[0].split(': ', 1)[-1]}")
    except Exception as e:  # noqa: BLE001
        return render.empty_page_html(f"{caption}: {user_message(e)}")
    return render.page_view_html(img.png, caption, img.boxes, "" if img.found else "passage not located on the page")


# ------------------------------------------------------------------------------- library
def library_view(ctx: Context, files=None):
    """Everything that shows the library: table, pickers, catalog, Chat banner and examples."""
    docs = _documents(ctx)
    choices = render.doc_choices(docs)
    present = {f for _, f in choices}
    files = [f for f in (files or []) if f in present]
    try:
        sections = examples.store_sections(ctx.settings, docs) if docs else {}
    except Exception as e:  # noqa: BLE001 - examples are a nicety
        log.warning("cannot read sections for examples: %s", user_message(e))
        sections = {}
    questions = examples.example_questions(docs, sections)
    rows, note, missing = catalog_view(ctx, docs)
    return (
        render.library_rows(docs),
        gr.Dropdown(choices=choices, value=None),
        gr.Dropdown(choices=choices, value=files),
        rows,
        note,
        gr.Button(interactive=missing > 0),
        banner(ctx, files, docs),
        gr.Radio(choices=questions, value=None, visible=bool(questions)),
    )


def catalog_view(ctx: Context, docs: list[dict[str, Any]]) -> tuple[list[list[str]], str, int]:
    """Catalog rows, a line saying what they mean, and how many reports are missing."""
    try:
        status = ctx.library.status()
    except Exception as e:  # noqa: BLE001
        return [], f"The report catalog cannot be read: {user_message(e)}", 0
    if not status:
        return [], ("No report catalog (catalog.toml) in the sources folder: add documents with the upload "
                    "above or `assistant ingest`."), 0
    missing = sum(r.status == "missing" for r in status)
    note = (f"{missing} catalog report(s) missing: “Fetch missing reports” downloads them (needs internet)."
            if missing else "Every catalog report is present.")
    return render.catalog_rows(status), note, missing


def banner(ctx: Context, files, docs: list[dict[str, Any]] | None = None) -> str:
    """The Chat tab's library line, naming the documents answers are restricted to."""
    docs = _documents(ctx) if docs is None else docs
    titles = dict((f, label) for label, f in render.doc_choices(docs))
    return render.library_banner(docs, [titles.get(f, f) for f in files or []])


def upload(ctx: Context, files, progress=gr.Progress(track_tqdm=True)):
    """Check and ingest uploaded files; returns the status line."""
    paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in (files or [])]
    if not paths:
        return "Choose one or more files first."
    progress(0, desc="Checking files")
    try:
        res = ctx.library.add_uploads([(p, Path(p).name) for p in paths])
    except Exception as e:  # noqa: BLE001
        return without_paths(ctx, user_message(e))
    if res.saved:
        ctx.pool.invalidate()
    return without_paths(ctx, res.message())


def without_paths(ctx: Context, message: str) -> str:
    """A message for the page with the server's own folders taken out (they are nobody's business)."""
    for folder in {str(ctx.library.sources_dir.resolve()), os.getcwd(), tempfile.gettempdir()}:
        message = message.replace(folder.rstrip("/") + "/", "")
    return message


def _delete(ctx: Context, file: str) -> str:
    msg = ctx.library.delete(file).message()
    ctx.pool.invalidate()
    return msg


def _fetch(ctx: Context) -> str:
    msg = ctx.library.fetch_and_ingest().message()
    ctx.pool.invalidate()
    return msg


def delete(ctx: Context, file):
    """Remove one document from the library (the status line says what happened)."""
    try:
        return _delete(ctx, file)
    except Exception as e:  # noqa: BLE001
        return user_message(e)


def fetch(ctx: Context, progress=gr.Progress(track_tqdm=True)):
    """Download the catalog's missing reports and ingest them."""
    progress(0, desc="Fetching missing reports")
    try:
        return _fetch(ctx)
    except Exception as e:  # noqa: BLE001
        return user_message(e)


# ----------------------------------------------------------------------------------- API
def api_ask(
    ctx: Context,
    question: str,
    history: list[list[str]] | None = None,
    k: int | None = None,
    documents: list[str] | None = None,
    answerer: str = "",
) -> dict:
    """Answer a question from the library's documents, with a cited passage and page for every claim.

    Arguments: question (1-1,000 characters); history: earlier [question, answer] pairs, for
    follow-ups; k: passages to answer from (default 5); documents: restrict to these files
    (as /library lists them); answerer: extractive (default) or an LLM backend.
    Returns the JSON of `assistant ask --json`, or {"error": {"kind", "message"}}.
    """
    try:
        q = check_question(question)
        filters = Filters(files=tuple(documents or ())).as_dict()
        ans = ctx.pool.get(answerer or "").ask(q, history=history_pairs(history), k=int(k) if k else None,
                                               filters=filters)
    except Exception as e:  # noqa: BLE001 - one JSON error shape, one log line
        out = error_json(e)
        log.warning("ask refused (%s): %s", out["error"]["kind"], out["error"]["message"])
        return out
    return ans.to_json()


def api_library(ctx: Context) -> dict:
    """The documents in the library and the report catalog's status.

    Returns {"documents": [{title, file, pages, chunks, ingested_at}], "catalog": [{status, id, file, title}]}.
    """
    docs = _documents(ctx)
    rows, _, _ = catalog_view(ctx, docs)
    return {
        "documents": [dict(zip(("title", "file", "pages", "chunks", "ingested_at"), r)) for r in render.library_rows(docs)],
        "catalog": [dict(zip(("status", "id", "file", "title"), r)) for r in rows],
    }


def api_delete(ctx: Context, file: str) -> dict:
    """Delete one document (its file, as /library lists it) from the library. Returns {"message"} or {"error"}."""
    try:
        return {"message": _delete(ctx, file)}
    except Exception as e:  # noqa: BLE001
        return error_json(e)


def api_fetch(ctx: Context) -> dict:
    """Download the catalog's missing reports (needs internet) and ingest them. Returns {"message"} or {"error"}."""
    try:
        return {"message": _fetch(ctx)}
    except Exception as e:  # noqa: BLE001
        return error_json(e)
