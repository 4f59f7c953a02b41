"""scripts/check_set.py: fact regexes are checked against their own gold pages and reference answer."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from tests.conftest import write_pdf

REPO = Path(__file__).resolve().parents[1]


def _load_checker():
    spec = importlib.util.spec_from_file_location("check_set", REPO / "scripts" / "check_set.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


PAGES = [
    "Hotline report\n\nIn 2021 the hotline identified 10,359 likely victims of trafficking.",
    "Recruitment\n\nThe most common recruitment tactic was an intimate partner or marriage proposi-\ntion offered by the trafficker.",
]


def _write_set(path: Path, items: list[dict], corpus: str = "corpus") -> Path:
    lines = [json.dumps({"set": {"name": path.stem, "corpus": corpus}})]
    lines += [json.dumps(it) for it in items]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _good(qid: str = "ok-1", page: int = 1) -> dict:
    return {
        "id": qid,
        "question": "How many likely victims did the hotline identify in 2021?",
        "answerable": True,
        "answer": "It identified 10,359 likely victims.",
        "facts": [r"10,?359"],
        "gold": [{"file": "pdf/report.pdf", "pages": [page]}],
        "tags": ["numeric"],
    }


def _bad_regex() -> dict:
    # The figure is in the answer but not on the gold page (the writer mistyped it on the page side).
    return {
        "id": "bad-1",
        "question": "What share of victims were recruited online?",
        "answerable": True,
        "answer": "About 42% were recruited online.",
        "facts": [r"42\s*%"],
        "gold": [{"file": "pdf/report.pdf", "pages": [2]}],
        "tags": ["numeric"],
    }


def test_bad_regex_is_reported_and_good_item_is_not(tmp_path, capsys):
    check_set = _load_checker()
    write_pdf(tmp_path / "corpus" / "pdf" / "report.pdf", PAGES)
    qs = _write_set(tmp_path / "tiny.jsonl", [_good(), _bad_regex()])

    status = check_set.main([str(qs)])
    out = capsys.readouterr().out.splitlines()

    assert status == 1
    assert any(line.startswith("bad-1:") and "not found on its gold page" in line for line in out), out
    assert not any(line.startswith("ok-1:") for line in out), out


def test_clean_set_passes_and_hyphenation_is_joined(tmp_path, capsys):
    check_set = _load_checker()
    write_pdf(tmp_path / "corpus" / "pdf" / "report.pdf", PAGES)
    hyphen = {
        "id": "ok-2",
        "question": "What was the most common recruitment tactic?",
        "answerable": True,
        "answer": "An intimate partner or marriage proposition.",
        "facts": [r"marriage proposition"],  # split "proposi-\ntion" on the page
        "gold": [{"file": "pdf/report.pdf", "pages": [2]}],
        "tags": [],
    }
    qs = _write_set(tmp_path / "clean.jsonl", [_good(), hyphen])

    assert check_set.main([str(qs)]) == 0
    assert "2 items" in capsys.readouterr().out


def test_fact_missing_from_reference_answer_is_reported(tmp_path):
    check_set = _load_checker()
    write_pdf(tmp_path / "corpus" / "pdf" / "report.pdf", PAGES)
    item = _good()
    item["answer"] = "It identified many likely victims."
    qs = check_set.load_set(_write_set(tmp_path / "s.jsonl", [item]))

    problems = check_set.check(qs, check_set.Corpus(tmp_path / "corpus"))

    assert problems == ["ok-1: fact '10,?359' not found in the reference answer"]


def test_gold_page_of_another_set_is_reported(tmp_path):
    check_set = _load_checker()
    write_pdf(tmp_path / "corpus" / "pdf" / "report.pdf", PAGES)
    mine = check_set.load_set(_write_set(tmp_path / "mine.jsonl", [_good("mine-1")]))
    other_item = _good("other-1")
    other_item["question"] = "How many likely victims were identified in 2021?"
    other = check_set.load_set(_write_set(tmp_path / "other.jsonl", [other_item]))

    problems = check_set.check(mine, check_set.Corpus(tmp_path / "corpus"), [other])

    assert any("gold page pdf/report.pdf p1 is gold in other:other-1" in p for p in problems), problems
