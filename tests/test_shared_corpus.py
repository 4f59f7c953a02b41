"""On the team's shared corpus: page anchoring, store stats, ask, and the CI quality gate.

Skips where ../shared/corpus is absent. One ingest for the whole module (~1–2 min).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from assistant.cli import main as cli
from assistant.config import Settings
from assistant.store import Store

from .conftest import REPO, shared_corpus

pytestmark = [pytest.mark.shared, pytest.mark.slow]


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory):
    corpus = shared_corpus()
    settings = Settings(store_dir=tmp_path_factory.mktemp("shared") / "store", chroma_host=None)
    from assistant.ingest import ingest

    rep = ingest([corpus], settings, progress=False)
    assert rep.ok, rep.failed
    return corpus, settings


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]{4,}", text.lower()))


def test_every_page_with_text_has_a_chunk_on_the_right_page(shared_store, capsys):
    corpus, settings = shared_store
    catalog = json.loads((corpus / "catalog.json").read_text())
    assert cli(["store", "stats", "--json", "--store", str(settings.store_dir)]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["documents"] == len(catalog)
    assert stats["pages"] == sum(e["pages"] for e in catalog)
    assert {d["file"] for d in stats["per_document"]} == {e["file"] for e in catalog}

    import fitz

    chunks = Store(settings).get_chunks()
    by_page: dict[tuple[str, int], str] = {}
    for c in chunks:
        for p in range(c.page_start, c.page_end + 1):
            by_page[(c.file, p)] = by_page.get((c.file, p), "") + " " + c.text
    have_pdftotext = shutil.which("pdftotext") is not None
    checked = 0
    for e in catalog:
        if not e["file"].endswith(".pdf"):
            continue
        with fitz.open(corpus / e["file"]) as doc:
            for i, page in enumerate(doc, start=1):
                words = _words(page.get_text())
                if len(words) < 15:
                    continue  # covers, photos, blank pages
                assert (e["file"], i) in by_page, f"{e['file']} page {i} has text but no chunk"
                if have_pdftotext and i % 7 == 1:  # spot check against poppler's own page text
                    ref = subprocess.run(
                        ["pdftotext", "-f", str(i), "-l", str(i), "-layout", str(corpus / e["file"]), "-"],
                        capture_output=True, text=True,
                    ).stdout
                    ref_words = _words(ref)
                    if len(ref_words) >= 40:  # short chart pages: a dropped axis label swings the share
                        ours = _words(by_page[(e["file"], i)])
                        share = len(ref_words & ours) / len(ref_words)
                        assert share >= 0.7, f"{e['file']} p{i}: only {share:.0%} of pdftotext's words"
                        checked += 1
    if have_pdftotext:
        assert checked >= 10


def test_ask_cites_the_right_page_and_refuses_off_corpus(shared_store, capsys):
    _, settings = shared_store
    store = str(settings.store_dir)
    assert cli(["ask", "How many trafficking situations did the National Human Trafficking Hotline identify in 2021?",
                "--store", store, "--json"]) == 0
    ans = json.loads(capsys.readouterr().out)
    assert not ans["refused"] and "10,359" in ans["answer"]
    assert any(c["file"] == "pdf/polaris-hotline-data-2021.pdf" and c["page"] == 2 for c in ans["citations"])
    assert set(ans["citations"][0]) >= {"n", "file", "title", "page", "section", "text", "score"}

    assert cli(["ask", "How many trafficking cases did the Hotline record in the year 1987?", "--store", store,
                "--json"]) == 0
    off = json.loads(capsys.readouterr().out)
    assert off["refused"] and "do not answer" in off["answer"]


def test_ci_question_set_meets_its_thresholds(shared_store, tmp_path, capsys):
    """The quality gate: a change that makes answers worse on the CI set fails the build."""
    corpus, settings = shared_store
    rc = cli(["eval", str(REPO / "evals" / "ci-shared.jsonl"), "--corpus", str(corpus),
              "--store", str(settings.store_dir), "--out", str(tmp_path / "runs"), "--json"])
    out = capsys.readouterr().out
    metrics = json.loads(out[out.index("{"):])
    print(json.dumps(metrics, indent=1))
    assert rc == 0, f"CI question set below its thresholds: {metrics}"


# The bars issue 3 sets on the team's development set (../shared/evals/dev.jsonl).
DEV_BARS = {"recall_at_5": 0.85, "mrr": 0.65, "refusal_rate_unanswerable": 0.75}
DEV_MAX = {"false_refusal_rate": 0.10}
# Issue 3's citation-precision bar on dev (0.75) is missed since the reader composes from up to two
# passages and a citation is scored on the page of its span (issue 9): 0.62 on dev. It stays a bar
# here, expected to fail until met, so that the miss is visible and cannot pass silently.
DEV_CITATION_PRECISION = 0.75


@pytest.fixture(scope="module")
def dev_run(shared_store, tmp_path_factory):
    """One evaluation of the development set, shared by the bar checks below."""
    from assistant.evaluation.runner import run_eval

    dev = shared_corpus().parent / "evals" / "dev.jsonl"
    if not dev.is_file():
        pytest.skip(f"development set not present at {dev}")
    corpus, settings = shared_store
    res = run_eval([dev], corpus=corpus, store=settings.store_dir, out_dir=tmp_path_factory.mktemp("runs"), progress=False)
    return res.overall


def test_dev_set_meets_the_issue_bars(dev_run):
    """Answer quality on the development set: retrieval, citations and refusals."""
    m = dev_run
    print(json.dumps({k: m.get(k) for k in [*DEV_BARS, *DEV_MAX, "citation_precision"]}, indent=1))
    for k, bar in DEV_BARS.items():
        assert m[k] >= bar, f"dev {k} = {m[k]:.3f} < {bar}"
    for k, bar in DEV_MAX.items():
        assert m[k] <= bar, f"dev {k} = {m[k]:.3f} > {bar}"


@pytest.mark.xfail(strict=True, reason="issue 9: dev citation precision 0.62 < issue 3's 0.75 (the reader trades it for fact recall)")
def test_dev_set_meets_the_citation_precision_bar(dev_run):
    assert dev_run["citation_precision"] >= DEV_CITATION_PRECISION
