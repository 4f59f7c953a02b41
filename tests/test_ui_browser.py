"""The UI in a real browser (Debian chromium via Playwright): streamed answer, clickable citations,
passage + page image scrolled to the outlined sentence, a follow-up turn, hostile document text rendered
literally (no XSS), two quick questions both answered in order, Copy answer, the restriction banner,
and Upload clicked without a file (no red Error badges)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from assistant.config import Settings
from tests.conftest import write_pdf

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_SCRIPT = "<script>window.__xss=1</script>"

FILLER = (
    "The survey collected replies from ministries, police units, labour inspectorates and civil society "
    "organisations, and the authors compared them with the commitments adopted in earlier years. "
)
SURVEY = [
    "Overview\n\n" + FILLER * 3,
    "Victim identification\n\n" + FILLER
    + "Mobile outreach teams in Ostravel identified 212 presumed victims of labour exploitation during 2021. "
    "The teams worked with interpreters and met workers at agricultural sites after dark. " + FILLER,
    "Prosecution\n\n" + FILLER
    + "Prosecutors in Ostravel secured 31 convictions for trafficking offences, most of them for sexual exploitation. "
    + FILLER,
]
HOSTILE = [
    "The Quillfeather protocol\n\n" + FILLER
    + f"The Quillfeather protocol requires inspectors to copy the marker {XSS_IMG} into every case file. "
    f"Its annex also quotes the string {XSS_SCRIPT} as an example of unsafe input. " + FILLER,
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed (apt install chromium)")
    from playwright.sync_api import sync_playwright  # the dev extra installs it

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, browser):
    from assistant.ingest import ingest
    from assistant.webui.serve import serve

    root = tmp_path_factory.mktemp("ui-browser")
    sources = root / "sources"
    write_pdf(sources / "ostravel-survey.pdf", SURVEY, title="Ostravel Survey 2021")
    write_pdf(sources / "quillfeather.pdf", HOSTILE, title=f"Quillfeather {XSS_IMG} protocol")
    settings = Settings(store_dir=root / "store", chroma_host=None)
    report = ingest([sources], settings, root=sources, progress=False)
    assert report.ok and len(report.added) == 2, report.summary()
    demo, url = serve("127.0.0.1", _free_port(), settings=settings, sources=sources, block=False, quiet=True)
    yield url
    demo.close()


@pytest.fixture()
def page(browser, app_url):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.dialogs = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.goto(app_url)
    pg.wait_for_selector("#question textarea", timeout=60_000)
    yield pg
    ctx.close()


def _ask(page, question: str, turn: int) -> None:
    page.fill("#question textarea", question)
    page.click("#ask-button")
    page.wait_for_selector(f"#sources .src[id^='src-{turn}-']", timeout=60_000)


STATE_JS = """() => ({pending: window.__assistantPending ? window.__assistantPending() : 'queue.js not loaded',
    busy: (document.querySelector('#ask-queue .busy-text') || {}).textContent,
    box: document.querySelector('#question textarea').value,
    users: [...document.querySelectorAll('#chat .user')].map((e) => e.innerText),
    bots: [...document.querySelectorAll('#chat .bot')].map((e) => e.innerText.slice(0, 200))})"""


def _wait_or_explain(page, condition: str, timeout: int) -> None:
    """Wait for a page condition; on timeout, fail with what the page shows (queue, box, chat)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(condition, timeout=timeout)
    except PlaywrightTimeout:
        pytest.fail(f"page condition not met in {timeout / 1000:g} s; page state: {page.evaluate(STATE_JS)}")


def _screenshot_dir(tmp_path: Path) -> Path:
    d = Path(os.environ.get("UI_SCREENSHOT_DIR") or tmp_path)
    d.mkdir(parents=True, exist_ok=True)
    return d


def test_ask_click_citation_shows_passage_and_page(page, tmp_path):
    _ask(page, "How many presumed victims did the mobile outreach teams in Ostravel identify?", turn=0)
    bot = page.locator("#chat .bot").last
    assert "212" in bot.inner_text()
    links = bot.locator("a.cite")
    assert links.count() >= 1
    first = links.first
    assert first.get_attribute("href") == "#src-0-1" and first.inner_text() == "[1]"

    first.click()
    page.wait_for_selector("#sources .src.selected#src-0-1", timeout=60_000)
    entry = page.locator("#src-0-1")
    text = entry.inner_text()
    assert "Ostravel Survey 2021" in text and "ostravel-survey.pdf" in text and "p. 2" in text
    assert "212 presumed victims" in entry.locator("mark").inner_text()
    img = page.locator("#page-view img")
    img.wait_for(timeout=60_000)
    page.wait_for_function("() => { const i = document.querySelector('#page-view img');"
                           " return i && i.complete && i.naturalWidth > 500; }", timeout=60_000)
    assert "p. 2" in page.locator("#page-view .pv-caption").inner_text()

    shot = _screenshot_dir(tmp_path) / "ui-citation.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    # a follow-up is a second turn with its own sources; the first turn's links still work
    _ask(page, "And how many convictions did prosecutors secure?", turn=1)  # "And" leans on turn 0
    assert page.locator("#chat .bot").count() == 2
    assert "Ostravel" in page.locator("#sources .src-sq").inner_text()  # history reached the retriever
    assert page.locator("#src-1-1 .src-file").inner_text() == "ostravel-survey.pdf"
    page.locator("#chat .bot").first.locator("a.cite").first.click()
    page.wait_for_selector("#sources .src.selected#src-0-1", timeout=60_000)
    assert page.locator("#src-1-1").count() == 0  # panel switched back to turn 0
    assert not page.dialogs


def test_hostile_document_text_is_rendered_literally(page, tmp_path):
    _ask(page, "What does the Quillfeather protocol require inspectors to copy into every case file?", turn=0)
    page.locator("#sources button.view-page").first.click()
    page.wait_for_selector("#sources .src.selected", timeout=60_000)
    page.locator("#page-view img").wait_for(timeout=60_000)

    body = page.inner_text("body")
    assert XSS_IMG in body, "the hostile marker should be visible as text"
    assert XSS_SCRIPT in page.inner_text("#sources")
    assert f"Quillfeather {XSS_IMG} protocol" in page.inner_text("#sources")  # the title, escaped too

    page.get_by_role("tab", name="Library").click()
    page.wait_for_selector("#library-table", timeout=60_000)
    page.wait_for_function("() => document.querySelector('#library-table').innerText.includes('Quillfeather')",
                           timeout=60_000)
    assert XSS_IMG in page.inner_text("#library-table")

    page.wait_for_timeout(500)  # give any injected handler a chance to fire
    assert page.dialogs == []
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert page.evaluate("[...document.scripts].filter(s => s.textContent.includes('__xss')).length") == 0
    page.screenshot(path=str(_screenshot_dir(tmp_path) / "ui-xss.png"), full_page=True)


def _settings_tab(page):
    page.get_by_role("tab", name="Settings").click()
    page.wait_for_selector("#files-filter", timeout=60_000)


def test_restricting_to_a_document_filters_the_sources_and_says_so(page):
    banner = page.locator("#library-banner")
    page.wait_for_function("() => document.querySelector('#library-banner').innerText.includes('2 documents')",
                           timeout=60_000)
    assert "last ingest" in banner.inner_text() and "restricted" not in banner.inner_text()
    _settings_tab(page)
    page.click("#files-filter input")
    page.keyboard.type("quillfeather")
    page.locator("#files-filter").get_by_role("option", name=f"Quillfeather {XSS_IMG} protocol").click()
    page.keyboard.press("Escape")
    page.get_by_role("tab", name="Chat").click()
    page.wait_for_function("() => document.querySelector('#library-banner').innerText.includes('restricted')",
                           timeout=60_000)
    assert f"Answers restricted to: Quillfeather {XSS_IMG} protocol" in banner.inner_text()
    _ask(page, "How many presumed victims did the mobile outreach teams in Ostravel identify?", turn=0)
    files = page.locator("#sources .src-file").all_inner_texts()
    assert files and set(files) == {"quillfeather.pdf"}, files


def test_two_quick_questions_are_both_answered_in_order(page):
    q1 = "How many presumed victims did the mobile outreach teams in Ostravel identify?"
    q2 = "How many convictions did prosecutors in Ostravel secure?"
    box = page.locator("#question textarea")
    box.fill(q1)
    box.press("Enter")
    box.fill(q2)  # while the first answer is pending
    box.press("Enter")
    page.wait_for_selector("#ask-queue .busy.on", timeout=30_000)  # a clear busy state
    page.wait_for_function("() => document.querySelector('#question textarea').value === ''", timeout=5_000)
    _wait_or_explain(page, "() => window.__assistantPending() === 0 && "
                     "document.querySelectorAll('#chat .bot a.cite').length > 0 && "
                     "[...document.querySelectorAll('#chat .bot')].length === 2", timeout=90_000)
    users = [t.strip() for t in page.locator("#chat .user").all_inner_texts()]
    bots = page.locator("#chat .bot").all_inner_texts()
    assert users == [q1, q2], users
    assert "212" in bots[0] and "31" in bots[1], bots
    assert page.locator("#ask-queue .busy.on").count() == 0

    with page.expect_download(timeout=60_000) as dl:  # Export conversation: both answers, their sources
        page.click("#export-button")
    md = Path(dl.value.path()).read_text(encoding="utf-8")
    assert dl.value.suggested_filename == "conversation.md"
    assert f"## 1. {q1}" in md and f"## 2. {q2}" in md and md.index(q1) < md.index(q2)
    assert "**[1] Ostravel Survey 2021, p. 2, ostravel-survey.pdf**" in md and "> Mobile outreach teams" in md


def test_copy_answer_is_plain_text_with_references(browser, app_url):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, permissions=["clipboard-read", "clipboard-write"])
    pg = ctx.new_page()
    try:
        pg.goto(app_url)
        pg.wait_for_selector("#question textarea", timeout=60_000)
        _ask(pg, "How many presumed victims did the mobile outreach teams in Ostravel identify?", turn=0)
        pg.click("#sources button.copy-answer")
        pg.wait_for_function("() => window.__assistantCopied !== undefined", timeout=30_000)
        copied = pg.evaluate("navigator.clipboard.readText()")
        assert copied == pg.evaluate("window.__assistantCopied")
        text, refs = copied.split("\n\n", 1)
        assert "212" in text and "[1]" in text
        assert "\\" not in copied and "<" not in copied and "href" not in copied, copied  # no Markdown escapes, no HTML
        assert refs.splitlines()[0] == "[1] Ostravel Survey 2021, p. 2, ostravel-survey.pdf", refs
        bubble = pg.locator("#chat .bot").last.inner_text().strip()
        assert bubble.startswith(text) and "total" in bubble[len(text):]  # the words read, without the timings line
    finally:
        ctx.close()


def test_upload_without_a_file_shows_a_status_not_error_badges(page, tmp_path):
    page.get_by_role("tab", name="Library").click()
    page.wait_for_function("() => document.querySelector('#catalog-note').innerText.includes('No report catalog')",
                           timeout=60_000)  # an empty catalog table says why
    assert page.locator("#fetch-button").is_disabled()  # and there is nothing to fetch
    page.click("#upload-button")
    page.wait_for_function("() => document.querySelector('#library-status textarea').value.includes('Choose one')",
                           timeout=60_000)
    fake = tmp_path / "picture.pdf"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    # in the picker, uploaded. On a loaded machine the picker has taken over 30 s to show the file, and
    # once in four full-suite runs did not show it in 60 s: pick it again once, as a user would (the app
    # counts the same file picked twice once, so a slow first pick that lands late changes nothing)
    for attempt in range(2):
        page.set_input_files("#upload input[type=file]", str(fake))
        try:
            page.locator("#upload").get_by_text("picture.pdf").wait_for(timeout=30_000 if attempt == 0 else 60_000)
            break
        except Exception:
            if attempt:
                raise
    page.click("#upload-button")
    try:
        page.wait_for_function("() => document.querySelector('#library-status textarea').value.includes('picture')",
                               timeout=60_000)
    finally:
        page.screenshot(path=str(_screenshot_dir(tmp_path) / "ui-refused-upload.png"), full_page=True)
    assert page.locator("#library-status textarea").input_value() == "picture.pdf: not a PDF (no %PDF- header)"
    page.wait_for_timeout(500)
    for tab in ("Library", "Chat"):
        page.get_by_role("tab", name=tab).click()
        assert page.locator(".error, .toast-body.error").count() == 0
        assert page.get_by_text("Error", exact=True).count() == 0


def test_page_opens_scrolled_to_the_exact_sentence(page, tmp_path):
    _ask(page, "How many presumed victims did the mobile outreach teams in Ostravel identify?", turn=0)
    page.locator("#chat .bot").last.locator("a.cite").first.click()
    page.wait_for_selector("#page-view .pv-box", timeout=60_000)
    page.wait_for_function("() => document.querySelector('#page-view .pageview') &&"
                           " document.querySelector('#page-view [data-revealed]')", timeout=60_000)
    page.wait_for_timeout(300)
    mark = page.locator("#src-0-1 mark").inner_text()
    assert mark.startswith("Mobile outreach teams") and mark.rstrip().endswith("during 2021."), mark
    box = page.locator("#page-view .pv-box").first.bounding_box()
    height = page.evaluate("window.innerHeight")
    assert box and 0 <= box["y"] and box["y"] + box["height"] <= height, (box, height)  # not below the fold
    page.screenshot(path=str(_screenshot_dir(tmp_path) / "ui-answer-with-citation.png"))
    page.click("#clear-button")
    page.wait_for_function("() => !document.querySelector('#page-view .pv-caption')", timeout=60_000)
    assert page.locator("#chat .bot").count() == 0


def test_llm_server_down_is_a_one_line_message(page):
    closed = _free_port()
    _settings_tab(page)
    page.get_by_label("ollama").check()
    page.get_by_label("Base URL (LLM answerers)").fill(f"http://127.0.0.1:{closed}")
    page.get_by_role("tab", name="Chat").click()
    page.fill("#question textarea", "How many presumed victims were identified in Ostravel?")
    page.click("#ask-button")
    bot = page.locator("#chat .bot").last
    page.wait_for_function("() => { const b = [...document.querySelectorAll('#chat .bot')].pop();"
                           " return b && b.innerText.includes('⚠'); }", timeout=60_000)
    text = bot.inner_text().strip()
    assert f"127.0.0.1:{closed}" in text and "Traceback" not in text and "\n" not in text, text
    assert page.locator("#sources .src").count() == 0


def test_example_questions_name_loaded_documents_and_ask_on_click(page):
    examples = page.locator("#examples label")
    examples.first.wait_for(timeout=60_000)
    texts = examples.all_inner_texts()
    assert texts and all("Ostravel Survey 2021" in t or "Quillfeather" in t for t in texts), texts
    examples.first.click()
    page.wait_for_selector("#sources .src-q", timeout=60_000)
    assert page.locator("#chat .user").first.inner_text().strip() == texts[0].strip()
    assert page.locator("#chat .bot").count() == 1
