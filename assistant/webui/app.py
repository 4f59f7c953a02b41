"""The Gradio app: chat with streamed, cited answers; sources with page images; library; settings.

Per-user state lives only in ``gr.State`` (conversation history and the citations of each
answer), so concurrent sessions never share anything but the read-only ``Assistant``
objects, which are created lazily, once per backend configuration, by ``AssistantPool``.
"""

# No ``from __future__ import annotations``: gradio must see the real ``gr.EventData`` hint.
import io
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import AssistantError
from ..records import Citation
from . import render

log = logging.getLogger(__name__)

BACKENDS = ["extractive", "ollama", "openai", "llamacpp"]


def available_backends() -> list[str]:
    """The Settings choices: ``local`` joins when llama-cpp-python and a fetched (or named) model are there."""
    import importlib.util

    from ..models import installed_path

    has_model = bool(os.environ.get("ASSISTANT_LOCAL_MODEL")) or installed_path() is not None
    return BACKENDS + (["local"] if has_model and importlib.util.find_spec("llama_cpp") is not None else [])

EXAMPLES = [
    "What did the OSCE survey find about how participating States identify victims of trafficking?",
    "According to the OSCE survey, what are the main challenges in prosecuting trafficking cases?",
    "Which public-private partnership practices help prevent trafficking in supply chains?",
    "How do businesses and governments work together in promising PPP practices against trafficking in persons?",
]

PLACEHOLDER = (
    "Ask about the reports in the library. Every answer cites its passages as [n]; "
    "click a number to see the passage and its page."
)

# Client-side glue for the sources panel: "View page" buttons and [n] links in the chat
# both fire the panel's "pick" event with {turn, n}; the server looks the citation up in
# the session's own state (never trusting the page or file from the browser).
SOURCES_JS = r"""
const pick = (turn, n) => trigger('pick', {turn: turn, n: n});
element.addEventListener('click', (e) => {
  const b = e.target.closest('button.view-page');
  if (b) { e.preventDefault(); pick(Number(b.dataset.turn), Number(b.dataset.n)); }
});
if (!window.__assistantCiteHook) {
  window.__assistantCiteHook = true;
  document.addEventListener('click', (e) => {
    const a = e.target.closest ? e.target.closest('a.cite') : null;
    if (!a) return;
    const m = /^#src-(\d+)-(\d+)$/.exec(a.getAttribute('href') || '');
    if (!m) return;
    e.preventDefault();
    e.stopPropagation();
    const here = document.getElementById('src-' + m[1] + '-' + m[2]);
    if (here) here.scrollIntoView({block: 'nearest'});
    pick(Number(m[1]), Number(m[2]));
  }, true);
}
watch('value', () => {
  const s = element.querySelector('.src.selected');
  if (s) s.scrollIntoView({block: 'nearest'});
});
"""

CSS = """
#sources .sources { padding-top: 22px; display: flex; flex-direction: column; gap: 10px; max-height: 560px; overflow-y: auto; }
#sources .src { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px; }
#sources .src.selected { border-color: var(--color-accent); box-shadow: 0 0 0 2px var(--color-accent-soft); }
#sources .src.unsupported { border-style: dashed; }
#sources .src-head { font-weight: 600; }
#sources .src-meta { font-size: 0.85em; opacity: 0.8; margin: 2px 0 4px; }
#sources .src-warn { color: var(--error-text-color, #b91c1c); }
#sources .src-text { margin: 4px 0; padding-left: 8px; border-left: 3px solid var(--border-color-primary);
  white-space: pre-wrap; font-size: 0.92em; }
#sources mark { background: #fde68a; color: inherit; padding: 0 1px; }
#sources .view-page { font-size: 0.85em; padding: 2px 8px; border-radius: 6px; cursor: pointer;
  border: 1px solid var(--border-color-primary); background: var(--button-secondary-background-fill); }
#sources .src-q, #sources .src-empty { opacity: 0.85; }
#chat a.cite { text-decoration: none; font-weight: 600; padding: 0 1px; }
.notice { padding: 6px 10px; border-radius: 6px; }
.notice-error { background: #fee2e2; color: #7f1d1d; }
.notice-info { background: #e0f2fe; color: #0c4a6e; }
.notice-ok { background: #dcfce7; color: #14532d; }
"""


def new_session() -> dict[str, Any]:
    """Per-session state: history pairs for follow-ups, and each answer's citations."""
    return {"history": [], "turns": []}


def _concurrency() -> int:
    try:
        return max(1, int(os.environ.get("ASSISTANT_UI_CONCURRENCY") or 4))
    except ValueError:
        return 4


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
        if backend not in BACKENDS + ["local"] and backend != "fake":
            raise AssistantError(f"unknown answerer {backend!r}; choose one of: {', '.join(available_backends())}")
        model, base_url = (model or "").strip(), (base_url or "").strip()
        key = (backend, model, base_url) if backend != "extractive" else (backend, "", "")
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            opts = {}
            if backend != "extractive":
                if model:
                    opts["model"] = model
                if base_url:
                    opts["base_url"] = base_url
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


def _message(exc: BaseException) -> str:
    """A one-line message for the user; tracebacks go to the server log only."""
    if isinstance(exc, AssistantError):
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    log.exception("unexpected error in the UI")
    return f"Internal error ({type(exc).__name__}); see the server log."


def _filters(files: list[str] | None) -> dict[str, Any] | None:
    files = [f for f in (files or []) if f]
    return {"files": files} if files else None


def _citation_state(c: Citation) -> dict[str, Any]:
    return c.to_json()


def build_app(
    settings: Settings | None = None,
    sources_dir: str | Path = "sources",
    pool: AssistantPool | None = None,
):
    """Build the ``gr.Blocks`` app (not launched). ``pool`` lets callers share or replace assistants."""
    import gradio as gr

    from .. import uploads
    from ..library import Library
    from . import pageview

    settings = settings or Settings()
    sources_dir = Path(sources_dir)
    pool = pool or AssistantPool(settings)
    library = Library(settings, sources_dir)
    limit = _concurrency()

    # ------------------------------------------------------------------ handlers
    def doc_files() -> list[str]:
        try:
            return [d["file"] for d in library.documents() if d.get("file")]
        except Exception as e:  # store unreadable: the notice says why
            log.warning("cannot list documents: %s", e)
            return []

    def start_notice() -> str:
        try:
            docs = library.documents()
        except Exception as e:
            return render.message_html(_message(e), "error")
        if not docs:
            return render.message_html(
                "No documents yet: add reports in the Library tab (or run `assistant ingest sources`).", "info"
            )
        return ""

    def respond(message, chat, session, backend, model, base_url, k, files):
        message = (message or "").strip()
        if not message:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        chat = list(chat or []) + [
            {"role": "user", "content": render.escape_markdown(message)},
            {"role": "assistant", "content": render.THINKING if (backend or settings.backend) != "extractive" else "…"},
        ]
        yield chat, gr.skip(), gr.skip(), gr.skip(), ""
        answer = None
        buf = ""
        try:
            asst = pool.get(backend, model, base_url)
            history = [tuple(p) for p in session.get("history", [])]
            for item in asst.stream(message, history=history, k=int(k) if k else None, filters=_filters(files)):
                if isinstance(item, str):
                    buf += item
                    chat[-1] = {"role": "assistant", "content": render.streaming_markdown(buf)}
                    yield chat, gr.skip(), gr.skip(), gr.skip(), gr.skip()
                else:
                    answer = item
            if answer is None:
                raise AssistantError("the answerer returned no answer")
        except Exception as e:  # noqa: BLE001 - every failure becomes one line, never a traceback
            msg = _message(e)
            gr.Warning(msg)
            chat[-1] = {"role": "assistant", "content": "⚠ " + render.escape_markdown(msg)}
            yield chat, gr.skip(), render.message_html(msg, "error"), gr.skip(), gr.skip()
            return
        turn = len(session.get("turns", []))
        cites = [_citation_state(c) for c in answer.citations]
        new_state = {
            "history": list(session.get("history", [])) + [(message, answer.text)],
            "turns": list(session.get("turns", []))
            + [{"question": message, "searched": answer.standalone_question, "citations": cites}],
        }
        chat[-1] = {
            "role": "assistant",
            "content": render.answer_markdown(answer.text, [c["n"] for c in cites], turn)
            + render.timings_line(answer.timings_ms),
        }
        panel = render.sources_html(cites, turn, message, searched=answer.standalone_question)
        yield chat, new_state, panel, None, gr.skip()

    def clear_chat():
        return [], new_session(), render.empty_sources_html(), None

    def pick(session, evt: gr.EventData):
        data = getattr(evt, "_data", None) or {}
        try:
            turn, n = int(data.get("turn", -1)), int(data.get("n", -1))
        except (TypeError, ValueError, AttributeError):
            return gr.skip(), gr.skip()
        turns = session.get("turns", [])
        if not 0 <= turn < len(turns):
            return gr.skip(), gr.skip()
        t = turns[turn]
        cite = next((c for c in t["citations"] if int(c.get("n", -1)) == n), None)
        html = render.sources_html(t["citations"], turn, t["question"], selected=n, searched=t.get("searched", ""))
        if cite is None:
            return html, gr.skip()
        return html, page_image(cite)

    def page_image(cite: dict[str, Any]):
        from PIL import Image

        caption = render.page_caption(cite)
        try:
            doc = next((d for d in library.documents() if d.get("file") == cite.get("file")), None)
            path = (doc or {}).get("path") or ""
            if not path:
                raise AssistantError(f"{cite.get('file')}: no longer in the library")
            if not pageview.is_pdf(path):
                gr.Info("Page images are shown for PDF documents only.")
                return gr.Image(value=None, label=f"{caption} (no page image: not a PDF)")
            text = cite.get("text") or ""
            a, b = (list(cite.get("span") or [0, 0]) + [0, 0])[:2]
            img = pageview.render_page(path, int(cite.get("page") or 1), sentence=text[int(a) : int(b)], passage=text)
        except (AssistantError, FileNotFoundError, ValueError) as e:
            gr.Warning(str(e).splitlines()[0])
            return gr.Image(value=None, label=caption)
        except Exception as e:  # noqa: BLE001
            gr.Warning(_message(e))
            return gr.Image(value=None, label=caption)
        label = caption if img.found else f"{caption} (passage not located on the page)"
        return gr.Image(value=Image.open(io.BytesIO(img.png)), label=label)

    def ask_api(question: str) -> dict:
        """Answer one question from the library; returns the same JSON as `assistant ask --json`."""
        question = (question or "").strip()
        if not question:
            raise gr.Error("empty question")
        try:
            return pool.get().ask(question).to_json()
        except Exception as e:  # noqa: BLE001
            raise gr.Error(_message(e)) from None

    def library_outputs(status: str = ""):
        files = doc_files()
        try:
            rows = render.library_rows(library.documents())
        except Exception as e:  # noqa: BLE001
            rows, status = [], status or _message(e)
        return (
            status,
            rows,
            gr.Dropdown(choices=files, value=None),
            gr.Dropdown(choices=files),
            catalog_rows(),
            start_notice(),
        )

    def catalog_rows():
        try:
            return render.catalog_rows(library.status())
        except Exception as e:  # noqa: BLE001
            log.warning("catalog: %s", _message(e))
            return []

    def do_upload(files, progress=gr.Progress(track_tqdm=True)):
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in (files or [])]
        if not paths:
            raise gr.Error("Choose one or more files first.")
        progress(0, desc="Checking files")
        try:
            res = library.add_uploads([(p, Path(p).name) for p in paths])
        except Exception as e:  # noqa: BLE001
            raise gr.Error(_message(e)) from None
        if res.saved:
            pool.invalidate()
        for line in res.rejected:
            gr.Warning(line)
        return library_outputs(res.message())

    def do_delete(file):
        try:
            msg = library.delete(file).message()
        except Exception as e:  # noqa: BLE001
            raise gr.Error(_message(e)) from None
        pool.invalidate()
        return library_outputs(msg)

    def do_fetch(progress=gr.Progress(track_tqdm=True)):
        progress(0, desc="Fetching missing reports")
        try:
            msg = library.fetch_and_ingest().message()
        except Exception as e:  # noqa: BLE001
            raise gr.Error(_message(e)) from None
        pool.invalidate()
        return library_outputs(msg)

    def refresh():
        return library_outputs("")

    # ------------------------------------------------------------------ layout
    with gr.Blocks(title="Trafficking reports assistant") as demo:
        session = gr.State(new_session())
        gr.Markdown("## Anti-trafficking reports assistant\nAnswers come only from the documents in the library, with a citation for every claim.")
        notice = gr.HTML(start_notice, elem_id="notice")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat-tab"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(
                            label="Conversation",
                            elem_id="chat",
                            height=520,
                            sanitize_html=True,
                            render_markdown=True,
                            allow_tags=False,
                            latex_delimiters=[],
                            feedback_options=None,
                            buttons=["copy", "copy_all"],
                            placeholder=PLACEHOLDER,
                        )
                        with gr.Row():
                            question = gr.Textbox(
                                show_label=False,
                                placeholder="Ask a question about the reports…",
                                elem_id="question",
                                scale=5,
                                lines=1,
                                max_lines=4,
                            )
                            send = gr.Button("Ask", variant="primary", elem_id="ask-button", scale=1)
                        clear = gr.Button("New conversation", size="sm", elem_id="clear-button")
                        gr.Examples(EXAMPLES, inputs=question, label="Example questions")
                    with gr.Column(scale=2):
                        sources = gr.HTML(
                            render.empty_sources_html(),
                            elem_id="sources",
                            js_on_load=SOURCES_JS,
                            label="Sources",
                            show_label=True,
                            container=True,
                        )
                        page = gr.Image(
                            label="Page",
                            type="pil",
                            format="png",
                            interactive=False,
                            elem_id="page-image",
                            buttons=["download", "fullscreen"],
                            height=640,
                        )
            with gr.Tab("Library", id="library-tab"):
                lib_table = gr.Dataframe(
                    headers=render.LIBRARY_HEADERS,
                    datatype=["str", "str", "number", "number", "str"],
                    interactive=False,
                    elem_id="library-table",
                    label="Documents in the store",
                )
                lib_refresh = gr.Button("Refresh", size="sm")
                with gr.Row():
                    with gr.Column():
                        upload_files = gr.File(
                            label=f"Add documents (PDF, HTML, Markdown, text, DOCX; up to {uploads.max_upload_mb():g} MB each)",
                            file_count="multiple",
                            file_types=list(uploads.ALLOWED_SUFFIXES),
                            elem_id="upload",
                        )
                        upload_btn = gr.Button("Upload and ingest", variant="primary", elem_id="upload-button")
                    with gr.Column():
                        delete_choice = gr.Dropdown(label="Document to delete", choices=[], interactive=True,
                                                    elem_id="delete-choice")
                        delete_btn = gr.Button("Delete from library", variant="stop", elem_id="delete-button")
                lib_status = gr.Textbox(label="Status", interactive=False, lines=2, elem_id="library-status")
                gr.Markdown("### Report catalog")
                catalog_table = gr.Dataframe(
                    headers=render.CATALOG_HEADERS,
                    datatype=["str", "str", "str", "str"],
                    interactive=False,
                    elem_id="catalog-table",
                    label="Reports named in sources/catalog.toml",
                )
                fetch_btn = gr.Button("Fetch missing reports", elem_id="fetch-button")
            with gr.Tab("Settings", id="settings-tab"):
                choices = available_backends()
                backend = gr.Radio(choices, value=settings.backend if settings.backend in choices else "extractive",
                                   label="Answerer", info="extractive needs no model server")
                with gr.Row():
                    model = gr.Textbox(label="Model (LLM answerers)", placeholder="e.g. llama3.2, gpt-4o-mini")
                    base_url = gr.Textbox(label="Base URL (LLM answerers)", placeholder="e.g. http://127.0.0.1:11434")
                k = gr.Slider(1, 20, value=settings.k, step=1, label="Passages retrieved (k)")
                files_filter = gr.Dropdown(label="Restrict to documents (none = all)", choices=[], multiselect=True,
                                           interactive=True, elem_id="files-filter")

        # -------------------------------------------------------------- events
        chat_inputs = [question, chatbot, session, backend, model, base_url, k, files_filter]
        chat_outputs = [chatbot, session, sources, page, question]
        for trigger in (send.click, question.submit):
            trigger(respond, chat_inputs, chat_outputs, api_visibility="private", concurrency_limit=limit,
                    concurrency_id="answer", show_progress="minimal")
        clear.click(clear_chat, None, [chatbot, session, sources, page], api_visibility="private", queue=False)
        chatbot.clear(clear_chat, None, [chatbot, session, sources, page], api_visibility="private", queue=False)
        sources.pick(pick, [session], [sources, page], api_visibility="private", show_progress="minimal")

        lib_outputs = [lib_status, lib_table, delete_choice, files_filter, catalog_table, notice]
        upload_btn.click(do_upload, [upload_files], lib_outputs, api_name="upload",
                         concurrency_limit=1, concurrency_id="library-write")
        delete_btn.click(do_delete, [delete_choice], lib_outputs, api_name="delete", api_visibility="undocumented",
                         concurrency_limit=1, concurrency_id="library-write")
        fetch_btn.click(do_fetch, None, lib_outputs, api_name="fetch", api_visibility="undocumented",
                        concurrency_limit=1, concurrency_id="library-write")
        lib_refresh.click(refresh, None, lib_outputs, api_name="library")
        demo.load(refresh, None, lib_outputs, api_visibility="private")
        gr.api(ask_api, api_name="ask", concurrency_limit=limit, concurrency_id="answer")

    demo.queue(default_concurrency_limit=limit)
    demo.assistant_pool = pool  # for callers that want to warm it up
    return demo
