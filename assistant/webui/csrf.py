"""Refuse state-changing requests that a browser sends on behalf of another site (CSRF).

Gradio answers cross-site posts (its CORS layer only decides who may *read* the reply), so a
page on any site could upload files or trigger events in a UI running on this machine. This
ASGI middleware refuses every request other than GET/HEAD/OPTIONS whose ``Origin`` is not this
server's own host, or that the browser marks ``Sec-Fetch-Site: cross-site``/``same-site``.
Scripts (``gradio_client``, curl) send neither header and are not affected.
"""

from __future__ import annotations

from urllib.parse import urlsplit

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_cross_site(method: str, headers: dict[str, str]) -> bool:
    """True when a browser sent this state-changing request from a page of another origin."""
    if method.upper() in SAFE_METHODS:
        return False
    origin = headers.get("origin")
    if origin is not None:
        hosts = {h.strip().lower() for h in (headers.get("host", ""), headers.get("x-forwarded-host", "")) if h}
        return origin == "null" or urlsplit(origin).netloc.lower() not in hosts
    return headers.get("sec-fetch-site", "none") not in ("same-origin", "none")


class SameOriginWrites:
    """ASGI middleware applying :func:`is_cross_site` to every HTTP request."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            if is_cross_site(scope.get("method", "GET"), headers):
                from starlette.responses import PlainTextResponse

                await PlainTextResponse("cross-site request refused", status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)
