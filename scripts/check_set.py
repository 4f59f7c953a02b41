"""Check a question set against the text of its corpus, before anyone runs the assistant on it.

    python scripts/check_set.py evals/fresh2.jsonl \
        --avoid ../shared/evals/dev.jsonl evals/ci-shared.jsonl evals/fresh.jsonl

For every item of the set (loaded with ``assistant.evaluation.questions.load_set``):

- each gold file exists in the corpus and each gold page is within the file's page count;
- an answerable item has at least one fact and page-level gold;
- every fact regex (case-insensitive) matches the text of the item's own gold page(s) and its
  reference answer. Page text is PyMuPDF's (``page.get_text()``), NFKC-normalised (ligatures),
  curly quotes and dashes made plain, end-of-line hyphenation joined ("traf-\\nficking" ->
  "trafficking") and whitespace collapsed to single spaces. Because a line-end hyphen may also
  belong to a compound ("small-\\nscale"), a fact also counts as found when it matches the same
  text with the hyphen kept ("small-scale"). A plain-text file is one page;
- no gold page is a gold page of any ``--avoid`` set (same file, same page), and no question
  text repeats one of theirs (compared lower-cased, punctuation and spacing ignored);
- ids and question texts (with their history) are unique within the set.

One line per problem on stdout (``id: problem``); exit status 1 when there is any, else 0 with a
one-line summary. ``--corpus`` overrides the set header's corpus folder.
"""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from assistant.errors import LoadError  # noqa: E402
from assistant.evaluation.questions import QuestionSet, load_set  # noqa: E402

_PLAIN = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00ad": "",
    }
)


def _plain(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_PLAIN)


def normalise(text: str, keep_hyphen: bool = False) -> str:
    """Page text as the facts are matched against it (see the module docstring)."""
    text = _plain(text)
    joiner = r"\1-\2" if keep_hyphen else r"\1\2"
    text = re.sub(r"(\w)-[ \t]*\n\s*(\w)", joiner, text)
    return re.sub(r"\s+", " ", text).strip()


class Corpus:
    """Raw page texts of the corpus files, read once each."""

    def __init__(self, root: Path):
        self.root = root
        self._pages: dict[str, list[str] | None] = {}

    def pages(self, file: str) -> list[str] | None:
        if file not in self._pages:
            path = self.root / file
            if not path.is_file():
                self._pages[file] = None
            elif path.suffix.lower() == ".pdf":
                import pymupdf

                with pymupdf.open(path) as doc:
                    self._pages[file] = [page.get_text() for page in doc]
            else:
                self._pages[file] = [path.read_text(encoding="utf-8", errors="replace")]
        return self._pages[file]


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", _plain(text).lower()).strip()


def gold_pages(qs: QuestionSet) -> set[tuple[str, int]]:
    return {(g.file, p) for q in qs.questions for g in q.gold for p in g.pages}


def check(qs: QuestionSet, corpus: Corpus, avoid: list[QuestionSet] = ()) -> list[str]:
    """Every problem of ``qs`` as ``id: problem`` lines (empty when the set is clean)."""
    problems: list[str] = []
    avoided: dict[tuple[str, int], str] = {}
    other_questions: dict[str, str] = {}
    for other in avoid:
        for q in other.questions:
            for g in q.gold:
                for p in g.pages:
                    avoided.setdefault((g.file, p), f"{other.name}:{q.id}")
            other_questions.setdefault(_key(q.question), f"{other.name}:{q.id}")

    seen_text: dict[str, str] = {}
    for q in qs.questions:
        full = _key(" / ".join([*q.history, q.question]))
        if full in seen_text:
            problems.append(f"{q.id}: same question (and history) as {seen_text[full]}")
        seen_text.setdefault(full, q.id)
        if _key(q.question) in other_questions:
            problems.append(f"{q.id}: question repeats {other_questions[_key(q.question)]}")

        if q.answerable:
            if not q.facts:
                problems.append(f"{q.id}: answerable item without facts")
            if not q.has_page_gold:
                problems.append(f"{q.id}: answerable item without gold pages")

        texts: list[str] = []
        for g in q.gold:
            pages = corpus.pages(g.file)
            if pages is None:
                problems.append(f"{q.id}: gold file {g.file} not found in {corpus.root}")
                continue
            for p in g.pages:
                if p > len(pages):
                    problems.append(f"{q.id}: page {p} of {g.file} out of range (1-{len(pages)})")
                    continue
                texts.append(pages[p - 1])
                if (g.file, p) in avoided:
                    problems.append(f"{q.id}: gold page {g.file} p{p} is gold in {avoided[(g.file, p)]}")
        raw = "\n".join(texts)
        page_text = (normalise(raw), normalise(raw, keep_hyphen=True))
        answer = normalise(q.answer)

        for fact in q.facts:
            rx = re.compile(fact, re.IGNORECASE)
            if texts and not any(rx.search(t) for t in page_text):
                problems.append(f"{q.id}: fact {fact!r} not found on its gold page(s)")
            if not rx.search(answer):
                problems.append(f"{q.id}: fact {fact!r} not found in the reference answer")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("set", help="question set (.jsonl or .yaml)")
    ap.add_argument("--avoid", nargs="*", default=[], help="sets whose gold pages and questions must not be reused")
    ap.add_argument("--corpus", help="corpus folder (default: the set header's)")
    args = ap.parse_args(argv)
    try:
        qs = load_set(args.set)
        avoid = [load_set(p) for p in args.avoid]
    except LoadError as e:
        print(f"load error: {e}")
        return 1
    root = Path(args.corpus) if args.corpus else qs.corpus
    if root is None or not root.is_dir():
        print(f"corpus folder not found: {root} (give --corpus or a header 'corpus')")
        return 1
    problems = check(qs, Corpus(root), avoid)
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} problem(s) in {args.set}", file=sys.stderr)
        return 1
    n_facts = sum(len(q.facts) for q in qs.questions)
    avoided = set().union(*(gold_pages(s) for s in avoid)) if avoid else set()
    print(
        f"{args.set}: {len(qs.questions)} items, {n_facts} facts found on their gold pages and answers; "
        f"{len(gold_pages(qs))} gold pages, none of the {len(avoided)} gold pages of {len(avoid)} other set(s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
