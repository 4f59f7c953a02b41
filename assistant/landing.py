"""Landing-page discovery: the most likely links to a report's PDF on a publisher's HTML page.

Publishers often link a report's page rather than its file; the downloader reads that page
and tries the best few links found here (one level deep, never further).
"""

from __future__ import annotations

from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from assistant.terms import terms

# tags that point at a document, and the attribute holding the address
_LINK_ATTR = {"a": "href", "iframe": "src", "embed": "src", "object": "data"}


def find_pdf_links(html: bytes | str, base_url: str, title: str = "") -> list[str]:
    """Absolute addresses of likely PDF links on a page, best first.

    A link counts when its path ends in .pdf, it points into OSCE's /files/f/documents/
    store, or it is marked type="application/pdf". Links sharing more content words with
    the document title rank higher, then .pdf links, then links on the page's own host.
    """
    from bs4 import BeautifulSoup  # lazy: only needed when a landing page is followed

    soup = BeautifulSoup(html, "html.parser")
    base_tag = soup.find("base", href=True)
    base = urljoin(base_url, base_tag["href"].strip()) if base_tag else base_url
    page_host = urlsplit(base_url).hostname
    title_terms = set(terms(title))

    scored: dict[str, tuple[int, int]] = {}  # url -> (score, first position on the page)
    for order, tag in enumerate(soup.find_all(list(_LINK_ATTR))):
        raw = str(tag.get(_LINK_ATTR[tag.name]) or "").strip()
        if not raw or raw.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        try:
            parts = urlsplit(urljoin(base, raw))
            host = parts.hostname
        except ValueError:  # a malformed address ("http://[::1", a bad port) is no link
            continue
        if parts.scheme not in ("http", "https"):
            continue
        absolute = urlunsplit(parts._replace(fragment=""))
        path = unquote(parts.path).lower()
        is_pdf = path.endswith(".pdf")
        typed_pdf = str(tag.get("type") or "").lower().startswith("application/pdf")
        if not (is_pdf or typed_pdf or "/files/f/documents/" in path):
            continue
        text = " ".join([tag.get_text(" "), str(tag.get("title") or ""), unquote(raw)])
        score = 10 * len(title_terms & set(terms(text))) + 2 * is_pdf + int(host == page_host)
        best, first = scored.get(absolute, (-1, order))
        scored[absolute] = (max(best, score), first)
    return [u for u, _ in sorted(scored.items(), key=lambda kv: (-kv[1][0], kv[1][1]))]
