"""Pure parts of the UI: escaping, [n] links, span highlighting, upload checks, auth rule, page view."""

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
    c = _cite(title=f"T {XSS_IMG}", section=f"S {XSS_SCRIPT}", file='a"b.pdf').to_json()
    out = render.source_entry(c, turn=2, selected=True)
    assert 'id="src-2-1"' in out and 'class="src selected"' in out
    assert "p. 4 (printed 2)" in out and "score 0.734" in out
    assert "<mark>The key sentence is here.</mark>" in out
    assert 'data-turn="2" data-n="1"' in out and "View page" in out
    assert "<img" not in out and "<script" not in out
    assert "T &lt;img src=x onerror=alert(1)&gt;" in out and "a&quot;b.pdf" in out


def test_sources_html_accepts_json_dicts_and_marks_unsupported():
    d = _cite(n=3, supported=False).to_json()
    out = render.sources_html([d], turn=0, question=f"q {XSS_IMG}", selected=3)
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
    assert img.png.startswith(b"\x89PNG")
    marked = pymupdf.Pixmap(img.png)
    assert (marked.width, marked.height) == (plain.width, plain.height)
    assert marked.samples != plain.samples  # something was drawn

    miss = pageview.render_page(pdf, 2, sentence="nothing like this anywhere", passage="absent words only")
    assert not miss.found
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
