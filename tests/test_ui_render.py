"""Pure parts of the UI: escaping, [n] links and their order, span highlighting, page view markup, the
library banner, example questions, Copy/Export text, upload checks, auth rule, the cross-site guard."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from assistant.errors import LoadError
from assistant.records import Citation
from assistant import uploads
from assistant.webui import render
from assistant.webui.serve import ServeError, is_loopback, parse_auth, resolve_auth

XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_SCRIPT = "<script>window.__xss=1</script>"


def _cite(n=1, text="Intro. The key sentence is here. Tail.", span=(7, 32), **kw):
    base = dict(n=n, doc_id="d1", file="r.pdf", title="Report", page=4, page_label="2", section="Findings",
                text=text, span=span, score=0.734)
    base.update(kw)
    return Citation(**base)


# ---------------------------------------------------------------- escaping


def test_escape_markdown_neutralises_html_and_markdown():
    out = render.escape_markdown(f"{XSS_IMG} {XSS_SCRIPT} [x](javascript:alert(1)) *b* & `c`")
    assert "<" not in out and ">" not in out
    assert "&lt;img src\\=x onerror\\=alert\\(1\\)&gt;" in out
    assert "&lt;script&gt;" in out
    assert "\\[x\\]\\(javascript\\:alert\\(1\\)\\)" in out
    assert "\\*b\\*" in out and "&amp;" in out and "\\`c\\`" in out


def test_answer_markdown_links_only_cited_markers():
    text = f"Fact one [1]. {XSS_IMG} Fact two [2, 3]. Unknown [9]."
    out = render.answer_markdown(text, cited=[1, 2, 3], turn=4)
    assert '<a href="#src-4-1" class="cite" title="Show source 1">[1]</a>' in out
    assert '<a href="#src-4-2"' in out and '<a href="#src-4-3"' in out
    assert "\\[9\\]" in out and "src-4-9" not in out  # not cited: literal
    assert "<img" not in out and "&lt;img" in out
    # the only tags are our links
    stripped = out
    for n in (1, 2, 3):
        stripped = stripped.replace(f'<a href="#src-4-{n}" class="cite" title="Show source {n}">[{n}]</a>', "")
    assert "<" not in stripped


def test_answer_markdown_does_not_link_markers_inside_document_text_it_does_not_cite():
    out = render.answer_markdown("see [1] and [12]", cited=[1], turn=0)
    assert out.count('class="cite"') == 1 and "\\[12\\]" in out


def test_highlight_marks_span_and_escapes_everything():
    text = f"Before {XSS_SCRIPT} SUPPORT {XSS_IMG} after"
    a = text.index("SUPPORT")
    out = render.highlight(text, (a, a + len("SUPPORT") + 1 + len(XSS_IMG)))
    assert out.count("<mark>") == 1 and out.count("</mark>") == 1
    inner = out.split("<mark>")[1].split("</mark>")[0]
    assert inner == "SUPPORT &lt;img src=x onerror=alert(1)&gt;"
    assert "<script" not in out and "&lt;script&gt;window.__xss=1&lt;/script&gt;" in out


@pytest.mark.parametrize("span", [(-5, 3), (3, 999), (10, 2), None, ("a", "b")])
def test_highlight_clamps_bad_spans(span):
    out = render.highlight("0123456789", span)
    assert out.replace("<mark>", "").replace("</mark>", "") == "0123456789"


def test_source_entry_fields_and_escaping():
    c = _cite(title=f"T {XSS_IMG}", section=f"S {XSS_SCRIPT}", file='a"b.pdf')
    out = render.source_entry(c, turn=2, selected=True)
    assert 'id="src-2-1"' in out and 'class="src selected"' in out
    assert "p. 4 (printed 2)" in out and "score 0.734" in out
    assert "<mark>The key sentence is here.</mark>" in out
    assert 'data-turn="2" data-n="1"' in out and "View page" in out
    assert "<img" not in out and "<script" not in out
    assert "T &lt;img src=x onerror=alert(1)&gt;" in out and "a&quot;b.pdf" in out


def test_sources_html_marks_unsupported_and_carries_the_copy_text():
    d = _cite(n=3, supported=False)
    out = render.sources_html([d], turn=0, question=f"q {XSS_IMG}", selected=3, copy_text=f"A {XSS_SCRIPT} [3]")
    assert '<textarea class="copy-text" hidden readonly>A &lt;script&gt;' in out and "<script" not in out
    assert 'id="src-0-3"' in out and "selected" in out and "unsupported" in out
    assert "q &lt;img" in out and "<img" not in out
    assert "No sources" in render.sources_html([], 1)
    assert "Searched for" not in render.sources_html([d], 0, question="q", searched="q")
    follow = render.sources_html([d], 1, question="and there?", searched=f"and there? (context: {XSS_IMG})")
    assert "Searched for: <q>and there? (context: &lt;img" in follow


def test_page_text_shows_printed_label_only_when_different():
    assert render.page_text(5, "5") == "p. 5"
    assert render.page_text(5, "") == "p. 5"
    assert render.page_text(7, "iii") == "p. 7 (printed iii)"


def test_message_html_escapes():
    out = render.message_html(f"bad {XSS_IMG}", "error")
    assert "<img" not in out and "notice-error" in out


# ---------------------------------------------------------------- uploads


@pytest.mark.parametrize(
    "name,want",
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\win\\evil.PDF", "evil.pdf"),
        ("my report (final).pdf", "my_report_final.pdf"),
        (".hidden.md", "hidden.md"),
        ("Überblick–2021.docx", "Uberblick_2021.docx"),
        ("..", "upload"),
        ("a/b/", "upload"),
    ],
)
def test_sanitize_name(name, want):
    assert uploads.sanitize_name(name) == want


def _pdf_bytes(text: str = "hello") -> bytes:
    import pymupdf

    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), text)
    return doc.tobytes()


def test_save_upload_checks_type_by_content(tmp_path):
    up = tmp_path / "uploads"
    fake = tmp_path / "fake.pdf"
    fake.write_text("just text")
    with pytest.raises(LoadError, match="fake.pdf: not a PDF"):
        uploads.save_upload(fake, "fake.pdf", up)
    bad_docx = tmp_path / "x.docx"
    bad_docx.write_bytes(_pdf_bytes())
    with pytest.raises(LoadError, match="x.docx: not a Word"):
        uploads.save_upload(bad_docx, "x.docx", up)
    binary_txt = tmp_path / "b.txt"
    binary_txt.write_bytes(b"abc\x00def")
    with pytest.raises(LoadError, match="binary"):
        uploads.save_upload(binary_txt, "b.txt", up)
    exe = tmp_path / "run.exe"
    exe.write_bytes(b"MZ")
    with pytest.raises(LoadError, match="unsupported file type '.exe'"):
        uploads.save_upload(exe, "run.exe", up)
    assert not up.exists() or not any(up.iterdir())

    good_docx = tmp_path / "ok.docx"
    with zipfile.ZipFile(good_docx, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    assert uploads.save_upload(good_docx, "ok.docx", up).name == "ok.docx"


def test_save_upload_size_limit(tmp_path, monkeypatch):
    p = tmp_path / "big.txt"
    p.write_bytes(b"a" * (2 * 1024 * 1024))
    monkeypatch.setenv("ASSISTANT_MAX_UPLOAD_MB", "1")
    with pytest.raises(LoadError, match=r"big.txt: file is 2.0 MB; the upload limit is 1 MB"):
        uploads.save_upload(p, "big.txt", tmp_path / "uploads")


def test_save_upload_never_overwrites_a_different_file(tmp_path):
    up = tmp_path / "uploads"
    a, b = tmp_path / "a.pdf", tmp_path / "b.pdf"
    a.write_bytes(_pdf_bytes("first"))
    b.write_bytes(_pdf_bytes("second"))
    first = uploads.save_upload(a, "../report.pdf", up)
    again = uploads.save_upload(a, "report.pdf", up)  # identical content: reused
    other = uploads.save_upload(b, "report.pdf", up)  # different content: new name
    assert first == again == up / "report.pdf"
    assert other == up / "report-1.pdf"
    assert first.read_bytes() == a.read_bytes() and other.read_bytes() == b.read_bytes()
    assert sorted(p.name for p in tmp_path.rglob("*.pdf")) == ["a.pdf", "b.pdf", "report-1.pdf", "report.pdf"]


# ---------------------------------------------------------------- auth rule


@pytest.mark.parametrize("host,loop", [("127.0.0.1", True), ("127.3.4.5", True), ("::1", True), ("[::1]", True),
                                       ("localhost", True), ("0.0.0.0", False), ("192.168.1.5", False), ("", False)])
def test_is_loopback(host, loop):
    assert is_loopback(host) is loop


def test_auth_rule():
    assert resolve_auth("127.0.0.1", None, False, env={}) is None
    assert resolve_auth("0.0.0.0", "u:p:w", False, env={}) == ("u", "p:w")
    assert resolve_auth("0.0.0.0", None, False, env={"ASSISTANT_UI_AUTH": "a:b"}) == ("a", "b")
    assert resolve_auth("0.0.0.0", None, True, env={}) is None
    with pytest.raises(ServeError) as e:
        resolve_auth("0.0.0.0", None, False, env={})
    assert "\n" not in str(e.value.code) and "--auth" in str(e.value.code)
    with pytest.raises(ServeError, match="user:password"):
        parse_auth("nopassword")


# ---------------------------------------------------------------- page view


def test_render_page_outlines_the_sentence(tmp_path):
    import pymupdf

    from assistant.webui import pageview

    pdf = tmp_path / "p.pdf"
    doc = pymupdf.open()
    doc.new_page()
    page = doc.new_page()
    sentence = "The referral mechanism in Freedonia was strengthened in 2021 after a long review."
    page.insert_textbox(pymupdf.Rect(72, 72, 400, 400), "Opening words here. " + sentence + " Closing.", fontsize=11)
    doc.save(pdf)
    plain = pymupdf.open(pdf)[1].get_pixmap(dpi=110)

    img = pageview.render_page(pdf, 2, sentence=sentence, passage="Opening words here. " + sentence)
    assert img.found and img.probe.startswith("The referral mechanism")
    (x0, y0, x1, y1), *_ = img.boxes  # the outline as fractions of the page, for the viewer to scroll to
    assert 72 / 612 - 0.02 < x0 < x1 <= 400 / 612 + 0.02 and 72 / 792 - 0.02 < y0 < y1 < 400 / 792
    assert img.png.startswith(b"\x89PNG")
    marked = pymupdf.Pixmap(img.png)
    assert (marked.width, marked.height) == (plain.width, plain.height)
    assert marked.samples != plain.samples  # something was drawn

    miss = pageview.render_page(pdf, 2, sentence="nothing like this anywhere", passage="absent words only")
    assert not miss.found and miss.boxes == []
    with pytest.raises(ValueError, match="outside 1..2"):
        pageview.render_page(pdf, 3)
    with pytest.raises(FileNotFoundError):
        pageview.render_page(tmp_path / "gone.pdf", 1)


def test_locate_finds_each_sentence_of_a_span_in_separate_blocks(tmp_path):
    import pymupdf

    from assistant.webui import pageview

    doc = pymupdf.open()
    page = doc.new_page()
    one = "Shelters for male victims remain rare in the region."
    two = "Prosecution rates fell sharply after the reform."
    page.insert_textbox(pymupdf.Rect(72, 72, 520, 140), one, fontsize=11)
    page.insert_textbox(pymupdf.Rect(72, 500, 520, 560), two, fontsize=11)
    rects, found = pageview.locate(page, f"{one}\n\n{two}", passage=f"{one} {two}")
    assert found == f"{one} {two}"
    assert min(r.y0 for r in rects) < 150 and max(r.y1 for r in rects) > 500


def test_upload_types_match_what_the_loaders_read():
    from assistant.loaders import SUPPORTED_SUFFIXES

    assert set(uploads.ALLOWED_SUFFIXES) == set(SUPPORTED_SUFFIXES)


# ---------------------------------------------------------------- numbering, banner, examples


def test_citations_are_numbered_in_the_order_the_answer_cites_them():
    a, b, c = _cite(n=1, text="first passage"), _cite(n=2, text="second passage"), _cite(n=3, text="third")
    text, cites = render.in_answer_order("Later fact [3]. Early fact [1, 3]. Unknown [9].", [a, b, c])
    assert text == "Later fact [1]. Early fact [2, 1]. Unknown [9]."
    assert [(x.n, x.text) for x in cites] == [(1, "third"), (2, "first passage"), (3, "second passage")]
    same = [_cite(n=1, span=(0, 5)), _cite(n=2, span=(7, 20))]  # one passage cited twice, two spans
    text, cites = render.in_answer_order("B [2]. A [1].", same)
    assert text == "B [1]. A [2]." and [x.span for x in cites] == [(7, 20), (0, 5)]


def test_page_view_html_overlays_the_boxes_and_escapes_the_caption():
    out = render.page_view_html(b"\x89PNG", f"[1] T {XSS_IMG}, p. 2", [(0.1, 0.25, 0.5, 0.3)], note="n")
    assert 'class="pv-box" style="left:10.00%;top:25.00%;width:40.00%;height:5.00%"' in out
    assert "src=\"data:image/png;base64,iVBORw==\"" in out
    assert out.count("<img") == 1 and "&lt;img src=x" in out


def test_library_banner_counts_documents_and_names_the_restriction():
    docs = [{"file": "a.pdf", "title": f"A {XSS_IMG}", "ingested_at": "2026-12-01T09:30:00+00:00"},
            {"file": "b.pdf", "title": "B", "ingested_at": "2026-12-02T10:15:42+00:00"}]
    out = render.library_banner(docs)
    assert "Library: <b>2 documents</b> · last ingest 2026-12-02 10:15 UTC" in out and "restricted" not in out
    out = render.library_banner(docs, [f"A {XSS_IMG}"])
    assert "Answers restricted to: <b>A &lt;img" in out and "<img" not in out
    assert "library is empty" in render.library_banner([])
    assert render.doc_choices(docs) == [(f"A {XSS_IMG}", "a.pdf"), ("B", "b.pdf")]
    twins = [{"file": "x/r.pdf", "title": "R"}, {"file": "y/r.pdf", "title": "R"}]
    assert render.doc_choices(twins) == [("R (x/r.pdf)", "x/r.pdf"), ("R (y/r.pdf)", "y/r.pdf")]


def test_example_questions_come_from_titles_and_sections():
    from assistant.webui.examples import example_questions, short_title

    docs = [{"file": "a.pdf", "title": "Survey Report 2021: Efforts to Implement Commitments"},
            {"file": "b.pdf", "title": "Hotline Data"}]
    sections = {"a.pdf": ["Contents", "Findings > Victim Identification", "Findings > Victim identification, continued",
                          "Prosecution of NGO cases?", "References", "ANNEX > TABLES"],
                "b.pdf": []}
    qs = example_questions(docs, sections)
    assert qs == ["What does “Survey Report 2021” say about victim identification?",
                  "What are the main findings of “Hotline Data”?",
                  "What does “Survey Report 2021” say about prosecution of NGO cases?"]
    assert example_questions([], {}) == []
    assert short_title("A " * 50).endswith("…") and len(short_title("word " * 30)) <= 41


# ---------------------------------------------------------------- copy and export


def test_copy_text_is_plain_with_references():
    from assistant.webui.transcript import answer_plaintext

    cites = [_cite(n=1, title="Report <b>", file="r.pdf", page=2, page_label="1"), _cite(n=2, page=5, page_label="5")]
    out = answer_plaintext("Shelters are rare [1]. Funding fell: sharply [2].", cites)
    assert out == ("Shelters are rare [1]. Funding fell: sharply [2].\n\n"
                   "[1] Report <b>, p. 2 (printed 1), r.pdf\n[2] Report, p. 5, r.pdf")


def test_export_is_markdown_with_answers_citations_and_quotes():
    from datetime import datetime, timezone

    from assistant.webui.transcript import Turn, conversation_markdown

    turns = [Turn("What is rare?", "Key sentences are rare [1].", [_cite(text=f"Intro. The key sentence is here. {XSS_IMG}")],
                  searched="What is rare?"),
             Turn("And there?", "Nothing found.", [], searched="And there? (Ostravel)", refused=True)]
    md = conversation_markdown(turns, now=datetime(2026, 12, 2, 14, 0, tzinfo=timezone.utc))
    assert md.startswith("# Conversation with the anti-trafficking reports assistant\n\nExported 2026-12-02 14:00 UTC.")
    assert "## 1. What is rare?\n\nKey sentences are rare [1]." in md
    assert "**[1] Report, p. 4 (printed 2), r.pdf** — Findings" in md
    assert "> The key sentence is here." in md
    assert "Intro. The key sentence is here. &lt;img src=x onerror=alert(1)&gt;" in md and "<img" not in md
    assert "## 2. And there?" in md and "*Searched for:* And there? (Ostravel)" in md


# ---------------------------------------------------------------- cross-site guard


@pytest.mark.parametrize(
    "method, headers, refused",
    [
        ("POST", {"origin": "http://evil.example", "host": "127.0.0.1:7860"}, True),
        ("POST", {"origin": "null", "host": "127.0.0.1:7860"}, True),
        ("POST", {"origin": "http://127.0.0.1:7860", "host": "127.0.0.1:7860"}, False),
        ("POST", {"origin": "https://ui.example", "host": "127.0.0.1:7860", "x-forwarded-host": "ui.example"}, False),
        ("POST", {"sec-fetch-site": "cross-site", "host": "127.0.0.1:7860"}, True),
        ("POST", {"sec-fetch-site": "same-site", "host": "127.0.0.1:7860"}, True),
        ("POST", {"sec-fetch-site": "same-origin", "host": "127.0.0.1:7860"}, False),
        ("POST", {"host": "127.0.0.1:7860"}, False),  # scripts
        ("GET", {"origin": "http://evil.example", "host": "127.0.0.1:7860"}, False),
    ],
)
def test_cross_site_rule(method, headers, refused):
    from assistant.webui.csrf import is_cross_site

    assert is_cross_site(method, headers) is refused


def test_removed_sentences_are_counted_under_the_answer_never_shown():
    invented = "The fund granted 978 dollars."
    line = render.removed_line([invented, "Another claim."])
    assert "2 sentences of the model's answer were removed" in line and invented not in line
    assert "1 sentence of the model's answer was removed" in render.removed_line([invented])
    assert render.removed_line([]) == "" and render.removed_line(None) == ""
