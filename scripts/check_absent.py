"""Check that unanswerable questions are really unanswerable: their patterns match nowhere in the corpus.

    python scripts/check_absent.py evals/fresh3-absent.json --set evals/fresh3.jsonl \
        --corpus ../shared/corpus

The patterns file is JSON: ``{"<item id>": {"question": "...", "patterns": ["regex", ...]}, ...}``.
Each pattern is a case-insensitive regular expression for the fact the question asks about (the
place, year, group, term or a phrase that would state the answer, e.g.
``"forced marriage (is|means|refers)"`` for a definition the document might give). Every pattern is
searched in the text of every page of every corpus file (``*.pdf`` under the corpus folder and
``*.txt`` / ``*.md`` files, each one page), normalised as ``scripts/check_set.py`` normalises gold
pages (NFKC, plain quotes and dashes, line-end hyphenation joined, whitespace collapsed), with the
hyphen-kept variant too.

One line per hit (``id: pattern 'p' matches file pN: ...context...``) and exit status 1 when any
pattern matches; with ``--set``, also a line for every unanswerable item of the set that has no
patterns, and for every patterns entry whose id is not an unanswerable item of the set.
A pattern that matches nothing proves only that those words are absent: write patterns for
every way the corpus could state the answer, and read the pages around the topic as well.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from scripts.check_set import normalise  # noqa: E402


def corpus_pages(root: Path) -> list[tuple[str, int, tuple[str, str]]]:
    """(file relative to root, 1-based page, (normalised text, hyphen-kept text)) for every page."""
    pages = []
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        suffix = path.suffix.lower()
        if suffix == ".pdf":
            import pymupdf

            with pymupdf.open(path) as doc:
                raw = [page.get_text() for page in doc]
        elif suffix in (".txt", ".md"):
            raw = [path.read_text(encoding="utf-8", errors="replace")]
        else:
            continue
        for n, text in enumerate(raw, 1):
            pages.append((rel, n, (normalise(text), normalise(text, keep_hyphen=True))))
    return pages


def check(patterns: dict, pages, context: int = 80) -> list[str]:
    problems = []
    for iid, entry in patterns.items():
        for pat in entry.get("patterns", []):
            rx = re.compile(pat, re.IGNORECASE)
            for rel, n, variants in pages:
                for text in variants:
                    m = rx.search(text)
                    if m:
                        snippet = text[max(0, m.start() - context): m.end() + context]
                        problems.append(f"{iid}: pattern {pat!r} matches {rel} p{n}: ...{snippet}...")
                        break
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("patterns", help="JSON file: id -> {question, patterns}")
    ap.add_argument("--corpus", required=True, help="corpus folder")
    ap.add_argument("--set", help="question set whose unanswerable items must all have patterns")
    args = ap.parse_args(argv)
    patterns = json.loads(Path(args.patterns).read_text(encoding="utf-8"))
    problems = []
    if args.set:
        unanswerable = set()
        for line in Path(args.set).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            obj = json.loads(line)
            if "set" in obj:
                continue
            if obj.get("answerable", True) is False:
                unanswerable.add(obj["id"])
        problems += [f"{i}: unanswerable item without patterns" for i in sorted(unanswerable - set(patterns))]
        problems += [f"{i}: patterns for an id that is not an unanswerable item" for i in sorted(set(patterns) - unanswerable)]
    pages = corpus_pages(Path(args.corpus))
    problems += check(patterns, pages)
    for line in problems:
        print(line)
    n_pat = sum(len(e.get("patterns", [])) for e in patterns.values())
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"{args.patterns}: {len(patterns)} questions, {n_pat} patterns, no match in {len(pages)} pages of {args.corpus}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
