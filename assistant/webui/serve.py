"""Launch the UI, refusing to expose it beyond this machine without a password.

Rule: a host that is not loopback (127.0.0.0/8, ::1, localhost) needs ``--auth user:password``
(or ``ASSISTANT_UI_AUTH``) or an explicit ``--insecure``; otherwise we exit with one line.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from pathlib import Path

from ..config import Settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


class ServeError(SystemExit):
    """Exit with a one-line message (argparse-style usage errors, auth rule)."""

    def __init__(self, message: str):
        super().__init__(f"error: {message}")


def is_loopback(host: str) -> bool:
    host = (host or "").strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """``user:password`` → (user, password); None/"" → None."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ServeError("--auth must look like user:password (both parts non-empty)")
    return user, password


def resolve_auth(host: str, auth: str | None, insecure: bool, env: dict | None = None) -> tuple[str, str] | None:
    """Apply the auth rule; returns the credentials to use (None = no login)."""
    env = os.environ if env is None else env
    creds = parse_auth(auth or env.get("ASSISTANT_UI_AUTH") or None)
    if creds is None and not is_loopback(host) and not insecure:
        raise ServeError(
            f"refusing to serve on {host} without a password: pass --auth user:password "
            "(or set ASSISTANT_UI_AUTH), or --insecure to serve openly"
        )
    return creds


def launch(
    demo,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    auth: tuple[str, str] | None = None,
    block: bool = True,
    quiet: bool = False,
):
    """Launch a built app with the upload limit and styling; returns (app, local_url)."""
    from .. import uploads
    from .app import CSS

    _, url, _ = demo.launch(
        server_name=host,
        server_port=int(port),
        auth=auth,
        max_file_size=f"{uploads.max_upload_mb():g}mb",
        prevent_thread_lock=not block,
        show_error=True,
        quiet=quiet,
        css=CSS,
        footer_links=["api"],
        run_history=False,
        mcp_server=False,
        ssr_mode=False,
    )
    return demo, url


def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    store: str | Path | None = None,
    auth: str | None = None,
    insecure: bool = False,
    sources: str | Path | None = None,
    block: bool = True,
    settings: Settings | None = None,
    quiet: bool = False,
):
    """Build and launch the UI over ``store`` (default: ASSISTANT_STORE / vectorstore/).

    Blocks until the server stops and returns None; ``block=False`` returns (app, url)
    right after start-up instead (tests, benchmarks).
    """
    creds = resolve_auth(host, auth, insecure)
    settings = (settings or Settings()).with_(store_dir=Path(store) if store else None)
    sources = Path(sources or os.environ.get("ASSISTANT_SOURCES") or "sources")
    from .app import build_app

    demo = build_app(settings, sources_dir=sources)
    _warm_up_in_background(settings)
    if creds is None and not is_loopback(host):
        print(f"warning: serving on {host} without a password (--insecure)", file=sys.stderr)
    started = launch(demo, host, port, creds, block=block, quiet=quiet)
    return None if block else started


def _warm_up_in_background(settings: Settings) -> None:
    """Load the embedding model while the server starts, so the first question is not the slow one."""
    import threading

    def work() -> None:
        try:
            from ..embeddings import get_embedder

            get_embedder(settings).warm_up()
        except Exception as e:  # the first question will report it
            print(f"warning: could not preload the embedding model: {e}", file=sys.stderr)

    threading.Thread(target=work, name="warm-up", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="ui.py", description="Serve the chat UI over the local store.")
    p.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--store", default=None, help="store folder (default: $ASSISTANT_STORE or vectorstore/)")
    p.add_argument("--sources", default=None, help="sources folder for uploads and the catalog (default sources/)")
    p.add_argument("--auth", default=None, help="user:password required to open the UI (or ASSISTANT_UI_AUTH)")
    p.add_argument("--insecure", action="store_true", help="allow a non-loopback host without --auth")
    a = p.parse_args(argv)
    serve(a.host, a.port, a.store, a.auth, a.insecure, sources=a.sources)
    return 0


if __name__ == "__main__":
    sys.exit(main())
