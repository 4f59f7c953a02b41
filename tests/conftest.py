"""Shared fixtures: small real PDFs made with PyMuPDF, temporary stores, the real embedding model."""

from __future__ import annotations

import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import assistant  # noqa: E402,F401  (sets the offline/telemetry defaults)
from assistant.config import Settings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def shared_corpus() -> Path:
    """The team's shared corpus beside the checkout, or skip."""
    p = SHARED / "corpus"
    if not (p / "pdf").is_dir():
        pytest.skip(f"shared corpus not present at {p}")
    return p


def write_pdf(path: Path, pages: list[str], title: str | None = None, fontsize: float = 11) -> Path:
    """A real PDF with one text block per page (PyMuPDF)."""
    import fitz

    doc = fitz.open()
    for text in pages:
        page = doc.new_page(width=595, height=842)
        rect = fitz.Rect(56, 56, 539, 786)
        rc = page.insert_textbox(rect, text, fontsize=fontsize, fontname="helv")
        assert rc >= 0, "text did not fit on the page"
    if title:
        doc.set_metadata({"title": title})
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(path)
    doc.close()
    return path


REPORT_A = [
    "Partnerships with banks\n\nFinancial institutions detect trafficking by monitoring suspicious transactions. "
    "The compendium describes how banks shared typologies with law enforcement in 2019. "
    "Such public-private partnerships improved the number of suspicious activity reports by 40 percent.",
    "Hotels and hospitality\n\nHotel staff were trained to recognise signs of sexual exploitation. "
    "The training reached 12,000 employees across 300 hotels in the region. "
    "Managers reported cases to a dedicated hotline operated by a non-governmental organisation.",
    "Technology companies\n\nOnline platforms removed advertisements linked to exploitation. "
    "Machine learning tools flagged recruitment posts that promised unrealistic wages abroad. "
    "The platforms cooperated with police units through agreed referral procedures.",
]

REPORT_B = [
    "Survey findings\n\nMost participating States adopted national action plans against trafficking. "
    "Resource constraints were the most common obstacle to implementing the commitments. "
    "Reported cases of forced criminality and forced begging increased markedly.",
    "Victim assistance\n\nShelters for male victims remain rare in the region. "
    "Only a minority of States provide a reflection period without conditions. "
    "Identification of child victims improved through multi-agency referral mechanisms.",
]


@pytest.fixture(scope="session")
def embedder():
    from assistant.embeddings import get_embedder

    return get_embedder(Settings())


def make_corpus(root: Path) -> Path:
    """Two small reports, one in a subfolder."""
    write_pdf(root / "ppp-compendium.pdf", REPORT_A, title="Compendium of Partnerships")
    write_pdf(root / "survey" / "survey-report.pdf", REPORT_B, title="Survey Report")
    return root


@pytest.fixture()
def corpus(tmp_path) -> Path:
    return make_corpus(tmp_path / "corpus")


@pytest.fixture()
def www(tmp_path):
    """A folder served by a real HTTP server on 127.0.0.1: yields (folder, base URL)."""
    folder = tmp_path / "www"
    folder.mkdir()

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(folder), **kw)

        def log_message(self, *a):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def catalog_toml(*docs: dict) -> str:
    """A sources catalog with these [[document]] tables (values written as TOML literals)."""
    import json

    return "".join(
        "[[document]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in d.items()) for d in docs
    )


@pytest.fixture()
def settings(tmp_path) -> Settings:
    return Settings(store_dir=tmp_path / "store", chroma_host=None)
