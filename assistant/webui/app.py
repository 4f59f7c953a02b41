"""The Gradio app's layout and wiring: which component shows what, which event runs which handler.

Handlers live in ``handlers.py``, markup in ``render.py``, JavaScript and CSS in ``assets/``.
Per-user state lives only in ``gr.State`` (a ``transcript.Session``), so concurrent sessions
share nothing but the read-only assistants in the ``AssistantPool``.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from ..asking import MAX_QUESTION_CHARS
from ..config import Settings

ASSETS = Path(__file__).parent / "assets"
PLACEHOLDER = (
    "Ask about the reports in the library. Every answer cites its passages as [n]; "
    "click a number to see the passage and its page."
)
QUEUE_HTML = '<div class="busy"><span class="spinner"></span><span class="busy-text"></span></div><ol class="waiting"></ol>'
DONE_JS = "() => { window.__assistantDone && window.__assistantDone(); }"
ASK_JS = ("(q) => { if (window.__assistantAsk) window.__assistantAsk(q); "  # queue.js not loaded yet: keep it
          "else (window.__assistantEarly = window.__assistantEarly || []).push(q); return ''; }")
EXAMPLE_JS = ASK_JS.replace("return ''", "return null")  # an example is asked at once, like a typed one


@cache
def asset(name: str) -> str:
    """The text of a file in ``assets/`` (JavaScript and CSS are kept out of the Python)."""
    return (ASSETS / name).read_text(encoding="utf-8")


def _concurrency() -> int:
    try:
        return max(1, int(os.environ.get("ASSISTANT_UI_CONCURRENCY") or 4))
    except ValueError:
        return 4


def build_app(settings: Settings | None = None, sources_dir: str | Path = "sources", pool=None):
    """Build the ``gr.Blocks`` app (not launched). ``pool`` lets callers share or replace assistants."""
    import gradio as gr

    from .. import uploads
    from ..library import Library
    from . import handlers as h
    from . import render
    from .transcript import Session

    settings = settings or Settings()
    ctx = h.Context(settings=settings, library=Library(settings, sources_dir), pool=pool or h.AssistantPool(settings))
    limit = _concurrency()

    def on(fn):
        return h.bind(fn, ctx)

    with gr.Blocks(title="Trafficking reports assistant") as demo:
        session = gr.State(Session())
        gr.Markdown("## Anti-trafficking reports assistant\n"
                    "Answers come only from the documents in the library, with a citation for every claim.")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat-tab"):
                lib_banner = gr.HTML(render.library_banner([]), elem_id="library-banner")
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(label="Conversation", elem_id="chat", height=480, sanitize_html=True,
                                             render_markdown=True, allow_tags=False, latex_delimiters=[],
                                             feedback_options=None, buttons=[], placeholder=PLACEHOLDER)
                        queue_box = gr.HTML(QUEUE_HTML, elem_id="ask-queue", js_on_load=asset("queue.js"),
                                            container=False)
                        with gr.Row():
                            question = gr.Textbox(show_label=False, placeholder="Ask a question about the reports…",
                                                  elem_id="question", scale=5, lines=1, max_lines=4,
                                                  max_length=MAX_QUESTION_CHARS)
                            send = gr.Button("Ask", variant="primary", elem_id="ask-button", scale=1)
                        with gr.Row():
                            clear = gr.Button("New conversation", size="sm", elem_id="clear-button")
                            export_btn = gr.DownloadButton("Export conversation", size="sm", interactive=False,
                                                           elem_id="export-button")
                        examples = gr.Radio([], label="Example questions (click one to ask it)", elem_id="examples",
                                            visible=False)
                        next_question = gr.Textbox(visible="hidden", elem_id="next-question")
                        run = gr.Button(visible="hidden", elem_id="run-button")
                    with gr.Column(scale=2):
                        sources = gr.HTML(render.empty_sources_html(), elem_id="sources", js_on_load=asset("sources.js"),
                                          label="Sources", show_label=True, container=True)
                        page = gr.HTML(render.empty_page_html(), elem_id="page-view", js_on_load=asset("pageview.js"),
                                       label="Page", show_label=True, container=True)
            with gr.Tab("Library", id="library-tab"):
                lib_table = gr.Dataframe(headers=render.LIBRARY_HEADERS, datatype=["str", "str", "number", "number", "str"],
                                         interactive=False, wrap=True, elem_id="library-table",
                                         column_widths=["34%", "30%", "8%", "8%", "20%"], label="Documents in the library")
                lib_refresh = gr.Button("Refresh", size="sm")
                with gr.Row():
                    with gr.Column():
                        upload_files = gr.File(
                            label=f"Add documents (PDF, HTML, Markdown, text, DOCX; up to {uploads.max_upload_mb():g} MB each)",
                            file_count="multiple", file_types=list(uploads.ALLOWED_SUFFIXES), elem_id="upload")
                        upload_btn = gr.Button("Upload and ingest", variant="primary", elem_id="upload-button")
                    with gr.Column():
                        delete_choice = gr.Dropdown(label="Document to delete", choices=[], interactive=True,
                                                    elem_id="delete-choice")
                        delete_btn = gr.Button("Delete from library", variant="stop", elem_id="delete-button")
                lib_status = gr.Textbox(label="Status", interactive=False, lines=2, elem_id="library-status")
                gr.Markdown("### Report catalog")
                catalog_note = gr.Markdown(elem_id="catalog-note")
                catalog_table = gr.Dataframe(headers=render.CATALOG_HEADERS, datatype=["str"] * 4, interactive=False,
                                             wrap=True, elem_id="catalog-table", label="Reports named in catalog.toml")
                fetch_btn = gr.Button("Fetch missing reports", elem_id="fetch-button", interactive=False)
            with gr.Tab("Settings", id="settings-tab"):
                choices = h.available_answerers()
                backend = gr.Radio(choices, label="Answerer", info="extractive needs no model server",
                                   value=settings.backend if settings.backend in choices else "extractive")
                with gr.Row():
                    model = gr.Textbox(label="Model (LLM answerers)", placeholder="e.g. llama3.2, gpt-4o-mini")
                    base_url = gr.Textbox(label="Base URL (LLM answerers)", placeholder="e.g. http://127.0.0.1:11434")
                k = gr.Slider(1, 20, value=settings.k, step=1, label="Passages retrieved (k)")
                files_filter = gr.Dropdown(label="Restrict answers to documents (none = all)", choices=[],
                                           multiselect=True, interactive=True, elem_id="files-filter")

        # ------------------------------------------------------------------ chat events
        private = {"api_visibility": "private"}
        for trigger in (send.click, question.submit):
            trigger(None, [question], [question], js=ASK_JS, **private)
        run.click(on(h.respond), [next_question, chatbot, session, backend, model, base_url, k, files_filter],
                  [chatbot, session, sources, page, export_btn], concurrency_limit=limit, concurrency_id="answer",
                  trigger_mode="multiple", show_progress="hidden", **private
                  ).then(None, js=DONE_JS, **private)
        for trigger in (clear.click, chatbot.clear):
            trigger(on(h.clear_chat), None, [chatbot, session, sources, page, export_btn], queue=False, **private)
        sources.pick(on(h.pick), [session], [sources, page], show_progress="minimal", **private)
        examples.input(None, [examples], [examples], js=EXAMPLE_JS, **private)
        files_filter.change(on(h.banner), [files_filter], [lib_banner], queue=False, **private)

        # --------------------------------------------------------------- library events
        view = [lib_table, delete_choice, files_filter, catalog_table, catalog_note, fetch_btn, lib_banner, examples]
        write = {"concurrency_limit": 1, "concurrency_id": "library-write"}
        # the file picker is never cleared by the server: it could wipe files the user is picking meanwhile
        upload_btn.click(on(h.upload), [upload_files], [lib_status], api_name="upload", **write
                         ).then(on(h.library_view), [files_filter], view, **private)
        delete_btn.click(on(h.delete), [delete_choice], [lib_status], api_name="delete_click", **write, **private
                         ).then(on(h.library_view), [files_filter], view, **private)
        fetch_btn.click(on(h.fetch), None, [lib_status], api_name="fetch_click", **write, **private
                        ).then(on(h.library_view), [files_filter], view, **private)
        lib_refresh.click(on(h.library_view), [files_filter], view, **private)
        demo.load(on(h.library_view), [files_filter], view, **private)

        # ---------------------------------------------------------------------- the API
        gr.api(on(h.api_ask), api_name="ask", concurrency_limit=limit, concurrency_id="answer")
        gr.api(on(h.api_library), api_name="library")
        gr.api(on(h.api_delete), api_name="delete", **write)
        gr.api(on(h.api_fetch), api_name="fetch", **write)

    demo.queue(default_concurrency_limit=limit)
    demo.assistant_pool = ctx.pool  # for callers that want to warm it up
    return demo
